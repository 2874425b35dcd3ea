"""Dispositions a deployment or a plugin declares: validated by `voicekit check`, accepted
by set_disposition, end_call, the retry table, scripts and journal filters, counted by
`voicekit report` — while the built-in enum keeps working as before."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from voicekit_core import hookimpl
from voicekit_core.calls import CallReport, Disposition
from voicekit_core.campaigns.retry import RetryAction, decide
from voicekit_core.cli import build_cli
from voicekit_core.errors import ConfigError, ScriptError
from voicekit_core.harness import MINIMAL_CONFIG
from voicekit_core.simulate import load_script, run_script
from voicekit_core.testing import ScriptedLLM, ToolCall, replies

DECLARED = (
    MINIMAL_CONFIG
    + """
[dispositions]
ticket_created = { label = "Ticket created", success = true }
emergency_escalated = { label = "Emergency escalated", success = true }
faq_answered = { label = "Question answered", success = true, description = "only questions" }
transferred = { success = true }
"""
)


def load(voicekit, config: str = DECLARED):
    return voicekit.load(voicekit.write(config))


def check_errors(voicekit, config: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(voicekit, config)
    return str(caught.value)


def test_the_file_declares_outcomes_with_labels_and_success(voicekit):
    catalog = load(voicekit).dispositions
    assert [d.name for d in catalog.custom()] == [
        "ticket_created",
        "emergency_escalated",
        "faq_answered",
    ]
    assert catalog.get("faq_answered").description == "only questions"
    assert catalog.label("ticket_created") == "Ticket created"
    assert catalog.is_success("ticket_created") and catalog.is_success("transferred")
    assert catalog.is_success("meeting_booked")  # a built-in keeps its own flag
    assert not catalog.is_success("busy")
    assert catalog.label("meeting_booked") == "Meeting booked"
    assert catalog.get("transferred").source == "deployment"
    assert "ticket_created" in catalog and Disposition.BUSY in catalog and "nope" not in catalog


def test_the_builtin_enum_is_unchanged():
    assert [d.value for d in Disposition][:3] == ["meeting_booked", "qualified", "nurture"]
    assert len(list(Disposition)) == 18
    assert Disposition("busy") is Disposition.BUSY
    with pytest.raises(ValueError, match="'hung_up_twice' is not a valid Disposition"):
        Disposition("hung_up_twice")


def test_a_declared_outcome_behaves_like_a_member(voicekit):
    load(voicekit)
    ticket = Disposition("ticket_created")
    assert ticket is Disposition("ticket_created")
    assert ticket == "ticket_created" and ticket.value == "ticket_created"
    assert ticket.name == "TICKET_CREATED" and isinstance(ticket, Disposition)
    assert "ticket_created" not in [d.value for d in Disposition]  # iteration: built-ins
    assert pickle.loads(pickle.dumps(ticket)) is ticket


def test_reports_read_back_keep_outcomes_no_longer_declared():
    report = CallReport.model_validate(
        {
            "call_id": "20261124T100000-abcdef",
            "agent_name": "a",
            "direction": "inbound",
            "mode": "live",
            "phone": "+14155550123",
            "lead": None,
            "started_at": "2026-11-24T10:00:00Z",
            "ended_at": "2026-11-24T10:01:00Z",
            "duration_seconds": 60,
            "disposition": "retired_outcome",
        }
    )
    assert report.disposition.value == "retired_outcome"
    with pytest.raises(ValueError):
        Disposition("retired_outcome")  # reading it declared nothing


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ("[dialer.retry.delays]\ntickt_created = [60]\n", "dialer.retry.delays.tickt_created"),
        (
            '[dialer.retry]\nnever_retry = ["do_not_call", "wrong_number", "invalid_number", '
            '"tiket_created"]\n',
            "dialer.retry.never_retry",
        ),
        (
            '[dialer.pacing.breaker]\nfailure_dispositions = ["failed", "escalted"]\n',
            "dialer.pacing.breaker.failure_dispositions",
        ),
        ('[flow]\nrecorded_disposition = "ticket_creatd"\n', "flow.recorded_disposition"),
    ],
)
def test_an_unknown_disposition_in_the_file_is_a_check_error_naming_the_key(voicekit, extra, key):
    errors = check_errors(voicekit, DECLARED + extra)
    assert key in errors
    assert "unknown disposition" in errors
    assert "declare it in [dispositions] (declared: ticket_created, emergency_escalated" in errors


def test_end_call_dispositions_are_checked_too(voicekit):
    config = DECLARED.replace(
        'greeting = "Hello {lead.first_name}!"',
        'greeting = "Hello {lead.first_name}!"\nend_call_dispositions = ["faq_answered", "faq"]',
    )
    errors = check_errors(voicekit, config)
    assert "agent.end_call_dispositions[1] = 'faq': unknown disposition" in errors


def test_a_malformed_name_is_a_check_error(voicekit):
    errors = check_errors(voicekit, MINIMAL_CONFIG + '[dispositions]\n"Ticket-Created" = {}\n')
    assert "dispositions" in errors and "is not a disposition name" in errors


def test_declared_outcomes_in_the_retry_table_are_used(voicekit):
    config = DECLARED + (
        "[dialer.retry]\n"
        'never_retry = ["do_not_call", "wrong_number", "invalid_number", "ticket_created"]\n'
        "[dialer.retry.delays]\nemergency_escalated = [30]\n"
    )
    settings = load(voicekit, config).config.dialer.retry
    now = datetime(2026, 11, 24, 15, tzinfo=timezone.utc)
    retry = decide(settings, "emergency_escalated", 1, now)
    assert retry.action is RetryAction.RETRY and "emergency_escalated: retry 1" in retry.reason
    assert decide(settings, "ticket_created", 1, now).action is RetryAction.FINAL
    assert decide(settings, "faq_answered", 1, now).reason == "no retry rule for faq_answered"


class Tickets:
    @hookimpl
    def register_dispositions(self, register):
        register("ticket_created", label="Ticket logged", success=True)
        register("ticket_updated", label="Ticket updated", description="an existing ticket")


def test_a_plugin_declares_outcomes_and_the_file_wins(voicekit):
    voicekit.register(Tickets(), name="tickets")
    catalog = load(voicekit).dispositions
    assert catalog.get("ticket_updated").source == "tickets"
    assert catalog.label("ticket_updated") == "Ticket updated"
    assert catalog.label("ticket_created") == "Ticket created"  # [dispositions] wins
    assert catalog.get("ticket_created").source == "deployment"


def test_plugins_disagreeing_on_an_outcome_is_a_check_error(voicekit):
    class Other:
        @hookimpl
        def register_dispositions(self, register):
            register("ticket_updated", label="Updated!", success=True)
            register("Bad Name")

    voicekit.register(Tickets(), name="tickets")
    voicekit.register(Other(), name="other")
    errors = check_errors(voicekit, MINIMAL_CONFIG)
    assert "ticket_updated: plugins 'other' and 'tickets' declare this disposition " in errors
    assert "settle it in [dispositions]: ticket_updated = { label = ..., success = ... }" in errors
    assert "plugin 'other' registers a disposition with a malformed name" in errors


async def test_set_disposition_and_end_call_take_declared_outcomes(voicekit):
    deployment = load(voicekit)
    llm = ScriptedLLM(
        replies(ToolCall("end_call", {"disposition": "faq_answered", "reason": "hours"}), "Bye!")
    )
    async with voicekit.call(deployment, llm=llm) as run:
        end_call = next(t for t in run.agent.tools if t.id == "end_call")
        await run.user_says("What are your hours? Thanks, bye.")
        with pytest.raises(ValueError, match="'not_declared' is not a valid Disposition"):
            run.call.set_disposition("not_declared")
    assert run.report.disposition.value == "faq_answered"
    assert run.report.disposition_reason == "hours"
    # the model is told which outcomes it may end with, declared ones described
    from livekit.agents.llm.utils import build_legacy_openai_schema

    schema = json.dumps(build_legacy_openai_schema(end_call))
    assert "faq_answered (only questions)" in schema and "ticket_created" in schema
    assert "not_interested" in schema


async def test_end_call_refuses_what_the_deployment_does_not_allow(voicekit):
    config = DECLARED.replace(
        'greeting = "Hello {lead.first_name}!"',
        'greeting = "Hello {lead.first_name}!"\nend_call_dispositions = ["faq_answered"]',
    )
    deployment = load(voicekit, config)
    llm = ScriptedLLM(replies(ToolCall("end_call", {"disposition": "do_not_call"}), "Sorry.", None))
    async with voicekit.call(deployment, llm=llm) as run:
        result = await run.user_says("Never call me")
        output = result.expect.next_event(type="function_call_output").event().item
    assert output.is_error and output.output == "disposition must be one of faq_answered"
    assert run.report.disposition.value == "completed"


async def test_another_deployment_outcome_is_refused(voicekit):
    load(voicekit)  # declares ticket_created in this process
    plain = voicekit.load(voicekit.write(MINIMAL_CONFIG, folder="plain"))
    async with voicekit.call(plain, llm=ScriptedLLM(replies("Hi"))) as run:
        with pytest.raises(ValueError, match="'ticket_created' is not a disposition of this"):
            run.call.set_disposition("ticket_created")


async def test_report_counts_declared_outcomes_and_successes(voicekit):
    deployment = load(voicekit)
    for outcome in ("ticket_created", "ticket_created", "faq_answered", None):
        end = {"disposition": outcome} if outcome else {}
        llm = ScriptedLLM(replies(ToolCall("end_call", end), "Bye"))
        async with voicekit.call(deployment, llm=llm) as run:
            await run.user_says("Hello")
    path = str(deployment.config.path)
    cli = build_cli()
    result = CliRunner().invoke(cli, ["report", path, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["dispositions"] == {"ticket_created": 2, "faq_answered": 1, "completed": 1}
    assert summary["labels"]["faq_answered"] == "Question answered"
    assert (summary["successes"], summary["success_rate"]) == (3, 0.75)
    table = CliRunner().invoke(cli, ["report", path])
    assert "faq_answered (Question answered)" in table.output
    assert "successes" in table.output and "3 (75% of calls)" in table.output

    listed = CliRunner().invoke(
        cli, ["journal", "list", path, "--disposition", "ticket_created", "--json"]
    )
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [r["disposition"] for r in rows] == ["ticket_created", "ticket_created"]
    unknown = CliRunner().invoke(cli, ["journal", "list", path, "--disposition", "tickets"])
    assert unknown.exit_code == 2
    assert "unknown disposition 'tickets'" in unknown.output


SCRIPT = """\
turns:
  - caller: "What time do you open?"
    agent:
      - {call: end_call, args: {disposition: faq_answered}}
      - {say: "We open at nine. Bye!"}
expect:
  disposition: faq_answered
"""


async def test_a_script_may_expect_a_declared_outcome(voicekit, tmp_path):
    path = tmp_path / "faq.yaml"
    path.write_text(SCRIPT.replace("faq_answered", "hours_given"))
    script = load_script(path)  # loads before any deployment declares it
    deployment = load(voicekit, DECLARED + 'hours_given = { label = "Hours given" }\n')
    run = await run_script(deployment, script, offline=True)
    assert run.report.disposition.value == "hours_given"
    assert script.unmet(run.report) == []

    plain = voicekit.load(voicekit.write(MINIMAL_CONFIG, folder="plain"))
    with pytest.raises(ScriptError, match=r"expect\.disposition = 'hours_given': unknown"):
        await run_script(plain, script, offline=True)


def test_voicekit_check_names_the_key_and_lists_what_is_declared(voicekit):
    cli = build_cli()
    bad = voicekit.write(DECLARED + "[dialer.retry.delays]\ntickt_created = [60]\n", folder="bad")
    result = CliRunner().invoke(cli, ["check", str(bad)])
    assert result.exit_code == 2
    assert "dialer.retry.delays.tickt_created = 'tickt_created': unknown disposition" in (
        result.output
    )
    good = voicekit.write(
        DECLARED + '[extraction.fields.caller_phone]\ntype = "phone"\nconfirm = true\n',
        folder="good",
    )
    result = CliRunner().invoke(cli, ["check", str(good)])
    assert result.exit_code == 0, result.output
    assert "declared dispositions: ticket_created (success), emergency_escalated (success)" in (
        result.output
    )
    assert "record_details collects details: 1 field (0 required, 1 read back)" in result.output
