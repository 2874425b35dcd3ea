"""lookup_lead against a fake HubSpot: hit, miss, several matches, timeout, bad token."""

from __future__ import annotations

import time

from hubspot_fake import TOKEN, hubspot_config

from voicekit_core.builder import build_instructions, prepare_call

PHONE = "+14155550123"


def _deployment(voicekit, hubspot, token: str = TOKEN, **settings):
    path = voicekit.write(hubspot_config(hubspot.url, **settings))
    return voicekit.load(path, environ={"HUBSPOT_ACCESS_TOKEN": token})


async def test_hit_in_national_form_maps_fields_and_reaches_the_prompt(voicekit, hubspot):
    contact_id = hubspot.add(
        "contacts",
        {
            "firstname": "Ada",
            "lastname": "King",
            "company": "Analytical Engines Ltd",
            "jobtitle": "Head of Operations",
            "email": "ada.king@engines.example",
            "phone": "(415) 555-0123",
            "hs_timezone": "america_slash_los_angeles",
            "hubspot_owner_id": "77",
            "lifecyclestage": "lead",
            "hs_lead_status": "OPEN",
        },
    )
    call = await prepare_call(_deployment(voicekit, hubspot), PHONE)

    lead = call.lead
    assert (lead.source, lead.crm_id) == ("hubspot", contact_id)
    assert (lead.first_name, lead.last_name, lead.company) == (
        "Ada",
        "King",
        "Analytical Engines Ltd",
    )
    assert (lead.job_title, str(lead.email)) == ("Head of Operations", "ada.king@engines.example")
    assert (lead.timezone, lead.owner, lead.status) == ("America/Los_Angeles", "77", "OPEN")
    assert lead.extra["hubspot_lifecyclestage"] == "lead"
    [search] = hubspot.sent("POST", "/crm/v3/objects/contacts/search")
    forms = ["+14155550123", "(415) 555-0123", "+1 415-555-0123", "4155550123", "14155550123"]
    assert search["filterGroups"] == [
        {"filters": [{"propertyName": "phone", "operator": "IN", "values": forms}]},
        {"filters": [{"propertyName": "mobilephone", "operator": "IN", "values": forms}]},
    ]
    assert search["limit"] == 10
    prompt = build_instructions(call)
    assert "## CRM context (HubSpot)" in prompt
    assert "Lifecycle stage: lead" in prompt and "Lead status: OPEN" in prompt


async def test_mobilephone_match(voicekit, hubspot):
    hubspot.add("contacts", {"firstname": "Mo", "mobilephone": "4155550123"})
    call = await prepare_call(_deployment(voicekit, hubspot), PHONE)
    assert (call.lead.source, call.lead.first_name) == ("hubspot", "Mo")


async def test_miss_falls_back_to_the_csv_lead_and_says_so(voicekit, hubspot):
    hubspot.add("contacts", {"firstname": "Other", "phone": "+14155550999"})
    call = await prepare_call(_deployment(voicekit, hubspot), PHONE)
    assert call.lead.source == "csv"
    assert "hubspot: no contact has phone +14155550123" in call.notes
    assert "CRM context" not in build_instructions(call)


async def test_several_matches_pick_the_most_recently_updated_and_note_it(voicekit, hubspot):
    hubspot.add("contacts", {"firstname": "Old", "phone": PHONE}, updated="2023-05-01T00:00:00Z")
    newest = hubspot.add(
        "contacts", {"firstname": "New", "phone": "4155550123"}, updated="2024-06-01T00:00:00Z"
    )
    hubspot.add(
        "contacts", {"firstname": "Mid", "mobilephone": PHONE}, updated="2024-01-01T00:00:00Z"
    )
    call = await prepare_call(_deployment(voicekit, hubspot), PHONE)
    assert (call.lead.first_name, call.lead.crm_id) == ("New", newest)
    assert (
        f"hubspot: 3 contacts have phone {PHONE}; using contact {newest} "
        "(the most recently updated contact)"
    ) in call.notes


async def test_several_matches_oldest_rule(voicekit, hubspot):
    first = hubspot.add(
        "contacts",
        {"firstname": "First", "phone": PHONE},
        created="2020-01-01T00:00:00Z",
        updated="2020-01-01T00:00:00Z",
    )
    hubspot.add(
        "contacts",
        {"firstname": "Later", "phone": PHONE},
        created="2022-01-01T00:00:00Z",
        updated="2024-01-01T00:00:00Z",
    )
    call = await prepare_call(_deployment(voicekit, hubspot, several_matches="oldest"), PHONE)
    assert call.lead.crm_id == first


async def test_timeout_continues_without_crm_context(voicekit, hubspot):
    hubspot.add("contacts", {"firstname": "Slow", "phone": PHONE})
    hubspot.delay = 0.6
    deployment = _deployment(voicekit, hubspot, lookup_timeout_seconds=0.2)
    started = time.monotonic()
    call = await prepare_call(deployment, PHONE)
    assert time.monotonic() - started < 0.5
    assert call.lead.source == "csv"
    assert "hubspot: lookup timed out after 0.2 s; continuing without CRM context" in call.notes


async def test_invalid_token_is_a_clear_note_without_the_token(voicekit, hubspot):
    call = await prepare_call(_deployment(voicekit, hubspot, token="pat-revoked-token"), PHONE)
    assert call.lead.source == "csv"
    [note] = [n for n in call.notes if n.startswith("hubspot:")]
    assert "HTTP 401 INVALID_AUTHENTICATION" in note
    assert "[plugins.hubspot] access_token" in note
    assert "pat-revoked-token" not in note
