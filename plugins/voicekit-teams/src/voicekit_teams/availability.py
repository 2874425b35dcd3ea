"""Free/busy and working hours from Graph ``getSchedule`` -> bookable slots for a team.

One ``getSchedule`` request covers every organizer. We ask for UTC
(``Prefer: outlook.timezone="UTC"``) but read whatever zone each time carries (Windows,
IANA or UTC, see :mod:`voicekit_teams.zones`); an unreadable zone is never taken for UTC.
Each organizer's own ``workingHours`` (Windows zone names and custom time zones
converted) decide when they can host; the config's ``working_hours`` in ``rep_timezone``
are only the fallback for a mailbox without them. A slot is offered when it lies within
the prospect's acceptable hours (their own timezone) and one organizer is free and
working for all of it. An organizer whose schedule comes back with an error (unknown
mailbox, unreadable times) is skipped with a warning, wherever it is in the list.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from voicekit_core.scheduling import Interval

from .graph import Deadline, GraphProblem, send
from .settings import TeamsSettings
from .zones import DAYS, UnknownTimeZone, zone_from_graph, zone_label, zone_named

if TYPE_CHECKING:
    from msgraph import GraphServiceClient

#: Statuses that leave an organizer bookable; anything else (busy, tentative, oof,
#: unknown) blocks the time.
FREE_STATUSES = {"free", "workingelsewhere"}
MIDNIGHT = time(0)


@dataclass(frozen=True)
class Offer:
    """A bookable slot (UTC) and the organizer who would host it."""

    slot: Interval
    organizer: str


# -- hours -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hours:
    """Wall-clock hours ``start``-``end`` in ``zone`` on ``weekdays`` (0 = Monday); an
    ``end`` of 00:00 means midnight at the end of the day. ``source`` says where they
    came from (``graph``, ``config`` or ``prospect``)."""

    zone: tzinfo
    start: time
    end: time
    weekdays: tuple[int, ...]
    source: str = "config"

    def __post_init__(self) -> None:
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError(f"hours {self.start}-{self.end} end before they start")

    @property
    def zone_name(self) -> str:
        return zone_label(self.zone)

    def _close(self, day: date) -> datetime:
        if self.end == MIDNIGHT:
            return datetime.combine(day + timedelta(days=1), MIDNIGHT, tzinfo=self.zone)
        return datetime.combine(day, self.end, tzinfo=self.zone)

    def contains(self, slot: Interval) -> bool:
        """True when all of ``slot`` lies within these hours on one working day."""
        start = slot.start.astimezone(self.zone)
        end = slot.end.astimezone(self.zone)
        if start.weekday() not in self.weekdays or start.time() < self.start:
            return False
        close = self._close(start.date())
        return end.replace(tzinfo=None) <= close.replace(tzinfo=None)

    def on_grid(self, slot: Interval, step: timedelta) -> bool:
        """True when ``slot`` starts a whole number of ``step`` s after opening time."""
        local = slot.start.astimezone(self.zone)
        minutes = local.hour * 60 + local.minute - (self.start.hour * 60 + self.start.minute)
        return local.second == 0 and minutes % int(step.total_seconds() // 60) == 0

    def slots(
        self,
        *,
        now: datetime,
        notice: timedelta,
        days_ahead: int,
        duration: timedelta,
        step: timedelta,
    ) -> list[Interval]:
        """Every slot of ``duration`` on the ``step`` grid from ``now + notice`` over
        ``days_ahead`` days (UTC intervals). Walks the wall clock, so 9:00 stays 9:00
        local across daylight-saving changes."""
        earliest = now + notice
        first = now.astimezone(self.zone).date()
        out = []
        for offset in range(days_ahead + 1):
            day = first + timedelta(days=offset)
            if day.weekday() not in self.weekdays:
                continue
            cursor = datetime.combine(day, self.start, tzinfo=self.zone)
            close = self._close(day)
            while (cursor + duration).replace(tzinfo=None) <= close.replace(tzinfo=None):
                begin = cursor.astimezone(timezone.utc)
                if begin >= earliest:
                    out.append(Interval(begin, begin + duration))
                cursor += step
        return out

    def describe(self) -> dict[str, Any]:
        return {
            "timezone": self.zone_name,
            "start": self.start.isoformat(timespec="minutes"),
            "end": self.end.isoformat(timespec="minutes"),
            "days": [DAYS[d] for d in self.weekdays],
            "source": self.source,
        }


def config_hours(settings: TeamsSettings) -> Hours:
    """The config's ``working_hours`` / ``working_days`` in ``rep_timezone`` (fallback)."""
    opens, closes = settings.working_hours
    return Hours(ZoneInfo(settings.rep_timezone), opens, closes, tuple(settings.working_days))


def prospect_hours(settings: TeamsSettings, tz: str) -> Hours:
    """The prospect's acceptable meeting hours (``prospect_hours`` on ``prospect_days``)
    in their IANA zone ``tz``."""
    opens, closes = settings.prospect_hours
    return Hours(ZoneInfo(tz), opens, closes, tuple(settings.prospect_days), "prospect")


def graph_hours(working: Any) -> Hours:
    """:class:`Hours` from a Graph ``workingHours`` (SDK model). Raises
    :class:`~voicekit_teams.zones.UnknownTimeZone` or ValueError when unusable."""
    days = []
    for day in working.days_of_week or []:
        name = str(getattr(day, "value", day)).lower()
        if name in DAYS:
            days.append(DAYS.index(name))
    if not days or working.start_time is None or working.end_time is None:
        raise ValueError("workingHours without days or times")
    return Hours(
        zone_from_graph(working.time_zone),
        working.start_time.replace(microsecond=0),
        working.end_time.replace(microsecond=0),
        tuple(sorted(set(days))),
        "graph",
    )


# -- schedules ---------------------------------------------------------------------------


def graph_datetime(moment: datetime) -> dict[str, str]:
    """A Graph ``dateTimeTimeZone`` for an aware datetime: UTC wall time, ``timeZone: UTC``."""
    utc = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


def parse_graph_datetime(value: str | None, zone: str | None) -> datetime:
    """Graph's ``"2026-11-24T15:00:00.0000000"`` + ``timeZone`` -> an aware UTC datetime.

    ``zone`` may be UTC, a Windows zone id (``"Pacific Standard Time"``) or an IANA name;
    a missing zone means UTC (Graph's documented default). Raises
    :class:`~voicekit_teams.zones.UnknownTimeZone` for any other zone name (never read as
    UTC) and ValueError on an unparsable ``value``.
    """
    if not value:
        raise ValueError("missing dateTime")
    text = value.rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone_named(zone) if zone else timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass
class OrganizerSchedule:
    """One organizer's busy time (UTC) and working hours; ``busy`` None = unusable."""

    organizer: str
    busy: list[Interval] | None = None
    hours: Hours | None = None

    @property
    def usable(self) -> bool:
        return self.busy is not None and self.hours is not None


@dataclass
class TeamSchedule:
    """Every organizer's :class:`OrganizerSchedule` (keys lower-cased) and the warnings
    about organizers skipped or read with fallbacks (``organizer``, ``code``, ``message``)."""

    members: dict[str, OrganizerSchedule] = field(default_factory=dict)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def of(self, organizer: str) -> OrganizerSchedule:
        return self.members.get(organizer.lower()) or OrganizerSchedule(organizer)

    @property
    def busy(self) -> dict[str, list[Interval] | None]:
        return {key: member.busy for key, member in self.members.items()}

    def working(self, organizer: str, slot: Interval, step: timedelta) -> bool:
        """``organizer`` is usable and ``slot`` is on the grid of their working hours."""
        member = self.of(organizer)
        if not member.usable or member.hours is None:
            return False
        return member.hours.contains(slot) and member.hours.on_grid(slot, step)

    def free(self, organizer: str, slot: Interval, ignore: Interval | None = None) -> bool:
        """Nothing in ``organizer`` 's busy time (other than ``ignore``) overlaps ``slot``."""
        blocks = self.of(organizer).busy
        if blocks is None:
            return False
        return not any(slot.overlaps(b) for b in blocks if b != ignore)

    def hosts(
        self,
        slot: Interval,
        order: list[str],
        step: timedelta,
        ignore: Interval | None = None,
    ) -> list[str]:
        """Organizers (in ``order``) working and free for all of ``slot``."""
        return [o for o in order if self.working(o, slot, step) and self.free(o, slot, ignore)]


def _warn(schedule: TeamSchedule, organizer: str, code: str, message: str) -> None:
    schedule.warnings.append({"organizer": organizer, "code": code, "message": message[:200]})


async def fetch_schedule(
    client: GraphServiceClient,
    settings: TeamsSettings,
    start: datetime,
    end: datetime,
    *,
    deadline: Deadline | None = None,
    skip_via: set[str] | None = None,
) -> TeamSchedule:
    """Busy time and working hours of every organizer between ``start`` and ``end``.

    ``POST {graph}/users/{via}/calendar/getSchedule`` once with all organizers in
    ``Schedules``; ``via`` is the first organizer whose mailbox Graph knows (a 404 for one
    moves on to the next, and the bad one is added to ``skip_via`` for later requests).
    Organizers whose entry carries an ``error``, no ``scheduleItems`` or an unreadable time
    zone are unusable, with a warning. Raises :class:`~voicekit_teams.graph.GraphProblem` on
    HTTP / transport failures, or when no organizer is usable.
    """
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
        GetSchedulePostRequestBody,
    )

    deadline = deadline or Deadline(settings.tool_budget_seconds)
    skip_via = skip_via if skip_via is not None else set()
    window = [graph_datetime(start), graph_datetime(end)]
    body = GetSchedulePostRequestBody(
        schedules=list(settings.organizers),
        start_time=DateTimeTimeZone(date_time=window[0]["dateTime"], time_zone="UTC"),
        end_time=DateTimeTimeZone(date_time=window[1]["dateTime"], time_zone="UTC"),
        availability_view_interval=settings.slot_step_minutes,
    )
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("Prefer", 'outlook.timezone="UTC"')
    schedule = TeamSchedule()
    vias = [o for o in settings.organizers if o.lower() not in skip_via] or list(
        settings.organizers
    )
    response = None
    for via in vias:
        builder = client.users.by_user_id(via).calendar.get_schedule
        try:
            response = await send(
                "getSchedule",
                lambda b=builder: b.post(body, request_configuration=config),
                deadline=deadline,
                max_retries=settings.max_retries,
                timeout=settings.timeout_seconds,
            )
            break
        except GraphProblem as problem:
            if problem.kind != "not_found" or via == vias[-1]:
                raise
            skip_via.add(via.lower())
            _warn(schedule, via, problem.code or "NotFound", "Graph does not know this mailbox")
    entries = {
        (i.schedule_id or "").lower(): i for i in (response.value if response else None) or []
    }
    for organizer in settings.organizers:
        schedule.members[organizer.lower()] = _read_entry(
            settings, schedule, organizer, entries.get(organizer.lower())
        )
    if not any(m.usable for m in schedule.members.values()):
        unreadable = any(w["code"] == "UnknownTimeZone" for w in schedule.warnings)
        raise GraphProblem(
            "unreadable" if unreadable else "not_found",
            None,
            "NoUsableSchedule",
            "getSchedule",
            details={"warnings": list(schedule.warnings)},
        )
    return schedule


def _read_entry(
    settings: TeamsSettings, schedule: TeamSchedule, organizer: str, info: Any
) -> OrganizerSchedule:
    member = OrganizerSchedule(organizer)
    if info is None:
        _warn(schedule, organizer, "NoSchedule", "Graph returned no schedule for this organizer")
        return member
    if info.error is not None:
        code = str(info.error.response_code or "ScheduleError")
        _warn(schedule, organizer, code, str(info.error.message or "schedule error"))
        return member
    if info.schedule_items is None:
        _warn(schedule, organizer, "NoScheduleItems", "Graph returned no schedule items")
        return member
    intervals = []
    try:
        for item in info.schedule_items:
            status = str(getattr(item.status, "value", item.status) or "unknown").lower()
            if status in FREE_STATUSES or item.start is None or item.end is None:
                continue
            intervals.append(
                Interval(
                    parse_graph_datetime(item.start.date_time, item.start.time_zone),
                    parse_graph_datetime(item.end.date_time, item.end.time_zone),
                )
            )
    except UnknownTimeZone as exc:
        _warn(schedule, organizer, "UnknownTimeZone", f"busy times in {exc.name!r}: not read")
        return member
    except ValueError as exc:
        _warn(schedule, organizer, "BadScheduleItem", str(exc))
        return member
    member.busy = intervals
    member.hours = config_hours(settings)
    if settings.use_graph_working_hours and info.working_hours is not None:
        try:
            member.hours = graph_hours(info.working_hours)
        except UnknownTimeZone as exc:
            _warn(
                schedule,
                organizer,
                "WorkingHoursTimeZone",
                f"working hours in unknown zone {exc.name!r}; using the config's hours",
            )
        except ValueError as exc:
            _warn(schedule, organizer, "WorkingHours", f"{exc}; using the config's hours instead")
    return member


# -- offers ------------------------------------------------------------------------------


def rotation_order(organizers: list[str], rotation: int) -> list[str]:
    """Organizers in the order they are tried: ``rotation`` places after the first."""
    if not organizers:
        return []
    shift = rotation % len(organizers)
    return organizers[shift:] + organizers[:shift]


def assignment_order(settings: TeamsSettings, rotation: int) -> list[str]:
    """``first_free``: config order; ``round_robin``: ``rotation`` places later."""
    shift = rotation if settings.assignment == "round_robin" else 0
    return rotation_order(list(settings.organizers), shift)


def plan_offers(
    schedule: TeamSchedule,
    settings: TeamsSettings,
    *,
    now: datetime,
    prospect: Hours | None = None,
    rotation: int = 0,
    days_ahead: int | None = None,
    max_slots: int | None = None,
    one_per_day: bool | None = None,
    only: list[str] | None = None,
    ignore: Interval | None = None,
) -> list[Offer]:
    """Slots to offer, earliest first, each with the organizer who would host it.

    Candidates lie within an organizer's working hours (from Graph, else the config's),
    at least ``notice_hours`` after ``now``, inside ``prospect`` hours when given; a slot
    needs one organizer (of ``only``, if given) working and free (``ignore`` = a busy
    block not to count, e.g. the meeting being moved). ``one_per_day`` counts days in the
    prospect's zone.
    """
    days = settings.days_ahead if days_ahead is None else days_ahead
    limit = settings.max_slots if max_slots is None else max_slots
    per_day = settings.one_per_day if one_per_day is None else one_per_day
    step = timedelta(minutes=settings.slot_step_minutes)
    order = [
        o
        for o in assignment_order(settings, rotation)
        if only is None or o.lower() in {x.lower() for x in only}
    ]
    candidates: set[Interval] = set()
    for organizer in order:
        hours = schedule.of(organizer).hours
        if not schedule.of(organizer).usable or hours is None:
            continue
        candidates.update(
            hours.slots(
                now=now,
                notice=settings.notice,
                days_ahead=days,
                duration=settings.duration,
                step=step,
            )
        )
    ordered = sorted(
        (c for c in candidates if prospect is None or prospect.contains(c)),
        key=lambda s: s.start,
    )
    zone = prospect.zone if prospect is not None else ZoneInfo(settings.rep_timezone)
    offers: list[Offer] = []
    for _day, slots in itertools.groupby(ordered, key=lambda s: s.start.astimezone(zone).date()):
        for slot in slots:
            hosts = schedule.hosts(slot, order, step, ignore)
            if not hosts:
                continue
            offers.append(Offer(slot, hosts[0]))
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
    prospect: Hours | None = None,
    deadline: Deadline | None = None,
    skip_via: set[str] | None = None,
    rotation: int = 0,
    days_ahead: int | None = None,
    max_slots: int | None = None,
    one_per_day: bool | None = None,
    only: list[str] | None = None,
    ignore: Interval | None = None,
) -> tuple[list[Offer], TeamSchedule]:
    """:func:`fetch_schedule` over the search window, then :func:`plan_offers`."""
    days = settings.days_ahead if days_ahead is None else days_ahead
    start, end = search_window(settings, now, days)
    schedule = await fetch_schedule(
        client, settings, start, end, deadline=deadline, skip_via=skip_via
    )
    offers = plan_offers(
        schedule,
        settings,
        now=now,
        prospect=prospect,
        rotation=rotation,
        days_ahead=days,
        max_slots=max_slots,
        one_per_day=one_per_day,
        only=only,
        ignore=ignore,
    )
    return offers, schedule
