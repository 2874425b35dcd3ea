"""Graph as it behaves on a bad day: creates committed but answered late, throttling,
unknown mailboxes; and the call's own turns: cancel then book, reschedule hints."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from teams_fake_graph import ORGANIZER, SECRET_ENV, ci, lower_keys, teams_table

from voicekit_core.testing import MINIMAL_CONFIG, ScriptedLLM, ToolCall, replies

NOW = "2026-03-06T14:00:00Z"  # Friday 9:00 EST
FIRST = "2026-03-06T16:00:00+00:00"  # 11:00 EST
MONDAY = "2026-03-09T15:00:00+00:00"  # 11:00 EDT
EMAIL = "pat@example.com"
SECOND = "jordan.lee@tdx.example"
BAD = "left.company@tdx.example"
FILLER = "One moment while I check the calendar."
LEADS = (
    "prospect_name,company_name,job_title,phone,email,timezone,resource_name\n"
    f"Pat Prospect,Example Co,CTO,+14155550123,{EMAIL},America/New_York,rep\n"
)
BOOK_FIRST = ToolCall("schedule_meeting", {"start": FIRST, "attendee_email": EMAIL})


def deployment(voicekit, fake, **overrides):
    import voicekit_teams

    voicekit_teams.warm()  # as the worker's prewarm does: timings below are Graph's alone
    config = (
        MINIMAL_CONFIG
        + '\n[plugins]\nenable = ["teams"]\n\n'
        + teams_table(fake.base_url, **{"fixed_now": NOW, **overrides})
    )
    return voicekit.load(voicekit.write(config, files={"leads.csv": LEADS}), environ=SECRET_ENV)


def outputs(report, name):
    return [t for t in report.tool_calls if t.name == name]


async def timed(run, text: str) -> float:
    started = time.monotonic()
    await run.user_says(text)
    return time.monotonic() - started


# -- 1. a create Graph commits but answers after the timeout ------------------------------


@pytest.mark.parametrize("team", [[ORGANIZER, SECOND], [ORGANIZER]], ids=["team", "single"])
async def test_create_answered_after_the_timeout_is_settled_not_booked_twice(
    voicekit, fake_graph, team
):
    """Graph stores the event at once but answers after 3 s; the HTTP timeout is 2 s and
    the budget 1.5 s. The agent hears "not confirmed yet" and asks again: the create goes
    out once more with its transactionId and Graph returns the stored event. Before: the
    other organizer was booked too (team) or the slot was "just taken" by its own orphan."""
    fake_graph.delays["createEvent"] = [3.0]
    llm = ScriptedLLM(replies(BOOK_FIRST, "Still confirming.", BOOK_FIRST, "Booked."))
    dep = deployment(
        voicekit, fake_graph, organizers=team, tool_budget_seconds=1.5, timeout_seconds=2
    )
    async with voicekit.call(dep, llm=llm) as run:
        waited = await timed(run, "Friday at eleven.")
        await run.user_says("Did it go through?")
    first, second = outputs(run.report, "schedule_meeting")
    assert first.is_error and "has not confirmed the booking" in first.output
    assert waited < 1.5 + 1.0  # the tool answered at the budget, not at the timeout
    [event] = fake_graph.events.values()
    assert event["organizer"] == ORGANIZER
    result = json.loads(second.output)
    assert (result["status"], result["event_id"]) == ("booked", event["id"])
    created = fake_graph.calls("createEvent")
    assert len(created) == 2
    assert {r.path for r in created} == {f"/v1.0/users/{ORGANIZER}/events"}
    assert {ci(r.json, "transactionId") for r in created} == {event["transactionId"]}
    meeting = run.report.data["meeting"]
    assert (meeting["event_id"], meeting["organizer"]) == (event["id"], ORGANIZER)
    teams = run.report.data["teams"]
    assert "pending_booking" not in teams and "follow_up" not in teams
    assert run.report.disposition.value == "meeting_booked"


async def test_late_answer_within_the_http_timeout_is_adopted_without_a_resend(
    voicekit, fake_graph
):
    fake_graph.delays["createEvent"] = [2.0]
    llm = ScriptedLLM(replies(BOOK_FIRST, "Still confirming.", BOOK_FIRST, "Booked."))
    dep = deployment(voicekit, fake_graph, tool_budget_seconds=1, timeout_seconds=5)
    async with voicekit.call(dep, llm=llm) as run:
        await run.user_says("Friday at eleven.")
        await asyncio.sleep(1.5)  # Graph answers meanwhile
        await run.user_says("Did it go through?")
    first, second = outputs(run.report, "schedule_meeting")
    assert first.is_error and not second.is_error
    [event] = fake_graph.events.values()
    assert json.loads(second.output)["event_id"] == event["id"]
    assert len(fake_graph.calls("createEvent")) == 1
    assert run.report.data["meeting"]["event_id"] == event["id"]
    assert "follow_up" not in run.report.data["teams"]
    assert any("follow-up cleared" in note for note in run.report.notes)


async def test_call_ending_while_graph_commits_still_names_the_event(voicekit, fake_graph):
    fake_graph.delays["createEvent"] = [2.0]
    llm = ScriptedLLM(replies(BOOK_FIRST, "You'll get the invite by email."))
    dep = deployment(voicekit, fake_graph, tool_budget_seconds=1, timeout_seconds=5)
    async with voicekit.call(dep, llm=llm) as run:
        await run.user_says("Friday at eleven.")
    [event] = fake_graph.events.values()
    report = run.report  # the report post_call deliveries get
    assert report.data["meeting"]["event_id"] == event["id"]
    assert report.disposition.value == "meeting_booked"
    assert "pending_booking" not in report.data["teams"]


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "not-stored"])
async def test_unconfirmed_create_at_hang_up_is_looked_up_by_transaction_id(
    voicekit, fake_graph, stored
):
    """Both replies lost and the caller hangs up: the report handed to post_call says
    whether the event exists (calendarView by transactionId, a read: nothing is created
    after the call)."""
    if stored:
        fake_graph.commit_then_fail["createEvent"] = [502, 502]
    else:
        fake_graph.fail_once["createEvent"] = [502, 502]
    llm = ScriptedLLM(replies(BOOK_FIRST, "A colleague will confirm by email."))
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Friday at eleven.")
    report = run.report
    assert len(fake_graph.calls("calendarView")) == 1
    assert len(fake_graph.calls("createEvent")) == 2
    if stored:
        [event] = fake_graph.events.values()
        assert report.data["meeting"]["event_id"] == event["id"]
        assert report.disposition.value == "meeting_booked"
        assert "pending_booking" not in report.data["teams"]
    else:
        assert fake_graph.events == {} and "meeting" not in report.data
        assert report.data["teams"]["pending_booking"]["found"] is False
        assert report.data["teams"]["follow_up"]["action"] == "confirm_booking"


# -- 2. throttling: a time budget per tool call, words while waiting, email fallback ------


async def test_three_long_retry_afters_fail_over_at_once(voicekit, fake_graph):
    """Three 429s asking for 25 s each (75 s of silence before): the first one already
    outlasts the 2 s budget, so the agent is told at once to offer to email times."""
    fake_graph.throttle["getSchedule"] = [25, 25, 25]
    check = ToolCall("check_availability", {})
    llm = ScriptedLLM(replies(check, "I'll email you times.", check, "Still no."))
    dep = deployment(voicekit, fake_graph, tool_budget_seconds=2, max_retries=3)
    async with voicekit.call(dep, llm=llm) as run:
        waited = await timed(run, "When can we meet?")
        await run.user_says("Can you check again?")
    assert waited < 1.0
    first, second = outputs(run.report, "check_availability")
    assert first.is_error and "email them some meeting times" in first.output
    assert second.is_error
    assert len(fake_graph.calls("getSchedule")) == 1  # Retry-After respected: no 2nd call
    teams = run.report.data["teams"]
    assert teams["errors"][0]["status"] == 429 and teams["errors"][0]["retry_after"] == 25
    assert teams["errors"][1]["code"] == "RetryAfterPending"
    assert teams["follow_up"]["action"] == "email_times"
    assert teams["follow_up"]["attendee_email"] == EMAIL
    assert run.report.disposition.value == "qualified"
    assert any("follow up: email meeting times" in note for note in run.report.notes)


async def test_short_retry_after_is_waited_out_with_words_meanwhile(voicekit, fake_graph):
    fake_graph.throttle["getSchedule"] = [1]
    llm = ScriptedLLM(replies(ToolCall("check_availability", {}), "Here are some times."))
    dep = deployment(
        voicekit, fake_graph, tool_budget_seconds=4, max_retries=3, filler_after_seconds=0.3
    )
    async with voicekit.call(dep, llm=llm) as run:
        waited = await timed(run, "When can we meet?")
    record = run.report.tool_call("check_availability")
    assert not record.is_error and json.loads(record.output)["slots"]
    assert 1.0 <= waited < 4.0
    assert len(fake_graph.calls("getSchedule")) == 2
    said = [e.text for e in run.report.transcript if e.role == "assistant"]
    assert said == [FILLER, "Here are some times."]


async def test_sustained_throttling_is_capped_by_the_budget(voicekit, fake_graph):
    fake_graph.throttle["getSchedule"] = [1] * 20
    llm = ScriptedLLM(replies(ToolCall("check_availability", {}), "I'll email you times."))
    dep = deployment(
        voicekit, fake_graph, tool_budget_seconds=3, max_retries=10, filler_after_seconds=0.5
    )
    async with voicekit.call(dep, llm=llm) as run:
        waited = await timed(run, "When can we meet?")
    assert waited < 3.5
    assert 2 <= len(fake_graph.calls("getSchedule")) <= 3
    assert run.report.tool_call("check_availability").is_error
    assert FILLER in run.report.transcript_text()
    assert run.report.data["teams"]["follow_up"]["action"] == "email_times"


async def test_throttled_create_is_retried_with_the_same_transaction_id(voicekit, fake_graph):
    fake_graph.throttle["createEvent"] = [1]
    llm = ScriptedLLM(replies(BOOK_FIRST, "Booked."))
    async with voicekit.call(deployment(voicekit, fake_graph, max_retries=2), llm=llm) as run:
        await run.user_says("Friday at eleven.")
    assert not run.report.tool_call("schedule_meeting").is_error
    created = fake_graph.calls("createEvent")
    assert len(created) == 2 and len(fake_graph.events) == 1
    assert ci(created[0].json, "transactionId") == ci(created[1].json, "transactionId")


# -- 6. after cancel_meeting nothing is booked --------------------------------------------


async def test_cancel_then_book_again(voicekit, fake_graph):
    llm = ScriptedLLM(
        replies(
            BOOK_FIRST,
            "Booked.",
            ToolCall("cancel_meeting", {"reason": "Changed plans"}),
            "Cancelled.",
            ToolCall("reschedule_meeting", {"start": MONDAY}),
            "Nothing to move.",
            BOOK_FIRST,
            "Booked again.",
        )
    )
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Friday at eleven.")
        await run.user_says("Cancel it.")
        await run.user_says("Move it to Monday.")
        await run.user_says("Actually, Friday at eleven after all.")
    moved = run.report.tool_call("reschedule_meeting")
    assert moved.is_error and "No meeting is booked" in moved.output
    first, again = outputs(run.report, "schedule_meeting")
    assert not first.is_error and not again.is_error
    old, new = json.loads(first.output)["event_id"], json.loads(again.output)["event_id"]
    assert old != new
    assert fake_graph.events[old]["isCancelled"] and not fake_graph.events[new].get("isCancelled")
    assert fake_graph.events[old]["transactionId"] != fake_graph.events[new]["transactionId"]
    meeting = run.report.data["meeting"]
    assert (meeting["event_id"], meeting["status"]) == (new, "booked")
    assert run.report.data["teams"]["cancelled_meetings"][0]["event_id"] == old
    assert run.report.disposition.value == "meeting_booked"


# -- 7. reschedule hints come from the meeting's organizer --------------------------------


async def test_reschedule_hint_is_the_organizers_next_free_time(voicekit, fake_graph):
    from datetime import datetime, timezone

    utc = timezone.utc
    fake_graph.add_busy(
        ORGANIZER, datetime(2026, 3, 9, 15, tzinfo=utc), datetime(2026, 3, 9, 17, tzinfo=utc)
    )
    hint = "2026-03-09T17:00:00+00:00"  # the organizer's; the team's would be 15:00Z
    llm = ScriptedLLM(
        replies(
            BOOK_FIRST,
            "Booked.",
            ToolCall("reschedule_meeting", {"start": MONDAY}),
            "That's not free; how about one pm?",
            ToolCall("reschedule_meeting", {"start": hint}),
            "Moved.",
        )
    )
    dep = deployment(voicekit, fake_graph, organizers=[ORGANIZER, SECOND])
    async with voicekit.call(dep, llm=llm) as run:
        await run.user_says("Friday at eleven.")
        await run.user_says("Monday at eleven instead?")
        await run.user_says("One pm then.")
    refused, moved = outputs(run.report, "reschedule_meeting")
    assert refused.is_error and "not free for the meeting's host" in refused.output
    assert hint in refused.output and "Monday, March 9 at 1:00 PM EDT" in refused.output
    assert not moved.is_error and json.loads(moved.output)["start"] == hint
    [patch] = fake_graph.calls("updateEvent")
    assert patch.path.startswith(f"/v1.0/users/{ORGANIZER}/events/")
    assert lower_keys(patch.json)["start"]["datetime"] == "2026-03-09T17:00:00"


# -- 8. an organizer whose schedule errors is skipped, wherever it sits --------------------


@pytest.mark.parametrize("team", [[BAD, ORGANIZER], [ORGANIZER, BAD]], ids=["first", "second"])
async def test_unknown_mailbox_is_skipped_with_a_warning(voicekit, fake_graph, team):
    fake_graph.unknown.add(BAD)
    check = ToolCall("check_availability", {})
    llm = ScriptedLLM(replies(check, "Times.", BOOK_FIRST, "Booked.", check, "More times."))
    async with voicekit.call(deployment(voicekit, fake_graph, organizers=team), llm=llm) as run:
        await run.user_says("When?")
        await run.user_says("Friday at eleven.")
        await run.user_says("And other times?")
    first = run.report.tool_call("check_availability")
    assert not first.is_error and json.loads(first.output)["slots"]
    assert run.report.data["meeting"]["organizer"] == ORGANIZER
    warnings = run.report.data["teams"]["warnings"]
    assert {"organizer": BAD, "code": "5009"} in [
        {k: w[k] for k in ("organizer", "code")} for w in warnings
    ]
    schedule_paths = [r.path for r in fake_graph.calls("getSchedule")]
    bad_path = f"/v1.0/users/{BAD}/calendar/getSchedule"
    if team[0] == BAD:  # asked through the bad mailbox once (404), then never again
        assert schedule_paths.count(bad_path) == 1 and schedule_paths[0] == bad_path
        assert any(w["code"] == "ErrorInvalidUser" for w in warnings)
    else:
        assert bad_path not in schedule_paths
    assert sum(BAD in note for note in run.report.notes) == len(warnings)
