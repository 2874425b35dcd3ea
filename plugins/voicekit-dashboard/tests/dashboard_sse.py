"""Reading server-sent events from a TestClient stream (dashboard tests).

``read_until(response, stop)`` collects events until ``stop(event)`` is true; a wall-clock
``timeout`` is checked between lines, so streams under test must send keep-alives (set
``sse_keepalive_seconds`` low). A response is read once: to read on, keep the iterator
``events(response)`` returns and pass it to :func:`read_until`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass
class Event:
    """One server-sent event; ``comment`` is set for comment-only blocks (keep-alives)."""

    event: str | None = None
    data: str = ""
    id: str | None = None
    comment: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def events(response: Any, *, timeout: float = 15.0) -> Iterator[Event]:
    """Every event of ``response`` (an open ``client.stream(...)``) until the server
    closes it. Raises AssertionError once ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    current = Event()
    data: list[str] = []
    touched = False
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            raise AssertionError(f"no matching event within {timeout} s")
        if line == "":
            if touched:
                current.data = "\n".join(data)
                yield current
            current, data, touched = Event(), [], False
            continue
        touched = True
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "":
            current.comment = value
        elif field == "data":
            data.append(value)
        elif field == "event":
            current.event = value
        elif field == "id":
            current.id = value


def read_until(source: Any, stop: Callable[[Event], bool], *, timeout: float = 15.0) -> list[Event]:
    """The events read up to and including the first for which ``stop`` is true, from a
    response or from an iterator that :func:`events` returned (to go on reading it)."""
    seen = []
    stream = events(source, timeout=timeout) if hasattr(source, "iter_lines") else source
    for event in stream:
        seen.append(event)
        if stop(event):
            return seen
    raise AssertionError(f"the stream ended before the awaited event; got {seen!r}")


def named(seen: list[Event], name: str) -> list[Event]:
    return [event for event in seen if event.event == name]
