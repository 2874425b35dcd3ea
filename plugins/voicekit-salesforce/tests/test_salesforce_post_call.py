"""post_call against a fake Salesforce over HTTPS: exact Task body, Lead Status, 429 retry,
failure + journal retry exactly once, invalid session."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner
from salesforce_fake import SESSION, salesforce_config

from voicekit_core import CallReport, Disposition
from voicekit_core.cli import cli
from voicekit_core.delivery import deliver_all, retry_undelivered

START = datetime(2025, 3, 4, 15, 0, 0, tzinfo=timezone.utc)
CALL_ID = "20250304T150000-abc123"
SUMMARY = (
    "Outbound call with Ada Lovelace: qualified (all four BANT criteria met) budget: $60k; "
    "authority: decision_maker; timeline: 2 months"
)


def make_report(who_id: str, **changes) -> CallReport:
    data = dict(
        call_id=CALL_ID,
        agent_name="test-agent",
        direction="outbound",
        mode="simulated",
        phone="+14155550123",
        lead={
            "name": "Ada Lovelace",
            "phone": "+14155550123",
            "source": "salesforce",
            "crm_id": who_id,
        },
        started_at=START,
        ended_at=START + timedelta(seconds=93.6),
        duration_seconds=93.6,
        transcript=[
            {"role": "assistant", "text": "Hi Ada, this is Sofía.", "at": START},
            {"role": "user", "text": "We have $60k.", "at": START},
        ],
        disposition=Disposition.QUALIFIED,
        disposition_reason="all four BANT criteria met",
        qualification={
            "status": "qualified",
            "budget": "$60k",
            "authority": "decision_maker",
            "timeline": "2 months",
        },
    )
    data.update(changes)
    return CallReport(**data)


def _load(voicekit, salesforce, session=SESSION, **settings):
    path = voicekit.write(salesforce_config(salesforce.url, salesforce.ca_file, **settings))
    return path, voicekit.load(path, environ={"SALESFORCE_SESSION_ID": session})


async def _deliver(deployment, report):
    deployment.journal.record_call(report, deployment.post_call_plugins())
    [record] = await deliver_all(deployment, report)
    return record


async def test_success_sends_exact_task_and_lead_status(voicekit, salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace", "Phone": "+14155550123"})
    _, deployment = _load(voicekit, salesforce)
    record = await _deliver(deployment, make_report(lead_id))

    assert record.status == "delivered", record.error
    [task] = salesforce.sent("POST", "/sobjects/Task/")
    assert record.result == {
        "who_id": lead_id,
        "task_id": salesforce.records["Task"].popitem()[0],
        "lead_status": "Working - Contacted",
    }
    assert task == {
        "Subject": "Call: qualified",
        "TaskSubtype": "Call",
        "Type": "Call",
        "CallType": "Outbound",
        "CallDurationInSeconds": 94,
        "CallDisposition": "qualified",
        "CallObject": f"voicekit:{CALL_ID}",
        "Description": f"{SUMMARY}\n\nTranscript:\nassistant: Hi Ada, this is Sofía.\nuser: We have $60k.",
        "Status": "Completed",
        "ActivityDate": "2025-03-04",
        "WhoId": lead_id,
    }
    assert salesforce.sent("PATCH", f"/sobjects/Lead/{lead_id}") == [
        {"Status": "Working - Contacted"}
    ]
    assert salesforce.queries() == [
        f"SELECT Id FROM Task WHERE CallObject = 'voicekit:{CALL_ID}' LIMIT 1"
    ]


async def test_contact_gets_a_task_but_no_status(voicekit, salesforce):
    contact_id = salesforce.add(
        "Contact", {"LastName": "Lovelace", "MobilePhone": "(415) 555-0123"}
    )
    _, deployment = _load(voicekit, salesforce)
    report = make_report("", lead={"name": "Ada Lovelace", "source": "csv"})
    record = await _deliver(deployment, report)
    assert record.result["who_id"] == contact_id and "lead_status" not in record.result
    assert salesforce.sent("PATCH", f"/sobjects/Contact/{contact_id}") == []


async def test_unknown_number_skips_or_creates_a_lead(voicekit, salesforce):
    lead = {"name": "Ada Lovelace", "first_name": "Ada", "last_name": "Lovelace", "source": "csv"}
    _, deployment = _load(voicekit, salesforce)
    record = await _deliver(deployment, make_report("", lead=lead))
    assert record.result == {
        "skipped": "no Salesforce Lead or Contact has phone +14155550123 and create_missing is off"
    }
    _, deployment = _load(voicekit, salesforce, create_missing=True, lead_source="Phone Inquiry")
    record = await _deliver(
        deployment, make_report("", lead=lead, call_id="20250304T150000-def456")
    )
    assert record.result["lead_created"] is True
    assert salesforce.sent("POST", "/sobjects/Lead/") == [
        {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Company": "[not provided]",
            "Phone": "+14155550123",
            "LeadSource": "Phone Inquiry",
        }
    ]


async def test_429_then_success_is_retried_within_the_delivery(voicekit, salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    _, deployment = _load(voicekit, salesforce)
    salesforce.fail_next = [429]
    record = await _deliver(deployment, make_report(lead_id))
    assert (record.status, record.attempts) == ("delivered", 1)
    assert len(salesforce.queries()) == 2  # the rate-limited query, then its retry
    assert len(salesforce.sent("POST", "/sobjects/Task/")) == 1


def test_persistent_500_fails_then_journal_retry_delivers_exactly_once(
    voicekit, salesforce, monkeypatch
):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    path, deployment = _load(voicekit, salesforce)
    salesforce.fail_always = 500
    record = asyncio.run(_deliver(deployment, make_report(lead_id)))
    assert record.status == "failed"
    assert record.error == (
        "SalesforceError: Salesforce Task query failed: HTTP 500 UNKNOWN_EXCEPTION: "
        "An unexpected error occurred."
    )
    assert len(salesforce.requests) == 3  # 1 try + max_retries=2
    assert salesforce.sent("POST", "/sobjects/Task/") == []

    salesforce.fail_always = None
    monkeypatch.setenv("SALESFORCE_SESSION_ID", SESSION)
    result = CliRunner().invoke(cli, ["journal", "retry", str(path), "--attempts", "1"])
    assert result.exit_code == 0, result.output
    assert CALL_ID in result.output and "delivered" in result.output
    [record] = deployment.journal.deliveries(CALL_ID)
    assert (record.status, record.attempts) == ("delivered", 2)

    assert asyncio.run(retry_undelivered(deployment, attempts=1, backoff_seconds=0)) == []
    again = asyncio.run(deliver_all(deployment, make_report(lead_id)))[0]
    assert again.result["task_id"] == record.result["task_id"]
    assert len(salesforce.sent("POST", "/sobjects/Task/")) == 1


async def test_invalid_session_fails_with_clear_error_without_the_session(voicekit, salesforce):
    _, deployment = _load(voicekit, salesforce, session="00Dexpired!bad")
    record = await _deliver(deployment, make_report("00Q000000000001"))
    assert record.status == "failed"
    assert record.error.startswith(
        "SalesforceAuthError: Salesforce Task query failed: HTTP 401 INVALID_SESSION_ID: "
        "Session expired or invalid; check [plugins.salesforce] session_id / instance_url"
    )
    assert "00Dexpired!bad" not in record.error
    assert len(salesforce.requests) == 1
