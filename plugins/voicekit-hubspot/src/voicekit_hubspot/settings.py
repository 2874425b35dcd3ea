"""``[plugins.hubspot]``: the settings model and its defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from voicekit_core import Disposition

NAME = "hubspot"

#: HubSpot's default call outcomes (``hs_call_disposition`` takes their GUIDs).
CONNECTED = "f240bbac-87c9-4f6e-bf70-924b57d47db7"
NO_ANSWER = "73a0d17f-1163-4015-bdd5-ec830791da20"
LEFT_VOICEMAIL = "b2cf5968-551e-4856-9783-52b3da59a7d0"
LEFT_LIVE_MESSAGE = "a4c4c377-d246-4b32-a13b-75a56a4cd0ff"
BUSY = "9d9162e7-6cf3-4944-bf63-4dff82258764"
WRONG_NUMBER = "17b47fee-58de-441e-a44c-c6300d46f273"

DEFAULT_CALL_OUTCOMES: dict[str, str] = {
    "voicemail": LEFT_VOICEMAIL,
    "no_answer": NO_ANSWER,
    "busy": BUSY,
    "declined": NO_ANSWER,
    "wrong_number": WRONG_NUMBER,
    "invalid_number": WRONG_NUMBER,
    "message_taken": LEFT_LIVE_MESSAGE,
}
"""Disposition -> HubSpot call outcome GUID; any other disposition logs as *Connected*."""

DEFAULT_CONTACT_UPDATES: dict[str, dict[str, str]] = {
    "meeting_booked": {"lifecyclestage": "salesqualifiedlead", "hs_lead_status": "OPEN_DEAL"},
    "qualified": {"lifecyclestage": "salesqualifiedlead", "hs_lead_status": "CONNECTED"},
    "nurture": {"hs_lead_status": "BAD_TIMING"},
    "disqualified": {"hs_lead_status": "UNQUALIFIED"},
    "not_interested": {"hs_lead_status": "UNQUALIFIED"},
    "wrong_number": {"hs_lead_status": "UNQUALIFIED"},
    "callback_requested": {"hs_lead_status": "IN_PROGRESS"},
    "message_taken": {"hs_lead_status": "ATTEMPTED_TO_CONTACT"},
    "voicemail": {"hs_lead_status": "ATTEMPTED_TO_CONTACT"},
    "no_answer": {"hs_lead_status": "ATTEMPTED_TO_CONTACT"},
    "busy": {"hs_lead_status": "ATTEMPTED_TO_CONTACT"},
}
"""Disposition -> contact property updates (lifecycle stage, lead status) after a call."""

_DISPOSITIONS = {d.value for d in Disposition}


class HubSpotSettings(BaseModel):
    """``[plugins.hubspot]``. Only ``access_token`` is required.

    Times are in seconds. ``contact_updates`` and ``call_outcomes`` are keyed by
    disposition (``meeting_booked``, ``qualified``, ``voicemail``...); a table given in the
    TOML replaces the default map entirely.
    """

    model_config = ConfigDict(extra="forbid")

    access_token: SecretStr = Field(
        description="Private-app access token (${HUBSPOT_ACCESS_TOKEN})."
    )
    host: str = "https://api.hubapi.com"
    lookup_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    phone_properties: list[str] = Field(
        default_factory=lambda: ["phone", "mobilephone"], min_length=1
    )
    several_matches: Literal["most_recently_updated", "oldest"] = "most_recently_updated"
    create_missing: bool = False
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    backoff_max_seconds: float = Field(default=10.0, ge=0, le=300)
    index_lag_seconds: float = Field(default=120.0, ge=0, le=3600)
    """How long HubSpot's search may miss a record after it was written. A create whose
    outcome is unknown (5xx, timeout) and that cannot be found by search or through the
    contact's associations is not created again until this long after the attempt."""
    call_outcomes: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_CALL_OUTCOMES))
    contact_updates: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_CONTACT_UPDATES.items()}
    )
    follow_up_task: bool = True
    follow_up_dispositions: list[str] = Field(
        default_factory=lambda: ["qualified", "meeting_booked"]
    )
    follow_up_days: int = Field(default=1, ge=0, le=60)

    @field_validator("host")
    @classmethod
    def _host_is_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must start with https:// (or http:// for a local test server)")
        return value.rstrip("/")

    @field_validator("call_outcomes", "contact_updates")
    @classmethod
    def _keys_are_dispositions(cls, value: dict) -> dict:
        _check_dispositions(value)
        return value

    @field_validator("follow_up_dispositions")
    @classmethod
    def _list_of_dispositions(cls, value: list[str]) -> list[str]:
        _check_dispositions(value)
        return value


def _check_dispositions(names: object) -> None:
    unknown = sorted(n for n in set(names) if not Disposition.is_known(n))  # type: ignore[arg-type]
    if unknown:
        raise ValueError(
            f"unknown disposition(s) {', '.join(unknown)}; known: {', '.join(sorted(_DISPOSITIONS))}"
        )
