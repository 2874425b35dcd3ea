"""Each tool call's time budget, its filler, and failing over to email.

A tool call spends at most ``tool_budget_seconds`` on Graph (``Retry-After`` waits
included: :func:`deadline`), says the filler when the caller has waited
``filler_after_seconds`` (:func:`waiting`), and when Graph cannot answer in time turns the
failure into a ToolError that tells the model to offer to email times, with a human
follow-up in the report (``data["teams"]["follow_up"]``) instead of dead air
(:func:`failure`). While a ``Retry-After`` runs, tools fail over at once, without another
request (:func:`quiet_check`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from voicekit_core import CallContext, Disposition

from .graph import Deadline, GraphProblem
from .report import record_problem, teams_data
from .settings import TeamsSettings
from .state import CallState

if TYPE_CHECKING:
    from livekit.agents import ToolError

FILLERS = {
    "en": "One moment while I check the calendar.",
    "es": "Un momento, estoy revisando el calendario.",
}


def filler_for(settings: TeamsSettings, language: str) -> str:
    """``settings.filler``, else the stock filler in ``language`` (English if none)."""
    return settings.filler or FILLERS.get(language, FILLERS["en"])


def deadline(settings: TeamsSettings) -> Deadline:
    """The Graph time budget of one tool call, starting now."""
    return Deadline(settings.tool_budget_seconds)


def waiting(context: Any, state: CallState) -> Any:
    """An async context: say the call's filler if the caller has waited
    ``filler_after_seconds`` meanwhile (``context``: livekit's ``RunContext``)."""
    return context.with_filler(state.filler, delay=state.settings.filler_after_seconds)


def follow_up(
    current: CallContext, state: CallState, action: str, reason: str, **details: Any
) -> None:
    """A human follow-up in the report: ``data["teams"]["follow_up"]`` (``action``
    ``email_times``, ``confirm_booking`` or ``cancel_meeting``), a note, and, while nothing
    is booked, the disposition ``qualified`` (unless the prospect did not qualify)."""
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


def failure(
    current: CallContext, state: CallState, problem: GraphProblem, **details: Any
) -> ToolError:
    """The ToolError to raise for ``problem``, after recording it, honouring its
    ``Retry-After`` and (unless Graph rejected the request) asking for an email follow-up."""
    from livekit.agents import ToolError

    record_problem(current, problem)
    if problem.retry_after:
        state.quiet_until = max(state.quiet_until, time.monotonic() + problem.retry_after)
    if problem.kind != "rejected":
        follow_up(current, state, "email_times", str(problem), **details)
    return ToolError(problem.speakable)


def quiet_check(current: CallContext, state: CallState) -> None:
    """Graph asked us to wait (Retry-After) and the wait isn't over: fail over now,
    without another request."""
    left = state.quiet_until - time.monotonic()
    if left > 0:
        problem = GraphProblem(
            "unavailable", 429, "RetryAfterPending", "calendar", retry_after=round(left, 1)
        )
        raise failure(current, state, problem)
