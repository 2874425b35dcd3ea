"""Offline calls: caller turns from a YAML script through a real ``AgentSession``.

Script format (unknown keys are errors)::

    description: A qualified prospect books a meeting
    lead_phone: "+14155550101"      # optional; else --lead-phone, else the first lead
    direction: outbound             # or inbound
    turns:
      - "Yes, this is Dana."
      - "We spend about $40k a year on this."
    expect:                         # optional: checked after the call
      disposition: meeting_booked
      tools: [qualify_prospect, schedule_meeting]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .calls import CallReport, Disposition
from .config import problems_from_validation
from .errors import LeadNotFound, Problem, ScriptError

if TYPE_CHECKING:
    from .deployment import Deployment
    from .runner import CallRun


class Expectations(BaseModel):
    """``expect:`` in a caller script: the disposition and the tools that must succeed."""

    model_config = ConfigDict(extra="forbid")
    disposition: Disposition | None = None
    tools: list[str] = Field(default_factory=list)


class CallerScript(BaseModel):
    """A caller script: what the simulated caller says, in order."""

    model_config = ConfigDict(extra="forbid")
    description: str = ""
    lead_phone: str | None = None
    direction: Literal["outbound", "inbound"] = "outbound"
    turns: list[str] = Field(min_length=1)
    expect: Expectations = Field(default_factory=Expectations)

    def unmet(self, report: CallReport) -> list[str]:
        """Expectations the report does not meet (empty when all hold)."""
        problems = []
        if self.expect.disposition and report.disposition != self.expect.disposition:
            problems.append(
                f"disposition is {report.disposition.value}, expected {self.expect.disposition.value}"
            )
        called = {t.name for t in report.tool_calls if not t.is_error}
        for tool in self.expect.tools:
            if tool not in called:
                problems.append(f"tool {tool} was not called successfully")
        return problems


def load_script(path: Path) -> CallerScript:
    """Read and validate a caller script. Raises ScriptError naming file, key and value."""
    shown = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ScriptError([Problem(shown, "", "", f"cannot read: {exc.strerror}")]) from None
    except yaml.YAMLError as exc:
        raise ScriptError([Problem(shown, "", "", f"malformed YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise ScriptError([Problem(shown, "", "", "must be a mapping with a 'turns' list")])
    try:
        return CallerScript.model_validate(data)
    except ValidationError as exc:
        raise ScriptError(problems_from_validation(exc, file=shown)) from None


def pick_phone(deployment: Deployment, script: CallerScript, lead_phone: str | None) -> str:
    """--lead-phone, else the script's lead_phone, else the first lead of the CSV."""
    phone = lead_phone or script.lead_phone
    if phone:
        return phone
    book = deployment.leads
    if book is None or not book.leads:
        raise LeadNotFound("no --lead-phone given, no lead_phone in the script and no leads file")
    return book.leads[0].phone


async def run_script(
    deployment: Deployment,
    script: CallerScript,
    *,
    lead_phone: str | None = None,
    offline: bool = False,
    on_turn=None,
) -> CallRun:
    """Play ``script`` through a real text-mode AgentSession; returns the finished run.

    Turns after the agent hung up (``end_call``) are not played; that is noted in the
    report. ``offline`` forces ``[models].fallback`` whatever keys are set.
    ``on_turn(run, text)`` is called after each caller turn (for live printing).
    """
    from .runner import open_call

    phone = pick_phone(deployment, script, lead_phone)
    async with open_call(
        deployment, phone, direction=script.direction, mode="simulated", offline=offline
    ) as run:
        for index, text in enumerate(script.turns):
            if run.ended:
                run.call.note(
                    f"agent hung up; {len(script.turns) - index} scripted turn(s) not played"
                )
                break
            await run.user_says(text)
            if on_turn is not None:
                on_turn(run, text)
    return run
