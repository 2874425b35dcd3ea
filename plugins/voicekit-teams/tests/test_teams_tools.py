"""The calendar tools in a real AgentSession (scripted model) against the fake Graph."""

from __future__ import annotations

import json

from teams_fake_graph import ORGANIZER, SECRET_ENV, ci, lower_keys, teams_table

from voicekit_core.testing import MINIMAL_CONFIG, ScriptedLLM, ToolCall, replies

LEADS = """\
prospect_name,company_name,job_title,phone,email,timezone,resource_name
Dana Whitfield,Brightline Logistics,VP of Operations,+14155550123,dana@brightline.example,America/Los_Angeles,alex
"""
# Friday 2026-03-06 9:00 EST; 2 h notice -> first slot 11:00 EST = 16:00Z = 8:00 AM PST.
NOW = "2026-03-06T14:00:00Z"
FIRST = "2026-03-06T16:00:00+00:00"
# Monday after the DST change: 9:00 EDT (13:00Z) is 6:00 AM PDT, before Dana's 8:00; the
# first slot inside her hours is 11:00 EDT = 15:00Z = 8:00 AM PDT.
MONDAY = "2026-03-09T15:00:00+00:00"
EMAIL = "dana@brightline.example"


def deployment(voicekit, fake, **overrides):
    config = (
        MINIMAL_CONFIG
        + '\n[plugins]\nenable = ["teams"]\n\n'
        + teams_table(fake.base_url, fixed_now=NOW, **overrides)
    )
    return voicekit.load(voicekit.write(config, files={"leads.csv": LEADS}), environ=SECRET_ENV)


def outputs(report, name):
    return [t for t in report.tool_calls if t.name == name]


def schedule(start: str = FIRST) -> ToolCall:
    """The model books ``start`` for Dana."""
    return ToolCall("schedule_meeting", {"start": start, "attendee_email": EMAIL})


async def ask_availability(voicekit, fake, reply: str):
    """A call in which the model checks availability once, then says ``reply``: its report."""
    llm = ScriptedLLM(replies(ToolCall("check_availability", {}), reply))
    async with voicekit.call(deployment(voicekit, fake), llm=llm) as run:
        await run.user_says("When can we meet?")
    return run.report


async def book_twice(voicekit, fake):
    """A call in which the model books ``FIRST``, then, asked again, books it again: its
    report."""
    call = schedule()
    llm = ScriptedLLM(replies(call, "Let me check.", call, "Booked."))
    async with voicekit.call(deployment(voicekit, fake), llm=llm) as run:
        await run.user_says("Book Friday.")
        await run.user_says("Did it work?")
    return run.report


async def test_check_availability_speaks_in_the_prospects_timezone(voicekit, fake_graph):
    report = await ask_availability(voicekit, fake_graph, "Here are some times.")
    data = json.loads(report.tool_call("check_availability").output)
    assert data["timezone"] == "America/Los_Angeles"
    assert data["slots"][0] == {"start": FIRST, "label": "Friday, March 6 at 8:00 AM PST"}
    # Across the DST change: Monday 9:00 New York (13:00Z) would be 6:00 AM PDT for Dana,
    # before her 8:00; 11:00 EDT is her 8:00 AM PDT.
    assert data["slots"][1] == {"start": MONDAY, "label": "Monday, March 9 at 8:00 AM PDT"}
    assert report.data["tools"]["check_availability"] == "teams"


async def test_booking_request_body_and_report(voicekit, fake_graph):
    llm = ScriptedLLM(
        replies(
            ToolCall(
                "schedule_meeting", {"start": FIRST, "attendee_email": EMAIL, "topic": "TDX intro"}
            ),
            "Booked.",
        )
    )
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Friday at eight works.")
    created = fake_graph.calls("createEvent")
    assert len(created) == 1
    assert created[0].path == f"/v1.0/users/{ORGANIZER}/events"
    body = lower_keys(created[0].json)
    assert body["isonlinemeeting"] is True
    assert body["onlinemeetingprovider"] == "teamsForBusiness"
    assert body["subject"] == "TDX intro"
    assert body["start"] == {"datetime": "2026-03-06T16:00:00", "timezone": "UTC"}
    assert body["end"] == {"datetime": "2026-03-06T16:30:00", "timezone": "UTC"}
    (attendee,) = body["attendees"]
    assert attendee["emailaddress"] == {"address": EMAIL, "name": "Dana Whitfield"}
    assert attendee["type"] == "required"
    assert body["body"]["contenttype"] == "text"
    assert "Dana Whitfield" in body["body"]["content"]
    assert body["transactionid"]
    result = json.loads(run.report.tool_call("schedule_meeting").output)
    assert result["status"] == "booked"
    assert result["label"] == "Friday, March 6 at 8:00 AM PST"
    meeting = run.report.data["meeting"]
    event = next(iter(fake_graph.events.values()))
    assert meeting["event_id"] == event["id"]
    assert meeting["join_url"] == event["onlineMeeting"]["joinUrl"]
    assert (meeting["organizer"], meeting["attendee_email"]) == (ORGANIZER, EMAIL)
    assert meeting["start"] == FIRST
    assert run.report.disposition.value == "meeting_booked"


async def test_repeated_schedule_call_books_once(voicekit, fake_graph):
    report = await book_twice(voicekit, fake_graph)
    first, second = outputs(report, "schedule_meeting")
    assert not first.is_error and first.output == second.output
    assert len(fake_graph.events) == 1
    assert len(fake_graph.calls("createEvent")) == 1


async def test_transaction_id_makes_graph_retries_idempotent(fake_graph):
    from datetime import datetime, timedelta, timezone

    from voicekit_teams import graph
    from voicekit_teams.booking import build_event, create_event, transaction_id
    from voicekit_teams.settings import TeamsSettings

    settings = TeamsSettings(
        tenant_id="t",
        client_id="c",
        client_secret="x",
        organizers=[ORGANIZER],
        graph_base_url=fake_graph.base_url,
        local_token="test-token",
        max_retries=0,
    )
    client = graph.build_client(settings)
    start = datetime(2026, 3, 6, 16, tzinfo=timezone.utc)
    txn = transaction_id("20260306T140000-abc123", start)
    assert txn == transaction_id("20260306T140000-abc123", start)

    def event():
        return build_event(
            subject="s",
            start=start,
            end=start + timedelta(minutes=30),
            attendee_email=EMAIL,
            attendee_name=None,
            body="b",
            txn=txn,
        )

    first = await create_event(client, ORGANIZER, event())
    second = await create_event(client, ORGANIZER, event())  # e.g. a new worker process
    assert first == second
    assert len(fake_graph.events) == 1
    sent = {ci(r.json, "transactionId") for r in fake_graph.calls("createEvent")}
    assert sent == {txn}


async def test_missing_email_asks_for_it(voicekit, fake_graph):
    llm = ScriptedLLM(replies(ToolCall("schedule_meeting", {"start": FIRST}), "What's your email?"))
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Friday works.")
    record = run.report.tool_call("schedule_meeting")
    assert record.is_error
    assert "email" in record.output
    assert fake_graph.calls("createEvent") == []


async def test_slot_taken_meanwhile_offers_the_next(voicekit, fake_graph):
    from datetime import datetime, timezone

    llm = ScriptedLLM(
        replies(
            ToolCall("check_availability", {}),
            "Friday at 8?",
            _then(
                lambda: fake_graph.add_busy(
                    ORGANIZER,
                    datetime(2026, 3, 6, 16, tzinfo=timezone.utc),
                    datetime(2026, 3, 6, 17, tzinfo=timezone.utc),
                )
            ),
            "Sorry, that was just taken.",
        )
    )
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("When?")
        await run.user_says("Friday at eight.")
    record = run.report.tool_call("schedule_meeting")
    assert record.is_error
    assert "just taken" in record.output
    # The next free time: 17:00Z = 9:00 AM PST, given with its start so it can be booked.
    assert "Friday, March 6 at 9:00 AM PST" in record.output
    assert "2026-03-06T17:00:00+00:00" in record.output
    assert fake_graph.calls("createEvent") == []
    assert run.report.disposition.value != "meeting_booked"


def _then(action):
    """A policy step that runs ``action`` (the calendar changes) and books the first slot."""
    from voicekit_core.testing import Reply

    def policy(chat_ctx, tools):
        action()
        return Reply(tool_calls=[schedule()])

    return policy


async def test_forbidden_apologises_and_reports(voicekit, fake_graph):
    fake_graph.fail["getSchedule"] = 403
    report = await ask_availability(voicekit, fake_graph, "Sorry, let me take a message.")
    record = report.tool_call("check_availability")
    assert record.is_error
    assert "take a message" in record.output
    assert SECRET_ENV["TEAMS_CLIENT_SECRET"] not in record.output
    [error] = report.data["teams"]["errors"]
    assert {k: error[k] for k in ("operation", "kind", "status", "code")} == {
        "operation": "getSchedule",
        "kind": "forbidden",
        "status": 403,
        "code": "ErrorAccessDenied",
    }
    assert error["attempts"] == 1  # a 403 is not retried
    follow_up = report.data["teams"]["follow_up"]
    assert follow_up["action"] == "email_times"
    assert follow_up["attendee_email"] == EMAIL
    assert report.disposition.value == "qualified"
    assert any("403" in note for note in report.notes)
    assert SECRET_ENV["TEAMS_CLIENT_SECRET"] not in report.model_dump_json()


async def test_unavailable_graph_fails_fast_without_retries(voicekit, fake_graph):
    fake_graph.fail["getSchedule"] = 503
    report = await ask_availability(voicekit, fake_graph, "Sorry.")
    record = report.tool_call("check_availability")
    assert record.is_error
    assert "not responding" in record.output
    assert len(fake_graph.calls("getSchedule")) == 1  # max_retries = 0
    assert report.data["teams"]["errors"][0]["status"] == 503
    assert "meeting" not in report.data


async def test_unconfirmed_create_is_resent_once_then_left_pending(voicekit, fake_graph):
    fake_graph.fail["createEvent"] = 503
    llm = ScriptedLLM(replies(schedule(), "Sorry."))
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Book Friday.")
    record = run.report.tool_call("schedule_meeting")
    assert record.is_error
    assert "has not confirmed the booking" in record.output
    created = fake_graph.calls("createEvent")
    assert len(created) == 2  # max_retries = 0; one re-send with the same transactionId
    assert ci(created[0].json, "transactionId") == ci(created[1].json, "transactionId")
    teams = run.report.data["teams"]
    pending = teams["pending_booking"]
    assert pending["transaction_id"] == ci(created[0].json, "transactionId")
    assert (pending["organizer"], pending["start"]) == (ORGANIZER, FIRST)
    assert teams["errors"][0]["status"] == 503
    assert teams["follow_up"]["action"] == "confirm_booking"
    assert teams["follow_up"]["transaction_id"] == pending["transaction_id"]
    assert "meeting" not in run.report.data


async def test_event_stored_then_502_is_resent_with_the_same_transaction_id(voicekit, fake_graph):
    fake_graph.commit_then_fail["createEvent"] = [502]
    llm = ScriptedLLM(replies(schedule(), "Done."))
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Book Friday.")
    result = json.loads(run.report.tool_call("schedule_meeting").output)
    [event] = fake_graph.events.values()
    assert result["status"] == "booked" and result["event_id"] == event["id"]
    assert run.report.data["meeting"]["event_id"] == event["id"]
    assert {ci(r.json, "transactionId") for r in fake_graph.calls("createEvent")} == {
        event["transactionId"]
    }
    assert len(fake_graph.calls("createEvent")) == 2


async def test_pending_booking_that_was_stored_is_settled_not_booked_again(voicekit, fake_graph):
    """Both replies are lost although Graph stored the event; asked again, the tool sends
    the create once more with its transactionId and gets the stored event back, instead
    of calling the slot taken or booking anew."""
    fake_graph.commit_then_fail["createEvent"] = [502, 502]
    report = await book_twice(voicekit, fake_graph)
    first, second = outputs(report, "schedule_meeting")
    assert first.is_error and not second.is_error
    [event] = fake_graph.events.values()
    assert json.loads(second.output)["event_id"] == event["id"]
    created = fake_graph.calls("createEvent")
    assert len(created) == 3
    assert {ci(r.json, "transactionId") for r in created} == {event["transactionId"]}
    assert len(fake_graph.calls("getSchedule")) == 1
    assert report.data["meeting"]["transaction_id"] == event["transactionId"]
    assert "pending_booking" not in report.data["teams"]
    assert "follow_up" not in report.data["teams"]
    assert report.disposition.value == "meeting_booked"


async def test_pending_booking_that_was_not_stored_is_booked_on_the_next_try(voicekit, fake_graph):
    fake_graph.fail_once["createEvent"] = [502, 502]
    report = await book_twice(voicekit, fake_graph)
    second = outputs(report, "schedule_meeting")[1]
    assert not second.is_error
    assert len(fake_graph.events) == 1
    assert len(fake_graph.calls("createEvent")) == 3
    assert any("settling unconfirmed booking" in note for note in report.notes)


async def test_pending_booking_settled_when_another_slot_is_asked_for(voicekit, fake_graph):
    fake_graph.commit_then_fail["createEvent"] = [502, 502]
    llm = ScriptedLLM(
        replies(
            schedule(),
            "Let me try another time.",
            schedule(MONDAY),
            "It seems Friday went through.",
        )
    )
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Book Friday.")
        await run.user_says("Monday then?")
    second = outputs(run.report, "schedule_meeting")[1]
    assert second.is_error
    assert "already booked for Friday, March 6 at 8:00 AM PST" in second.output
    assert len(fake_graph.events) == 1 and len(fake_graph.calls("createEvent")) == 3
    assert run.report.data["meeting"]["start"] == FIRST


async def test_reschedule_and_cancel_the_booked_meeting(voicekit, fake_graph):
    llm = ScriptedLLM(
        replies(
            schedule(),
            "Booked.",
            ToolCall("reschedule_meeting", {"start": MONDAY}),
            "Moved.",
            ToolCall("cancel_meeting", {"reason": "Prospect changed plans"}),
            "Cancelled.",
        )
    )
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Friday works.")
        await run.user_says("Actually, Monday instead?")
        await run.user_says("Cancel it, sorry.")
    patch = fake_graph.calls("updateEvent")
    assert len(patch) == 1
    assert lower_keys(patch[0].json)["start"] == {
        "datetime": "2026-03-09T15:00:00",
        "timezone": "UTC",
    }
    result = json.loads(run.report.tool_call("reschedule_meeting").output)
    assert (result["status"], result["label"]) == ("rescheduled", "Monday, March 9 at 8:00 AM PDT")
    assert result["start"] == MONDAY
    cancel = fake_graph.calls("cancelEvent")
    assert len(cancel) == 1 and ci(cancel[0].json, "comment") == "Prospect changed plans"
    assert run.report.data["meeting"]["status"] == "cancelled"
    assert run.report.data["meeting"]["start"] == MONDAY
    assert run.report.disposition.value != "meeting_booked"


async def test_cancel_without_booking_is_a_tool_error(voicekit, fake_graph):
    llm = ScriptedLLM(replies(ToolCall("cancel_meeting", {}), "Nothing to cancel."))
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Cancel my meeting.")
    record = run.report.tool_call("cancel_meeting")
    assert record.is_error and "No meeting" in record.output
