"""Helpers for the campaign-runner tests: deployments, lead files, campaigns and their
rows, a worker stand-in, a scripted attempt backend, dialer processes that can be
SIGKILLed, and ``voicekit`` CLI processes to signal.

Dialer processes come from a ``forkserver`` that has imported voicekit once, so starting
(and killing) twenty of them costs milliseconds each rather than an interpreter start.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import select

from voicekit_core.calls import CallReport, Disposition, utcnow
from voicekit_core.campaigns.runner import (
    AttemptJob,
    AttemptOutcome,
    CampaignRunner,
    RunnerOptions,
    RunResult,
)
from voicekit_core.store.tables import attempts, campaign_leads

AGENT = "dialer-test"
#: Runner options of in-process runs: short leases, quick ticks, a fixed seed.
FAST = RunnerOptions(lease_seconds=3, tick_seconds=0.05, poll_seconds=0.02, seed=7)

BASE_CONFIG = """\
[agent]
name = "{agent}"
instructions = "You are a test agent."
greeting = "Hello {{lead.first_name}}!"
voicemail_message = "Hi {{lead.first_name}}, please call us back."

[leads]
source = "none"

[store]
url = "{store_url}"

[dialer]
max_attempts_per_lead_per_day = 50

[dialer.calling_hours]
{hours}

[dialer.retry]
max_attempts = {max_attempts}
jitter = 0
capacity_backoff_seconds = 0.05
capacity_backoff_max_seconds = 0.2

[dialer.retry.delays]
{delays}

[dialer.pacing]
max_concurrency = {campaign_concurrency}

[dialer.pacing.trunk]
max_concurrency = {trunk_concurrency}
calls_per_second = {cps}
burst = {burst}
reserve_for_inbound = {reserve}

[dialer.pacing.breaker]
consecutive_trunk_errors = {trunk_errors}
min_calls = 1000
"""

#: Calling hours all day, every day (tests that are not about calling hours).
ALL_DAY = 'daily = ["00:00-24:00"]\noverride_legal_window = true'
#: The legal default, 08:00-21:00 in the lead's timezone.
LEGAL_HOURS = ""

TELEPHONY = """
[plugins.telephony]
outbound_trunk_id = "ST_outbound"
livekit_url = "{url}"
api_key = "{key}"
api_secret = "{secret}"
"""


def write_deployment(
    folder: Path,
    store_url: str,
    *,
    livekit: Any = None,
    max_attempts: int = 3,
    campaign_concurrency: int = 5,
    trunk_concurrency: int = 10,
    cps: float = 1000,
    burst: int = 100,
    trunk_errors: int = 1000,
    reserve_for_inbound: int = 0,
    hours: str = ALL_DAY,
    delays: str = "busy = [0]\nno_answer = [0]\nfailed = [0]",
    extra: str = "",
) -> Path:
    """A deployment folder for dialer tests: calling hours all day (override), zero
    retry delays, pacing as given; ``[plugins.telephony]`` pointing at ``livekit`` (a
    running FakeLiveKit) when given."""
    folder.mkdir(parents=True, exist_ok=True)
    text = BASE_CONFIG.format(
        agent=AGENT,
        store_url=store_url,
        max_attempts=max_attempts,
        campaign_concurrency=campaign_concurrency,
        trunk_concurrency=trunk_concurrency,
        cps=cps,
        burst=burst,
        trunk_errors=trunk_errors,
        hours=hours,
        delays=delays,
        reserve=reserve_for_inbound,
    )
    if livekit is not None:
        text += TELEPHONY.format(url=livekit.url, key=livekit.api_key, secret=livekit.api_secret)
    (folder / "voicekit.toml").write_text(text + extra, encoding="utf-8")
    return folder


def phone_of(index: int, area: str = "415") -> str:
    """A distinct, valid E.164 number per index (``+1415555NNNN``)."""
    return f"+1{area}555{index:04d}"


def write_leads(
    path: Path,
    count: int,
    *,
    start: int = 0,
    area: str = "415",
    timezone_name: str = "America/Los_Angeles",
    scripts: dict[int, str] | None = None,
) -> list[str]:
    """A dialer CSV of ``count`` leads; returns their phones in row order."""
    phones = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["prospect_name", "company_name", "phone", "timezone", "script"])
        for index in range(start, start + count):
            phone = phone_of(index, area)
            phones.append(phone)
            writer.writerow(
                [f"Lead {index}", "Acme", phone, timezone_name, (scripts or {}).get(index, "")]
            )
    return phones


def create_campaign(deployment: Any, name: str, leads_csv: Path) -> str:
    """Import ``leads_csv`` as campaign ``name``; returns its id."""
    from voicekit_core.campaigns.importer import import_csv

    result = import_csv(deployment.store, deployment.config, name=name, path=leads_csv)
    return result.campaign.id


def sqlite_url(tmp_path: Path) -> str:
    """The URL of a SQLite store in ``tmp_path``."""
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


def setup_campaign(
    tmp_path: Path,
    count: int = 3,
    *,
    name: str = "spring",
    store_url: str | None = None,
    scripts: dict[int, str] | None = None,
    **config: Any,
) -> tuple[Any, str, list[str]]:
    """A deployment (``tmp_path / "deployment"``, ``config`` as :func:`write_deployment`
    takes it; the store in ``tmp_path`` unless ``store_url``) with a campaign ``name`` of
    ``count`` leads; returns (deployment, campaign id, the leads' phones)."""
    from voicekit_core.deployment import load_deployment

    url = store_url or sqlite_url(tmp_path)
    folder = write_deployment(tmp_path / "deployment", url, **config)
    phones = write_leads(tmp_path / "leads.csv", count, scripts=scripts)
    deployment = load_deployment(folder)
    return deployment, create_campaign(deployment, name, tmp_path / "leads.csv"), phones


def write_script(folder: Path, name: str, text: str) -> None:
    """The caller script ``scripts/<name>.yaml`` of the deployment in ``folder``."""
    (folder / "scripts").mkdir(exist_ok=True)
    (folder / "scripts" / f"{name}.yaml").write_text(text, encoding="utf-8")


def run(runner: CampaignRunner, timeout: float = 30) -> RunResult:
    """Run ``runner`` to its end in a new event loop, for at most ``timeout`` seconds."""
    return asyncio.run(asyncio.wait_for(runner.run(), timeout))


def lead_rows(deployment: Any, campaign_id: str) -> Sequence[Any]:
    """The ``campaign_leads`` rows of the campaign, in import order."""
    with deployment.store.read() as db:
        return db.execute(
            select(campaign_leads)
            .where(campaign_leads.c.campaign_id == campaign_id)
            .order_by(campaign_leads.c.id)
        ).all()


def attempt_rows(deployment: Any, campaign_id: str) -> Sequence[Any]:
    """The ``attempts`` rows of the campaign, oldest first."""
    with deployment.store.read() as db:
        return db.execute(
            select(attempts).where(attempts.c.campaign_id == campaign_id).order_by(attempts.c.id)
        ).all()


def report_for(
    call_id: str, phone: str, disposition: Disposition, *, data: dict | None = None
) -> CallReport:
    now = utcnow()
    return CallReport(
        call_id=call_id,
        agent_name=AGENT,
        direction="outbound",
        mode="live",
        phone=phone,
        lead=None,
        started_at=now,
        ended_at=now,
        duration_seconds=0.0,
        disposition=disposition,
        data=data or {},
    )


class FakeWorker:
    """Plays the LiveKit worker for the fake server's answered calls: reads the job
    metadata of the room's dispatch and journals a report under its call id (linked to the
    campaign attempt) from a thread of its own, ``duration(phone)`` seconds after the
    answer (the fake keeps serving meanwhile, as a real worker machine would let it).
    ``disposition(phone)`` picks the outcome."""

    def __init__(
        self,
        fake: Any,
        store_url: str,
        *,
        disposition: Callable[[str], Disposition] = lambda phone: Disposition.QUALIFIED,
        duration: Callable[[str], float] = lambda phone: 0.0,
        data: Callable[[str], dict] = lambda phone: {},
    ):
        from voicekit_core.journal import Journal
        from voicekit_core.store import Store

        self.fake = fake
        self.journal = Journal(Store(store_url), owner="fake-worker")
        self.disposition = disposition
        self.duration = duration
        self.data = data
        self.journaled: list[tuple[str, str | None, str | None]] = []
        self._lock = threading.Lock()
        self._rooms: dict[str, Any] = {}
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fake-worker")
        fake.on_answer = self

    def __call__(self, request: Any) -> None:
        from voicekit_core.telephony.metadata import parse_job_metadata

        meta = None
        for dispatch in reversed(self.fake.dispatches):
            if dispatch.room == request.room_name:
                meta = parse_job_metadata(dispatch.metadata)
                break
        assert meta is not None, f"no dispatch for room {request.room_name}"
        phone = request.sip_call_to
        report = report_for(meta.call_id, phone, self.disposition(phone), data=self.data(phone))
        self._pool.submit(self._run, report, meta, self.duration(phone))

    def _run(self, report: CallReport, meta: Any, seconds: float) -> None:
        self.journal.start_call(report, campaign_id=meta.campaign_id, attempt_id=meta.attempt_id)
        if seconds > 0:
            time.sleep(seconds)
        self.journal.finish_call(report, [], claim=False)
        self.fake.rooms.pop(report.call_id, None)  # the agent hung up: the room goes
        with self._lock:
            self.journaled.append((report.call_id, meta.campaign_id, meta.attempt_id))


class ScriptedBackend:
    """An attempt backend whose outcomes a test decides: ``outcome(job)`` (a function of
    the attempt) after ``delay`` seconds. Records every placed attempt."""

    mode = "simulated"

    def __init__(
        self,
        outcome: Callable[[AttemptJob], AttemptOutcome],
        *,
        delay: float = 0.0,
        trunk_id: str = "fake-trunk",
        room_exists: bool | None = False,
        adopted: AttemptOutcome | None = None,
    ):
        self.outcome = outcome
        self.delay = delay
        self.trunk_id = trunk_id
        self.placed: list[AttemptJob] = []
        self.adopted_jobs: list[AttemptJob] = []
        self._room_exists = room_exists
        self._adopted = adopted or AttemptOutcome(Disposition.QUALIFIED, "adopted call ended")

    async def place(self, job: AttemptJob) -> AttemptOutcome:
        self.placed.append(job)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.outcome(job)

    async def adopt(self, job: AttemptJob) -> AttemptOutcome:
        self.adopted_jobs.append(job)
        return self._adopted

    async def room_exists(self, room_name: str) -> bool | None:
        return self._room_exists

    async def aclose(self) -> None:
        return None


# -- dialer processes ----------------------------------------------------------------------

_PRELOAD = [
    "voicekit_core.deployment",
    "voicekit_core.campaigns.runner",
    "voicekit_core.campaigns.live",
    "voicekit_core.campaigns.importer",
    "voicekit_core.builtins.compliance",
    "voicekit_core.telephony.dial",
    "livekit.api",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
]
_context: Any = None


def dialer_context() -> Any:
    """The ``forkserver`` multiprocessing context, with voicekit preloaded."""
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(_PRELOAD)
    return _context


def run_dialer(
    config: str, campaign: str, mode: str, lease_seconds: float, options: dict[str, Any]
) -> None:
    """A dialer process's body: run ``campaign`` of the deployment ``config`` to the end."""
    import logging

    from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions
    from voicekit_core.deployment import load_deployment

    logging.basicConfig(level=logging.WARNING, format="%(process)d %(name)s: %(message)s")
    deployment = load_deployment(config)
    runner = CampaignRunner(
        deployment,
        campaign,
        mode=mode,  # type: ignore[arg-type]
        options=RunnerOptions(
            lease_seconds=lease_seconds,
            tick_seconds=min(0.2, lease_seconds / 5),
            poll_seconds=0.05,
            **options,
        ),
    )
    asyncio.run(runner.run())


def start_dialer(
    config: Path,
    campaign: str,
    *,
    mode: str = "live",
    lease_seconds: float = 1.0,
    **options: Any,
) -> Any:
    """Start a dialer process (``Process``; ``.kill()`` is SIGKILL)."""
    process = dialer_context().Process(
        target=run_dialer,
        args=(str(config), campaign, mode, lease_seconds, options),
        daemon=True,
    )
    process.start()
    return process


class InFlightSampler:
    """Samples the number of leads in ``dialing`` / ``in_call`` across every campaign of
    the store every ``interval`` seconds, in a thread; ``peak`` is the largest seen."""

    def __init__(self, store_url: str, interval: float = 0.005):
        from voicekit_core.store import Store

        self.store = Store(store_url)
        self.interval = interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> InFlightSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def peak(self) -> int:
        return max(self.samples, default=0)

    def _run(self) -> None:
        from sqlalchemy import func

        query = (
            select(func.count())
            .select_from(campaign_leads)
            .where(campaign_leads.c.state.in_(("dialing", "in_call")))
        )
        while not self._stop.is_set():
            with self.store.read() as db:
                self.samples.append(db.execute(query).scalar_one())
            time.sleep(self.interval)


@contextlib.contextmanager
def voicekit_process(*args: object) -> Iterator[subprocess.Popen[str]]:
    """A ``voicekit ARGS`` process of this interpreter (stdout and stderr in one pipe of
    text, 200 columns wide), killed on leaving the block if it still runs."""
    voicekit = Path(sys.executable).with_name("voicekit")
    process = subprocess.Popen(
        [str(voicekit), *(str(arg) for arg in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms until true; AssertionError naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def at(text: str) -> datetime:
    """An aware UTC datetime from ``"2026-11-24 15:00"``."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
