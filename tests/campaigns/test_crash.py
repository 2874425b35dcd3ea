"""Crash safety: dialer processes SIGKILLed at random points during a 200-lead live
campaign against the fake LiveKit. After the restarts every lead is final, no room was
dialed twice, every dialed room was recorded first, and nothing was skipped silently."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from dialer_kit import (
    FakeWorker,
    create_campaign,
    start_dialer,
    wait_for,
    write_deployment,
    write_leads,
)
from sqlalchemy import select

from voicekit_core.calls import Disposition
from voicekit_core.campaigns import repo
from voicekit_core.deployment import load_deployment
from voicekit_core.store.tables import attempts, campaign_leads, campaigns

LEADS = 200
KILLS = 20
OPTIONS = {"report_timeout_seconds": 1.0, "max_call_seconds": 2.0, "seed": 5}


def runner_owner(deployment, campaign_id: str) -> str | None:
    with deployment.store.read() as db:
        return db.execute(
            select(campaigns.c.runner_owner).where(campaigns.c.id == campaign_id)
        ).scalar()


def test_sigkilled_dialers_never_dial_a_room_twice_and_every_lead_ends(
    tmp_path: Path, fake_livekit
):
    fake = fake_livekit
    rng = random.Random(10)
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    folder = write_deployment(
        tmp_path / "deployment", url, livekit=fake, campaign_concurrency=8, trunk_concurrency=10
    )
    phones = write_leads(tmp_path / "leads.csv", LEADS)
    for index, phone in enumerate(phones):
        if index % 10 == 0:
            fake.dial_failures[phone] = (486, "Busy Here")
        elif index % 10 == 1:
            fake.dial_failures[phone] = (480, "Temporarily Unavailable")
        elif index % 10 == 2:
            fake.dial_delays[phone] = 0.3  # a slow pick-up
    asked: set[str] = set()

    def disposition(phone: str) -> Disposition:
        if phones.index(phone) % 7 == 3 and phone not in asked:
            asked.add(phone)
            return Disposition.CALLBACK_REQUESTED
        return rng.choice(
            [Disposition.QUALIFIED, Disposition.NOT_INTERESTED, Disposition.MEETING_BOOKED]
        )

    FakeWorker(
        fake,
        url,
        disposition=disposition,
        duration=lambda phone: rng.choice([0.0, 0.1, 0.3]),
        data=lambda phone: {"callback_at": "2026-01-01T00:00:00Z"},
    )
    deployment = load_deployment(folder)
    campaign_id = create_campaign(deployment, "crash", tmp_path / "leads.csv")

    dialer = start_dialer(folder, campaign_id, lease_seconds=1.0, **OPTIONS)
    kills = 0
    owners: list[str] = []
    try:
        while kills < KILLS:
            # wait until this dialer holds the campaign, let it work a little, then kill it
            wait_for(
                lambda: (
                    (owner := runner_owner(deployment, campaign_id)) is not None
                    and owner not in owners
                ),
                30,
                "a new dialer to take the campaign over",
            )
            owners.append(runner_owner(deployment, campaign_id) or "")
            time.sleep(rng.uniform(0.05, 0.8))
            if not dialer.is_alive():
                break  # it finished the campaign before its kill
            dialer.kill()  # SIGKILL: no finally, no lease released
            dialer.join(5)
            kills += 1
            dialer = start_dialer(folder, campaign_id, lease_seconds=1.0, **OPTIONS)
        dialer.join(120)
        assert dialer.exitcode == 0, dialer.exitcode
    finally:
        if dialer.is_alive():
            dialer.kill()

    assert kills >= KILLS - 2  # the campaign outlived (nearly) every planned kill
    assert repo.find_campaign(deployment.store, campaign_id).state == "completed"
    with deployment.store.read() as db:
        leads = db.execute(
            select(campaign_leads).where(campaign_leads.c.campaign_id == campaign_id)
        ).all()
        tried = db.execute(select(attempts).where(attempts.c.campaign_id == campaign_id)).all()
    assert {lead.state for lead in leads} <= {"done", "skipped"}
    assert all(lead.state_reason for lead in leads if lead.state == "skipped")
    assert all(lead.lease_owner is None for lead in leads)
    # no room name dialed twice, and every dialed room was recorded before dialing
    dialed = Counter(r.request.room_name for r in fake.calls("CreateSIPParticipant"))
    assert dialed and max(dialed.values()) == 1
    assert set(dialed) <= {a.room_name for a in tried}
    assert all(a.ended_at is not None and a.disposition for a in tried)
    assert max(lead.attempts for lead in leads) <= 3
    kinds = Counter(e["kind"] for e in repo.events(deployment.store, campaign_id, limit=100_000))
    assert kinds["runner"] >= kills  # every dialer took the lease over...
    assert kinds["reconciled"] + sum(1 for a in tried if a.detail.startswith("reconciled")) > 0
