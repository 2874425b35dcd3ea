"""What the calendar tools write into the call's report under ``data["teams"]``.

Graph failures (``errors``), organizers skipped or read with fallbacks (``warnings``),
each with a note; and, at ``call_ended``, bringing a report built before the hook up to
date with what Graph confirmed meanwhile. The booking itself (``data["meeting"]``,
``pending_booking``, ``follow_up``) is written where it is decided: :mod:`.settling`
and :mod:`.budget`.
"""

from __future__ import annotations

import json
from typing import Any

from voicekit_core import CallContext

from .availability import TeamSchedule
from .graph import GraphProblem
from .settings import NAME


def teams_data(call: CallContext) -> dict[str, Any]:
    """``call.data["teams"]`` (created on first use)."""
    return call.data.setdefault(NAME, {})


def record_problem(call: CallContext, problem: GraphProblem) -> None:
    """Keep a Graph failure for the report: ``data["teams"]["errors"]`` and a note."""
    record_warnings(call, problem.details.get("warnings") or [])
    teams_data(call).setdefault("errors", []).append(problem.record())
    call.note(f"teams: {problem}")


def record_warnings(call: CallContext, schedule: TeamSchedule | list[dict[str, str]]) -> None:
    """Organizers skipped (or read with fallbacks): ``data["teams"]["warnings"]`` and a
    note, once per organizer and reason."""
    warnings = schedule.warnings if isinstance(schedule, TeamSchedule) else schedule
    if not warnings:
        return
    seen = teams_data(call).setdefault("warnings", [])
    for warning in warnings:
        if any(
            (w["organizer"], w["code"]) == (warning["organizer"], warning["code"]) for w in seen
        ):
            continue
        seen.append(dict(warning))
        call.note(
            f"teams: organizer {warning['organizer']} skipped or read with fallbacks: "
            f"{warning['code']} ({warning['message']})"
        )


def copy_outcome(call: CallContext, report: Any) -> None:
    """Bring the report (built before ``call_ended``) up to date with what Graph confirmed
    meanwhile: meeting, Teams data, notes, disposition (secrets redacted, as in reports)."""
    from voicekit_core.redaction import redact

    data = json.loads(
        redact(json.dumps({k: call.data.get(k) for k in ("meeting", NAME)}, default=str))
    )
    for key, value in data.items():
        if value is not None:
            report.data[key] = value
    for note in (redact(n) for n in call.notes):
        if note not in report.notes:
            report.notes.append(note)
    if call.disposition is not None and report.disposition != call.disposition:
        report.disposition = call.disposition
        report.disposition_reason = redact(call.disposition_reason)
