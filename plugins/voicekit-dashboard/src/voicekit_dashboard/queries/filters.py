"""Filter values of the Calls and Reports pages, parsed once with errors that name the
field and the value.

Dates are UTC: ``since=2026-11-24`` starts at 00:00 UTC that day and ``until=2026-11-24``
ends at 24:00 UTC that day (inclusive of the whole day). A full ISO 8601 time
(``2026-11-24T15:30:00Z``) is taken as given; one without an offset is read as UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.engine import Connection

from voicekit_core.calls import Disposition
from voicekit_core.errors import VoicekitError
from voicekit_core.store.tables import CALL_STATUSES, campaigns

DISPOSITIONS = tuple(d.value for d in Disposition)
_SHOWN_VALUE = 60


class FilterError(VoicekitError):
    """A filter value that cannot be used; the message names the field and the value."""

    def __init__(self, field: str, value: str, problem: str):
        self.field = field
        shown = value if len(value) <= _SHOWN_VALUE else value[:_SHOWN_VALUE] + "…"
        super().__init__(f"{field}: {shown!r} {problem}")


class UnknownCampaign(FilterError):
    """The ``campaign`` filter names no campaign (the routes answer 404)."""


@dataclass(frozen=True)
class DateRange:
    """``start <= t < end`` in UTC; either bound may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "since": self.start.isoformat() if self.start else None,
            "until": self.end.isoformat() if self.end else None,
        }


def _moment(field: str, text: str, *, end_of_day: bool) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(0), tzinfo=timezone.utc)
        return start + timedelta(days=1) if end_of_day else start
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FilterError(
            field, text, "is not a date (YYYY-MM-DD) or an ISO 8601 time, in UTC"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def date_range(since: str = "", until: str = "") -> DateRange:
    """The UTC range of the ``since`` / ``until`` filters (see the module docstring).

    Raises :class:`FilterError` for a value that is not a date or time, or a range that
    ends before it starts.
    """
    start = _moment("since", since or "", end_of_day=False)
    end = _moment("until", until or "", end_of_day=True)
    if start is not None and end is not None and end <= start:
        raise FilterError("until", until, f"is before since ({since})")
    return DateRange(start, end)


def _one_of(field: str, value: str, allowed: Sequence[str]) -> str | None:
    """``value`` stripped when it is one of ``allowed``; None when empty (no filter)."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in allowed:
        raise FilterError(field, value, f"is not one of {', '.join(allowed)}")
    return value


def disposition(value: str, known: Sequence[str] = DISPOSITIONS) -> str | None:
    """A disposition filter (``meeting_booked``...), or None for no filter. ``known``: the
    deployment's outcomes (``deployment.dispositions.names()``), default the built-ins."""
    return _one_of("disposition", value, known)


def call_status(value: str) -> str | None:
    """A call status filter (``in_progress``, ``finished``, ``interrupted``) or None."""
    return _one_of("status", value, CALL_STATUSES)


def campaign_id(db: Connection, value: str) -> str | None:
    """The id of the campaign named or with id ``value``; None for no filter.

    Raises :class:`UnknownCampaign` when there is none.
    """
    value = (value or "").strip()
    if not value:
        return None
    row = db.execute(
        select(campaigns.c.id).where((campaigns.c.id == value) | (campaigns.c.name == value))
    ).first()
    if row is None:
        raise UnknownCampaign("campaign", value, "is not the id or name of a campaign")
    return row.id


def campaign_choices(db: Connection) -> list[dict[str, str]]:
    """Every campaign as ``{"id", "name"}``, newest first (for filter menus)."""
    rows = db.execute(
        select(campaigns.c.id, campaigns.c.name).order_by(campaigns.c.created_at.desc())
    ).all()
    return [{"id": row.id, "name": row.name} for row in rows]
