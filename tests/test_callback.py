"""The core ``schedule_callback`` tool: planning in the caller's timezone, the
``report.data["callback"]`` contract, refusals the agent can say, and the offline
``scripted`` model asking for and scheduling callbacks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from voicekit_core import load_deployment
from voicekit_core.callbacks import (
    MAX_DAYS_AHEAD,
    CallbackTimeError,
    callback_zone,
    clean_request,
    plan_callback,
)
from voicekit_core.cli import build_cli
from voicekit_core.simulate import load_script, run_script
from voicekit_core.testing import ScriptedLLM, ToolCall, replies

#: Monday 2026-11-23, 10:12 in New York.
NOW = datetime(2026, 11, 23, 15, 12, tzinfo=timezone.utc)


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """The call's current time, for the tool (``CallContext.clock``, which defaults to
    ``voicekit_core.calls.utcnow``)."""
    monkeypatch.setattr("voicekit_core.callbacks.utcnow", lambda: NOW)
    monkeypatch.setattr("voicekit_core.calls.utcnow", lambda: NOW)  # CallContext.clock
    return NOW


# -- planning ---------------------------------------------------------------------------


def test_plan_in_the_lead_timezone():
    callback = plan_callback(
        "call me back tomorrow afternoon",
        lead_timezone="America/Los_Angeles",
        phone="+12125550199",  # a New York number: the lead's own zone wins
        now=NOW,
    )
    assert callback.as_data() == {
        "at": "2026-11-24T22:00:00+00:00",
        "local": "2026-11-24T14:00:00-08:00",
        "timezone": "America/Los_Angeles",
        "requested": "call me back tomorrow afternoon",
    }
    assert callback.zone_known
    assert callback.confirmation() == (
        "Callback scheduled for Tuesday, November 24 at 2:00 PM PST "
        "(2026-11-24T14:00:00-08:00, America/Los_Angeles). "
        "Confirm the time, say goodbye; the call then ends."
    )
    assert callback.reason() == (
        "call back 2026-11-24 14:00 America/Los_Angeles: call me back tomorrow afternoon"
    )


def test_plan_in_the_phone_timezone_when_the_lead_has_none():
    callback = plan_callback("Tuesday at 3", lead_timezone=None, phone="+525512345678", now=NOW)
    assert (callback.timezone, callback.local.isoformat()) == (
        "America/Mexico_City",
        "2026-11-24T15:00:00-06:00",
    )


@pytest.mark.parametrize("phone", ["+18005550100", "+61412345678", "not a number"])
def test_plan_in_utc_when_the_number_has_no_single_zone(phone):
    callback = plan_callback("tomorrow at 3pm", lead_timezone=None, phone=phone, now=NOW)
    assert callback.as_data()["timezone"] == "UTC"
    assert callback.as_data()["at"] == "2026-11-24T15:00:00+00:00"
    assert not callback.zone_known
    assert "timezone is unknown, so this time is in UTC" in callback.confirmation()


def test_callback_zone():
    assert callback_zone("Europe/Madrid", "+12125550199").key == "Europe/Madrid"
    assert callback_zone(None, "+12125550199").key == "America/New_York"
    assert callback_zone("Not/AZone", "+12125550199").key == "America/New_York"
    assert callback_zone(None, "+18005550100") is None


def test_iso_with_offset_is_converted_to_the_caller_zone():
    callback = plan_callback(
        "2026-11-24T15:00:00Z", lead_timezone="America/New_York", phone="+1", now=NOW
    )
    assert callback.as_data()["at"] == "2026-11-24T15:00:00+00:00"
    assert callback.as_data()["local"] == "2026-11-24T10:00:00-05:00"


@pytest.mark.parametrize(
    ("when", "kind", "sentence"),
    [
        ("whenever works", "unknown", "I didn't catch when to call you back"),
        ("", "unknown", "for example tomorrow at 3 PM"),
        ("today at 9am", "past", "Monday, November 23 at 9:00 AM EST has already passed"),
        ("2026-11-01T10:00", "past", "has already passed"),
        ("in 31 days", "too_far", f"within the next {MAX_DAYS_AHEAD} days"),
        ("2027-01-05T10:00", "too_far", "by Wednesday, December 23 at 10:12 AM EST"),
    ],
)
def test_refusals_are_sentences_for_the_caller(when, kind, sentence):
    with pytest.raises(CallbackTimeError) as excinfo:
        plan_callback(when, lead_timezone="America/New_York", phone="+12125550199", now=NOW)
    assert excinfo.value.kind == kind
    assert sentence in str(excinfo.value)
    assert str(excinfo.value).endswith("?")


def test_thirty_days_ahead_is_the_limit():
    limit = NOW + timedelta(days=MAX_DAYS_AHEAD)
    ok = plan_callback(limit.isoformat(), lead_timezone="UTC", phone="+1", now=NOW)
    assert ok.at == limit
    with pytest.raises(CallbackTimeError):
        plan_callback(
            (limit + timedelta(minutes=1)).isoformat(), lead_timezone="UTC", phone="+1", now=NOW
        )


def test_requested_words_are_kept_as_plain_data():
    assert clean_request("  call me\x00back\n\ttomorrow  ") == "call me back tomorrow"
    assert len(clean_request("tomorrow " * 100)) == 200
    callback = plan_callback(
        "{lead.name} [bold]tomorrow[/] at 3pm", lead_timezone="UTC", phone="+1", now=NOW
    )
    assert callback.requested == "{lead.name} [bold]tomorrow[/] at 3pm"


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_callback("tomorrow", lead_timezone="UTC", phone="+1", now=datetime(2026, 1, 1))


# -- the tool in a real session ---------------------------------------------------------


async def test_tool_records_the_callback_and_ends_the_call(voicekit, fixed_now):
    deployment = voicekit.load()  # the lead, Ada, is in America/New_York
    llm = ScriptedLLM(
        replies(ToolCall("schedule_callback", {"when": "tomorrow afternoon"}), "Talk then!")
    )
    async with voicekit.call(deployment, llm=llm) as run:
        result = await run.user_says("Call me back tomorrow afternoon, please.")
        result.expect.next_event().is_function_call(
            name="schedule_callback", arguments={"when": "tomorrow afternoon"}
        )
        result.expect.next_event().is_function_call_output(
            output=(
                "Callback scheduled for Tuesday, November 24 at 2:00 PM EST "
                "(2026-11-24T14:00:00-05:00, America/New_York). "
                "Confirm the time, say goodbye; the call then ends."
            ),
            is_error=False,
        )
        result.expect.next_event().is_message(role="assistant")
        assert run.ended
    report = run.report
    assert report.data["callback"] == {
        "at": "2026-11-24T19:00:00+00:00",
        "local": "2026-11-24T14:00:00-05:00",
        "timezone": "America/New_York",
        "requested": "tomorrow afternoon",
    }
    assert report.disposition.value == "callback_requested"
    assert report.disposition_reason.startswith("call back 2026-11-24 14:00 America/New_York")
    assert report.data["tools"]["schedule_callback"] == "call_control"
    # the journal keeps it for the dialer
    assert deployment.journal.get(report.call_id).data["callback"] == report.data["callback"]


async def test_the_campaign_dialer_reads_the_callback_time(voicekit, fixed_now):
    from voicekit_core.campaigns.runner import callback_time

    deployment = voicekit.load()
    llm = ScriptedLLM(replies(ToolCall("schedule_callback", {"when": "Tuesday at 3"}), "Bye!"))
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("Try me Tuesday at 3.")
    assert callback_time(run.report) == datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)


async def test_a_refused_time_is_an_error_the_model_can_say(voicekit, fixed_now):
    deployment = voicekit.load()
    llm = ScriptedLLM(
        replies(ToolCall("schedule_callback", {"when": "2026-11-20T10:00"}), "When else?")
    )
    async with voicekit.call(deployment, llm=llm) as run:
        result = await run.user_says("Call me back last Friday.")
        result.expect.next_event().is_function_call(name="schedule_callback")
        result.expect.next_event().is_function_call_output(
            output=(
                "Sorry, Friday, November 20 at 10:00 AM EST has already passed. "
                "When would you like us to call you back?"
            ),
            is_error=True,
        )
        assert not run.ended
    assert "callback" not in run.report.data
    assert run.report.disposition.value != "callback_requested"


async def test_an_unknown_caller_gets_the_number_timezone(voicekit, fixed_now):
    deployment = voicekit.load()
    llm = ScriptedLLM(replies(ToolCall("schedule_callback", {"when": "in two hours"}), "Bye!"))
    async with voicekit.call(deployment, "+525512345678", direction="inbound", llm=llm) as run:
        await run.user_says("Call me in two hours.")
    assert run.report.data["callback"] == {
        "at": "2026-11-23T17:12:00+00:00",
        "local": "2026-11-23T11:12:00-06:00",
        "timezone": "America/Mexico_City",
        "requested": "in two hours",
    }


# -- the offline scripted model ---------------------------------------------------------


def _agent_lines(report) -> list[str]:
    return [t.text for t in report.transcript if t.role == "assistant"]


async def test_scripted_caller_asks_for_a_callback_tomorrow_afternoon(example_copy, fixed_now):
    deployment = load_deployment(example_copy)
    script = load_script(example_copy / "scripts" / "callback.yaml")
    run = await run_script(deployment, script, offline=True)
    report = run.report
    assert script.unmet(report) == []
    call = report.tool_call("schedule_callback")
    assert call.arguments == {"when": script.turns[0]}  # the caller's words, as said
    assert report.data["callback"] == {
        "at": "2026-11-24T19:00:00+00:00",
        "local": "2026-11-24T14:00:00-05:00",
        "timezone": "America/Detroit",
        "requested": script.turns[0],
    }
    assert _agent_lines(report)[-1] == (
        "Perfect, I'll call you back on Tuesday, November 24 at 2:00 PM EST. "
        "Talk to you then, goodbye!"
    )
    assert report.tool_call("qualify_prospect") is None


async def test_scripted_busy_caller_is_asked_when(example_copy, fixed_now, tmp_path):
    script = tmp_path / "busy.yaml"
    script.write_text(
        "lead_phone: '+13135550111'\n"
        "turns:\n"
        "  - \"I'm driving, can't talk right now.\"\n"
        "  - 'Thursday at 9 in the morning.'\n"
        "expect: {disposition: callback_requested, tools: [schedule_callback]}\n"
    )
    run = await run_script(load_deployment(example_copy), load_script(script), offline=True)
    report = run.report
    assert _agent_lines(report)[1] == "Of course. When would be a good time to call you back?"
    assert report.tool_call("schedule_callback").arguments == {
        "when": "Thursday at 9 in the morning."
    }
    assert report.data["callback"]["local"] == "2026-11-26T09:00:00-05:00"
    assert report.disposition.value == "callback_requested"


async def test_scripted_model_retries_then_closes_without_a_time(example_copy, fixed_now, tmp_path):
    script = tmp_path / "vague.yaml"
    script.write_text(
        "lead_phone: '+13135550111'\n"
        "turns:\n"
        "  - 'Can you call me back later?'\n"
        "  - 'Oh, whenever.'\n"
        "  - 'Today at 8am.'\n"
        "  - 'Bye.'\n"
    )
    run = await run_script(load_deployment(example_copy), load_script(script), offline=True)
    report = run.report
    lines = _agent_lines(report)
    assert lines[1] == "Of course. When would be a good time to call you back?"
    assert lines[2].startswith("Sorry, I didn't catch when to call you back.")
    assert lines[3] == "No problem, we'll try you again another time. Goodbye!"
    assert [t.is_error for t in report.tool_calls if t.name == "schedule_callback"] == [True, True]
    assert report.disposition.value == "callback_requested"
    assert report.disposition_reason == "asked for a callback; no time agreed"
    assert "callback" not in report.data
    assert run.ended


async def test_scripted_callback_in_spanish(example_copy, fixed_now, tmp_path):
    toml = example_copy / "voicekit.toml"
    toml.write_text(toml.read_text().replace('language = "en"', 'language = "es"'))
    script = tmp_path / "es.yaml"
    script.write_text(
        "lead_phone: '+525555550105'\nturns:\n  - 'Ahora no puedo, llámeme mañana por la tarde.'\n"
    )
    run = await run_script(load_deployment(example_copy), load_script(script), offline=True)
    assert run.report.data["callback"]["local"] == "2026-11-24T14:00:00-06:00"
    assert _agent_lines(run.report)[-1] == (
        "Perfecto, le volveré a llamar el martes 24 de noviembre a las 14:00 (CST). "
        "¡Hasta entonces!"
    )


def test_simulate_cli_ends_with_callback_requested(example_copy, tmp_path):
    report_path = tmp_path / "callback.json"
    result = CliRunner().invoke(
        build_cli(),
        [
            "simulate",
            str(example_copy),
            "--script",
            str(example_copy / "scripts" / "callback.yaml"),
            "--report",
            str(report_path),
            "--offline",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["disposition"] == "callback_requested"
    callback = report["data"]["callback"]
    assert set(callback) == {"at", "local", "timezone", "requested"}
    at = datetime.fromisoformat(callback["at"])
    assert at.utcoffset() == timedelta(0)
    assert at == datetime.fromisoformat(callback["local"])
    assert callback["timezone"] == "America/Detroit"
    assert "callback_requested" in result.output
