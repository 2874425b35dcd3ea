"""The time-budgeted lookup helper CRM plugins share."""

from __future__ import annotations

import threading

import pytest

from voicekit_core.calls import CallContext
from voicekit_core.lookups import LookupAbandoned, lookup_within_budget


class CrmDown(Exception):
    pass


@pytest.fixture
def call(voicekit):
    return CallContext(deployment=voicekit.load(), phone="+14155550123")


async def test_result_is_returned_and_timeout_is_passed_on(call):
    seen = {}

    def find(phone, *, timeout):
        seen["timeout"] = timeout
        return f"contact for {phone}"

    assert await lookup_within_budget(call, "crm", find, call.phone, budget=0.5) == (
        "contact for +14155550123"
    )
    assert seen == {"timeout": 1.5}
    assert call.notes == []


async def test_past_the_budget_the_call_goes_on_with_a_note(call):
    release = threading.Event()

    def slow(*, timeout):
        release.wait(2)
        return "too late"

    try:
        with pytest.raises(LookupAbandoned):
            await lookup_within_budget(call, "crm", slow, budget=0.05)
    finally:
        release.set()
    assert call.notes == ["crm: lookup timed out after 0.05 s; continuing without CRM context"]


async def test_listed_errors_become_a_note_others_propagate(call):
    def down(*, timeout):
        raise CrmDown("HTTP 503 from crm.example")

    with pytest.raises(LookupAbandoned):
        await lookup_within_budget(call, "crm", down, budget=1, errors=(CrmDown,))
    assert call.notes == [
        "crm: lookup failed (HTTP 503 from crm.example); continuing without CRM context"
    ]

    def bug(*, timeout):
        raise KeyError("programming error")

    with pytest.raises(KeyError):
        await lookup_within_budget(call, "crm", bug, budget=1, errors=(CrmDown,))
