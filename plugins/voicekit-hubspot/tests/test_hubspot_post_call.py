"""post_call against a fake HubSpot: exact bodies, 429 retry, failure + journal retry,
re-delivery without duplicates, bad token."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from hubspot_fake import TOKEN, hubspot_config

from voicekit_core import CallReport, Disposition
from voicekit_core.cli import cli
from voicekit_core.delivery import deliver_all, retry_undelivered

START = datetime(2025, 3, 4, 15, 0, 0, tzinfo=timezone.utc)
CALL_ID = "20250304T150000-abc123"


def make_report(**changes) -> CallReport:
    data = dict(
        call_id=CALL_ID,
        agent_name="test-agent",
        direction="outbound",
        mode="simulated",
        phone="+14155550123",
        lead={
            "name": "Ada Lovelace",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Analytical Engines",
            "phone": "+14155550123",
            "source": "hubspot",
            "crm_id": "501",
        },
        started_at=START,
        ended_at=START + timedelta(seconds=93.4),
        duration_seconds=93.4,
        transcript=[
            {"role": "assistant", "text": "Hi Ada, this is Sofía from TDX.", "at": START},
            {"role": "user", "text": "We have $60k & want it <soon>.", "at": START},
        ],
        disposition=Disposition.QUALIFIED,
        disposition_reason="all four BANT criteria met",
        qualification={
            "status": "qualified",
            "budget": "$60k",
            "authority": "decision_maker",
            "need": "ticket deflection",
            "timeline": "2 months",
            "reasons": ["budget $60,000 meets $10,000"],
        },
    )
    data.update(changes)
    return CallReport(**data)


def _load(voicekit, hubspot, token=TOKEN, **settings):
    path = voicekit.write(hubspot_config(hubspot.url, **settings))
    return path, voicekit.load(path, environ={"HUBSPOT_ACCESS_TOKEN": token})


async def _deliver(deployment, report):
    deployment.journal.record_call(report, deployment.post_call_plugins())
    [record] = await deliver_all(deployment, report)
    return record


SUMMARY = (
    "Outbound call with Ada Lovelace: qualified (all four BANT criteria met) budget: $60k; "
    "authority: decision_maker; need: ticket deflection; timeline: 2 months"
)
ASSOC = "HUBSPOT_DEFINED"


async def test_success_sends_exact_bodies(voicekit, hubspot):
    hubspot.add("contacts", {"firstname": "Ada", "phone": "+14155550123"}, id="501")
    _, deployment = _load(voicekit, hubspot)
    record = await _deliver(deployment, make_report())

    assert record.status == "delivered", record.error
    assert record.result == {
        "contact_id": "501",
        "call_id": "1001",
        "note_id": "1002",
        "task_id": "1003",
        "updated": {"lifecyclestage": "salesqualifiedlead", "hs_lead_status": "CONNECTED"},
    }
    [call] = hubspot.sent("POST", "/crm/v3/objects/calls")
    assert call == {
        "properties": {
            "hs_timestamp": "2025-03-04T15:00:00Z",
            "hs_call_title": f"voicekit call {CALL_ID}",
            "hs_call_external_id": f"voicekit:{CALL_ID}",
            "hs_call_body": f"<p>{SUMMARY}</p><p><b>Transcript</b><br>assistant: Hi Ada, this is "
            "Sofía from TDX.<br>user: We have $60k &amp; want it &lt;soon&gt;.</p>",
            "hs_call_direction": "OUTBOUND",
            "hs_call_status": "COMPLETED",
            "hs_call_duration": "93400",
            "hs_call_disposition": "f240bbac-87c9-4f6e-bf70-924b57d47db7",
            "hs_call_to_number": "+14155550123",
        },
        "associations": [
            {
                "to": {"id": "501"},
                "types": [{"associationCategory": ASSOC, "associationTypeId": 194}],
            }
        ],
    }
    [note] = hubspot.sent("POST", "/crm/v3/objects/notes")
    assert note == {
        "properties": {
            "hs_timestamp": "2025-03-04T15:00:00Z",
            "hs_note_body": "<p><b>BANT qualification: qualified</b></p><ul><li>Budget: $60k</li>"
            "<li>Authority: decision_maker</li><li>Need: ticket deflection</li>"
            "<li>Timeline: 2 months</li><li>Reason: budget $60,000 meets $10,000</li>"
            f"</ul><p>voicekit-call-{CALL_ID}</p>",
        },
        "associations": [
            {
                "to": {"id": "501"},
                "types": [{"associationCategory": ASSOC, "associationTypeId": 202}],
            }
        ],
    }
    assert hubspot.sent("PATCH", "/crm/v3/objects/contacts/501") == [
        {"properties": {"lifecyclestage": "salesqualifiedlead", "hs_lead_status": "CONNECTED"}}
    ]
    [task] = hubspot.sent("POST", "/crm/v3/objects/tasks")
    assert task == {
        "properties": {
            "hs_timestamp": "2025-03-05T15:01:33.400000Z",
            "hs_task_subject": f"Follow up with Ada Lovelace (voicekit call {CALL_ID})",
            "hs_task_body": SUMMARY,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "CALL",
        },
        "associations": [
            {
                "to": {"id": "501"},
                "types": [{"associationCategory": ASSOC, "associationTypeId": 204}],
            }
        ],
    }
    assert hubspot.sent("POST", "/crm/v3/objects/calls/search") == [
        {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_call_external_id",
                            "operator": "EQ",
                            "value": f"voicekit:{CALL_ID}",
                        }
                    ]
                },
                {
                    "filters": [
                        {
                            "propertyName": "hs_call_title",
                            "operator": "EQ",
                            "value": f"voicekit call {CALL_ID}",
                        }
                    ]
                },
            ],
            "properties": ["hs_call_external_id", "hs_call_title"],
            "limit": 1,
        }
    ]


async def test_voicemail_maps_outcome_and_status_without_note_or_task(voicekit, hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    _, deployment = _load(voicekit, hubspot)
    record = await _deliver(
        deployment,
        make_report(disposition=Disposition.VOICEMAIL, qualification=None, disposition_reason=""),
    )
    assert record.result == {
        "contact_id": "501",
        "call_id": "1001",
        "updated": {"hs_lead_status": "ATTEMPTED_TO_CONTACT"},
    }
    [call] = hubspot.sent("POST", "/crm/v3/objects/calls")
    assert call["properties"]["hs_call_disposition"] == "b2cf5968-551e-4856-9783-52b3da59a7d0"
    assert hubspot.sent("POST", "/crm/v3/objects/notes") == []
    assert hubspot.sent("POST", "/crm/v3/objects/tasks") == []


async def test_lead_from_csv_is_logged_on_the_contact_found_by_phone(voicekit, hubspot):
    hubspot.add("contacts", {"phone": "(415) 555-0123"}, id="777")
    _, deployment = _load(voicekit, hubspot)
    report = make_report(lead={"name": "Ada Lovelace", "phone": "+14155550123", "source": "csv"})
    record = await _deliver(deployment, report)
    assert record.result["contact_id"] == "777"
    assert hubspot.objects["calls"]["1001"]["associations"][0]["to"] == {"id": "777"}


async def test_unknown_contact_is_skipped_or_created_with_create_missing(voicekit, hubspot):
    lead = {
        "name": "Ada Lovelace",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "Analytical Engines",
        "email": "ada@example.com",
        "source": "csv",
    }
    _, deployment = _load(voicekit, hubspot)
    record = await _deliver(deployment, make_report(lead=lead))
    assert record.result == {
        "skipped": "no HubSpot contact has phone +14155550123 and create_missing is off"
    }
    assert hubspot.writes() == []

    _, deployment = _load(voicekit, hubspot, create_missing=True)
    record = await _deliver(deployment, make_report(lead=lead, call_id="20250304T150000-def456"))
    assert record.result["contact_created"] is True
    assert hubspot.sent("POST", "/crm/v3/objects/contacts") == [
        {
            "properties": {
                "firstname": "Ada",
                "lastname": "Lovelace",
                "company": "Analytical Engines",
                "email": "ada@example.com",
                "phone": "+14155550123",
            },
            "associations": [],
        }
    ]


async def test_429_then_success_is_retried_within_the_delivery(voicekit, hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    _, deployment = _load(voicekit, hubspot)
    hubspot.fail_next = [429]
    record = await _deliver(deployment, make_report())
    assert (record.status, record.attempts) == ("delivered", 1)
    # the rate-limited search was sent twice, everything else once
    assert len(hubspot.sent("POST", "/crm/v3/objects/calls/search")) == 2
    assert len(hubspot.sent("POST", "/crm/v3/objects/calls")) == 1


def test_persistent_500_fails_then_journal_retry_delivers_exactly_once(
    voicekit, hubspot, monkeypatch
):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    path, deployment = _load(voicekit, hubspot)
    hubspot.fail_always = 500
    record = asyncio.run(_deliver(deployment, make_report()))
    assert record.status == "failed"
    assert "HubSpot calls search failed: HTTP 500 INTERNAL_ERROR: internal error" in record.error
    assert len(hubspot.requests) == 3  # 1 try + max_retries=2
    assert hubspot.writes() == []

    hubspot.fail_always = None
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", TOKEN)
    result = CliRunner().invoke(cli, ["journal", "retry", str(path), "--attempts", "1"])
    assert result.exit_code == 0, result.output
    assert CALL_ID in result.output and "delivered" in result.output
    [record] = deployment.journal.deliveries(CALL_ID)
    assert (record.status, record.attempts) == ("delivered", 2)

    # a second retry has nothing to do; a forced re-delivery creates nothing new
    assert asyncio.run(retry_undelivered(deployment, attempts=1, backoff_seconds=0)) == []
    record = asyncio.run(deliver_all(deployment, make_report()))[0]
    assert record.result["call_id"] == "1001"
    for kind in ("calls", "notes", "tasks"):
        assert len(hubspot.sent("POST", f"/crm/v3/objects/{kind}")) == 1, kind


async def test_invalid_token_fails_with_clear_error_without_the_token(voicekit, hubspot):
    _, deployment = _load(voicekit, hubspot, token="pat-revoked-token")
    record = await _deliver(deployment, make_report())
    assert record.status == "failed"
    assert record.error.startswith(
        "HubSpotAuthError: HubSpot calls search failed: HTTP 401 INVALID_AUTHENTICATION: "
        "Authentication credentials not found."
    )
    assert "check [plugins.hubspot] access_token" in record.error
    assert "pat-revoked-token" not in record.error
    assert len(hubspot.requests) == 1  # auth failures are not retried
