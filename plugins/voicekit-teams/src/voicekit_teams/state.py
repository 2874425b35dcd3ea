"""What the calendar tools keep during a call, and where they keep it.

Per call: a :class:`CallState` (offers made, the meeting booked, a create in flight) and
a :class:`GraphSession` (opened on the first tool call, closed at ``call_ended``), both
by call id. Per worker process: the round-robin position of each organizer team. Also
the few facts every tool reads the same way: the clock, the prospect's timezone, how a
time is said to them, and which of a meeting's fields a tool result shows.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from voicekit_core import CallContext
from voicekit_core.scheduling import spoken_label

from . import graph
from .settings import TeamsSettings

if TYPE_CHECKING:
    from .booking import Booked

#: Round-robin position per organizer team, per worker process (advanced on each booking).
_ROTATION: dict[tuple[str, ...], int] = {}
#: Open Graph clients by call id; closed by the ``call_ended`` hook.
_SESSIONS: dict[str, GraphSession] = {}
#: Tool state by call id, for the ``call_ended`` hook (creates still in flight).
_STATES: dict[str, CallState] = {}


@dataclass
class CallState:
    """What the tools remember during one call."""

    settings: TeamsSettings
    filler: str = ""  # said when the caller has waited filler_after_seconds
    offers: dict[datetime, str] = field(default_factory=dict)  # UTC start -> organizer
    meeting: dict[str, Any] | None = None  # the booked meeting (None once cancelled)
    response: dict[str, Any] | None = None  # last booking result, for repeated calls
    pending: dict[str, Any] | None = None  # a create whose outcome is not known yet
    pending_event: Any = None  # its Event, to send again with the same transactionId
    inflight: asyncio.Task[Booked] | None = None  # a create still waiting for Graph
    cancelled: list[dict[str, Any]] = field(default_factory=list)
    skip_via: set[str] = field(default_factory=set)  # mailboxes Graph does not know
    quiet_until: float = 0.0  # time.monotonic() before which Graph asked us not to call
    settled: weakref.WeakSet[asyncio.Task[Booked]] = field(default_factory=weakref.WeakSet)

    @property
    def team(self) -> tuple[str, ...]:
        """The organizers, as the key of their round-robin position."""
        return tuple(self.settings.organizers)

    @property
    def step(self) -> timedelta:
        """The spacing of candidate slot starts."""
        return timedelta(minutes=self.settings.slot_step_minutes)


def start_state(call: CallContext, settings: TeamsSettings, filler: str) -> CallState:
    """A fresh :class:`CallState` for ``call``, kept for :func:`pop_state`."""
    state = _STATES[call.call_id] = CallState(settings, filler)
    return state


def pop_state(call_id: str) -> CallState | None:
    """The state of ``call_id``, no longer kept (None if its tools were never made)."""
    return _STATES.pop(call_id, None)


def rotation(team: tuple[str, ...]) -> int:
    """How many bookings ``team`` has taken in this worker process."""
    return _ROTATION.get(team, 0)


def advance_rotation(team: tuple[str, ...]) -> None:
    """One more booking for ``team``: the next one starts with the next organizer."""
    _ROTATION[team] = _ROTATION.get(team, 0) + 1


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


async def client_for(call_id: str, settings: TeamsSettings) -> Any:
    """The Graph client of ``call_id``, opened on first use (the SDK warmed in a thread)."""
    await graph.warm_async()
    session = _SESSIONS.get(call_id)
    if session is None:
        session = _SESSIONS[call_id] = open_session(settings)
    return session.client


def session_of(call_id: str) -> GraphSession | None:
    """The Graph session of ``call_id`` if one was opened (never opens one)."""
    return _SESSIONS.get(call_id)


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


def label_for(call: CallContext, settings: TeamsSettings, moment: datetime) -> str:
    """``moment`` as said to the prospect: their timezone, the agent's language."""
    tz = prospect_timezone(call, settings)
    return spoken_label(moment, tz, call.config.agent.language)


def public(meeting: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``meeting`` that a tool result shows the model."""
    return {k: meeting[k] for k in ("label", "start", "end", "join_url", "event_id")}
