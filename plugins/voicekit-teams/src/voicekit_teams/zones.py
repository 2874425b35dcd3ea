"""Time zones as Microsoft Graph writes them -> Python ``tzinfo``.

Graph names zones three ways, and all three appear in ``getSchedule`` answers:

* Windows zone ids (``"Pacific Standard Time"``): mapped to IANA with tzlocal's
  ``windows_tz.win_tz``, which tzlocal generates from the Unicode CLDR ``windowsZones.xml``
  table (the "001" territory of each Windows id), then loaded with :mod:`zoneinfo`;
* IANA names (``"America/Los_Angeles"``) and ``UTC``: loaded as they are;
* a ``customTimeZone`` (``workingHours.timeZone`` of a mailbox whose zone has no Windows
  id): ``bias`` plus the ``standardOffset`` / ``daylightOffset`` transition rules, turned
  into a :class:`CustomZone`.

A name that is none of these raises :class:`UnknownTimeZone`: a time is never silently
read as UTC.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_NAMES = frozenset({"utc", "z", "etc/utc", "gmt", "tzone://microsoft/utc"})
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class UnknownTimeZone(ValueError):
    """A zone name that is neither Windows, IANA nor UTC (``name`` holds it)."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown time zone {name!r} (neither a Windows nor an IANA name)")


@lru_cache(maxsize=1)
def _windows_to_iana() -> dict[str, str]:
    from tzlocal.windows_tz import win_tz  # CLDR windowsZones, maintained by tzlocal

    return {name.lower(): iana for name, iana in win_tz.items()}


def windows_to_iana(name: str) -> str | None:
    """The IANA zone of Windows zone id ``name`` (case-insensitive), or None."""
    return _windows_to_iana().get(name.strip().lower())


@lru_cache(maxsize=256)
def zone_named(name: str) -> tzinfo:
    """``tzinfo`` for a Windows id, an IANA name or UTC. Raises :class:`UnknownTimeZone`."""
    text = (name or "").strip()
    if not text:
        raise UnknownTimeZone(name)
    if text.lower() in UTC_NAMES:
        return timezone.utc
    iana = windows_to_iana(text)
    if iana is not None:
        return ZoneInfo(iana)
    if "/" in text:
        try:
            return ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise UnknownTimeZone(name)


def zone_label(zone: tzinfo) -> str:
    """A short name for reports: the IANA key, ``UTC`` or the custom zone's summary."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    if zone is timezone.utc:
        return "UTC"
    return str(zone)


# -- custom time zones -------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """A yearly change of offset: the ``occurrence``-th (5 = last) ``weekday`` (0 = Monday)
    of ``month`` at wall-clock ``at``."""

    month: int
    weekday: int
    occurrence: int
    at: time

    def on(self, year: int) -> datetime:
        """The naive local wall time of this transition in ``year``."""
        first_weekday, days = calendar.monthrange(year, self.month)
        first = 1 + (self.weekday - first_weekday) % 7
        day = first + 7 * (max(1, self.occurrence) - 1)
        while day > days:  # occurrence 5 (or more) means the last one in the month
            day -= 7
        return datetime(year, self.month, day, self.at.hour, self.at.minute, self.at.second)


class CustomZone(tzinfo):
    """A Windows-style custom zone: ``UTC = local + bias`` in standard time and
    ``UTC = local + bias + daylight_bias`` while daylight saving time is in force.

    ``bias`` and ``daylight_bias`` are minutes with the Windows sign (Pacific: ``bias``
    480, ``daylight_bias`` -60), as in Microsoft's own getSchedule example. Without a
    daylight rule the offset is fixed.
    """

    def __init__(
        self,
        name: str,
        bias: int,
        *,
        daylight_bias: int = 0,
        daylight_starts: Transition | None = None,
        standard_starts: Transition | None = None,
    ) -> None:
        self.name = name or "custom"
        self.standard = timedelta(minutes=-bias)
        self.daylight = timedelta(minutes=-(bias + daylight_bias))
        rules = daylight_starts is not None and standard_starts is not None and daylight_bias
        self.daylight_starts = daylight_starts if rules else None
        self.standard_starts = standard_starts if rules else None

    def _in_daylight(self, wall: datetime) -> bool:
        if self.daylight_starts is None or self.standard_starts is None:
            return False
        wall = wall.replace(tzinfo=None)
        begins = self.daylight_starts.on(wall.year)
        ends = self.standard_starts.on(wall.year)
        if begins < ends:  # northern hemisphere
            return begins <= wall < ends
        return not ends <= wall < begins  # southern hemisphere: daylight spans new year

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None:
            return self.standard
        return self.daylight if self._in_daylight(dt) else self.standard

    def dst(self, dt: datetime | None) -> timedelta:
        return self.utcoffset(dt) - self.standard

    def tzname(self, dt: datetime | None) -> str:
        return self.name

    def fromutc(self, dt: datetime) -> datetime:
        naive = dt.replace(tzinfo=None)
        standard = naive + self.standard
        if self.daylight_starts is not None and self.standard_starts is not None:
            # transitions in UTC: daylight begins at a standard wall time, ends at a
            # daylight wall time
            begins = self.daylight_starts.on(standard.year) - self.standard
            ends = self.standard_starts.on(standard.year) - self.daylight
            inside = begins <= naive < ends if begins < ends else not ends <= naive < begins
            if inside:
                return (naive + self.daylight).replace(tzinfo=self)
        return standard.replace(tzinfo=self)

    def __repr__(self) -> str:
        return f"CustomZone({self.name!r}, {self})"

    def __str__(self) -> str:
        hours = self.standard.total_seconds() / 3600
        text = f"custom {self.name} (UTC{hours:+g}"
        if self.daylight_starts is not None:
            text += f", daylight UTC{self.daylight.total_seconds() / 3600:+g}"
        return text + ")"


def _weekday(value: Any) -> int:
    name = str(getattr(value, "value", value) or "").lower()
    return DAYS.index(name) if name in DAYS else 6


def _transition(offset: Any) -> Transition | None:
    if offset is None or not getattr(offset, "month", None):
        return None
    return Transition(
        month=int(offset.month),
        weekday=_weekday(offset.day_of_week),
        occurrence=int(offset.day_occurrence or 1),
        at=offset.time or time(0),
    )


def zone_from_graph(value: Any) -> tzinfo:
    """``tzinfo`` for a Graph ``timeZoneBase`` (SDK model): a ``customTimeZone`` with a
    ``bias`` becomes a :class:`CustomZone`, anything else is looked up by ``name``.
    Raises :class:`UnknownTimeZone`."""
    if value is None:
        raise UnknownTimeZone("")
    bias = getattr(value, "bias", None)
    if bias is not None:
        daylight = getattr(value, "daylight_offset", None)
        return CustomZone(
            value.name or "custom",
            int(bias),
            daylight_bias=int(getattr(daylight, "daylight_bias", 0) or 0),
            daylight_starts=_transition(daylight),
            standard_starts=_transition(getattr(value, "standard_offset", None)),
        )
    return zone_named(value.name or "")
