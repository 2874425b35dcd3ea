"""The agent's calendar tools, backed by Microsoft Graph.

``check_availability``, ``schedule_meeting``, ``reschedule_meeting``, ``cancel_meeting``:
the same names and JSON shapes as the TDX example's local calendar. They are registered
without ``fallback``, so they replace the example's fallback tools when ``teams`` is
enabled.

This module holds the tools and what they decide: which slot, which organizer, whether a
time can be booked or moved. Each tool call runs within the time budget of
:mod:`.budget` (filler, email fallback); a create is written ahead and settled before
anything else is booked (:mod:`.settling`); what a call remembers is in :mod:`.state`.
"""

# No `from __future__ import annotations`: livekit evaluates tool annotations (RunContext)
# at call time, and RunContext is imported inside teams_tools() to keep livekit out of
# plugin listing.

import contextlib
import json
import re
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from voicekit_core import CallContext, Disposition
from voicekit_core.scheduling import Interval, parse_start

from . import graph
from .availability import assignment_order, fetch_schedule, find_offers, prospect_hours
from .booking import build_event, cancel_event, meeting_body, move_event, transaction_id
from .budget import deadline, failure, filler_for, follow_up, quiet_check, waiting
from .graph import Deadline, GraphProblem
from .report import record_problem, record_warnings, teams_data
from .settings import NAME, TeamsSettings
from .settling import await_create, remember_pending, settle_pending, start_create
from .state import (
    CallState,
    client_for,
    current_now,
    label_for,
    prospect_timezone,
    public,
    rotation,
    start_state,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: How far ahead a start may be booked (days).
HORIZON_DAYS = 31


def teams_tools(call: CallContext) -> list[Any]:
    """The four calendar tools for ``call`` (livekit ``FunctionTool`` s)."""
    from livekit.agents import RunContext, ToolError, function_tool

    settings: TeamsSettings = call.config.plugin_settings(NAME)
    state = start_state(call, settings, filler_for(settings, call.config.agent.language))

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
        quiet_check(current, state)
        tz = prospect_timezone(current, settings)
        async with waiting(context, state):
            client = await client_for(current.call_id, settings)
            try:
                offers, schedule = await find_offers(
                    client,
                    settings,
                    now=current_now(settings),
                    prospect=prospect_hours(settings, tz),
                    deadline=deadline(settings),
                    skip_via=state.skip_via,
                    rotation=rotation(state.team),
                    days_ahead=days_ahead,
                    max_slots=max_slots,
                )
            except GraphProblem as problem:
                raise failure(current, state, problem) from None
        record_warnings(current, schedule)
        for offer in offers:
            state.offers[offer.slot.start] = offer.organizer
        return json.dumps(
            {
                "timezone": tz,
                "slots": [
                    {
                        "start": o.slot.start.isoformat(),
                        "label": label_for(current, settings, o.slot.start),
                    }
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
        async with settled(context, current, state) as (client, budget):
            if state.meeting is not None:
                if state.meeting["start"] == begin.isoformat() and state.response is not None:
                    return json.dumps(state.response)
                raise ToolError(
                    f"A meeting is already booked for {state.meeting['label']} in this call; "
                    "use reschedule_meeting to move it or cancel_meeting to cancel it."
                )
            return await book(current, state, client, budget, begin, email, topic)

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
            return json.dumps({"status": "rescheduled", **public(meeting)})
        async with settled(context, current, state) as (client, budget):
            meeting = state.meeting
            if meeting is None:
                raise ToolError("No meeting is booked in this call; use schedule_meeting.")
            if begin.isoformat() == meeting["start"]:
                return json.dumps({"status": "rescheduled", **public(meeting)})
            return await move(current, state, client, budget, meeting, begin)

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
        async with settled(context, current, state) as (client, budget):
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
                    state,
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
        teams_data(current).setdefault("cancelled_meetings", []).append(public(meeting))
        state.meeting = None
        state.response = None
        qualified = (current.qualification or {}).get("status") == "qualified"
        current.set_disposition(
            Disposition.QUALIFIED if qualified else Disposition.COMPLETED,
            f"meeting for {meeting['label']} cancelled",
        )
        return json.dumps({"status": "cancelled", **public(meeting)})

    return [check_availability, schedule_meeting, reschedule_meeting, cancel_meeting]


@contextlib.asynccontextmanager
async def settled(
    context: Any, current: CallContext, state: CallState
) -> AsyncIterator[tuple[Any, Deadline]]:
    """The Graph part of a tool call that books, moves or cancels: fail over at once
    during a ``Retry-After``, say the filler while it waits, and settle a create still
    pending first. Yields the Graph client and the call's time budget."""
    quiet_check(current, state)
    async with waiting(context, state):
        client = await client_for(current.call_id, state.settings)
        budget = deadline(state.settings)
        await settle_pending(current, state, client, budget)
        yield client, budget


async def book(
    current: CallContext,
    state: CallState,
    client: Any,
    budget: Deadline,
    begin: datetime,
    email: str,
    topic: str,
) -> str:
    """Book ``begin`` with the first organizer working and free then (the one who was
    offered it first); the create is written ahead and awaited within ``budget``."""
    from livekit.agents import ToolError

    settings = state.settings
    slot = requested_slot(current, settings, begin)
    end = slot.end
    try:
        schedule = await fetch_schedule(
            client, settings, begin, end, deadline=budget, skip_via=state.skip_via
        )
    except GraphProblem as problem:
        raise failure(current, state, problem, requested_start=begin.isoformat()) from None
    record_warnings(current, schedule)
    order = assignment_order(settings, rotation(state.team))
    preferred = state.offers.get(begin)
    if preferred in order:
        order = [preferred, *(o for o in order if o != preferred)]
    working = [o for o in order if schedule.working(o, slot, state.step)]
    if not working:
        raise ToolError(
            "That time is outside the team's working hours; offer one of the slots from "
            "check_availability."
        )
    free = [o for o in working if schedule.free(o, slot)]
    if not free:
        hint = await next_free_after(current, state, client, begin, budget)
        current.note(f"teams: slot {begin.isoformat()} was taken before booking")
        raise ToolError(f"That time was just taken. {hint}")
    if budget.expired:
        problem = GraphProblem("unavailable", None, graph.BUDGET, "createEvent")
        raise failure(current, state, problem, requested_start=begin.isoformat())
    organizer = free[0]
    txn = transaction_id(current.call_id, begin, len(state.cancelled))
    event = build_event(
        subject=topic.strip() or settings.subject or f"{current.config.campaign.name}: intro call",
        start=begin,
        end=end,
        attendee_email=email,
        attendee_name=current.lead.name if current.lead else None,
        body=meeting_body(current),
        txn=txn,
    )
    remember_pending(current, state, organizer, begin, end, email, txn, event)
    await await_create(current, state, start_create(current, state, client, budget), budget)
    assert state.response is not None
    return json.dumps(state.response)


async def move(
    current: CallContext,
    state: CallState,
    client: Any,
    budget: Deadline,
    meeting: dict[str, Any],
    begin: datetime,
) -> str:
    """Move ``meeting`` to ``begin`` if its organizer works and is free then; a Graph
    failure leaves it where it was."""
    from livekit.agents import ToolError

    settings = state.settings
    slot = requested_slot(current, settings, begin)
    end = slot.end
    organizer = meeting["organizer"]
    own = Interval(parse_start(meeting["start"]), parse_start(meeting["end"]))
    try:
        schedule = await fetch_schedule(
            client, settings, begin, end, deadline=budget, skip_via=state.skip_via
        )
        record_warnings(current, schedule)
        if not schedule.of(organizer).usable:
            raise GraphProblem("unreadable", None, "OrganizerUnreadable", "getSchedule")
        if not schedule.working(organizer, slot, state.step) or not schedule.free(
            organizer, slot, ignore=own
        ):
            hint = await next_free_after(
                current, state, client, begin, budget, only=[organizer], ignore=own
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
    label = label_for(current, settings, begin)
    meeting.update(
        start=begin.isoformat(),
        end=end.isoformat(),
        label=label,
        join_url=moved.join_url or meeting["join_url"],
        status="booked",
    )
    current.data["meeting"] = meeting
    current.set_disposition(Disposition.MEETING_BOOKED, label)
    state.response = {"status": "booked", **public(meeting)}
    return json.dumps({"status": "rescheduled", **public(meeting)})


def parse_slot(start: str) -> datetime:
    """A tool's ``start`` argument as an aware datetime; a ToolError if unreadable."""
    from livekit.agents import ToolError

    try:
        return parse_start(start)
    except ValueError as exc:
        raise ToolError(f"{exc}; use a start returned by check_availability") from None


def requested_slot(current: CallContext, settings: TeamsSettings, begin: datetime) -> Interval:
    """The meeting slot starting at ``begin``; a ToolError saying why when no one may host
    it (too soon, past the horizon, outside the prospect's hours)."""
    from livekit.agents import ToolError

    slot = Interval(begin, begin + settings.duration)
    now = current_now(settings)
    if slot.start < now + settings.notice or slot.start > now + timedelta(days=HORIZON_DAYS):
        raise ToolError(
            "That time is too soon or too far ahead; offer one of the slots from "
            "check_availability."
        )
    prospect = prospect_hours(settings, prospect_timezone(current, settings))
    if not prospect.contains(slot):
        opens, closes = settings.prospect_hours
        raise ToolError(
            f"That time is outside the prospect's meeting hours ({opens:%H:%M} to "
            f"{closes:%H:%M} their time); offer one of the slots from check_availability."
        )
    return slot


async def next_free_after(
    current: CallContext,
    state: CallState,
    client: Any,
    moment: datetime,
    budget: Deadline,
    *,
    only: list[str] | None = None,
    ignore: Interval | None = None,
) -> str:
    """Speakable hint naming the next free slot after ``moment`` (or none), hosted by
    one of ``only`` (default: anyone in the team)."""
    settings = state.settings
    try:
        offers, schedule = await find_offers(
            client,
            settings,
            now=current_now(settings),
            prospect=prospect_hours(settings, prospect_timezone(current, settings)),
            deadline=budget,
            skip_via=state.skip_via,
            rotation=rotation(state.team),
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
        f"The next free time is {label_for(current, settings, offer.slot.start)} "
        f"(start {offer.slot.start.isoformat()}); offer that instead."
    )
