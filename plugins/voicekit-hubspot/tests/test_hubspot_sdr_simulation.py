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
