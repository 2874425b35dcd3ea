"""Meeting slots: free time within working hours, offered in the prospect's timezone.

Shared by calendar plugins (the example's local calendar, voicekit-teams). All datetimes
are timezone-aware; storage is UTC; working hours are wall-clock times in the
organizer's IANA timezone, so daylight-saving changes move them correctly (zoneinfo).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_WEEKDAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}
_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
}


@dataclass(frozen=True)
class Interval:
    """A busy or free period, ``[start, end)``, timezone-aware."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class WorkingHours:
    """Bookable hours in ``timezone`` (IANA) on ``weekdays`` (0 = Monday)."""

    timezone: str = "America/New_York"
    start: time = time(9, 0)
    end: time = time(17, 0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)


def free_slots(
    busy: list[Interval],
    *,
    now: datetime,
    hours: WorkingHours,
    duration: timedelta = timedelta(minutes=30),
    notice: timedelta = timedelta(hours=2),
    days_ahead: int = 7,
    step: timedelta = timedelta(minutes=30),
    max_slots: int = 3,
    one_per_day: bool = True,
    attendee_hours: WorkingHours | None = None,
) -> list[Interval]:
    """Free slots of ``duration`` from ``now + notice`` over ``days_ahead`` days.

    Slots start on ``step`` boundaries of the organizer's wall clock, lie fully within
    working hours and overlap nothing in ``busy``. ``attendee_hours`` (the prospect's
    reasonable hours in their own timezone) must contain the slot too, so a 9:00 New York
    slot is not offered at 6:00 to someone in Los Angeles. With ``one_per_day`` the
    earliest free slot of each day is offered (callers prefer a choice of days). Returns
    UTC intervals. Raises ValueError if ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(hours.timezone)
    earliest = now + notice
    first_day = now.astimezone(zone).date()
    slots: list[Interval] = []
    for offset in range(days_ahead + 1):
        day = first_day + timedelta(days=offset)
        if day.weekday() not in hours.weekdays:
            continue
        for slot in _day_slots(day, zone, hours, duration, step):
            if slot.start < earliest or any(slot.overlaps(b) for b in busy):
                continue
            if attendee_hours is not None and not _within(slot, attendee_hours):
                continue
            slots.append(slot)
            if one_per_day:
                break
            if len(slots) >= max_slots:
                return slots
        if len(slots) >= max_slots:
            break
    return slots[:max_slots]


def _within(slot: Interval, hours: WorkingHours) -> bool:
    zone = ZoneInfo(hours.timezone)
    start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
    return (
        start.weekday() in hours.weekdays
        and start.date() == end.date()
        and hours.start <= start.time()
        and end.time() <= hours.end
    )


def _day_slots(
    day: date, zone: ZoneInfo, hours: WorkingHours, duration: timedelta, step: timedelta
) -> list[Interval]:
    # Walk the wall clock, then convert: a 9:00 start stays 9:00 local across DST changes.
    slots = []
    cursor = datetime.combine(day, hours.start, tzinfo=zone)
    close = datetime.combine(day, hours.end, tzinfo=zone)
    while cursor + duration <= close:
        start = cursor.astimezone(timezone.utc)
        slots.append(Interval(start, start + duration))
        cursor += step
    return slots


def spoken_label(moment: datetime, tz: str, language: str = "en") -> str:
    """How to say ``moment`` to someone in ``tz``: ``"Tuesday, November 24 at 10:30 AM PST"``
    (Spanish: ``"martes 24 de noviembre a las 10:30 (CET)"``)."""
    local = moment.astimezone(ZoneInfo(tz))
    abbreviation = local.tzname() or tz
    if language == "es":
        weekday = _WEEKDAYS["es"][local.weekday()]
        month = _MONTHS["es"][local.month - 1]
        return f"{weekday} {local.day} de {month} a las {local:%H:%M} ({abbreviation})"
    weekday = _WEEKDAYS["en"][local.weekday()]
    month = _MONTHS["en"][local.month - 1]
    hour = local.strftime("%I:%M %p").lstrip("0")
    return f"{weekday}, {month} {local.day} at {hour} {abbreviation}"


def parse_start(value: str) -> datetime:
    """An ISO 8601 start time with an offset (``2026-11-24T15:00:00+00:00``), as UTC.

    Raises ValueError for unparsable or naive values.
    """
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset")
    return moment.astimezone(timezone.utc)
