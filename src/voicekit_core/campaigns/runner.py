"""The campaign runner: the control plane that paces, dials and retries a campaign's leads.

The calls themselves stay on LiveKit (live mode) or in a local ``AgentSession``
(simulated mode); the runner decides *who* is dialed *when*, and records every step in the
store, which is the only source of truth (no in-memory lock decides anything that another
process must respect)::

    runner lease ─► reconcile expired leases ─► claim due leads (leased, counted per trunk)
        ─► compliance (DNC, calling hours in the lead's timezone, daily cap; campaign clock)
        ─► attempt row (append-only, room ``vk-<campaign>-<lead>-<n>``) + CPS token
        ─► dial (live: telephony.dial; simulated: a scripted call) ─► outcome
        ─► retry.decide ─► lead done / retry_wait(not_before) / requeued

Leases (owner + expiry, wall-clock UTC, renewed every ``lease_seconds / 3``):

* the **campaign-runner lease** (``campaigns.runner_owner``): one process paces a
  campaign; another ``voicekit campaign run`` of the same campaign waits and takes over
  when the lease expires (the first process died);
* a **lead lease** on every lead in ``dialing`` / ``in_call``. A lead whose lease expired
  belonged to a process that died: :meth:`CampaignRunner.reconcile` takes it over, reads
  the attempt's call in the journal (finished: its outcome is applied), asks LiveKit
  whether the room still exists (the call may still be live: it is waited for), and
  otherwise ends the attempt as ``failed``. A room name is never dialed twice: every
  attempt gets the next number.

Pacing: ``[dialer.pacing] max_concurrency`` per campaign and the trunk's
``max_concurrency`` (minus ``reserve_for_inbound``) are enforced by counting leads in
``dialing`` / ``in_call`` in the store, across every campaign on the trunk, in the same
transaction that claims (claims of one trunk are serialised by a lock on its
``dial_trunks`` row: ``FOR UPDATE`` on Postgres, ``BEGIN IMMEDIATE`` on SQLite). The
trunk's calls per second are a GCRA token bucket kept in that row, taken when an attempt
is recorded, so every process shares it. A :class:`~.pacing.CircuitBreaker` pauses the
campaign (reason recorded) when calls keep failing.

Stopping: :meth:`CampaignRunner.stop` (first Ctrl-C) stops dialing and lets in-flight
calls finish; :meth:`CampaignRunner.abort` (second Ctrl-C) cancels them. Every attempt
task releases its lead in a ``finally`` that also runs on ``asyncio.CancelledError``: a
lead never dialed goes back to ``ready``; one whose call may exist has its lease expired
so that the next runner reconciles it.

Times: campaign time (``not_before``, ``callback_at``, ``attempts.started_at``, calling
hours) comes from the runner's :mod:`.clock` (sped up when simulated); lease expiries are
wall-clock UTC. Durations are seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sqlalchemy import Connection, String, and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..calls import CallReport, Disposition, utcnow
from ..errors import VoicekitError
from ..journal import process_owner
from ..leads import Lead
from ..store import Store
from ..store.tables import (
    UTCDateTime,
    attempts,
    calls,
    campaign_events,
    campaign_leads,
    campaigns,
    dial_trunks,
)
from . import repo
from .clock import Clock, RealClock
from .pacing import CircuitBreaker, PacingSettings, dial_capacity
from .retry import RetryAction, RetryDecision, decide
from .settings import DialerSection

if TYPE_CHECKING:
    from ..deployment import Deployment

logger = logging.getLogger("voicekit.campaigns")

#: Lead states a runner may claim (when ``not_before`` has passed).
DUE_STATES = ("pending", "ready", "retry_wait")
#: Lead states of a call in flight (leased; counted against the concurrency caps).
IN_FLIGHT_STATES = ("dialing", "in_call")
#: Lead states that never change again.
FINAL_STATES = ("done", "skipped", "canceled")
#: Default lease length, seconds (renewed every third of it).
LEASE_SECONDS = 30.0
#: Carrier capacity refusals of one lead in a row that are requeued for free; the next
#: one counts as a failed attempt (a route that always answers 503 must end somewhere).
MAX_CAPACITY_REQUEUES = 20

Mode = Literal["live", "simulated"]


class RunnerError(VoicekitError):
    """The runner cannot run this campaign (canceled, misconfigured); the message says
    which campaign and why."""


class LeaseLost(Exception):
    """Another process holds the lead (or campaign) this runner was about to write."""


# -- records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignEvent:
    """What the ``campaign_event`` hook receives.

    ``kind``: ``started``, ``paused``, ``resumed``, ``completed``, ``canceled``,
    ``attempt_ended``, or for one lead not dialed ``skipped`` (final, e.g. DNC) and
    ``deferred`` (outside calling hours or over the daily cap; ``detail`` says until
    when). ``at`` is campaign time (UTC). For ``attempt_ended``: ``lead_id``,
    ``attempt`` (its number, 1 = first), ``room_name``, ``disposition`` and ``action``
    (``final`` / ``retry`` / ``requeue`` / ``vetoed``); ``detail`` is for people.
    """

    kind: str
    campaign_id: str
    at: datetime
    detail: str = ""
    lead_id: int | None = None
    attempt: int | None = None
    room_name: str | None = None
    disposition: str | None = None
    action: str | None = None


@dataclass(frozen=True)
class ClaimedLead:
    """A lead this runner holds the lease of (state ``dialing``)."""

    id: int
    campaign_id: str
    phone: str
    lead: Lead
    attempts: int
    capacity_requeues: int
    script: str | None
    callback_at: datetime | None


@dataclass(frozen=True)
class AttemptRow:
    """One recorded attempt: ``number`` (1 = first), ``room_name`` = ``call_id``
    (``vk-<campaign>-<lead>-<number>``), ``started_at`` in campaign time."""

    id: int
    lead_id: int
    number: int
    room_name: str
    started_at: datetime

    @property
    def call_id(self) -> str:
        return self.room_name


@dataclass
class AttemptOutcome:
    """How an attempt ended, from the backend or the journal.

    ``sip_status`` and ``sip_reason`` come from the carrier (``retry.decide`` requeues
    capacity errors); ``trunk_error`` marks a refusal by the trunk or LiveKit rather than
    the callee (the breaker's streak); ``vetoed`` a ``before_dial`` refusal (the attempt
    did not ring); ``callback_at`` the time the callee asked to be called back.
    """

    disposition: Disposition
    detail: str = ""
    sip_status: int | None = None
    sip_reason: str = ""
    answered: bool = False
    trunk_error: bool = False
    vetoed: bool = False
    callback_at: datetime | None = None
    report: CallReport | None = None


@dataclass
class AttemptJob:
    """What a backend gets for one attempt. ``await mark_in_call()`` moves the lead to
    ``in_call`` once the callee answered. ``deployment``: the deployment as the
    campaign's calls see it (its overrides applied,
    :func:`~.overrides.campaign_deployment`); None means the backend's own."""

    campaign_id: str
    lead: ClaimedLead
    attempt: AttemptRow
    mark_in_call: Callable[[], Awaitable[None]]
    deployment: Deployment | None = None

    @property
    def link(self) -> dict[str, str]:
        """``call.data["campaign"]``: links the call's report to this attempt."""
        return {"id": self.campaign_id, "attempt_id": str(self.attempt.id)}


class AttemptBackend(Protocol):
    """Places attempts: :class:`~.live.LiveAttempts` or :class:`~.simulated.SimulatedAttempts`."""

    mode: Mode
    trunk_id: str

    async def place(self, job: AttemptJob) -> AttemptOutcome:
        """Dial and wait for the outcome (the report, for answered calls)."""
        ...

    async def adopt(self, job: AttemptJob) -> AttemptOutcome:
        """Wait for the outcome of an attempt whose call may still be live (a takeover)."""
        ...

    async def room_exists(self, room_name: str) -> bool | None:
        """Whether LiveKit still has the room (None: cannot tell; simulated: False)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class RunnerOptions:
    """Knobs of one runner process (not campaign settings: those are ``[dialer]``).

    ``lease_seconds``: lead and runner leases (renewed every third). ``tick_seconds``:
    how often the campaign's state is re-read (pause/cancel noticed within about that).
    ``poll_seconds``: how often the journal is read for calls in flight.
    ``report_timeout_seconds``: an answered live call with no journal row after this long
    (and no room left) never reported back: the attempt fails. ``max_call_seconds``: a
    live call still without a final report after this long is hung up and failed.
    ``seed``: retry jitter and the simulated script pick. ``exit_when_idle``: return when
    nothing is due and nothing is in flight (only future retries remain) instead of
    waiting for them (simulated runs jump the clock instead). ``simulated_pace``:
    simulated calls ring and callers speak in campaign time (see
    :class:`~.simulated.SimulatedAttempts`), so calls last long enough to be watched live
    (the dashboard); off, they run as fast as the offline model answers.
    """

    lease_seconds: float = LEASE_SECONDS
    tick_seconds: float = 0.5
    poll_seconds: float = 0.25
    report_timeout_seconds: float = 120.0
    max_call_seconds: float = 4 * 3600.0
    seed: int | None = None
    owner: str | None = None
    exit_when_idle: bool = False
    simulated_pace: bool = False


@dataclass
class RunResult:
    """How :meth:`CampaignRunner.run` ended: the campaign's ``state`` and ``reason``, and
    ``stopped`` when it returned because of :meth:`~CampaignRunner.stop`."""

    campaign_id: str
    state: str
    reason: str = ""
    stopped: bool = False
    attempts: int = 0


@dataclass
class _Slot:
    """One attempt in flight in this process."""

    lead: ClaimedLead
    task: asyncio.Task[None] | None = None
    attempt: AttemptRow | None = None
    settled: bool = False


class _Sql:
    """The runner's hot statements, built once per dialect with bound parameters (a
    statement built per call costs more than running it)."""

    def __init__(self, dialect: str):
        lead, attempt, trunk = campaign_leads, attempts, dial_trunks
        when = UTCDateTime()
        b = bindparam
        locking = dialect == "postgresql"
        self.lock_trunk = (
            select(trunk.c.tat).where(trunk.c.trunk_id == b("b_trunk")).with_for_update()
        )
        self.in_flight = (
            select(
                func.count(),
                func.sum(case((lead.c.campaign_id == b("b_campaign"), 1), else_=0)),
            )
            .select_from(lead.join(campaigns, campaigns.c.id == lead.c.campaign_id))
            .where(campaigns.c.trunk_id == b("b_trunk"), lead.c.state.in_(IN_FLIGHT_STATES))
        )
        self.inbound = (
            select(func.count())
            .select_from(calls)
            .where(
                calls.c.direction == "inbound",
                calls.c.status == "in_progress",
                calls.c.lease_expires_at > b("b_now", type_=when),
            )
        )
        mine = lead.c.campaign_id == b("b_campaign")
        due_at = b("b_now", type_=when)
        self.due = [
            select(lead.c.id)
            .where(mine, lead.c.state == "retry_wait", lead.c.not_before <= due_at)
            .order_by(lead.c.not_before)
            .limit(b("b_limit")),
            *(
                select(lead.c.id)
                .where(
                    mine,
                    lead.c.state == state,
                    or_(lead.c.not_before.is_(None), lead.c.not_before <= due_at),
                )
                .order_by(lead.c.not_before)
                .limit(b("b_limit"))
                for state in ("pending", "ready")
            ),
        ]
        if locking:
            self.due = [query.with_for_update(skip_locked=True) for query in self.due]
        self.claim = (
            update(lead)
            .where(lead.c.id.in_(b("b_ids", expanding=True)), lead.c.state.in_(DUE_STATES))
            .values(
                state="dialing",
                lease_owner=b("b_owner"),
                lease_expires_at=b("b_until", type_=when),
                updated_at=b("b_now", type_=when),
            )
            .returning(*_LEAD_COLUMNS)
        )
        owned = (lead.c.id == b("b_lead"), lead.c.lease_owner == b("b_owner"))
        self.touch_lead = (
            update(lead)
            .where(*owned, lead.c.state == "dialing")
            .values(updated_at=b("b_now", type_=when))
        )
        self.mark_in_call = (
            update(lead)
            .where(*owned, lead.c.state == "dialing")
            .values(state="in_call", updated_at=b("b_now", type_=when))
        )
        self.settle_lead = (
            update(lead)
            .where(*owned, lead.c.state.in_(IN_FLIGHT_STATES))
            .values(
                state=b("b_state"),
                state_reason=b("b_reason"),
                not_before=b("b_not_before", type_=when),
                disposition=func.coalesce(b("b_disposition", type_=String()), lead.c.disposition),
                attempts=b("b_attempts"),
                capacity_requeues=b("b_requeues"),
                callback_at=b("b_callback", type_=when),
                lease_owner=None,
                lease_expires_at=None,
                updated_at=b("b_now", type_=when),
            )
        )
        self.last_number = select(func.coalesce(func.max(attempt.c.number), 0)).where(
            attempt.c.lead_id == b("b_lead")
        )
        self.insert_attempt = (
            insert(attempt)
            .values(
                campaign_id=b("b_campaign"),
                lead_id=b("b_lead"),
                number=b("b_number"),
                phone=b("b_phone"),
                room_name=b("b_room"),
                call_id=b("b_room"),
                owner=b("b_owner"),
                started_at=b("b_started", type_=when),
                detail="",
                spent=1,
            )
            .returning(attempt.c.id)
        )
        self.advance_trunk = (
            update(trunk)
            .where(trunk.c.trunk_id == b("b_trunk"))
            .values(tat=b("b_tat", type_=when), updated_at=b("b_now", type_=when))
        )
        self.log_event = insert(campaign_events).values(
            campaign_id=b("b_campaign"),
            at=b("b_at", type_=when),
            kind=b("b_kind"),
            lead_id=b("b_lead"),
            detail=b("b_detail"),
        )
        self.close_attempt = (
            update(attempt)
            .where(attempt.c.id == b("b_attempt"), attempt.c.ended_at.is_(None))
            .values(
                ended_at=b("b_ended", type_=when),
                disposition=b("b_disposition"),
                sip_status=b("b_sip"),
                detail=b("b_detail"),
                spent=b("b_spent"),
            )
        )


_LEAD_COLUMNS = (
    campaign_leads.c.id,
    campaign_leads.c.campaign_id,
    campaign_leads.c.phone,
    campaign_leads.c.lead_json,
    campaign_leads.c.attempts,
    campaign_leads.c.capacity_requeues,
    campaign_leads.c.script,
    campaign_leads.c.callback_at,
)
_SQL: dict[str, _Sql] = {}


def _sql_for(dialect: str) -> _Sql:
    if dialect not in _SQL:
        _SQL[dialect] = _Sql(dialect)
    return _SQL[dialect]


# -- the runner ------------------------------------------------------------------------------


class CampaignRunner:
    """Runs one campaign until it completes, is canceled, or :meth:`stop` is called.

    ``campaign`` is a name or id. ``backend`` places the attempts (default: live
    :class:`~.live.LiveAttempts` or :class:`~.simulated.SimulatedAttempts` per ``mode``);
    ``clock`` is campaign time (default: real, or a :class:`~.clock.SimulatedClock` when
    simulated). Settings are the deployment's ``[dialer]`` with the campaign's overrides
    (:func:`~.overrides.effective_dialer`; re-read within a tick when they are edited);
    its calls run with the campaign's instructions and greeting
    (:func:`~.overrides.campaign_deployment`).

    Raises :class:`~.repo.CampaignError` for an unknown campaign and
    :class:`~.overrides.OverrideError` for overrides that no longer fit the deployment.
    """

    def __init__(
        self,
        deployment: Deployment,
        campaign: str,
        *,
        mode: Mode = "live",
        clock: Clock | None = None,
        backend: AttemptBackend | None = None,
        options: RunnerOptions | None = None,
        speed: float = 60.0,
    ):
        self.deployment = deployment
        self.store: Store = deployment.store
        self.options = options or RunnerOptions()
        self.campaign = repo.find_campaign(self.store, campaign)
        self.mode: Mode = mode
        self.owner = self.options.owner or process_owner()
        self.settings: DialerSection = deployment.config.dialer
        self.pacing: PacingSettings = self.settings.pacing
        self.call_deployment: Deployment = deployment
        self._settings_of: dict[str, Any] | None = None
        self._apply_settings()
        if clock is None:
            clock = (
                RealClock()
                if mode == "live"
                else _simulated_clock(self.store, self.campaign.id, speed)
            )
        self.clock = clock
        self._backend = backend
        self.rng = random.Random(self.options.seed)
        self.breaker = CircuitBreaker(self.pacing.breaker, clock=self.clock.monotonic)
        self._slots: dict[int, _Slot] = {}
        self._wake = asyncio.Event() if _has_loop() else None
        self._stopping = False
        self._holding = False
        self._attempts = 0
        self._renewed_at = 0.0
        self._checked_at = -1e9
        self._on_event: list[Callable[[CampaignEvent], None]] = []
        self._sql = _sql_for(self.store.dialect)

    def _apply_settings(self) -> None:
        """(Re)compute the campaign's effective ``[dialer]`` and call deployment from its
        overrides, when its settings changed. Raises
        :class:`~.overrides.OverrideError`."""
        from .overrides import campaign_deployment

        if self.campaign.settings == self._settings_of:
            return
        self.call_deployment = campaign_deployment(self.deployment, self.campaign)
        self.settings = self.call_deployment.config.dialer
        self.pacing = self.settings.pacing
        if self._settings_of is not None:
            self.breaker.settings = self.pacing.breaker
            logger.info("campaign %s: settings edited; applied", self.campaign.name)
        self._settings_of = self.campaign.settings

    def _refresh_settings(self) -> None:
        """:meth:`_apply_settings` during a run: overrides that no longer apply are
        logged and the previous settings kept."""
        from .overrides import OverrideError

        try:
            self._apply_settings()
        except OverrideError as exc:
            self._settings_of = self.campaign.settings  # said once, not every tick
            logger.error(
                "campaign %s: edited overrides not applied, keeping the previous ones: %s",
                self.campaign.name,
                exc,
            )

    # -- public ---------------------------------------------------------------------------

    @property
    def backend(self) -> AttemptBackend:
        if self._backend is None:
            if self.mode == "live":
                from .live import LiveAttempts

                self._backend = LiveAttempts(self.deployment, self.store, self.options)
            else:
                from .simulated import SimulatedAttempts

                self._backend = SimulatedAttempts(
                    self.deployment,
                    trunk_id=f"simulated:{self.campaign.id}",
                    seed=self.options.seed,
                    clock=self.clock.now,
                    sleep=self._campaign_sleep if self.options.simulated_pace else None,
                )
        return self._backend

    async def _campaign_sleep(self, campaign_seconds: float) -> None:
        await asyncio.sleep(self.clock.real_seconds(campaign_seconds))

    def check(self) -> None:
        """Fail before any call if the backend cannot run this campaign: live, the
        telephony settings (raised when the backend is made); simulated, the caller
        scripts (:class:`~voicekit_core.errors.ScriptError` naming the file)."""
        check = getattr(self.backend, "check", None)
        if check is not None:
            check(self.store, self.campaign.id)

    @property
    def in_flight(self) -> int:
        """Attempts this process is running now."""
        return len(self._slots)

    @property
    def holding_lease(self) -> bool:
        """Whether this process holds the campaign-runner lease."""
        return self._holding

    def on_event(self, callback: Callable[[CampaignEvent], None]) -> None:
        """Call ``callback(event)`` for every :class:`CampaignEvent` (the CLI's progress)."""
        self._on_event.append(callback)

    def stop(self) -> None:
        """Stop dialing; calls in flight finish, then :meth:`run` returns."""
        if not self._stopping:
            logger.info("campaign %s: stopping; waiting for calls in flight", self.campaign.name)
        self._stopping = True
        self._poke()

    def abort(self) -> None:
        """Cancel the calls in flight too (their leads are released for reconciliation)."""
        self.stop()
        for slot in list(self._slots.values()):
            if slot.task is not None:
                slot.task.cancel()

    async def run(self) -> RunResult:
        """Run the campaign (see the module docstring). Returns when it is completed or
        canceled, or after :meth:`stop` once nothing is in flight.

        Raises :class:`RunnerError` for a canceled campaign and
        :class:`~voicekit_core.store.StoreError` when the store fails.
        """
        self._wake = asyncio.Event()
        backend = self.backend
        self.check()
        self._start_campaign()
        try:
            while True:
                outcome = await self._run_once(backend)
                if outcome is not None:
                    return outcome
        finally:
            await self._drain(cancel=True)
            self._release_runner_lease()
            await backend.aclose()

    # -- campaign lifecycle -------------------------------------------------------------

    def _start_campaign(self) -> None:
        with self.store.write() as db:
            campaign = repo.get_campaign(db, self.campaign.id)
            if campaign.state == "canceled":
                raise RunnerError(f"campaign {campaign.name!r} is canceled; nothing to run")
            if campaign.state in ("draft", "scheduled"):
                repo.set_state(db, campaign.id, "running", f"started by {self.owner}")
            self.campaign = repo.get_campaign(db, campaign.id)

    async def _run_once(self, backend: AttemptBackend) -> RunResult | None:
        """One pass of the main loop; a result when :meth:`run` must return."""
        now_real = utcnow()
        if not self._holding:
            if self._stopping:
                return self._result(stopped=True)
            if not self._acquire_runner_lease(now_real):
                await self._sleep(self.options.tick_seconds)
                return None
            await self._emit("started", f"runner {self.owner} holds the lease ({self.mode})")
        elif self._due_renewal() and not self._renew_leases():
            logger.warning(
                "campaign %s: another process took the runner lease; standing by",
                self.campaign.name,
            )
            self._holding = False
            await self._drain(cancel=False)
            return None

        loop_time = asyncio.get_running_loop().time()
        if loop_time - self._checked_at >= self.options.tick_seconds:
            # once per tick, not on every wake-up: pause/cancel from elsewhere, dead dialers
            self._checked_at = loop_time
            previous = self.campaign.state
            self.campaign = repo.find_campaign(self.store, self.campaign.id)
            self._refresh_settings()
            if self.campaign.state == "running" and previous == "paused":
                self.breaker.reset()
                await self._emit("resumed", self.campaign.state_reason)
            elif self.campaign.state == "paused" and previous != "paused":
                await self._emit("paused", self.campaign.state_reason)
            if not self._stopping:
                await self.reconcile()
        state = self.campaign.state

        if state == "canceled":
            await self._drain(cancel=False)
            self._cancel_remaining()
            await self._emit("canceled", self.campaign.state_reason)
            return self._result()
        if state == "completed":
            return self._result()

        if self.breaker.is_open and state == "running":
            self._pause_for_breaker(self.breaker.reason or "circuit breaker open")
            return None

        wait = self.options.tick_seconds
        if state == "running" and not self._stopping:
            claimed, full = await self._db(self._claim)
            for lead in claimed:
                self._spawn(lead)
            if not claimed and not full and not self._slots:
                next_due, remaining = self._next_due()
                if remaining == 0:
                    self._complete()
                    return self._result()
                if next_due is not None:
                    ahead = (next_due - self.clock.now()).total_seconds()
                    if ahead > 0 and self.clock.jump_to(next_due):
                        logger.info(
                            "campaign %s: nothing in flight; clock jumped to %s",
                            self.campaign.name,
                            next_due.isoformat(timespec="seconds"),
                        )
                        return None
                    if ahead > 0 and self.options.exit_when_idle:
                        return self._result(stopped=True)
                    wait = min(wait, max(0.01, self.clock.real_seconds(ahead)))
                elif self.options.exit_when_idle and not self._in_flight_elsewhere():
                    return self._result(stopped=True)
            elif claimed and not full:
                wait = 0.0  # more may be due right away
        elif self._stopping and not self._slots:
            return self._result(stopped=True)
        await self._sleep(wait)
        return None

    def _result(self, stopped: bool = False) -> RunResult:
        campaign = repo.find_campaign(self.store, self.campaign.id)
        return RunResult(
            campaign.id, campaign.state, campaign.state_reason, stopped, self._attempts
        )

    def _complete(self) -> None:
        with self.store.write() as db:
            campaign = repo.get_campaign(db, self.campaign.id)
            if campaign.state != "running":
                return
            self.campaign = repo.set_state(db, campaign.id, "completed", "every lead is final")
        self._fire(self._event("completed", "every lead is final"))

    def _pause_for_breaker(self, reason: str) -> None:
        with self.store.write() as db:
            campaign = repo.get_campaign(db, self.campaign.id)
            if campaign.state != "running":
                return
            self.campaign = repo.set_state(db, campaign.id, "paused", f"circuit breaker: {reason}")
        logger.warning("campaign %s paused: circuit breaker: %s", self.campaign.name, reason)
        self._fire(self._event("paused", f"circuit breaker: {reason}"))

    def _cancel_remaining(self) -> None:
        """Every lead not final and not in flight becomes ``canceled``."""
        with self.store.write() as db:
            cancel_due_leads(db, self.campaign.id)

    # -- leases -----------------------------------------------------------------------------

    def _acquire_runner_lease(self, now: datetime) -> bool:
        trunk_id = self.backend.trunk_id
        with self.store.write() as db:
            result = db.execute(
                update(campaigns)
                .where(
                    campaigns.c.id == self.campaign.id,
                    or_(
                        campaigns.c.runner_owner.is_(None),
                        campaigns.c.runner_owner == self.owner,
                        campaigns.c.runner_expires_at.is_(None),
                        campaigns.c.runner_expires_at < now,
                    ),
                )
                .values(
                    runner_owner=self.owner,
                    runner_expires_at=now + timedelta(seconds=self.options.lease_seconds),
                    trunk_id=trunk_id,
                )
            )
            if result.rowcount != 1:
                return False
            self._ensure_trunk_row(db, now)
            repo.log_event(db, self.campaign.id, "runner", f"{self.owner} holds the runner lease")
        self._holding = True
        self._renewed_at = asyncio.get_running_loop().time()
        logger.info("campaign %s: runner lease taken by %s", self.campaign.name, self.owner)
        return True

    def _due_renewal(self) -> bool:
        return (
            asyncio.get_running_loop().time() - self._renewed_at >= self.options.lease_seconds / 3
        )

    def _renew_leases(self) -> bool:
        """Renew the runner lease and the leases of this process's leads in flight.
        Returns False if the runner lease was lost (leads are still renewed)."""
        now = utcnow()
        until = now + timedelta(seconds=self.options.lease_seconds)
        with self.store.write() as db:
            held = db.execute(
                update(campaigns)
                .where(campaigns.c.id == self.campaign.id, campaigns.c.runner_owner == self.owner)
                .values(runner_expires_at=until)
            ).rowcount
            if self._slots:
                db.execute(
                    update(campaign_leads)
                    .where(
                        campaign_leads.c.id.in_(list(self._slots)),
                        campaign_leads.c.lease_owner == self.owner,
                        campaign_leads.c.state.in_(IN_FLIGHT_STATES),
                    )
                    .values(lease_expires_at=until)
                )
        self._renewed_at = asyncio.get_running_loop().time()
        return held == 1

    def _release_runner_lease(self) -> None:
        if not self._holding:
            return
        try:
            with self.store.write() as db:
                db.execute(
                    update(campaigns)
                    .where(
                        campaigns.c.id == self.campaign.id, campaigns.c.runner_owner == self.owner
                    )
                    .values(runner_owner=None, runner_expires_at=None)
                )
        except Exception:  # the lease expires by itself
            logger.warning("campaign %s: could not release the runner lease", self.campaign.id)
        self._holding = False

    # -- claims -----------------------------------------------------------------------------

    def _ensure_trunk_row(self, db: Connection, now: datetime) -> None:
        """Create the trunk's pacing row if it is missing (once per runner lease)."""
        dialect = postgresql if self.store.dialect == "postgresql" else sqlite
        db.execute(
            dialect.insert(dial_trunks)
            .values(trunk_id=self.backend.trunk_id, tat=None, updated_at=now)
            .on_conflict_do_nothing(index_elements=["trunk_id"])
        )

    def _claim(self) -> tuple[list[ClaimedLead], bool]:
        """Lease due leads, as many as the campaign's and the trunk's free slots allow.
        Returns the claimed leads and whether the slots are now full.

        One write transaction: lock the trunk's row (claims of one trunk are serialised
        across processes), count calls in flight on the trunk and in this campaign, lease
        the leads that are due (retries first, then new leads, in import order).
        """
        room = self.pacing.max_concurrency - len(self._slots)
        if room <= 0 or (self._slots and room < min(4, self.pacing.max_concurrency // 4)):
            return [], True  # full, or wait for a few slots to claim them in one go
        sql, trunk_id = self._sql, self.backend.trunk_id
        now = self.clock.now()
        real_now = utcnow()
        with self.store.write() as db:
            db.execute(sql.lock_trunk, {"b_trunk": trunk_id}).first()
            trunk_active, campaign_active = db.execute(
                sql.in_flight, {"b_trunk": trunk_id, "b_campaign": self.campaign.id}
            ).one()
            inbound = 0
            if self.mode == "live":
                inbound = db.execute(sql.inbound, {"b_now": real_now}).scalar_one()
            free = dial_capacity(
                self.pacing,
                trunk_id,
                campaign_active=campaign_active or 0,
                trunk_outbound_active=trunk_active or 0,
                trunk_inbound_active=inbound,
            )
            if free <= 0:
                return [], True
            ids: list[int] = []
            for query in sql.due:
                ids += db.execute(
                    query,
                    {"b_campaign": self.campaign.id, "b_now": now, "b_limit": free - len(ids)},
                ).scalars()
                if len(ids) >= free:
                    break
            if not ids:
                return [], False
            rows = db.execute(
                sql.claim,
                {
                    "b_ids": ids,
                    "b_owner": self.owner,
                    "b_until": real_now + timedelta(seconds=self.options.lease_seconds),
                    "b_now": real_now,
                },
            ).all()
        claimed = [self._claimed(row) for row in rows]
        return claimed, len(claimed) >= free

    @staticmethod
    def _claimed(row: Any) -> ClaimedLead:
        return ClaimedLead(
            id=row.id,
            campaign_id=row.campaign_id,
            phone=row.phone,
            lead=_lead_of(row.lead_json, row.phone),
            attempts=row.attempts,
            capacity_requeues=row.capacity_requeues,
            script=row.script,
            callback_at=row.callback_at,
        )

    def _next_due(self) -> tuple[datetime | None, int]:
        """When the next lead of this campaign is due (campaign time; ``now`` if one is
        due already, None if none is waiting) and how many leads are not final."""
        lead = campaign_leads
        now = self.clock.now()
        mine = lead.c.campaign_id == self.campaign.id
        with self.store.read() as db:
            remaining = db.execute(
                select(func.count())
                .select_from(lead)
                .where(mine, lead.c.state.not_in(FINAL_STATES))
            ).scalar_one()
            due_now = db.execute(select(lead.c.id).where(mine, due_filter(now)).limit(1)).first()
            if due_now is not None:
                return now, remaining
            next_due = db.execute(
                select(func.min(lead.c.not_before)).where(mine, lead.c.state.in_(DUE_STATES))
            ).scalar()
        return next_due, remaining

    def _in_flight_elsewhere(self) -> bool:
        with self.store.read() as db:
            return bool(
                db.execute(
                    select(func.count())
                    .select_from(campaign_leads)
                    .where(
                        campaign_leads.c.campaign_id == self.campaign.id,
                        campaign_leads.c.state.in_(IN_FLIGHT_STATES),
                    )
                ).scalar_one()
            )

    # -- attempts ---------------------------------------------------------------------------

    def _spawn(self, lead: ClaimedLead) -> None:
        slot = _Slot(lead)
        self._slots[lead.id] = slot
        slot.task = asyncio.create_task(self._attempt(slot), name=f"lead {lead.id}")

    async def _attempt(self, slot: _Slot) -> None:
        """One lead: compliance, attempt row, dial, outcome. Releases the lead in
        ``finally`` whatever happens (cancellation included)."""
        lead = slot.lead
        try:
            attempt = await self._record_attempt(slot)
            if attempt is None:
                return  # skipped or deferred by compliance
            job = AttemptJob(
                self.campaign.id,
                lead,
                attempt,
                lambda: self._mark_in_call(slot),
                self.call_deployment,
            )
            try:
                outcome = await self.backend.place(job)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unexpected failure: the attempt failed
                logger.exception(
                    "campaign %s: attempt %s failed", self.campaign.id, attempt.room_name
                )
                outcome = AttemptOutcome(Disposition.FAILED, f"dialer error: {exc}"[:500])
            await self._settle(slot, outcome)
        except LeaseLost:
            slot.settled = True  # another process owns the lead now
            logger.warning("campaign %s: lead %s was taken over", self.campaign.id, lead.id)
        finally:
            if not slot.settled:
                self._release(slot)
            self._slots.pop(lead.id, None)
            self._poke()

    async def _db(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run a store transaction. On Postgres in a worker thread: the event loop keeps
        dialing while the server answers. On SQLite, a local file, inline: a thread hop
        costs more than the transaction (measured: dialing throughput drops by a quarter),
        and the threads of one process queue for the write lock in the store anyway. If
        the task is cancelled while a thread runs it, the transaction is still waited
        for, so what it wrote is known (it records that on the slot), then the
        cancellation goes on."""
        if self.store.dialect == "sqlite":
            return function(*args)
        future = asyncio.get_running_loop().run_in_executor(
            None, functools.partial(function, *args)
        )
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            while not future.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(future)
            raise

    async def _record_attempt(self, slot: _Slot) -> AttemptRow | None:
        """Check compliance at campaign time and, once the trunk's calls per second allow
        a new call, insert the attempt row (next number, deterministic room name), all in
        one write transaction per try; waits (campaign time) for the CPS token.

        A compliance veto settles the lead instead: ``skipped`` (final, e.g. DNC) or
        ``retry_wait`` until it may be called (calling hours, daily cap); returns None.
        Raises :class:`LeaseLost` if another process took the lead.
        """
        while True:
            kind, value = await self._db(self._try_record, slot)
            if kind == "attempt":
                self._attempts += 1
                return value
            if kind == "vetoed":
                self._fire(value)
                return None
            await asyncio.sleep(max(0.001, self.clock.real_seconds(value)))

    def _try_record(self, slot: _Slot) -> tuple[str, Any]:
        """One try of :meth:`_record_attempt` (a worker thread): ``("attempt", row)``,
        ``("vetoed", event)`` or ``("wait", campaign seconds until the CPS token)``."""
        from ..builtins.compliance import compliance_decision

        lead, sql, trunk_id = slot.lead, self._sql, self.backend.trunk_id
        limits = self.pacing.limits_for(trunk_id)
        interval = 1.0 / limits.calls_per_second
        tolerance = (limits.burst - 1) * interval
        now = self.clock.now()
        real_now = utcnow()
        with self.store.write() as db:
            decision = compliance_decision(
                db, self.call_deployment.config, lead.lead, now, lead.campaign_id
            )
            if not decision.allowed:
                event = self._veto_lead(db, slot, decision)
                slot.settled = True
                return "vetoed", event
            tat = db.execute(sql.lock_trunk, {"b_trunk": trunk_id}).scalar()
            start = max(tat or now, now)
            early = (start - now).total_seconds() - tolerance
            if early > 0:
                return "wait", early
            owned = db.execute(
                sql.touch_lead, {"b_lead": lead.id, "b_owner": self.owner, "b_now": real_now}
            ).rowcount
            if owned != 1:
                raise LeaseLost(lead.id)
            number = db.execute(sql.last_number, {"b_lead": lead.id}).scalar() + 1
            room = room_name(lead.campaign_id, lead.id, number)
            attempt_id = db.execute(
                sql.insert_attempt,
                {
                    "b_campaign": lead.campaign_id,
                    "b_lead": lead.id,
                    "b_number": number,
                    "b_phone": lead.phone,
                    "b_room": room,
                    "b_owner": self.owner,
                    "b_started": now,
                },
            ).scalar_one()
            db.execute(
                sql.advance_trunk,
                {
                    "b_trunk": trunk_id,
                    "b_tat": start + timedelta(seconds=interval),
                    "b_now": real_now,
                },
            )
            attempt = AttemptRow(attempt_id, lead.id, number, room, now)
        slot.attempt = attempt  # committed: from here on the call may exist
        return "attempt", attempt

    def _veto_lead(self, db: Connection, slot: _Slot, decision: Any) -> CampaignEvent:
        """Settle a lead compliance refused (inside the caller's transaction)."""
        lead = slot.lead
        if decision.final or decision.not_before is None:
            state, kind, not_before = "skipped", "skipped", None
        else:
            state, kind, not_before = "retry_wait", "deferred", decision.not_before
        reason = decision.reason[:2000]
        result = db.execute(
            self._sql.settle_lead,
            {
                "b_lead": lead.id,
                "b_owner": self.owner,
                "b_state": state,
                "b_reason": reason,
                "b_not_before": not_before,
                "b_disposition": None,
                "b_attempts": lead.attempts,
                "b_requeues": lead.capacity_requeues,
                "b_callback": lead.callback_at,
                "b_now": utcnow(),
            },
        )
        if result.rowcount != 1:
            raise LeaseLost(lead.id)
        self._log(db, kind, reason, lead.id)
        return CampaignEvent(kind, lead.campaign_id, self.clock.now(), reason, lead_id=lead.id)

    def _log(self, db: Connection, kind: str, detail: str, lead_id: int | None) -> None:
        """One activity-log line (``campaign_events``), like :func:`.repo.log_event`."""
        db.execute(
            self._sql.log_event,
            {
                "b_campaign": self.campaign.id,
                "b_at": utcnow(),
                "b_kind": kind,
                "b_lead": lead_id,
                "b_detail": detail,
            },
        )

    async def _mark_in_call(self, slot: _Slot) -> None:
        def mark() -> None:
            with self.store.write() as db:
                db.execute(
                    self._sql.mark_in_call,
                    {"b_lead": slot.lead.id, "b_owner": self.owner, "b_now": utcnow()},
                )

        await self._db(mark)

    async def _settle(self, slot: _Slot, outcome: AttemptOutcome) -> None:
        """Record the outcome: close the attempt, decide the lead's next state, log it,
        feed the breaker, broadcast ``attempt_ended``."""
        assert slot.attempt is not None
        if outcome.sip_status is not None and (
            outcome.sip_status >= 500
            or self.settings.retry.is_capacity_error(outcome.sip_status, outcome.sip_reason)
        ):
            outcome.trunk_error = True
        event = await self._db(
            self._apply_outcome, slot.lead, slot.attempt, outcome, self.owner, slot
        )
        if not outcome.vetoed:
            self.breaker.record(
                self.pacing.breaker.is_failure(outcome.disposition) or outcome.trunk_error,
                trunk_error=outcome.trunk_error,
                detail=outcome.detail[:200],
            )
        self._fire(event)

    def _apply_outcome(
        self,
        lead: ClaimedLead,
        attempt: AttemptRow,
        outcome: AttemptOutcome,
        owner: str,
        slot: _Slot,
    ) -> CampaignEvent:
        """Close ``attempt`` with ``outcome`` and move ``lead`` on, in one transaction
        (a worker thread); ``slot`` is marked settled once committed. Raises
        :class:`LeaseLost` (nothing written) when ``owner`` no longer holds the lead or the
        attempt was closed by another process."""
        now = self.clock.now()
        with self.store.write() as db:
            spent_before, requeues = lead.attempts, lead.capacity_requeues
            if outcome.vetoed:
                decision, spent = self._veto_decision(lead, outcome, attempt, now, db), False
            else:
                free = requeues < MAX_CAPACITY_REQUEUES
                decision = decide(
                    self.settings.retry,
                    outcome.disposition,
                    spent_before + 1,
                    now,
                    self.rng,
                    outcome.callback_at,
                    sip_status=outcome.sip_status if free else None,
                    sip_reason=(outcome.sip_reason or outcome.detail) if free else "",
                    capacity_requeues=requeues,
                )
                spent = decision.spends_attempt
            closed = db.execute(
                self._sql.close_attempt,
                {
                    "b_attempt": attempt.id,
                    "b_ended": now,
                    "b_disposition": outcome.disposition.value,
                    "b_sip": outcome.sip_status,
                    "b_detail": outcome.detail[:2000],
                    "b_spent": int(spent),
                },
            ).rowcount
            if closed != 1:
                raise LeaseLost(lead.id)
            if decision.action is RetryAction.FINAL:
                state, not_before = ("skipped" if outcome.vetoed else "done"), None
            else:
                state, not_before = "retry_wait", decision.not_before
            if not outcome.vetoed:
                requeues = requeues + 1 if decision.action is RetryAction.REQUEUE else 0
            moved = db.execute(
                self._sql.settle_lead,
                {
                    "b_lead": lead.id,
                    "b_owner": owner,
                    "b_state": state,
                    "b_reason": decision.reason[:2000],
                    "b_not_before": not_before,
                    "b_disposition": outcome.disposition.value,
                    "b_attempts": spent_before + int(spent),
                    "b_requeues": requeues,
                    "b_callback": outcome.callback_at or lead.callback_at,
                    "b_now": utcnow(),
                },
            ).rowcount
            if moved != 1:
                raise LeaseLost(lead.id)
            action = "vetoed" if outcome.vetoed else decision.action.value
            detail = (
                f"attempt {attempt.number} ({attempt.room_name}): {outcome.disposition.value}"
                f"{' - ' + outcome.detail if outcome.detail else ''}; {decision.reason}"
            )
            self._log(db, "attempt_ended", detail[:2000], lead.id)
        slot.settled = True
        return CampaignEvent(
            "attempt_ended",
            lead.campaign_id,
            now,
            detail,
            lead_id=lead.id,
            attempt=attempt.number,
            room_name=attempt.room_name,
            disposition=outcome.disposition.value,
            action=action,
        )

    def _veto_decision(
        self,
        lead: ClaimedLead,
        outcome: AttemptOutcome,
        attempt: AttemptRow,
        now: datetime,
        db: Connection,
    ) -> RetryDecision:
        """A ``before_dial`` hook refused at dial time: deferred when the compliance
        rules say when it may be called, otherwise final (skipped with the reason)."""
        from ..builtins.compliance import compliance_decision

        decision = compliance_decision(
            db,
            self.call_deployment.config,
            lead.lead,
            now,
            lead.campaign_id,
            exclude_room=attempt.room_name,
        )
        if not decision.allowed and not decision.final and decision.not_before is not None:
            return RetryDecision(RetryAction.REQUEUE, decision.reason, decision.not_before)
        return RetryDecision(RetryAction.FINAL, f"vetoed: {outcome.detail}")

    def _release(self, slot: _Slot) -> None:
        """``finally`` of an attempt that did not settle: a lead never dialed goes back to
        ``ready``; a lead whose call may exist gets an expired lease, so the next
        reconciliation (this process or another) finds out what happened."""
        real_now = utcnow()
        lead = slot.lead
        values: dict[str, Any]
        if slot.attempt is None:
            values = {"state": "ready", "lease_owner": None, "lease_expires_at": None}
        else:
            values = {"lease_expires_at": real_now - timedelta(seconds=1)}
        try:
            with self.store.write() as db:
                db.execute(
                    update(campaign_leads)
                    .where(
                        campaign_leads.c.id == lead.id,
                        campaign_leads.c.lease_owner == self.owner,
                        campaign_leads.c.state.in_(IN_FLIGHT_STATES),
                    )
                    .values(updated_at=real_now, **values)
                )
        except Exception:  # the lease expires by itself; reconciliation follows
            logger.warning("campaign %s: could not release lead %s", self.campaign.id, lead.id)

    async def _drain(self, *, cancel: bool) -> None:
        """Wait for the attempts in flight (cancelling them first with ``cancel``)."""
        tasks = [slot.task for slot in self._slots.values() if slot.task is not None]
        if cancel:
            for task in tasks:
                task.cancel()
        while self._slots:
            tasks = [slot.task for slot in self._slots.values() if slot.task is not None]
            if not tasks:
                break
            _done, _ = await asyncio.wait(tasks, timeout=self.options.lease_seconds / 3)
            if self._slots and self._due_renewal():
                with contextlib.suppress(Exception):  # leads in flight stay ours meanwhile
                    self._renew_leases()

    # -- reconciliation ---------------------------------------------------------------------

    async def reconcile(self) -> int:
        """Take over this campaign's leads in flight whose lease expired (their process
        died) and settle them: the journal's outcome if the call is finished, wait for it if
        the call may still be live, else the attempt failed. Returns how many were taken."""
        real_now = utcnow()
        lead = campaign_leads
        stale = or_(lead.c.lease_expires_at.is_(None), lead.c.lease_expires_at < real_now)
        with self.store.read() as db:
            waiting = db.execute(
                select(func.count())
                .select_from(lead)
                .where(
                    lead.c.campaign_id == self.campaign.id,
                    lead.c.state.in_(IN_FLIGHT_STATES),
                    stale,
                )
            ).scalar_one()
        if not waiting:
            return 0
        query = (
            select(lead.c.id, lead.c.lease_owner)
            .where(
                lead.c.campaign_id == self.campaign.id,
                lead.c.state.in_(IN_FLIGHT_STATES),
                stale,
                lead.c.id.not_in(list(self._slots) or [-1]),
            )
            .order_by(lead.c.id)
            .limit(100)
        )
        if self.store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.store.write() as db:
            rows = db.execute(query).all()
            if not rows:
                return 0
            previous = {row.id: row.lease_owner for row in rows}
            taken = db.execute(
                update(lead)
                .where(lead.c.id.in_(list(previous)), lead.c.state.in_(IN_FLIGHT_STATES), stale)
                .values(
                    lease_owner=self.owner,
                    lease_expires_at=real_now + timedelta(seconds=self.options.lease_seconds),
                    updated_at=real_now,
                )
                .returning(*_LEAD_COLUMNS)
            ).all()
            open_attempts = {
                row.lead_id: row
                for row in db.execute(
                    select(attempts).where(
                        attempts.c.lead_id.in_([row.id for row in taken]),
                        attempts.c.ended_at.is_(None),
                    )
                )
            }
        for row in taken:
            claimed = self._claimed(row)
            slot = _Slot(claimed)
            attempt = open_attempts.get(claimed.id)
            if attempt is not None:
                slot.attempt = AttemptRow(
                    attempt.id, claimed.id, attempt.number, attempt.room_name, attempt.started_at
                )
            logger.warning(
                "campaign %s: lead %s (lease of %s expired) taken over for reconciliation",
                self.campaign.name,
                claimed.id,
                previous.get(claimed.id),
            )
            self._slots[claimed.id] = slot
            slot.task = asyncio.create_task(
                self._reconcile_one(slot, previous.get(claimed.id)), name=f"reconcile {claimed.id}"
            )
        return len(taken)

    async def _reconcile_one(self, slot: _Slot, dead_owner: str | None) -> None:
        lead = slot.lead
        try:
            if slot.attempt is None:  # claimed, never recorded: never dialed
                with self.store.write() as db:
                    db.execute(
                        update(campaign_leads)
                        .where(
                            campaign_leads.c.id == lead.id,
                            campaign_leads.c.lease_owner == self.owner,
                        )
                        .values(
                            state="ready",
                            lease_owner=None,
                            lease_expires_at=None,
                            updated_at=utcnow(),
                        )
                    )
                    repo.log_event(
                        db,
                        lead.campaign_id,
                        "reconciled",
                        "released: its dialer stopped before dialing",
                        lead_id=lead.id,
                    )
                slot.settled = True
                return
            attempt = slot.attempt
            outcome = self._journaled_outcome(attempt.call_id, dead_owner)
            if outcome is None:
                exists = await self.backend.room_exists(attempt.room_name)
                if exists or self._call_in_progress(attempt.call_id):
                    job = AttemptJob(
                        self.campaign.id, lead, attempt, _nothing, self.call_deployment
                    )
                    self._mark_in_call_owned(lead.id)
                    outcome = await self.backend.adopt(job)
                else:
                    outcome = AttemptOutcome(
                        Disposition.FAILED,
                        "outcome unknown: its dialer stopped, the journal has no report and "
                        "no room is left",
                    )
            outcome.detail = f"reconciled: {outcome.detail}" if outcome.detail else "reconciled"
            await self._settle(slot, outcome)
        except LeaseLost:
            slot.settled = True
        finally:
            if not slot.settled:
                self._release(slot)
            self._slots.pop(lead.id, None)
            self._poke()

    def _mark_in_call_owned(self, lead_id: int) -> None:
        with self.store.write() as db:
            db.execute(
                update(campaign_leads)
                .where(campaign_leads.c.id == lead_id, campaign_leads.c.lease_owner == self.owner)
                .values(state="in_call", updated_at=utcnow())
            )

    def _call_in_progress(self, call_id: str) -> bool:
        with self.store.read() as db:
            status = db.execute(select(calls.c.status).where(calls.c.call_id == call_id)).scalar()
        return status == "in_progress"

    def _journaled_outcome(self, call_id: str, dead_owner: str | None) -> AttemptOutcome | None:
        """The outcome of ``call_id`` from the journal: its report if it ended; an
        ``in_progress`` row left by the dead dialer itself (a simulated call) is recovered
        as interrupted first. None when the journal has no ended call."""
        with self.store.read() as db:
            row = db.execute(
                select(calls.c.status, calls.c.lease_owner).where(calls.c.call_id == call_id)
            ).first()
        if row is None:
            return None
        if row.status == "in_progress":
            if not dead_owner or row.lease_owner != dead_owner:
                return None  # a worker still runs it (or its own lease will expire)
            with self.store.write() as db:  # the dialer that ran the call is gone
                db.execute(
                    update(calls)
                    .where(calls.c.call_id == call_id, calls.c.lease_owner == dead_owner)
                    .values(lease_expires_at=utcnow() - timedelta(seconds=1))
                )
            self.deployment.journal.recover_interrupted(self.deployment.post_call_plugins())
        return journaled_outcome(self.store, call_id)

    # -- events -----------------------------------------------------------------------------

    def _event(self, kind: str, detail: str = "") -> CampaignEvent:
        return CampaignEvent(kind, self.campaign.id, self.clock.now(), detail)

    async def _emit(self, kind: str, detail: str = "") -> None:
        self._fire(self._event(kind, detail))

    def _fire(self, event: CampaignEvent) -> None:
        """Tell local listeners, and broadcast ``campaign_event`` to plugins (in the
        background: a slow plugin never holds a lead's lease)."""
        for callback in self._on_event:
            try:
                callback(event)
            except Exception:
                logger.exception("campaign event listener failed")
        campaign = self.campaign
        if not self.deployment.pm.impls_in_call_order("campaign_event"):
            return
        task = asyncio.get_running_loop().create_task(
            self.deployment.pm.abroadcast("campaign_event", event=event, campaign=campaign)
        )
        _background.add(task)
        task.add_done_callback(_background.discard)

    # -- waiting ----------------------------------------------------------------------------

    def _poke(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self._wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)


_background: set[asyncio.Task[Any]] = set()


# -- helpers ---------------------------------------------------------------------------------


async def _nothing() -> None:
    return None


def room_name(campaign_id: str, lead_id: int, number: int) -> str:
    """The deterministic room name (= call id) of attempt ``number`` of a lead:
    ``vk-<campaign>-<lead>-<number>``; unique in ``attempts`` (never dialed twice)."""
    return f"vk-{campaign_id}-{lead_id}-{number}"


def _lead_of(lead_json: str, phone: str) -> Lead:
    from ..leads import _PHONE_CHECKED  # stored leads hold E.164 numbers checked at import

    try:
        return Lead.model_validate_json(lead_json, context={_PHONE_CHECKED: True})
    except ValueError:
        logger.warning("lead %s: stored lead is unreadable; dialing the number only", phone)
        return Lead.unknown(phone)


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _simulated_clock(store: Store, campaign_id: str, speed: float) -> Clock:
    """A simulated clock that resumes where an earlier simulated run of the campaign got
    to (its latest attempt), or starts at the wall clock."""
    from .clock import SimulatedClock

    with store.read() as db:
        latest = db.execute(
            select(func.max(attempts.c.started_at)).where(attempts.c.campaign_id == campaign_id)
        ).scalar()
    now = utcnow()
    return SimulatedClock(max(latest, now) if latest else now, speed=speed)


def callback_time(report: CallReport) -> datetime | None:
    """When the callee asked to be called back: ``report.data["callback"]["at"]`` (or
    ``report.data["callback_at"]``), ISO 8601 with an offset; None when absent or not an
    aware time."""
    return _callback_of(report.data)


def _callback_of(data: Any) -> datetime | None:
    if not isinstance(data, dict):
        return None
    nested = data.get("callback")
    raw = (nested.get("at") if isinstance(nested, dict) else None) or data.get("callback_at")
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return value if value.tzinfo is not None and value.utcoffset() is not None else None


_UNANSWERED = frozenset(
    {Disposition.BUSY, Disposition.NO_ANSWER, Disposition.DECLINED, Disposition.INVALID_NUMBER}
)


def _outcome(
    disposition: Disposition, reason: str, data: Any, status: str, report: CallReport | None
) -> AttemptOutcome:
    telephony = data.get("telephony") if isinstance(data, dict) else None
    sip_status = telephony.get("sip_status_code") if isinstance(telephony, dict) else None
    return AttemptOutcome(
        disposition,
        reason or ("interrupted" if status == "interrupted" else ""),
        sip_status=int(sip_status) if sip_status is not None else None,
        answered=sip_status is None and disposition not in _UNANSWERED,
        callback_at=_callback_of(data) if disposition is Disposition.CALLBACK_REQUESTED else None,
        report=report,
    )


def outcome_of_report(report: CallReport, *, status: str = "finished") -> AttemptOutcome:
    """An :class:`AttemptOutcome` from a report (SIP status from
    ``report.data["telephony"]``; callback time per :func:`callback_time`)."""
    return _outcome(report.disposition, report.disposition_reason, report.data, status, report)


_ENDED_CALL = select(calls.c.status, calls.c.report_json).where(
    calls.c.call_id == bindparam("b_call"), calls.c.status != "in_progress"
)


def journaled_outcome(store: Store, call_id: str) -> AttemptOutcome | None:
    """The outcome of a finished or interrupted call in the journal, else None (the
    report's JSON is read for the few fields the runner needs, not validated whole)."""
    with store.read() as db:
        row = db.execute(_ENDED_CALL, {"b_call": call_id}).first()
    if row is None:
        return None
    try:
        report = json.loads(row.report_json)
        disposition = Disposition.read(report["disposition"])
    except (ValueError, KeyError, TypeError):
        return AttemptOutcome(Disposition.FAILED, "the journaled report is unreadable")
    return _outcome(
        disposition,
        str(report.get("disposition_reason") or ""),
        report.get("data"),
        row.status,
        None,
    )


def cancel_due_leads(db: Connection, campaign_id: str) -> int:
    """In a write transaction: the campaign's leads not final and not in flight
    (:data:`DUE_STATES`) become ``canceled`` (their leases cleared), logged as one
    ``leads_canceled`` event; returns how many. Leads in flight are left to finish."""
    swept = db.execute(
        update(campaign_leads)
        .where(campaign_leads.c.campaign_id == campaign_id, campaign_leads.c.state.in_(DUE_STATES))
        .values(
            state="canceled",
            state_reason="campaign canceled",
            lease_owner=None,
            lease_expires_at=None,
            updated_at=utcnow(),
        )
    ).rowcount
    if swept:
        repo.log_event(db, campaign_id, "leads_canceled", f"{swept} leads")
    return swept


def due_filter(now: datetime) -> Any:
    """SQL condition: a lead that may be claimed at campaign time ``now``."""
    lead = campaign_leads
    return or_(
        and_(
            lead.c.state.in_(("pending", "ready")),
            or_(lead.c.not_before.is_(None), lead.c.not_before <= now),
        ),
        and_(lead.c.state == "retry_wait", lead.c.not_before <= now),
    )


__all__ = [
    "AttemptBackend",
    "AttemptJob",
    "AttemptOutcome",
    "AttemptRow",
    "CampaignEvent",
    "CampaignRunner",
    "ClaimedLead",
    "RunResult",
    "RunnerError",
    "RunnerOptions",
    "callback_time",
    "cancel_due_leads",
    "journaled_outcome",
    "outcome_of_report",
    "room_name",
]
