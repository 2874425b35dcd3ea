"""A Salesforce Campaign's members as a campaign's leads: ``--from-source salesforce:REF``.

``REF`` is the Campaign's Id (``701...``, 15 or 18 characters) or its exact name. Two SOQL
queries (``GET /services/data/vXX.X/query/``), the second paged lazily through
``nextRecordsUrl`` (2,000 records a page), so the member list is never held whole:

1. ``SELECT Id, Name FROM Campaign WHERE Id = '...'`` (or ``Name = '...'``);
2. ``SELECT Id, Status, LeadId, ContactId, Lead.<fields>, Contact.<fields> FROM
   CampaignMember WHERE CampaignId = '...' ORDER BY Id``.

A member that is a Contact (a converted Lead has both ids: the Contact wins) or a Lead
becomes a :class:`~voicekit_core.leads.Lead` as ``lookup_lead`` maps it (name, company or
account, title, email, owner, status, ``timezone_field``; ``crm_id`` = the record Id;
``extra["salesforce_object"]``, ``extra["salesforce_member_status"]``), its number the first
of ``phone_fields`` that is set, read with the deployment's ``[leads]`` phone policy. A
record with **Do Not Call** checked (the standard ``DoNotCall`` field) is imported as
*skipped* with that reason; a member without a usable number is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from voicekit_core.campaigns.lead_sources import LeadSourceError, SourceItem
from voicekit_core.leads import Lead
from voicekit_core.phones import InvalidPhone, PhonePolicy

from .client import SalesforceError, client_for, salesforce_error
from .records import RecordMatch, lead_from_record
from .settings import NAME

if TYPE_CHECKING:
    from voicekit_core.config import DeploymentConfig

    from .settings import SalesforceSettings

_CAMPAIGN_ID = re.compile(r"701[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?")
_PERSON_FIELDS = ["Id", "FirstName", "LastName", "Title", "Email", "DoNotCall", "Owner.Name"]
_OBJECT_FIELDS = {"Lead": ["Company", "Status"], "Contact": ["Account.Name"]}


def member_soql(campaign_id: str, settings: SalesforceSettings) -> str:
    """The CampaignMember query for ``campaign_id``, with the Lead and Contact fields the
    mapping reads (``phone_fields`` and ``timezone_field`` included), quoted with
    ``format_soql``."""
    from simple_salesforce import format_soql

    fields = ["Id", "Status", "LeadId", "ContactId"]
    for kind in ("Lead", "Contact"):
        wanted = _PERSON_FIELDS + _OBJECT_FIELDS[kind] + settings.phone_fields
        if settings.timezone_field:
            wanted.append(settings.timezone_field)
        fields += [f"{kind}.{field}" for field in dict.fromkeys(wanted)]
    return format_soql(
        f"SELECT {', '.join(fields)} FROM CampaignMember WHERE CampaignId = {{}} ORDER BY Id",
        campaign_id,
    )


def salesforce_campaign_source(config: DeploymentConfig, ref: str) -> Iterator[Lead | SourceItem]:
    """Stream the members of Salesforce Campaign ``ref`` (an Id or an exact name) as leads.

    Raises :class:`~voicekit_core.campaigns.lead_sources.LeadSourceError` when the
    Campaign is missing or ambiguous, or Salesforce refuses a request (the message names
    the settings to check; never a secret).
    """
    if not ref:
        raise LeadSourceError(
            "salesforce: say which Campaign: --from-source salesforce:CAMPAIGN_ID (701..., "
            "or the Campaign's exact name)"
        )
    settings: SalesforceSettings = config.plugin_settings(NAME)
    policy = PhonePolicy.from_config(config)
    try:
        yield from _members(settings, config, policy, ref)
    except SalesforceError as exc:
        raise LeadSourceError(f"salesforce Campaign {ref!r}: {exc}") from None


def _members(
    settings: SalesforceSettings, config: DeploymentConfig, policy: PhonePolicy, ref: str
) -> Iterator[Lead | SourceItem]:
    sf = client_for(settings, config.base_dir)
    timeout = settings.request_timeout_seconds
    campaign_id = _campaign_id(sf, settings, ref, timeout)
    try:
        records = sf.query_all_iter(member_soql(campaign_id, settings), timeout=timeout)
        for record in records:
            yield member_item(record, settings, policy)
    except LeadSourceError:
        raise
    except Exception as exc:
        raise salesforce_error(exc, settings, "CampaignMember query") from None


def _campaign_id(sf: Any, settings: SalesforceSettings, ref: str, timeout: float) -> str:
    from simple_salesforce import format_soql

    field = "Id" if _CAMPAIGN_ID.fullmatch(ref) else "Name"
    soql = format_soql(f"SELECT Id, Name FROM Campaign WHERE {field} = {{}} LIMIT 2", ref)
    try:
        rows = sf.query(soql, timeout=timeout).get("records", [])
    except Exception as exc:
        raise salesforce_error(exc, settings, "Campaign query") from None
    if not rows:
        raise LeadSourceError(f"salesforce: no Campaign with {field} {ref!r}")
    if len(rows) > 1:
        ids = ", ".join(str(r.get("Id")) for r in rows)
        raise LeadSourceError(
            f"salesforce: several Campaigns are named {ref!r} ({ids}...): give the Id"
        )
    return str(rows[0]["Id"])


def member_item(
    record: dict[str, Any], settings: SalesforceSettings, policy: PhonePolicy
) -> Lead | SourceItem:
    """One CampaignMember as a Lead (or a skipped Lead when Do Not Call is set), or a
    :class:`SourceItem` saying why it is not one."""
    kind = "Contact" if record.get("ContactId") and record.get("Contact") else "Lead"
    person = record.get(kind) or {}
    person_id = person.get("Id") or record.get(f"{kind}Id") or "?"
    ref = f"{kind} {person_id}"
    if not person:
        return SourceItem(f"CampaignMember {record.get('Id')}", problem="no Lead or Contact")
    raw = next((str(person[f]) for f in settings.phone_fields if person.get(f)), "")
    if not raw:
        return SourceItem(ref, problem=f"no {' or '.join(settings.phone_fields)}")
    try:
        phone = policy.parse(raw)
    except InvalidPhone as exc:
        return SourceItem(ref, problem=f"phone {raw[:60]!r}: {exc}", phone=raw[:60])
    person = {"attributes": {"type": kind}, **person}
    try:
        lead = lead_from_record(RecordMatch(person, 1, "campaign member"), phone.e164, settings)
    except ValueError as exc:
        return SourceItem(ref, problem=str(exc).splitlines()[0], phone=phone.e164)
    extra = dict(lead.extra)
    if record.get("Status"):
        extra["salesforce_member_status"] = str(record["Status"])
    lead = lead.model_copy(update={"extension": phone.extension, "extra": extra})
    if person.get("DoNotCall"):
        return SourceItem(ref, lead=lead, opt_out=f"Do Not Call is set on the Salesforce {kind}")
    return lead
