"""Calling windows in the called party's timezone: may this lead be dialed now, and if not, when?

The legal floor is 47 CFR 64.1200(c)(1): no telephone solicitation "before the hour of
8 a.m. or after 9 p.m. (local time at the called party's location)". Every window
configured here is clamped to 08:00-21:00 local unless ``override_legal_window = true``
(only for calls that are not telephone solicitations, e.g. a callback the person asked
for; state laws may be stricter, so narrow the hours or list holidays as they require).

The called party's location is the lead's own IANA timezone when the lead has one,
otherwise every timezone ``phonenumbers`` associates with the number. With several
candidate zones the lead is dialed only at instants that are inside a window in *all* of
them, and a number whose zone is unknown is never dialed (fail closed).

Deployment file::

    [dialer.calling_hours]
    daily = ["09:00-12:00", "13:00-20:00"]      # every weekday not listed in `weekly`
    weekly = { sat = ["10:00-14:00"], sun = [] } # per-day windows; [] = no calls that day
    holidays = [2026-12-25, 2027-01-01]          # local dates of the called party: no calls
    override_legal_window = false

Times are wall-clock ``HH:MM`` in the called party's timezone, windows are ``[start, end)``
and cannot cross midnight (``24:00`` ends a day). Wall-clock times are converted with
``zoneinfo``, so daylight-saving gaps and folds are exact: an instant is inside a window
when its local wall time is, whichever offset is in force.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone
from pydantic import Field, PrivateAttr, model_serializer, model_validator

from ..strict import StrictModel

#: 47 CFR 64.1200(c)(1): not before 8 a.m. ...
LEGAL_START_MINUTE = 8 * 60
#: ... nor after 9 p.m., local time at the called party's location (minutes after midnight).
LEGAL_END_MINUTE = 21 * 60
#: How far ahead (days) :func:`check_window` looks for the next open instant.
SEARCH_DAYS = 400
#: The zone ``phonenumbers`` reports for a number it cannot place.
UNKNOWN_ZONE = "Etc/Unknown"

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY_SECONDS = 86_400
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
#: Offsets are probed this often (seconds) to find DST transitions; no zone changes its
#: offset twice within six hours.
_PROBE_SECONDS = 6 * 3600
_CHUNK_SECONDS = 8 * _DAY_SECONDS


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


class TimeRange(StrictModel):
    """One wall-clock window ``[start, end)``, written ``"HH:MM-HH:MM"`` (``"08:00-21:00"``).

    ``start`` and ``end`` are minutes after local midnight; ``end`` may be ``24:00``.
    A window cannot cross midnight: split ``"22:00-02:00"`` into two days' windows.
    """

    start: int = Field(ge=0, le=1439, description="minutes after local midnight")
    end: int = Field(ge=1, le=1440, description="minutes after local midnight, exclusive")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            match = _RANGE.match(value)
            if not match:
                raise ValueError(f'{value!r} is not a window like "08:00-21:00"')
            sh, sm, eh, em = (int(part) for part in match.groups())
            return {"start": _minute_of(sh, sm, value), "end": _minute_of(eh, em, value)}
        if isinstance(value, dict) and isinstance(value.get("start"), str):
            text = f"{value['start']}-{value.get('end', '')}"
            return cls._parse(text)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(
                f"{self}: the end must be after the start (a window cannot cross midnight)"
            )
        return self

    @model_serializer
    def _text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _minute_of(hour: int, minute: int, text: str) -> int:
    if minute > 59 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"{text!r}: not a time of day (00:00 to 24:00)")
    return hour * 60 + minute


_LEGAL_DAY = [TimeRange(start=LEGAL_START_MINUTE, end=LEGAL_END_MINUTE)]


class CallingHours(StrictModel):
    """``[dialer.calling_hours]``: when leads may be called, in each lead's local time.

    ``daily`` applies to every weekday not listed in ``weekly``; ``weekly`` maps ``mon`` ..
    ``sun`` to that day's windows (``[]``: no calls). ``holidays`` are local dates of the
    called party with no calls. Windows are clamped to 08:00-21:00 (47 CFR
    64.1200(c)(1)) unless ``override_legal_window`` is true.
    """

    daily: list[TimeRange] = Field(
        default_factory=lambda: list(_LEGAL_DAY),
        description='windows "HH:MM-HH:MM" for days not listed in weekly',
    )
    weekly: dict[Weekday, list[TimeRange]] = Field(
        default_factory=dict, description="per-weekday windows (mon..sun); [] = no calls"
    )
    holidays: frozenset[date] = Field(
        default_factory=frozenset, description="local dates with no calls"
    )
    override_legal_window: bool = Field(
        default=False,
        description="allow windows outside 08:00-21:00 (never for telephone solicitation)",
    )

    _by_weekday: tuple[tuple[tuple[int, int], ...], ...] = PrivateAttr(default=())

    def model_post_init(self, __context: Any) -> None:
        self._by_weekday = tuple(
            self._effective(self.weekly.get(name, self.daily)) for name in WEEKDAYS
        )

    def _effective(self, ranges: list[TimeRange]) -> tuple[tuple[int, int], ...]:
        spans = sorted((r.start, r.end) for r in ranges)
        if not self.override_legal_window:
            spans = [
                (max(s, LEGAL_START_MINUTE), min(e, LEGAL_END_MINUTE))
                for s, e in spans
                if s < LEGAL_END_MINUTE and e > LEGAL_START_MINUTE
            ]
        merged: list[tuple[int, int]] = []
        for s, e in spans:
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        return tuple(merged)

    def windows_on(self, day: date) -> tuple[tuple[int, int], ...]:
        """The effective windows on local date ``day`` as ``(start, end)`` minutes after
        midnight: clamped unless overridden, merged, sorted; empty on holidays."""
        if day in self.holidays:
            return ()
        return self._by_weekday[day.weekday()]


@dataclass(frozen=True)
class WindowDecision:
    """May a lead be dialed at ``now``?

    ``reason`` is for people and logs. ``next_open`` is the earliest instant (aware, UTC)
    at or after ``now`` that is inside a window in every candidate zone: ``now`` itself
    when ``allowed``; ``None`` when the timezone is unknown or no such instant exists in
    the next :data:`SEARCH_DAYS` days (e.g. candidate zones too far apart to share hours).
    """

    allowed: bool
    reason: str
    next_open: datetime | None


def lead_timezones(lead_timezone: str | None, phone_e164: str) -> list[ZoneInfo]:
    """The candidate timezones of the called party.

    The lead's own IANA timezone when set (``"America/Chicago"``); otherwise every zone
    ``phonenumbers.timezone.time_zones_for_number`` gives for ``phone_e164`` (one for most
    geographic numbers, many for toll-free, mobile or non-geographic ones). An unknown
    number (``Etc/Unknown``) or a zone missing from the local tz database gives an empty
    list, which :func:`check_window` treats as "never dial" (fail closed).

    Raises ``ValueError`` if ``lead_timezone`` is not an IANA name or ``phone_e164`` is
    not a phone number.
    """
    if lead_timezone and lead_timezone != UNKNOWN_ZONE:
        try:
            return [ZoneInfo(lead_timezone)]
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {lead_timezone!r}") from None
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number {phone_e164!r} ({exc})") from None
    names = [n for n in phone_timezone.time_zones_for_number(number) if n != UNKNOWN_ZONE]
    try:
        return [ZoneInfo(name) for name in names]
    except (ZoneInfoNotFoundError, ValueError):
        return []  # a candidate we cannot place: fail closed rather than ignore it


def check_window(settings: CallingHours, zones: list[ZoneInfo], now: datetime) -> WindowDecision:
    """Decide whether ``now`` (aware; any timezone) is inside the calling hours of
    ``settings`` in every zone of ``zones`` (from :func:`lead_timezones`).

    Empty ``zones`` are refused ("timezone unknown: fail closed"). Raises ``ValueError``
    for a naive ``now``.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(timezone.utc)
    if not zones:
        return WindowDecision(False, "timezone unknown: fail closed", None)
    closed: list[str] = []
    inside: list[str] = []
    for zone in zones:
        local = now.astimezone(zone)
        spans = settings.windows_on(local.date())
        minute_second = local.hour * 3600 + local.minute * 60 + local.second
        if any(s * 60 <= minute_second < e * 60 for s, e in spans):
            inside.append(f"{_name(zone)} ({local:%H:%M})")
        elif local.date() in settings.holidays:
            closed.append(f"holiday in {_name(zone)} ({local:%Y-%m-%d})")
        elif not spans:
            closed.append(f"no calling hours on {_DAY_NAMES[local.weekday()]} in {_name(zone)}")
        else:
            closed.append(f"outside calling hours in {_name(zone)} ({local:%H:%M})")
    if not closed:
        return WindowDecision(True, "inside calling hours in " + _listing(inside), now)
    next_open = _next_open(settings, zones, now)
    reason = _listing(closed, sep="; ")
    if next_open is None:
        reason += f"; no common calling window in the next {SEARCH_DAYS} days"
    return WindowDecision(False, reason, next_open)


def _name(zone: ZoneInfo) -> str:
    return zone.key or str(zone)


def _listing(items: list[str], sep: str = ", ", limit: int = 3) -> str:
    shown = sep.join(items[:limit])
    return shown + (f"{sep}and {len(items) - limit} more" if len(items) > limit else "")


def _next_open(settings: CallingHours, zones: list[ZoneInfo], now: datetime) -> datetime | None:
    now_second = math.floor(now.timestamp())
    limit = now_second + SEARCH_DAYS * _DAY_SECONDS
    for chunk_start in range(now_second, limit, _CHUNK_SECONDS):
        chunk_end = min(chunk_start + _CHUNK_SECONDS, limit)
        common: list[tuple[int, int]] | None = None
        for zone in zones:
            spans = _allowed_spans(settings, zone, chunk_start, chunk_end)
            common = spans if common is None else _intersect(common, spans)
            if not common:
                break
        for lo, hi in common or ():
            opened = datetime.fromtimestamp(lo, timezone.utc)
            if hi > now.timestamp():
                return max(opened, now)
    return None


def _allowed_spans(
    settings: CallingHours, zone: ZoneInfo, start: int, end: int
) -> list[tuple[int, int]]:
    """Sorted, merged ``[lo, hi)`` epoch-second spans within ``[start, end)`` whose local
    wall time in ``zone`` is inside a window."""
    spans: list[tuple[int, int]] = []
    for a, b, offset in _offset_pieces(zone, start, end):
        # Within a piece the offset is constant, so local seconds = UTC seconds + offset.
        for day in range((a + offset) // _DAY_SECONDS, (b - 1 + offset) // _DAY_SECONDS + 1):
            midnight = day * _DAY_SECONDS - offset
            for s, e in settings.windows_on(date.fromordinal(day + _EPOCH_ORDINAL)):
                lo, hi = max(a, midnight + s * 60), min(b, midnight + e * 60)
                if lo < hi:
                    if spans and lo <= spans[-1][1]:
                        spans[-1] = (spans[-1][0], max(spans[-1][1], hi))
                    else:
                        spans.append((lo, hi))
    return spans


def _offset(zone: ZoneInfo, second: int) -> int:
    delta = datetime.fromtimestamp(second, zone).utcoffset()
    assert delta is not None  # a ZoneInfo always has an offset
    return int(delta.total_seconds())


def _offset_pieces(zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int, int]]:
    """Split ``[start, end)`` (epoch seconds) into ``(a, b, utc_offset_seconds)`` pieces of
    constant UTC offset, finding each DST transition to the second by bisection."""
    pieces: list[tuple[int, int, int]] = []
    piece_start, cursor, offset = start, start, _offset(zone, start)
    while cursor < end:
        probe = min(cursor + _PROBE_SECONDS, end) - 1  # last second of this step
        if _offset(zone, probe) == offset:
            cursor = probe + 1
            continue
        same, changed = cursor, probe  # offset(same) == offset != offset(changed)
        while changed - same > 1:
            middle = (same + changed) // 2
            if _offset(zone, middle) == offset:
                same = middle
            else:
                changed = middle
        pieces.append((piece_start, changed, offset))
        piece_start, cursor, offset = changed, changed, _offset(zone, changed)
    pieces.append((piece_start, end, offset))
    return pieces


def _intersect(left: list[tuple[int, int]], right: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    i = j = 0
    while i < len(left) and j < len(right):
        lo, hi = max(left[i][0], right[j][0]), min(left[i][1], right[j][1])
        if lo < hi:
            out.append((lo, hi))
        if left[i][1] < right[j][1]:
            i += 1
        else:
            j += 1
    return out
