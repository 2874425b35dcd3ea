"""Retry policy: after an attempt ends, is the lead done, retried later, or put back in line?

Deployment file (delays are in **minutes**; the n-th retry waits the n-th delay, and past
the end of a list the last delay repeats; ``[]`` turns retries off for that disposition)::

    [dialer.retry]
    max_attempts = 4                       # attempts per lead and campaign, the first included
    jitter = 0.1                           # each delay is scaled by 1 +/- up to 10 %
    never_retry = ["do_not_call", "wrong_number", "invalid_number", "not_interested",
                   "meeting_booked", "qualified", "disqualified", "transferred", "completed"]

    [dialer.retry.delays]                  # merged over the defaults below
    busy = [10, 30]
    no_answer = [60, 240, 1440]
    failed = [5]
    voicemail = []
    callback_requested = [1440]            # when the person gave no time

Dispositions are :class:`voicekit_core.calls.Disposition` values: the built-ins and those
the deployment declares (``[dispositions]``, a plugin's ``register_dispositions``; an
unknown name is a ``voicekit check`` error naming the key). A disposition with no delay
list and not in ``never_retry`` (e.g. ``declined``, ``nurture``, ``ticket_created``) is
final too.

Carrier capacity errors (SIP 429 and 503, a SIP 403 whose reason names a channel or rate
limit, a calls-per-second rejection) are not the lead's fault: the lead is requeued
without spending an attempt, after an exponential back-off in **seconds** capped at
``capacity_backoff_max_seconds``. The pacing circuit breaker is what stops a campaign
whose trunk keeps refusing.

Calling windows are not applied here: the runner dials at the later of ``not_before`` and
:func:`voicekit_core.campaigns.windows.check_window`'s ``next_open``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from ..calls import Disposition
from ..strict import StrictModel

#: Never called again, whatever the settings say: calling them is unlawful or pointless.
ALWAYS_FINAL: frozenset[Disposition] = frozenset(
    {Disposition.DNC, Disposition.WRONG_NUMBER, Disposition.INVALID_NUMBER}
)

DEFAULT_NEVER_RETRY: frozenset[Disposition] = ALWAYS_FINAL | {
    Disposition.NOT_INTERESTED,
    Disposition.MEETING_BOOKED,
    Disposition.QUALIFIED,
    Disposition.DISQUALIFIED,
    Disposition.TRANSFERRED,
    Disposition.COMPLETED,
}

#: Default delays in minutes; ``[dialer.retry.delays]`` is merged over these.
DEFAULT_DELAYS: dict[Disposition, tuple[float, ...]] = {
    Disposition.BUSY: (10, 30),
    Disposition.NO_ANSWER: (60, 240, 1440),
    Disposition.FAILED: (5,),
    Disposition.VOICEMAIL: (),
    Disposition.CALLBACK_REQUESTED: (1440,),
}

_MAX_BACKOFF_EXPONENT = 32
_SHARED_RNG = random.Random()

Minutes = Annotated[float, Field(ge=0, le=60 * 24 * 366)]


class RetrySettings(StrictModel):
    """``[dialer.retry]``: attempts and delays per disposition. See the module docstring."""

    max_attempts: int = Field(
        default=4, ge=1, le=50, description="attempts per lead and campaign, the first included"
    )
    delays: dict[Disposition, list[Minutes]] = Field(
        default_factory=lambda: {d: list(v) for d, v in DEFAULT_DELAYS.items()},
        description="minutes before each retry, per disposition; merged over the defaults",
    )
    never_retry: frozenset[Disposition] = Field(
        default=DEFAULT_NEVER_RETRY,
        description="final dispositions; must include do_not_call, wrong_number, invalid_number",
    )
    jitter: float = Field(
        default=0.1, ge=0, lt=1, description="fraction: each delay is scaled by 1 +/- up to this"
    )
    capacity_sip_statuses: frozenset[int] = Field(
        default=frozenset({429, 503}),
        description="SIP statuses that mean the carrier is out of capacity",
    )
    capacity_reasons: list[str] = Field(
        default_factory=lambda: [
            "channel limit",
            "channels exceeded",
            "capacity",
            "calls per second",
            "cps",
            "rate limit",
            "too many",
            "concurrent",
            "resource exhausted",
            "resource_exhausted",
        ],
        description="case-insensitive words in a SIP reason or error that mean the same",
    )
    capacity_backoff_seconds: float = Field(
        default=5, gt=0, le=3600, description="first back-off after a capacity error, seconds"
    )
    capacity_backoff_max_seconds: float = Field(
        default=300, gt=0, le=86_400, description="cap of the doubling back-off, seconds"
    )

    @field_validator("delays", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        if isinstance(value, dict):
            merged: dict[Any, Any] = {d.value: list(v) for d, v in DEFAULT_DELAYS.items()}
            merged.update(value)
            return merged
        return value

    @field_validator("never_retry")
    @classmethod
    def _keeps_always_final(cls, value: frozenset[Disposition]) -> frozenset[Disposition]:
        missing = sorted(d.value for d in ALWAYS_FINAL - value)
        if missing:
            raise ValueError(
                f"must include {', '.join(missing)}: calling them again is never allowed"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RetrySettings:
        clash = sorted(d.value for d in self.never_retry if self.delays.get(d))
        if clash:
            raise ValueError(
                f"delays.{clash[0]}: {', '.join(clash)} also in never_retry; "
                "remove it from one of them"
            )
        if self.capacity_backoff_max_seconds < self.capacity_backoff_seconds:
            raise ValueError(
                "capacity_backoff_max_seconds must be at least capacity_backoff_seconds"
            )
        return self

    def is_capacity_error(self, sip_status: int | None, reason: str = "") -> bool:
        """Whether a failed attempt was refused for carrier capacity (not the callee):
        a status in ``capacity_sip_statuses``, or a 403 / no status whose ``reason`` (SIP
        reason phrase or error text) contains one of ``capacity_reasons``."""
        if sip_status is not None and sip_status in self.capacity_sip_statuses:
            return True
        if sip_status not in (None, 403) or not reason:
            return False
        return _mentions_any(reason, self.capacity_reasons)


def _mentions_any(text: str, words: list[str]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"\b{re.escape(word.lower())}\b", lowered) for word in words)


class RetryAction(str, Enum):
    """What the runner does with the lead."""

    FINAL = "final"  # done: no more attempts in this campaign
    RETRY = "retry"  # dial again at not_before; the attempt counted
    REQUEUE = "requeue"  # dial again at not_before; the attempt did not count


@dataclass(frozen=True)
class RetryDecision:
    """The outcome of :func:`decide`. ``not_before`` is aware UTC-comparable, ``None`` when
    final; ``reason`` is for people and logs."""

    action: RetryAction
    reason: str
    not_before: datetime | None = None

    @property
    def spends_attempt(self) -> bool:
        """Whether the ended attempt counts towards ``max_attempts``."""
        return self.action is not RetryAction.REQUEUE


def decide(
    settings: RetrySettings,
    disposition: Disposition | str,
    attempt_number: int,
    now: datetime,
    rng: random.Random | None = None,
    callback_at: datetime | None = None,
    *,
    sip_status: int | None = None,
    sip_reason: str = "",
    capacity_requeues: int = 0,
) -> RetryDecision:
    """Decide what follows attempt number ``attempt_number`` (1 = the first call) that
    ended with ``disposition`` at ``now`` (aware).

    In order: a ``never_retry`` disposition is final; a carrier capacity error
    (:meth:`RetrySettings.is_capacity_error` on ``sip_status``/``sip_reason``) requeues
    after ``capacity_backoff_seconds * 2 ** capacity_requeues`` seconds (capped, jittered),
    where ``capacity_requeues`` is how many times in a row this lead was already requeued
    so; reaching ``max_attempts`` is final; ``callback_requested`` with ``callback_at``
    (aware) retries at that time (or ``now`` if it has passed), without jitter; otherwise
    the disposition's delay list gives the wait in minutes (jittered by ``rng``, a
    ``random.Random``; ``None`` uses the module's shared generator).

    Raises ``ValueError`` for an unknown disposition, ``attempt_number < 1``, negative
    ``capacity_requeues`` or a naive ``now``/``callback_at``.
    """
    disposition = Disposition(disposition)
    if attempt_number < 1:
        raise ValueError(f"attempt_number must be at least 1, got {attempt_number}")
    if capacity_requeues < 0:
        raise ValueError(f"capacity_requeues must not be negative, got {capacity_requeues}")
    _require_aware(now, "now")
    rng = rng or _SHARED_RNG

    if disposition in settings.never_retry:
        return RetryDecision(RetryAction.FINAL, f"{disposition.value} is final")
    if settings.is_capacity_error(sip_status, sip_reason):
        base = settings.capacity_backoff_seconds * 2 ** min(
            capacity_requeues, _MAX_BACKOFF_EXPONENT
        )
        seconds = _jittered(min(base, settings.capacity_backoff_max_seconds), settings, rng)
        cause = f"SIP {sip_status}" if sip_status is not None else "carrier refused"
        return RetryDecision(
            RetryAction.REQUEUE,
            f"carrier capacity ({cause}{': ' + sip_reason if sip_reason else ''}); "
            f"requeued without spending an attempt, back off {seconds:.0f} s",
            now + timedelta(seconds=seconds),
        )
    if attempt_number >= settings.max_attempts:
        return RetryDecision(
            RetryAction.FINAL, f"max attempts reached ({attempt_number} of {settings.max_attempts})"
        )
    if disposition is Disposition.CALLBACK_REQUESTED and callback_at is not None:
        _require_aware(callback_at, "callback_at")
        return RetryDecision(RetryAction.RETRY, "callback requested", max(callback_at, now))
    delays = settings.delays.get(disposition)
    if delays is None:
        return RetryDecision(RetryAction.FINAL, f"no retry rule for {disposition.value}")
    if not delays:
        return RetryDecision(RetryAction.FINAL, f"retries are off for {disposition.value}")
    minutes = _jittered(delays[min(attempt_number, len(delays)) - 1], settings, rng)
    return RetryDecision(
        RetryAction.RETRY,
        f"{disposition.value}: retry {attempt_number} of {settings.max_attempts - 1} "
        f"in {minutes:.0f} min",
        now + timedelta(minutes=minutes),
    )


def next_allowed_by_daily_cap(
    attempts: Iterable[datetime], now: datetime, limit: int
) -> datetime | None:
    """The per-lead cap across campaigns (``max_attempts_per_lead_per_day``) as a rolling
    24 hours: ``None`` if another attempt is allowed at ``now``, else the instant the
    oldest of the last ``limit`` attempts (aware datetimes, any order) is 24 hours old.
    Raises ``ValueError`` for ``limit < 1`` or naive datetimes."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    _require_aware(now, "now")
    day = timedelta(hours=24)
    recent = sorted(t for t in attempts if _require_aware(t, "attempt") > now - day)
    if len(recent) < limit:
        return None
    return recent[-limit] + day


def _jittered(value: float, settings: RetrySettings, rng: random.Random) -> float:
    if not settings.jitter or not value:
        return value
    return value * (1 + rng.uniform(-settings.jitter, settings.jitter))


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value
