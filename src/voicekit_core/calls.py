"""Per-call state (:class:`CallContext`) and the record of a finished call (:class:`CallReport`)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from .leads import Lead

if TYPE_CHECKING:
    from .config import DeploymentConfig
    from .deployment import Deployment
    from .providers import ModelSelection


class Disposition(str, Enum):
    """How a call ended, in the dialer's usual terms."""

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
    phone: str
    direction: Literal["outbound", "inbound"] = "outbound"
    mode: Literal["simulated", "live"] = "simulated"
    call_id: str = field(default_factory=new_call_id)
    started_at: datetime = field(default_factory=utcnow)
    lead: Lead | None = None
    room_name: str | None = None
    participant_identity: str | None = None
    disposition: Disposition | None = None
    disposition_reason: str = ""
    qualification: dict[str, Any] | None = None
    selection: ModelSelection | None = None
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    end_requested: bool = False
    #: the call's "now" (aware, UTC): the wall clock, or a simulated campaign's sped-up clock
    clock: Callable[[], datetime] = field(default=lambda: utcnow(), repr=False)

    @property
    def config(self) -> DeploymentConfig:
        return self.deployment.config

    def set_disposition(self, disposition: Disposition | str, reason: str = "") -> None:
        """Record the outcome. Later calls overwrite earlier ones (the last word wins)."""
        self.disposition = Disposition(disposition)
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
    text: str
    at: datetime
    interrupted: bool = False


class ToolCallRecord(BaseModel):
    """One tool call: ``name``, parsed ``arguments``, the ``output`` text the model saw, ``is_error``, ``at`` (UTC)."""

    name: str
    arguments: dict[str, Any]
    output: str
    is_error: bool = False
    at: datetime


class DeliveryRecord(BaseModel):
    """One plugin's post-call delivery: status (pending/delivered/failed), attempts, last error, result."""

    plugin: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int = 0
    error: str = ""
    result: Any = None
    updated_at: datetime | None = None


class CallReport(BaseModel):
    """A finished call, as journaled and handed to ``post_call``. Times are UTC."""

    call_id: str
    agent_name: str
    direction: Literal["outbound", "inbound"]
    mode: Literal["simulated", "live"]
    phone: str
    lead: dict[str, Any] | None
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    transcript: list[TranscriptEntry] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    disposition: Disposition
    disposition_reason: str = ""
    qualification: dict[str, Any] | None = None
    models: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    data: dict[str, Any] = Field(default_factory=dict)
    post_call: list[DeliveryRecord] = Field(default_factory=list)

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
        return "\n".join(f"{e.role}: {e.text}" for e in self.transcript)

    def tool_call(self, name: str) -> ToolCallRecord | None:
        """The last call of tool ``name``, if any."""
        for record in reversed(self.tool_calls):
            if record.name == name:
                return record
        return None
