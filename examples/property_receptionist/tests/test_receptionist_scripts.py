"""Every caller script of the example through `voicekit simulate` (offline, the scripted
model): its disposition, its ticket file (voicekit-webhook's file sink) and what the
agent said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicekit_core.cli import build_cli

EXAMPLE = Path(__file__).resolve().parents[1]

TICKETS = {
    "maintenance_ticket": {
        "kind": "maintenance",
        "summary": "Maintenance: My kitchen sink is leaking under the cabinet.",
        "details": "Hi, my kitchen sink is leaking under the cabinet.",
        "urgency": "normal",
        "caller_name": "Jordan Ellis",
        "caller_phone": "+15125550123",
        "caller_role": "tenant",
        "property": "450 Birch Avenue",
        "unit": "12B",
        "entry_permitted": True,
        "pets": True,
        "preferred_window": "Weekday mornings, please",
        "escalated": False,
    },
    "emergency_gas": {
        "kind": "maintenance",
        "summary": "Emergency (gas smell): I smell gas in my kitchen, it's really strong!",
        "details": "Hi, this is Sam Rivera. I smell gas in my kitchen, it's really strong!",
        "urgency": "emergency",
        "caller_name": "Sam Rivera",
        "caller_phone": "+15125550188",
        "property": "88 Cedar Lane",
        "unit": "7C",
        "escalated": True,
        "escalation_reason": "gas smell: I smell gas in my kitchen, it's really strong!",
    },
    "spanish_caller": {
        "kind": "maintenance",
        "summary": "Maintenance: El inodoro de mi baño no funciona.",
        "details": "Hola, buenas tardes. El inodoro de mi baño no funciona.",
        "urgency": "normal",
        "caller_name": "Lucía Fernández",
        "caller_phone": "+15125550177",
        "caller_role": "tenant",
        "property": "12 Oak Street",
        "unit": "5D",
        "entry_permitted": False,
        "pets": False,
        "preferred_window": "Por las tardes, después de las 3",
        "escalated": False,
    },
    "wrong_details_corrected": {
        "kind": "maintenance",
        "summary": "Maintenance: Our dishwasher stopped working. It's not urgent.",
        "details": "Hi, our dishwasher stopped working. It's not urgent.",
        "urgency": "low",
        "caller_name": "Marcus Chen",  # from residents.csv, by caller id
        "caller_phone": "+15125550190",  # corrected at the read-back
        "caller_role": "tenant",
        "property": "450 Birch Avenue",
        "unit": "12A",  # corrected at the read-back (the lead said 12)
        "entry_permitted": True,
        "pets": False,
        "preferred_window": "Any afternoon this week",
        "escalated": False,
    },
    "faq_rent": None,  # questions answered: no ticket
}
DISPOSITIONS = {
    "faq_rent": "faq_answered",
    "maintenance_ticket": "ticket_created",
    "emergency_gas": "emergency_escalated",
    "spanish_caller": "ticket_created",
    "wrong_details_corrected": "ticket_created",
}


def simulate(folder: Path, script: str, config: str = "") -> tuple[dict, str]:
    """Run one script with `voicekit simulate --offline`; returns (report, output)."""
    report_path = folder / f"{script}.report.json"
    target = str(folder / config) if config else str(folder)
    result = CliRunner().invoke(
        build_cli(),
        [
            "simulate",
            target,
            "--offline",
            "--script",
            str(folder / "scripts" / f"{script}.yaml"),
            "--report",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output  # the script's own expect: holds too
    return json.loads(report_path.read_text(encoding="utf-8")), result.output


def test_every_script_is_covered():
    scripts = {p.stem for p in (EXAMPLE / "scripts").glob("*.yaml")}
    assert scripts == set(DISPOSITIONS) == set(TICKETS)
    assert len(set(DISPOSITIONS.values())) == 3


@pytest.mark.parametrize("script", sorted(DISPOSITIONS))
def test_script_disposition_and_ticket(receptionist, script):
    report, output = simulate(receptionist, script)
    assert report["disposition"] == DISPOSITIONS[script]
    assert report["direction"] == "inbound"
    assert report["call_id"] in output
    ticket_file = receptionist / "tickets" / f"{report['call_id']}.json"
    expected = TICKETS[script]
    if expected is None:
        assert not ticket_file.exists()
        assert not (receptionist / "tickets").exists() or not any(
            (receptionist / "tickets").iterdir()
        )
    else:
        assert json.loads(ticket_file.read_text(encoding="utf-8")) == expected
        assert report["extracted"] == expected
    webhook = next(d for d in report["post_call"] if d["plugin"] == "webhook")
    assert webhook["status"] == "delivered"


def test_faq_answers_come_from_the_documents(receptionist):
    report, _ = simulate(receptionist, "faq_rent")
    agent = [t["text"] for t in report["transcript"] if t["role"] == "assistant"]
    assert agent[1].startswith(
        "Rent is due on the first day of each month. From the sixth day a late fee of $50"
    )
    assert "credit card with a 2.9% card fee" in agent[2]
    lookups = report["data"]["knowledge"]["lookups"]
    assert [lookup["results"][0]["source"] for lookup in lookups] == [
        "docs/rent_payment.md",
        "docs/rent_payment.md",
    ]
    assert report["extracted"] in (None, {})


def test_emergency_is_recorded_before_the_transfer_to_the_on_call_line(receptionist):
    report, _ = simulate(receptionist, "emergency_gas")
    assert [t["name"] for t in report["tool_calls"]] == [
        "record_details",
        "transfer_call",
        "end_call",
    ]
    agent = [t["text"] for t in report["transcript"] if t["role"] == "assistant"]
    assert "leave the building now and call 911" in agent[1]
    assert agent[1].endswith("What's the address of the property?")  # asked before the transfer
    transfer = report["data"]["transfer"]
    assert transfer["target"] == "on_call"
    assert transfer["to"] == "tel:+15125550199"
    assert transfer["mode"] == "simulated"  # no LiveKit credentials: no request made
    assert report["disposition_reason"].startswith("gas smell: I smell gas in my kitchen")


def test_spanish_caller_is_answered_in_spanish(receptionist):
    report, _ = simulate(receptionist, "spanish_caller")
    agent = [t["text"] for t in report["transcript"] if t["role"] == "assistant"]
    assert agent[1] == "Con gusto le ayudo. ¿Me puede dar su nombre completo, por favor?"
    assert agent[-1].startswith("Gracias, Lucía. He registrado su solicitud")


def test_known_resident_is_read_back_what_the_office_has(receptionist):
    report, _ = simulate(receptionist, "wrong_details_corrected")
    agent = [t["text"] for t in report["transcript"] if t["role"] == "assistant"]
    assert not any("full name" in line or "address of the property" in line for line in agent)
    first = next(line for line in agent if line.startswith("Let me read that back"))
    assert "your name, Marcus Chen" in first and "unit, 12;" in first
    assert (
        "Thanks for correcting that. Let me read that back: unit, 12A; your phone number, "
        "(512) 555-0190. Is that right?"
    ) in agent
    assert report["data"]["extraction"]["complete"] is True


def test_spanish_first_line_greets_in_spanish(receptionist):
    report, _ = simulate(receptionist, "spanish_caller", config="voicekit.es.toml")
    assert report["transcript"][0]["text"].startswith("Gracias por llamar a Maple Property")
    assert report["disposition"] == "ticket_created"


def test_simulate_without_a_script_plays_the_first_one_and_writes_its_ticket(receptionist):
    result = CliRunner().invoke(build_cli(), ["simulate", str(receptionist), "--offline"])
    assert result.exit_code == 0, result.output
    [ticket] = (receptionist / "tickets").glob("*.json")
    assert json.loads(ticket.read_text(encoding="utf-8")) == TICKETS["emergency_gas"]


@pytest.mark.parametrize("script", sorted(DISPOSITIONS))
def test_each_script_states_its_disposition_and_ticket(script):
    from voicekit_core.simulate import load_script

    expect = load_script(EXAMPLE / "scripts" / f"{script}.yaml").expect
    assert expect.disposition.value == DISPOSITIONS[script]
    ticket = TICKETS[script] or {}
    assert expect.extracted is not None
    assert {k: ticket.get(k) for k in expect.extracted} == expect.extracted


def test_a_ticket_that_differs_from_the_script_fails_the_simulation(receptionist):
    path = receptionist / "scripts" / "maintenance_ticket.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("unit: 12B", "unit: 99Z"))
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(receptionist), "--offline", "--script", str(path)]
    )
    assert result.exit_code == 1
    assert "extracted.unit is '12B', expected '99Z'" in " ".join(result.output.split())
