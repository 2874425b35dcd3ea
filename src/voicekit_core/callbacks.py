"""Callbacks the caller asks for: when, in whose timezone, and what the report records.

The ``schedule_callback(when)`` tool (built-in ``call_control``) calls :func:`plan_callback`
and stores :meth:`Callback.as_data` in ``call.data["callback"]``; the report carries it
as ``report.data["callback"]``, and the campaign dialer re-dials the lead at
``report.data["callback"]["at"]`` (inside its calling hours). The shape is a contract::

    {
      "at": "2026-11-24T19:00:00+00:00",       # ISO 8601, UTC: when to call back
      "local": "2026-11-24T14:00:00-05:00",    # the same instant in the caller's timezone
      "timezone": "America/New_York",           # IANA; "UTC" when the caller's is unknown
      "requested": "call me back tomorrow afternoon"  # the caller's words (data, not code)
    }

The caller's timezone is the lead's ``timezone``, else the one zone ``phonenumbers``
gives for the number, else UTC (the confirmation then says so). ``when`` is read by
:mod:`voicekit_core.spoken_time` relative to the call's current time (the wall clock,
UTC); it must lie in the future and at most :data:`MAX_DAYS_AHEAD` days ahead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from .calls import utcnow
from .spoken_time import MAX_CHARS, UnknownTime, resolve, scan, spoken

if TYPE_CHECKING:
    from .calls import CallContext

#: The furthest ahead a callback may be scheduled (days).
MAX_DAYS_AHEAD = 30
#: The zone ``phonenumbers`` reports for a number it cannot place.
_UNKNOWN_ZONE = "Etc/Unknown"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class CallbackTimeError(ValueError):
    """``when`` cannot be scheduled. ``kind`` is ``unknown`` (no day or time understood),
    ``past`` or ``too_far``; ``str()`` is a sentence the agent can say to the caller."""

    def __init__(self, kind: str, sentence: str):
        self.kind = kind
        super().__init__(sentence)


@dataclass(frozen=True)
class Callback:
    """A scheduled callback: ``at`` (aware, UTC), ``local`` (the same instant in
    ``timezone``), ``timezone`` (IANA), whether that zone is the caller's (``zone_known``)
    and what the caller said (``requested``, at most 200 characters)."""

    at: datetime
    local: datetime
    timezone: str
    zone_known: bool
    requested: str

    def as_data(self) -> dict[str, str]:
        """The ``call.data["callback"]`` record (see the module docstring)."""
        return {
            "at": self.at.isoformat(),
            "local": self.local.isoformat(),
            "timezone": self.timezone,
            "requested": self.requested,
        }

    def confirmation(self) -> str:
        """The tool's result, for the model: the local time as it should be said, then
        ``(local ISO, IANA zone)`` for exactness, e.g. ``"Callback scheduled for Tuesday,
        November 24 at 2:00 PM EST (2026-11-24T14:00:00-05:00, America/New_York)."``"""
        sentence = (
            f"Callback scheduled for {spoken(self.local)} "
            f"({self.local.isoformat()}, {self.timezone})."
        )
        if not self.zone_known:
            sentence += " The caller's timezone is unknown, so this time is in UTC: tell them."
        return sentence + " Confirm the time, say goodbye; the call then ends."

    def reason(self) -> str:
        """The disposition reason: when, locally, and the caller's words."""
        return f"call back {self.local:%Y-%m-%d %H:%M} {self.timezone}: {self.requested}"[:200]


def callback_zone(lead_timezone: str | None, phone: str) -> ZoneInfo | None:
    """The caller's timezone: ``lead_timezone`` (IANA) when it is a known zone, else the
    single zone ``phonenumbers`` gives for ``phone`` (E.164); None when there are several
    (toll-free, mobile ranges spanning zones) or none, or ``phone`` is not a number."""
    if lead_timezone:
        try:
            return ZoneInfo(lead_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return None
    names = [n for n in phone_timezone.time_zones_for_number(number) if n != _UNKNOWN_ZONE]
    if len(names) != 1:
        return None
    try:
        return ZoneInfo(names[0])
    except (ZoneInfoNotFoundError, ValueError):
        return None


def clean_request(when: str) -> str:
    """The caller's words as stored: control characters dropped, spaces collapsed, at most
    200 characters. Untrusted text: kept as data, never interpreted."""
    text = _CONTROL.sub(" ", str(when))
    return " ".join(text.split())[:MAX_CHARS]


def plan_callback(
    when: str,
    *,
    lead_timezone: str | None,
    phone: str,
    now: datetime | None = None,
) -> Callback:
    """Read ``when`` (the caller's words or an ISO 8601 datetime) in the caller's timezone
    (:func:`callback_zone`, else UTC) relative to ``now`` (aware; default the wall clock).

    Raises :class:`CallbackTimeError` (its ``str()`` a sentence for the caller) when no day
    or time is understood, the time is not after ``now``, or it is more than
    :data:`MAX_DAYS_AHEAD` days ahead; ``ValueError`` for a naive ``now``.
    """
    now = now or utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = callback_zone(lead_timezone, phone)
    zone_known = zone is not None
    zone = zone or ZoneInfo("UTC")
    requested = clean_request(when)
    try:
        local = resolve(scan(requested), now, zone)
    except UnknownTime:
        raise CallbackTimeError(
            "unknown",
            "Sorry, I didn't catch when to call you back. What day and time would suit you, "
            "for example tomorrow at 3 PM?",
        ) from None
    if local <= now:
        raise CallbackTimeError(
            "past",
            f"Sorry, {spoken(local)} has already passed. When would you like us to call you back?",
        )
    limit = now + timedelta(days=MAX_DAYS_AHEAD)
    if local > limit:
        raise CallbackTimeError(
            "too_far",
            f"I can only schedule a callback within the next {MAX_DAYS_AHEAD} days, so by "
            f"{spoken(limit.astimezone(zone))}. What day and time before then would suit you?",
        )
    return Callback(
        at=local.astimezone(timezone.utc),
        local=local,
        timezone=zone.key,
        zone_known=zone_known,
        requested=requested,
    )


def plan_for_call(call: CallContext, when: str, *, now: datetime | None = None) -> Callback:
    """:func:`plan_callback` for ``call``: its lead's timezone, its number and its clock
    (a simulated campaign's calls run on the campaign's clock)."""
    lead_timezone = call.lead.timezone if call.lead is not None else None
    return plan_callback(
        when, lead_timezone=lead_timezone, phone=call.phone, now=now or call.clock()
    )
