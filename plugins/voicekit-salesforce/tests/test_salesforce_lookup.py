"""lookup_lead against a fake Salesforce over HTTPS: hit, miss, several, timeout, bad session."""

from __future__ import annotations

import time

from salesforce_fake import SESSION, salesforce_config

from voicekit_core.builder import build_instructions, prepare_call

PHONE = "+14155550123"
FORMS = "('+14155550123','(415) 555-0123','+1 415-555-0123','4155550123','14155550123')"


def _deployment(voicekit, salesforce, session=SESSION, **settings):
    path = voicekit.write(salesforce_config(salesforce.url, salesforce.ca_file, **settings))
    return voicekit.load(path, environ={"SALESFORCE_SESSION_ID": session})


async def test_lead_hit_in_national_form_maps_fields_and_reaches_the_prompt(voicekit, salesforce):
    lead_id = salesforce.add(
        "Lead",
        {
            "FirstName": "Ada",
            "LastName": "King",
            "Company": "Analytical Engines Ltd",
            "Title": "Head of Operations",
            "Email": "ada.king@engines.example",
            "Phone": "(415) 555-0123",
            "MobilePhone": None,
            "Status": "Open - Not Contacted",
            "OwnerId": "005000000000001",
            "Owner": {"Name": "Alex Rivera"},
            "Timezone__c": "America/Chicago",
        },
    )
    call = await prepare_call(
        _deployment(voicekit, salesforce, timezone_field="Timezone__c"), PHONE
    )

    lead = call.lead
    assert lead.source == "salesforce", call.notes
    assert (lead.source, lead.crm_id, lead.extra["salesforce_object"]) == (
        "salesforce",
        lead_id,
        "Lead",
    )
    assert (lead.first_name, lead.last_name, lead.company) == (
        "Ada",
        "King",
        "Analytical Engines Ltd",
    )
    assert (lead.job_title, str(lead.email)) == ("Head of Operations", "ada.king@engines.example")
    assert (lead.status, lead.owner, lead.timezone) == (
        "Open - Not Contacted",
        "Alex Rivera",
        "America/Chicago",
    )
    lead_soql, contact_soql = salesforce.queries()
    assert lead_soql == (
        "SELECT Id, FirstName, LastName, Title, Email, OwnerId, Owner.Name, LastModifiedDate, "
        "CreatedDate, Company, Status, Phone, MobilePhone, Timezone__c FROM Lead WHERE "
        f"IsConverted = false AND (Phone IN {FORMS} OR MobilePhone IN {FORMS}) "
        "ORDER BY LastModifiedDate DESC LIMIT 10"
    )
    assert contact_soql.startswith(
        "SELECT Id, FirstName, LastName, Title, Email, OwnerId, Owner.Name, "
        "LastModifiedDate, CreatedDate, Account.Name, Phone, MobilePhone"
    )
    assert f"FROM Contact WHERE (Phone IN {FORMS} OR MobilePhone IN {FORMS})" in contact_soql
    prompt = build_instructions(call)
    assert "## CRM context (Salesforce)" in prompt
    assert (
        "- Lead status: Open - Not Contacted" in prompt and "- Record owner: Alex Rivera" in prompt
    )


async def test_contact_hit_on_mobile_uses_account_name(voicekit, salesforce):
    contact_id = salesforce.add(
        "Contact",
        {
            "FirstName": "Mo",
            "LastName": "Reyes",
            "MobilePhone": "4155550123",
            "Account": {"Name": "Acme"},
        },
    )
    call = await prepare_call(_deployment(voicekit, salesforce), PHONE)
    assert (call.lead.crm_id, call.lead.company, call.lead.status) == (contact_id, "Acme", "")
    assert "- Contact: Mo Reyes at Acme" in build_instructions(call)


async def test_miss_falls_back_to_the_csv_lead_and_says_so(voicekit, salesforce):
    salesforce.add("Lead", {"LastName": "Other", "Phone": "+14155550999"})
    call = await prepare_call(_deployment(voicekit, salesforce), PHONE)
    assert call.lead.source == "csv"
    assert "salesforce: no Lead or Contact has phone +14155550123" in call.notes


async def test_several_matches_pick_the_most_recently_modified_and_note_it(voicekit, salesforce):
    salesforce.add(
        "Lead", {"LastName": "Old", "Phone": PHONE}, modified="2023-01-01T00:00:00.000+0000"
    )
    newest = salesforce.add(
        "Contact",
        {"LastName": "New", "Phone": "4155550123"},
        modified="2024-06-01T10:00:00.000+0000",
    )
    salesforce.add(
        "Lead", {"LastName": "Mid", "MobilePhone": PHONE}, modified="2024-06-01T09:00:00.000+0000"
    )
    call = await prepare_call(_deployment(voicekit, salesforce), PHONE)
    assert (call.lead.last_name, call.lead.crm_id) == ("New", newest)
    assert (
        f"salesforce: 3 records have phone {PHONE}; using Contact {newest} "
        "(the most recently modified record)"
    ) in call.notes


async def test_timeout_continues_without_crm_context(voicekit, salesforce):
    salesforce.add("Lead", {"LastName": "Slow", "Phone": PHONE})
    salesforce.delay = 0.6
    deployment = _deployment(voicekit, salesforce, lookup_timeout_seconds=0.2)
    started = time.monotonic()
    call = await prepare_call(deployment, PHONE)
    assert time.monotonic() - started < 0.5
    assert call.lead.source == "csv"
    assert "salesforce: lookup timed out after 0.2 s; continuing without CRM context" in call.notes


async def test_invalid_session_is_a_clear_note_without_the_session(voicekit, salesforce):
    call = await prepare_call(_deployment(voicekit, salesforce, session="00Dexpired!bad"), PHONE)
    assert call.lead.source == "csv"
    [note] = [n for n in call.notes if n.startswith("salesforce:")]
    assert (
        "Salesforce Lead query failed: HTTP 401 INVALID_SESSION_ID: Session expired or invalid"
        in note
    )
    assert "check [plugins.salesforce] session_id / instance_url" in note
    assert "00Dexpired!bad" not in note
