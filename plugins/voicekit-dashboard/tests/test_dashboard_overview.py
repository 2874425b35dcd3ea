"""The Overview page and ``/api/overview``: campaigns with progress, calls in progress,
today's (UTC) dispositions and conversion, all matching the store."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dashboard_campaigns_kit import HTMX
from sqlalchemy import func, insert, select

from voicekit_core.calls import utcnow
from voicekit_core.campaigns.importer import import_csv
from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions
from voicekit_core.campaigns.summary import NOT_CONNECTED
from voicekit_core.store.tables import calls

FAST = RunnerOptions(lease_seconds=5, tick_seconds=0.05, poll_seconds=0.02, seed=1)


@pytest.fixture
def ran(deployment) -> str:
    """A campaign of the example's leads, dialed to completion with simulated calls."""
    leads = Path(deployment.config.base_dir) / "leads.csv"
    campaign_id = import_csv(
        deployment.store, deployment.config, name="ran", path=leads
    ).campaign.id
    runner = CampaignRunner(deployment, campaign_id, mode="simulated", options=FAST, speed=100_000)
    result = asyncio.run(asyncio.wait_for(runner.run(), 120))
    assert result.state == "completed"
    import_csv(deployment.store, deployment.config, name="waiting", path=leads)
    return campaign_id


def _call_row(
    call_id: str, status: str, started: datetime, lease: datetime | None, disposition=None
):
    return {
        "call_id": call_id,
        "agent_name": "tdx-sdr",
        "phone": "+14155550199",
        "direction": "inbound",
        "status": status,
        "disposition": disposition,
        "started_at": started,
        "updated_at": started,
        "lease_owner": "elsewhere" if lease else None,
        "lease_expires_at": lease,
        "report_json": "{}",
    }


def test_overview_figures_match_the_store(client, deployment, ran):
    now = utcnow()
    with deployment.store.write() as db:
        db.execute(
            insert(calls),
            [
                _call_row("live-1", "in_progress", now, now + timedelta(minutes=1)),
                _call_row(
                    "dead-1", "in_progress", now - timedelta(hours=1), now - timedelta(minutes=5)
                ),
                # yesterday (UTC): not today's
                _call_row(
                    "old-1", "finished", now - timedelta(days=1, hours=1), None, "meeting_booked"
                ),
            ],
        )
    body = client.get("/api/overview").json()

    midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=timezone.utc)
    with deployment.store.read() as db:
        today = dict(
            db.execute(
                select(calls.c.disposition, func.count())
                .where(calls.c.started_at >= midnight, calls.c.status != "in_progress")
                .group_by(calls.c.disposition)
            ).all()
        )
    connected = sum(n for d, n in today.items() if d not in NOT_CONNECTED)
    booked = today.get("meeting_booked", 0)
    assert body["today"]["day"] == now.date().isoformat()
    assert body["today"]["dispositions"] == today
    assert body["today"]["calls"] == sum(today.values()) >= 12
    assert (body["today"]["connected"], body["today"]["booked"]) == (connected, booked)
    assert booked >= 1 and body["today"]["conversion"] == round(booked / connected, 4)
    assert body["calls_in_progress"] == 1  # the one whose lease expired is not counted
    assert body["dialer"] == "external"

    assert [c["name"] for c in body["campaigns"]] == ["waiting", "ran"]
    ran_row = body["campaigns"][1]
    assert ran_row["state"] == "completed" and ran_row["id"] == ran
    assert ran_row["leads"]["final"] == ran_row["leads"]["total"] == 12
    assert ran_row["leads"]["progress"] == 1.0
    assert body["campaigns"][0]["leads"]["progress"] == 0.0

    page = client.get("/")
    assert page.status_code == 200
    assert '<div class="stat" data-testid="calls-in-progress">1</div>' in page.text
    assert 'href="/live"' in page.text
    assert f"UTC day {now.date().isoformat()}" in page.text and "since 00:00 UTC" in page.text
    assert f'<span data-testid="today-booked">{booked}</span>' in page.text
    assert page.text.count('data-testid="today-disposition"') == len(today)
    assert page.text.count('data-testid="overview-campaign"') == 2
    assert 'hx-trigger="every 5s"' in page.text


def test_overview_panel_is_a_fragment_and_empty_store_reads_well(client):
    body = client.get("/api/overview").json()
    assert body["campaigns"] == [] and body["calls_in_progress"] == 0
    assert body["today"]["calls"] == 0 and body["today"]["conversion"] == 0.0
    panel = client.get("/overview/panel", headers=HTMX)
    assert panel.status_code == 200
    assert "<html" not in panel.text and 'id="overview-panel"' in panel.text
    assert 'data-testid="today-empty"' in panel.text


def test_overview_requires_login(anonymous):
    assert anonymous.get("/api/overview").status_code == 401
    assert (
        anonymous.get("/overview/panel", headers={"accept": "application/json"}).status_code == 401
    )
    response = anonymous.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/"
