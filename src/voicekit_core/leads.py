"""Leads: who the agent is calling (or who is calling in), and how a CSV row becomes one.

Phones are stored in E.164 (``+14155550123``) and read with :mod:`voicekit_core.phones`
(extensions and vanity letters refused unless the deployment allows them); timezones are
IANA names checked with ``zoneinfo``. Reading the CSV file itself is
:mod:`voicekit_core.lead_csv` (``LeadBook``, ``read_leads_csv``; still importable from here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic import validate_email as pydantic_validate_email

from .phones import MAX_EXTENSION_DIGITS, PhonePolicy, national_forms, to_e164

if TYPE_CHECKING:
    from .lead_csv import LeadBook, read_leads_csv

__all__ = [
    "DIALER_COLUMNS",
    "Lead",
    "LeadBook",
    "lead_as_context",
    "lead_from_row",
    "national_forms",
    "read_leads_csv",
    "split_name",
    "to_e164",
]

#: Columns of the dialer export format; any other column lands in ``Lead.extra``.
DIALER_COLUMNS = (
    "prospect_name",
    "company_name",
    "job_title",
    "phone",
    "email",
    "timezone",
    "resource_name",
)

# Validation context meaning "phone and extension come from parse_phone already".
_PHONE_CHECKED = "voicekit_phone_checked"
_EXTENSION = re.compile(rf"[0-9]{{1,{MAX_EXTENSION_DIGITS}}}")
# An ASCII dot-atom local part: email_validator accepts it unchanged (see _fast_email).
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def __getattr__(name: str) -> Any:
    # LeadBook and read_leads_csv live in lead_csv (which imports this module).
    if name in ("LeadBook", "read_leads_csv"):
        from . import lead_csv

        return getattr(lead_csv, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str | None:
    """The normalised domain of ``a@domain`` as pydantic's ``EmailStr`` returns it, or
    None if that address is invalid. Cached: leads share few company domains."""
    try:
        return pydantic_validate_email(f"a@{domain}")[1].rpartition("@")[2]
    except ValueError:
        return None


def _fast_email(value: str) -> str | None:
    """What ``EmailStr`` returns for ``value``, for the common shape (ASCII dot-atom
    local part, ASCII domain), or None to let ``EmailStr`` decide. The domain (most of
    the cost) is checked once per distinct domain; the local part of a dot-atom is kept
    unchanged by email_validator; the lengths are its limits (64 and 254)."""
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or not domain.isascii() or not _DOT_ATOM.fullmatch(local):
        return None
    normalized = _email_domain(domain)
    if normalized is None or len(local) + 1 + len(normalized) > 254:
        return None
    return f"{local}@{normalized}"


class Lead(BaseModel):
    """A person the agent talks to.

    ``phone`` is E.164 (given in another form it is read as a US number; extensions and
    vanity letters are refused); ``extension`` the digits to send as DTMF once the
    callee answers (``""`` for none; only from deployments with ``[leads]
    allow_extensions = true``); ``timezone`` an IANA name (``America/New_York``);
    ``extra`` holds any other fields (CSV columns, CRM properties) as strings. ``source``
    says where the lead came from (``csv``, ``hubspot``...) and ``crm_id`` its id there.
    """

    model_config = ConfigDict(extra="forbid")

    first_name: str = ""
    """Given name (``prospect_name`` in the CSV is split into first and last)."""
    last_name: str = ""
    """Family name."""
    company: str = ""
    """Company name (``company_name`` in the CSV)."""
    job_title: str = ""
    """Job title."""
    phone: str
    """E.164 (``+14155550123``)."""
    extension: str = ""
    """Digits sent as DTMF once the callee answers; ``""`` for none."""
    email: EmailStr | None = None
    """Email address, validated."""
    timezone: str | None = None
    """IANA timezone name (``America/New_York``); calling hours are checked in it."""
    owner: str = ""
    """The rep who owns the lead (``resource_name`` in the CSV, a CRM owner)."""
    status: str = ""
    """The lead's status in its source (a CRM lead status)."""
    source: str = ""
    """Where the lead came from: ``csv``, ``hubspot``, ``salesforce``, ``unknown``..."""
    crm_id: str | None = None
    """The record's id in its source CRM."""
    extra: dict[str, str] = Field(default_factory=dict)
    """Any other CSV column or CRM property, as text, by column or property name."""

    @field_validator("phone")
    @classmethod
    def _phone_is_e164(cls, value: str, info: ValidationInfo) -> str:
        if info.context and info.context.get(_PHONE_CHECKED):
            return value  # lead_from_row read it with the deployment's policy
        return to_e164(value)

    @field_validator("extension")
    @classmethod
    def _extension_is_digits(cls, value: str) -> str:
        if value and not _EXTENSION.fullmatch(value):
            raise ValueError(f"an extension is 1 to {MAX_EXTENSION_DIGITS} digits")
        return value

    @field_validator("email", mode="wrap")
    @classmethod
    def _email_fast(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, str):
            fast = _fast_email(value)
            if fast is not None:
                return fast
        return handler(value)

    @field_validator("timezone")
    @classmethod
    def _timezone_is_iana(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {_shown(value)}") from None
        return value

    @property
    def name(self) -> str:
        """``first_name last_name`` (either may be empty)."""
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def zone(self) -> ZoneInfo | None:
        """``timezone`` as a ``ZoneInfo`` (None when unknown)."""
        return ZoneInfo(self.timezone) if self.timezone else None

    @classmethod
    def unknown(cls, phone: str) -> Lead:
        """A lead for a number no source knows (inbound calls from strangers)."""
        return cls(phone=phone, source="unknown")


def split_name(full: str) -> tuple[str, str]:
    """``"Ada King Lovelace"`` -> ``("Ada", "King Lovelace")``; empty text -> two empty strings."""
    parts = full.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def lead_from_row(
    row: Mapping[str | None, str | None],
    *,
    default_region: str = "US",
    policy: PhonePolicy | None = None,
) -> Lead:
    """Build a Lead from one dialer-format CSV row (column name -> text).

    The phone is read with ``policy`` (default: ``default_region``, no extensions, no
    vanity letters). Raises ``ValueError`` with a one-line reason naming the field and
    its value (shortened): ``"phone '12345': not a valid phone number for its region"``.
    """
    policy = policy or PhonePolicy(default_region=default_region)
    values = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    raw_phone = values.get("phone", "")
    if not raw_phone:
        raise ValueError("phone: missing")
    try:
        phone = policy.parse(raw_phone)
    except ValueError as exc:
        raise ValueError(f"phone {_shown(raw_phone)}: {exc}") from None
    first, last = split_name(values.get("prospect_name", ""))
    extra = {k: v for k, v in values.items() if k not in DIALER_COLUMNS and v}
    if values.get("resource_name"):
        extra["resource_name"] = values["resource_name"]
    data = {
        "first_name": first,
        "last_name": last,
        "company": values.get("company_name", ""),
        "job_title": values.get("job_title", ""),
        "phone": phone.e164,
        "extension": phone.extension,
        "email": values.get("email") or None,
        "timezone": values.get("timezone") or None,
        "source": "csv",
        "extra": extra,
    }
    try:
        return Lead.model_validate(data, context={_PHONE_CHECKED: True})
    except ValidationError as exc:
        reasons = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            value = err.get("input")
            shown = _shown(value) if isinstance(value, str) else repr(value)
            reasons.append(f"{field} {shown}: {err['msg'].removeprefix('Value error, ')}")
        raise ValueError("; ".join(reasons)) from None


def _shown(value: str, limit: int = 60) -> str:
    """``repr`` of a cell for messages, cut to ``limit`` characters."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value):,} characters)"


def lead_as_context(lead: Lead) -> dict[str, Any]:
    """The lead as a flat dict for prompts and reports (no empty values)."""
    data = lead.model_dump(exclude_none=True)
    data["name"] = lead.name
    return {k: v for k, v in data.items() if v not in ("", {}, None)}
