"""The example as a deployment: it loads and checks, its documents (Markdown and the PDF)
are ingested, `voicekit sip setup-inbound` sets up its line, and an emergency transfers
for real (SIP REFER through the real livekit-api client, against a fake LiveKit server)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from pypdf import PdfReader

from voicekit_core import load_deployment
from voicekit_core.cli import build_cli
from voicekit_core.simulate import load_script, run_script

EXAMPLE = Path(__file__).resolve().parents[1]


def test_check_passes_and_names_the_outcomes_and_the_ticket():
    result = CliRunner().invoke(build_cli(), ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "ticket_created" in result.output and "emergency_escalated" in result.output
    assert "record_details collects ticket: 14 fields (4 required, 2 read back)" in " ".join(
        result.output.split()
    )


def test_the_move_out_pdf_is_a_real_pdf_with_text():
    reader = PdfReader(EXAMPLE / "docs" / "move_out.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "written notice at least 60 days" in " ".join(text.split())


def test_every_document_is_ingested(receptionist):
    from voicekit_knowledge.runtime import knowledge_base

    kb = knowledge_base(load_deployment(receptionist))
    assert sorted(row.uri for row in kb.sources()) == [
        "docs/maintenance_policy.md",
        "docs/move_out.pdf",
        "docs/office_hours.md",
        "docs/parking.md",
        "docs/pets.md",
        "docs/preguntas_frecuentes.md",
        "docs/rent_payment.md",
    ]
    hits = kb.search("how much notice before moving out", k=1, method="bm25")
    assert hits[0].source == "docs/move_out.pdf"


def test_setup_inbound_creates_the_line_with_room_prefix_call(fake_livekit):
    result = CliRunner().invoke(
        build_cli(), ["sip", "setup-inbound", str(EXAMPLE)], env=fake_livekit.env()
    )
    assert result.exit_code == 0, result.output
    trunk = fake_livekit.inbound_trunks[0]
    assert list(trunk.numbers) == ["+15125550140"]
    rule = fake_livekit.dispatch_rules[0]
    assert rule.rule.dispatch_rule_individual.room_prefix == "call-"
    assert [a.agent_name for a in rule.room_config.agents] == ["maple-receptionist"]
    assert json.loads(rule.room_config.agents[0].metadata)["direction"] == "inbound"


async def test_emergency_transfers_over_sip_to_the_on_call_number(
    receptionist, fake_livekit, livekit_env, monkeypatch
):
    monkeypatch.setenv("ONCALL_PHONE_NUMBER", "+15125550198")
    deployment = load_deployment(receptionist)
    script = load_script(receptionist / "scripts" / "emergency_gas.yaml")
    run = await run_script(deployment, script, offline=True)
    report = run.report
    [transfer] = fake_livekit.calls("TransferSIPParticipant")
    assert transfer.request.transfer_to == "tel:+15125550198"
    assert transfer.request.room_name == f"call-{report.call_id}"
    assert report.data["transfer"]["mode"] == "cold"
    assert report.disposition.value == "emergency_escalated"
    ticket = json.loads((receptionist / "tickets" / f"{report.call_id}.json").read_text())
    assert ticket["escalated"] is True and ticket["urgency"] == "emergency"
