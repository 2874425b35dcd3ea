"""Finding and mapping HubSpot contacts (sync; run in a worker thread).

Endpoint: ``POST /crm/v3/objects/contacts/search``. Creating a contact (``create_missing``)
is a delivery step: see :mod:`voicekit_hubspot.engagements`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import TypeAdapter, ValidationError

from voicekit_core import Lead, national_forms

from .client import client_for, hubspot_error

if TYPE_CHECKING:
    from .settings import HubSpotSettings

#: Contact properties read on lookup.
CONTACT_PROPERTIES = [
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "email",
    "phone",
    "mobilephone",
    "hs_timezone",
    "hubspot_owner_id",
    "lifecyclestage",
    "hs_lead_status",
    "lastmodifieddate",
    "createdate",
]
MAX_MATCHES = 10
_EMAIL = TypeAdapter(Lead.model_fields["email"].annotation)


@dataclass
class ContactMatch:
    """The contact chosen for a phone, and how many contacts matched (``count``)."""

    contact: Any  # hubspot SimplePublicObject
    count: int
    rule: str

    @property
    def id(self) -> str:
        return str(self.contact.id)


def search_request(phone: str, settings: HubSpotSettings) -> dict[str, Any]:
    """The search body for ``phone`` (E.164): one filter group per phone property, each
    ``IN`` the number's stored forms (E.164, national, international, digits)."""
    forms = national_forms(phone)
    return {
        "filterGroups": [
            {"filters": [{"propertyName": prop, "operator": "IN", "values": forms}]}
            for prop in settings.phone_properties
        ],
        "properties": CONTACT_PROPERTIES,
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}],
        "limit": MAX_MATCHES,
    }


def find_contact(
    phone: str, settings: HubSpotSettings, *, timeout: float | None = None
) -> ContactMatch | None:
    """The contact whose ``phone``/``mobilephone`` holds ``phone`` (E.164), or None.

    Several matches: the most recently updated wins (``several_matches =
    "most_recently_updated"``, the default) or the oldest (``"oldest"``); ties go to the
    lower id. ``timeout`` (seconds) bounds each HTTP request.
    Raises :class:`~voicekit_hubspot.client.HubSpotError` (auth: ``HubSpotAuthError``).
    """
    client = client_for(settings)
    options = {"_request_timeout": timeout} if timeout else {}
    try:
        page = client.crm.contacts.search_api.do_search(
            public_object_search_request=search_request(phone, settings), **options
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, "contact search") from None
    results = list(page.results or [])
    if not results:
        return None
    if settings.several_matches == "oldest":
        results.sort(key=lambda c: (_stamp(c.created_at), _id_key(c.id)))
        rule = "oldest contact"
    else:
        results.sort(key=lambda c: (-_stamp(c.updated_at), _id_key(c.id)))
        rule = "most recently updated contact"
    return ContactMatch(results[0], max(len(results), int(page.total or 0)), rule)


def contact_properties(lead: dict[str, Any], phone: str) -> dict[str, str]:
    """The ``POST /crm/v3/objects/contacts`` properties for a report's lead dict
    (``first_name``, ``company``...) and ``phone`` (E.164); empty values are left out."""
    properties = {
        "firstname": lead.get("first_name", ""),
        "lastname": lead.get("last_name", ""),
        "company": lead.get("company", ""),
        "jobtitle": lead.get("job_title", ""),
        "email": lead.get("email", ""),
        "phone": phone,
    }
    return {k: str(v) for k, v in properties.items() if v}


def lead_from_contact(contact: Any, phone: str) -> Lead:
    """Map a contact to a :class:`Lead` (``source="hubspot"``, ``crm_id`` = contact id).

    ``status`` is ``hs_lead_status`` or else ``lifecyclestage``; ``owner`` the
    ``hubspot_owner_id``; ``timezone`` comes from ``hs_timezone`` (``america_slash_new_york``
    -> ``America/New_York``). An email HubSpot holds but voicekit cannot parse goes to
    ``extra["hubspot_email"]`` instead of failing the lookup.
    """
    props = {k: v for k, v in (contact.properties or {}).items() if v not in (None, "")}
    extra = {
        f"hubspot_{key}": str(props[key])
        for key in ("lifecyclestage", "hs_lead_status", "hubspot_owner_id")
        if key in props
    }
    email = props.get("email")
    if email:
        try:
            _EMAIL.validate_python(email)
        except ValidationError:
            extra["hubspot_email"] = str(email)
            email = None
    return Lead(
        first_name=props.get("firstname", ""),
        last_name=props.get("lastname", ""),
        company=props.get("company", ""),
        job_title=props.get("jobtitle", ""),
        phone=phone,
        email=email or None,
        timezone=iana_timezone(props.get("hs_timezone")),
        owner=str(props.get("hubspot_owner_id", "")),
        status=str(props.get("hs_lead_status") or props.get("lifecyclestage") or ""),
        source="hubspot",
        crm_id=str(contact.id),
        extra=extra,
    )


def iana_timezone(value: str | None) -> str | None:
    """HubSpot's ``hs_timezone`` (``america_slash_new_york``) as an IANA name, or None."""
    if not value:
        return None
    parts = value.split("_slash_")
    name = "/".join("_".join(w[:1].upper() + w[1:] for w in p.split("_")) for p in parts)
    for candidate in (name, value):
        try:
            ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return candidate
    return None


def _stamp(value: Any) -> float:
    return value.timestamp() if value is not None else 0.0


def _id_key(value: Any) -> tuple[int, str]:
    text = str(value)
    return (int(text), "") if re.fullmatch(r"\d+", text) else (0, text)
