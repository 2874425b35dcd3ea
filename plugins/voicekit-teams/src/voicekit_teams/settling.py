"""Settling creates: written ahead, never abandoned, settled before the next booking.

A create is written ahead (``state.pending`` and ``data["teams"]["pending_booking"]``),
sent in a task the tool awaits through ``shield`` (cutting the tool short never cuts the
request), and settled by the task's outcome: the event becomes the call's meeting, a
refused create is forgotten, a create whose reply never came stays pending. Before
anything else is booked, moved or cancelled, a pending create is sent once more with its
``transactionId`` (Graph returns the stored event or creates it once). At the end of the
call (:func:`finish_call`) a create still unconfirmed is looked up by its
``transactionId`` in the organizer's ``calendarView`` and the report brought up to date.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voicekit_core import CallContext, Disposition
from voicekit_core.scheduling import parse_start

from .booking import Booked, create_with_retries, find_booked
from .budget import deadline, failure, follow_up
from .graph import Deadline, GraphProblem
from .report import copy_outcome, record_problem, teams_data
from .settings import NAME, TeamsSettings
from .state import (
    CallState,
    GraphSession,
    advance_rotation,
    close_session,
    label_for,
    pop_state,
    prospect_timezone,
    public,
    session_of,
)

if TYPE_CHECKING:
    from livekit.agents import ToolError

UNCONFIRMED = (
    "The calendar has not confirmed the booking yet; it may still go through. Tell the "
    "prospect the invite should reach their inbox shortly and that, if it doesn't, a "
    "colleague will email them to confirm. Don't book any other time; you may call "
    "schedule_meeting again with the same start later in the call to check."
)


def remember_pending(
    current: CallContext,
    state: CallState,
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


def forget_pending(current: CallContext, state: CallState, pending: dict[str, Any]) -> None:
    """``pending`` is settled: out of the tools' state and the report."""
    if state.pending is pending:
        state.pending = None
        state.pending_event = None
        teams_data(current).pop("pending_booking", None)


def settle(
    current: CallContext, state: CallState, task: asyncio.Task[Booked], pending: dict[str, Any]
) -> None:
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
        adopt(current, state, task.result(), pending)
        return
    if isinstance(exc, GraphProblem) and exc.outcome_unknown:
        current.note(
            f"teams: booking {pending['start']} with {pending['organizer']} unconfirmed "
            f"(transactionId {pending['transaction_id']})"
        )
        return
    forget_pending(current, state, pending)


def adopt(current: CallContext, state: CallState, booked: Booked, pending: dict[str, Any]) -> None:
    """The pending create's event exists: it becomes the call's meeting."""
    forget_pending(current, state, pending)
    begin, end = parse_start(pending["start"]), parse_start(pending["end"])
    record_booking(
        current, state, booked, begin, end, pending["attendee_email"], pending["transaction_id"]
    )


def record_booking(
    current: CallContext,
    state: CallState,
    booked: Booked,
    begin: datetime,
    end: datetime,
    email: str,
    txn: str,
) -> dict[str, Any]:
    """The booked meeting, kept in the tools' state and the report; sets the
    disposition, clears any follow-up and advances the round-robin rotation."""
    settings = state.settings
    label = label_for(current, settings, begin)
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
        advance_rotation(state.team)
    state.response = {"status": "booked", **public(meeting)}
    return meeting


def start_create(
    current: CallContext, state: CallState, client: Any, budget: Deadline
) -> asyncio.Task[Booked]:
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
            max_retries=state.settings.max_retries,
        )
    )
    task.add_done_callback(lambda t: settle(current, state, t, pending))
    state.inflight = task
    return task


def unconfirmed(
    current: CallContext, state: CallState, reason: str, pending: dict[str, Any] | None
) -> ToolError:
    """A follow-up to confirm the ``pending`` create, and the ToolError that tells the
    model the booking may still go through."""
    from livekit.agents import ToolError

    details = pending or {}
    follow_up(
        current,
        state,
        "confirm_booking",
        reason,
        requested_start=details.get("start"),
        organizer=details.get("organizer"),
        transaction_id=details.get("transaction_id"),
    )
    return ToolError(UNCONFIRMED)


async def await_create(
    current: CallContext, state: CallState, task: asyncio.Task[Booked], budget: Deadline
) -> None:
    """Wait for ``task`` within ``budget``; raise a ToolError unless it booked."""
    pending = state.pending
    try:
        await asyncio.wait_for(asyncio.shield(task), timeout=max(budget.remaining(), 0.01))
    except asyncio.TimeoutError:
        reason = "the calendar had not answered the booking when the time budget ran out"
        raise unconfirmed(current, state, reason, pending) from None
    except GraphProblem as problem:
        if pending is not None:
            settle(current, state, task, pending)
        if problem.outcome_unknown:
            record_problem(current, problem)
            if problem.retry_after:
                state.quiet_until = time.monotonic() + problem.retry_after
            raise unconfirmed(current, state, str(problem), pending) from None
        raise failure(
            current, state, problem, requested_start=(pending or {}).get("start")
        ) from None
    if pending is not None:
        settle(current, state, task, pending)


async def settle_pending(
    current: CallContext, state: CallState, client: Any, budget: Deadline
) -> None:
    """Before anything else is booked or cancelled: wait for a create still in flight,
    then send a create whose outcome is unknown once more with its ``transactionId``
    (Graph returns the stored event or creates it once). Raises ToolError when Graph
    still can't say."""
    task = state.inflight
    if task is not None and not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=max(budget.remaining(), 0.01))
        except asyncio.TimeoutError:
            reason = "an earlier booking was still waiting for the calendar"
            raise unconfirmed(current, state, reason, state.pending) from None
        except GraphProblem:
            pass  # settled by its done-callback: refused (forgotten) or still unknown
    if task is not None and state.pending is not None:
        settle(current, state, task, state.pending)
    if state.pending is None:
        return
    current.note(
        f"teams: settling unconfirmed booking {state.pending['start']} "
        f"(transactionId {state.pending['transaction_id']})"
    )
    await await_create(current, state, start_create(current, state, client, budget), budget)


async def finish_call(call: CallContext, report: Any = None) -> None:
    """At the end of a call: let a create still in flight finish (bounded by the HTTP
    timeout), look an unconfirmed one up by its ``transactionId`` (``calendarView``, a
    read), copy the outcome into ``report`` (seen by ``post_call`` deliveries), then close
    the call's Graph client."""
    state = pop_state(call.call_id)
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
        session = session_of(call.call_id)
        if pending is not None and state.meeting is None and session is not None:
            changed = True
            await _look_up_pending(call, settings, state, session, pending)
        if changed and report is not None:
            copy_outcome(call, report)
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
            deadline=deadline(settings),
            timeout=settings.timeout_seconds,
        )
    except GraphProblem as problem:
        record_problem(call, problem)
        return
    if found is not None:
        call.note(f"teams: unconfirmed booking found after the call: {found.event_id}")
        adopt(call, state, found, pending)
    else:
        teams["pending_booking"] = {**pending, "found": False}
        call.note("teams: unconfirmed booking not in the calendar at the end of the call")
