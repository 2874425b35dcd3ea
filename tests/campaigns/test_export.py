"""`voicekit campaign export`: leads, attempts and results as CSV, safe and never half-written."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from voicekit_core.calls import CallReport, Disposition
from voicekit_core.campaigns import export as export_module
from voicekit_core.campaigns.export import COLUMNS, export_to_path, safe_cell, write_export
from voicekit_core.campaigns.importer import import_csv
from voicekit_core.cli import build_cli
from voicekit_core.store.tables import attempts, calls, campaign_leads
from voicekit_core.testing import MINIMAL_CONFIG

START = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
LEADS = (
    "prospect_name,company_name,phone\n"
    "Ada Lovelace,Analytical Engines,+14155550123\n"
    '"=HYPERLINK(""http://evil.example"",""x"")",+cmd|calc,+12125550199\n'
    "Grace Hopper,@SUM(A1),+13125550142\n"
)


def setup_campaign(voicekit, store_url: str, tmp_path: Path):
    config = voicekit.write(
        f'{MINIMAL_CONFIG}\n[store]\nurl = "{store_url}"\n', files={"list.csv": LEADS}
    )
    deployment = voicekit.load(config)
    store = deployment.store
    result = import_csv(store, deployment.config, name="Q4", path=config.parent / "list.csv")
    campaign = result.campaign
    with store.read() as db:
        ids = dict(
            db.execute(
                select(campaign_leads.c.phone, campaign_leads.c.id).where(
                    campaign_leads.c.campaign_id == campaign.id
                )
            ).all()
        )
    ada = ids["+14155550123"]
    report = CallReport(
        call_id="20261124T150000-abc123",
        agent_name="test-agent",
        direction="outbound",
        mode="live",
        phone="+14155550123",
        lead={"name": "Ada Lovelace"},
        started_at=START + timedelta(hours=1),
        ended_at=START + timedelta(hours=1, seconds=93),
        duration_seconds=93.0,
        disposition=Disposition.MEETING_BOOKED,
        disposition_reason="-1 booked Tuesday",
        qualification={"status": "qualified", "budget": "$60k", "timeline": "2 months"},
    )
    with store.write() as db:
        db.execute(
            insert(attempts),
            [
                {
                    "campaign_id": campaign.id,
                    "lead_id": ada,
                    "number": 1,
                    "phone": "+14155550123",
                    "room_name": f"vk-{campaign.id}-{ada}-1",
                    "call_id": None,
                    "started_at": START,
                    "ended_at": START + timedelta(seconds=30),
                    "disposition": "busy",
                    "sip_status": 486,
                    "detail": "SIP 486 Busy Here",
                    "spent": 1,
                },
                {
                    "campaign_id": campaign.id,
                    "lead_id": ada,
                    "number": 2,
                    "phone": "+14155550123",
                    "room_name": f"vk-{campaign.id}-{ada}-2",
                    "call_id": report.call_id,
                    "started_at": START + timedelta(hours=1),
                    "ended_at": START + timedelta(hours=1, seconds=93),
                    "disposition": "meeting_booked",
                    "sip_status": None,
                    "detail": "",
                    "spent": 1,
                },
            ],
        )
        db.execute(
            insert(calls).values(
                call_id=report.call_id,
                agent_name="test-agent",
                phone=report.phone,
                direction="outbound",
                status="finished",
                disposition="meeting_booked",
                started_at=report.started_at,
                ended_at=report.ended_at,
                updated_at=report.ended_at,
                report_json=report.model_dump_json(),
            )
        )
    return config, deployment, campaign


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_one_row_per_attempt_and_one_per_undialed_lead(voicekit, store_url, tmp_path):
    _, deployment, campaign = setup_campaign(voicekit, store_url, tmp_path)
    out = io.StringIO()
    assert write_export(deployment.store, campaign, out) == 4
    rows = parse(out.getvalue())
    assert list(rows[0]) == list(COLUMNS)
    assert [(r["row"], r["attempt"], r["disposition"]) for r in rows] == [
        ("2", "1", "busy"),
        ("2", "2", "meeting_booked"),
        ("3", "", ""),
        ("4", "", ""),
    ]
    busy, booked, _, _ = rows
    assert (busy["sip_status"], busy["detail"], busy["spent"]) == ("486", "SIP 486 Busy Here", "1")
    assert busy["started_at"] == START.isoformat()
    assert (booked["name"], booked["company"]) == ("Ada Lovelace", "Analytical Engines")
    assert booked["duration_seconds"] == "93.0"
    assert booked["qualification"] == "qualified; budget: $60k; timeline: 2 months"
    assert booked["disposition_reason"] == "'-1 booked Tuesday"  # a reason can start a formula
    assert rows[2]["lead_state"] == "pending"


def test_cells_that_start_a_formula_get_a_quote_phones_stay_whole(voicekit, tmp_path):
    _, deployment, campaign = setup_campaign(
        voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path
    )
    out = io.StringIO()
    write_export(deployment.store, campaign, out)
    rows = parse(out.getvalue())
    evil = rows[2]
    assert evil["name"].startswith("'=HYPERLINK(")
    assert evil["company"] == "'+cmd|calc"
    assert rows[3]["company"] == "'@SUM(A1)"
    assert [r["phone"] for r in rows] == ["+14155550123"] * 2 + ["+12125550199", "+13125550142"]
    for row in rows:
        for column, value in row.items():
            if column != "phone":
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (column, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        (None, ""),
        (3, "3"),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_cli_export_to_stdout_and_to_a_file(voicekit, tmp_path):
    config, _, _ = setup_campaign(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    runner = CliRunner()
    shown = runner.invoke(build_cli(), ["campaign", "export", str(config), "Q4"])
    assert shown.exit_code == 0, shown.output
    assert len(parse(shown.output)) == 4
    target = tmp_path / "out.csv"
    written = runner.invoke(
        build_cli(), ["campaign", "export", str(config), "Q4", "--output", str(target)]
    )
    assert written.exit_code == 0, written.output
    assert "wrote 4 rows" in written.output
    assert target.read_text(encoding="utf-8") == shown.output
    assert oct(target.stat().st_mode & 0o777) == oct(0o600)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.csv")] == []


def test_a_failed_export_leaves_the_old_file_and_no_temporary(voicekit, tmp_path, monkeypatch):
    _, deployment, campaign = setup_campaign(
        voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path
    )
    target = tmp_path / "out.csv"
    target.write_text("previous export\n", encoding="utf-8")
    real_rows = export_module.export_rows

    def failing(store, campaign):
        for n, row in enumerate(real_rows(store, campaign)):
            if n == 2:
                raise OSError(28, "No space left on device")
            yield row

    monkeypatch.setattr(export_module, "export_rows", failing)
    with pytest.raises(OSError, match="No space"):
        export_to_path(deployment.store, campaign, target)
    assert target.read_text(encoding="utf-8") == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_cli_export_errors_exit_2(voicekit, tmp_path):
    config, _, _ = setup_campaign(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    runner = CliRunner()
    unknown = runner.invoke(build_cli(), ["campaign", "export", str(config), "nope"])
    assert unknown.exit_code == 2 and "no campaign named or with id 'nope'" in unknown.output
    nowhere = runner.invoke(
        build_cli(),
        ["campaign", "export", str(config), "Q4", "--output", str(tmp_path / "missing" / "x.csv")],
    )
    assert nowhere.exit_code == 2 and "is not a folder" in nowhere.output
