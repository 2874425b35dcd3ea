"""The agent's calendar tools, backed by Microsoft Graph.

``check_availability``, ``schedule_meeting``, ``reschedule_meeting``, ``cancel_meeting``:
the same names and JSON shapes as the TDX example's local calendar. They are registered
without ``fallback``, so they replace the example's fallback tools when ``teams`` is
enabled.

Each tool call spends at most ``tool_budget_seconds`` on Graph (``Retry-After`` waits
included), says ``filler`` when the caller has waited ``filler_after_seconds``, and when
Graph cannot answer in time tells the model to offer to email times, with a follow-up
in the report (``data["teams"]["follow_up"]``) instead of dead air. A create is written
ahead (``pending_booking``) and settled before anything else is booked in the call.
"""

# No `from __future__ import annotations`: livekit evaluates tool annotations (RunContext)
# at call time, and RunContext is imported inside teams_tools() to keep livekit out of
# plugin listing.

import asyncio
import contextlib
import json
import re
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from voicekit_core import CallContext, Disposition
from voicekit_core.scheduling import Interval, parse_start, spoken_label

from . import graph
from .availability import (
    TeamSchedule,
    assignment_order,
    fetch_schedule,
    find_offers,
    prospect_hours,
)
from .booking import (
    Booked,
    build_event,
    cancel_event,
    create_with_retries,
    find_booked,
    meeting_body,
    move_event,
    transaction_id,
)
from .graph import Deadline, GraphProblem
from .settings import NAME, TeamsSettings

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RESPONSE_KEYS = ("status", "label", "start", "end", "join_url", "event_id")
#: How far ahead a start may be booked (days).
HORIZON_DAYS = 31
FILLERS = {
    "en": "One moment while I check the calendar.",
    "es": "Un momento, estoy revisando el calendario.",
}
UNCONFIRMED = (
    "The calendar has not confirmed the booking yet; it may still go through. Tell the "
    "prospect the invite should reach their inbox shortly and that, if it doesn't, a "
    "colleague will email them to confirm. Don't book any other time; you may call "
    "schedule_meeting again with the same start later in the call to check."
)

#: Round-robin position per organizer team, per worker process (advanced on each booking).
_ROTATION: dict[tuple[str, ...], int] = {}
#: Open Graph clients by call id; closed by the ``call_ended`` hook.
_SESSIONS: dict[str, "GraphSession"] = {}
#: Tool state by call id, for the ``call_ended`` hook (creates still in flight).
_STATES: dict[str, "CallState"] = {}


@dataclass
class GraphSession:
    """A Graph client with its credential and httpx client (closed together)."""

    client: Any
    http: Any
    credential: Any

    async def aclose(self) -> None:
        await self.http.aclose()
        close = getattr(self.credential, "close", None)
        if close is not None:
            await close()


def open_session(settings: TeamsSettings, credential: Any | None = None) -> GraphSession:
    """A new :class:`GraphSession` (imports msgraph on first use)."""
    credential = credential or graph.make_credential(settings)
    http = graph.make_http_client(settings)
    client = graph.build_client(settings, credential, http_client=http)
    return GraphSession(client, http, credential)


async def close_session(call_id: str) -> None:
    """Close the Graph client of ``call_id``, if one was opened."""
    session = _SESSIONS.pop(call_id, None)
    if session is not None:
        await session.aclose()


def current_now(settings: TeamsSettings) -> datetime:
    """``settings.fixed_now`` (tests, demos) or the wall clock, as aware UTC."""
    return (settings.fixed_now or datetime.now(timezone.utc)).astimezone(timezone.utc)


def prospect_timezone(call: CallContext, settings: TeamsSettings) -> str:
    """The lead's IANA timezone, else the rep's."""
    return (call.lead and call.lead.timezone) or settings.rep_timezone


def teams_data(call: CallContext) -> dict[str, Any]:
    """``call.data["teams"]`` (created on first use)."""
    return call.data.setdefault(NAME, {})


def record_problem(call: CallContext, problem: GraphProblem) -> None:
    """Keep a Graph failure for the report: ``data["teams"]["errors"]`` and a note."""
    record_warnings(call, problem.details.get("warnings") or [])
    teams_data(call).setdefault("errors", []).append(problem.record())
    call.note(f"teams: {problem}")


def record_warnings(call: CallContext, schedule: TeamSchedule | list[dict[str, str]]) -> None:
    """Organizers skipped (or read with fallbacks): ``data["teams"]["warnings"]`` and a
    note, once per organizer and reason."""
    warnings = schedule.warnings if isinstance(schedule, TeamSchedule) else schedule
    if not warnings:
        return
    seen = teams_data(call).setdefault("warnings", [])
    for warning in warnings:
        if any(
            (w["organizer"], w["code"]) == (warning["organizer"], warning["code"]) for w in seen
        ):
            continue
        seen.append(dict(warning))
        call.note(
            f"teams: organizer {warning['organizer']} skipped or read with fallbacks: "
            f"{warning['code']} ({warning['message']})"
        )


@dataclass
class CallState:
    """What the tools remember during one call."""

    offers: dict[datetime, str] = field(default_factory=dict)  # UTC start -> organizer
    meeting: dict[str, Any] | None = None  # the booked meeting (None once cancelled)
    response: dict[str, Any] | None = None  # last booking result, for repeated calls
    pending: dict[str, Any] | None = None  # a create whose outcome is not known yet
    pending_event: Any = None  # its Event, to send again with the same transactionId
    inflight: "asyncio.Task[Booked] | None" = None  # a create still waiting for Graph
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    skip_via: set[str] = field(default_factory=set)  # mailboxes Graph does not know
    quiet_until: float = 0.0  # time.monotonic() before which Graph asked us not to call
    settled: "weakref.WeakSet[asyncio.Task[Booked]]" = field(default_factory=weakref.WeakSet)
    adopt: Any = None  # (call, Booked, pending) -> None: make a found event the meeting


def teams_tools(call: CallContext) -> list[Any]:
    """The four calendar tools for ``call`` (livekit ``FunctionTool`` s)."""
    from livekit.agents import RunContext, ToolError, function_tool

    settings: TeamsSettings = call.config.plugin_settings(NAME)
    state = _STATES[call.call_id] = CallState()
    team = tuple(settings.organizers)
    step = timedelta(minutes=settings.slot_step_minutes)
    filler = settings.filler or FILLERS.get(call.config.agent.language, FILLERS["en"])

    async def client_for(current: CallContext) -> Any:
        await graph.warm_async()
        session = _SESSIONS.get(current.call_id)
        if session is None:
            session = _SESSIONS[current.call_id] = open_session(settings)
        return session.client

    def deadline() -> Deadline:
        return Deadline(settings.tool_budget_seconds)

    @contextlib.asynccontextmanager
    async def waiting(context: Any) -> Any:
        """Say ``filler`` if the caller has waited ``filler_after_seconds`` meanwhile."""
        async with context.with_filler(filler, delay=settings.filler_after_seconds):
            yield

    # -- failing over to email ------------------------------------------------------

    def follow_up(current: CallContext, action: str, reason: str, **details: Any) -> None:
        """A human follow-up in the report: ``data["teams"]["follow_up"]`` (``action``
        ``email_times`` or ``confirm_booking``), a note, and, while nothing is booked, the
        disposition ``qualified`` (unless the prospect did not qualify)."""
        lead_email = current.lead.email if current.lead else None
        record = {"action": action, "reason": reason, **details}
        record.setdefault("attendee_email", lead_email)
        teams_data(current)["follow_up"] = {k: v for k, v in record.items() if v is not None}
        what = "confirm the booking" if action == "confirm_booking" else "email meeting times"
        current.note(
            f"teams: follow up: {what} to {record['attendee_email'] or 'the prospect'} ({reason})"
        )
        if state.meeting is not None:
            return
        status = (current.qualification or {}).get("status")
        if status in (None, "qualified"):
            current.set_disposition(Disposition.QUALIFIED, f"calendar: {what} ({reason})")

    def failure(current: CallContext, problem: GraphProblem, **details: Any) -> ToolError:
        record_problem(current, problem)
        if problem.retry_after:
            state.quiet_until = max(state.quiet_until, time.monotonic() + problem.retry_after)
        if problem.kind != "rejected":
            follow_up(current, "email_times", str(problem), **details)
        return ToolError(problem.speakable)

    def quiet_check(current: CallContext) -> None:
        """Graph asked us to wait (Retry-After) and the wait isn't over: fail over now,
        without another request."""
        left = state.quiet_until - time.monotonic()
        if left > 0:
            problem = GraphProblem(
                "unavailable", 429, "RetryAfterPending", "calendar", retry_after=round(left, 1)
            )
            raise failure(current, problem)

    # -- helpers --------------------------------------------------------------------

    def label_for(current: CallContext, moment: datetime) -> str:
        tz = prospect_timezone(current, settings)
        return spoken_label(moment, tz, current.config.agent.language)

    def outside_hours(current: CallContext, slot: Interval, now: datetime) -> str | None:
        """Why ``slot`` can't be booked whoever hosts it (notice, horizon, the prospect's
        hours), or None."""
        if slot.start < now + settings.notice or slot.start > now + timedelta(days=HORIZON_DAYS):
            return (
                "That time is too soon or too far ahead; offer one of the slots from "
                "check_availability."
            )
        prospect = prospect_hours(settings, prospect_timezone(current, settings))
        if not prospect.contains(slot):
            opens, closes = settings.prospect_hours
            return (
                f"That time is outside the prospect's meeting hours ({opens:%H:%M} to "
                f"{closes:%H:%M} their time); offer one of the slots from check_availability."
            )
        return None

    async def next_free_after(
        current: CallContext,
        client: Any,
        moment: datetime,
        budget: Deadline,
        *,
        only: list[str] | None = None,
        ignore: Interval | None = None,
    ) -> str:
        """Speakable hint naming the next free slot after ``moment`` (or none), hosted by
        one of ``only`` (default: anyone in the team)."""
        try:
            offers, schedule = await find_offers(
                client,
                settings,
                now=current_now(settings),
                prospect=prospect_hours(settings, prospect_timezone(current, settings)),
                deadline=budget,
                skip_via=state.skip_via,
                rotation=_ROTATION.get(team, 0),
                max_slots=100,
                one_per_day=False,
                only=only,
                ignore=ignore,
            )
        except GraphProblem as problem:
            record_problem(current, problem)
            return "Offer another of the slots from check_availability."
        record_warnings(current, schedule)
        later = [o for o in offers if o.slot.start > moment] or offers
        if not later:
            return "There are no other free times in the next days; offer to take a message."
        offer = later[0]
        state.offers[offer.slot.start] = offer.organizer
        return (
            f"The next free time is {label_for(current, offer.slot.start)} "
            f"(start {offer.slot.start.isoformat()}); offer that instead."
        )

    def parse_slot(start: str) -> datetime:
        try:
            return parse_start(start)
        except ValueError as exc:
            raise ToolError(f"{exc}; use a start returned by check_availability") from None

    # -- creates: written ahead, never abandoned, settled before the next booking ----

    def remember_pending(
        current: CallContext,
        organizer: str,
        begin: datetime,
        end: datetime,
        email: str,
        txn: str,
        event: Any,
    ) -> dict[str, Any]:
        """Write the create ahead: the tools' state (settled before the next booking) and
        the report (``data["teams"]["pending_booking"]``) hold it until Graph answers."""
        state.pending = {
            "transaction_id": txn,
            "organizer": organizer,
            "start": begin.isoformat(),
            "end": end.isoformat(),
            "attendee_email": email,
        }
        state.pending_event = event
        teams_data(current)["pending_booking"] = dict(state.pending)
        return state.pending

    def forget_pending(current: CallContext, pending: dict[str, Any]) -> None:
        if state.pending is pending:
            state.pending = None
            state.pending_event = None
            teams_data(current).pop("pending_booking", None)

    def settle(current: CallContext, task: "asyncio.Task[Booked]", pending: dict[str, Any]) -> None:
        """Record what a finished create did (idempotent): adopt the event, forget a create
        Graph refused, or keep a create whose outcome is unknown pending."""
        if not task.done() or task in state.settled:
            return
        state.settled.add(task)
        if state.inflight is task:
            state.inflight = None
        if task.cancelled():
            current.note(f"teams: booking {pending['start']} interrupted; still pending")
            return
        exc = task.exception()
        if exc is None:
            adopt(current, task.result(), pending)
            return
        if isinstance(exc, GraphProblem) and exc.outcome_unknown:
            current.note(
                f"teams: booking {pending['start']} with {pending['organizer']} unconfirmed "
                f"(transactionId {pending['transaction_id']})"
            )
            return
        forget_pending(current, pending)

    def adopt(current: CallContext, booked: Booked, pending: dict[str, Any]) -> None:
        """The pending create's event exists: it becomes the call's meeting."""
        forget_pending(current, pending)
        begin, end = parse_start(pending["start"]), parse_start(pending["end"])
        record_booking(
            current, booked, begin, end, pending["attendee_email"], pending["transaction_id"]
        )

    state.adopt = adopt

    def start_create(current: CallContext, client: Any, budget: Deadline) -> "asyncio.Task[Booked]":
        """Send the pending create (again, with its ``transactionId``) in a task that the
        tool awaits through ``shield``: cutting the tool short never cuts the request."""
        pending, event = state.pending, state.pending_event
        assert pending is not None
        task = asyncio.get_running_loop().create_task(
            create_with_retries(
                client,
                pending["organizer"],
                event,
                deadline=budget,
                max_retries=settings.max_retries,
            )
        )
        task.add_done_callback(lambda t: settle(current, t, pending))
        state.inflight = task
        return task

    async def await_create(
        current: CallContext, task: "asyncio.Task[Booked]", budget: Deadline
    ) -> None:
        """Wait for ``task`` within ``budget``; raise a ToolError unless it booked."""
        pending = state.pending
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=max(budget.remaining(), 0.01))
        except asyncio.TimeoutError:
            details = pending or {}
            follow_up(
                current,
                "confirm_booking",
                "the calendar had not answered the booking when the time budget ran out",
                requested_start=details.get("start"),
                organizer=details.get("organizer"),
                transaction_id=details.get("transaction_id"),
            )
            raise ToolError(UNCONFIRMED) from None
        except GraphProblem as problem:
            if pending is not None:
                settle(current, task, pending)
            if problem.outcome_unknown:
                record_problem(current, problem)
                if problem.retry_after:
                    state.quiet_until = time.monotonic() + problem.retry_after
                follow_up(
                    current,
                    "confirm_booking",
                    str(problem),
                    requested_start=(pending or {}).get("start"),
                    organizer=(pending or {}).get("organizer"),
                    transaction_id=(pending or {}).get("transaction_id"),
                )
                raise ToolError(UNCONFIRMED) from None
            raise failure(current, problem, requested_start=(pending or {}).get("start")) from None
        if pending is not None:
            settle(current, task, pending)

    async def settle_pending(current: CallContext, client: Any, budget: Deadline) -> None:
        """Before anything else is booked or cancelled: wait for a create still in flight,
        then send a create whose outcome is unknown once more with its ``transactionId``
        (Graph returns the stored event or creates it once). Raises ToolError when Graph
        still can't say."""
        task = state.inflight
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=max(budget.remaining(), 0.01))
            except asyncio.TimeoutError:
                pending = state.pending or {}
                follow_up(
                    current,
                    "confirm_booking",
                    "an earlier booking was still waiting for the calendar",
                    requested_start=pending.get("start"),
                    organizer=pending.get("organizer"),
                    transaction_id=pending.get("transaction_id"),
                )
                raise ToolError(UNCONFIRMED) from None
            except GraphProblem:
                pass  # settled by its done-callback: refused (forgotten) or still unknown
        if task is not None and state.pending is not None:
            settle(current, task, state.pending)
        if state.pending is None:
            return
        current.note(
            f"teams: settling unconfirmed booking {state.pending['start']} "
            f"(transactionId {state.pending['transaction_id']})"
        )
        await await_create(current, start_create(current, client, budget), budget)

    def record_booking(
        current: CallContext,
        booked: Booked,
        begin: datetime,
        end: datetime,
        email: str,
        txn: str,
    ) -> dict[str, Any]:
        """The booked meeting, kept in the tools' state and the report; sets the
        disposition, clears any follow-up and advances the round-robin rotation."""
        label = label_for(current, begin)
        meeting = {
            "event_id": booked.event_id,
            "join_url": booked.join_url,
            "start": begin.isoformat(),
            "end": end.isoformat(),
            "label": label,
            "timezone": prospect_timezone(current, settings),
            "organizer": booked.organizer,
            "attendee_email": email,
            "transaction_id": txn,
            "status": "booked",
        }
        state.meeting = meeting
        current.data["meeting"] = meeting
        current.set_disposition(Disposition.MEETING_BOOKED, label)
        if teams_data(current).pop("follow_up", None) is not None:
            current.note(f"teams: follow-up cleared, meeting {booked.event_id} confirmed")
        if settings.assignment == "round_robin":
            _ROTATION[team] = _ROTATION.get(team, 0) + 1
        state.response = {k: meeting[k] for k in RESPONSE_KEYS}
        return meeting

    # -- tools ----------------------------------------------------------------------

    @function_tool
    async def check_availability(
        context: RunContext, days_ahead: int | None = None, max_slots: int | None = None
    ) -> str:
        """Find free meeting slots with the sales team (Microsoft Teams calendar).

        Returns JSON {"timezone": prospect's IANA zone, "slots": [{"start": ISO 8601 UTC,
        "label": how to say it in the prospect's timezone}]}.

        Args:
            days_ahead: how many days ahead to look (1-30); omit for the default.
            max_slots: how many slots to offer (1-10); omit for the default.
        """
        if days_ahead is not None and not 1 <= days_ahead <= 30:
            raise ToolError("days_ahead must be between 1 and 30")
        if max_slots is not None and not 1 <= max_slots <= 10:
            raise ToolError("max_slots must be between 1 and 10")
        current: CallContext = context.userdata
        quiet_check(current)
        tz = prospect_timezone(current, settings)
        async with waiting(context):
            client = await client_for(current)
            try:
                offers, schedule = await find_offers(
                    client,
                    settings,
                    now=current_now(settings),
                    prospect=prospect_hours(settings, tz),
                    deadline=deadline(),
                    skip_via=state.skip_via,
                    rotation=_ROTATION.get(team, 0),
                    days_ahead=days_ahead,
                    max_slots=max_slots,
                )
            except GraphProblem as problem:
                raise failure(current, problem) from None
        record_warnings(current, schedule)
        for offer in offers:
            state.offers[offer.slot.start] = offer.organizer
        return json.dumps(
            {
                "timezone": tz,
                "slots": [
                    {"start": o.slot.start.isoformat(), "label": label_for(current, o.slot.start)}
                    for o in offers
                ],
            }
        )

    @function_tool
    async def schedule_meeting(
        context: RunContext, start: str, attendee_email: str = "", topic: str = ""
    ) -> str:
        """Book a Microsoft Teams meeting in a slot offered by check_availability.

        Returns JSON {"status": "booked", "label", "start", "end", "join_url", "event_id"}.

        Args:
            start: the slot's start, exactly as check_availability returned it (ISO 8601).
            attendee_email: the prospect's email for the invite; ask for it if unknown.
            topic: a short subject; defaults to the campaign's.
        """
        current: CallContext = context.userdata
        begin = parse_slot(start)
        email = attendee_email.strip()
        if not EMAIL.match(email):
            raise ToolError(
                "I need the prospect's email address to send the invite: ask for it, then "
                "call schedule_meeting again with the same start."
            )
        meeting = state.meeting
        if meeting is not None and meeting["start"] == begin.isoformat() and state.response:
            return json.dumps(state.response)  # a repeated call books once
        quiet_check(current)
        async with waiting(context):
            client = await client_for(current)
            budget = deadline()
            await settle_pending(current, client, budget)
            if state.meeting is not None:
                if state.meeting["start"] == begin.isoformat() and state.response is not None:
                    return json.dumps(state.response)
                raise ToolError(
                    f"A meeting is already booked for {state.meeting['label']} in this call; "
                    "use reschedule_meeting to move it or cancel_meeting to cancel it."
                )
            return await book(current, client, budget, begin, email, topic)

    async def book(
        current: CallContext,
        client: Any,
        budget: Deadline,
        begin: datetime,
        email: str,
        topic: str,
    ) -> str:
        from livekit.agents import ToolError

        end = begin + settings.duration
        slot = Interval(begin, end)
        why = outside_hours(current, slot, current_now(settings))
        if why:
            raise ToolError(why)
        try:
            schedule = await fetch_schedule(
                client, settings, begin, end, deadline=budget, skip_via=state.skip_via
            )
        except GraphProblem as problem:
            raise failure(current, problem, requested_start=begin.isoformat()) from None
        record_warnings(current, schedule)
        order = assignment_order(settings, _ROTATION.get(team, 0))
        preferred = state.offers.get(begin)
        if preferred in order:
            order = [preferred, *(o for o in order if o != preferred)]
        working = [o for o in order if schedule.working(o, slot, step)]
        if not working:
            raise ToolError(
                "That time is outside the team's working hours; offer one of the slots from "
                "check_availability."
            )
        free = [o for o in working if schedule.free(o, slot)]
        if not free:
            hint = await next_free_after(current, client, begin, budget)
            current.note(f"teams: slot {begin.isoformat()} was taken before booking")
            raise ToolError(f"That time was just taken. {hint}")
        if budget.expired:
            problem = GraphProblem("unavailable", None, graph.BUDGET, "createEvent")
            raise failure(current, problem, requested_start=begin.isoformat())
        organizer = free[0]
        txn = transaction_id(current.call_id, begin, len(state.cancelled))
        event = build_event(
            subject=topic.strip()
            or settings.subject
            or f"{current.config.campaign.name}: intro call",
            start=begin,
            end=end,
            attendee_email=email,
            attendee_name=current.lead.name if current.lead else None,
            body=meeting_body(current),
            txn=txn,
        )
        remember_pending(current, organizer, begin, end, email, txn, event)
        await await_create(current, start_create(current, client, budget), budget)
        assert state.response is not None
        return json.dumps(state.response)

    @function_tool
    async def reschedule_meeting(context: RunContext, start: str) -> str:
        """Move the meeting booked earlier in this call to another free slot.

        Returns JSON {"status": "rescheduled", "label", "start", "end", "join_url", "event_id"}.

        Args:
            start: the new slot's start, as check_availability returned it (ISO 8601).
        """
        current: CallContext = context.userdata
        begin = parse_slot(start)
        meeting = state.meeting
        if meeting is None and state.pending is None:
            raise ToolError("No meeting is booked in this call; use schedule_meeting.")
        if meeting is not None and begin.isoformat() == meeting["start"]:
            return json.dumps({"status": "rescheduled", **_public(meeting)})
        quiet_check(current)
        async with waiting(context):
            client = await client_for(current)
            budget = deadline()
            await settle_pending(current, client, budget)
            meeting = state.meeting
            if meeting is None:
                raise ToolError("No meeting is booked in this call; use schedule_meeting.")
            if begin.isoformat() == meeting["start"]:
                return json.dumps({"status": "rescheduled", **_public(meeting)})
            return await move(current, client, budget, meeting, begin)

    async def move(
        current: CallContext,
        client: Any,
        budget: Deadline,
        meeting: dict[str, Any],
        begin: datetime,
    ) -> str:
        from livekit.agents import ToolError

        end = begin + settings.duration
        slot = Interval(begin, end)
        why = outside_hours(current, slot, current_now(settings))
        if why:
            raise ToolError(why)
        organizer = meeting["organizer"]
        own = Interval(parse_start(meeting["start"]), parse_start(meeting["end"]))
        try:
            schedule = await fetch_schedule(
                client, settings, begin, end, deadline=budget, skip_via=state.skip_via
            )
            record_warnings(current, schedule)
            if not schedule.of(organizer).usable:
                raise GraphProblem("unreadable", None, "OrganizerUnreadable", "getSchedule")
            if not schedule.working(organizer, slot, step) or not schedule.free(
                organizer, slot, ignore=own
            ):
                hint = await next_free_after(
                    current, client, begin, budget, only=[organizer], ignore=own
                )
                raise ToolError(f"That time is not free for the meeting's host. {hint}")
            moved = await move_event(
                client,
                organizer,
                meeting["event_id"],
                begin,
                end,
                deadline=budget,
                max_retries=settings.max_retries,
                timeout=settings.timeout_seconds,
            )
        except GraphProblem as problem:
            record_problem(current, problem)
            raise ToolError(
                "I couldn't move the meeting right now; it stays booked for "
                f"{meeting['label']}. Offer that a colleague will email to change the time."
            ) from None
        label = label_for(current, begin)
        meeting.update(
            start=begin.isoformat(),
            end=end.isoformat(),
            label=label,
            join_url=moved.join_url or meeting["join_url"],
            status="booked",
        )
        current.data["meeting"] = meeting
        current.set_disposition(Disposition.MEETING_BOOKED, label)
        state.response = {"status": "booked", **_public(meeting)}
        return json.dumps({"status": "rescheduled", **_public(meeting)})

    @function_tool
    async def cancel_meeting(context: RunContext, reason: str = "") -> str:
        """Cancel the meeting booked earlier in this call (the prospect gets a cancellation).

        Returns JSON {"status": "cancelled", "label", ...}.

        Args:
            reason: a short reason, included in the cancellation message.
        """
        current: CallContext = context.userdata
        if state.meeting is None and state.pending is None:
            raise ToolError("No meeting is booked in this call, so there is nothing to cancel.")
        quiet_check(current)
        async with waiting(context):
            client = await client_for(current)
            budget = deadline()
            await settle_pending(current, client, budget)
            meeting = state.meeting
            if meeting is None:
                raise ToolError("No meeting is booked in this call, so there is nothing to cancel.")
            try:
                await cancel_event(
                    client,
                    meeting["organizer"],
                    meeting["event_id"],
                    reason.strip() or "Cancelled at the prospect's request.",
                    deadline=budget,
                    max_retries=settings.max_retries,
                    timeout=settings.timeout_seconds,
                )
            except GraphProblem as problem:
                record_problem(current, problem)
                follow_up(
                    current,
                    "cancel_meeting",
                    str(problem),
                    event_id=meeting["event_id"],
                    organizer=meeting["organizer"],
                )
                raise ToolError(
                    "I couldn't cancel the meeting right now; say a colleague will cancel it "
                    "and confirm by email."
                ) from None
        meeting["status"] = "cancelled"
        current.data["meeting"] = meeting
        state.cancelled.append(dict(meeting))
        teams_data(current).setdefault("cancelled_meetings", []).append(_public(meeting))
        state.meeting = None
        state.response = None
        qualified = (current.qualification or {}).get("status") == "qualified"
        current.set_disposition(
            Disposition.QUALIFIED if qualified else Disposition.COMPLETED,
            f"meeting for {meeting['label']} cancelled",
        )
        return json.dumps({"status": "cancelled", **_public(meeting)})

    return [check_availability, schedule_meeting, reschedule_meeting, cancel_meeting]


async def finish_call(call: CallContext, report: Any = None) -> None:
    """At the end of a call: let a create still in flight finish (bounded by the HTTP
    timeout), look an unconfirmed one up by its ``transactionId`` (``calendarView``, a
    read), copy the outcome into ``report`` (seen by ``post_call`` deliveries), then close
    the call's Graph client."""
    state = _STATES.pop(call.call_id, None)
    try:
        if state is None:
            return
        settings: TeamsSettings = call.config.plugin_settings(NAME)
        changed = False
        task = state.inflight
        if task is not None and not task.done():
            changed = True
            await asyncio.wait({task}, timeout=settings.timeout_seconds + 1)
        pending = state.pending
        session = _SESSIONS.get(call.call_id)
        if pending is not None and state.meeting is None and session is not None:
            changed = True
            await _look_up_pending(call, settings, state, session, pending)
        if changed and report is not None:
            _copy_outcome(call, report)
    finally:
        await close_session(call.call_id)


async def _look_up_pending(
    call: CallContext,
    settings: TeamsSettings,
    state: CallState,
    session: GraphSession,
    pending: dict[str, Any],
) -> None:
    """Is the unconfirmed create in the organizer's calendar? Noted in the report."""
    teams = teams_data(call)
    try:
        found = await find_booked(
            session.client,
            pending["organizer"],
            parse_start(pending["start"]),
            parse_start(pending["end"]),
            pending["transaction_id"],
            deadline=Deadline(settings.tool_budget_seconds),
            timeout=settings.timeout_seconds,
        )
    except GraphProblem as problem:
        record_problem(call, problem)
        return
    if found is not None:
        call.note(f"teams: unconfirmed booking found after the call: {found.event_id}")
        state.adopt(call, found, pending)
    else:
        teams["pending_booking"] = {**pending, "found": False}
        call.note("teams: unconfirmed booking not in the calendar at the end of the call")


def _copy_outcome(call: CallContext, report: Any) -> None:
    """Bring the report (built before ``call_ended``) up to date with what Graph confirmed
    meanwhile: meeting, Teams data, notes, disposition (secrets redacted, as in reports)."""
    from voicekit_core.redaction import redact

    data = json.loads(
        redact(json.dumps({k: call.data.get(k) for k in ("meeting", NAME)}, default=str))
    )
    for key, value in data.items():
        if value is not None:
            report.data[key] = value
    for note in (redact(n) for n in call.notes):
        if note not in report.notes:
            report.notes.append(note)
    if call.disposition is not None and report.disposition != call.disposition:
        report.disposition = call.disposition
        report.disposition_reason = redact(call.disposition_reason)


def _public(meeting: dict[str, Any]) -> dict[str, Any]:
    return {k: meeting[k] for k in ("label", "start", "end", "join_url", "event_id")}
