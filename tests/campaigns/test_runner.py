"""The campaign runner: simulated calls, retries, calling hours, DNC, callbacks, pacing,
the breaker, leases, reconciliation and stopping (in-process; the store is real)."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from dialer_kit import (
    FAST,
    LEGAL_HOURS,
    InFlightSampler,
    ScriptedBackend,
    at,
    attempt_rows,
    create_campaign,
    lead_rows,
    report_for,
    run,
    setup_campaign,
    sqlite_url,
    write_deployment,
    write_leads,
    write_script,
)
from sqlalchemy import insert, select, update

from voicekit_core import hookimpl
from voicekit_core.calls import Disposition, utcnow
from voicekit_core.campaigns import repo
from voicekit_core.campaigns.clock import SimulatedClock
from voicekit_core.campaigns.runner import (
    AttemptOutcome,
    CampaignRunner,
    RunnerError,
    RunnerOptions,
    callback_time,
    room_name,
)
from voicekit_core.deployment import load_deployment
from voicekit_core.journal import Journal
from voicekit_core.store.tables import attempts, calls, campaign_events, campaign_leads, campaigns


def setup(tmp_path: Path, count: int, **kwargs):
    """A deployment with ``count`` leads in one campaign; returns (deployment, campaign id,
    phones)."""
    return setup_campaign(tmp_path, count, name="test", **kwargs)


def event_kinds(deployment, campaign_id):
    with deployment.store.read() as db:
        return [
            row.kind
            for row in db.execute(
                select(campaign_events.c.kind).where(campaign_events.c.campaign_id == campaign_id)
            )
        ]


def always(disposition: Disposition, **fields):
    return lambda job: AttemptOutcome(disposition, **fields)


# -- simulated calls ------------------------------------------------------------------------


class EventLog:
    """A plugin recording ``campaign_event`` broadcasts."""

    def __init__(self):
        self.events = []

    @hookimpl
    def campaign_event(self, event, campaign):
        self.events.append((event.kind, campaign.id, event))


def test_simulated_campaign_of_the_example_completes_inside_calling_hours(example_copy: Path):
    log = EventLog()
    deployment = load_deployment(example_copy, extra_plugins=[("event_log", log)])
    campaign_id = create_campaign(deployment, "example", example_copy / "leads.csv")
    clock = SimulatedClock(at("2026-11-24 03:00"), speed=600)  # night in the Americas
    runner = CampaignRunner(deployment, campaign_id, mode="simulated", clock=clock, options=FAST)
    result = run(runner, timeout=90)

    assert result.state == "completed"
    rows = lead_rows(deployment, campaign_id)
    assert {row.state for row in rows} <= {"done", "skipped"}
    assert all(row.state_reason for row in rows if row.state == "skipped")
    dialed = attempt_rows(deployment, campaign_id)
    assert len({a.room_name for a in dialed}) == len(dialed)
    by_lead = {row.id: row for row in rows}
    for attempt in dialed:
        assert attempt.room_name == room_name(campaign_id, attempt.lead_id, attempt.number)
        assert attempt.ended_at is not None
        if attempt.disposition == "vetoed":
            continue
        # calling hours (08:00-21:00) in the lead's own timezone, on the simulated clock
        zone = ZoneInfo(by_lead[attempt.lead_id].timezone)
        local = attempt.started_at.astimezone(zone)
        assert 8 <= local.hour < 21, (attempt.room_name, local)
    assert "deferred" in event_kinds(deployment, campaign_id)
    # the reports the simulated calls journaled are linked to their attempts
    with deployment.store.read() as db:
        linked = db.execute(
            select(calls.c.call_id, calls.c.campaign_id, calls.c.attempt_id).where(
                calls.c.call_id.in_([a.call_id for a in dialed])
            )
        ).all()
    attempt_ids = {a.call_id: str(a.id) for a in dialed}
    answered = [a for a in dialed if a.disposition != "vetoed"]
    assert len(linked) == len(answered) > 5
    assert all(row.campaign_id == campaign_id for row in linked)
    assert all(row.attempt_id == attempt_ids[row.call_id] for row in linked)
    kinds = [kind for kind, cid, _ in log.events if cid == campaign_id]
    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert kinds.count("attempt_ended") == len(dialed)
    assert len({a.disposition for a in answered}) >= 3  # the seeded scripts differ


def test_a_busy_lead_is_retried_after_the_busy_delay_then_answers(tmp_path: Path):
    deployment, campaign_id, _ = setup(
        tmp_path, 1, scripts={0: "busy|answers"}, delays="busy = [10]"
    )
    folder = deployment.config.base_dir
    write_script(folder, "busy", "answer: busy\n")
    write_script(folder, "answers", 'turns: ["Not interested, thanks."]\n')
    clock = SimulatedClock(at("2026-11-24 17:00"), speed=60)
    result = run(
        CampaignRunner(deployment, campaign_id, mode="simulated", clock=clock, options=FAST)
    )

    assert result.state == "completed"
    first, second = attempt_rows(deployment, campaign_id)
    assert (first.disposition, first.sip_status, first.spent) == ("busy", 486, 1)
    assert second.started_at - first.ended_at >= timedelta(minutes=10)
    assert second.disposition == "not_interested"
    (lead,) = lead_rows(deployment, campaign_id)
    assert (lead.state, lead.disposition, lead.attempts) == ("done", "not_interested", 2)


def test_a_voicemail_script_leaves_the_message_and_is_not_retried(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1, scripts={0: "machine"})
    write_script(deployment.config.base_dir, "machine", "answer: voicemail\n")
    run(CampaignRunner(deployment, campaign_id, mode="simulated", options=FAST))

    (attempt,) = attempt_rows(deployment, campaign_id)
    assert attempt.disposition == "voicemail"
    report = deployment.journal.get(attempt.call_id)
    assert report is not None and "please call us back" in report.transcript_text()
    assert report.data["campaign"] == {"id": campaign_id, "attempt_id": str(attempt.id)}
    (lead,) = lead_rows(deployment, campaign_id)
    assert (lead.state, lead.disposition) == ("done", "voicemail")


def test_a_lead_outside_its_calling_hours_is_deferred_to_its_window(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1, scripts={0: "answers"}, hours=LEGAL_HOURS)
    write_script(deployment.config.base_dir, "answers", 'turns: ["Not interested."]\n')
    # Tuesday 06:00 UTC is Monday 22:00 in Los Angeles: the window opens at 08:00 local
    clock = SimulatedClock(at("2026-11-24 06:00"), speed=60)
    run(CampaignRunner(deployment, campaign_id, mode="simulated", clock=clock, options=FAST))

    (attempt,) = attempt_rows(deployment, campaign_id)
    assert attempt.started_at >= at("2026-11-24 16:00")  # 08:00 in Los Angeles
    assert attempt.started_at < at("2026-11-24 16:10")
    events = repo.events(deployment.store, campaign_id, limit=100)
    (deferred,) = [e for e in events if e["kind"] == "deferred"]
    assert deferred["detail"].startswith("calling_hours: outside calling hours")
    assert "2026-11-24 16:00 UTC" in deferred["detail"]


def test_a_do_not_call_lead_is_skipped_with_its_reason_and_never_dialed(tmp_path: Path):
    from voicekit_core.campaigns.dnc import add_dnc

    backend = ScriptedBackend(always(Disposition.QUALIFIED))
    deployment, campaign_id, phones = setup(tmp_path, 3)
    with deployment.store.write() as db:  # listed after the import: the runner checks again
        add_dnc(db, phones[1], reason="asked by email")
    run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))

    assert [job.lead.phone for job in backend.placed] == [phones[0], phones[2]]
    skipped = [row for row in lead_rows(deployment, campaign_id) if row.state == "skipped"]
    assert len(skipped) == 1 and skipped[0].phone == phones[1]
    assert skipped[0].state_reason.startswith("do_not_call")
    assert "asked by email" in skipped[0].state_reason
    assert not [a for a in attempt_rows(deployment, campaign_id) if a.phone == phones[1]]


def test_a_callback_request_is_redialed_at_the_time_asked(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1)
    clock = SimulatedClock(at("2026-11-24 17:00"), speed=60)
    asked = at("2026-11-26 19:30")

    def outcome(job):
        if job.attempt.number == 1:
            return AttemptOutcome(
                Disposition.CALLBACK_REQUESTED, "call me Thursday", callback_at=asked
            )
        return AttemptOutcome(Disposition.MEETING_BOOKED)

    runner = CampaignRunner(
        deployment, campaign_id, backend=ScriptedBackend(outcome), clock=clock, options=FAST
    )
    run(runner)
    first, second = attempt_rows(deployment, campaign_id)
    assert first.disposition == "callback_requested"
    assert asked <= second.started_at < asked + timedelta(minutes=5)
    (lead,) = lead_rows(deployment, campaign_id)
    assert (lead.state, lead.disposition, lead.callback_at) == ("done", "meeting_booked", asked)


def test_callback_time_is_read_from_the_report_data():
    report = report_for("c1", "+14155550100", Disposition.CALLBACK_REQUESTED)
    assert callback_time(report) is None
    report.data = {"callback": {"at": "2026-11-26T14:30:00-05:00"}}
    assert callback_time(report) == at("2026-11-26 19:30")
    report.data = {"callback_at": "2026-11-26T19:30:00Z"}
    assert callback_time(report) == at("2026-11-26 19:30")
    report.data = {"callback_at": "2026-11-26T19:30:00"}  # no offset: not trusted
    assert callback_time(report) is None


def test_carrier_capacity_refusals_requeue_without_spending_an_attempt(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1, max_attempts=1)

    def outcome(job):
        if job.attempt.number <= 2:
            return AttemptOutcome(Disposition.FAILED, "SIP 503", sip_status=503)
        return AttemptOutcome(Disposition.QUALIFIED)

    run(CampaignRunner(deployment, campaign_id, backend=ScriptedBackend(outcome), options=FAST))
    rows = attempt_rows(deployment, campaign_id)
    assert [(a.disposition, a.spent) for a in rows] == [
        ("failed", 0),
        ("failed", 0),
        ("qualified", 1),
    ]
    (lead,) = lead_rows(deployment, campaign_id)
    assert (lead.state, lead.disposition, lead.attempts, lead.capacity_requeues) == (
        "done",
        "qualified",
        1,
        0,
    )


# -- pacing -----------------------------------------------------------------------------------


def test_concurrency_caps_hold_across_campaigns_sharing_a_trunk(tmp_path: Path):
    url = sqlite_url(tmp_path)
    folder = write_deployment(
        tmp_path / "deployment",
        url,
        campaign_concurrency=3,
        trunk_concurrency=5,
        reserve_for_inbound=1,
    )
    deployment = load_deployment(folder)
    write_leads(tmp_path / "a.csv", 30)
    write_leads(tmp_path / "b.csv", 30, start=100)
    first = create_campaign(deployment, "a", tmp_path / "a.csv")
    second = create_campaign(deployment, "b", tmp_path / "b.csv")

    async def both():
        runners = [
            CampaignRunner(
                deployment,
                campaign,
                backend=ScriptedBackend(always(Disposition.QUALIFIED), delay=0.03),
                options=RunnerOptions(
                    lease_seconds=3, tick_seconds=0.02, seed=1, owner=f"dialer-{campaign}"
                ),
            )
            for campaign in (first, second)
        ]
        return await asyncio.gather(*(r.run() for r in runners))

    with InFlightSampler(url, interval=0.002) as sampler:
        results = asyncio.run(asyncio.wait_for(both(), 60))
    assert [r.state for r in results] == ["completed", "completed"]
    assert 3 <= sampler.peak <= 4  # trunk 5 minus 1 reserved for inbound
    assert len(attempt_rows(deployment, first)) == 30


def test_calls_per_second_space_the_attempts(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 12, cps=20, burst=1, campaign_concurrency=10)
    start = time.monotonic()
    run(
        CampaignRunner(
            deployment,
            campaign_id,
            backend=ScriptedBackend(always(Disposition.QUALIFIED)),
            options=FAST,
        )
    )
    starts = [a.started_at for a in attempt_rows(deployment, campaign_id)]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.045
    assert time.monotonic() - start >= 11 * 0.05


def test_the_breaker_pauses_the_campaign_with_its_reason_and_resume_continues(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 20, trunk_errors=3, campaign_concurrency=1)
    failing = {"on": True}

    def outcome(job):
        if failing["on"]:
            return AttemptOutcome(
                Disposition.FAILED, "SIP 500 Server Internal Error", sip_status=500
            )
        return AttemptOutcome(Disposition.QUALIFIED)

    async def scenario():
        runner = CampaignRunner(
            deployment, campaign_id, backend=ScriptedBackend(outcome), options=FAST
        )
        task = asyncio.create_task(runner.run())
        while repo.find_campaign(deployment.store, campaign_id).state != "paused":
            await asyncio.sleep(0.02)
        paused = repo.find_campaign(deployment.store, campaign_id)
        dialed = len(attempt_rows(deployment, campaign_id))
        await asyncio.sleep(0.3)
        assert len(attempt_rows(deployment, campaign_id)) == dialed  # nothing while paused
        failing["on"] = False
        with deployment.store.write() as db:
            repo.set_state(db, campaign_id, "running", "resumed by hand")
        return paused, dialed, await task

    paused, dialed, result = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert paused.state_reason.startswith("circuit breaker: 3 consecutive trunk errors")
    assert "SIP 500" in paused.state_reason
    assert dialed == 3
    assert result.state == "completed"
    assert "paused" in event_kinds(deployment, campaign_id)


# -- pause / cancel / stop ---------------------------------------------------------------------


def test_pause_resume_and_cancel_are_noticed_within_a_second(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 400, campaign_concurrency=2)
    backend = ScriptedBackend(always(Disposition.NOT_INTERESTED), delay=0.05)

    def set_state(state):
        with deployment.store.write() as db:
            repo.set_state(db, campaign_id, state, f"{state} by test")
        return time.monotonic()

    async def scenario():
        runner = CampaignRunner(deployment, campaign_id, backend=backend, options=FAST)
        task = asyncio.create_task(runner.run())
        while len(backend.placed) < 5:
            await asyncio.sleep(0.01)
        paused_at = set_state("paused")
        await asyncio.sleep(1.0)
        last_start = max(job.attempt.started_at for job in backend.placed)
        count = len(backend.placed)
        await asyncio.sleep(0.5)
        assert len(backend.placed) == count  # quiet while paused
        set_state("running")
        while len(backend.placed) < count + 5:
            await asyncio.sleep(0.01)
        canceled_at = set_state("canceled")
        result = await task
        return paused_at, last_start, canceled_at, time.monotonic(), result

    _paused_at, _last_start, canceled_at, ended, result = asyncio.run(
        asyncio.wait_for(scenario(), 30)
    )
    assert result.state == "canceled"
    assert ended - canceled_at < 1.0
    rows = lead_rows(deployment, campaign_id)
    assert {row.state for row in rows} == {"done", "canceled"}
    assert not [row for row in rows if row.lease_owner]
    assert all(a.ended_at is not None for a in attempt_rows(deployment, campaign_id))


def test_stop_lets_calls_in_flight_finish(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 10, campaign_concurrency=3)
    backend = ScriptedBackend(always(Disposition.QUALIFIED), delay=0.3)

    async def scenario():
        runner = CampaignRunner(deployment, campaign_id, backend=backend, options=FAST)
        task = asyncio.create_task(runner.run())
        while len(backend.placed) < 3:
            await asyncio.sleep(0.01)
        runner.stop()
        return await task

    result = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert result.stopped and result.state == "running"
    states = [row.state for row in lead_rows(deployment, campaign_id)]
    assert states.count("done") == 3 and states.count("pending") == 7
    with deployment.store.read() as db:
        owner = db.execute(select(campaigns.c.runner_owner)).scalar()
    assert owner is None  # the runner lease is given back


def test_abort_cancels_calls_and_releases_their_leads_for_reconciliation(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 6, campaign_concurrency=3)
    backend = ScriptedBackend(always(Disposition.QUALIFIED), delay=30)

    async def scenario():
        runner = CampaignRunner(deployment, campaign_id, backend=backend, options=FAST)
        task = asyncio.create_task(runner.run())
        while len(backend.placed) < 3:
            await asyncio.sleep(0.01)
        runner.abort()
        return await task

    asyncio.run(asyncio.wait_for(scenario(), 10))
    rows = lead_rows(deployment, campaign_id)
    in_flight = [row for row in rows if row.state == "dialing"]
    assert len(in_flight) == 3  # the calls may exist: left for reconciliation...
    assert all(row.lease_expires_at < utcnow() for row in in_flight)  # ...with expired leases
    # the next runner reconciles them (no room left: failed, retried with a new room)
    second = ScriptedBackend(always(Disposition.QUALIFIED))
    run(CampaignRunner(deployment, campaign_id, backend=second, options=FAST))
    rooms = [a.room_name for a in attempt_rows(deployment, campaign_id)]
    assert len(rooms) == len(set(rooms)) == 9
    assert {row.state for row in lead_rows(deployment, campaign_id)} == {"done"}


def test_a_canceled_campaign_cannot_run(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1)
    with deployment.store.write() as db:
        repo.set_state(db, campaign_id, "canceled", "test")
    with pytest.raises(RunnerError, match="is canceled"):
        run(
            CampaignRunner(
                deployment, campaign_id, backend=ScriptedBackend(always(Disposition.QUALIFIED))
            )
        )


# -- leases and reconciliation ----------------------------------------------------------------


def test_one_runner_at_a_time_the_second_takes_over_when_the_first_leaves(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 8, campaign_concurrency=1)
    a = ScriptedBackend(always(Disposition.QUALIFIED), delay=0.05)
    b = ScriptedBackend(always(Disposition.QUALIFIED), delay=0.05)

    async def scenario():
        first = CampaignRunner(deployment, campaign_id, backend=a, options=_owner("A"))
        second = CampaignRunner(deployment, campaign_id, backend=b, options=_owner("B"))
        task_a = asyncio.create_task(first.run())
        while len(a.placed) < 2:
            await asyncio.sleep(0.01)
        task_b = asyncio.create_task(second.run())
        await asyncio.sleep(0.3)
        assert first.holding_lease and not second.holding_lease and not b.placed
        first.stop()
        await task_a
        return await task_b

    result = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert result.state == "completed"
    assert a.placed and b.placed
    assert len(a.placed) + len(b.placed) == 8


def test_an_expired_runner_lease_of_a_dead_dialer_is_taken_over(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 2)
    with deployment.store.write() as db:
        db.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id)
            .values(runner_owner="dead:1:x", runner_expires_at=utcnow() + timedelta(seconds=1))
        )
    started = time.monotonic()
    run(
        CampaignRunner(
            deployment,
            campaign_id,
            backend=ScriptedBackend(always(Disposition.QUALIFIED)),
            options=FAST,
        )
    )
    assert time.monotonic() - started >= 0.8  # waited for the lease to expire


def _owner(name: str) -> RunnerOptions:
    return RunnerOptions(lease_seconds=3, tick_seconds=0.05, seed=1, owner=name)


def _strand(deployment, campaign_id: str, lead_id: int, *, number: int | None) -> str | None:
    """Leave lead ``lead_id`` as a dead dialer would: ``dialing`` with an expired lease and,
    with ``number``, an open attempt. Returns the attempt's room."""
    past = utcnow() - timedelta(seconds=5)
    with deployment.store.write() as db:
        db.execute(
            update(campaign_leads)
            .where(campaign_leads.c.id == lead_id)
            .values(state="dialing", lease_owner="dead:1:x", lease_expires_at=past)
        )
        if number is None:
            return None
        room = room_name(campaign_id, lead_id, number)
        phone = db.execute(
            select(campaign_leads.c.phone).where(campaign_leads.c.id == lead_id)
        ).scalar()
        db.execute(
            insert(attempts).values(
                campaign_id=campaign_id,
                lead_id=lead_id,
                number=number,
                phone=phone,
                room_name=room,
                call_id=room,
                owner="dead:1:x",
                started_at=past,
                detail="",
                spent=1,
            )
        )
    return room


def test_reconcile_applies_the_journaled_outcome_without_dialing_again(tmp_path: Path, store_url):
    deployment, campaign_id, phones = setup(tmp_path, 1, store_url=store_url)
    (lead,) = lead_rows(deployment, campaign_id)
    room = _strand(deployment, campaign_id, lead.id, number=1)
    Journal(deployment.store).record_call(
        report_for(room, phones[0], Disposition.MEETING_BOOKED), []
    )
    backend = ScriptedBackend(always(Disposition.FAILED))
    run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))

    assert backend.placed == []
    (attempt,) = attempt_rows(deployment, campaign_id)
    assert (attempt.room_name, attempt.disposition) == (room, "meeting_booked")
    assert attempt.detail.startswith("reconciled")
    (lead,) = lead_rows(deployment, campaign_id)
    assert (lead.state, lead.disposition, lead.attempts) == ("done", "meeting_booked", 1)


def test_reconcile_without_a_report_or_a_room_fails_the_attempt_and_redials_a_new_room(
    tmp_path: Path, store_url
):
    deployment, campaign_id, _ = setup(tmp_path, 1, store_url=store_url)
    (lead,) = lead_rows(deployment, campaign_id)
    room = _strand(deployment, campaign_id, lead.id, number=1)
    backend = ScriptedBackend(always(Disposition.QUALIFIED), room_exists=False)
    run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))

    first, second = attempt_rows(deployment, campaign_id)
    assert first.room_name == room and first.disposition == "failed"
    assert "outcome unknown" in first.detail
    assert [job.attempt.room_name for job in backend.placed] == [second.room_name]
    assert second.room_name == room_name(campaign_id, lead.id, 2)


def test_reconcile_waits_for_a_call_whose_room_still_exists(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1)
    (lead,) = lead_rows(deployment, campaign_id)
    _strand(deployment, campaign_id, lead.id, number=1)
    backend = ScriptedBackend(
        always(Disposition.FAILED),
        room_exists=True,
        adopted=AttemptOutcome(Disposition.NOT_INTERESTED, "the adopted call ended"),
    )
    run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))
    assert backend.placed == [] and len(backend.adopted_jobs) == 1
    (lead,) = lead_rows(deployment, campaign_id)
    assert (lead.state, lead.disposition) == ("done", "not_interested")


def test_reconcile_releases_a_claimed_lead_that_was_never_dialed(tmp_path: Path, store_url):
    deployment, campaign_id, _ = setup(tmp_path, 1, store_url=store_url)
    (lead,) = lead_rows(deployment, campaign_id)
    _strand(deployment, campaign_id, lead.id, number=None)
    backend = ScriptedBackend(always(Disposition.QUALIFIED))
    run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))
    (attempt,) = attempt_rows(deployment, campaign_id)
    assert attempt.number == 1 and attempt.disposition == "qualified"
    assert "reconciled" in event_kinds(deployment, campaign_id)


def test_claims_never_exceed_the_caps_on_both_stores(tmp_path: Path, store_url):
    deployment, campaign_id, _ = setup(
        tmp_path, 40, store_url=store_url, campaign_concurrency=4, trunk_concurrency=10
    )
    backend = ScriptedBackend(always(Disposition.QUALIFIED), delay=0.02)
    with InFlightSampler(store_url, interval=0.002) as sampler:
        result = run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))
    assert result.state == "completed" and result.attempts == 40
    assert 2 <= sampler.peak <= 4


def test_a_simulated_clock_jumps_when_idle_and_resumes_where_it_was(tmp_path: Path):
    deployment, campaign_id, _ = setup(tmp_path, 1, delays="no_answer = [1440]", max_attempts=2)
    clock = SimulatedClock(at("2026-11-24 17:00"), speed=1)
    started = time.monotonic()
    run(
        CampaignRunner(
            deployment,
            campaign_id,
            backend=ScriptedBackend(always(Disposition.NO_ANSWER)),
            clock=clock,
            options=FAST,
        )
    )
    assert time.monotonic() - started < 5  # a day of waiting, skipped
    first, second = attempt_rows(deployment, campaign_id)
    assert second.started_at - first.started_at >= timedelta(days=1)
    assert clock.now() >= at("2026-11-25 17:00")
    resumed = CampaignRunner(deployment, campaign_id, mode="simulated", options=FAST)
    assert resumed.clock.now() >= second.started_at


def test_clock_rejects_bad_values():
    with pytest.raises(ValueError, match="speed"):
        SimulatedClock(speed=0)
    with pytest.raises(ValueError, match="aware"):
        SimulatedClock(datetime(2026, 1, 1))
    clock = SimulatedClock(datetime(2026, 1, 1, tzinfo=timezone.utc), speed=3600)
    assert not clock.jump_to(datetime(2025, 1, 1, tzinfo=timezone.utc))
    assert clock.real_seconds(3600) == 1


def test_paced_simulated_calls_ring_and_speak_in_campaign_time(tmp_path: Path):
    from voicekit_core.campaigns.simulated import (
        RING_SECONDS,
        SimulatedAttempts,
        speaking_seconds,
    )
    from voicekit_core.simulate import load_script

    deployment, campaign_id, _ = setup(tmp_path, 1, scripts={0: "talker"})
    write_script(
        deployment.config.base_dir,
        "talker",
        "turns:\n  - Yes, speaking.\n  - Not interested, thanks.\n",
    )
    waits: list[float] = []

    async def sleep(campaign_seconds: float) -> None:
        waits.append(campaign_seconds)

    runner = CampaignRunner(deployment, campaign_id, mode="simulated", options=FAST)
    backend = SimulatedAttempts(
        deployment, trunk_id=f"simulated:{campaign_id}", seed=7, clock=runner.clock.now, sleep=sleep
    )
    runner._backend = backend
    run(runner)

    script = load_script(deployment.config.base_dir / "scripts" / "talker.yaml")
    lines = [step.caller for step in script.steps() if step.caller]
    assert waits[0] == RING_SECONDS
    assert waits[1:] == [speaking_seconds(line) for line in lines][: len(waits) - 1]
    assert len(waits) >= 2
    paced = CampaignRunner(
        deployment, campaign_id, mode="simulated", options=RunnerOptions(simulated_pace=True)
    )
    assert paced.backend.sleep is not None
    assert CampaignRunner(deployment, campaign_id, mode="simulated").backend.sleep is None
