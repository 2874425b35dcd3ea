"""Outbound dial against the fake LiveKit: answered, SIP failures, veto, CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from voicekit_core import CallVetoed, Disposition, hookimpl
from voicekit_core.cli import build_cli
from voicekit_core.telephony.dial import dial
from voicekit_core.telephony.dispositions import disposition_for_sip_status
from voicekit_core.telephony.errors import TelephonyConfigError, TelephonyError

PHONE = "+14155550123"


async def test_answered_call_creates_room_dispatches_agent_and_dials(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    outcome = await dial(deployment, "(415) 555-0123")

    assert outcome.answered and outcome.disposition is None
    assert fake_livekit.methods() == ["CreateRoom", "CreateDispatch", "CreateSIPParticipant"]
    room = outcome.call.room_name
    assert room == f"call-{outcome.call.call_id}"
    dispatch = fake_livekit.calls("CreateDispatch")[0].request
    assert (dispatch.agent_name, dispatch.room) == ("test-agent", room)
    metadata = json.loads(dispatch.metadata)
    assert metadata["phone"] == PHONE and metadata["call_id"] == outcome.call.call_id
    assert metadata["direction"] == "outbound" and metadata["lead"]["name"] == "Ada Lovelace"
    sip = fake_livekit.calls("CreateSIPParticipant")[0].request
    assert sip.sip_trunk_id == "ST_outbound" and sip.sip_call_to == PHONE
    assert sip.wait_until_answered and sip.ringing_timeout.seconds == 30
    assert (sip.room_name, sip.participant_identity) == (room, f"sip_{PHONE}")
    assert outcome.sip_call_id.startswith("SCL_")
    assert deployment.journal.list(5) == []  # the live call is the worker's to journal


@pytest.mark.parametrize(
    ("code", "status", "disposition"),
    [
        (486, "Busy Here", Disposition.BUSY),
        (480, "Temporarily Unavailable", Disposition.NO_ANSWER),
        (408, "Request Timeout", Disposition.NO_ANSWER),
        (603, "Decline", Disposition.DECLINED),
        (404, "Not Found", Disposition.INVALID_NUMBER),
        (484, "Address Incomplete", Disposition.INVALID_NUMBER),
    ],
)
async def test_unanswered_call_is_journaled_with_its_disposition(
    voicekit, telephony_config, fake_livekit, livekit_env, code, status, disposition
):
    fake_livekit.dial_failures[PHONE] = (code, status)
    deployment = voicekit.load(voicekit.write(telephony_config))
    outcome = await dial(deployment, PHONE)

    assert not outcome.answered and outcome.disposition is disposition
    assert str(code) in outcome.detail
    assert fake_livekit.methods()[-1] == "DeleteRoom"  # the dispatched agent leaves
    journaled = deployment.journal.get(outcome.call.call_id)
    assert journaled.disposition is disposition
    assert journaled.direction == "outbound" and journaled.mode == "live"
    assert journaled.data["telephony"]["sip_status_code"] == code


async def test_before_dial_veto_stops_the_call_before_any_request(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    class DoNotCall:
        @hookimpl
        def before_dial(self, lead, call):
            return f"{lead.phone} is on the DNC list"

    voicekit.register(DoNotCall(), name="dnc")
    deployment = voicekit.load(voicekit.write(telephony_config))
    with pytest.raises(CallVetoed, match="DNC list"):
        await dial(deployment, PHONE)
    assert fake_livekit.requests == [] and fake_livekit.rejected == []
    assert deployment.journal.list(5) == []


async def test_invalid_number_and_missing_trunk_make_no_request(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    with pytest.raises(ValueError):
        await dial(deployment, "+1415")
    no_trunk = voicekit.load(voicekit.write(telephony_config.replace("ST_outbound", "")))
    with pytest.raises(TelephonyConfigError, match="outbound_trunk_id"):
        await dial(no_trunk, PHONE)
    assert fake_livekit.requests == []


async def test_wrong_secret_is_explained_without_the_secret(
    voicekit, telephony_config, fake_livekit, monkeypatch
):
    monkeypatch.setenv("LIVEKIT_URL", fake_livekit.url)
    monkeypatch.setenv("LIVEKIT_API_KEY", fake_livekit.api_key)
    monkeypatch.setenv("LIVEKIT_API_SECRET", "not-the-right-secret-at-all-0000000")
    deployment = voicekit.load(voicekit.write(telephony_config))
    with pytest.raises(TelephonyError) as raised:
        await dial(deployment, PHONE)
    assert "different projects" in str(raised.value)
    assert "not-the-right-secret" not in str(raised.value)


def test_sip_status_mapping_defaults_to_failed():
    assert disposition_for_sip_status(None) is Disposition.FAILED
    assert disposition_for_sip_status(500) is Disposition.FAILED
    assert disposition_for_sip_status(600) is Disposition.BUSY


DNC_PLUGIN = """\
from voicekit_core import hookimpl


@hookimpl
def before_dial(lead, call):
    return "calling hours are over"
"""


def test_cli_dial_answered_busy_invalid_and_vetoed(voicekit, telephony_config, fake_livekit):
    runner = CliRunner()
    cli = build_cli()
    path = voicekit.write(telephony_config)
    env = fake_livekit.env()

    answered = runner.invoke(cli, ["dial", str(path), PHONE], env=env)
    assert answered.exit_code == 0, answered.output
    assert "answered" in answered.output

    fake_livekit.dial_failures[PHONE] = (486, "Busy Here")
    busy = runner.invoke(cli, ["dial", str(path), PHONE], env=env)
    assert busy.exit_code == 1 and busy.output.startswith("busy:")

    before = len(fake_livekit.requests)
    invalid = runner.invoke(cli, ["dial", str(path), "+1415"], env=env)
    assert invalid.exit_code == 2 and len(fake_livekit.requests) == before

    vetoed_path = voicekit.write(
        telephony_config + '\n[plugins]\nenable = ["vk_cli_dnc_plugin"]\n',
        files={"vk_cli_dnc_plugin.py": DNC_PLUGIN},
        folder="vetoed",
    )
    vetoed = runner.invoke(cli, ["dial", str(vetoed_path), PHONE], env=env)
    assert vetoed.exit_code == 2
    assert "calling hours are over" in vetoed.output
    assert len(fake_livekit.requests) == before


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("(415) 555-CALL", "has letters (CALL)"),
        ("+1 415 555 0123 ext. 23", "has an extension (23)"),
        ("+1 415 555 0123!", "not a phone number"),
    ],
)
def test_cli_dial_reads_numbers_strictly(voicekit, telephony_config, fake_livekit, typed, reason):
    """`voicekit dial` uses voicekit_core.phones: nothing is sent for a number it would
    have to guess at."""
    path = voicekit.write(telephony_config)
    result = CliRunner().invoke(build_cli(), ["dial", str(path), typed], env=fake_livekit.env())
    assert result.exit_code == 2
    assert reason in result.output and "Traceback" not in result.output
    assert fake_livekit.requests == []


def test_cli_dial_sends_an_allowed_extension_as_dtmf(voicekit, telephony_config, fake_livekit):
    config = telephony_config.replace(
        '[leads]\npath = "leads.csv"\n', '[leads]\npath = "leads.csv"\nallow_extensions = true\n'
    )
    path = voicekit.write(config)
    typed = "+1 415 555 0123 ext. 23"
    result = CliRunner().invoke(build_cli(), ["dial", str(path), typed], env=fake_livekit.env())
    assert result.exit_code == 0, result.output
    (sent,) = fake_livekit.calls("CreateSIPParticipant")
    assert sent.request.sip_call_to == PHONE and sent.request.dtmf == "ww23"


async def test_dial_without_extension_sends_no_dtmf(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    await dial(deployment, PHONE)
    assert fake_livekit.calls("CreateSIPParticipant")[0].request.dtmf == ""
