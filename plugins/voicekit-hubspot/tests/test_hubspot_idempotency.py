"""No duplicates on partial success: HubSpot stores a create and the client sees a 502,
HubSpot's search index lags, the process dies between a create and its reply.

Each test drives ``deliver`` (or the ``post_call`` hook) attempt after attempt with a
:class:`DeliveryState` carried over like the journal does, against the fake HubSpot.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import voicekit_hubspot
from hubspot_fake import SAMPLE_CALL_ID, TOKEN, hubspot_config, sample_report
from voicekit_hubspot.client import HubSpotError, HubSpotPendingError
from voicekit_hubspot.engagements import deliver
from voicekit_hubspot.settings import HubSpotSettings

from voicekit_core.delivery_state import DeliveryState

CREATE = {kind: rf"/crm/v3/objects/{kind}" for kind in ("calls", "notes", "tasks", "contacts")}
T0 = datetime(2025, 3, 4, 16, 0, tzinfo=timezone.utc)


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


def settings_for(hubspot, **changes) -> HubSpotSettings:
    values = dict(access_token=TOKEN, host=hubspot.url, max_retries=2, backoff_seconds=0)
    values.update(changes)
    return HubSpotSettings(**values)


def creates(hubspot, kind: str) -> int:
    return len(hubspot.sent("POST", f"/crm/v3/objects/{kind}"))


def one_of_each(hubspot) -> None:
    assert (hubspot.count("calls"), hubspot.count("notes"), hubspot.count("tasks")) == (1, 1, 1)


def test_create_stored_then_502_is_found_through_associations_in_the_same_attempt(hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.index_lag = 600  # search will not see anything created during this test
    hubspot.fail_when("POST", CREATE["calls"], 502, commit=True)
    journal, clock = Journal(), Clock()

    result = deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=clock)

    one_of_each(hubspot)
    [call_id] = hubspot.objects["calls"]
    assert result["call_id"] == call_id
    assert creates(hubspot, "calls") == 1  # the 502 create was not resent
    assert journal.saved["call_id"] == call_id
    assert journal.saved["call_unconfirmed_at"] is None
    listing = [r for r in hubspot.requests if r.method == "GET"]
    assert [r.path for r in listing] == ["/crm/v4/objects/contacts/501/associations/calls"]
    [batch] = hubspot.sent("POST", "/crm/v3/objects/calls/batch/read")
    assert batch == {
        "inputs": [{"id": call_id}],
        "properties": ["hs_call_external_id", "hs_call_title"],
        "propertiesWithHistory": [],
    }


def test_every_create_stored_then_502_across_retries_makes_one_record_each(hubspot):
    """Each create is stored and answered 502, and the association check of that attempt
    fails too, so every attempt dies right after a create; the next one resumes."""
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.index_lag = 600
    for kind in ("calls", "notes", "tasks"):
        hubspot.fail_when("POST", CREATE[kind], 502, commit=True)
        hubspot.fail_when(
            "GET", rf"/crm/v4/objects/contacts/501/associations/{kind}", 503, 503, 503
        )
    journal, clock = Journal(), Clock()
    settings = settings_for(hubspot)

    failures = []
    for _ in range(10):
        try:
            result = deliver(sample_report(), settings, journal.attempt(), clock=clock)
            break
        except HubSpotError as exc:
            failures.append(exc)
    else:
        pytest.fail("never delivered")

    one_of_each(hubspot)
    assert len(failures) == 3 and all(f.outcome_unknown for f in failures)
    assert "HubSpot calls create failed: HTTP 502" in str(failures[0])
    for kind in ("calls", "notes", "tasks"):
        assert creates(hubspot, kind) == 1, kind
    assert result == {
        "contact_id": "501",
        "call_id": journal.saved["call_id"],
        "note_id": journal.saved["note_id"],
        "task_id": journal.saved["task_id"],
        "updated": {"lifecyclestage": "salesqualifiedlead", "hs_lead_status": "CONNECTED"},
    }
    # the contact update (an idempotent PATCH) ran once, after the note
    assert len(hubspot.sent("PATCH", "/crm/v3/objects/contacts/501")) == 1


def test_lost_create_is_not_repeated_within_the_index_lag_then_is(hubspot):
    """A 502 where HubSpot stored nothing: the record cannot be found, so the create is
    repeated only once ``index_lag_seconds`` have passed since the lost attempt."""
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.fail_when("POST", CREATE["calls"], 502)  # not stored
    journal, clock = Journal(), Clock()
    settings = settings_for(hubspot, index_lag_seconds=120)

    with pytest.raises(HubSpotError) as first:
        deliver(sample_report(), settings, journal.attempt(), clock=clock)
    assert first.value.outcome_unknown
    assert journal.saved["call_unconfirmed_at"] == T0.isoformat()

    clock.now = T0 + timedelta(seconds=30)
    with pytest.raises(HubSpotPendingError, match="index_lag_seconds"):
        deliver(sample_report(), settings, journal.attempt(), clock=clock)
    assert creates(hubspot, "calls") == 1  # looked for it, did not create

    clock.now = T0 + timedelta(seconds=121)
    result = deliver(sample_report(), settings, journal.attempt(), clock=clock)
    one_of_each(hubspot)
    assert creates(hubspot, "calls") == 2
    assert result["call_id"] == next(iter(hubspot.objects["calls"]))


def test_crash_after_a_create_was_sent_resumes_from_the_write_ahead_mark(hubspot):
    """The process died after sending the call create (the write-ahead mark is in the
    journal, the id is not); the record exists but search does not see it yet."""
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.index_lag = 600
    call_id = hubspot.add(
        "calls", {"hs_call_external_id": f"voicekit:{SAMPLE_CALL_ID}", "hs_call_title": "x"}
    )
    hubspot.objects["calls"][call_id]["associations"] = [{"to": {"id": "501"}, "types": []}]
    hubspot.objects["calls"][call_id]["searchable_at"] = float("inf")
    journal = Journal({"contact_id": "501", "call_unconfirmed_at": T0.isoformat()})

    result = deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=Clock())

    assert result["call_id"] == call_id
    assert creates(hubspot, "calls") == 0
    one_of_each(hubspot)


def test_saved_ids_are_not_looked_up_or_created_again(hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    journal = Journal({"contact_id": "501", "call_id": "9001", "note_id": "9002"})

    result = deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=Clock())

    assert (result["call_id"], result["note_id"]) == ("9001", "9002")
    touched = {r.path for r in hubspot.requests}
    assert not any(
        p.startswith(("/crm/v3/objects/calls", "/crm/v3/objects/notes")) for p in touched
    )
    assert hubspot.count("tasks") == 1


def test_write_ahead_mark_is_persisted_before_the_create_and_the_id_after(hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    journal = Journal()
    deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=Clock())
    keys = [(k, w[k] is not None) for w in journal.writes for k in w if k.startswith("call_")]
    first_marked = next(i for i, w in enumerate(journal.writes) if w.get("call_unconfirmed_at"))
    first_id = next(i for i, w in enumerate(journal.writes) if w.get("call_id"))
    assert first_marked < first_id, keys
    assert journal.writes[-1]["call_unconfirmed_at"] is None


def test_retry_policy_resends_reads_patches_and_429_but_never_a_5xx_create(hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.fail_when("POST", r"/crm/v3/objects/calls/search", 502)  # read-only POST
    hubspot.fail_when("POST", CREATE["calls"], 429)  # rate limited: nothing was done
    hubspot.fail_when("PATCH", r"/crm/v3/objects/contacts/501", 503)  # idempotent
    hubspot.fail_when("POST", CREATE["notes"], 503)  # may have been stored: not resent
    journal = Journal()

    with pytest.raises(HubSpotError, match="notes create failed: HTTP 503") as excinfo:
        deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=Clock())

    assert excinfo.value.outcome_unknown
    assert len(hubspot.sent("POST", "/crm/v3/objects/calls/search")) == 2
    assert creates(hubspot, "calls") == 2 and hubspot.count("calls") == 1
    assert creates(hubspot, "notes") == 1 and hubspot.count("notes") == 0
    assert "call_id" in journal.saved and journal.saved.get("note_unconfirmed_at")

    # the next attempt looks for the note (not there), waits out the lag, then creates it;
    # the PATCH answered 503 once is resent within that attempt
    clock = Clock()
    clock.now = T0 + timedelta(days=1)
    deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=clock)
    one_of_each(hubspot)
    assert len(hubspot.sent("PATCH", "/crm/v3/objects/contacts/501")) == 2


def test_definite_refusal_clears_the_mark_and_the_next_attempt_creates(hubspot):
    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.fail_when("POST", CREATE["calls"], 400)
    journal = Journal()
    with pytest.raises(HubSpotError) as excinfo:
        deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=Clock())
    assert not excinfo.value.outcome_unknown
    assert journal.saved["call_unconfirmed_at"] is None
    deliver(sample_report(), settings_for(hubspot), journal.attempt(), clock=Clock())
    one_of_each(hubspot)


def test_created_contact_stored_then_502_is_read_back_by_email(hubspot):
    hubspot.index_lag = 600
    hubspot.fail_when("POST", CREATE["contacts"], 502, commit=True)
    lead = {"name": "Ada Lovelace", "first_name": "Ada", "email": "ada@example.com"}
    report = sample_report(lead={**lead, "source": "csv"})
    journal = Journal()

    result = deliver(
        report, settings_for(hubspot, create_missing=True), journal.attempt(), clock=Clock()
    )

    [contact_id] = hubspot.objects["contacts"]
    assert result["contact_id"] == contact_id
    assert "contact_created" not in result  # the create's reply was lost
    assert creates(hubspot, "contacts") == 1
    [read] = [r for r in hubspot.requests if r.path == "/crm/v3/objects/contacts/ada@example.com"]
    assert read.query["idProperty"] == "email"
    one_of_each(hubspot)


def test_contact_with_the_same_email_is_reused_on_409(hubspot):
    existing = hubspot.add("contacts", {"email": "ada@example.com", "phone": "+442079460000"})
    lead = {"name": "Ada Lovelace", "email": "ada@example.com", "source": "csv"}
    journal = Journal()
    result = deliver(
        sample_report(lead=lead),
        settings_for(hubspot, create_missing=True),
        journal.attempt(),
        clock=Clock(),
    )
    assert result["contact_id"] == existing and "contact_created" not in result
    assert hubspot.count("contacts") == 1


async def test_post_call_hook_saves_through_the_event_loop_thread(voicekit, hubspot):
    """The hook runs the SDK in a worker thread; every save reaches the journal from the
    event loop's thread (as the journal's connection requires)."""
    import threading

    hubspot.add("contacts", {"phone": "+14155550123"}, id="501")
    hubspot.index_lag = 600
    hubspot.fail_when("POST", CREATE["tasks"], 502, commit=True)
    path = voicekit.write(hubspot_config(hubspot.url))
    config = voicekit.load(path, environ={"HUBSPOT_ACCESS_TOKEN": TOKEN}).config
    threads: set[str] = set()
    saved: list[dict] = []

    def persist(data: dict) -> None:
        threads.add(threading.current_thread().name)
        saved.append(data)

    result = await voicekit_hubspot.post_call(
        sample_report(), config, DeliveryState(persist=persist)
    )

    assert threads == {threading.current_thread().name}
    assert result["task_id"] == saved[-1]["task_id"]
    one_of_each(hubspot)
