"""Pacing: how many calls may start now, how fast, and when a campaign must pause.

Three pure pieces the runner combines before each dial:

* :func:`dial_capacity`: free slots under the campaign's and the trunk's concurrency
  limits, keeping ``reserve_for_inbound`` trunk channels free for people calling in;
* :class:`TokenBucket`: the trunk's calls-per-second limit, shared by every campaign that
  dials through that trunk (one bucket per trunk per process);
* :class:`CircuitBreaker`: opens (the campaign pauses, with the reason recorded) when more
  than ``failure_ratio`` of the calls in the last ``window_seconds`` failed (with at least
  ``min_calls`` calls), or after ``consecutive_trunk_errors`` trunk errors in a row.

Deployment file::

    [dialer.pacing]
    max_concurrency = 5             # calls at once per campaign

    [dialer.pacing.trunk]           # every outbound trunk, shared by all campaigns
    max_concurrency = 10            # channels the carrier allows, inbound included
    calls_per_second = 1.0
    reserve_for_inbound = 2

    [dialer.pacing.trunks.ST_abc123]   # one trunk's own limits (replaces [trunk] for it)
    max_concurrency = 30
    calls_per_second = 5

    [dialer.pacing.breaker]
    window_seconds = 120
    min_calls = 5
    failure_ratio = 0.5
    consecutive_trunk_errors = 5

Clocks are injected: ``clock()`` returns seconds from any fixed origin that never goes
back (``time.monotonic`` by default).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from pydantic import Field, model_validator

from ..calls import Disposition
from ..strict import StrictModel

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TrunkLimits(StrictModel):
    """Limits of one SIP trunk, shared by every campaign dialing through it."""

    max_concurrency: int = Field(
        default=10, ge=1, le=100_000, description="calls at once on the trunk, inbound included"
    )
    calls_per_second: float = Field(default=1.0, gt=0, le=1000, description="new calls/second")
    burst: int = Field(
        default=1, ge=1, le=1000, description="calls that may start back to back (1: evenly spaced)"
    )
    reserve_for_inbound: int = Field(
        default=0, ge=0, description="channels outbound calls never take"
    )

    @model_validator(mode="after")
    def _room_for_outbound(self) -> TrunkLimits:
        if self.reserve_for_inbound >= self.max_concurrency:
            raise ValueError(
                f"reserve_for_inbound ({self.reserve_for_inbound}) must be less than "
                f"max_concurrency ({self.max_concurrency}), or no call could be dialed"
            )
        return self


class BreakerSettings(StrictModel):
    """``[dialer.pacing.breaker]``: when a campaign pauses by itself."""

    window_seconds: float = Field(default=120, gt=0, le=86_400, description="sliding window, s")
    min_calls: int = Field(
        default=5, ge=1, description="calls in the window before the ratio counts"
    )
    failure_ratio: float = Field(
        default=0.5, gt=0, le=1, description="opens when failed/calls exceeds this (1: never)"
    )
    consecutive_trunk_errors: int = Field(
        default=5, ge=1, description="opens after this many trunk errors in a row"
    )
    resume_after_seconds: float | None = Field(
        default=None, gt=0, description="close again by itself after this long; unset: manual"
    )
    failure_dispositions: frozenset[Disposition] = Field(
        default=frozenset({Disposition.FAILED}),
        description="dispositions that count as failed calls",
    )

    def is_failure(self, disposition: Disposition | str) -> bool:
        """Whether a call that ended with ``disposition`` counts as failed."""
        return Disposition(disposition) in self.failure_dispositions


class PacingSettings(StrictModel):
    """``[dialer.pacing]``: concurrency, calls per second and the circuit breaker."""

    max_concurrency: int = Field(
        default=5, ge=1, le=100_000, description="calls at once per campaign"
    )
    trunk: TrunkLimits = Field(default_factory=TrunkLimits, description="limits of every trunk")
    trunks: dict[str, TrunkLimits] = Field(
        default_factory=dict, description="limits by outbound trunk id, replacing `trunk`"
    )
    breaker: BreakerSettings = Field(default_factory=BreakerSettings)

    def limits_for(self, trunk_id: str) -> TrunkLimits:
        """The limits of trunk ``trunk_id`` (its own table, else ``trunk``)."""
        return self.trunks.get(trunk_id, self.trunk)


def dial_capacity(
    settings: PacingSettings,
    trunk_id: str,
    *,
    campaign_active: int,
    trunk_outbound_active: int,
    trunk_inbound_active: int = 0,
) -> int:
    """How many more calls this campaign may start now (never negative).

    ``campaign_active`` counts this campaign's live calls; ``trunk_outbound_active`` and
    ``trunk_inbound_active`` every live call on the trunk, all campaigns included. Outbound
    calls may use at most ``max_concurrency - reserve_for_inbound`` channels, and inbound
    calls beyond the reserve take channels from outbound.
    """
    limits = settings.limits_for(trunk_id)
    outbound_room = min(
        limits.max_concurrency - limits.reserve_for_inbound - trunk_outbound_active,
        limits.max_concurrency - trunk_outbound_active - trunk_inbound_active,
    )
    return max(0, min(settings.max_concurrency - campaign_active, outbound_room))


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, at most ``burst`` saved up (starts full).

    One call start takes one token. Not thread-safe; share one bucket per trunk within
    one event loop.
    """

    def __init__(self, rate: float, burst: float = 1, *, clock: Clock = time.monotonic):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    @classmethod
    def for_trunk(cls, limits: TrunkLimits, *, clock: Clock = time.monotonic) -> TokenBucket:
        """A bucket for a trunk's ``calls_per_second`` and ``burst``."""
        return cls(limits.calls_per_second, limits.burst, clock=clock)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)

    def wait_seconds(self) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        self._refill()
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def try_acquire(self) -> bool:
        """Take a token if one is available now; ``False`` leaves the bucket unchanged."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    async def acquire(self, sleep: Sleep = asyncio.sleep) -> None:
        """Wait (through ``sleep``, seconds) until a token is available, then take it."""
        while not self.try_acquire():
            await sleep(self.wait_seconds())


class CircuitBreaker:
    """Pauses a campaign whose calls keep failing; see :class:`BreakerSettings`.

    Feed it every finished attempt with :meth:`record`. Once open it stays open (and keeps
    its first ``reason``) until :meth:`reset`, or until ``resume_after_seconds`` have
    passed when that is set; either way the window and the error streak start afresh.
    """

    def __init__(self, settings: BreakerSettings, *, clock: Clock = time.monotonic):
        self.settings = settings
        self._clock = clock
        self._events: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._streak = 0
        self._reason: str | None = None
        self._opened_at = 0.0

    def record(self, failed: bool, *, trunk_error: bool = False, detail: str = "") -> None:
        """Record a finished attempt. ``trunk_error`` (the trunk or carrier refused the
        call, e.g. SIP 503) implies ``failed`` and extends the error streak; any other
        outcome ends the streak. ``detail`` (e.g. ``"SIP 503 Service Unavailable"``) goes
        into the reason. Attempts that end while the breaker is open are ignored."""
        if self.is_open:
            return
        now = self._clock()
        failed = failed or trunk_error
        self._prune(now)
        self._events.append((now, failed))
        self._failures += failed
        self._streak = self._streak + 1 if trunk_error else 0
        s = self.settings
        suffix = f" (last: {detail})" if detail else ""
        if trunk_error and self._streak >= s.consecutive_trunk_errors:
            self._open(now, f"{self._streak} consecutive trunk errors{suffix}")
            return
        calls = len(self._events)
        if calls >= s.min_calls and self._failures > s.failure_ratio * calls:
            self._open(
                now,
                f"{self._failures} of {calls} calls failed in the last {s.window_seconds:g} s "
                f"({100 * self._failures / calls:.0f} % > {100 * s.failure_ratio:g} %){suffix}",
            )

    @property
    def is_open(self) -> bool:
        """Whether the campaign must pause."""
        resume = self.settings.resume_after_seconds
        if (
            self._reason is not None
            and resume is not None
            and self._clock() - self._opened_at >= resume
        ):
            self.reset()
        return self._reason is not None

    @property
    def reason(self) -> str | None:
        """Why the breaker opened (for the campaign's recorded pause), ``None`` when closed."""
        return self._reason if self.is_open else None

    def window_counts(self) -> tuple[int, int]:
        """``(calls, failed)`` within the last ``window_seconds``."""
        self._prune(self._clock())
        return len(self._events), self._failures

    def reset(self) -> None:
        """Close the breaker (the campaign resumes) and forget the window and the streak."""
        self._events.clear()
        self._failures = 0
        self._streak = 0
        self._reason = None

    def _open(self, now: float, reason: str) -> None:
        self._reason = reason
        self._opened_at = now

    def _prune(self, now: float) -> None:
        horizon = now - self.settings.window_seconds
        while self._events and self._events[0][0] <= horizon:
            _, failed = self._events.popleft()
            self._failures -= failed
