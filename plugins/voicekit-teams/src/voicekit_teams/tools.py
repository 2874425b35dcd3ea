"""The agent's calendar tools, backed by Microsoft Graph.

``check_availability``, ``schedule_meeting``, ``reschedule_meeting``, ``cancel_meeting``:
the same names and JSON shapes as the TDX example's local calendar. They are registered
without ``fallback``, so they replace the example's fallback tools when ``teams`` is
enabled.
"""

# No `from __future__ import annotations`: livekit evaluates tool annotations (RunContext)
# at call time, and RunContext is imported inside teams_tools() to keep livekit out of
# plugin listing.

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from voicekit_core import CallContext, Disposition
from voicekit_core.scheduling import Interval, free_slots, parse_start, spoken_label

from . import graph
from .availability import fetch_busy, find_offers, free_organizers, rotation_order
from .booking import (
    Booked,
    build_event,
    cancel_event,
    create_event_once,
    find_booked,
    meeting_body,
    move_event,
    transaction_id,
)
from .graph import GraphProblem
from .settings import NAME, TeamsSettings

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RESPONSE_KEYS = ("status", "label", "start", "end", "join_url", "event_id")

#: Round-robin position per organizer team, per worker process (advanced on each booking).
_ROTATION: dict[tuple[str, ...], int] = {}
#: Open Graph clients by call id; closed by the ``call_ended`` hook.
_SESSIONS: dict[str, "GraphSession"] = {}


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


def record_problem(call: CallContext, problem: GraphProblem) -> None:
    """Keep a Graph failure for the report: ``data["teams"]["errors"]`` and a note."""
    call.data.setdefault(NAME, {}).setdefault("errors", []).append(problem.record())
    call.note(f"teams: {problem}")


@dataclass
class CallState:
    """What the tools remember during one call."""

    offers: dict[datetime, str] = field(default_factory=dict)  # UTC start -> organizer
    meeting: dict[str, Any] | None = None
    response: dict[str, Any] | None = None  # last booking result, for repeated calls
    pending: dict[str, Any] | None = None  # a create whose outcome is unknown


def teams_tools(call: CallContext) -> list[Any]:
    """The four calendar tools for ``call`` (livekit ``FunctionTool`` s)."""
    from livekit.agents import RunContext, ToolError, function_tool

    settings: TeamsSettings = call.config.plugin_settings(NAME)
    state = CallState()
    team = tuple(settings.organizers)

    async def client_for(current: CallContext) -> Any:
        await graph.warm_async()
        session = _SESSIONS.get(current.call_id)
        if session is None:
            session = _SESSIONS[current.call_id] = open_session(settings)
        return session.client

    def failure(current: CallContext, problem: GraphProblem) -> ToolError:
        record_problem(current, problem)
        return ToolError(problem.speakable)

    def label_for(current: CallContext, moment: datetime) -> str:
        tz = prospect_timezone(current, settings)
        return spoken_label(moment, tz, current.config.agent.language)

    def bookable(moment: datetime, now: datetime) -> bool:
        """Within working hours, notice and the search horizon, on a step boundary."""
        candidates = free_slots(
            [],
            now=now,
            hours=settings.hours,
            duration=settings.duration,
            notice=settings.notice,
            days_ahead=30,
            step=timedelta(minutes=settings.slot_step_minutes),
            max_slots=100_000,
            one_per_day=False,
        )
        return any(c.start == moment for c in candidates)

    async def next_free_after(current: CallContext, moment: datetime) -> str:
        """Speakable hint naming the next free slot after ``moment`` (or none)."""
        client = await client_for(current)
        offers = await find_offers(
            client,
            settings,
            now=current_now(settings),
            rotation=_ROTATION.get(team, 0),
            max_slots=100,
            one_per_day=False,
        )
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
        try:
            client = await client_for(current)
            offers = await find_offers(
                client,
                settings,
                now=current_now(settings),
                rotation=_ROTATION.get(team, 0),
                days_ahead=days_ahead,
                max_slots=max_slots,
            )
        except GraphProblem as problem:
            raise failure(current, problem) from None
        for offer in offers:
            state.offers[offer.slot.start] = offer.organizer
        return json.dumps(
            {
                "timezone": prospect_timezone(current, settings),
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
        txn = transaction_id(current.call_id, begin)
        if state.pending is not None and state.meeting is None:
            await resolve_pending(current)
        if state.meeting is not None:
            if state.meeting.get("transaction_id") == txn and state.response is not None:
                return json.dumps(state.response)  # a repeated call books once
            raise ToolError(
                f"A meeting is already booked for {state.meeting['label']} in this call; use "
                "reschedule_meeting to move it or cancel_meeting to cancel it."
            )
        now = current_now(settings)
        if not bookable(begin, now):
            raise ToolError(
                "That time is outside the team's bookable hours; offer one of the slots from "
                "check_availability."
            )
        end = begin + settings.duration
        slot = Interval(begin, end)
        organizer = ""
        try:
            client = await client_for(current)
            busy = await fetch_busy(client, settings, begin, end)
            preferred = state.offers.get(begin)
            order = rotation_order(list(settings.organizers), _ROTATION.get(team, 0))
            if settings.assignment == "first_free":
                order = list(settings.organizers)
            if preferred in order:
                order = [preferred, *(o for o in order if o != preferred)]
            free = free_organizers(slot, busy, order)
            if not free:
                hint = await next_free_after(current, begin)
                current.note(f"teams: slot {begin.isoformat()} was taken before booking")
                raise ToolError(f"That time was just taken. {hint}")
            organizer = free[0]
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
            booked = await create_event_once(client, organizer, event)
        except GraphProblem as problem:
            if problem.operation == "createEvent" and problem.outcome_unknown:
                remember_pending(current, organizer, begin, end, email, txn)
                record_problem(current, problem)
                raise ToolError(
                    "The calendar did not confirm the booking; it may or may not have gone "
                    "through. Call schedule_meeting once more with the same start to check. If "
                    "that fails too, apologise and offer to take a message; a colleague will "
                    "confirm by email."
                ) from None
            raise failure(current, problem) from None
        meeting = record_booking(current, booked, begin, end, email, txn)
        return json.dumps({k: meeting[k] for k in RESPONSE_KEYS})

    def remember_pending(
        current: CallContext,
        organizer: str,
        begin: datetime,
        end: datetime,
        email: str,
        txn: str,
    ) -> None:
        """Keep a create whose outcome is unknown: in the tools' state (resolved before the
        next booking) and in the report (``data["teams"]["pending_booking"]``)."""
        state.pending = {
            "transaction_id": txn,
            "organizer": organizer,
            "start": begin.isoformat(),
            "end": end.isoformat(),
            "attendee_email": email,
        }
        current.data.setdefault(NAME, {})["pending_booking"] = dict(state.pending)
        current.note(
            f"teams: booking {begin.isoformat()} with {organizer} unconfirmed (transactionId {txn})"
        )

    async def resolve_pending(current: CallContext) -> None:
        """Look the pending create up by its ``transactionId`` (``calendarView``): adopt the
        event if Graph stored it, else forget it. Raises ToolError if Graph cannot say."""
        pending = state.pending
        assert pending is not None
        begin, end = parse_start(pending["start"]), parse_start(pending["end"])
        try:
            client = await client_for(current)
            booked = await find_booked(
                client, pending["organizer"], begin, end, pending["transaction_id"]
            )
        except GraphProblem as problem:
            raise failure(current, problem) from None
        state.pending = None
        current.data.setdefault(NAME, {}).pop("pending_booking", None)
        if booked is None:
            current.note(f"teams: unconfirmed booking {pending['start']} was not stored")
            return
        current.note(
            f"teams: unconfirmed booking {pending['start']} was stored ({booked.event_id})"
        )
        record_booking(
            current, booked, begin, end, pending["attendee_email"], pending["transaction_id"]
        )

    def record_booking(
        current: CallContext,
        booked: Booked,
        begin: datetime,
        end: datetime,
        email: str,
        txn: str,
    ) -> dict[str, Any]:
        """The booked meeting, kept in the tools' state and the report; sets the
        disposition and advances the round-robin rotation."""
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
        if settings.assignment == "round_robin":
            _ROTATION[team] = _ROTATION.get(team, 0) + 1
        state.response = {k: meeting[k] for k in RESPONSE_KEYS}
        return meeting

    @function_tool
    async def reschedule_meeting(context: RunContext, start: str) -> str:
        """Move the meeting booked earlier in this call to another free slot.

        Returns JSON {"status": "rescheduled", "label", "start", "end", "join_url", "event_id"}.

        Args:
            start: the new slot's start, as check_availability returned it (ISO 8601).
        """
        current: CallContext = context.userdata
        meeting = state.meeting
        if meeting is None or meeting.get("status") == "cancelled":
            raise ToolError("No meeting has been booked in this call; use schedule_meeting.")
        begin = parse_slot(start)
        if begin.isoformat() == meeting["start"]:
            return json.dumps({"status": "rescheduled", **_public(meeting)})
        if not bookable(begin, current_now(settings)):
            raise ToolError(
                "That time is outside the team's bookable hours; offer one of the slots from "
                "check_availability."
            )
        end = begin + settings.duration
        organizer = meeting["organizer"]
        own = Interval(parse_start(meeting["start"]), parse_start(meeting["end"]))
        try:
            client = await client_for(current)
            busy = await fetch_busy(client, settings, begin, end)
            blocks = [b for b in busy.get(organizer.lower()) or [] if b != own]
            if busy.get(organizer.lower()) is None or any(
                Interval(begin, end).overlaps(b) for b in blocks
            ):
                hint = await next_free_after(current, begin)
                raise ToolError(f"That time is not free. {hint}")
            moved = await move_event(client, organizer, meeting["event_id"], begin, end)
        except GraphProblem as problem:
            raise failure(current, problem) from None
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
        meeting = state.meeting
        if meeting is None or meeting.get("status") == "cancelled":
            raise ToolError(
                "No meeting has been booked in this call, so there is nothing to cancel."
            )
        try:
            client = await client_for(current)
            await cancel_event(
                client,
                meeting["organizer"],
                meeting["event_id"],
                reason.strip() or "Cancelled at the prospect's request.",
            )
        except GraphProblem as problem:
            raise failure(current, problem) from None
        meeting["status"] = "cancelled"
        current.data["meeting"] = meeting
        state.response = None
        qualified = (current.qualification or {}).get("status") == "qualified"
        current.set_disposition(
            Disposition.QUALIFIED if qualified else Disposition.COMPLETED,
            f"meeting for {meeting['label']} cancelled",
        )
        return json.dumps({"status": "cancelled", **_public(meeting)})

    return [check_availability, schedule_meeting, reschedule_meeting, cancel_meeting]


def _public(meeting: dict[str, Any]) -> dict[str, Any]:
    return {k: meeting[k] for k in ("label", "start", "end", "join_url", "event_id")}
