"""Server-sent events of the live pages: the board of calls in flight and one call's
conversation, polled from the store (:mod:`.live_feed`) and sent as escaped HTML
fragments for htmx's SSE extension (``format=html``) or as JSON (``format=json``).

Streams end when the client disconnects (checked every poll), send a ``: keep-alive``
comment after a quiet spell, and hold no store transaction between polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from fastapi.sse import ServerSentEvent

from .live_feed import CallFollower, FeedEnd, FeedItem, LiveBoard, LiveCall
from .web import TEMPLATES

if TYPE_CHECKING:
    from fastapi import Request

    from voicekit_core.store import Store

StreamFormat = Literal["html", "json"]


def render(template: str, **context: Any) -> str:
    """A fragment template rendered (autoescaped) to a string."""
    return TEMPLATES.env.get_template(template).render(**context)


def item_event(item: FeedItem, position: str, fmt: StreamFormat) -> ServerSentEvent:
    """``line`` / ``tool`` event: the item as an escaped HTML fragment or as JSON."""
    if fmt == "json":
        return ServerSentEvent(event=item.kind, data=item.model_dump(mode="json"), id=position)
    return ServerSentEvent(
        event=item.kind, raw_data=render("live_item.html", item=item), id=position
    )


def end_event(end: FeedEnd, fmt: StreamFormat, *, link: bool = True) -> ServerSentEvent:
    """The ``ended`` event; the HTML form links to the call's page when ``link``."""
    if fmt == "json":
        return ServerSentEvent(event="ended", data=end.model_dump(mode="json"))
    return ServerSentEvent(event="ended", raw_data=render("live_ended.html", end=end, link=link))


def board_event(board: list[LiveCall], fmt: StreamFormat) -> ServerSentEvent:
    """The ``calls`` event: every call in flight (table rows, or a JSON list)."""
    if fmt == "json":
        return ServerSentEvent(event="calls", data=[c.model_dump(mode="json") for c in board])
    return ServerSentEvent(event="calls", raw_data=render("live_rows.html", calls=board))


@dataclass
class StreamTiming:
    """``poll`` seconds between store reads; ``keepalive`` seconds of silence before a
    comment line keeps proxies from closing the stream."""

    poll: float = 0.5
    keepalive: float = 15.0


class _Pacer:
    """Sleeps between polls, stops on a client disconnect, says when to send a keep-alive."""

    def __init__(self, request: Request, timing: StreamTiming):
        self.request = request
        self.timing = timing
        self.last_sent = time.monotonic()

    def sent(self) -> None:
        self.last_sent = time.monotonic()

    def keepalive_due(self) -> bool:
        return time.monotonic() - self.last_sent >= self.timing.keepalive

    async def wait(self) -> bool:
        """Sleep one poll interval; False once the client went away."""
        if await self.request.is_disconnected():
            return False
        await asyncio.sleep(self.timing.poll)
        return not await self.request.is_disconnected()


KEEPALIVE = ServerSentEvent(comment="keep-alive")


async def board_stream(
    request: Request, store: Store, timing: StreamTiming, fmt: StreamFormat
) -> AsyncIterator[ServerSentEvent]:
    """``calls`` events: the board now, then again each time it changes (a call starts,
    changes state or ends); keep-alive comments in between. Ends with the client."""
    board = LiveBoard(store)
    pacer = _Pacer(request, timing)
    last: list[tuple[Any, ...]] | None = None
    while True:
        calls_now = await asyncio.to_thread(board.snapshot)
        # elapsed times tick in the browser: only what a row shows besides them counts
        shape = [tuple(c.model_dump(exclude={"elapsed_seconds"}).values()) for c in calls_now]
        if shape != last:
            last = shape
            yield board_event(calls_now, fmt)
            pacer.sent()
        elif pacer.keepalive_due():
            yield KEEPALIVE
            pacer.sent()
        if not await pacer.wait():
            return


async def call_stream(
    request: Request,
    follower: CallFollower,
    timing: StreamTiming,
    fmt: StreamFormat,
    *,
    link: bool = True,
) -> AsyncIterator[ServerSentEvent]:
    """``line`` and ``tool`` events as the call's report grows (each with the position as
    its id), then one ``ended`` event, and the stream closes. Ends with the client."""
    pacer = _Pacer(request, timing)
    while True:
        update = await asyncio.to_thread(follower.poll)
        for item, position in zip(update.items, update.positions, strict=True):
            yield item_event(item, position, fmt)
            pacer.sent()
        if update.ended is not None:
            yield end_event(update.ended, fmt, link=link)
            return
        if pacer.keepalive_due():
            yield KEEPALIVE
            pacer.sent()
        if not await pacer.wait():
            return
