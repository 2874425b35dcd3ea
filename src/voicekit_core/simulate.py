"""Offline calls: caller turns from a YAML script through a real ``AgentSession``.

Script format (unknown keys are errors; every key is listed in
``docs/reference/caller-scripts.md``, generated from :class:`CallerScript`)::

    description: A qualified prospect books a meeting
    lead_phone: "+14155550101"      # optional; else --lead-phone, else the first lead
    direction: outbound             # or inbound
    turns:
      - "Yes, this is Dana."        # the caller says this; the agent answers on its own
      - caller: "Where is order A100?"
        agent: {call: order_status, args: {order_id: "A100"}}   # the offline model's move
      - caller: "Thanks, bye."
        agent: {say: "You're welcome. Goodbye!"}
    expect:                         # optional: checked after the call
      disposition: meeting_booked
      tools: [qualify_prospect, schedule_meeting]

A turn's ``agent`` steps (one or a list) replace the offline ``scripted`` model's own
answer to that caller turn: ``call`` a tool with ``args``, or ``say`` a line. After a
``call`` with no ``say`` behind it the model reads the tool's result out. This is how a
plugin author sees their own tool in ``voicekit simulate`` without a real LLM. With a
real LLM the steps are ignored (and a note in the report says so).

Campaign runs (``voicekit campaign run --simulate``) also read ``answer``: ``answered``
(default), or the SIP-level outcome ``busy`` / ``no_answer`` / ``voicemail``; a script
that is not answered needs no ``turns``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .calls import CallReport, Disposition, reading_dispositions
from .config import problems_from_validation
from .errors import LeadNotFound, Problem, ScriptError
from .phones import InvalidPhone, Phone, PhonePolicy

if TYPE_CHECKING:
    from .deployment import Deployment
    from .runner import CallRun


class Expectations(BaseModel):
    """``expect:`` in a caller script: checked after the call (``voicekit simulate``
    exits 1 when one does not hold)."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    disposition: Disposition | None = None
    """The disposition the call must end with."""
    tools: list[str] = Field(default_factory=list)
    """Tools that must have been called at least once without an error."""
    extracted: dict[str, Any] | None = None
    """Values ``report.extracted`` must hold, by field (other fields may be there too);
    ``{}``: the call must extract nothing."""


class AgentStep(BaseModel):
    """One move of the offline model in a caller script: ``call`` a tool (with ``args``)
    or ``say`` a line. Exactly one of ``call`` and ``say``."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    call: str | None = Field(default=None, min_length=1)
    """The name of a tool the deployment offers (a plugin's own tool included)."""
    args: dict[str, Any] = Field(default_factory=dict)
    """The tool's arguments, as the model would send them (JSON values)."""
    say: str | None = None
    """A line the agent says instead of its own answer."""

    @model_validator(mode="after")
    def _one_move(self) -> AgentStep:
        if (self.call is None) == (self.say is None):
            raise ValueError("an agent step has exactly one of 'call' and 'say'")
        if self.args and self.call is None:
            raise ValueError("'args' goes with 'call'")
        return self


class ScriptTurn(BaseModel):
    """A turn written as a table: what the caller says, and the offline model's answer.

    ``caller`` alone is the same as writing the turn as a plain string. ``agent`` alone
    (no ``caller``) makes the agent take the steps without waiting for the caller.
    """

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    caller: str | None = None
    """What the caller says."""
    agent: list[AgentStep] = Field(default_factory=list)
    """The offline model's answer: one step or a list, taken in order."""
    sound: Literal["speech", "silence", "noise"] = "speech"
    """Voice runs (``--voice``): ``silence`` or ``noise`` (loud, clipped) goes down the
    line for ``seconds`` instead of speech, as on a bad line. Text runs skip such a turn."""
    seconds: float = Field(default=2.0, gt=0, le=60)
    """How long a ``silence`` or ``noise`` turn lasts, in seconds."""
    interrupt_after_ms: int | None = Field(default=None, ge=0, le=60_000)
    """Voice runs: start speaking this many milliseconds into the agent's reply (barge-in)
    instead of waiting for it to finish. Text runs ignore it."""

    @field_validator("agent", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _not_empty(self) -> ScriptTurn:
        if self.sound != "speech":
            if self.caller is not None:
                raise ValueError(f"a {self.sound} turn has no 'caller' line")
            return self
        if self.caller is None and not self.agent:
            raise ValueError("a turn needs 'caller', 'agent' or both")
        if self.interrupt_after_ms is not None and self.caller is None:
            raise ValueError("'interrupt_after_ms' needs a 'caller' line to interrupt with")
        return self


class CallerScript(BaseModel):
    """A caller script: what the simulated caller says, in order, and what to expect."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)
    description: str = ""
    """One line saying what the script plays (shown nowhere else; for readers)."""
    lead_phone: str | None = None
    """The number called, read with the deployment's ``[leads]`` policy; default: the
    first lead of the CSV. ``--lead-phone`` wins over it."""
    direction: Literal["outbound", "inbound"] = "outbound"
    """``outbound`` (the agent called and greets first) or ``inbound``."""
    answer: Literal["answered", "busy", "no_answer", "voicemail"] = "answered"
    """For ``voicekit campaign run --simulate``: whether the call is answered, or its
    SIP-level outcome."""
    turns: list[str | ScriptTurn] = Field(default_factory=list)
    """The conversation: a string is a caller line; a table has ``caller`` and/or
    ``agent`` steps for the offline model."""
    hello: str = "Hello?"
    """Voice runs of outbound calls: what the person says on picking up, before the
    agent greets (answering-machine detection listens to it)."""
    voicemail_greeting: str = (
        "Hi, you've reached {lead.first_name}. I can't take your call right now. "
        "Please leave a message after the tone."
    )
    """Voice runs with ``answer: voicemail``: the mailbox's greeting (``{lead.*}``
    placeholders allowed), followed by a beep."""
    expect: Expectations = Field(default_factory=Expectations)
    """Checked after the call."""
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

    def steps(self) -> list[ScriptTurn]:
        """Every turn as a :class:`ScriptTurn` (plain strings become ``caller`` turns)."""
        return [ScriptTurn(caller=t) if isinstance(t, str) else t for t in self.turns]

    def tool_problems(self, offered: list[str]) -> list[Problem]:
        """Agent steps calling a tool the deployment does not offer (``offered``)."""
        shown = str(self.source) if self.source else "caller script"
        problems = []
        for index, turn in enumerate(self.steps()):
            for number, step in enumerate(turn.agent):
                if step.call is not None and step.call not in offered:
                    where = f"turns[{index}].agent" + (f"[{number}]" if len(turn.agent) > 1 else "")
                    tools = ", ".join(sorted(offered)) or "none"
                    problems.append(
                        Problem(
                            shown,
                            f"{where}.call",
                            repr(step.call),
                            f"the deployment offers no such tool; its tools: {tools}",
                        )
                    )
        return problems

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
        wanted = self.expect.extracted
        got = report.extracted or {}
        if wanted == {} and got:
            problems.append(f"extracted {sorted(got)}, expected nothing")
        for name, value in (wanted or {}).items():
            if got.get(name) != value:
                problems.append(f"extracted.{name} is {got.get(name)!r}, expected {value!r}")
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
        # expect.disposition may be a declared outcome: checked against the deployment
        # when the script runs (run_script)
        with reading_dispositions():
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

    The number is checked before the call is created (errors of :func:`choose_phone`),
    and so are the tools the script's agent steps call (:class:`ScriptError` naming the
    turn): a bad number or an unknown tool never starts, and never journals, a call. An
    extension given with the number replaces the lead's.
    """
    from .runner import run_started

    run, phone = await create_script_call(deployment, script, lead_phone, offline=offline)
    async with run_started(run) as run:
        lead = run.call.lead
        if phone.extension and lead is not None and lead.extension != phone.extension:
            run.call.lead = lead.model_copy(update={"extension": phone.extension})
        await play_turns(run, script, on_turn=on_turn)
    return run


async def create_script_call(
    deployment: Deployment,
    script: CallerScript,
    lead_phone: str | None,
    **create_options: Any,
) -> tuple[CallRun, Phone]:
    """The call a script plays, created (not started) after its checks: the expected
    disposition is one the deployment knows, the number is valid, and every tool the
    agent steps call is offered. Raises :class:`ScriptError` (or the errors of
    :func:`choose_phone`) before anything is journaled. ``create_options`` go to
    :func:`~voicekit_core.runner.create_call` (``offline``, ``text_only``...)."""
    from .runner import create_call, finish_unstarted

    expected = script.expect.disposition
    if expected is not None:
        try:
            deployment.dispositions.require(expected)
        except ValueError as exc:
            shown = str(script.source) if script.source else "caller script"
            problem = Problem(shown, "expect.disposition", repr(expected.value), str(exc))
            raise ScriptError([problem]) from None
    phone = choose_phone(deployment, script, lead_phone)
    run = await create_call(
        deployment, phone.e164, direction=script.direction, mode="simulated", **create_options
    )
    if any(turn.agent for turn in script.steps()):
        from .scripted_llm import tool_names

        problems = script.tool_problems(tool_names(run.agent.tools))
        if problems:
            await finish_unstarted(run)
            raise ScriptError(problems)
    return run, phone


async def play_turns(
    run: CallRun, script: CallerScript, *, on_turn=None, before_caller=None
) -> None:
    """Play the script's turns on a started call (caller lines, and agent steps through
    the offline model). Stops when the agent hung up, noting the turns not played.
    ``await before_caller(text)`` runs before each caller line is said (a paced
    simulated call waits there while the caller "speaks")."""
    turns = script.steps()
    llm = _scripted_llm(run)
    ignored = False
    for index, turn in enumerate(turns):
        if run.ended:
            run.call.note(f"agent hung up; {len(turns) - index} scripted turn(s) not played")
            break
        if turn.agent and llm is None:
            ignored = True
        elif turn.agent:
            llm.push(*_agent_replies(turn.agent))
        if turn.caller is not None:
            if before_caller is not None:
                await before_caller(turn.caller)
            await run.user_says(turn.caller)
        elif turn.agent and llm is not None:
            await run.session.generate_reply()
        if llm is not None:
            left = llm.drop_pushed()
            if left:
                run.call.note(
                    f"turn {index + 1}: {left} agent step(s) not taken (the agent stopped early)"
                )
        if on_turn is not None:
            on_turn(run, turn.caller or "")
    if ignored:
        run.call.note("the caller script's agent steps were ignored: the model is not scripted")


def _scripted_llm(run: CallRun) -> Any:
    """The session's ScriptedLLM (the offline model), or None for a real LLM."""
    from .scripted_llm import ScriptedLLM

    llm = run.session.llm
    return llm if isinstance(llm, ScriptedLLM) else None


def _agent_replies(steps: list[AgentStep]) -> list[Any]:
    """The ScriptedLLM answers for a turn's agent steps: each ``call`` (consecutive calls
    one answer each), each ``say``, and after a final ``call`` a read-out of its result."""
    from .scripted_llm import Reply, ToolCall

    replies: list[Any] = []
    for step in steps:
        if step.call is not None:
            replies.append(Reply(tool_calls=[ToolCall(step.call, dict(step.args))]))
        else:
            replies.append(Reply(text=step.say or ""))
    if steps[-1].call is not None:
        replies.append(_read_out_last_result)
    return replies


def _read_out_last_result(chat_ctx: Any, tools: list[str]) -> str:
    """The last tool result as the agent's line (an error said as one)."""
    for item in reversed(chat_ctx.items):
        if item.type == "function_call_output":
            output = str(item.output or "").strip()
            return f"Sorry, that did not work: {output}" if item.is_error else output
    return ""
