"""``/live``: the calls in flight, updated by server-sent events, and ``/live/{call_id}``:
one call's transcript and tool calls as they are written.

Everything is read from the store (see :mod:`..live_feed`), so calls run by other
processes (``voicekit start`` workers, ``voicekit campaign serve``) show up as well as
this process's test calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from ..live_feed import (
    CallFollower,
    CallSummary,
    FeedEnd,
    FeedItem,
    LiveBoard,
    LiveCall,
    call_summary,
    parse_position,
)
from ..live_stream import StreamFormat, StreamTiming, board_stream, call_stream
from ..web import Dash, DashboardState, page

router = APIRouter()

FORMAT_HELP = "html: escaped fragments for the page (htmx); json: JSON objects"

#: A stream route's ``format`` parameter.
Format = Annotated[StreamFormat, Query(description=FORMAT_HELP)]


def stream_timing(dash: DashboardState) -> StreamTiming:
    """Poll and keep-alive intervals from ``[plugins.dashboard]``."""
    return StreamTiming(
        poll=dash.settings.live_poll_seconds, keepalive=dash.settings.sse_keepalive_seconds
    )


def resume_at(
    lines: Annotated[int, Query(ge=0, description="transcript lines the client has")] = 0,
    tools: Annotated[int, Query(ge=0, description="tool calls the client has")] = 0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> tuple[int, int]:
    """Where a call stream starts: ``(lines, tools)`` the client already has, or the
    position a reconnecting browser sends as ``Last-Event-ID``."""
    return parse_position(last_event_id) or (lines, tools)


#: A call stream route's ``lines`` / ``tools`` / ``Last-Event-ID`` parameters, read.
ResumeAt = Annotated[tuple[int, int], Depends(resume_at)]


def follow_call(
    request: Request, dash: DashboardState, call_id: str, start: tuple[int, int], fmt: StreamFormat
) -> AsyncIterator[ServerSentEvent]:
    """The events of :func:`~..live_stream.call_stream` for ``call_id`` from ``start``
    (see :func:`resume_at`)."""
    lines, tools = start
    follower = CallFollower(dash.store, call_id, lines=lines, tools=tools)
    return call_stream(request, follower, stream_timing(dash), fmt)


def known_call(call_id: str, dash: Dash) -> CallSummary:
    """The call's summary; 404 when neither the journal nor a campaign attempt has it."""
    summary = call_summary(dash.store, call_id)
    if summary is None:
        raise HTTPException(404, f"no call {call_id[:80]!r} in the journal or in a campaign")
    return summary


KnownCall = Annotated[CallSummary, Depends(known_call)]
UNKNOWN_CALL = {404: {"description": "no call with this id in the journal or in a campaign"}}


class LiveCallDetail(BaseModel):
    """One call so far: its summary, every transcript line and tool call (oldest first),
    and how it ended (None while it runs)."""

    call: CallSummary
    items: list[FeedItem] = Field(default_factory=list)
    ended: FeedEnd | None = None


def _detail(dash: DashboardState, summary: CallSummary) -> tuple[LiveCallDetail, CallFollower]:
    follower = CallFollower(dash.store, summary.call_id)
    update = follower.poll()
    return LiveCallDetail(call=summary, items=update.items, ended=update.ended), follower


# -- JSON and streams --------------------------------------------------------------------


@router.get("/api/live", tags=["live"])
def api_live(dash: Dash) -> list[LiveCall]:
    """The calls in flight, oldest first: ``dialing`` (a campaign attempt placed),
    ``ringing`` (the agent waits for the callee) or ``in_call``."""
    return LiveBoard(dash.store).snapshot()


@router.get("/api/live/stream", tags=["live"], response_class=EventSourceResponse)
async def api_live_stream(
    request: Request, dash: Dash, format: Format = "html"
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent ``calls`` events: the calls in flight now, then again whenever one
    starts, changes state or ends (``format=html``: table rows; ``json``: the list of
    ``/api/live``). The store is read every ``live_poll_seconds``; a ``: keep-alive``
    comment is sent after ``sse_keepalive_seconds`` of silence."""
    async for event in board_stream(request, dash.store, stream_timing(dash), format):
        yield event


@router.get("/api/live/{call_id}", tags=["live"], responses=UNKNOWN_CALL)
def api_live_call(summary: KnownCall, dash: Dash) -> LiveCallDetail:
    """One call so far (in flight or ended). 404 for an unknown call id."""
    return _detail(dash, summary)[0]


@router.get(
    "/api/live/{call_id}/stream",
    tags=["live"],
    response_class=EventSourceResponse,
    responses=UNKNOWN_CALL,
)
async def api_live_call_stream(
    request: Request,
    dash: Dash,
    summary: KnownCall,
    start: ResumeAt,
    format: Format = "html",
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent ``line`` and ``tool`` events as the call's transcript and tool calls
    are written (after the first ``lines`` / ``tools``, or after a reconnecting
    browser's ``Last-Event-ID``), then one ``ended`` event with the disposition, and the
    stream closes. 404 for an unknown call id."""
    async for event in follow_call(request, dash, summary.call_id, start, format):
        yield event


# -- pages -------------------------------------------------------------------------------


@router.get("/live", include_in_schema=False)
def live_page(request: Request, dash: Dash):
    return page(
        request, "live.html", active="live", calls=LiveBoard(dash.store).snapshot(), title="Live"
    )


@router.get("/live/{call_id}", include_in_schema=False)
def live_call_page(request: Request, dash: Dash, summary: KnownCall):
    detail, follower = _detail(dash, summary)
    return page(
        request,
        "live_call.html",
        active="live",
        title="Live call",
        detail=detail,
        summary=summary,
        lines=follower.lines,
        tools=follower.tools,
    )
