"""The main job offline: the TDX SDR example through `voicekit simulate`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from voicekit_core import ScriptError, load_deployment
from voicekit_core.cli import build_cli
from voicekit_core.simulate import load_script, run_script
from voicekit_core.testing import ScriptedLLM, ToolCall, replies

SCRIPTS = {
    "qualified": "meeting_booked",
    "not_interested": "not_interested",
    "wants_human": "message_taken",
    "wrong_number": "wrong_number",
}


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_each_script_ends_in_its_own_disposition(example_copy, tmp_path, script):
    report_path = tmp_path / f"{script}.json"
    result = CliRunner().invoke(
        build_cli(),
        [
            "simulate",
            str(example_copy),
            "--script",
            str(example_copy / "scripts" / f"{script}.yaml"),
            "--report",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    assert report["disposition"] == SCRIPTS[script]
    assert report["lead"]["phone"].startswith("+1")
    assert report["transcript"][0]["role"] == "assistant"
    assert {"role", "text"} <= set(report["transcript"][1])
    assert all({"name", "arguments", "output"} <= set(t) for t in report["tool_calls"])
    assert report["post_call"] == []  # the example enables no post-call plugin
    assert report["call_id"] in result.output


def test_four_scripts_give_four_distinct_dispositions():
    assert len(set(SCRIPTS.values())) == 4


async def test_qualified_call_asks_bant_and_books(example_copy):
    deployment = load_deployment(example_copy)
    run = await run_script(deployment, load_script(example_copy / "scripts" / "qualified.yaml"))
    report = run.report
    agent_lines = [t.text for t in report.transcript if t.role == "assistant"]
    for question in deployment.config.flow.questions:
        assert any(question.ask["en"] in line for line in agent_lines)
    qualify = report.tool_call("qualify_prospect")
    assert qualify.arguments["budget_usd"] == 60000.0
    assert qualify.arguments["authority"] == "decision_maker"
    assert qualify.arguments["timeline_months"] == 2
    assert json.loads(qualify.output)["status"] == "qualified"
    slots = json.loads(report.tool_call("check_availability").output)["slots"]
    booked = report.tool_call("schedule_meeting")
    assert booked.arguments["start"] == slots[0]["start"]
    assert booked.arguments["attendee_email"] == "dana.whitfield@brightline.example"
    assert report.data["meeting"]["start"] == slots[0]["start"]
    assert report.qualification["status"] == "qualified"
    assert report.disposition.value == "meeting_booked"
    # the journal has it, and the slot is now busy in the local calendar
    assert deployment.journal.get(report.call_id).disposition.value == "meeting_booked"
    again = await run_script(deployment, load_script(example_copy / "scripts" / "qualified.yaml"))
    assert again.report.tool_call("schedule_meeting").arguments["start"] != slots[0]["start"]


async def test_a_different_caller_gets_a_different_outcome(example_copy, tmp_path):
    script = tmp_path / "nurture.yaml"
    script.write_text(
        "lead_phone: '+14155550101'\n"
        "turns:\n"
        "  - Sure.\n"
        "  - We want fewer repetitive tickets.\n"
        "  - Maybe five thousand dollars.\n"
        "  - I'd have to run it by my CFO.\n"
        "  - Probably next year.\n"
        "expect:\n"
        "  disposition: nurture\n"
    )
    deployment = load_deployment(example_copy)
    run = await run_script(deployment, load_script(script))
    args = run.report.tool_call("qualify_prospect").arguments
    assert args == {
        "need": "We want fewer repetitive tickets.",
        "budget_usd": 5000.0,
        "authority": "influencer",
        "timeline_months": 12,
    }
    assert run.report.disposition.value == "nurture"
    assert run.report.tool_call("schedule_meeting") is None


async def test_spanish_deployment_speaks_spanish(example_copy):
    toml = example_copy / "voicekit.toml"
    toml.write_text(toml.read_text().replace('language = "en"', 'language = "es"'))
    deployment = load_deployment(example_copy)
    script = example_copy / "scripts" / "es.yaml"
    script.write_text(
        "lead_phone: '+525555550105'\n"
        "turns:\n  - 'No me interesa, gracias.'\n"
        "expect:\n  disposition: not_interested\n"
    )
    run = await run_script(deployment, load_script(script))
    assert run.report.transcript[0].text.startswith("Hola Lucía, soy Sofía de TDX.")
    assert "gracias por su tiempo" in run.report.transcript[-1].text
    assert "Eres Sofía" in run.agent.instructions
    assert run.report.disposition.value == "not_interested"


def test_script_with_unknown_keys_is_rejected(tmp_path):
    script = tmp_path / "bad.yaml"
    script.write_text("turns: [hi]\nexpectation: {disposition: meeting_booked}\n")
    with pytest.raises(ScriptError) as excinfo:
        load_script(script)
    assert (
        str(excinfo.value)
        == f"{script}: expectation = {{'disposition': 'meeting_booked'}}: unknown key"
    )


def test_script_with_unknown_disposition_is_rejected(example_copy, tmp_path):
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("turns: [hi]\nexpect: {disposition: Booked!}\n")
    with pytest.raises(ScriptError, match=r"expect\.disposition = 'Booked!'"):
        load_script(malformed)
    # a well-formed name may be one the deployment declares ([dispositions]): it is
    # checked against the deployment before the call starts, nothing journaled
    script = tmp_path / "bad.yaml"
    script.write_text("turns: [hi]\nexpect: {disposition: booked}\n")
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(example_copy), "--script", str(script)]
    )
    assert result.exit_code == 2
    assert "expect.disposition = 'booked': unknown disposition 'booked'" in result.output
    assert load_deployment(example_copy).journal.list() == []


def test_simulate_exits_1_when_expectations_fail(example_copy, tmp_path):
    script = tmp_path / "wrong.yaml"
    script.write_text(
        "lead_phone: '+14155550101'\nturns: ['not interested']\nexpect: {disposition: meeting_booked}\n"
    )
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(example_copy), "--script", str(script)]
    )
    assert result.exit_code == 1
    assert "disposition is not_interested, expected meeting_booked" in result.output


def test_simulate_rejects_an_invalid_phone_before_any_call(example_copy):
    result = CliRunner().invoke(build_cli(), ["simulate", str(example_copy), "--lead-phone", "12"])
    assert result.exit_code == 2
    assert "--lead-phone" in result.output
    assert (
        not (example_copy / ".voicekit" / "journal.sqlite3").exists()
        or load_deployment(example_copy).journal.list() == []
    )


async def test_invalid_tool_arguments_return_a_tool_error_and_the_call_goes_on(example_copy):
    deployment = load_deployment(example_copy)
    llm = ScriptedLLM(
        replies(
            ToolCall("qualify_prospect", {"need": "x", "authority": "the boss"}),
            "Sorry, let me try again.",
            ToolCall(
                "qualify_prospect",
                {
                    "need": "x",
                    "authority": "decision_maker",
                    "budget_usd": 20000,
                    "timeline_months": 1,
                },
            ),
            "Great, you qualify.",
        )
    )
    from voicekit_core.runner import open_call

    async with open_call(deployment, "+14155550101", llm=llm, greet=False) as run:
        first = await run.user_says("I'm in charge.")
        first.expect.next_event().is_function_call(name="qualify_prospect")
        output = first.expect.next_event().is_function_call_output()
        assert output.event().item.is_error
        first.expect.next_event().is_message(role="assistant")
        second = await run.user_says("Yes, I decide; budget 20k; next month.")
        second.expect.contains_function_call_output(is_error=False)
    calls = run.report.tool_calls
    assert [c.is_error for c in calls] == [True, False]
    assert "authority" in calls[0].output
    assert run.report.disposition.value == "qualified"


def test_dnc_lead_is_refused_before_any_call(example_copy):
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(example_copy), "--lead-phone", "+12065550110"]
    )
    assert result.exit_code == 2
    assert "call refused by tdx_sdr_local: +12065550110 is on the do-not-call list" in result.output
    assert load_deployment(example_copy).journal.list() == []


# -- issue 9: errors name their real source; nothing journaled for a call never made --


def _journal_is_empty(folder) -> bool:
    return load_deployment(folder).journal.list() == []


def _simulate(folder, *args):
    return CliRunner().invoke(build_cli(), ["simulate", str(folder), *args])


def test_bad_script_lead_phone_names_the_script_and_key(example_copy, tmp_path):
    script = tmp_path / "bad_phone.yaml"
    script.write_text("lead_phone: '+1 415 555 0101 ext. 23'\nturns: ['hi']\n")
    result = _simulate(example_copy, "--script", str(script))
    assert result.exit_code == 2, result.output
    assert f"{script}: lead_phone = " in result.output
    assert "has an extension (23)" in result.output
    assert "--lead-phone" not in result.output
    assert _journal_is_empty(example_copy)


def test_bad_lead_phone_option_is_a_usage_error_naming_the_option(example_copy):
    result = _simulate(example_copy, "--lead-phone", "(212) 555-CALL")
    assert result.exit_code == 2
    assert "--lead-phone" in result.output and "has letters (CALL)" in result.output
    assert _journal_is_empty(example_copy)


def test_allowed_extension_reaches_the_lead(example_copy, tmp_path):
    toml = example_copy / "voicekit.toml"
    toml.write_text(toml.read_text().replace("[leads]\n", "[leads]\nallow_extensions = true\n"))
    report_path = tmp_path / "report.json"
    result = _simulate(
        example_copy, "--lead-phone", "+1 415 555 0101 x23", "--report", str(report_path)
    )
    assert result.exit_code == 0, result.output
    lead = json.loads(report_path.read_text())["lead"]
    assert (lead["phone"], lead["extension"], lead["first_name"]) == ("+14155550101", "23", "Dana")


def test_a_plugin_value_error_is_not_blamed_on_lead_phone(example_copy):
    (example_copy / "dnc.txt").write_text("call me maybe\n")  # the example plugin's input
    result = _simulate(example_copy, "--lead-phone", "+14155550101")
    assert result.exit_code == 2  # the plugin's own error, as what it is
    assert "dnc.txt: line 1 = call me maybe: not a phone number" in result.output
    assert "--lead-phone" not in result.output
    assert _journal_is_empty(example_copy)


def test_latin1_script_is_a_script_error_with_its_line(example_copy, tmp_path):
    script = tmp_path / "latin1.yaml"
    script.write_bytes("description: prueba\nturns:\n  - 'Sí, dígame'\n".encode("latin-1"))
    result = _simulate(example_copy, "--script", str(script))
    assert result.exit_code == 2
    assert f"{script}: line 3: not UTF-8 text (byte 0xED); save it as UTF-8" in result.output
    assert "Traceback" not in result.output
    assert _journal_is_empty(example_copy)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("turns:\n  - 'hi'\n  -\t'x'\n\x00", "line 4"),
        ("turns: [hi\n", "line 2"),
        ("turns:\n\t- hi\n", "line 2"),
    ],
)
def test_malformed_yaml_is_one_line_naming_the_line(tmp_path, text, where):
    script = tmp_path / "bad.yaml"
    script.write_text(text)
    with pytest.raises(ScriptError) as info:
        load_script(script)
    message = str(info.value)
    assert message.startswith(f"{script}: {where}: malformed YAML at column ")
    assert "\n" not in message


def test_broken_leads_file_exits_2_before_any_call(example_copy):
    leads = example_copy / "leads.csv"
    header, rest = leads.read_text().split("\n", 1)
    leads.write_text(f"{header},phone\n{rest}")
    result = _simulate(example_copy)
    assert result.exit_code == 2
    assert "LeadFileError" in result.output and "column 'phone' appears twice" in result.output
    assert _journal_is_empty(example_copy)


def test_simulate_reads_the_leads_file_only_up_to_its_lead(example_copy, tmp_path):
    leads = example_copy / "leads.csv"
    leads.write_text(leads.read_text() + 'Zed,"never closed\n')  # broken, after every lead
    report_path = tmp_path / "report.json"
    result = _simulate(example_copy, "--report", str(report_path))
    assert result.exit_code == 0, result.output
    assert json.loads(report_path.read_text())["lead"]["first_name"] == "Dana"


def test_a_bad_row_for_the_called_number_is_noted(example_copy, tmp_path):
    leads = example_copy / "leads.csv"
    leads.write_text(leads.read_text().replace("dana.whitfield@brightline.example", "dana@"))
    report_path = tmp_path / "report.json"
    result = _simulate(example_copy, "--report", str(report_path))
    assert result.exit_code in (0, 1), result.output
    report = json.loads(report_path.read_text())
    assert report["lead"]["source"] == "unknown"
    assert any("row 2" in note and "email 'dana@'" in note for note in report["notes"])
