"""A HubSpot contact list as a campaign's leads: ``--from-source hubspot:LIST_ID``.

``LIST_ID`` is the list's ILS id (the number in the list's URL in HubSpot; a list name
works too). The list is read page by page, never whole:

1. ``GET /crm/v3/lists/{listId}`` checks the list exists and holds contacts
   (``objectTypeId`` ``0-1``);
2. ``GET /crm/v3/lists/{listId}/memberships?limit=100&after=...`` pages through the
   member record ids (Lists API v3);
3. ``POST /crm/v3/objects/contacts/batch/read`` reads each page's contacts (at most 100
   ids per request) with the properties of :data:`~voicekit_hubspot.contacts.CONTACT_PROPERTIES`.

Each contact becomes a :class:`~voicekit_core.leads.Lead` (as in ``lookup_lead``: name,
company, title, email, ``hs_timezone``, owner, status; ``crm_id`` = contact id), its number
the first of ``phone_properties`` (``phone``, then ``mobilephone``) that is set, read with
the deployment's ``[leads]`` phone policy. A contact without a usable number, or one the
list names but batch read no longer finds (deleted, merged), is reported as a problem.

Scopes needed: ``crm.lists.read`` and ``crm.objects.contacts.read``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from voicekit_core.campaigns.lead_sources import LeadSourceError, SourceItem
from voicekit_core.leads import Lead
from voicekit_core.phones import InvalidPhone, PhonePolicy

from .client import HubSpotError, client_for, hubspot_error
from .contacts import CONTACT_PROPERTIES, lead_from_contact
from .settings import NAME

if TYPE_CHECKING:
    from voicekit_core.config import DeploymentConfig

    from .settings import HubSpotSettings

#: Members read per page (HubSpot allows 250 per memberships page, 100 per batch read).
PAGE_SIZE = 100
#: HubSpot's object type id of contacts.
CONTACTS_OBJECT_TYPE = "0-1"


def hubspot_list_source(config: DeploymentConfig, ref: str) -> Iterator[Lead | SourceItem]:
    """Stream the members of HubSpot list ``ref`` (an ILS list id, or a list name) as leads.

    Raises :class:`~voicekit_core.campaigns.lead_sources.LeadSourceError` naming the list
    when it is missing, holds no contacts, or HubSpot refuses a request (the message says
    which setting to check; never the token).
    """
    if not ref:
        raise LeadSourceError(
            "hubspot: say which list: --from-source hubspot:LIST_ID (the number in the "
            "list's URL in HubSpot, or the list's name)"
        )
    settings: HubSpotSettings = config.plugin_settings(NAME)
    policy = PhonePolicy.from_config(config)
    try:
        yield from _members(settings, policy, ref)
    except HubSpotError as exc:
        raise LeadSourceError(f"hubspot list {ref!r}: {exc}") from None


def _members(
    settings: HubSpotSettings, policy: PhonePolicy, ref: str
) -> Iterator[Lead | SourceItem]:
    client = client_for(settings)
    timeout = settings.request_timeout_seconds
    list_id = _list_id(client, settings, ref, timeout)
    after: str | None = None
    while True:
        try:
            page = client.crm.lists.memberships_api.get_page(
                list_id=list_id, after=after, limit=PAGE_SIZE, _request_timeout=timeout
            )
        except Exception as exc:
            raise hubspot_error(exc, settings, "list memberships read") from None
        ids = [str(member.record_id) for member in page.results or []]
        contacts = _contacts(client, settings, ids, timeout) if ids else {}
        for record_id in ids:
            contact = contacts.get(record_id)
            if contact is None:
                yield SourceItem(
                    f"contact {record_id}",
                    problem="in the list but not found by batch read (deleted or merged?)",
                )
            else:
                yield contact_item(contact, settings, policy)
        nxt = page.paging.next if page.paging is not None else None
        after = str(nxt.after) if nxt is not None and nxt.after else None
        if after is None:
            return


def _list_id(client: Any, settings: HubSpotSettings, ref: str, timeout: float) -> str:
    """The ILS id of list ``ref`` (an id, or else a contact list's name), checked to hold
    contacts."""
    lists = client.crm.lists.lists_api
    try:
        if ref.isdigit():
            found = lists.get_by_id(list_id=ref, _request_timeout=timeout)
        else:
            found = lists.get_by_name(
                list_name=ref, object_type_id=CONTACTS_OBJECT_TYPE, _request_timeout=timeout
            )
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise LeadSourceError(
                f"hubspot: no list {ref!r} (give the list id from its URL in HubSpot, or its "
                "exact name)"
            ) from None
        raise hubspot_error(exc, settings, "list read") from None
    info = found.list
    if str(info.object_type_id) != CONTACTS_OBJECT_TYPE:
        raise LeadSourceError(
            f"hubspot: list {ref!r} ({info.name}) holds objects of type {info.object_type_id}, "
            "not contacts (0-1)"
        )
    return str(info.list_id)


def _contacts(
    client: Any, settings: HubSpotSettings, ids: list[str], timeout: float
) -> dict[str, Any]:
    body = {
        "properties": CONTACT_PROPERTIES,
        "propertiesWithHistory": [],
        "inputs": [{"id": record_id} for record_id in ids],
    }
    try:
        reply = client.crm.contacts.batch_api.read(
            batch_read_input_simple_public_object_id=body, _request_timeout=timeout
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, "contacts batch read") from None
    return {str(contact.id): contact for contact in reply.results or []}


def contact_item(contact: Any, settings: HubSpotSettings, policy: PhonePolicy) -> Lead | SourceItem:
    """One contact as a Lead, or a :class:`SourceItem` saying why it is not one."""
    ref = f"contact {contact.id}"
    props = contact.properties or {}
    raw = next((str(props[p]) for p in settings.phone_properties if props.get(p)), "")
    if not raw:
        wanted = " or ".join(settings.phone_properties)
        return SourceItem(ref, problem=f"no {wanted}")
    try:
        phone = policy.parse(raw)
    except InvalidPhone as exc:
        return SourceItem(ref, problem=f"phone {raw[:60]!r}: {exc}", phone=raw[:60])
    try:
        lead = lead_from_contact(contact, phone.e164)
    except ValueError as exc:
        return SourceItem(ref, problem=str(exc).splitlines()[0], phone=phone.e164)
    if phone.extension:
        lead = lead.model_copy(update={"extension": phone.extension})
    return lead
