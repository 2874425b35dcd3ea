"""The TDX SDR example's HubSpot variant, end to end against the fake HubSpot."""

from __future__ import annotations

import shutil
from pathlib import Path

from hubspot_fake import TOKEN

from voicekit_core import load_deployment
from voicekit_core.simulate import load_script, run_script

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tdx_sdr"


async def test_qualified_sdr_call_has_crm_context_and_is_logged(tmp_path, hubspot):
    copy = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    config = copy / "voicekit.hubspot.toml"
    text = config.read_text(encoding="utf-8")
    assert '# host = "https://api.hubapi.com"' in text
    config.write_text(
        text.replace('# host = "https://api.hubapi.com"', f'host = "{hubspot.url}"'),
        encoding="utf-8",
    )
    dana = hubspot.add(
        "contacts",
        {
            "firstname": "Dana",
            "lastname": "Whitfield",
            "company": "Brightline Logistics",
            "jobtitle": "VP of Operations",
            "phone": "(415) 555-0101",
            "lifecyclestage": "lead",
            "email": "dana.whitfield@brightline.example",
            "hs_lead_status": "NEW",
            "hubspot_owner_id": "4242",
            "hs_timezone": "america_slash_los_angeles",
        },
    )
    deployment = load_deployment(config, environ={"HUBSPOT_ACCESS_TOKEN": TOKEN})

    run = await run_script(deployment, load_script(copy / "scripts" / "qualified.yaml"))

    assert "## CRM context (HubSpot)" in run.agent.instructions
    assert (
        "Contact: Dana Whitfield, VP of Operations at Brightline Logistics"
        in run.agent.instructions
    )
    assert "Contact owner (HubSpot owner id): 4242" in run.agent.instructions
    report = run.report
    assert report.lead["source"] == "hubspot" and report.lead["crm_id"] == dana
    assert report.disposition.value == "meeting_booked"
    [delivery] = [d for d in report.post_call if d.plugin == "hubspot"]
    assert delivery.status == "delivered", delivery.error
    [call] = hubspot.sent("POST", "/crm/v3/objects/calls")
    assert call["properties"]["hs_call_title"] == f"voicekit call {report.call_id}"
    assert "user: We've set aside about $60k" in call["properties"]["hs_call_body"]
    assert call["associations"][0]["to"] == {"id": dana}
    assert hubspot.objects["contacts"][dana]["properties"]["hs_lead_status"] == "OPEN_DEAL"
    assert len(hubspot.sent("POST", "/crm/v3/objects/tasks")) == 1


async def test_call_stored_then_502_is_logged_once_after_journal_retry(
    tmp_path, hubspot, monkeypatch
):
    """Through the real journal: the call create is stored but answered 502, the check of
    the contact's associations fails too, and search lags; the delivery fails, and
    ``voicekit journal retry`` resumes from the saved state without a second call."""
    import asyncio

    from click.testing import CliRunner

    from voicekit_core.cli import cli

    copy = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    config = copy / "voicekit.hubspot.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('# host = "https://api.hubapi.com"', f'host = "{hubspot.url}"'),
        encoding="utf-8",
    )
    dana = hubspot.add("contacts", {"firstname": "Dana", "phone": "(415) 555-0101"})
    hubspot.index_lag = 600
    hubspot.fail_when("POST", r"/crm/v3/objects/calls", 502, commit=True)
    hubspot.fail_when("GET", rf"/crm/v4/objects/contacts/{dana}/associations/calls", *[503] * 5)
    deployment = load_deployment(config, environ={"HUBSPOT_ACCESS_TOKEN": TOKEN})

    run = await run_script(deployment, load_script(copy / "scripts" / "qualified.yaml"))

    [delivery] = [d for d in run.report.post_call if d.plugin == "hubspot"]
    assert delivery.status == "failed"
    assert "HubSpot calls create failed: HTTP 502" in delivery.error
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["journal", "retry", str(config), "--attempts", "1"]
    )
    assert result.exit_code == 0, result.output
    [record] = deployment.journal.deliveries(run.report.call_id)
    assert record.status == "delivered", record.error
    assert hubspot.count("calls") == 1 and len(hubspot.sent("POST", "/crm/v3/objects/calls")) == 1
    assert record.result["call_id"] == next(iter(hubspot.objects["calls"]))
    assert hubspot.count("notes") == hubspot.count("tasks") == 1
