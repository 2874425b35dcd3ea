"""``[plugins.teams]``: credentials, who gets booked, and when.

Light module: pydantic only (no msgraph / azure / livekit), so plugin listing and
``voicekit check`` stay fast.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from voicekit_core.scheduling import WorkingHours

NAME = "teams"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class TeamsSettings(BaseModel):
    """``[plugins.teams]`` (unknown keys are errors).

    Credentials are an Entra ID app registration with the *application* permission
    ``Calendars.ReadWrite`` (client credentials flow). ``organizers`` are user ids or
    UPNs/emails of the people meetings are booked with; with more than one, ``assignment``
    picks who gets a slot.

    Each organizer's own working hours come from Graph (``getSchedule`` ->
    ``workingHours``); ``working_hours`` / ``working_days`` in ``rep_timezone`` (IANA) are
    the fallback for a mailbox that has none (or all organizers with
    ``use_graph_working_hours = false``). Slots must also lie within ``prospect_hours`` on
    ``prospect_days`` in the lead's timezone. ``tool_budget_seconds`` caps the time one
    tool call spends on Graph, ``Retry-After`` waits included.
    """

    model_config = ConfigDict(extra="forbid")

    tenant_id: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    organizers: list[str] = Field(min_length=1)
    assignment: Literal["first_free", "round_robin"] = "first_free"
    rep_timezone: str = "America/New_York"
    working_hours: tuple[time, time] = (time(9, 0), time(17, 0))
    working_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    meeting_minutes: int = Field(default=30, ge=15, le=240)
    notice_hours: float = Field(default=2, ge=0)
    days_ahead: int = Field(default=7, ge=1, le=30)
    max_slots: int = Field(default=3, ge=1, le=10)
    slot_step_minutes: int = Field(default=30, ge=5, le=120)
    one_per_day: bool = True
    subject: str = ""
    use_graph_working_hours: bool = True
    """Use each organizer's ``workingHours`` from Graph; False = the config's hours for all."""
    prospect_hours: tuple[time, time] = (time(8, 0), time(18, 0))
    """Hours a meeting may take place in the prospect's timezone (the lead's, else
    ``rep_timezone``)."""
    prospect_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    graph_base_url: str = DEFAULT_GRAPH_URL
    max_retries: int = Field(default=3, ge=0, le=10)
    """Retries of a throttled / failed Graph request, as long as they fit the budget."""
    timeout_seconds: float = Field(default=10, gt=0, le=60)
    """Per HTTP request; a request is also cut when the tool call's budget runs out."""
    tool_budget_seconds: float = Field(default=6, ge=1, le=60)
    """Most seconds one calendar tool call waits on Graph (Retry-After included) before the
    agent is told to offer to email times instead."""
    filler_after_seconds: float = Field(default=1.5, ge=0, le=30)
    """Say ``filler`` when a tool call has kept the caller waiting this long."""
    filler: str = ""
    """What the agent says while waiting; empty = a short line in the agent's language."""
    local_token: SecretStr | None = None
    """A static bearer token instead of client credentials: only with a localhost
    ``graph_base_url`` (local fakes, offline demos)."""
    fixed_now: datetime | None = None
    """Pretend "now" is this instant (tests, demos); must carry an offset. None = wall clock."""

    @field_validator("rep_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("working_days", "prospect_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(not 0 <= d <= 6 for d in value):
            raise ValueError("days are 0 (Monday) to 6 (Sunday), at least one")
        return sorted(set(value))

    @field_validator("graph_base_url")
    @classmethod
    def _https_unless_local(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS):
            return value.rstrip("/")
        raise ValueError("graph_base_url must be https (plain http only for localhost)")

    @field_validator("fixed_now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("fixed_now needs a UTC offset, e.g. 2026-03-06T14:00:00Z")
        return value

    @model_validator(mode="after")
    def _hours_order(self) -> TeamsSettings:
        for name in ("working_hours", "prospect_hours"):
            opens, closes = getattr(self, name)
            if opens >= closes:
                raise ValueError(f"{name} must be [opening, closing] with opening first")
        if self.local_token is not None and self.graph_host not in LOCAL_HOSTS:
            raise ValueError("local_token is only allowed with a localhost graph_base_url")
        return self

    # -- derived -------------------------------------------------------------------
    @property
    def hours(self) -> WorkingHours:
        return WorkingHours(self.rep_timezone, *self.working_hours, tuple(self.working_days))

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.meeting_minutes)

    @property
    def notice(self) -> timedelta:
        return timedelta(hours=self.notice_hours)

    @property
    def graph_host(self) -> str:
        return urlsplit(self.graph_base_url).hostname or ""
