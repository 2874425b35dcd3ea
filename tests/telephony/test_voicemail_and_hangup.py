"""Voicemail (AMD verdicts and the model's tool) and hang-up of live calls."""

from __future__ import annotations

from voicekit_core import Disposition
from voicekit_core.builder import prepare_call
from voicekit_core.telephony.voicemail import amd_available, apply_verdict, voicemail_text
from voicekit_core.testing import ScriptedLLM, ToolCall, replies


class RecordingSession:
    """A stand-in for the one AgentSession method apply_verdict uses: ``say``."""

    def __init__(self) -> None:
        self.said: list[tuple[str, bool]] = []

    def say(self, text: str, *, allow_interruptions: bool = True):
        self.said.append((text, allow_interruptions))
        session = self

        class Handle:
            async def wait_for_playout(self) -> None:
                session.said.append(("<played>", True))

        return Handle()


def test_installed_livekit_has_amd():
    assert amd_available()


async def test_machine_verdict_leaves_the_message_and_ends(voicekit, telephony_config):
    deployment = voicekit.load(voicekit.write(telephony_config))
    call = await prepare_call(deployment, "+14155550123", mode="live")
    session = RecordingSession()

    assert await apply_verdict(session, call, "machine-vm") == "voicemail"
    text = "Hi Ada, this is Test Agent. Call us back at 415 555 0100."
    assert voicemail_text(call) == text
    assert session.said == [(text, False), ("<played>", True)]
    assert call.disposition is Disposition.VOICEMAIL and call.end_requested
    assert call.data["telephony"]["voicemail"] == {"category": "machine-vm", "message_left": True}


async def test_human_verdict_changes_nothing(voicekit, telephony_config):
    deployment = voicekit.load(voicekit.write(telephony_config))
    call = await prepare_call(deployment, "+14155550123", mode="live")
    session = RecordingSession()
    assert await apply_verdict(session, call, "human") == "talk"
    assert session.said == [] and call.disposition is None and not call.end_requested
    assert await apply_verdict(session, call, "machine-unavailable") == "hang_up"
    assert session.said == [] and call.disposition is Disposition.VOICEMAIL


async def test_voicemail_tool_when_enabled(voicekit, telephony_config):
    config = telephony_config.replace(
        "[plugins.telephony]", "[plugins.telephony]\nvoicemail_tool = true"
    )
    deployment = voicekit.load(voicekit.write(config))
    llm = ScriptedLLM(replies(ToolCall("leave_voicemail", {}), "Hi Ada, call us back."))
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("You have reached Ada. Please leave a message after the tone.")
    report = run.report
    assert report.disposition is Disposition.VOICEMAIL
    assert "Call us back at 415 555 0100" in report.tool_call("leave_voicemail").output
    assert run.ended


async def test_voicemail_tool_is_off_by_default(voicekit, telephony_config):
    deployment = voicekit.load(voicekit.write(telephony_config))
    async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hello."))) as run:
        await run.user_says("Hi")
    assert "leave_voicemail" not in run.report.data["tools"]


async def test_end_call_in_a_live_call_deletes_the_room(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    llm = ScriptedLLM(replies(ToolCall("end_call", {"disposition": "not_interested"}), "Bye."))
    async with voicekit.call(deployment, llm=llm, mode="live") as run:
        await run.user_says("Not interested, bye.")
    assert run.report.disposition is Disposition.NOT_INTERESTED
    deleted = fake_livekit.calls("DeleteRoom")
    assert [r.request.room for r in deleted] == [run.call.room_name]


async def test_simulated_calls_never_hang_up_through_livekit(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    llm = ScriptedLLM(replies(ToolCall("end_call", {}), "Bye."))
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("Bye.")
    assert run.ended and fake_livekit.requests == []
