"""Free/busy from Graph ``getSchedule`` -> bookable slots for one organizer or a team.

Graph answers in UTC (we send ``Prefer: outlook.timezone="UTC"``); busy items become
:class:`~voicekit_core.scheduling.Interval` s; candidate slots come from
:func:`voicekit_core.scheduling.free_slots` (working hours in the rep's IANA timezone, so
a 9:00 opening stays 9:00 local across daylight-saving changes); a slot is offered when at
least one organizer is free for all of it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from voicekit_core.scheduling import Interval, free_slots

from .graph import classify
from .settings import TeamsSettings

if TYPE_CHECKING:
    from msgraph import GraphServiceClient

#: Statuses that leave an organizer bookable; anything else (busy, tentative, oof,
#: unknown) blocks the time.
FREE_STATUSES = {"free", "workingelsewhere"}


@dataclass(frozen=True)
class Offer:
    """A bookable slot (UTC) and the organizer who would host it."""

    slot: Interval
    organizer: str


def graph_datetime(moment: datetime) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` for an aware datetime: UTC wall time, ``timeZone: UTC``."""
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


def parse_graph_datetime(value: str | None, zone: str | None) -> datetime:
    """Graph's ``"2026-11-24T15:00:00.0000000"`` + ``timeZone`` -> an aware UTC datetime.

    ``zone`` may be ``UTC`` or an IANA name; anything else is read as UTC (we ask Graph
    for UTC). Raises ValueError on an unparsable ``value``.
    """
    if not value:
        raise ValueError("missing dateTime")
    text = value.rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        tz: Any = timezone.utc
        if zone and zone.upper() not in ("UTC", "Z"):
            try:
                tz = ZoneInfo(zone)
            except (KeyError, ValueError):
                tz = timezone.utc
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


async def fetch_busy(
    client: GraphServiceClient,
    settings: TeamsSettings,
    start: datetime,
    end: datetime,
) -> dict[str, list[Interval] | None]:
    """Busy intervals (UTC) of every organizer between ``start`` and ``end``.

    Calls ``POST {graph}/users/{organizers[0]}/calendar/getSchedule`` once with all
    organizers in ``Schedules``. Keys are lower-cased organizer ids; ``None`` means Graph
    returned no schedule or an error for that organizer (treated as not bookable).
    Raises :class:`~voicekit_teams.graph.GraphProblem` on HTTP / transport failures.
    """
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
        GetSchedulePostRequestBody,
    )

    window = [graph_datetime(start), graph_datetime(end)]
    body = GetSchedulePostRequestBody(
        schedules=list(settings.organizers),
        start_time=DateTimeTimeZone(date_time=window[0]["dateTime"], time_zone="UTC"),
        end_time=DateTimeTimeZone(date_time=window[1]["dateTime"], time_zone="UTC"),
        availability_view_interval=settings.slot_step_minutes,
    )
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("Prefer", 'outlook.timezone="UTC"')
    builder = client.users.by_user_id(settings.organizers[0]).calendar.get_schedule
    try:
        response = await builder.post(body, request_configuration=config)
    except Exception as exc:
        raise classify(exc, "getSchedule") from exc
    busy: dict[str, list[Interval] | None] = {o.lower(): None for o in settings.organizers}
    for info in (response.value if response else None) or []:
        key = (info.schedule_id or "").lower()
        if key not in busy or info.error is not None:
            continue
        intervals = []
        for item in info.schedule_items or []:
            status = str(getattr(item.status, "value", item.status) or "unknown").lower()
            if status in FREE_STATUSES or item.start is None or item.end is None:
                continue
            intervals.append(
                Interval(
                    parse_graph_datetime(item.start.date_time, item.start.time_zone),
                    parse_graph_datetime(item.end.date_time, item.end.time_zone),
                )
            )
        busy[key] = intervals
    return busy


def rotation_order(organizers: list[str], rotation: int) -> list[str]:
    """Organizers in the order they are tried: ``rotation`` places after the first."""
    if not organizers:
        return []
    shift = rotation % len(organizers)
    return organizers[shift:] + organizers[:shift]


def free_organizers(
    slot: Interval, busy: dict[str, list[Interval] | None], order: list[str]
) -> list[str]:
    """Organizers (in ``order``) with nothing in ``busy`` overlapping ``slot``."""
    free = []
    for organizer in order:
        blocks = busy.get(organizer.lower())
        if blocks is not None and not any(slot.overlaps(b) for b in blocks):
            free.append(organizer)
    return free


def plan_offers(
    busy: dict[str, list[Interval] | None],
    settings: TeamsSettings,
    *,
    now: datetime,
    rotation: int = 0,
    days_ahead: int | None = None,
    max_slots: int | None = None,
    one_per_day: bool | None = None,
) -> list[Offer]:
    """Slots to offer, earliest first, each with the organizer who would host it.

    Candidates lie within working hours (``settings.rep_timezone`` wall clock) at least
    ``notice_hours`` after ``now``; a slot needs one free organizer. ``first_free`` takes the
    first free organizer in config order; ``round_robin`` starts ``rotation`` places later.
    """
    days = settings.days_ahead if days_ahead is None else days_ahead
    limit = settings.max_slots if max_slots is None else max_slots
    per_day = settings.one_per_day if one_per_day is None else one_per_day
    candidates = free_slots(
        [],
        now=now,
        hours=settings.hours,
        duration=settings.duration,
        notice=settings.notice,
        days_ahead=days,
        step=timedelta(minutes=settings.slot_step_minutes),
        max_slots=100_000,
        one_per_day=False,
    )
    order = rotation_order(
        list(settings.organizers), rotation if settings.assignment == "round_robin" else 0
    )
    zone = ZoneInfo(settings.rep_timezone)
    offers: list[Offer] = []
    for _day, slots in itertools.groupby(candidates, key=lambda s: s.start.astimezone(zone).date()):
        for slot in slots:
            free = free_organizers(slot, busy, order)
            if not free:
                continue
            offers.append(Offer(slot, free[0]))
            if per_day or len(offers) >= limit:
                break
        if len(offers) >= limit:
            break
    return offers[:limit]


def search_window(
    settings: TeamsSettings, now: datetime, days_ahead: int
) -> tuple[datetime, datetime]:
    """The ``getSchedule`` window covering every candidate: ``now`` to ``days_ahead`` + 2
    days later (UTC)."""
    return now, now + timedelta(days=days_ahead + 2)


async def find_offers(
    client: GraphServiceClient,
    settings: TeamsSettings,
    *,
    now: datetime,
    rotation: int = 0,
    days_ahead: int | None = None,
    max_slots: int | None = None,
    one_per_day: bool | None = None,
) -> list[Offer]:
    """:func:`fetch_busy` over the search window, then :func:`plan_offers`."""
    days = settings.days_ahead if days_ahead is None else days_ahead
    start, end = search_window(settings, now, days)
    busy = await fetch_busy(client, settings, start, end)
    return plan_offers(
        busy,
        settings,
        now=now,
        rotation=rotation,
        days_ahead=days,
        max_slots=max_slots,
        one_per_day=one_per_day,
    )
