"""No duplicates on partial success: Salesforce commits a create and the client sees a
502, the follow-up check fails too, the process dies between a create and its reply.

Each test drives ``deliver`` (or the ``post_call`` hook) attempt after attempt with a
:class:`DeliveryState` carried over like the journal does, against the fake Salesforce.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import voicekit_salesforce
from salesforce_fake import SESSION, salesforce_config
from voicekit_salesforce.client import SalesforceError, SalesforcePendingError
from voicekit_salesforce.settings import SalesforceSettings
from voicekit_salesforce.tasks import deliver

from voicekit_core import CallReport, Disposition
from voicekit_core.delivery_state import DeliveryState

START = datetime(2025, 3, 4, 15, 0, 0, tzinfo=timezone.utc)
T0 = datetime(2025, 3, 4, 16, 0, tzinfo=timezone.utc)
CALL_ID = "20250304T150000-abc123"
TASK = r"/sobjects/Task/"
QUERY = r"/query/"


class Journal:
    """Stands in for the journal: keeps what each attempt persisted and starts the next
    attempt from it."""

    def __init__(self, saved: dict | None = None) -> None:
        self.saved: dict = dict(saved or {})
        self.writes: list[dict] = []
        self.attempts = 0

    def attempt(self) -> DeliveryState:
        self.attempts += 1
        return DeliveryState(self.saved, attempt=self.attempts, persist=self._persist)

    def _persist(self, data: dict) -> None:
        self.saved = data
        self.writes.append(data)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def report_for(who_id: str = "", **changes) -> CallReport:
    lead = {"name": "Ada Lovelace", "phone": "+14155550123", "source": "salesforce"}
    lead["crm_id"] = who_id
    data = dict(
        call_id=CALL_ID,
        agent_name="test-agent",
        direction="outbound",
        mode="simulated",
        phone="+14155550123",
        lead=lead,
        started_at=START,
        ended_at=START + timedelta(seconds=60),
        duration_seconds=60,
        disposition=Disposition.QUALIFIED,
        disposition_reason="all four BANT criteria met",
    )
    data.update(changes)
    return CallReport(**data)


def settings_for(salesforce, **changes) -> SalesforceSettings:
    values = dict(
        instance_url=salesforce.url,
        session_id=SESSION,
        ca_bundle=Path(salesforce.ca_file),
        max_retries=2,
        backoff_seconds=0,
    )
    values.update(changes)
    return SalesforceSettings(**values)


def task_posts(salesforce) -> int:
    return len(salesforce.sent("POST", "/sobjects/Task/"))


def run(salesforce, journal, report, clock=None, **settings):
    return deliver(
        report,
        settings_for(salesforce, **settings),
        None,
        journal.attempt(),
        clock=clock or Clock(),
    )


def test_task_committed_then_502_is_found_by_call_object_in_the_same_attempt(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    salesforce.fail_when("POST", TASK, 502, commit=True)
    journal = Journal()

    result = run(salesforce, journal, report_for(lead_id))

    [task_id] = salesforce.records["Task"]
    assert result == {"who_id": lead_id, "task_id": task_id, "lead_status": "Working - Contacted"}
    assert salesforce.count("Task") == 1 and task_posts(salesforce) == 1  # not resent
    assert journal.saved["task_unconfirmed_at"] is None
    # looked up before the create, and once more after the lost reply
    assert len(salesforce.queries()) == 2


def test_task_committed_then_502_and_check_failing_resumes_on_retry(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    salesforce.fail_when("POST", TASK, 502, commit=True)
    # the query before the create passes; the check after the lost reply (and its two
    # retries) fails
    salesforce.fail_when("GET", QUERY, 503, 503, 503, after=1)
    journal = Journal()
    report = report_for(lead_id)

    with pytest.raises(SalesforceError, match="whether it was stored could not be checked") as err:
        run(salesforce, journal, report)
    assert err.value.outcome_unknown
    assert "Task create failed: HTTP 502" in str(err.value)
    assert journal.saved.get("task_unconfirmed_at") and "task_id" not in journal.saved

    result = run(salesforce, journal, report)
    [task_id] = salesforce.records["Task"]
    assert result["task_id"] == task_id
    assert task_posts(salesforce) == 1


def test_lost_task_is_not_created_again_within_the_wait_then_is(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    salesforce.fail_when("POST", TASK, 502)  # nothing committed
    journal, clock = Journal(), Clock()
    report = report_for(lead_id)

    with pytest.raises(SalesforceError, match="not found after it either") as first:
        run(salesforce, journal, report, clock)
    assert first.value.outcome_unknown
    assert "lead_status" not in journal.saved  # the Task comes first

    clock.now = T0 + timedelta(seconds=60)
    with pytest.raises(SalesforcePendingError, match="unconfirmed_wait_seconds"):
        run(salesforce, journal, report, clock)
    assert task_posts(salesforce) == 1

    clock.now = T0 + timedelta(seconds=121)
    result = run(salesforce, journal, report, clock)
    assert salesforce.count("Task") == 1 and task_posts(salesforce) == 2
    assert result["task_id"] == next(iter(salesforce.records["Task"]))


def test_saved_task_id_skips_the_task_and_a_retry_only_redoes_the_status(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    journal = Journal({"who_id": lead_id, "task_id": "00T000000000042"})
    result = run(salesforce, journal, report_for(lead_id))
    assert result["task_id"] == "00T000000000042"
    assert salesforce.queries() == [] and task_posts(salesforce) == 0
    assert salesforce.sent("PATCH", f"/sobjects/Lead/{lead_id}") == [
        {"Status": "Working - Contacted"}
    ]


def test_retry_policy_resends_queries_patches_and_429_but_never_a_5xx_create(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    salesforce.fail_when("GET", QUERY, 503)
    salesforce.fail_when("POST", TASK, 429)
    salesforce.fail_when("PATCH", rf"/sobjects/Lead/{lead_id}", 502)
    journal = Journal()

    run(salesforce, journal, report_for(lead_id))

    assert len(salesforce.queries()) == 2
    assert task_posts(salesforce) == 2 and salesforce.count("Task") == 1
    assert len(salesforce.sent("PATCH", f"/sobjects/Lead/{lead_id}")) == 2

    other = report_for(lead_id, call_id="20250304T160000-def456")
    salesforce.fail_when("POST", TASK, 503)
    with pytest.raises(SalesforceError, match="Task create failed: HTTP 503"):
        run(salesforce, Journal(), other)
    assert task_posts(salesforce) == 3  # the 503 create was sent once


def test_external_id_upsert_is_repeated_safely_after_a_lost_reply(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    path = rf"/sobjects/Task/Voicekit_Call_Id__c/{CALL_ID}"
    salesforce.fail_when("PATCH", path, 502, commit=True)
    journal = Journal()

    result = run(
        salesforce, journal, report_for(lead_id), task_external_id_field="Voicekit_Call_Id__c"
    )

    [task_id] = salesforce.records["Task"]
    assert result["task_id"] == task_id == journal.saved["task_id"]
    upserts = salesforce.sent("PATCH", f"/sobjects/Task/Voicekit_Call_Id__c/{CALL_ID}")
    assert len(upserts) == 2  # the idempotent upsert was resent by the HTTP client
    assert upserts[0]["CallObject"] == f"voicekit:{CALL_ID}"
    assert salesforce.records["Task"][task_id]["Voicekit_Call_Id__c"] == CALL_ID
    assert salesforce.queries() == [] and task_posts(salesforce) == 0


def test_external_id_upsert_without_a_reply_body_reads_the_id_back(salesforce):
    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    task_id = salesforce.add("Task", {"Voicekit_Call_Id__c": CALL_ID, "Subject": "old"})
    salesforce.upsert_update_no_content = True

    result = run(
        salesforce, Journal(), report_for(lead_id), task_external_id_field="Voicekit_Call_Id__c"
    )

    assert result["task_id"] == task_id and salesforce.count("Task") == 1
    assert salesforce.records["Task"][task_id]["Subject"] == "Call: qualified"
    assert [r.method for r in salesforce.requests if "__c/" in r.path] == ["PATCH", "GET"]


def test_created_lead_committed_then_502_is_found_by_phone(salesforce):
    salesforce.fail_when("POST", r"/sobjects/Lead/", 502, commit=True)
    report = report_for(lead={"name": "Ada Lovelace", "last_name": "Lovelace", "source": "csv"})
    journal = Journal()

    result = run(salesforce, journal, report, create_missing=True)

    [lead_id] = salesforce.records["Lead"]
    assert result["who_id"] == lead_id and "lead_created" not in result
    assert len(salesforce.sent("POST", "/sobjects/Lead/")) == 1
    assert salesforce.count("Task") == 1


def test_external_id_field_must_be_a_custom_field(salesforce):
    with pytest.raises(ValueError, match="External ID fields end in __c"):
        settings_for(salesforce, task_external_id_field="CallObject")


async def test_post_call_hook_saves_through_the_event_loop_thread(voicekit, salesforce):
    import threading

    lead_id = salesforce.add("Lead", {"LastName": "Lovelace"})
    salesforce.fail_when("POST", TASK, 502, commit=True)
    path = voicekit.write(salesforce_config(salesforce.url, salesforce.ca_file))
    config = voicekit.load(path, environ={"SALESFORCE_SESSION_ID": SESSION}).config
    threads: set[str] = set()
    saved: list[dict] = []

    def persist(data: dict) -> None:
        threads.add(threading.current_thread().name)
        saved.append(data)

    result = await voicekit_salesforce.post_call(
        report_for(lead_id), config, DeliveryState(persist=persist)
    )

    assert threads == {threading.current_thread().name}
    assert result["task_id"] == saved[-1]["task_id"] == next(iter(salesforce.records["Task"]))
    assert salesforce.count("Task") == 1
