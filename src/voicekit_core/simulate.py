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

Campaign runs (``voicekit campaign run --simulate``) also read ``answer``: ``answered``
(default), or the SIP-level outcome ``busy`` / ``no_answer`` / ``voicemail``; a script
that is not answered needs no ``turns``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from .calls import CallReport, Disposition
from .config import problems_from_validation
from .errors import LeadNotFound, Problem, ScriptError
from .phones import InvalidPhone, Phone, PhonePolicy

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
    answer: Literal["answered", "busy", "no_answer", "voicemail"] = "answered"
    turns: list[str] = Field(default_factory=list)
    expect: Expectations = Field(default_factory=Expectations)
    _source: Path | None = PrivateAttr(default=None)  # the file, for messages

    @model_validator(mode="after")
    def _answered_needs_turns(self) -> CallerScript:
        if self.answer == "answered" and not self.turns:
            raise ValueError("turns: an answered call needs at least one caller turn")
        return self

    @property
    def source(self) -> Path | None:
        """The file the script was loaded from (None when built in code)."""
        return self._source

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
    """Read and validate a caller script (UTF-8 YAML).

    Raises :class:`ScriptError` naming the file and the key (or line) and value: a file
    that cannot be read, is not UTF-8, is not YAML, or does not fit :class:`CallerScript`.
    """
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScriptError([Problem(shown, "", "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        raise ScriptError(
            [
                Problem(
                    shown,
                    f"line {line}",
                    "",
                    f"not UTF-8 text (byte 0x{byte:02X}); save it as UTF-8",
                )
            ]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScriptError([_yaml_problem(shown, text, exc)]) from None
    if not isinstance(data, dict):
        raise ScriptError([Problem(shown, "", "", "must be a mapping with a 'turns' list")])
    try:
        script = CallerScript.model_validate(data)
    except ValidationError as exc:
        raise ScriptError(problems_from_validation(exc, file=shown)) from None
    script._source = path
    return script


def _yaml_problem(shown: str, text: str, exc: yaml.YAMLError) -> Problem:
    """One line for a YAML error: where (line) and what, without PyYAML's multi-line dump."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    elif isinstance(getattr(exc, "position", None), int):  # yaml.reader.ReaderError
        before = text[: exc.position]  # type: ignore[attr-defined]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
    else:
        return Problem(shown, "", "", f"malformed YAML: {' '.join(str(exc).split())}")
    what = getattr(exc, "problem", None) or getattr(exc, "reason", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    reason = f"{context}, {what}" if context else str(what)
    return Problem(shown, f"line {line}", "", f"malformed YAML at column {column}: {reason}")


def script_phone(deployment: Deployment, script: CallerScript) -> Phone | None:
    """The script's ``lead_phone`` read with the deployment's ``[leads]`` policy (None
    when it has none). Raises :class:`ScriptError` naming the script file and key."""
    if not script.lead_phone:
        return None
    try:
        return PhonePolicy.from_config(deployment.config).parse(script.lead_phone)
    except InvalidPhone as exc:
        shown = str(script.source) if script.source else "caller script"
        raise ScriptError(
            [Problem(shown, "lead_phone", repr(script.lead_phone)[:80], str(exc))]
        ) from None


def choose_phone(deployment: Deployment, script: CallerScript, lead_phone: str | None) -> Phone:
    """--lead-phone, else the script's lead_phone, else the first lead of the CSV.

    Raises :class:`~voicekit_core.phones.InvalidPhone` for a bad ``lead_phone`` argument,
    :class:`ScriptError` for a bad ``lead_phone`` in the script, ``LeadFileError`` when the
    leads file cannot be read up to its first lead, :class:`LeadNotFound` when there is
    no number at all. Reads the leads file only up to its first valid lead.
    """
    if lead_phone:
        return PhonePolicy.from_config(deployment.config).parse(lead_phone)
    phone = script_phone(deployment, script)
    if phone is not None:
        return phone
    book = deployment.leads
    first = book.first() if book is not None else None
    if first is None:
        raise LeadNotFound("no --lead-phone given, no lead_phone in the script and no leads file")
    return Phone(first.phone, first.extension)


def pick_phone(deployment: Deployment, script: CallerScript, lead_phone: str | None) -> str:
    """The E.164 number :func:`choose_phone` picks."""
    return choose_phone(deployment, script, lead_phone).e164


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

    The number is checked before the call is created (errors of :func:`choose_phone`):
    a bad number never starts, and never journals, a call. An extension given with the
    number replaces the lead's.
    """
    from .runner import open_call

    phone = choose_phone(deployment, script, lead_phone)
    async with open_call(
        deployment, phone.e164, direction=script.direction, mode="simulated", offline=offline
    ) as run:
        lead = run.call.lead
        if phone.extension and lead is not None and lead.extension != phone.extension:
            run.call.lead = lead.model_copy(update={"extension": phone.extension})
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
