"""When a caller means: read a spoken day and time ("tomorrow afternoon", "Tuesday at 3")
or an ISO 8601 datetime into an aware local datetime.

A small documented parser for the phrases people use on the phone, in English and
Spanish (no ``dateparser``: it is heavy and guesses more than a phone agent should).
:func:`scan` reads the words into a :class:`Phrase` (no clock needed); :func:`resolve`
places it on the calendar relative to ``now`` in the caller's timezone.

What is understood (case-insensitive, anywhere in the sentence):

* ISO 8601: ``2026-11-24T15:00`` (a naive time is read in the caller's timezone; one with
  ``Z`` or an offset is converted to it), ``2026-11-24`` (a date alone).
* Days: ``today``/``tonight``/``this afternoon``, ``tomorrow``, ``the day after tomorrow``,
  weekday names (the next such day *after* today: "Tuesday" said on a Tuesday is in a week;
  "next Tuesday" is the same day), ``next week`` (next Monday), ``November 24`` /
  ``24th of November`` (this year, or next year once passed). Spanish: ``hoy``,
  ``esta tarde``, ``mañana``, ``pasado mañana``, ``el martes``, ``la semana que viene``,
  ``24 de noviembre``.
* Times: ``3pm``, ``3:30 p.m.``, ``15:00``, ``noon``, ``at 3`` / ``three o'clock`` /
  ``a las 3``. An hour without am/pm is read as the afternoon from 1 to 7, the morning
  from 8 to 11, unless a part of the day says otherwise ("at 9 in the evening").
* Parts of the day: morning 10:00, afternoon 14:00, evening / tonight 18:00 (Spanish
  ``por la mañana`` / ``tarde`` / ``noche``); a day named without a time means 10:00.
* Relative: ``in 20 minutes``, ``in two hours``, ``in half an hour``, ``in 3 days``
  (``en dos horas``, ``en media hora``). Minutes and hours are exact; days and weeks keep
  the current time unless a time or part of the day is also given.

A time of day without a day ("at 3pm", "in the afternoon") is today, or tomorrow once
that time has passed. Results are truncated to the minute. Anything else raises
:class:`UnknownTime`; checking that the result is in the future (and not too far) is the
caller's job (:mod:`voicekit_core.callbacks`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from .scheduling import _MONTHS as _MONTH_NAMES
from .scheduling import _WEEKDAYS as _DAY_NAMES

#: Clock time of a part of the day (24 h).
PARTS_OF_DAY: dict[str, time] = {
    "morning": time(10, 0),
    "afternoon": time(14, 0),
    "evening": time(18, 0),
}
#: The time of a day named without a time or part of the day ("tomorrow", "Tuesday").
DEFAULT_TIME = time(10, 0)
#: Longest text read (characters); a sentence naming a time is far shorter.
MAX_CHARS = 200


class UnknownTime(ValueError):
    """The text names no day or time :func:`scan` understands (or an impossible date)."""


_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty-five": 45,
    "a couple of": 2,
    "a couple": 2,
    "a few": 3,
    "un": 1,
    "una": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "quince": 15,
    "veinte": 20,
    "treinta": 30,
}
_NUMBER = r"\d{1,3}|" + "|".join(sorted(map(re.escape, _NUMBERS), key=len, reverse=True))
_HOUR_WORD = (
    r"\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce"
)

_WEEKDAYS = {
    0: ("monday", "lunes"),
    1: ("tuesday", "martes"),
    2: ("wednesday", "miércoles", "miercoles"),
    3: ("thursday", "jueves"),
    4: ("friday", "viernes"),
    5: ("saturday", "sábado", "sabado"),
    6: ("sunday", "domingo"),
}
_MONTHS = {
    1: ("january", "jan", "enero"),
    2: ("february", "feb", "febrero"),
    3: ("march", "mar", "marzo"),
    4: ("april", "apr", "abril"),
    5: ("may", "mayo"),
    6: ("june", "jun", "junio"),
    7: ("july", "jul", "julio"),
    8: ("august", "aug", "agosto"),
    9: ("september", "sept", "sep", "septiembre", "setiembre"),
    10: ("october", "oct", "octubre"),
    11: ("november", "nov", "noviembre"),
    12: ("december", "dec", "diciembre"),
}
_MONTH_BY_NAME = {name: month for month, names in _MONTHS.items() for name in names}
_MONTH = "|".join(sorted(_MONTH_BY_NAME, key=len, reverse=True))

_ISO = re.compile(
    r"\b(\d{4}-\d{2}-\d{2})(?:[t ](\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)\s*(z|[+-]\d{2}:?\d{2})?)?\b"
)
_RELATIVE = re.compile(
    rf"\b(?:in|en|within)\s+(?:about\s+|around\s+|unos?\s+|unas\s+)?"
    rf"(?P<n>half\s+an?|media|{_NUMBER})\s*"
    r"(?P<unit>minutes?|mins?|minutos?|hours?|hrs?|horas?|days?|d[ií]as?|weeks?|semanas?)\b"
)
_DAY_OFFSETS = (
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\bpasado\s+ma[ñn]ana\b"), 2),
    (re.compile(r"\btomorrow\b|(?<!la )(?<!esta )(?<!pasado )\bma[ñn]ana\b"), 1),
    (
        re.compile(
            r"\btoday\b|\btonight\b|\bthis\s+(?:morning|afternoon|evening)\b|\blater\s+today\b|"
            r"\bhoy\b|\besta\s+(?:ma[ñn]ana|tarde|noche)\b"
        ),
        0,
    ),
)
_WEEKDAY = re.compile(
    r"\b(" + "|".join(name for names in _WEEKDAYS.values() for name in names) + r")\b"
)
_NEXT_WEEK = re.compile(
    r"\bnext\s+week\b|\bla\s+(?:semana\s+que\s+viene|pr[óo]xima\s+semana)\b|\bsemana\s+que\s+viene\b"
)
_MONTH_DAY = re.compile(rf"\b(?P<month>{_MONTH})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b")
# "3 may work" is not the 3rd of May: after a bare number, "may" is a verb
_DAY_MONTH = re.compile(
    r"\b(?P<day>\d{1,2})(?:(?:st|nd|rd|th)\s+(?:of\s+)?|\s+(?:of|de)\s+|\s+(?!may\b))"
    rf"(?P<month>{_MONTH})\b"
)
_AM_PM = re.compile(
    rf"\b(?P<h>{_HOUR_WORD})(?::(?P<m>\d{{2}}))?\s*(?P<ampm>a\.?\s?m\b\.?|p\.?\s?m\b\.?)"
)
_24H = re.compile(r"\b(?P<h>[01]?\d|2[0-3])[:h](?P<m>[0-5]\d)\b")
_AT_HOUR = re.compile(
    rf"\b(?:at|around|about|after|by|a\s+las|a\s+la|sobre\s+las|hacia\s+las)\s+"
    rf"(?P<h>{_HOUR_WORD})(?:\s*o'?clock)?\b"
)
_OCLOCK = re.compile(
    rf"\b(?P<h>{_HOUR_WORD})(?:\s*o'?clock\b|\s+(?=(?:in\s+the|de\s+la|por\s+la)\s+"
    r"(?:morning|afternoon|evening|night|ma[ñn]ana|tarde|noche)\b))"
)
_NOON = re.compile(r"\b(?:noon|midday|mediod[ií]a)\b")
_PARTS = (
    ("morning", re.compile(r"\bmorning\b|\b(?:por|en|de)\s+la\s+ma[ñn]ana\b|\besta\s+ma[ñn]ana\b")),
    ("afternoon", re.compile(r"\bafternoon\b|(?<!más )(?<!mas )\btarde\b")),
    ("evening", re.compile(r"\bevening\b|\btonight\b|\bnoche\b")),
)


@dataclass(frozen=True)
class Phrase:
    """What a text says about a time, before it is placed on a calendar.

    ``instant`` an ISO datetime (naive = the caller's wall clock); ``on`` an explicit date
    (``year`` None when the caller gave none); ``day_offset`` days after today;
    ``weekday`` 0 = Monday; ``clock`` (hour, minute) and whether the hour lacked am/pm;
    ``part`` of the day; ``delta`` a relative offset ("in two hours").
    """

    instant: datetime | None = None
    on: tuple[int | None, int, int] | None = None  # (year or None, month, day)
    day_offset: int | None = None
    weekday: int | None = None
    next_week: bool = False
    clock: tuple[int, int] | None = None
    clock_ambiguous: bool = False
    part: str | None = None
    delta: timedelta | None = None

    @property
    def empty(self) -> bool:
        """True when the text named no day, time or offset at all."""
        return self == Phrase()


def _normalized(text: str) -> str:
    text = text[:MAX_CHARS].lower().replace("’", "'").replace("\u00a0", " ")
    return re.sub(r"\s+", " ", text)


def _number(word: str) -> float:
    word = re.sub(r"\s+", " ", word)
    if word.isdigit():
        return int(word)
    if word in ("half a", "half an", "media"):
        return 0.5
    return _NUMBERS[word]


def scan(text: str) -> Phrase:
    """Read what ``text`` (at most :data:`MAX_CHARS` characters are read) says about a
    day and time. Never raises: an unrecognised text gives an empty :class:`Phrase`,
    an impossible ISO date is ignored."""
    t = _normalized(text)
    found: dict[str, object] = {}
    iso = _ISO.search(t)
    if iso:
        t = t[: iso.start()] + " " + t[iso.end() :]
        try:
            if iso.group(2):
                raw = f"{iso.group(1)}T{iso.group(2)}{(iso.group(3) or '').replace('z', '+00:00')}"
                found["instant"] = datetime.fromisoformat(raw)
            else:
                day = date.fromisoformat(iso.group(1))
                found["on"] = (day.year, day.month, day.day)
        except ValueError:
            pass
    relative = _RELATIVE.search(t)
    if relative:
        t = t[: relative.start()] + " " + t[relative.end() :]
        amount, unit = _number(relative.group("n")), relative.group("unit")
        if unit.startswith("min"):
            found["delta"] = timedelta(minutes=amount)
        elif unit.startswith("h"):
            found["delta"] = timedelta(hours=amount)
        elif unit.startswith(("w", "semana")):
            found["delta"] = timedelta(weeks=amount)
        else:
            found["delta"] = timedelta(days=amount)
    for pattern, offset in _DAY_OFFSETS:
        if pattern.search(t):
            found["day_offset"] = offset
            break
    weekday = _WEEKDAY.search(t)
    if weekday:
        name = weekday.group(1)
        found["weekday"] = next(d for d, names in _WEEKDAYS.items() if name in names)
    if _NEXT_WEEK.search(t):
        found["next_week"] = True
    for pattern in (_MONTH_DAY, _DAY_MONTH):
        match = pattern.search(t)
        if match and "on" not in found:
            found["on"] = (None, _MONTH_BY_NAME[match.group("month")], int(match.group("day")))
            t = t[: match.start()] + " " + t[match.end() :]
    found.update(_clock(t))
    for part, pattern in _PARTS:
        if pattern.search(t):
            found["part"] = part
            break
    return Phrase(**found)  # type: ignore[arg-type]


def _clock(t: str) -> dict[str, object]:
    """``clock`` / ``clock_ambiguous`` from the first time of day in ``t``."""
    match = _AM_PM.search(t)
    if match:
        hour = int(_number(match.group("h")))
        if 1 <= hour <= 12:
            pm = match.group("ampm").startswith("p")
            return {"clock": (hour % 12 + (12 if pm else 0), int(match.group("m") or 0))}
    match = _24H.search(t)
    if match:
        hour, minute = int(match.group("h")), int(match.group("m"))
        explicit = hour == 0 or hour > 12 or match.group("h").startswith("0")
        return {"clock": (hour, minute), "clock_ambiguous": not explicit}
    if _NOON.search(t):
        return {"clock": (12, 0)}
    match = _AT_HOUR.search(t) or _OCLOCK.search(t)
    if match:
        hour = int(_number(match.group("h")))
        if 0 <= hour <= 23:
            return {"clock": (hour, 0), "clock_ambiguous": 1 <= hour <= 12}
    return {}


def mentions_time(text: str) -> bool:
    """True if ``text`` names a day, a time of day or an offset that :func:`scan` reads."""
    return not scan(text).empty


def resolve(phrase: Phrase, now: datetime, zone: ZoneInfo) -> datetime:
    """Place ``phrase`` on the calendar: an aware datetime in ``zone``, relative to ``now``
    (aware, any timezone), truncated to the minute. It may be in the past (the caller
    checks). Raises :class:`UnknownTime` for an empty phrase or an impossible date
    ("February 30")."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if phrase.empty:
        raise UnknownTime("no day or time in the text")
    local_now = now.astimezone(zone)
    if phrase.instant is not None:
        instant = phrase.instant
        if instant.tzinfo is None:
            return _minute(_localize(instant.date(), instant.time(), zone))
        return _minute(instant.astimezone(zone))
    if phrase.delta is not None and phrase.delta < timedelta(days=1):
        return _minute(local_now + phrase.delta)
    today = local_now.date()
    day = _day(phrase, today)
    clock = _time_of_day(phrase)
    if day is None:  # a time of day alone: today, or tomorrow once it has passed
        if clock is None:
            raise UnknownTime("no day or time in the text")
        result = _localize(today, clock, zone)
        if result <= local_now:
            result = _localize(today + timedelta(days=1), clock, zone)
        return _minute(result)
    if clock is None:
        if phrase.delta is not None and phrase.on is None and phrase.weekday is None:
            return _minute(local_now + phrase.delta)  # "in 3 days": same time of day
        clock = DEFAULT_TIME
    return _minute(_localize(day, clock, zone))


def _day(phrase: Phrase, today: date) -> date | None:
    if phrase.on is not None:
        year, month, day = phrase.on
        try:
            if year is not None:
                return date(year, month, day)
            candidate = date(today.year, month, day)
            return candidate if candidate >= today else date(today.year + 1, month, day)
        except ValueError:
            raise UnknownTime(f"no such date: month {month}, day {day}") from None
    if phrase.weekday is not None:
        return today + timedelta(days=(phrase.weekday - today.weekday() - 1) % 7 + 1)
    if phrase.day_offset is not None:
        return today + timedelta(days=phrase.day_offset)
    if phrase.next_week:
        return today + timedelta(days=7 - today.weekday())
    if phrase.delta is not None:
        return today + timedelta(days=phrase.delta.days)
    return None


def _time_of_day(phrase: Phrase) -> time | None:
    if phrase.clock is not None:
        hour, minute = phrase.clock
        if phrase.clock_ambiguous:
            if phrase.part in ("afternoon", "evening"):
                hour = hour % 12 + 12
            elif phrase.part == "morning":
                hour %= 12
            elif 1 <= hour <= 7:
                hour += 12
        return time(hour, minute)
    if phrase.part is not None:
        return PARTS_OF_DAY[phrase.part]
    return None


def _localize(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """``day`` at wall-clock ``clock`` in ``zone``; a time skipped by a DST change moves
    forward by the gap (02:30 on a spring-forward night becomes 03:30)."""
    naive = datetime.combine(day, clock, tzinfo=zone)
    return naive.astimezone(timezone.utc).astimezone(zone)


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


# -- saying it -------------------------------------------------------------------------

# the names an agent says come from the one table the slot labels use
_EN_DAYS, _ES_DAYS = _DAY_NAMES["en"], _DAY_NAMES["es"]
_EN_MONTHS, _ES_MONTHS = _MONTH_NAMES["en"], _MONTH_NAMES["es"]


def zone_label(local: datetime) -> str:
    """A short name for the timezone of ``local``: its abbreviation (``PST``, ``CET``,
    ``UTC``) or, where the tz database has none, the offset (``UTC-03``)."""
    name = local.tzname() or ""
    if name.isalpha():
        return name
    offset = local.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def spoken(local: datetime, language: str = "en") -> str:
    """``local`` (aware) as an agent says it: ``"Wednesday, November 25 at 2:00 PM PST"``;
    in Spanish (``language="es"``) ``"el miércoles 25 de noviembre a las 14:00 (PST)"``."""
    label = zone_label(local)
    if language == "es":
        return (
            f"el {_ES_DAYS[local.weekday()]} {local.day} de {_ES_MONTHS[local.month - 1]} "
            f"a las {local:%H:%M} ({label})"
        )
    hour = local.hour % 12 or 12
    return (
        f"{_EN_DAYS[local.weekday()]}, {_EN_MONTHS[local.month - 1]} {local.day} "
        f"at {hour}:{local:%M} {'PM' if local.hour >= 12 else 'AM'} {label}"
    )
