"""``[plugins.salesforce]``: the settings model, its defaults and the auth-mode check."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from voicekit_core import Disposition

NAME = "salesforce"

DEFAULT_LEAD_STATUSES: dict[str, str] = {
    "meeting_booked": "Working - Contacted",
    "qualified": "Working - Contacted",
    "nurture": "Working - Contacted",
    "callback_requested": "Working - Contacted",
    "disqualified": "Closed - Not Converted",
    "not_interested": "Closed - Not Converted",
    "wrong_number": "Closed - Not Converted",
    "do_not_call": "Closed - Not Converted",
}
"""Disposition -> Lead ``Status`` (the standard picklist values of a new org)."""

_DISPOSITIONS = {d.value for d in Disposition}
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class SalesforceSettings(BaseModel):
    """``[plugins.salesforce]``. Times are in seconds.

    Auth, one of (as simple-salesforce supports them):

    * ``session_id`` + ``instance_url`` (an OAuth access token you obtained elsewhere);
    * ``username`` + ``password`` + ``security_token`` (SOAP login on ``domain``), or
      ``username`` + ``password`` + ``consumer_key`` + ``consumer_secret`` (OAuth password flow);
    * ``consumer_key`` + ``consumer_secret`` with ``domain`` = your My Domain
      (``mycompany.my``): the OAuth client-credentials flow.

    ``ca_bundle`` is a PEM file of CAs to trust instead of the system's (relative to the
    deployment folder; it also disables ``REQUESTS_CA_BUNDLE`` / proxy variables for this
    client).
    """

    model_config = ConfigDict(extra="forbid")

    instance_url: str | None = None
    session_id: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: str | None = None
    consumer_secret: SecretStr | None = None
    domain: str = "login"
    api_version: str = "59.0"
    ca_bundle: Path | None = None

    lookup_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    objects: list[Literal["Lead", "Contact"]] = Field(
        default_factory=lambda: ["Lead", "Contact"], min_length=1
    )
    phone_fields: list[str] = Field(default_factory=lambda: ["Phone", "MobilePhone"], min_length=1)
    timezone_field: str | None = None
    several_matches: Literal["most_recently_modified", "oldest"] = "most_recently_modified"
    create_missing: bool = False
    lead_source: str | None = None
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    backoff_max_seconds: float = Field(default=10.0, ge=0, le=300)
    lead_statuses: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_LEAD_STATUSES))
    task_external_id_field: str | None = None
    """API name of a custom External ID text field on Activity (e.g. ``Voicekit_Call_Id__c``,
    unique): when set, the call's Task is upserted by the call id (``PATCH
    .../sobjects/Task/{field}/{call_id}``), which is idempotent; else it is created once and
    found again by ``CallObject``."""
    unconfirmed_wait_seconds: float = Field(default=120.0, ge=0, le=3600)
    """A create whose reply was lost (5xx, timeout) and whose record cannot be found is not
    created again until this long after the attempt (the transaction may still commit)."""

    @field_validator("instance_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must start with https:// (simple-salesforce only speaks HTTPS)")
        return value.rstrip("/") if value else value

    @field_validator("phone_fields")
    @classmethod
    def _fields_are_names(cls, value: list[str]) -> list[str]:
        for name in value:
            _check_field(name)
        return value

    @field_validator("task_external_id_field")
    @classmethod
    def _external_id_is_custom_field(cls, value: str | None) -> str | None:
        if value is not None and not (_FIELD.match(value) and value.endswith("__c")):
            raise ValueError(
                f"{value!r} is not a custom field API name (External ID fields end in __c)"
            )
        return value

    @field_validator("timezone_field")
    @classmethod
    def _tz_field_is_name(cls, value: str | None) -> str | None:
        return _check_field(value) if value else value

    @field_validator("lead_statuses")
    @classmethod
    def _keys_are_dispositions(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(n for n in set(value) if not Disposition.is_known(n))
        if unknown:
            raise ValueError(
                f"unknown disposition(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(_DISPOSITIONS))}"
            )
        return value

    @model_validator(mode="after")
    def _one_auth_mode(self) -> SalesforceSettings:
        self.auth_mode  # noqa: B018 - raises ValueError naming the missing settings
        return self

    @property
    def auth_mode(self) -> Literal["session", "password", "oauth_password", "client_credentials"]:
        """Which simple-salesforce login these settings select. Raises ValueError naming
        the settings to add when none is complete."""
        if self.session_id is not None:
            if not self.instance_url:
                raise ValueError(
                    "session_id needs instance_url (https://yourorg.my.salesforce.com)"
                )
            return "session"
        if self.username or self.password is not None:
            if not (self.username and self.password is not None):
                raise ValueError("username and password go together")
            if self.consumer_key and self.consumer_secret is not None:
                return "oauth_password"
            if self.security_token is None:
                raise ValueError(
                    "username/password login needs security_token (or consumer_key and "
                    "consumer_secret for the OAuth password flow)"
                )
            return "password"
        if self.consumer_key and self.consumer_secret is not None:
            if self.domain in ("login", "test"):
                raise ValueError(
                    "the client-credentials flow needs domain = your My Domain "
                    "(e.g. 'mycompany.my'), not 'login' or 'test'"
                )
            return "client_credentials"
        raise ValueError(
            "no Salesforce credentials: set session_id + instance_url, or username + password "
            "+ security_token, or consumer_key + consumer_secret (+ domain)"
        )


def _check_field(name: str) -> str:
    if not _FIELD.match(name):
        raise ValueError(f"{name!r} is not a Salesforce field API name")
    return name
