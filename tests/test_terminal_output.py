"""Untrusted text prints literally and PII can be masked (issue 9, items 3 and 5).

Classes: rich markup in lead fields (`voicekit leads`), in caller lines, tool outputs and
notes (`print_call`, used by `simulate` and `journal show`); the masking helpers; the
`--mask-pii` / `VOICEKIT_MASK_PII` switch on leads, journal list, reports and error text.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from rich.console import Console

from voicekit_core import masking
from voicekit_core.calls import CallReport, DeliveryRecord, Disposition, ToolCallRecord
from voicekit_core.calls import TranscriptEntry as Line
from voicekit_core.cli import build_cli
from voicekit_core.errors import CallVetoed
from voicekit_core.render import print_call

MARKUP = ["[/]", "[bold]x", "[link=https://evil.example]click[/link]", "[red]"]
NOW = datetime(2026, 1, 5, 15, 0, tzinfo=timezone.utc)


def flat(text: str) -> str:
    """Without whitespace (rich wraps and folds long cells)."""
    return "".join(text.split())


def report_with(text: str) -> CallReport:
    return CallReport(
        call_id="20260105T150000-abc123",
        agent_name=f"agent {text}",
        direction="outbound",
        mode="simulated",
        phone="+14155550123",
        lead={"name": f"Dana {text} Whitfield", "company": text, "email": "dana@example.com"},
        started_at=NOW,
        ended_at=NOW,
        duration_seconds=1.0,
        transcript=[
            Line(role="assistant", text=f"Hello {text}", at=NOW),
            Line(role="user", text=f"I said {text} - call me on +14155550199", at=NOW),
        ],
        tool_calls=[
            ToolCallRecord(name="crm", arguments={"note": text}, output=f"out {text}", at=NOW)
        ],
        disposition=Disposition.COMPLETED,
        disposition_reason=f"because {text}",
        notes=[f"note {text}"],
        post_call=[DeliveryRecord(plugin="crm", status="failed", error=f"boom {text}")],
    )


def printed(report: CallReport) -> str:
    out = io.StringIO()
    print_call(Console(file=out, width=200, highlight=False), report)
    return out.getvalue()


@pytest.fixture(autouse=True)
def masking_off(monkeypatch):
    monkeypatch.delenv(masking.MASK_ENV, raising=False)
    masking.set_enabled(None)
    yield
    masking.set_enabled(None)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    """Table cells fold in narrow terminals; a wide console keeps each row on one line."""
    import voicekit_core.cli as cli_module

    monkeypatch.setattr(cli_module, "console", Console(width=300, highlight=False))


# -- markup injection -------------------------------------------------------------------------


@pytest.mark.parametrize("text", MARKUP)
def test_print_call_prints_markup_literally(text):
    output = printed(report_with(text))  # "[/]" used to raise MarkupError here
    for expected in (
        f"Dana {text} Whitfield",
        f"Caller: I said {text}",
        f"out {text}",
        f"because {text}",
        f"note {text}",
        f"boom {text}",
    ):
        assert flat(expected) in flat(output)


@pytest.mark.parametrize("text", MARKUP)
def test_leads_command_prints_markup_literally(voicekit, text):
    csv = (
        "prospect_name,company_name,job_title,phone,email,timezone,resource_name\n"
        f'"Dana {text} Whitfield","{text}",CTO,+14155550123,dana@example.com,,\n'
    )
    path = voicekit.write(files={"leads.csv": csv})
    result = CliRunner().invoke(build_cli(), ["leads", str(path)])
    assert result.exit_code == 0, result.output
    assert flat(f"Dana {text} Whitfield") in flat(result.stdout)


# -- masking helpers ----------------------------------------------------------------------------


def test_mask_phone_and_email():
    assert masking.mask_phone("+14155550123") == "+1415•••0123"
    assert masking.mask_phone("12345") == "•••45"
    assert masking.mask_phone("") == ""
    assert masking.mask_email("dana@example.com") == "d•••@example.com"
    assert masking.mask_email("not-an-email") == "•••"


def test_mask_text_finds_phones_and_emails_but_not_ids_or_dates():
    text = "call +14155550123 or (415) 555-0199, mail dana@example.com; id 20260105T150000-abc123"
    masked = masking.mask_text(text)
    assert "4155550123" not in masked and "555-0199" not in masked
    assert "dana@" not in masked and "d•••@example.com" in masked
    assert "20260105T150000-abc123" in masked


def test_switch_flag_beats_environment(monkeypatch):
    assert masking.display_phone("+14155550123") == "+14155550123"
    monkeypatch.setenv(masking.MASK_ENV, "1")
    assert masking.display_phone("+14155550123") == "+1415•••0123"
    masking.set_enabled(False)
    assert masking.display_email("dana@example.com") == "dana@example.com"


# -- masking in the CLI ---------------------------------------------------------------------------


def test_leads_masked_with_flag_and_full_without(voicekit):
    path = voicekit.write()
    masked = CliRunner().invoke(build_cli(), ["--mask-pii", "leads", str(path)])
    assert masked.exit_code == 0, masked.output
    assert "+14155550123" not in masked.stdout and "ada@example.com" not in masked.stdout
    assert "+1415•••0123" in flat(masked.stdout)
    full = CliRunner().invoke(build_cli(), ["leads", str(path)])
    assert "+14155550123" in flat(full.stdout)


def test_print_call_masks_phones_and_emails_when_on(monkeypatch):
    monkeypatch.setenv(masking.MASK_ENV, "1")
    output = printed(report_with("x"))
    assert "+14155550123" not in output and "+14155550199" not in output
    assert "+1415•••0123" in output


def test_veto_message_masked(monkeypatch):
    import click

    cli = build_cli()

    @click.command("vk-test-veto")
    def veto() -> None:
        raise CallVetoed("dnc", "+14155550123 is on the DNC list")

    cli.add_command(veto)
    try:
        result = CliRunner().invoke(cli, ["--mask-pii", "vk-test-veto"])
    finally:
        cli.commands.pop("vk-test-veto", None)
    assert result.exit_code == 2
    assert "+14155550123" not in result.output
    assert "+1415•••0123 is on the DNC list" in result.stderr


def test_journal_list_masks_phones(example_copy):
    import asyncio

    from voicekit_core import load_deployment
    from voicekit_core.simulate import load_script, run_script

    deployment = load_deployment(example_copy)
    script = load_script(example_copy / "scripts" / "qualified.yaml")
    run = asyncio.run(run_script(deployment, script))
    result = CliRunner().invoke(build_cli(), ["--mask-pii", "journal", "list", str(example_copy)])
    assert result.exit_code == 0, result.output
    assert run.report.phone not in flat(result.stdout)
    assert masking.mask_phone(run.report.phone) in flat(result.stdout)
