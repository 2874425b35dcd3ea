"""Creating, moving and cancelling the Teams meeting of a call (Graph ``/users/{id}/events``).

Every booking carries a ``transactionId`` derived from the call id, the slot start and
how many meetings the call has cancelled, so a repeated tool call (or a retried request)
cannot create a second event: Graph returns the existing event for a known
``transactionId``, and the plugin also remembers what it booked during the call.

A create is never abandoned half-way: :func:`create_with_retries` starts no new attempt
once the tool call's budget is spent, but an attempt already sent runs to its own HTTP
timeout (the tool awaits it through ``asyncio.shield``), because Graph may be committing
it. Whatever its outcome, the tools settle it before anything else is booked: a create
whose reply never came is sent again with the same ``transactionId``, which returns the
stored event or creates it once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .availability import graph_datetime
from .graph import Deadline, GraphProblem, classify, next_wait, send

if TYPE_CHECKING:
    from msgraph import GraphServiceClient
    from msgraph.generated.models.event import Event

    from voicekit_core import CallContext

_NAMESPACE = uuid.UUID("5b0c3f0e-7d4b-4c8e-9f51-6c1f3b1a2e77")


def transaction_id(call_id: str, start: datetime, round_: int = 0) -> str:
    """A stable id for "this call books this slot" (UUID5 of call id + UTC start), and
    for the ``round_``-th booking after as many cancellations in the call (a cancelled
    event's ``transactionId`` would bring the cancelled event back)."""
    key = f"{call_id}|{start.isoformat()}" + (f"|{round_}" if round_ else "")
    return str(uuid.uuid5(_NAMESPACE, key))


@dataclass(frozen=True)
class Booked:
    """What Graph returned for a created or moved event."""

    event_id: str
    join_url: str | None
    organizer: str


def meeting_body(call: CallContext) -> str:
    """Plain-text invite body: who the prospect is and how they qualified."""
    lead = call.lead
    lines = [f"Booked by the {call.config.agent.name} voice agent (call {call.call_id})."]
    if lead is not None:
        who = ", ".join(p for p in (lead.name, lead.job_title, lead.company) if p)
        lines.append(f"Prospect: {who or lead.phone} ({lead.phone})")
    q = call.qualification or {}
    if q:
        lines.append(f"Qualification: {q.get('status', 'unknown')}")
        for key in ("budget", "authority", "need", "timeline", "notes"):
            if q.get(key):
                lines.append(f"- {key.title()}: {q[key]}")
        for reason in q.get("reasons") or []:
            lines.append(f"  * {reason}")
    return "\n".join(lines)


def build_event(
    *,
    subject: str,
    start: datetime,
    end: datetime,
    attendee_email: str,
    attendee_name: str | None,
    body: str,
    txn: str,
) -> Event:
    """The Graph ``event`` to POST: a Teams online meeting with the prospect as a required
    attendee, times in UTC."""
    from msgraph.generated.models.attendee import Attendee
    from msgraph.generated.models.attendee_type import AttendeeType
    from msgraph.generated.models.body_type import BodyType
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.email_address import EmailAddress
    from msgraph.generated.models.event import Event
    from msgraph.generated.models.item_body import ItemBody
    from msgraph.generated.models.online_meeting_provider_type import OnlineMeetingProviderType

    begin, finish = graph_datetime(start), graph_datetime(end)
    return Event(
        subject=subject,
        body=ItemBody(content_type=BodyType.Text, content=body),
        start=DateTimeTimeZone(date_time=begin["dateTime"], time_zone="UTC"),
        end=DateTimeTimeZone(date_time=finish["dateTime"], time_zone="UTC"),
        attendees=[
            Attendee(
                email_address=EmailAddress(address=attendee_email, name=attendee_name),
                type=AttendeeType.Required,
            )
        ],
        is_online_meeting=True,
        online_meeting_provider=OnlineMeetingProviderType.TeamsForBusiness,
        allow_new_time_proposals=True,
        transaction_id=txn,
    )


def _booked(event: Event | None, organizer: str) -> Booked:
    if event is None or not event.id:
        raise GraphProblem("rejected", None, "EmptyResponse", "createEvent")
    join_url = event.online_meeting.join_url if event.online_meeting else None
    return Booked(event.id, join_url or event.online_meeting_url, organizer)


async def create_event(client: GraphServiceClient, organizer: str, event: Event) -> Booked:
    """``POST {graph}/users/{organizer}/events``. Raises GraphProblem."""
    try:
        created = await client.users.by_user_id(organizer).events.post(event)
    except Exception as exc:
        raise classify(exc, "createEvent") from exc
    return _booked(created, organizer)


async def create_with_retries(
    client: GraphServiceClient,
    organizer: str,
    event: Event,
    *,
    deadline: Deadline,
    max_retries: int,
) -> Booked:
    """:func:`create_event`, sent again with the same ``transactionId`` after a 429, a 5xx,
    a timeout or a dropped connection, while another attempt fits in ``deadline``: Graph
    answers a repeated ``transactionId`` with the event it already created, so the meeting
    exists once whatever happened to earlier attempts. An attempt in flight is not cut by
    the deadline (only by the HTTP timeout). Raises GraphProblem; its ``outcome_unknown``
    is True if any attempt may have been stored."""
    attempt, maybe_stored = 0, False
    while True:
        try:
            return await create_event(client, organizer, event)
        except GraphProblem as problem:
            maybe_stored = maybe_stored or problem.outcome_unknown
            if maybe_stored:
                problem.details["maybe_stored"] = True
            # a create that may be stored is sent once more even with retries off: that
            # settles it (the stored event comes back, or it is created once)
            limit = max(max_retries, 1) if maybe_stored else max_retries
            wait = next_wait(problem, attempt, deadline, limit)
        await asyncio.sleep(wait)
        attempt += 1


async def find_booked(
    client: GraphServiceClient,
    organizer: str,
    start: datetime,
    end: datetime,
    txn: str,
    *,
    deadline: Deadline,
    max_retries: int = 0,
    timeout: float = 10,
) -> Booked | None:
    """The organizer's event between ``start`` and ``end`` (UTC) created with ``txn``, or
    None. ``GET {graph}/users/{organizer}/calendar/calendarView?startDateTime=..&
    endDateTime=..&$select=id,transactionId,isCancelled,onlineMeeting,onlineMeetingUrl``
    (a mailbox read: it sees an event as soon as it is stored). Raises GraphProblem."""
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.item.calendar.calendar_view.calendar_view_request_builder import (
        CalendarViewRequestBuilder,
    )

    query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
        start_date_time=graph_datetime(start)["dateTime"] + "Z",
        end_date_time=graph_datetime(end)["dateTime"] + "Z",
        select=["id", "transactionId", "isCancelled", "onlineMeeting", "onlineMeetingUrl"],
        top=100,
    )
    config: RequestConfiguration[Any] = RequestConfiguration(query_parameters=query)
    config.headers.add("Prefer", 'outlook.timezone="UTC"')
    builder = client.users.by_user_id(organizer).calendar.calendar_view
    page = await send(
        "calendarView",
        lambda: builder.get(request_configuration=config),
        deadline=deadline,
        max_retries=max_retries,
        timeout=timeout,
    )
    for event in (page.value if page else None) or []:
        if event.transaction_id == txn and not event.is_cancelled and event.id:
            return _booked(event, organizer)
    return None


async def move_event(
    client: GraphServiceClient,
    organizer: str,
    event_id: str,
    start: datetime,
    end: datetime,
    *,
    deadline: Deadline,
    max_retries: int = 0,
    timeout: float = 10,
) -> Booked:
    """``PATCH {graph}/users/{organizer}/events/{event_id}`` with new UTC start/end
    (attendees get an update; idempotent, so retried within ``deadline``). Raises
    GraphProblem."""
    from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
    from msgraph.generated.models.event import Event

    begin, finish = graph_datetime(start), graph_datetime(end)
    patch = Event(
        start=DateTimeTimeZone(date_time=begin["dateTime"], time_zone="UTC"),
        end=DateTimeTimeZone(date_time=finish["dateTime"], time_zone="UTC"),
    )
    builder = client.users.by_user_id(organizer).events.by_event_id(event_id)
    updated = await send(
        "updateEvent",
        lambda: builder.patch(patch),
        deadline=deadline,
        max_retries=max_retries,
        timeout=timeout,
    )
    if updated is None or not updated.id:
        return Booked(event_id, None, organizer)
    return _booked(updated, organizer)


async def cancel_event(
    client: GraphServiceClient,
    organizer: str,
    event_id: str,
    comment: str,
    *,
    deadline: Deadline,
    max_retries: int = 0,
    timeout: float = 10,
) -> None:
    """``POST {graph}/users/{organizer}/events/{event_id}/cancel`` (attendees get a
    cancellation with ``comment``; retried within ``deadline`` after throttling or a
    gateway error: cancelling twice leaves the event cancelled). Raises GraphProblem."""
    from msgraph.generated.users.item.events.item.cancel.cancel_post_request_body import (
        CancelPostRequestBody,
    )

    body = CancelPostRequestBody(comment=comment)
    builder = client.users.by_user_id(organizer).events.by_event_id(event_id).cancel
    await send(
        "cancelEvent",
        lambda: builder.post(body),
        deadline=deadline,
        max_retries=max_retries,
        timeout=timeout,
    )
