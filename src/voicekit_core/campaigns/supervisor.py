"""The campaign supervisor: one long-running dialer for every running campaign.

``voicekit campaign serve CONFIG`` (the ``dialer`` service of a deployment) and the web
dashboard run a :class:`CampaignSupervisor`. It reads the store every ``poll_seconds``
(one small query: the campaigns in state ``running`` and who holds their runner lease)
and runs one :class:`~.runner.CampaignRunner` task per running campaign, so starting,
resuming or redialing a campaign anywhere (``voicekit campaign start``, the dashboard)
makes this process dial it::

    poll ─► running campaigns ─► lease free or ours? ─► runner task (until completed,
      ▲       (store)                 │ held by another     canceled, stopped)
      └───────────────────────────────┘ live dialer: skip   ─► forgotten; restarted
                                                              when running again

* **Several supervisors** (machines, or a dashboard beside ``serve``): the runner lease
  decides who dials a campaign. A campaign whose lease another owner holds and has not
  let expire is skipped (no idle task); a runner that lost the race for the lease is
  stopped at the next poll. If that owner dies its lease expires and the next poll
  here takes the campaign over (reconciling its calls in flight).
* **Ended runners** are forgotten: completed and canceled campaigns are not running any
  more; a campaign paused for longer than ``paused_grace_seconds`` has its runner
  stopped (calls in flight finish) so that a paused campaign costs nothing; resuming it
  starts a new runner within a poll.
* **Errors** in one campaign's runner (a bad caller script, no outbound trunk, a store
  error) are logged with the campaign's name and written to its activity log
  (``runner_error``); the other campaigns go on, and the campaign is tried again after
  ``error_backoff_seconds`` (doubling, at most ten minutes) or as soon as it is edited,
  paused or resumed.

Use it from a running event loop (``task = asyncio.create_task(supervisor.run())``;
:meth:`CampaignSupervisor.aclose` on shutdown) or from the CLI (``asyncio.run``). The
store is read in a worker thread, so the loop is never blocked by Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..calls import utcnow
from ..journal import process_owner
from ..store.tables import campaigns
from . import repo
from .runner import CampaignEvent, CampaignRunner, Mode, RunnerOptions, RunResult

if TYPE_CHECKING:
    from ..deployment import Deployment

logger = logging.getLogger("voicekit.campaigns.supervisor")

#: Default seconds between two looks at the store.
POLL_SECONDS = 2.0
#: Longest wait before a campaign whose runner failed is tried again, seconds.
MAX_ERROR_BACKOFF_SECONDS = 600.0

RunnerFactory = Callable[["Deployment", str], CampaignRunner]


@dataclass(frozen=True)
class RunningCampaign:
    """One row of the supervisor's poll: a campaign in state ``running`` and its runner
    lease (``runner_owner`` / ``runner_expires_at``, UTC; None when free)."""

    id: str
    name: str
    updated_at: datetime
    runner_owner: str | None
    runner_expires_at: datetime | None


@dataclass
class _Supervised:
    """A runner task of this supervisor."""

    runner: CampaignRunner
    task: asyncio.Task[RunResult]
    paused_since: float | None = None


@dataclass
class _Failure:
    """A campaign whose runner failed: tried again at ``retry_at`` (loop time), or
    sooner when its row's ``updated_at`` changes."""

    count: int
    retry_at: float
    updated_at: datetime


class CampaignSupervisor:
    """Runs every running campaign of ``deployment`` (see the module docstring).

    ``mode``: ``"live"`` (LiveKit; ``[plugins.telephony]`` must name an outbound trunk)
    or ``"simulated"`` (offline calls on a sped-up clock, ``speed`` simulated seconds per
    real second). ``options`` are every runner's :class:`~.runner.RunnerOptions`
    (``exit_when_idle`` is turned off: a supervised runner waits for its retries); their
    ``owner`` is the lease owner of this supervisor (default: this process's id; give two
    supervisors in one process different owners). ``poll_seconds``: how often the store is
    read (default 2 s). ``paused_grace_seconds``: how long the runner of a paused
    campaign is kept before it is stopped (None: kept). ``error_backoff_seconds``: the
    first wait before a failed campaign is tried again. ``runner_factory(deployment,
    campaign_id)`` builds each runner (tests, embedding); the default builds a
    :class:`~.runner.CampaignRunner` from the arguments above.
    """

    def __init__(
        self,
        deployment: Deployment,
        *,
        mode: Mode = "live",
        options: RunnerOptions | None = None,
        speed: float = 60.0,
        poll_seconds: float = POLL_SECONDS,
        paused_grace_seconds: float | None = 60.0,
        error_backoff_seconds: float = 30.0,
        runner_factory: RunnerFactory | None = None,
    ):
        if poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, got {poll_seconds}")
        self.deployment = deployment
        self.store = deployment.store
        self.mode: Mode = mode
        options = options or RunnerOptions()
        self.owner = options.owner or process_owner()
        self.options = dataclasses.replace(options, owner=self.owner, exit_when_idle=False)
        self.speed = speed
        self.poll_seconds = poll_seconds
        self.paused_grace_seconds = paused_grace_seconds
        self.error_backoff_seconds = error_backoff_seconds
        self._factory = runner_factory or self._new_runner
        self._supervised: dict[str, _Supervised] = {}
        self._failures: dict[str, _Failure] = {}
        self._on_event: list[Callable[[CampaignEvent], None]] = []
        self._wake: asyncio.Event | None = None
        self._finished: asyncio.Event | None = None
        self._stopping = False
        self._aborting = False
        self._running = False

    # -- public -------------------------------------------------------------------------

    @property
    def campaigns(self) -> dict[str, CampaignRunner]:
        """``{campaign id: runner}`` of the runner tasks alive now."""
        return {cid: s.runner for cid, s in self._supervised.items() if not s.task.done()}

    @property
    def in_flight(self) -> int:
        """Attempts in flight in this process, over every campaign."""
        return sum(s.runner.in_flight for s in self._supervised.values())

    def on_event(self, callback: Callable[[CampaignEvent], None]) -> None:
        """Call ``callback(event)`` for every :class:`~.runner.CampaignEvent` of every
        runner this supervisor starts (``event.campaign_id`` says which). Exceptions are
        logged by the runner."""
        self._on_event.append(callback)

    def wake(self) -> None:
        """Look at the store now instead of at the next poll (e.g. right after starting
        a campaign in the same process)."""
        if self._wake is not None:
            self._wake.set()

    def stop(self) -> None:
        """Stop: no new runners and no new calls; calls in flight finish, then
        :meth:`run` returns."""
        if not self._stopping:
            logger.info("supervisor %s: stopping (calls in flight finish)", self.owner)
        self._stopping = True
        for supervised in self._supervised.values():
            supervised.runner.stop()
        self.wake()

    def abort(self) -> None:
        """Stop and cancel the calls in flight too (their leads are released for the next
        runner to reconcile)."""
        self._aborting = True
        self.stop()
        for supervised in self._supervised.values():
            supervised.runner.abort()

    async def run(self) -> None:
        """Supervise until :meth:`stop` / :meth:`abort`; returns once every runner task
        has ended. Cancelling the task that runs it aborts (calls in flight are canceled
        and their leads released). Raises :class:`RuntimeError` if it is already
        running."""
        if self._running:
            raise RuntimeError("this supervisor is already running")
        self._running = True
        self._wake = asyncio.Event()
        self._finished = asyncio.Event()
        logger.info(
            "supervisor %s: watching for running campaigns (%s, every %g s)",
            self.owner,
            self.mode,
            self.poll_seconds,
        )
        try:
            while not self._stopping:
                try:
                    await self.poll()
                except Exception as exc:  # the store is down: try again next poll
                    logger.warning("supervisor %s: poll failed: %s", self.owner, exc)
                if self._stopping:
                    break
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)
        except asyncio.CancelledError:
            self.abort()
            raise
        finally:
            try:
                await self._wind_down()
            finally:
                self._running = False
                self._finished.set()

    async def aclose(self, timeout: float | None = None) -> None:
        """Stop and wait for the runners and for :meth:`run` to return (an embedding
        app's shutdown): after ``timeout`` seconds (None: no limit) the calls still in
        flight are canceled."""
        self.stop()
        tasks = [s.task for s in self._supervised.values() if not s.task.done()]
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=timeout)
            if pending:
                self.abort()
                await asyncio.wait(pending)
        if self._running and self._finished is not None:
            await self._finished.wait()

    async def poll(self) -> None:
        """One look at the store: reap ended runners, start runners for running campaigns
        this process may dial, stop runners that lost their lease or idle paused. Called
        by :meth:`run`; public for tests and for callers with a loop of their own."""
        self._reap()
        rows = await asyncio.to_thread(self.running_campaigns)
        now_real = utcnow()
        loop_time = asyncio.get_running_loop().time()
        for row in rows:
            if self._stopping:
                break
            if row.id in self._supervised:
                continue
            if self._held_elsewhere(row, now_real):
                continue
            failure = self._failures.get(row.id)
            if (
                failure is not None
                and failure.updated_at == row.updated_at
                and loop_time < failure.retry_at
            ):
                continue
            self._start(row)
        self._tend(loop_time, now_real, {row.id: row for row in rows})

    def running_campaigns(self) -> list[RunningCampaign]:
        """The campaigns in state ``running`` with their runner leases (a read
        transaction; blocking)."""
        with self.store.read() as db:
            rows = db.execute(
                select(
                    campaigns.c.id,
                    campaigns.c.name,
                    campaigns.c.updated_at,
                    campaigns.c.runner_owner,
                    campaigns.c.runner_expires_at,
                ).where(campaigns.c.state == "running")
            ).all()
        return [RunningCampaign(*row) for row in rows]

    # -- internals ----------------------------------------------------------------------

    def _new_runner(self, deployment: Deployment, campaign_id: str) -> CampaignRunner:
        return CampaignRunner(
            deployment, campaign_id, mode=self.mode, options=self.options, speed=self.speed
        )

    def _held_elsewhere(self, row: RunningCampaign, now: datetime) -> bool:
        return (
            row.runner_owner is not None
            and row.runner_owner != self.owner
            and row.runner_expires_at is not None
            and row.runner_expires_at >= now
        )

    def _start(self, row: RunningCampaign) -> None:
        try:
            runner = self._factory(self.deployment, row.id)
            for callback in self._on_event:
                runner.on_event(callback)
        except Exception as exc:
            self._failed(row.id, row.name, row.updated_at, exc)
            return
        task = asyncio.create_task(self._run_runner(runner), name=f"campaign {row.name}")
        self._supervised[row.id] = _Supervised(runner, task)
        logger.info("supervisor %s: running campaign %s (%s)", self.owner, row.name, row.id)

    async def _run_runner(self, runner: CampaignRunner) -> RunResult:
        return await runner.run()

    def _reap(self) -> None:
        """Forget runner tasks that ended, logging how."""
        for campaign_id, supervised in list(self._supervised.items()):
            if not supervised.task.done():
                continue
            del self._supervised[campaign_id]
            runner = supervised.runner
            if supervised.task.cancelled():
                continue
            exc = supervised.task.exception()
            if exc is not None:
                self._failed(campaign_id, runner.campaign.name, runner.campaign.updated_at, exc)
                continue
            self._failures.pop(campaign_id, None)
            result = supervised.task.result()
            logger.info(
                "supervisor %s: campaign %s: runner ended (%s%s)",
                self.owner,
                runner.campaign.name,
                result.state,
                ", stopped" if result.stopped else "",
            )

    def _failed(
        self, campaign_id: str, name: str, updated_at: datetime, exc: BaseException
    ) -> None:
        """Log a runner that could not start or failed, and back off."""
        previous = self._failures.get(campaign_id)
        count = previous.count + 1 if previous is not None else 1
        wait = min(MAX_ERROR_BACKOFF_SECONDS, self.error_backoff_seconds * 2 ** (count - 1))
        loop_time = asyncio.get_running_loop().time()
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0][:500]
        from ..errors import VoicekitError

        if isinstance(exc, VoicekitError):
            logger.error("campaign %s: cannot run it: %s", name, str(exc)[:2000])
        else:
            logger.error("campaign %s: runner failed", name, exc_info=exc)
        try:
            with self.store.write() as db:
                repo.log_event(
                    db,
                    campaign_id,
                    "runner_error",
                    f"{self.owner}: {type(exc).__name__}: {first_line}; next try in {wait:g} s",
                )
                current = repo.get_campaign(db, campaign_id).updated_at
        except Exception:  # the store is what failed: the log line above says it
            current = updated_at
        self._failures[campaign_id] = _Failure(count, loop_time + wait, current)

    def _tend(self, loop_time: float, now: datetime, rows: dict[str, RunningCampaign]) -> None:
        """Stop runners that wait for a lease another owner holds, and runners of
        campaigns paused for longer than ``paused_grace_seconds``."""
        for campaign_id, supervised in self._supervised.items():
            runner = supervised.runner
            if supervised.task.done() or (
                runner.holding_lease and runner.campaign.state != "paused"
            ):
                supervised.paused_since = None
                continue
            row = rows.get(campaign_id)
            if not runner.holding_lease:
                if row is not None and self._held_elsewhere(row, now):
                    logger.info(
                        "supervisor %s: campaign %s is dialed by %s; standing down",
                        self.owner,
                        runner.campaign.name,
                        row.runner_owner,
                    )
                    runner.stop()
                continue
            if supervised.paused_since is None:
                supervised.paused_since = loop_time
            grace = self.paused_grace_seconds
            if grace is not None and loop_time - supervised.paused_since >= grace:
                logger.info(
                    "supervisor %s: campaign %s paused for %g s; runner stopped until resumed",
                    self.owner,
                    runner.campaign.name,
                    grace,
                )
                runner.stop()

    async def _wind_down(self) -> None:
        """Stop every runner and wait for them (calls in flight finish, or are canceled
        after :meth:`abort`)."""
        for supervised in self._supervised.values():
            if self._aborting:
                supervised.runner.abort()
            else:
                supervised.runner.stop()
        tasks = [s.task for s in self._supervised.values()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._reap()


__all__ = [
    "POLL_SECONDS",
    "CampaignSupervisor",
    "RunningCampaign",
]
