"""voicekit-teams: book Microsoft Teams meetings from a call, through Microsoft Graph.

Enable with ``[plugins] enable = ["teams"]`` and a ``[plugins.teams]`` table (see
:class:`voicekit_teams.settings.TeamsSettings`). The plugin registers the calendar tools
``check_availability``, ``schedule_meeting``, ``reschedule_meeting`` and
``cancel_meeting`` *without* ``fallback``, so they take precedence over tools of the same
name that another plugin registers with ``fallback=True`` (the TDX example's local
calendar); two non-fallback registrations of one name are a load error.

Importing this module imports neither msgraph, azure nor livekit: the SDK (~400 MB,
~2 s to first use) loads when a call starts (in a thread) or, at the latest, on the first
tool call. ``voicekit start|dev`` warms it in each job process (``worker_prewarm``), so
live calls pay nothing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from voicekit_core import hookimpl

from .graph import TIMINGS, GraphProblem, StaticTokenCredential, build_client, warm, warm_async
from .settings import NAME, TeamsSettings

if TYPE_CHECKING:
    from voicekit_core import CallContext, CallReport

__all__ = [
    "NAME",
    "TIMINGS",
    "GraphProblem",
    "StaticTokenCredential",
    "TeamsSettings",
    "build_client",
    "warm",
    "warm_async",
]

_BACKGROUND: set[asyncio.Task[Any]] = set()


@hookimpl
def register_settings(register: Any) -> None:
    """``[plugins.teams]`` is validated by :class:`TeamsSettings`."""
    register(TeamsSettings)


@hookimpl
def register_tools(register: Any, call: CallContext) -> None:
    """The Graph-backed calendar tools (no ``fallback``: they win over local calendars)."""
    from .tools import teams_tools

    for tool in teams_tools(call):
        register(tool)


@hookimpl
def worker_prewarm(config: Any) -> None:
    """Import msgraph and parse its models once per LiveKit job process, before any call."""
    warm()


@hookimpl
def call_started(call: CallContext) -> None:
    """Warm the Graph SDK in a thread while the call opens (no-op once warm)."""
    if TIMINGS["first_parse_seconds"] is not None:
        return
    task = asyncio.get_running_loop().create_task(warm_async())
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


@hookimpl
async def call_ended(call: CallContext, report: CallReport) -> None:
    """Let a booking still in flight finish (or look it up by its ``transactionId``),
    bring ``report`` up to date for ``post_call``, and close the call's Graph client."""
    from .settling import finish_call

    await finish_call(call, report)
