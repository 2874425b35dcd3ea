"""Per-call state (:class:`CallContext`) and the record of a finished call (:class:`CallReport`)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator

from .leads import Lead

if TYPE_CHECKING:
    from .config import DeploymentConfig
    from .deployment import Deployment
    from .extraction_state import ExtractionState
    from .providers import ModelSelection

DISPOSITION_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
"""What a disposition name looks like: lowercase snake_case, at most 40 characters (the
journal column's width)."""

_declared: set[str] = set()  # declared outcomes (every deployment and plugin loaded)
_extra_members: dict[str, Disposition] = {}  # one object per declared name
_reading: ContextVar[bool] = ContextVar("voicekit_reading_dispositions", default=False)


class Disposition(str, Enum):
    """How a call ended. The members are voicekit's built-in outcomes, in a dialer's usual
    terms; a deployment's ``[dispositions]`` table and plugins (``register_dispositions``)
    declare more (``ticket_created``, ``emergency_escalated``).

    ``Disposition("ticket_created")`` returns a declared outcome as an object that behaves
    like a member (``.value``, ``.name``, equal to its string, one object per name) but is
    not listed when iterating the class, which lists the built-ins only. An undeclared name
    raises ``ValueError`` (``'nope' is not a valid Disposition``). Which outcomes one
    deployment knows, with labels and success flags: ``deployment.dispositions``
    (:class:`voicekit_core.dispositions.DispositionCatalog`).
    """

    MEETING_BOOKED = "meeting_booked"
    QUALIFIED = "qualified"  # qualified, no meeting booked yet
    NURTURE = "nurture"
    DISQUALIFIED = "disqualified"
    NOT_INTERESTED = "not_interested"
    WRONG_NUMBER = "wrong_number"
    TRANSFERRED = "transferred"
    MESSAGE_TAKEN = "message_taken"
    CALLBACK_REQUESTED = "callback_requested"
    VOICEMAIL = "voicemail"
    DNC = "do_not_call"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    DECLINED = "declined"
    INVALID_NUMBER = "invalid_number"
    VETOED = "vetoed"
    FAILED = "failed"
    COMPLETED = "completed"  # ended without a more specific outcome

    @classmethod
    def _missing_(cls, value: object) -> Disposition | None:
        if not isinstance(value, str) or not DISPOSITION_NAME.fullmatch(value):
            return None
        if value in _declared or _reading.get():
            return _extra_member(value)
        return None

    @classmethod
    def declare(cls, name: str) -> Disposition:
        """Make ``name`` a known outcome in this process and return it. Raises
        ``ValueError`` unless it is lowercase snake_case of at most 40 characters.
        Deployments and plugins declare through ``[dispositions]`` and
        ``register_dispositions``; this is what loading them calls."""
        if not isinstance(name, str) or not DISPOSITION_NAME.fullmatch(name):
            raise ValueError(
                f"{str(name)[:60]!r} is not a disposition name: use lowercase letters, digits "
                "and _ (starting with a letter), at most 40 characters"
            )
        if name not in cls._value2member_map_:
            _declared.add(name)
        return cls(name)

    @classmethod
    def read(cls, name: str) -> Disposition:
        """``name`` as a Disposition, declared or not, for outcomes read back from storage
        (a journal row written when the deployment still declared it). Raises
        ``ValueError`` for a malformed name."""
        with reading_dispositions():
            return cls(name)

    def __reduce_ex__(self, protocol: Any) -> Any:
        # a declared outcome unpickles in a process that has not declared it (yet)
        return (Disposition.read, (self._value_,))

    @classmethod
    def is_builtin(cls, name: str) -> bool:
        """Whether ``name`` is one of voicekit's built-in outcomes."""
        return name in cls._value2member_map_

    @classmethod
    def is_known(cls, name: str) -> bool:
        """Whether ``name`` is built-in or declared by a deployment or plugin loaded in
        this process (plugin settings that map outcomes check their keys with it; a
        deployment loads its declarations before validating plugin settings)."""
        return name in cls._value2member_map_ or name in _declared


def _extra_member(name: str) -> Disposition:
    member = _extra_members.get(name)
    if member is None:
        member = str.__new__(Disposition, name)
        member._value_ = name
        member._name_ = name.upper()
        member = _extra_members.setdefault(name, member)
    return member


@contextmanager
def reading_dispositions() -> Iterator[None]:
    """Within this block any well-formed name is a Disposition: for reading files before
    the deployment's outcomes are known (the deployment file itself, caller scripts), each
    name then checked against ``deployment.dispositions``."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(timezone.utc)


def new_call_id(now: datetime | None = None) -> str:
    """A sortable id: UTC timestamp plus 6 random hex digits (``20261122T194012-3fa9c1``)."""
    now = now or utcnow()
    return f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class CallContext:
    """Everything voicekit and plugins know about one call while it runs.

    It is the ``userdata`` of the livekit ``AgentSession``, so tools reach it as
    ``context.userdata``. ``phone`` is E.164. ``data`` is for plugins: JSON-able values
    stored under the plugin's name are copied into the report (e.g. a Teams join URL).
    """

    deployment: Deployment
    """The loaded deployment: ``.config``, ``.journal``, ``.leads``, ``.pm`` (plugins)."""
    phone: str
    """The other party's number, E.164 (``+14155550123``)."""
    direction: Literal["outbound", "inbound"] = "outbound"
    """``outbound`` (we dialed) or ``inbound`` (they called)."""
    mode: Literal["simulated", "live"] = "simulated"
    """``live`` in a LiveKit room; ``simulated`` in ``voicekit simulate``, tests and
    simulated campaigns."""
    call_id: str = field(default_factory=new_call_id)
    """Sortable id: UTC timestamp and 6 hex digits (``20261122T194012-3fa9c1``)."""
    started_at: datetime = field(default_factory=utcnow)
    """When the call was created (timezone-aware, UTC)."""
    lead: Lead | None = None
    """Who is on the line (a :class:`~voicekit_core.leads.Lead`; ``source = "unknown"``
    for a number no lead source knows). Set before any plugin hook but ``lookup_lead``."""
    room_name: str | None = None
    """The LiveKit room (``call-<call_id>``; simulated calls get the same name)."""
    participant_identity: str | None = None
    """The SIP participant's identity in the room (``sip_<phone>``)."""
    disposition: Disposition | None = None
    """The outcome so far (set it with :meth:`set_disposition`); None until decided."""
    disposition_reason: str = ""
    """Why, in one line."""
    qualification: dict[str, Any] | None = None
    """A qualification result a tool recorded (the example: ``status``, ``reasons``,
    ``budget``, ``authority``, ``need``, ``timeline``)."""
    selection: ModelSelection | None = None
    """The models chosen for the call (``select_models``) and why."""
    audio: bool = False
    """True when the call carries audio (a LiveKit room, or ``simulate --voice``): the
    session gets VAD, STT and TTS. False for a text session (``simulate``, tests), which
    builds no speech models whatever ``select_models`` picks."""
    data: dict[str, Any] = field(default_factory=dict)
    """Per-call data for plugins, kept in the report: store JSON-able values under your
    plugin's name (``call.data["orders"] = {...}``)."""
    notes: list[str] = field(default_factory=list)
    """Lines for the report's ``notes`` (add with :meth:`note`)."""
    end_requested: bool = False
    """True once a tool asked to hang up (:meth:`request_end`)."""
    extraction: ExtractionState | None = None
    """The record ``record_details`` is collecting (values, what was read back and
    confirmed); None when the deployment declares no ``[extraction]``. Becomes
    ``report.extracted``."""
    clock: Callable[[], datetime] = field(default=lambda: utcnow(), repr=False)
    """The call's "now" (aware, UTC): the wall clock, or a simulated campaign's sped-up
    clock. Tools that reason about time call ``call.clock()``."""

    @property
    def config(self) -> DeploymentConfig:
        """The deployment's validated config (``config.plugin_settings(NAME)``)."""
        return self.deployment.config

    def set_disposition(self, disposition: Disposition | str, reason: str = "") -> None:
        """Record the outcome. Later calls overwrite earlier ones (the last word wins).

        ``disposition`` is a built-in outcome or one the deployment declares
        (``[dispositions]``, a plugin's ``register_dispositions``); anything else raises
        ``ValueError`` naming it.
        """
        value = Disposition(disposition)
        catalog = getattr(self.deployment, "dispositions", None)
        if catalog is not None and value.value not in catalog:
            raise ValueError(
                f"{value.value!r} is not a disposition of this deployment: declare it in "
                "[dispositions]"
            )
        self.disposition = value
        self.disposition_reason = reason

    def note(self, text: str) -> None:
        """Add a line to the report's ``notes`` (lookups that timed out, fallbacks taken)."""
        self.notes.append(text)

    def request_end(self) -> None:
        """Ask the runner to hang up after the current reply has been spoken."""
        self.end_requested = True


class TranscriptEntry(BaseModel):
    """One spoken line: ``role`` (assistant/user), ``text``, ``at`` (UTC), and whether it was interrupted."""

    role: Literal["assistant", "user", "system"]
    """``assistant`` is the agent, ``user`` the person on the phone."""
    text: str
    """What was said (as transcribed, for the caller), secrets redacted."""
    at: datetime
    """When the line was added to the conversation (UTC)."""
    interrupted: bool = False
    """True when the caller cut the agent off before the line was spoken in full."""


class ToolCallRecord(BaseModel):
    """One tool call: ``name``, parsed ``arguments``, the ``output`` text the model saw, ``is_error``, ``at`` (UTC)."""

    name: str
    """The tool's name (the function name of a ``@function_tool``)."""
    arguments: dict[str, Any]
    """The arguments the model sent, parsed from JSON (``{"_raw": text}`` when they were
    not JSON)."""
    output: str
    """The result the model saw: the tool's return value as text, or the error message."""
    is_error: bool = False
    """True when the tool raised (``ToolError``) or its arguments were invalid."""
    at: datetime
    """When the result came back (UTC)."""


class DeliveryRecord(BaseModel):
    """One plugin's post-call delivery: status (pending/delivered/failed), attempts, last error, result."""

    plugin: str
    """The plugin whose ``post_call`` this is (its name in ``[plugins] enable``)."""
    status: Literal["pending", "delivered", "failed"]
    """``pending`` (not run yet, or running), ``delivered``, or ``failed`` (retry with
    ``voicekit journal retry``)."""
    attempts: int = 0
    """How many times ``post_call`` ran for this call (1 after the first try)."""
    error: str = ""
    """The last failure as ``ExceptionType: message``, secrets redacted; empty when
    delivered."""
    result: Any = None
    """What ``post_call`` returned (JSON-able), e.g. the CRM record's id."""
    updated_at: datetime | None = None
    """When the row last changed (UTC)."""


class CallReport(BaseModel):
    """A finished call, as journaled and handed to ``post_call``. Times are UTC."""

    call_id: str
    """Sortable id: UTC timestamp and 6 hex digits (``20261122T194012-3fa9c1``)."""
    agent_name: str
    """``[agent] name`` of the deployment."""
    direction: Literal["outbound", "inbound"]
    """``outbound`` (we dialed) or ``inbound`` (they called)."""
    mode: Literal["simulated", "live"]
    """``live`` in a LiveKit room, ``simulated`` offline."""
    phone: str
    """The other party's number, E.164 (``+14155550123``)."""
    lead: dict[str, Any] | None
    """The lead as a flat dict, not a ``Lead``: the ``Lead`` fields that are set (empty
    ones left out) plus ``name``; e.g. ``report.lead["name"]``, ``report.lead.get("email")``.
    See "report.lead" below."""
    started_at: datetime
    """When the call was created (UTC)."""
    ended_at: datetime
    """When the call ended (UTC)."""
    duration_seconds: float
    """``ended_at - started_at`` in seconds (3 decimals)."""
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    """The spoken lines in order."""
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    """Every tool call in order, failed ones included (``is_error``)."""
    disposition: Disposition
    """How the call ended (set by a tool with ``call.set_disposition``; ``completed`` when
    nothing more specific was recorded)."""
    disposition_reason: str = ""
    """Why, in one line."""
    qualification: dict[str, Any] | None = None
    """The qualification a tool recorded (``call.qualification``), if any."""
    extracted: dict[str, Any] | None = None
    """The record collected by ``record_details`` (``[extraction]``): ``{field: value}``
    for the fields that have a value, in schema order; phones E.164, dates
    ``YYYY-MM-DD``. ``data["extraction"]`` says which fields are ``missing``,
    ``unconfirmed`` or ``filled_after_call``. None when the deployment declares no
    extraction."""
    models: dict[str, Any] = Field(default_factory=dict)
    """The models used: ``realtime`` / ``stt`` / ``llm`` / ``tts`` lists of
    ``provider:model`` and a ``reason`` for the choice."""
    metrics: dict[str, Any] = Field(default_factory=dict)
    """Usage and latency: ``usage`` (token and audio counts per model), ``turns``,
    ``median_e2e_latency`` / ``median_llm_ttft`` / ``median_tts_ttfb`` /
    ``median_end_of_turn_delay`` in seconds, ``estimated_cost_usd`` in US dollars (from
    ``[models.prices]``), ``unpriced_models``; for a call over the simulated line
    (``simulate --voice``) ``voice``: each turn's ``said`` / ``heard`` and
    ``voice_to_voice`` seconds with livekit's component figures,
    ``voice_to_voice_p50`` / ``_p90`` (see docs/voice.md)."""
    notes: list[str] = Field(default_factory=list)
    """Things worth knowing: lookups that timed out, fallbacks taken, turns not played."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Plugin data from ``call.data`` (JSON-able), e.g. ``data["meeting"]``,
    ``data["tools"]`` (which plugin provided each tool), ``data["campaign"]``,
    ``data["recording"]`` (``status``: ``recording`` / ``ended`` / ``failed`` /
    ``disabled`` for a LiveKit egress, ``saved`` for ``simulate --voice --save-audio``;
    ``location``, ``egress_id``, ``reason``), ``data["telephony"]["amd"]`` (the
    answering-machine verdict)."""
    post_call: list[DeliveryRecord] = Field(default_factory=list)
    """One delivery record per ``post_call`` plugin, as it stood when the call finished."""

    @field_validator("disposition", mode="before")
    @classmethod
    def _stored_outcome(cls, value: Any) -> Any:
        # a report read back may carry an outcome its deployment no longer declares
        if isinstance(value, str) and not isinstance(value, Disposition):
            return Disposition.read(value)
        return value

    def summary(self) -> str:
        """One paragraph for CRM call bodies: who, outcome, qualification."""
        who = (self.lead or {}).get("name") or self.phone
        parts = [f"{self.direction.title()} call with {who}: {self.disposition.value}"]
        if self.disposition_reason:
            parts.append(f"({self.disposition_reason})")
        if self.qualification:
            q = self.qualification
            parts.append(
                "; ".join(
                    f"{k}: {q[k]}" for k in ("budget", "authority", "need", "timeline") if q.get(k)
                )
            )
        return " ".join(p for p in parts if p)

    def transcript_text(self) -> str:
        """The transcript as ``role: text`` lines."""
        return "\n".join(f"{e.role}: {e.text}" for e in self.transcript)

    def tool_call(self, name: str) -> ToolCallRecord | None:
        """The last call of tool ``name``, if any."""
        for record in reversed(self.tool_calls):
            if record.name == name:
                return record
        return None
