"""Live campaigns against the fake LiveKit server: telephony.dial() for every attempt,
busy / no-answer / 503 / slow answers injected, the worker played by journaling reports."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from dialer_kit import FakeWorker, create_campaign, report_for, write_deployment, write_leads
from sqlalchemy import select, update

from voicekit_core.calls import Disposition, utcnow
from voicekit_core.campaigns import repo
from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions, room_name
from voicekit_core.deployment import load_deployment
from voicekit_core.journal import Journal
from voicekit_core.store.tables import attempts, calls, campaign_leads
from voicekit_core.testing_livekit import FakeLiveKit

OPTIONS = RunnerOptions(
    lease_seconds=3,
    tick_seconds=0.05,
    poll_seconds=0.02,
    report_timeout_seconds=0.5,
    max_call_seconds=1.5,
    seed=3,
)


def setup(tmp_path: Path, fake: FakeLiveKit, count: int, **config):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    folder = write_deployment(tmp_path / "deployment", url, livekit=fake, **config)
    phones = write_leads(tmp_path / "leads.csv", count)
    deployment = load_deployment(folder)
    return deployment, create_campaign(deployment, "live", tmp_path / "leads.csv"), phones, url


def rows(deployment, table, campaign_id):
    with deployment.store.read() as db:
        return db.execute(
            select(table).where(table.c.campaign_id == campaign_id).order_by(table.c.id)
        ).all()


def test_live_attempts_against_the_fake_livekit(tmp_path: Path, fake_livekit: FakeLiveKit):
    fake = fake_livekit
    deployment, campaign_id, phones, url = setup(tmp_path, fake, 7, max_attempts=2)
    busy, no_answer, capacity, slow, answered, callback, declined = phones
    fake.dial_failures[busy] = (486, "Busy Here")
    fake.dial_failures[no_answer] = (480, "Temporarily Unavailable")
    fake.dial_failures[capacity] = (503, "Service Unavailable")
    fake.dial_failures[declined] = (603, "Decline")
    fake.dial_delays[slow] = 0.4
    soon = "2026-01-01T00:00:00+00:00"  # in the past: redial at once
    asked: list[str] = []

    def disposition(phone: str) -> Disposition:
        if phone == callback and phone not in asked:
            asked.append(phone)
            return Disposition.CALLBACK_REQUESTED
        return Disposition.QUALIFIED

    worker = FakeWorker(
        fake,
        url,
        disposition=disposition,
        duration=lambda p: 0.2 if p == answered else 0.0,
        data=lambda p: {"callback": {"at": soon}} if p == callback else {},
    )

    async def scenario():
        runner = CampaignRunner(deployment, campaign_id, options=OPTIONS)
        task = asyncio.create_task(runner.run())
        # the carrier is out of capacity for a while, then recovers
        while (
            len(
                [r for r in fake.calls("CreateSIPParticipant") if r.request.sip_call_to == capacity]
            )
            < 2
        ):
            await asyncio.sleep(0.02)
        del fake.dial_failures[capacity]
        return await asyncio.wait_for(task, 30)

    result = asyncio.run(scenario())
    assert result.state == "completed"
    leads = {row.phone: row for row in rows(deployment, campaign_leads, campaign_id)}
    assert (leads[busy].disposition, leads[busy].attempts) == ("busy", 2)
    assert (leads[no_answer].disposition, leads[no_answer].attempts) == ("no_answer", 2)
    assert (leads[declined].disposition, leads[declined].attempts) == ("declined", 1)
    assert leads[capacity].disposition == "qualified" and leads[capacity].attempts == 1
    assert leads[slow].disposition == "qualified"
    assert leads[answered].disposition == "qualified"
    assert (leads[callback].disposition, leads[callback].attempts) == ("qualified", 2)
    tried = rows(deployment, attempts, campaign_id)
    requeued = [a for a in tried if a.phone == capacity and a.spent == 0]
    assert len(requeued) >= 2 and all(a.sip_status == 503 for a in requeued)
    # every room dialed once, named vk-<campaign>-<lead>-<n>, and recorded before dialing
    dialed = [r.request.room_name for r in fake.calls("CreateSIPParticipant")]
    assert sorted(dialed) == sorted(a.room_name for a in tried)
    assert len(set(dialed)) == len(dialed)
    # job metadata carries the campaign and attempt; the worker's reports are linked
    for dispatch in fake.dispatches:
        meta = json.loads(dispatch.metadata)
        attempt = next(a for a in tried if a.room_name == dispatch.room)
        assert (meta["campaign_id"], meta["attempt_id"]) == (campaign_id, str(attempt.id))
        assert (
            meta["call_id"]
            == dispatch.room
            == room_name(campaign_id, attempt.lead_id, attempt.number)
        )
    assert {(cid, campaign) for cid, campaign, _ in worker.journaled} == {
        (a.room_name, campaign_id)
        for a in tried
        if a.disposition in ("qualified", "callback_requested")
    }
    with deployment.store.read() as db:
        linked = db.execute(
            select(calls.c.campaign_id, calls.c.attempt_id).where(
                calls.c.call_id == requeued[0].room_name
            )
        ).first()
    assert linked is not None  # unanswered calls are journaled by dial() too


def test_livekit_answering_503_pauses_the_campaign_with_the_reason(
    tmp_path: Path, fake_livekit: FakeLiveKit
):
    fake = fake_livekit
    deployment, campaign_id, _, _ = setup(
        tmp_path, fake, 10, trunk_errors=3, campaign_concurrency=1
    )
    fake.http_failure = (503, "upstream connect error")

    async def scenario():
        runner = CampaignRunner(deployment, campaign_id, options=OPTIONS)
        task = asyncio.create_task(runner.run())
        while repo.find_campaign(deployment.store, campaign_id).state != "paused":
            await asyncio.sleep(0.02)
        runner.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(asyncio.wait_for(scenario(), 30))
    campaign = repo.find_campaign(deployment.store, campaign_id)
    assert campaign.state_reason.startswith("circuit breaker: 3 consecutive trunk errors")
    tried = rows(deployment, attempts, campaign_id)
    assert len(tried) == 3 and all(a.spent == 0 for a in tried)  # never rang: not spent
    assert all("503" in a.detail for a in tried)


def test_an_answered_call_that_never_reports_back_is_hung_up_and_failed(
    tmp_path: Path, fake_livekit: FakeLiveKit
):
    fake = fake_livekit
    deployment, campaign_id, _, _ = setup(tmp_path, fake, 1, max_attempts=1)
    result = asyncio.run(
        asyncio.wait_for(CampaignRunner(deployment, campaign_id, options=OPTIONS).run(), 20)
    )
    assert result.state == "completed"
    (attempt,) = rows(deployment, attempts, campaign_id)
    assert attempt.disposition == "failed"
    assert "no final report after 1.5 s; hung up" in attempt.detail
    assert [r.request.room for r in fake.calls("DeleteRoom")] == [attempt.room_name]


def test_a_call_whose_room_is_gone_without_a_report_fails_at_the_report_timeout(
    tmp_path: Path, fake_livekit: FakeLiveKit
):
    fake = fake_livekit
    deployment, campaign_id, _, _ = setup(tmp_path, fake, 1, max_attempts=1)
    fake.on_answer = lambda request: fake.rooms.pop(request.room_name, None)
    asyncio.run(
        asyncio.wait_for(CampaignRunner(deployment, campaign_id, options=OPTIONS).run(), 20)
    )
    (attempt,) = rows(deployment, attempts, campaign_id)
    assert attempt.disposition == "failed"
    assert "never reported back" in attempt.detail


def test_a_takeover_asks_livekit_and_waits_for_a_call_still_running(
    tmp_path: Path, fake_livekit: FakeLiveKit
):
    """A dialer died while its call was live: the next one finds the room on LiveKit, does
    not dial again, and applies the report the worker journals when the call ends."""
    from livekit import api

    fake = fake_livekit
    deployment, campaign_id, phones, _url = setup(tmp_path, fake, 1)
    (lead,) = rows(deployment, campaign_leads, campaign_id)
    room = room_name(campaign_id, lead.id, 1)
    past = utcnow()
    with deployment.store.write() as db:
        db.execute(
            update(campaign_leads)
            .where(campaign_leads.c.id == lead.id)
            .values(state="in_call", lease_owner="dead:1:x", lease_expires_at=past)
        )
        db.execute(
            attempts.insert().values(
                campaign_id=campaign_id,
                lead_id=lead.id,
                number=1,
                phone=phones[0],
                room_name=room,
                call_id=room,
                owner="dead:1:x",
                started_at=past,
                detail="",
                spent=1,
            )
        )
    fake.rooms[room] = api.Room(name=room, sid="RM_live")

    async def scenario():
        task = asyncio.create_task(CampaignRunner(deployment, campaign_id, options=OPTIONS).run())
        await asyncio.sleep(0.3)
        Journal(deployment.store).record_call(
            report_for(room, phones[0], Disposition.MEETING_BOOKED), []
        )
        return await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert fake.calls("CreateSIPParticipant") == []
    assert [r.request.names for r in fake.calls("ListRooms")] == [[room]]
    (attempt,) = rows(deployment, attempts, campaign_id)
    assert attempt.disposition == "meeting_booked"
    (lead,) = rows(deployment, campaign_leads, campaign_id)
    assert (lead.state, lead.disposition) == ("done", "meeting_booked")


def test_job_metadata_links_the_worker_report_to_the_attempt():
    from voicekit_core.telephony.metadata import JobMetadata, parse_job_metadata
    from voicekit_core.worker import campaign_link

    raw = JobMetadata(
        phone="+14155550100", call_id="vk-c1-7-2", campaign_id="c1", attempt_id="41"
    ).to_json()
    meta = parse_job_metadata(raw)
    assert campaign_link(meta) == {"id": "c1", "attempt_id": "41"}
    assert campaign_link(parse_job_metadata(JobMetadata(phone="+14155550100").to_json())) is None
