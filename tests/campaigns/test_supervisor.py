"""The campaign supervisor (`voicekit campaign serve`): picks up campaigns set running
elsewhere, runs them to completion, shares campaigns with other supervisors through the
runner lease, isolates failures, idles cheaply, stops gracefully."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

from click.testing import CliRunner
from dialer_kit import (
    ScriptedBackend,
    attempt_rows,
    create_campaign,
    setup_campaign,
    voicekit_process,
    wait_for,
    write_leads,
    write_script,
)
from sqlalchemy import func, select

from voicekit_core.calls import Disposition
from voicekit_core.campaigns import repo
from voicekit_core.campaigns.runner import AttemptOutcome, CampaignRunner, RunnerOptions
from voicekit_core.campaigns.supervisor import CampaignSupervisor
from voicekit_core.cli import build_cli
from voicekit_core.store.tables import campaign_events

POLL = 0.05


def options(owner: str) -> RunnerOptions:
    return RunnerOptions(lease_seconds=3, tick_seconds=0.05, poll_seconds=0.02, seed=3, owner=owner)


def setup(tmp_path: Path, count: int = 3, **kwargs):
    """A deployment with a campaign of ``count`` leads; returns (deployment, campaign id)."""
    return setup_campaign(tmp_path, count, **kwargs)[:2]


def set_running(deployment, campaign_id: str) -> None:
    with deployment.store.write() as db:
        repo.set_state(db, campaign_id, "running", "started by the test")


def state(deployment, campaign_id: str) -> str:
    return repo.find_campaign(deployment.store, campaign_id).state


async def until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def scripted_factory(backends: list, *, owner: str, delay: float = 0.02, outcome=None):
    """A runner factory whose runners place attempts on scripted backends (kept in
    ``backends``)."""

    def factory(deployment, campaign_id):
        backend = ScriptedBackend(
            outcome or (lambda job: AttemptOutcome(Disposition.QUALIFIED)), delay=delay
        )
        backends.append(backend)
        return CampaignRunner(deployment, campaign_id, backend=backend, options=options(owner))

    return factory


def scripted_supervisor(
    deployment, backends: list, *, owner: str = "sup-a", delay: float, **kwargs
) -> CampaignSupervisor:
    """A supervisor ``owner`` polling every POLL seconds whose runners place attempts on
    scripted backends (kept in ``backends``) that take ``delay`` seconds."""
    return CampaignSupervisor(
        deployment,
        poll_seconds=POLL,
        options=options(owner),
        runner_factory=scripted_factory(backends, owner=owner, delay=delay),
        **kwargs,
    )


def simulated_supervisor(deployment, **kwargs) -> CampaignSupervisor:
    """A supervisor "sup-a" of simulated calls at 1000x, polling every POLL seconds."""
    return CampaignSupervisor(
        deployment,
        mode="simulated",
        options=options("sup-a"),
        speed=1000,
        poll_seconds=POLL,
        **kwargs,
    )


async def run_until_placed(supervisor, deployment, campaign_id: str, backends: list, calls: int):
    """Start ``supervisor``, set the campaign running and wait until its first runner has
    placed ``calls`` calls; returns the task of ``supervisor.run()``."""
    task = asyncio.create_task(supervisor.run())
    set_running(deployment, campaign_id)
    await until(lambda: backends and len(backends[0].placed) == calls, 10, f"{calls} calls")
    return task


def test_a_campaign_set_running_later_is_picked_up_and_run_to_completion(tmp_path: Path):
    deployment, campaign_id = setup(tmp_path, 2, scripts={0: "answers", 1: "answers"})
    write_script(deployment.config.base_dir, "answers", 'turns: ["Not interested, thanks."]\n')
    supervisor = simulated_supervisor(deployment)
    events = []
    supervisor.on_event(events.append)

    async def scenario():
        task = asyncio.create_task(supervisor.run())
        await asyncio.sleep(POLL * 4)
        assert supervisor.campaigns == {}  # a draft is not dialed
        assert attempt_rows(deployment, campaign_id) == []
        set_running(deployment, campaign_id)  # e.g. `voicekit campaign start` elsewhere
        await until(lambda: state(deployment, campaign_id) == "completed", 60, "completion")
        await until(lambda: not supervisor.campaigns, 5, "the runner to be forgotten")
        supervisor.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    dialed = attempt_rows(deployment, campaign_id)
    assert len(dialed) == 2 and {a.disposition for a in dialed} == {"not_interested"}
    assert {a.owner for a in dialed} == {"sup-a"}
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "completed"
    assert kinds.count("attempt_ended") == 2


def test_two_supervisors_never_dial_a_lead_twice(tmp_path: Path, store_url: str):
    deployment, first = setup(tmp_path, 12, campaign_concurrency=3, store_url=store_url)
    second = create_campaign(deployment, "autumn", tmp_path / "leads.csv")
    backends_a: list = []
    backends_b: list = []
    supervisors = [
        scripted_supervisor(deployment, backends, owner=owner, delay=0.03)
        for owner, backends in (("sup-a", backends_a), ("sup-b", backends_b))
    ]

    async def scenario():
        tasks = [asyncio.create_task(s.run()) for s in supervisors]
        set_running(deployment, first)
        set_running(deployment, second)
        for campaign_id in (first, second):
            await until(lambda c=campaign_id: state(deployment, c) == "completed", 30, campaign_id)
        await until(lambda: not any(s.campaigns for s in supervisors), 5, "idle supervisors")
        for supervisor in supervisors:
            supervisor.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    asyncio.run(scenario())
    for campaign_id in (first, second):
        dialed = attempt_rows(deployment, campaign_id)
        assert len(dialed) == 12
        assert len({a.lead_id for a in dialed}) == 12  # every lead once
        assert {a.number for a in dialed} == {1}
        assert len({a.owner for a in dialed}) == 1  # one runner per campaign
    placed = [job for backend in backends_a + backends_b for job in backend.placed]
    assert len(placed) == 24


def test_a_campaign_another_supervisor_dials_is_skipped_until_its_lease_is_free(tmp_path):
    deployment, campaign_id = setup(tmp_path, 8, campaign_concurrency=1)
    backends_a: list = []
    backends_b: list = []
    first = scripted_supervisor(deployment, backends_a, delay=0.05)
    built_b: list[str] = []
    factory_b = scripted_factory(backends_b, owner="sup-b", delay=0.01)

    def counting(deployment, cid):
        built_b.append(cid)
        return factory_b(deployment, cid)

    second = CampaignSupervisor(
        deployment, poll_seconds=POLL, options=options("sup-b"), runner_factory=counting
    )

    async def scenario():
        set_running(deployment, campaign_id)
        task_a = asyncio.create_task(first.run())
        await until(lambda: backends_a and len(backends_a[0].placed) >= 2, 10, "sup-a dialing")
        task_b = asyncio.create_task(second.run())
        await asyncio.sleep(POLL * 5)
        assert built_b == []  # the lease is held by a live dialer: no idle runner here
        first.stop()  # sup-a goes away (its calls in flight finish, the lease is freed)
        await asyncio.wait_for(task_a, 10)
        await until(lambda: state(deployment, campaign_id) == "completed", 30, "takeover")
        second.stop()
        await asyncio.wait_for(task_b, 10)

    asyncio.run(scenario())
    dialed = attempt_rows(deployment, campaign_id)
    assert len(dialed) == 8 and len({a.lead_id for a in dialed}) == 8
    owners = [a.owner for a in dialed]
    assert owners[0] == "sup-a" and owners[-1] == "sup-b"
    assert built_b == [campaign_id]


def test_a_failing_campaign_is_logged_and_does_not_stop_the_others(tmp_path, caplog):
    deployment, good = setup(tmp_path, 2, scripts={0: "answers", 1: "answers"})
    write_script(deployment.config.base_dir, "answers", 'turns: ["Not interested, thanks."]\n')
    write_leads(tmp_path / "bad.csv", 1, start=50, scripts={50: "missing"})
    bad = create_campaign(deployment, "broken", tmp_path / "bad.csv")
    supervisor = simulated_supervisor(deployment, error_backoff_seconds=60)

    async def scenario():
        task = asyncio.create_task(supervisor.run())
        set_running(deployment, bad)
        set_running(deployment, good)
        await until(lambda: state(deployment, good) == "completed", 60, "the good campaign")
        await asyncio.sleep(POLL * 4)  # several polls: the broken one waits for its back-off
        supervisor.stop()
        await asyncio.wait_for(task, 10)

    with caplog.at_level(logging.ERROR, logger="voicekit.campaigns.supervisor"):
        asyncio.run(scenario())
    assert "campaign broken: cannot run it" in caplog.text and "missing" in caplog.text
    with deployment.store.read() as db:
        errors = db.execute(
            select(func.count())
            .select_from(campaign_events)
            .where(campaign_events.c.campaign_id == bad, campaign_events.c.kind == "runner_error")
        ).scalar_one()
    assert errors == 1  # not retried every poll
    assert state(deployment, bad) == "running"  # the state is the people's to change
    assert attempt_rows(deployment, bad) == []


def test_a_paused_campaign_runner_is_let_go_and_restarted_on_resume(tmp_path: Path):
    deployment, campaign_id = setup(tmp_path, 6, campaign_concurrency=1)
    backends: list = []
    supervisor = scripted_supervisor(deployment, backends, delay=0.05, paused_grace_seconds=0.2)

    async def scenario():
        task = asyncio.create_task(supervisor.run())
        set_running(deployment, campaign_id)
        await until(lambda: backends and len(backends[0].placed) >= 2, 10, "dialing")
        with deployment.store.write() as db:
            repo.set_state(db, campaign_id, "paused", "lunch")
        await until(lambda: not supervisor.campaigns, 5, "the paused runner to be let go")
        dialed_while_paused = len(attempt_rows(deployment, campaign_id))
        await asyncio.sleep(POLL * 4)
        assert len(attempt_rows(deployment, campaign_id)) == dialed_while_paused
        assert len(backends) == 1  # no new runner for a paused campaign
        with deployment.store.write() as db:
            repo.set_state(db, campaign_id, "running", "resumed")
        supervisor.wake()
        await until(lambda: state(deployment, campaign_id) == "completed", 30, "completion")
        supervisor.stop()
        await asyncio.wait_for(task, 10)

    asyncio.run(scenario())
    assert len(backends) == 2
    assert len(attempt_rows(deployment, campaign_id)) == 6


def test_stop_lets_calls_in_flight_finish(tmp_path: Path):
    deployment, campaign_id = setup(tmp_path, 6, campaign_concurrency=3)
    backends: list = []
    supervisor = scripted_supervisor(deployment, backends, delay=0.3)

    async def scenario():
        task = await run_until_placed(supervisor, deployment, campaign_id, backends, 3)
        await supervisor.aclose(timeout=10)
        assert task.done()  # aclose waits for run() too

    asyncio.run(scenario())
    dialed = attempt_rows(deployment, campaign_id)
    assert len(dialed) == 3
    assert all(a.ended_at is not None and a.disposition == "qualified" for a in dialed)
    assert state(deployment, campaign_id) == "running"  # stopped, not paused: resumable
    counts = repo.lead_counts(deployment.store, campaign_id)
    assert counts["done"] == 3 and counts.get("dialing", 0) == counts.get("in_call", 0) == 0


def test_cancelling_the_supervisor_task_aborts_the_calls_in_flight(tmp_path: Path):
    from voicekit_core.calls import utcnow
    from voicekit_core.store.tables import campaign_leads, campaigns

    deployment, campaign_id = setup(tmp_path, 6, campaign_concurrency=3)
    backends: list = []
    supervisor = scripted_supervisor(deployment, backends, delay=30)

    async def scenario():
        task = await run_until_placed(supervisor, deployment, campaign_id, backends, 3)
        started = time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        assert time.monotonic() - started < 5  # not waiting 30 s for the calls

    asyncio.run(scenario())
    with deployment.store.read() as db:
        in_flight = db.execute(
            select(campaign_leads.c.lease_expires_at).where(
                campaign_leads.c.state.in_(("dialing", "in_call"))
            )
        ).all()
        owner = db.execute(
            select(campaigns.c.runner_owner).where(campaigns.c.id == campaign_id)
        ).scalar()
    assert len(in_flight) == 3  # released for the next runner to reconcile
    assert all(row.lease_expires_at < utcnow() for row in in_flight)
    assert owner is None  # the runner lease is free at once


def test_serve_cli_dials_a_campaign_started_elsewhere_and_stops_on_sigterm(tmp_path: Path):
    deployment, campaign_id = setup(tmp_path, 2, scripts={0: "answers", 1: "busy"})
    folder = deployment.config.base_dir
    write_script(folder, "answers", 'turns: ["Not interested, thanks."]\n')
    write_script(folder, "busy", "answer: busy\n")
    serve = (
        "campaign",
        "serve",
        folder,
        "--simulate",
        "--speed",
        "100000",
        "--poll-seconds",
        "0.1",
    )
    with voicekit_process(*serve) as process:
        time.sleep(0.5)
        started = CliRunner().invoke(build_cli(), ["campaign", "start", str(folder), "spring"])
        assert started.exit_code == 0, started.output
        wait_for(lambda: state(deployment, campaign_id) == "completed", 60, "completion")
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert "serving campaigns" in out and "(simulated" in out
    assert "spring: started" in out and "spring: completed" in out
    assert "attempt_ended" in out and out.rstrip().endswith("stopped")
    assert repo.lead_counts(deployment.store, campaign_id)["done"] == 2


def test_serve_live_without_a_trunk_exits_2(tmp_path: Path):
    deployment, _ = setup(tmp_path, 1)
    result = CliRunner().invoke(build_cli(), ["campaign", "serve", str(deployment.config.base_dir)])
    assert result.exit_code == 2 and "no outbound trunk" in result.output
    bad = CliRunner().invoke(
        build_cli(),
        ["campaign", "serve", str(deployment.config.base_dir), "--simulate", "--poll-seconds", "0"],
    )
    assert bad.exit_code == 2 and "--poll-seconds" in bad.output
