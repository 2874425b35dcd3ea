"""The TDX SDR deployment's own plugin (enabled by module path in voicekit.toml).

* ``qualify_prospect``: BANT answers -> qualified / nurture / disqualified, with reasons.
* ``check_availability`` / ``schedule_meeting``: a local calendar (an SQLite file under
  ``.voicekit/``, safe for parallel calls in threads and processes), registered as
  *fallback* tools, so voicekit-teams takes over when enabled.
* ``call_instructions``: the lead's context for the prompt.
* ``before_dial``: the deployment's DNC list (a bad line is an :class:`DncListError`
  naming the file, line and value), and calling hours (8:00-20:00 in the lead's timezone)
  for live calls.
"""

# No `from __future__ import annotations`: livekit reads tool annotations at call time,
# and RunContext is imported inside register_tools to keep livekit out of plugin listing.

import asyncio
import contextlib
import json
import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from voicekit_core import Disposition, hookimpl
from voicekit_core.errors import InputError, Problem
from voicekit_core.phones import PhonePolicy
from voicekit_core.scheduling import Interval, WorkingHours, free_slots, parse_start, spoken_label

NAME = "tdx_sdr_local"


class Settings(BaseModel):
    """``[plugins.tdx_sdr_local]``."""

    model_config = ConfigDict(extra="forbid")
    min_budget_usd: float = Field(default=10_000, ge=0)
    max_timeline_months: int = Field(default=6, ge=1)
    rep_timezone: str = "America/New_York"
    working_hours: tuple[time, time] = (time(9, 0), time(17, 0))
    meeting_minutes: int = Field(default=30, ge=15, le=120)
    notice_hours: float = Field(default=2, ge=0)
    calendar_file: Path = Path(".voicekit/local_calendar.sqlite3")
    dnc_file: Path = Path("dnc.txt")
    calling_hours: tuple[time, time] = (time(8, 0), time(20, 0))
    prospect_meeting_hours: tuple[time, time] = (time(8, 0), time(18, 0))


@hookimpl
def register_settings(register):
    register(Settings)


def settings_for(call) -> Settings:
    return call.config.plugin_settings(NAME)


def _path(call, path: Path) -> Path:
    return path if path.is_absolute() else call.config.base_dir / path


# -- BANT --------------------------------------------------------------------------


def qualify(
    settings: Settings,
    *,
    budget_usd: float | None,
    authority: str,
    need: str,
    timeline_months: int | None,
) -> dict:
    """Score BANT answers. ``qualified`` needs all four; a stated zero budget or no
    authority and no path to it disqualifies; anything else is ``nurture``."""
    reasons, met = [], 0
    if budget_usd is None:
        reasons.append("budget not stated")
    elif budget_usd >= settings.min_budget_usd:
        met += 1
        reasons.append(f"budget ${budget_usd:,.0f} meets ${settings.min_budget_usd:,.0f}")
    else:
        reasons.append(f"budget ${budget_usd:,.0f} below ${settings.min_budget_usd:,.0f}")
    if authority in ("decision_maker", "influencer"):
        met += 1
        reasons.append(
            "talking to the decision maker"
            if authority == "decision_maker"
            else "influencer; decision maker to be involved"
        )
    else:
        reasons.append("no buying authority identified")
    if need.strip():
        met += 1
        reasons.append(f"need: {need.strip()[:120]}")
    else:
        reasons.append("no need stated")
    if timeline_months is not None and timeline_months <= settings.max_timeline_months:
        met += 1
        reasons.append(f"timeline {timeline_months} month(s)")
    else:
        reasons.append(f"no timeline within {settings.max_timeline_months} months")
    if met == 4:
        status = "qualified"
    elif budget_usd == 0 or (authority == "none" and met <= 2):
        status = "disqualified"
    else:
        status = "nurture"
    return {"status": status, "criteria_met": met, "reasons": reasons}


# -- local calendar ------------------------------------------------------------------


class SlotTaken(Exception):
    """The slot overlaps a booking another call made meanwhile."""


class LocalCalendar:
    """The example's calendar: one SQLite file, safe for parallel calls in threads and
    processes.

    A booking is a row of ``events`` (``event_id``, ``transaction_id``, ``start`` and
    ``end`` in UTC ISO 8601, the event as JSON); ``transaction_id`` (call id + slot) and
    ``start`` are UNIQUE. :meth:`book` checks and inserts inside ``BEGIN IMMEDIATE``, which
    takes SQLite's write lock on the file for every process using it, so two calls can
    never book the same or overlapping slots, and SQLite's rollback journal means a crash
    never leaves a half-written calendar. Waits up to ``timeout`` seconds for the lock.
    The file is created 0600 and its folder, when created here, 0700.
    """

    SCHEMA = """
        CREATE TABLE IF NOT EXISTS events (
            event_id TEXT PRIMARY KEY,
            transaction_id TEXT NOT NULL UNIQUE,
            start TEXT NOT NULL UNIQUE,
            "end" TEXT NOT NULL,
            event TEXT NOT NULL
        )
    """

    def __init__(self, path: Path, *, timeout: float = 30.0):
        self.path = path
        self.timeout = timeout

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self._create_private()
        db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            db.execute(self.SCHEMA)
            yield db
        finally:
            db.close()

    def _create_private(self) -> None:
        folder = self.path.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        mode = stat.S_IMODE(self.path.stat().st_mode)
        if mode & 0o077:  # a calendar written by an older version, or by hand
            with contextlib.suppress(PermissionError):
                os.chmod(self.path, 0o600)

    def events(self) -> list[dict]:
        """Every booking, earliest first (the dicts :meth:`book` stored)."""
        with self._connect() as db:
            rows = db.execute("SELECT event FROM events ORDER BY start").fetchall()
        return [json.loads(row[0]) for row in rows]

    def busy(self) -> list[Interval]:
        """The booked intervals (UTC)."""
        with self._connect() as db:
            rows = db.execute('SELECT start, "end" FROM events').fetchall()
        return [Interval(parse_start(a), parse_start(b)) for a, b in rows]

    def book(self, event: dict, *, is_free: Callable[[list[Interval]], bool]) -> tuple[dict, bool]:
        """Store ``event`` (needs ``event_id``, ``transaction_id``, ``start``, ``end``)
        unless its ``transaction_id`` is already booked; returns ``(stored event,
        created)``. ``is_free(busy)`` is asked, under the write lock, whether the slot is
        still free given every booking; raises :class:`SlotTaken` when it is not."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT event FROM events WHERE transaction_id = ?",
                    (event["transaction_id"],),
                ).fetchone()
                if row is not None:
                    db.execute("ROLLBACK")
                    return json.loads(row[0]), False
                busy = [
                    Interval(parse_start(a), parse_start(b))
                    for a, b in db.execute('SELECT start, "end" FROM events')
                ]
                if not is_free(busy):
                    raise SlotTaken(event["start"])
                db.execute(
                    'INSERT INTO events (event_id, transaction_id, start, "end", event) '
                    "VALUES (?, ?, ?, ?, ?)",
                    (
                        event["event_id"],
                        event["transaction_id"],
                        event["start"],
                        event["end"],
                        json.dumps(event),
                    ),
                )
                db.execute("COMMIT")
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                raise SlotTaken(event["start"]) from None
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return event, True


def calendar_for(call, settings: Settings) -> LocalCalendar:
    return LocalCalendar(_path(call, settings.calendar_file))


def _free_slots(call, settings: Settings, busy: list[Interval], **options) -> list[Interval]:
    return free_slots(
        busy,
        now=datetime.now(timezone.utc),
        hours=WorkingHours(settings.rep_timezone, *settings.working_hours),
        duration=timedelta(minutes=settings.meeting_minutes),
        notice=timedelta(hours=settings.notice_hours),
        attendee_hours=WorkingHours(_prospect_tz(call, settings), *settings.prospect_meeting_hours),
        **options,
    )


def _offer(call, settings: Settings, *, days_ahead: int, max_slots: int) -> list[Interval]:
    busy = calendar_for(call, settings).busy()
    return _free_slots(call, settings, busy, days_ahead=days_ahead, max_slots=max_slots)


def _prospect_tz(call, settings: Settings) -> str:
    return (call.lead and call.lead.timezone) or settings.rep_timezone


@hookimpl
def register_tools(register, call):
    from livekit.agents import RunContext, ToolError, function_tool

    settings = settings_for(call)

    @function_tool
    async def qualify_prospect(
        context: RunContext,
        need: str,
        authority: Literal["decision_maker", "influencer", "none", "unknown"],
        budget_usd: float | None = None,
        timeline_months: int | None = None,
        notes: str = "",
    ) -> str:
        """Record the BANT qualification once you know budget, authority, need and timeline.

        Args:
            need: the problem they want solved, in their words.
            authority: decision_maker, influencer, none or unknown.
            budget_usd: the budget they stated, in US dollars; omit if not stated.
            timeline_months: months until they want a solution; omit if vague.
            notes: anything else worth passing to the account executive.
        """
        if budget_usd is not None and budget_usd < 0:
            raise ToolError("budget_usd cannot be negative")
        result = qualify(
            settings,
            budget_usd=budget_usd,
            authority=authority,
            need=need,
            timeline_months=timeline_months,
        )
        current = context.userdata
        current.qualification = {
            "budget": f"${budget_usd:,.0f}" if budget_usd is not None else "",
            "budget_usd": budget_usd,
            "authority": authority,
            "need": need,
            "timeline": f"{timeline_months} months" if timeline_months is not None else "",
            "timeline_months": timeline_months,
            "notes": notes,
            **result,
        }
        current.set_disposition(
            {"qualified": Disposition.QUALIFIED, "nurture": Disposition.NURTURE}.get(
                result["status"], Disposition.DISQUALIFIED
            ),
            "; ".join(result["reasons"]),
        )
        return json.dumps(result)

    @function_tool
    async def check_availability(
        context: RunContext, days_ahead: int = 7, max_slots: int = 3
    ) -> str:
        """Find free meeting slots with the TDX team.

        Args:
            days_ahead: how many days ahead to look (1-30).
            max_slots: how many slots to offer (1-5).
        """
        if not 1 <= days_ahead <= 30 or not 1 <= max_slots <= 5:
            raise ToolError("days_ahead must be 1-30 and max_slots 1-5")
        tz = _prospect_tz(context.userdata, settings)
        language = context.userdata.config.agent.language
        slots = await asyncio.to_thread(
            _offer, context.userdata, settings, days_ahead=days_ahead, max_slots=max_slots
        )
        return json.dumps(
            {
                "timezone": tz,
                "slots": [
                    {"start": s.start.isoformat(), "label": spoken_label(s.start, tz, language)}
                    for s in slots
                ],
            }
        )

    @function_tool
    async def schedule_meeting(
        context: RunContext, start: str, attendee_email: str, topic: str = ""
    ) -> str:
        """Book a meeting in a slot offered by check_availability.

        Args:
            start: the slot's start, exactly as check_availability returned it (ISO 8601).
            attendee_email: the prospect's email for the invite.
            topic: a short subject; defaults to the campaign's.
        """
        current = context.userdata
        try:
            begin = parse_start(start)
        except ValueError as exc:
            raise ToolError(f"{exc}; use a start returned by check_availability") from None
        if "@" not in attendee_email:
            raise ToolError("I need the prospect's email address to send the invite")
        end = begin + timedelta(minutes=settings.meeting_minutes)
        tz = _prospect_tz(current, settings)
        event = {
            "event_id": uuid.uuid4().hex,
            "transaction_id": f"{current.call_id}:{begin.isoformat()}",
            "start": begin.isoformat(),
            "end": end.isoformat(),
            "label": spoken_label(begin, tz, current.config.agent.language),
            "attendee_email": attendee_email,
            "subject": topic or f"{current.config.campaign.name}: intro call",
            "join_url": None,
        }

        def still_free(busy: list[Interval]) -> bool:
            free = _free_slots(
                current, settings, busy, days_ahead=30, max_slots=10_000, one_per_day=False
            )
            return begin in {slot.start for slot in free}

        try:
            event, created = await asyncio.to_thread(
                calendar_for(current, settings).book, event, is_free=still_free
            )
        except SlotTaken:
            raise ToolError(
                "that slot is not free any more; offer the next available slot"
            ) from None
        if not created:
            return json.dumps(event)  # a repeated tool call books once
        current.data["meeting"] = event
        current.set_disposition(Disposition.MEETING_BOOKED, event["label"])
        return json.dumps({"status": "booked", **event})

    register(qualify_prospect)
    register(check_availability, fallback=True)
    register(schedule_meeting, fallback=True)


@hookimpl
def call_instructions(call):
    lead = call.lead
    if lead is None or lead.source == "unknown":
        return "You do not know who is calling: ask for their name and company first."
    lines = ["What we know about this prospect:"]
    for label, value in (
        ("Name", lead.name),
        ("Company", lead.company),
        ("Title", lead.job_title),
        ("Email", lead.email),
        ("Industry", lead.extra.get("industry")),
        ("Account owner", lead.owner or lead.extra.get("resource_name")),
    ):
        if value:
            lines.append(f"- {label}: {value}")
    if lead.timezone:
        local = datetime.now(ZoneInfo(lead.timezone))
        lines.append(f"- Local time: {local:%A %H:%M} ({lead.timezone})")
    return "\n".join(lines)


class DncListError(InputError):
    """The do-not-call list has lines that are not phone numbers (each :class:`Problem`
    names the file, the line and the value)."""


def load_dnc(path: Path, parse: Callable[[str], str]) -> set[str]:
    """The E.164 numbers of a do-not-call file: one number per line in any format,
    ``#`` starts a comment, blank lines are skipped. ``parse`` turns an entry into E.164
    or raises ``ValueError`` with the reason (``before_dial`` uses the deployment's
    ``[leads]`` phone policy, so entries read exactly as lead numbers do).

    Raises :class:`DncListError` listing every line that is not a valid number, so a typo
    stops the dialer with ``dnc.txt: line 4 = 12345: not a valid phone number for its region``
    instead of a traceback (or, worse, silently calling a number the list meant to block).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DncListError([Problem(str(path), "", "", f"not UTF-8 text ({exc.reason})")]) from None
    numbers: set[str] = set()
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            numbers.add(parse(entry))
        except ValueError as exc:
            problems.append(Problem(str(path), f"line {number}", entry, str(exc)))
    if problems:
        raise DncListError(problems)
    return numbers


@hookimpl
def before_dial(lead, call):
    settings = settings_for(call)
    dnc = _path(call, settings.dnc_file)
    policy = PhonePolicy.from_config(call.config)
    if dnc.is_file() and lead.phone in load_dnc(dnc, lambda raw: policy.parse(raw).e164):
        return f"{lead.phone} is on the do-not-call list ({dnc.name})"
    if call.mode == "live" and lead.timezone:
        local = datetime.now(ZoneInfo(lead.timezone)).time()
        opens, closes = settings.calling_hours
        if not opens <= local < closes:
            return f"outside calling hours in {lead.timezone} ({local:%H:%M})"
    return None
