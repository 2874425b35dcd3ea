"""``[plugins.transfer]``: who the agent may transfer to, and how.

::

    [plugins.transfer]
    mode = "cold"                       # or "warm" (live calls; see README)
    default_target = "sales"
    ring_timeout_seconds = 25

    [[plugins.transfer.targets]]
    name = "sales"
    to = "${FORWARD_PHONE_NUMBER}"      # E.164, tel: or sip: URI
    hours = "09:00-17:00"               # optional, in `timezone`, on `days`
    timezone = "America/New_York"

With no targets, one target named ``default`` is read from ``FORWARD_PHONE_NUMBER`` when
the tool runs (as in the TDX SDR seed).
"""

from __future__ import annotations

import os
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from voicekit_core import to_e164

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FORWARD_ENV = "FORWARD_PHONE_NUMBER"


def transfer_uri(to: str) -> str:
    """``"+14155550100"`` / ``"tel:+1 415..."`` -> ``"tel:+14155550100"``; ``sip:`` URIs
    are kept. Raises ``ValueError`` for anything else."""
    text = to.strip()
    if text.lower().startswith(("sip:", "sips:")):
        if "@" not in text:
            raise ValueError("a SIP URI needs user@host, e.g. sip:desk@pbx.example.com")
        return text
    if text.lower().startswith("tel:"):
        text = text[4:]
    return f"tel:{to_e164(text)}"


class Target(BaseModel):
    """A human (or queue) the caller can be transferred to."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    to: str = Field(description="E.164 number, tel: or sip: URI")
    description: str = ""
    hours: str = Field(default="", description="'HH:MM-HH:MM' in timezone; empty: always")
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"]
    )
    timezone: str = "UTC"

    @field_validator("to")
    @classmethod
    def _valid_to(cls, value: str) -> str:
        return transfer_uri(value)

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        if value:
            _parse_hours(value)
        return value

    def window(self) -> tuple[time, time] | None:
        return _parse_hours(self.hours) if self.hours else None

    def is_open(self, now: datetime) -> bool:
        """True when ``now`` (aware) falls in the target's hours (always, if no hours)."""
        window = self.window()
        if window is None:
            return True
        local = now.astimezone(ZoneInfo(self.timezone))
        start, end = window
        return DAYS[local.weekday()] in self.days and start <= local.time() < end


def _parse_hours(text: str) -> tuple[time, time]:
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError(f"hours must look like '09:00-17:00', got {text!r}") from None
    if not start < end:
        raise ValueError(f"hours {text!r}: the start must be before the end")
    return start, end


class TransferSettings(BaseModel):
    """Validated ``[plugins.transfer]``. Durations are in seconds."""

    model_config = ConfigDict(extra="forbid")
    targets: list[Target] = Field(default_factory=list)
    default_target: str = ""
    mode: Literal["cold", "warm"] = "cold"
    handoff_message: str = "Of course, let me connect you with a colleague now."
    ring_timeout_seconds: int = Field(default=30, ge=5, le=120)
    play_dialtone: bool = False

    @model_validator(mode="after")
    def _default_exists(self) -> TransferSettings:
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError("target names must be unique")
        if self.default_target and self.default_target not in names:
            raise ValueError(f"default_target {self.default_target!r} is not one of {names}")
        return self

    def all_targets(self) -> list[Target]:
        """The configured targets, or the ``FORWARD_PHONE_NUMBER`` default (read now).

        Raises ``ValueError`` when there is neither (or the variable is not a number).
        """
        if self.targets:
            return list(self.targets)
        number = os.environ.get(FORWARD_ENV, "").strip()
        if not number:
            raise ValueError(f"no transfer targets configured and {FORWARD_ENV} is not set")
        return [Target(name="default", to=number)]

    def pick(self, name: str = "") -> Target:
        """The target called ``name`` (case-insensitive), else the default target.

        Raises ``LookupError`` for an unknown name, ``ValueError`` if none is configured.
        """
        targets = self.all_targets()
        wanted = (name or "").strip().lower()
        if wanted:
            for target in targets:
                if target.name.lower() == wanted:
                    return target
            raise LookupError(
                f"no transfer target {name!r}; choose one of: " + ", ".join(t.name for t in targets)
            )
        if self.default_target:
            return next(t for t in targets if t.name == self.default_target)
        return targets[0]
