"""Leads: who the agent is calling (or who is calling in), and the CSV lead source.

Phones are stored in E.164 (``+14155550123``), parsed with ``phonenumbers``; timezones are
IANA names checked with ``zoneinfo``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator

from .errors import LeadFileError, Problem

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


def to_e164(raw: str, default_region: str = "US") -> str:
    """Normalise a phone number to E.164.

    ``raw`` may be E.164 or a national form (``(415) 555-0123``) read in
    ``default_region`` (ISO 3166 alpha-2). Raises ``ValueError`` if it is not a valid number.
    """
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number for its region")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_forms(e164: str) -> list[str]:
    """The ways people store ``e164`` in CRMs: E.164, national, international, digits only."""
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = "".join(ch for ch in national if ch.isdigit())
    forms = [e164, national, international, digits, e164.lstrip("+")]
    return list(dict.fromkeys(forms))


class Lead(BaseModel):
    """A person the agent talks to.

    ``phone`` is E.164; ``timezone`` an IANA name (``America/New_York``); ``extra`` holds
    any other fields (CSV columns, CRM properties) as strings. ``source`` says where the
    lead came from (``csv``, ``hubspot``...) and ``crm_id`` its id there.
    """

    model_config = ConfigDict(extra="forbid")

    first_name: str = ""
    last_name: str = ""
    company: str = ""
    job_title: str = ""
    phone: str
    email: EmailStr | None = None
    timezone: str | None = None
    owner: str = ""
    status: str = ""
    source: str = ""
    crm_id: str | None = None
    extra: dict[str, str] = Field(default_factory=dict)

    @field_validator("phone")
    @classmethod
    def _phone_is_e164(cls, value: str) -> str:
        return to_e164(value)

    @field_validator("timezone")
    @classmethod
    def _timezone_is_iana(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def zone(self) -> ZoneInfo | None:
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


def lead_from_row(row: dict[str, str], *, default_region: str = "US") -> Lead:
    """Build a Lead from one dialer-format CSV row. Raises ``ValueError`` with the reason."""
    values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
    if not values.get("phone"):
        raise ValueError("phone: missing")
    try:
        phone = to_e164(values["phone"], default_region)
    except ValueError as exc:
        raise ValueError(f"phone {values['phone']!r}: {exc}") from None
    first, last = split_name(values.get("prospect_name", ""))
    extra = {k: v for k, v in values.items() if k not in DIALER_COLUMNS and v}
    if values.get("resource_name"):
        extra["resource_name"] = values["resource_name"]
    try:
        return Lead(
            first_name=first,
            last_name=last,
            company=values.get("company_name", ""),
            job_title=values.get("job_title", ""),
            phone=phone,
            email=values.get("email") or None,
            timezone=values.get("timezone") or None,
            source="csv",
            extra=extra,
        )
    except ValidationError as exc:
        reasons = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            reasons.append(
                f"{field} {err.get('input')!r}: {err['msg'].removeprefix('Value error, ')}"
            )
        raise ValueError("; ".join(reasons)) from None


class LeadBook:
    """Leads read from a CSV file, indexed by E.164 phone; ``problems`` lists bad rows."""

    def __init__(self, leads: list[Lead], problems: list[Problem], path: Path):
        self.leads = leads
        self.problems = problems
        self.path = path
        self._by_phone = {lead.phone: lead for lead in leads}

    def get(self, phone: str) -> Lead | None:
        return self._by_phone.get(phone)

    def raise_for_problems(self) -> None:
        if self.problems:
            raise LeadFileError(self.problems)


def read_leads_csv(path: Path, *, default_region: str = "US") -> LeadBook:
    """Read a dialer-format CSV (``prospect_name,company_name,job_title,phone,email,
    timezone,resource_name`` plus any extra columns).

    Bad rows are kept out of the book and reported in ``LeadBook.problems`` with their
    row number (the file's line, as a spreadsheet numbers it: the header is row 1, blank
    lines count) and reason; duplicate phones are reported too. Raises
    :class:`LeadFileError` if the file is missing, is not UTF-8 text or has no ``phone``
    column.
    """
    shown = str(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise LeadFileError([Problem(shown, "", "", f"cannot read: {exc.strerror}")]) from None
    leads: list[Lead] = []
    problems: list[Problem] = []
    with handle:
        reader = csv.DictReader(handle)
        try:
            _read_rows(reader, shown, default_region, leads, problems)
        except UnicodeDecodeError:
            raise LeadFileError(
                [Problem(shown, "", "", "not UTF-8 text (save it as 'CSV UTF-8')")]
            ) from None
    return LeadBook(leads, problems, path)


def _read_rows(
    reader: csv.DictReader,
    shown: str,
    default_region: str,
    leads: list[Lead],
    problems: list[Problem],
) -> None:
    seen: dict[str, int] = {}
    if not reader.fieldnames or "phone" not in [f.strip() for f in reader.fieldnames]:
        raise LeadFileError(
            [Problem(shown, "header", ",".join(reader.fieldnames or []), "no 'phone' column")]
        )
    for row in reader:
        rownum = reader.line_num  # the physical line: DictReader skips blank lines
        try:
            lead = lead_from_row(row, default_region=default_region)
        except ValueError as exc:
            problems.append(Problem(shown, f"row {rownum}", "", str(exc)))
            continue
        if lead.phone in seen:
            problems.append(
                Problem(shown, f"row {rownum}", lead.phone, f"same phone as row {seen[lead.phone]}")
            )
            continue
        seen[lead.phone] = rownum
        leads.append(lead)


def lead_as_context(lead: Lead) -> dict[str, Any]:
    """The lead as a flat dict for prompts and reports (no empty values)."""
    data = lead.model_dump(exclude_none=True)
    data["name"] = lead.name
    return {k: v for k, v in data.items() if v not in ("", {}, None)}
