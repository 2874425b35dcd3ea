"""The campaign runner's clock: real for live campaigns, simulated (sped up) offline.

The clock is *campaign time*: when a lead is due (``not_before``, ``callback_at``),
whether it is inside its calling hours, when an attempt started (``attempts.started_at``,
which the daily cap counts) and the circuit breaker's window. Leases are not campaign
time: they say whether a process is alive, so they always use the wall clock
(:func:`voicekit_core.calls.utcnow`).

* :class:`RealClock`: the wall clock, UTC.
* :class:`SimulatedClock`: starts at a given instant and runs ``speed`` times faster than
  the wall clock; :meth:`SimulatedClock.jump_to` moves it forward at once (the runner
  jumps to the next due lead when nothing is in flight), so a three-day retry schedule
  plays out in seconds.

Every ``now()`` is timezone-aware UTC; durations are seconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from ..calls import utcnow


class Clock(Protocol):
    """What the runner needs from a clock."""

    simulated: bool

    def now(self) -> datetime:
        """Campaign time: aware, UTC."""
        ...

    def monotonic(self) -> float:
        """Campaign seconds from a fixed origin; never goes back (the breaker's clock)."""
        ...

    def real_seconds(self, campaign_seconds: float) -> float:
        """Wall-clock seconds that ``campaign_seconds`` of campaign time take."""
        ...

    def jump_to(self, when: datetime) -> bool:
        """Move campaign time forward to ``when`` if the clock can; True if it moved."""
        ...


class RealClock:
    """The wall clock (UTC). It cannot jump."""

    simulated = False

    def now(self) -> datetime:
        return utcnow()

    def monotonic(self) -> float:
        return time.monotonic()

    def real_seconds(self, campaign_seconds: float) -> float:
        return max(0.0, campaign_seconds)

    def jump_to(self, when: datetime) -> bool:
        return False


class SimulatedClock:
    """Campaign time that starts at ``start`` (aware) and runs ``speed`` times faster
    than the wall clock (``speed`` > 0; 60 = one simulated minute per second).

    Raises ``ValueError`` for a naive ``start`` or a speed that is not positive.
    """

    simulated = True

    def __init__(self, start: datetime | None = None, *, speed: float = 60.0):
        if speed <= 0:
            raise ValueError(f"speed must be positive, got {speed}")
        start = start or utcnow()
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        self.speed = float(speed)
        self._origin = start.astimezone(timezone.utc)
        self._real_origin = time.monotonic()
        self._jumped = 0.0  # campaign seconds added by jumps

    def _elapsed(self) -> float:
        return (time.monotonic() - self._real_origin) * self.speed + self._jumped

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=self._elapsed())

    def monotonic(self) -> float:
        return self._elapsed()

    def real_seconds(self, campaign_seconds: float) -> float:
        return max(0.0, campaign_seconds) / self.speed

    def jump_to(self, when: datetime) -> bool:
        ahead = (when - self.now()).total_seconds()
        if ahead <= 0:
            return False
        self._jumped += ahead
        return True

    async def sleep(self, campaign_seconds: float) -> None:
        """Sleep ``campaign_seconds`` of campaign time."""
        await asyncio.sleep(self.real_seconds(campaign_seconds))

    def __repr__(self) -> str:
        return f"SimulatedClock(now={self.now():%Y-%m-%d %H:%M:%S} UTC, speed={self.speed:g})"
