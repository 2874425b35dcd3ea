"""``[plugins.webhook]``: where finished calls are delivered, and how hard to try.

::

    [plugins.webhook]
    payload = "report"                  # or "extracted": only report.extracted
    file = "tickets/{call_id}.json"     # optional; relative to the deployment folder

    [[plugins.webhook.targets]]
    name = "crm"                        # optional; labels errors, keys the delivery state
    url = "https://crm.example.com/hooks/voicekit"
    secret = "${VOICEKIT_WEBHOOK_SECRET}"   # HMAC-SHA256 signing key (optional)
    payload = "extracted"               # optional; default: the table's `payload`
    headers = { Authorization = "Bearer ${CRM_TOKEN}" }
    timeout_seconds = 10

At least one target or a ``file`` is required. Every value is checked when the deployment
loads (``voicekit check``): URLs must be ``https://`` (``http://`` only for localhost,
127.0.0.1 and ::1 unless ``allow_plain_http``), target names unique, headers free of
the ones the plugin sets itself. The signing secret and the values of credential-looking
headers (``Authorization``, ``*token*``, ``*key*``, ``Cookie``...) are registered with
:mod:`voicekit_core.redaction`, so no log line, error or journal row can show them.
"""

from __future__ import annotations

import hashlib
import re
import string
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from voicekit_core.redaction import redact, register_secret

NAME = "webhook"

Payload = Literal["report", "extracted"]
"""``report``: the whole call report as JSON; ``extracted``: only ``report.extracted``."""

#: Headers the plugin sets on every request; a target may not override them.
RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "idempotency-key",
        "x-voicekit-signature",
        "x-voicekit-timestamp",
        "x-voicekit-call-id",
        "x-voicekit-payload",
    }
)
_CREDENTIAL_HEADER = re.compile(r"auth|token|key|secret|cookie|signature|password", re.I)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_FILE_FIELDS = {"call_id", "date"}


class Target(BaseModel):
    """One receiving URL (``[[plugins.webhook.targets]]``). Times are in seconds."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="https:// URL the JSON body is POSTed to")
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="a label for errors and results; the key of this target's delivery state",
    )
    secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 signing key (${VAR}); no signature without it"
    )
    payload: Payload | None = Field(
        default=None, description="report | extracted; default: [plugins.webhook] payload"
    )
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="per request")
    allow_plain_http: bool = Field(
        default=False, description="allow http:// to a host other than localhost"
    )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            raise ValueError("is not a URL") from None
        if parts.scheme not in ("https", "http") or not host:
            raise ValueError("must be an https:// URL, e.g. https://crm.example.com/hooks/voicekit")
        return value

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, value: dict[str, str]) -> dict[str, str]:
        for header, text in value.items():
            if not _HEADER_NAME.match(header):
                raise ValueError(f"{header!r} is not a valid header name")
            if header.lower() in RESERVED_HEADERS:
                raise ValueError(
                    f"{header} is set by the plugin itself; remove it from headers "
                    f"(reserved: {', '.join(sorted(RESERVED_HEADERS))})"
                )
            if "\r" in text or "\n" in text:
                raise ValueError(f"the value of header {header} contains a line break")
        return value

    @model_validator(mode="after")
    def _plain_http_and_secrets(self) -> Target:
        parts = urlsplit(self.url)
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK and not self.allow_plain_http:
            raise ValueError(
                f"url {display_url(self.url)} is plain http: the body holds phone numbers "
                "and transcripts, so use https:// (http:// is accepted for localhost, "
                "127.0.0.1 and ::1, or with allow_plain_http = true)"
            )
        if self.secret is not None:
            register_secret(self.secret.get_secret_value())
        for header, text in self.headers.items():
            if _CREDENTIAL_HEADER.search(header):
                register_secret(text)
                # "Bearer xyz": the token alone must not show either
                register_secret(text.split(" ", 1)[-1])
        if parts.password:
            register_secret(parts.password)
        return self

    @property
    def key(self) -> str:
        """Where this target's outcome is kept in the delivery state: its ``name``, else
        ``url-`` and 12 hex digits of the URL's SHA-256 (so a URL held in ``${VAR}`` never
        lands in the journal, and a changed URL counts as a new target)."""
        if self.name:
            return self.name
        return "url-" + hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:12]

    @property
    def label(self) -> str:
        """``name (https://host/path)`` for messages: never a query string, a password,
        or the path of a URL that holds a registered secret."""
        shown = display_url(self.url)
        return f"{self.name} ({shown})" if self.name else shown


class WebhookSettings(BaseModel):
    """``[plugins.webhook]``: at least one of ``targets`` and ``file``.

    Retries within one delivery (a 5xx, a 429, a timeout or a dropped connection): up to
    ``max_attempts`` requests per target, waiting ``backoff_seconds`` doubling up to
    ``backoff_max_seconds``, or what a ``Retry-After`` header asks when that is at most
    ``retry_after_max_seconds``. Past that the delivery fails and the journal keeps it
    for ``voicekit journal retry``.
    """

    model_config = ConfigDict(extra="forbid")

    targets: list[Target] = Field(default_factory=list)
    file: str | None = Field(
        default=None,
        description="a file per call, e.g. tickets/{call_id}.json (relative to the deployment)",
    )
    payload: Payload = Field(default="report", description="report | extracted")
    skip_empty: bool = Field(
        default=True,
        description='with payload "extracted": send nothing for a call that extracted nothing',
    )
    max_attempts: int = Field(default=4, ge=1, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    backoff_max_seconds: float = Field(default=8.0, ge=0, le=300)
    retry_after_max_seconds: float = Field(default=30.0, ge=0, le=600)

    @field_validator("file")
    @classmethod
    def _valid_file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid file template ({exc})") from None
        unknown = sorted(fields - _FILE_FIELDS)
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{unknown[0]}}}; use {{call_id}} (and optionally {{date}})"
            )
        if "call_id" not in fields:
            raise ValueError(
                "must contain {call_id} so each call gets its own file, e.g. tickets/{call_id}.json"
            )
        return value

    @model_validator(mode="after")
    def _something_to_deliver(self) -> WebhookSettings:
        if not self.targets and not self.file:
            raise ValueError(
                'nothing to deliver to: add a [[plugins.webhook.targets]] table with a url, or file = "tickets/{call_id}.json"'
            )
        seen: dict[str, int] = {}
        for index, target in enumerate(self.targets):
            if target.key in seen:
                raise ValueError(
                    f"targets[{seen[target.key]}] and targets[{index}] are the same target "
                    f"({target.label}); give each a different url or name"
                )
            seen[target.key] = index
        return self

    def payload_of(self, target: Target) -> Payload:
        """The payload ``target`` receives (its own, else the table's)."""
        return target.payload or self.payload


def display_url(url: str) -> str:
    """``https://host[:port]/path`` of ``url`` (no credentials, query or fragment); only
    ``https://host/…`` when the URL holds a registered secret (e.g. came from ``${VAR}``)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"
    if redact(url) != url:
        return f"{parts.scheme}://{host}{port}/…"
    return f"{parts.scheme}://{host}{port}{parts.path or '/'}"
