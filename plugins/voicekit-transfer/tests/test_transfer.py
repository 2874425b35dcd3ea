"""transfer_call against the fake LiveKit: success, SIP failures, targets, hours."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from voicekit_transfer.settings import Target, transfer_uri

from voicekit_core import ConfigError, Disposition
from voicekit_core.testing import ScriptedLLM, ToolCall, replies

PHONE = "+14155550123"


def transfer_llm(arguments: dict | None = None) -> ScriptedLLM:
    return ScriptedLLM(
        replies(
            ToolCall("transfer_call", arguments or {"reason": "wants a human"}),
            "You're being connected now.",
        )
    )


async def test_cold_transfer_success(voicekit, transfer_config, fake_livekit, livekit_env):
    deployment = voicekit.load(voicekit.write(transfer_config))
    async with voicekit.call(deployment, llm=transfer_llm()) as run:
        await run.user_says("Can I speak to a real person?")
    report = run.report
    assert report.disposition is Disposition.TRANSFERRED
    assert report.data["transfer"]["target"] == "sales"
    assert report.data["transfer"]["to"] == "tel:+14155550100"
    assert report.data["transfer"]["mode"] == "cold"
    assert run.ended
    (sent,) = fake_livekit.calls("TransferSIPParticipant")
    assert sent.request.room_name == run.call.room_name == f"call-{report.call_id}"
    assert sent.request.participant_identity == f"sip_{PHONE}"
    assert sent.request.transfer_to == "tel:+14155550100"
    assert sent.request.ringing_timeout.seconds == 30


async def test_named_sip_target(voicekit, transfer_config, fake_livekit, livekit_env):
    deployment = voicekit.load(voicekit.write(transfer_config))
    llm = transfer_llm({"reason": "support issue", "target": "Support"})
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("I need support.")
    assert run.report.data["transfer"]["target"] == "support"
    (sent,) = fake_livekit.calls("TransferSIPParticipant")
    assert sent.request.transfer_to == "sip:support@pbx.example.com"


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        (486, "Busy Here", "busy"),
        (480, "Temporarily Unavailable", "nobody answered"),
        (603, "Decline", "declined"),
    ],
)
async def test_failed_transfer_tells_the_caller_and_offers_a_message(
    voicekit, transfer_config, fake_livekit, livekit_env, code, status, words
):
    fake_livekit.transfer_failures["tel:+14155550100"] = (code, status)
    deployment = voicekit.load(voicekit.write(transfer_config))
    llm = ScriptedLLM(
        replies(
            ToolCall("transfer_call", {"reason": "wants a human"}),
            "I'm sorry, I couldn't reach anyone. Can I take a message?",
            ToolCall("take_message", {"message": "call me back"}),
            "Thanks, they will call you back.",
        )
    )
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("Can I speak to a real person?")
        await run.user_says("Tell them to call me back.")
    report = run.report
    record = report.tool_call("transfer_call")
    assert record.is_error
    assert words in record.output and "offer to take a message" in record.output
    assert report.data["transfer"]["sip_status_code"] == code
    assert report.disposition is Disposition.MESSAGE_TAKEN
    assert len(fake_livekit.calls("TransferSIPParticipant")) == 1


async def test_unknown_or_closed_target_makes_no_request(
    voicekit, transfer_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(transfer_config))
    llm = ScriptedLLM(
        replies(
            ToolCall("transfer_call", {"reason": "x", "target": "billing"}),
            "Sorry.",
            ToolCall("transfer_call", {"reason": "x", "target": "night"}),
            "Sorry.",
        )
    )
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("Billing please.")
        await run.user_says("Then the night line.")
    unknown, closed = [t for t in run.report.tool_calls if t.name == "transfer_call"]
    assert unknown.is_error and "sales, support, night" in unknown.output
    assert closed.is_error and "not available now" in closed.output
    assert run.report.disposition is not Disposition.TRANSFERRED
    assert fake_livekit.requests == []


async def test_default_target_from_forward_phone_number(
    voicekit, fake_livekit, livekit_env, monkeypatch
):
    monkeypatch.setenv("FORWARD_PHONE_NUMBER", "+14155550142")
    config = (
        '[agent]\nname = "a"\ninstructions = "x"\n[leads]\npath = "leads.csv"\n'
        '[plugins]\nenable = ["transfer"]\n'
    )
    deployment = voicekit.load(voicekit.write(config))
    async with voicekit.call(deployment, llm=transfer_llm()) as run:
        await run.user_says("A human please.")
    assert run.report.data["transfer"]["target"] == "default"
    (sent,) = fake_livekit.calls("TransferSIPParticipant")
    assert sent.request.transfer_to == "tel:+14155550142"


async def test_simulated_call_without_credentials_makes_no_request(
    voicekit, transfer_config, fake_livekit, monkeypatch
):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    deployment = voicekit.load(voicekit.write(transfer_config))
    async with voicekit.call(deployment, llm=transfer_llm()) as run:
        await run.user_says("A human please.")
    assert run.report.disposition is Disposition.TRANSFERRED
    assert run.report.data["transfer"]["mode"] == "simulated"
    assert any("no request made" in note for note in run.report.notes)
    assert fake_livekit.requests == []


def test_invalid_target_is_a_config_error(voicekit, transfer_config):
    path = voicekit.write(transfer_config.replace("+1 (415) 555-0100", "555"))
    with pytest.raises(ConfigError, match=r"plugins\.transfer\.targets"):
        voicekit.load(path)


def test_transfer_uri_and_hours():
    assert transfer_uri("tel:+1 415 555 0100") == "tel:+14155550100"
    with pytest.raises(ValueError):
        transfer_uri("sip:nohost")
    target = Target(name="x", to="+14155550100", hours="09:00-17:00", timezone="America/New_York")
    monday_noon_ny = datetime(2026, 3, 2, 17, 0, tzinfo=timezone.utc)
    assert target.is_open(monday_noon_ny)
    assert not target.is_open(datetime(2026, 3, 2, 23, 0, tzinfo=timezone.utc))
    assert not target.is_open(datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc))  # Sunday
