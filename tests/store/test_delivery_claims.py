"""Exactly-once post-call delivery: claims with leases, step state, concurrent retries."""

from __future__ import annotations

import asyncio
import multiprocessing
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from voicekit_core import hookimpl
from voicekit_core.calls import CallReport, Disposition, utcnow
from voicekit_core.delivery import deliver_claim, retry_undelivered
from voicekit_core.journal import Journal
from voicekit_core.store import Store
from voicekit_core.testing import MINIMAL_CONFIG


def _report(call_id: str) -> CallReport:
    now = utcnow()
    return CallReport(
        call_id=call_id,
        agent_name="test-agent",
        direction="outbound",
        mode="simulated",
        phone="+14155550123",
        lead=None,
        started_at=now,
        ended_at=now,
        duration_seconds=0,
        disposition=Disposition.COMPLETED,
    )


def _claimer(url: str, queue) -> None:  # runs in a child process
    journal = Journal(Store(url))
    taken = []
    while True:
        claims = journal.claim_deliveries(limit=7)
        if not claims:
            break
        for claim in claims:
            taken.append(claim.id)
            journal.finish_delivery(claim, ok=True)
    queue.put(taken)


def test_concurrent_claims_never_overlap(store_url):
    journal = Journal(Store(store_url))
    for index in range(60):
        journal.record_call(_report(f"call-{index:03d}"), ["crm", "mail", "sheet"])
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_claimer, args=(store_url, queue)) for _ in range(3)]
    for worker in workers:
        worker.start()
    taken = [queue.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    flat = [claim_id for chunk in taken for claim_id in chunk]
    assert len(flat) == 180
    assert len(set(flat)) == 180  # no delivery claimed twice
    assert journal.undelivered() == []


class SlowCrm:
    """Takes ``seconds`` per delivery; counts deliveries per call id."""

    def __init__(self, seconds: float = 0.0, fail: bool = False):
        self.seconds = seconds
        self.fail = fail
        self.delivered: list[str] = []

    @hookimpl
    async def post_call(self, report, config):
        await asyncio.sleep(self.seconds)
        if self.fail:
            raise ConnectionError("crm down")
        self.delivered.append(report.call_id)
        return {"ok": True}


async def test_a_retry_never_takes_a_delivery_that_is_still_running(voicekit):
    crm = SlowCrm(seconds=1.2)
    voicekit.register(crm, name="crm")
    deployment = voicekit.load()
    deployment.journal.record_call(_report("live-1"), ["crm"])
    [claim] = deployment.journal.claim_deliveries()
    # a short lease, renewed every third of it while the plugin runs
    running = asyncio.create_task(
        deliver_claim(deployment, _report("live-1"), claim, lease_seconds=0.45)
    )
    await asyncio.sleep(0.9)  # two lease lengths: only the heartbeat keeps it
    other = Journal(deployment.store, owner="another-process")
    assert other.claim_deliveries() == []
    outcome = await running
    assert outcome.delivered
    assert crm.delivered == ["live-1"]
    assert await retry_undelivered(deployment, attempts=1, backoff_seconds=0) == []


async def test_a_lost_lease_cannot_overwrite_the_new_owner(voicekit):
    deployment = voicekit.load()
    deployment.journal.record_call(_report("lost-1"), ["crm"])
    [mine] = deployment.journal.claim_deliveries(lease_seconds=0.05)
    await asyncio.sleep(0.1)
    other = Journal(deployment.store, owner="another-process")
    [theirs] = other.claim_deliveries()
    assert theirs.id == mine.id
    assert deployment.journal.finish_delivery(mine, ok=False, error="late") is False
    assert other.finish_delivery(theirs, ok=True)
    [record] = deployment.journal.deliveries("lost-1")
    assert (record.status, record.attempts, record.error) == ("delivered", 1, "")


class StepCrm:
    """Creates a call record, then fails on the note the first time."""

    def __init__(self):
        self.calls_created = 0
        self.notes_created = 0
        self.attempts: list[int] = []

    @hookimpl
    def post_call(self, report, config, delivery):
        self.attempts.append(delivery.attempt)
        if delivery.get("call_record") is None:
            self.calls_created += 1
            delivery.save("call_record", f"rec-{self.calls_created}")
        if len(self.attempts) == 1:
            raise TimeoutError("note endpoint timed out")
        self.notes_created += 1
        return {"call_record": delivery.get("call_record")}


async def test_step_state_survives_a_partial_failure(voicekit):
    crm = StepCrm()
    voicekit.register(crm, name="crm")
    deployment = voicekit.load()
    async with voicekit.call(deployment, strict_deliveries=False) as run:
        pass
    assert [d.status for d in run.report.post_call] == ["failed"]
    outcomes = await retry_undelivered(deployment, attempts=1, backoff_seconds=0)
    assert outcomes == [(run.report.call_id, "crm", True)]
    assert (crm.calls_created, crm.notes_created, crm.attempts) == (1, 1, [1, 2])
    [record] = deployment.journal.deliveries(run.report.call_id)
    assert record.result == {"call_record": "rec-1"}


PLUGIN = """
import asyncio, os
from voicekit_core import hookimpl

@hookimpl
async def post_call(report, config):
    await asyncio.sleep(0.02)
    with open(os.environ["VK_TEST_LOG"], "a") as log:
        log.write(report.call_id + "\\n")
"""


def test_two_journal_retry_processes_deliver_each_call_once(tmp_path: Path):
    folder = tmp_path / "dep"
    folder.mkdir()
    (folder / "slow_crm.py").write_text(PLUGIN)
    (folder / "leads.csv").write_text("phone,prospect_name\n+14155550123,Dana\n")
    (folder / "voicekit.toml").write_text(
        textwrap.dedent(MINIMAL_CONFIG)
        + '\n[plugins]\nenable = ["slow_crm"]\n[journal]\nretry_backoff_seconds = 0\n'
    )
    from voicekit_core.deployment import load_deployment

    deployment = load_deployment(folder)
    for index in range(40):
        deployment.journal.record_call(_report(f"c{index:03d}"), ["slow_crm"])
    log = tmp_path / "deliveries.log"
    env = {"VK_TEST_LOG": str(log), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "voicekit"), "journal", "retry", str(folder)]
    started = time.monotonic()
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert time.monotonic() - started < 120
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in out + err
    delivered = log.read_text().split()
    assert sorted(delivered) == [f"c{index:03d}" for index in range(40)]  # each exactly once
    assert deployment.journal.undelivered() == []
