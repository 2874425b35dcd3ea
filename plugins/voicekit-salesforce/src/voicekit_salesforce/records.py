"""Finding, mapping and creating Salesforce Leads and Contacts (sync; run in a thread).

Endpoints: ``GET /services/data/vXX.X/query/?q=SOQL`` and
``POST /services/data/vXX.X/sobjects/Lead/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter, ValidationError

from voicekit_core import Lead, national_forms

from .client import client_for, forget_client, salesforce_error

if TYPE_CHECKING:
    from .settings import SalesforceSettings

MAX_MATCHES = 10
_EMAIL = TypeAdapter(Lead.model_fields["email"].annotation)
_COMMON = [
    "Id",
    "FirstName",
    "LastName",
    "Title",
    "Email",
    "OwnerId",
    "Owner.Name",
    "LastModifiedDate",
    "CreatedDate",
]
_OBJECT_FIELDS = {"Lead": ["Company", "Status"], "Contact": ["Account.Name"]}


@dataclass
class RecordMatch:
    """The record chosen for a phone (a Lead or Contact dict as the REST API returns it),
    how many records matched (``count``) and the rule that chose it."""

    record: dict[str, Any]
    count: int
    rule: str

    @property
    def id(self) -> str:
        return str(self.record["Id"])

    @property
    def object(self) -> str:
        return str(self.record.get("attributes", {}).get("type", ""))


def soql_for(object_name: str, phone: str, settings: SalesforceSettings) -> str:
    """The SOQL finding ``object_name`` records whose phone fields hold ``phone`` (E.164)
    in any stored form; values are quoted with ``simple_salesforce.format_soql``."""
    from simple_salesforce import format_soql

    fields = list(
        dict.fromkeys(
            _COMMON
            + _OBJECT_FIELDS[object_name]
            + settings.phone_fields
            + ([settings.timezone_field] if settings.timezone_field else [])
        )
    )
    phone_match = " OR ".join(f"{field} IN {{forms}}" for field in settings.phone_fields)
    where = f"({phone_match})"
    if object_name == "Lead":
        where = f"IsConverted = false AND {where}"
    template = (
        f"SELECT {', '.join(fields)} FROM {object_name} WHERE {where} "
        f"ORDER BY LastModifiedDate DESC LIMIT {MAX_MATCHES}"
    )
    return format_soql(template, forms=national_forms(phone))


def find_person(
    phone: str,
    settings: SalesforceSettings,
    *,
    base_dir: Path | None = None,
    timeout: float | None = None,
) -> RecordMatch | None:
    """The Lead or Contact (per ``objects``) whose phone fields hold ``phone``, or None.

    Several matches (across both objects): the most recently modified wins
    (``several_matches = "most_recently_modified"``, the default) or the oldest created
    (``"oldest"``); ties go to the order of ``objects`` (Lead first by default).
    ``timeout`` (seconds) bounds each HTTP request. Raises
    :class:`~voicekit_salesforce.client.SalesforceError` (``SalesforceAuthError`` on auth).
    """
    sf = client_for(settings, base_dir)
    records: list[dict[str, Any]] = []
    total = 0
    for object_name in settings.objects:
        try:
            reply = sf.query(soql_for(object_name, phone, settings), timeout=timeout)
        except Exception as exc:
            _forget_on_expiry(exc, settings, base_dir)
            raise salesforce_error(exc, settings, f"{object_name} query") from None
        records += reply.get("records", [])
        total += int(reply.get("totalSize", 0))
    if not records:
        return None
    order = {name: i for i, name in enumerate(settings.objects)}

    def position(r: dict[str, Any]) -> int:
        return order.get(r.get("attributes", {}).get("type", ""), 0)

    if settings.several_matches == "oldest":
        records.sort(key=lambda r: (_when(r.get("CreatedDate")), position(r)))
        rule = "oldest record"
    else:
        records.sort(key=lambda r: (-_when(r.get("LastModifiedDate")), position(r)))
        rule = "most recently modified record"
    return RecordMatch(records[0], max(total, len(records)), rule)


def lead_from_record(match: RecordMatch, phone: str, settings: SalesforceSettings) -> Lead:
    """Map a Lead/Contact record to a :class:`Lead` (``source="salesforce"``,
    ``crm_id`` = record Id, ``extra["salesforce_object"]`` = ``Lead``/``Contact``).

    ``company`` is ``Company`` (Lead) or ``Account.Name`` (Contact); ``status`` the Lead
    ``Status``; ``owner`` ``Owner.Name``; ``timezone`` the ``timezone_field`` if it holds
    an IANA name. An email voicekit cannot parse goes to ``extra["salesforce_email"]``.
    """
    r = match.record
    extra = {"salesforce_object": match.object}
    email = r.get("Email")
    if email:
        try:
            _EMAIL.validate_python(email)
        except ValidationError:
            extra["salesforce_email"] = str(email)
            email = None
    if r.get("OwnerId"):
        extra["salesforce_owner_id"] = str(r["OwnerId"])
    company = r.get("Company") or (r.get("Account") or {}).get("Name") or ""
    return Lead(
        first_name=r.get("FirstName") or "",
        last_name=r.get("LastName") or "",
        company=company,
        job_title=r.get("Title") or "",
        phone=phone,
        email=email or None,
        timezone=_iana(r.get(settings.timezone_field)) if settings.timezone_field else None,
        owner=(r.get("Owner") or {}).get("Name") or "",
        status=r.get("Status") or "",
        source="salesforce",
        crm_id=match.id,
        extra=extra,
    )


def create_lead(
    lead: dict[str, Any], phone: str, settings: SalesforceSettings, base_dir: Path | None = None
) -> str:
    """Create a Lead from a report's lead dict and ``phone`` (E.164); returns its Id.
    ``LastName`` and ``Company`` are required by Salesforce: missing values become
    ``"Unknown"`` / ``"[not provided]"``. ``POST /services/data/vXX.X/sobjects/Lead/``."""
    data = {
        "FirstName": lead.get("first_name") or None,
        "LastName": lead.get("last_name") or "Unknown",
        "Company": lead.get("company") or "[not provided]",
        "Title": lead.get("job_title") or None,
        "Email": lead.get("email") or None,
        "Phone": phone,
        "LeadSource": settings.lead_source,
    }
    data = {k: v for k, v in data.items() if v is not None}
    try:
        reply = client_for(settings, base_dir).Lead.create(data)
    except Exception as exc:
        _forget_on_expiry(exc, settings, base_dir)
        raise salesforce_error(exc, settings, "Lead create") from None
    return str(reply["id"])


def _forget_on_expiry(exc: Exception, settings: SalesforceSettings, base_dir: Path | None) -> None:
    from simple_salesforce.exceptions import SalesforceExpiredSession

    if isinstance(exc, SalesforceExpiredSession):
        forget_client(settings, base_dir)


def _when(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return 0.0


def _iana(value: Any) -> str | None:
    if not value:
        return None
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return str(value)
