"""record_details in real text-mode calls (livekit AgentSession, ScriptedLLM): bad values
are ToolErrors the call survives, confirm fields are read back, and the record reaches
report.extracted, the journal, `voicekit simulate` and `voicekit journal show`."""

from __future__ import annotations

import json

from click.testing import CliRunner

from voicekit_core.cli import build_cli
from voicekit_core.harness import MINIMAL_CONFIG
from voicekit_core.testing import ScriptedLLM, ToolCall, replies

TICKET = (
    MINIMAL_CONFIG
    + """
[dispositions]
ticket_created = { label = "Ticket written", success = true }

[extraction]
name = "ticket"
description = "A maintenance ticket"

[extraction.fields.caller_name]
type = "string"
required = true

[extraction.fields.phone]
type = "phone"
required = true
confirm = true

[extraction.fields.unit]
type = "string"
confirm = true

[extraction.fields.urgency]
type = "enum"
values = ["emergency", "urgent", "normal", "low"]
"""
)


async def test_bad_enum_and_bad_phone_are_tool_errors_and_the_call_goes_on(voicekit):
    deployment = voicekit.load(voicekit.write(TICKET))
    llm = ScriptedLLM(
        replies(
            ToolCall(
                "record_details", {"caller_name": "Ana Ruiz", "phone": "555", "urgency": "critical"}
            ),
            "Sorry, could you give me the full number, and how urgent is it?",
            ToolCall("record_details", {"phone": "(415) 555-0199", "urgency": "urgent"}),
            "Thanks. That's +1 415 555 0199, right?",
            ToolCall("record_details", {"confirmed": True}),
            ToolCall("end_call", {"disposition": "ticket_created", "reason": "leak"}),
            "Your ticket is in. Goodbye!",
        )
    )
    async with voicekit.call(deployment, llm=llm) as run:
        first = await run.user_says("Hi, I'm Ana Ruiz, my number is 555, it's critical")
        first.expect.next_event().is_function_call(name="record_details")
        error = first.expect.next_event().is_function_call_output().event().item
        assert error.is_error
        assert "phone: '555' is not a phone number we can use" in error.output
        assert "urgency: 'critical' is not one of emergency, urgent, normal, low" in error.output
        assert "Recorded: caller_name." in error.output
        first.expect.next_event().is_message(role="assistant")  # the agent asks again
        first.expect.no_more_events()

        second = await run.user_says("It's 415 555 0199, and it's urgent")
        second.expect.next_event().is_function_call(name="record_details")
        readback = second.expect.next_event().is_function_call_output().event().item
        assert not readback.is_error
        assert "Read back the phone +1 415 555 0199 to the caller" in readback.output
        second.expect.next_event().is_message(role="assistant")

        third = await run.user_says("Yes, that's right")
        confirmed = third.expect.next_event().is_function_call(name="record_details")
        assert json.loads(confirmed.event().item.arguments) == {"confirmed": True}
        output = third.expect.next_event().is_function_call_output().event().item
        assert output.output == "Confirmed: phone. All required details are recorded."
    report = run.report
    assert report.extracted == {
        "caller_name": "Ana Ruiz",
        "phone": "+14155550199",
        "urgency": "urgent",
    }
    assert report.data["extraction"] == {
        "schema": "ticket",
        "complete": True,
        "missing": [],
        "unconfirmed": [],
        "filled_after_call": [],
    }
    assert report.disposition.value == "ticket_created"
    assert [t.is_error for t in report.tool_calls if t.name == "record_details"] == [
        True,
        False,
        False,
    ]
    # the scripted model reads no transcript: nothing was missing, so no note either
    assert not any(n.startswith("extraction:") for n in report.notes)

    journaled = deployment.journal.get(report.call_id)
    assert journaled.extracted == report.extracted
    assert journaled.data["extraction"]["complete"] is True
    assert journaled.disposition.value == "ticket_created"


async def test_an_incomplete_record_says_what_is_missing_and_unconfirmed(voicekit):
    deployment = voicekit.load(voicekit.write(TICKET))
    llm = ScriptedLLM(
        replies(
            ToolCall("record_details", {"phone": "415 555 0199", "unit": "4B"}),
            ToolCall("end_call", {}),
            "Goodbye.",
        )
    )
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("My number is 415 555 0199, unit 4B. Bye.")
    report = run.report
    assert report.extracted == {"phone": "+14155550199", "unit": "4B"}
    meta = report.data["extraction"]
    assert (meta["complete"], meta["missing"], meta["unconfirmed"]) == (
        False,
        ["caller_name"],
        ["phone", "unit"],
    )
    note = next(n for n in report.notes if n.startswith("extraction:"))
    assert "no post-call pass (the offline scripted model reads no transcript)" in note
    assert note.endswith("required and missing: caller_name")


async def test_without_extraction_there_is_no_tool_and_no_record(voicekit):
    deployment = voicekit.load()
    llm = ScriptedLLM(replies("Hello!"))
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("Hi")
    assert "record_details" not in run.report.data["tools"]
    assert run.report.extracted is None and "extraction" not in run.report.data


async def test_the_tool_is_offered_with_its_schema(voicekit):
    deployment = voicekit.load(voicekit.write(TICKET))
    seen: dict = {}

    def policy(chat_ctx, tools):
        seen["tools"] = tools
        return "Hello."

    async with voicekit.call(deployment, llm=ScriptedLLM(policy)) as run:
        await run.user_says("Hi")
    assert "record_details" in seen["tools"]
    assert run.report.data["tools"]["record_details"] == "extraction"


SCRIPT = """\
description: A tenant reports a leak
lead_phone: "+14155550123"
direction: inbound
turns:
  - caller: "Hi, this is Ana Ruiz, my number is 415 555 0199"
    agent: {call: record_details, args: {caller_name: "Ana Ruiz", phone: "415 555 0199"}}
  - caller: "Yes, that's right. It's urgent. [bold]unit[/] 4B"
    agent:
      - {call: record_details, args: {confirmed: true, urgency: "urgent", unit: "[bold]4B"}}
      - {call: end_call, args: {disposition: ticket_created}}
      - {say: "Goodbye!"}
expect:
  disposition: ticket_created
  tools: [record_details]
"""


def test_simulate_and_journal_show_print_the_record(voicekit, tmp_path):
    config = voicekit.write(TICKET)
    script = tmp_path / "leak.yaml"
    script.write_text(SCRIPT)
    report_path = tmp_path / "report.json"
    cli = build_cli()
    result = CliRunner().invoke(
        cli,
        ["simulate", str(config), "--script", str(script), "--report", str(report_path)],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "extracted · ticket · incomplete" in out  # unit was never read back
    assert "Ana Ruiz" in out and "+14155550199" in out
    assert "unconfirmed" in out
    assert "[bold]4B" in out  # caller text printed literally, not as markup
    assert "ticket_created (Ticket written)" in out
    report = json.loads(report_path.read_text())
    assert report["extracted"] == {
        "caller_name": "Ana Ruiz",
        "phone": "+14155550199",
        "unit": "[bold]4B",
        "urgency": "urgent",
    }
    assert report["data"]["extraction"]["unconfirmed"] == ["unit"]

    call_id = report["call_id"]
    shown = CliRunner().invoke(cli, ["journal", "show", call_id[:15], str(config)])
    assert shown.exit_code == 0, shown.output
    assert "extracted · ticket · incomplete" in shown.output and "urgent" in shown.output
    as_json = CliRunner().invoke(cli, ["journal", "show", call_id, str(config), "--json"])
    assert json.loads(as_json.output)["extracted"]["phone"] == "+14155550199"
