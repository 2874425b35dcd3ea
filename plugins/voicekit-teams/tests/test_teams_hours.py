"""Whose hours count: each organizer's workingHours from Graph (Windows and custom zones),
the prospect's acceptable hours in their own zone, and zones in Graph's answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from teams_fake_graph import (
    ORGANIZER,
    SECRET_ENV,
    custom_working_hours,
    teams_table,
    working_hours,
)

from voicekit_core.testing import MINIMAL_CONFIG, ScriptedLLM, ToolCall, replies

UTC = timezone.utc
PACIFIC = ZoneInfo("America/Los_Angeles")
# Friday 2026-03-06 6:00 EST; 2 h notice -> 8:00 EST (13:00Z) earliest.
EARLY = "2026-03-06T11:00:00Z"
NOW = "2026-03-06T14:00:00Z"  # 9:00 EST
EMAIL = "prospect@example.com"
SECOND = "jordan.lee@tdx.example"


def leads(tz: str) -> str:
    return (
        "prospect_name,company_name,job_title,phone,email,timezone,resource_name\n"
        f"Pat Prospect,Example Co,CTO,+14155550123,{EMAIL},{tz},rep\n"
    )


def deployment(voicekit, fake, tz="America/New_York", **overrides):
    config = (
        MINIMAL_CONFIG
        + '\n[plugins]\nenable = ["teams"]\n\n'
        + teams_table(fake.base_url, **{"fixed_now": NOW, **overrides})
    )
    return voicekit.load(voicekit.write(config, files={"leads.csv": leads(tz)}), environ=SECRET_ENV)


async def availability(voicekit, fake, **options):
    llm = ScriptedLLM(replies(ToolCall("check_availability", {"max_slots": 10}), "Times."))
    async with voicekit.call(deployment(voicekit, fake, **options), llm=llm) as run:
        await run.user_says("When can we meet?")
    return run.report, json.loads(run.report.tool_call("check_availability").output)


def booking(start: str, reply: str) -> ScriptedLLM:
    """A model that books ``start`` for the lead, then says ``reply``."""
    call = ToolCall("schedule_meeting", {"start": start, "attendee_email": EMAIL})
    return ScriptedLLM(replies(call, reply))


def starts(data) -> list[datetime]:
    return [datetime.fromisoformat(s["start"]) for s in data["slots"]]


# -- 3. the organizers' working hours from Graph ------------------------------------------


@pytest.mark.parametrize(
    "hours",
    [working_hours("08:00", "17:00", "Pacific Standard Time"), custom_working_hours()],
    ids=["windows-name", "custom-zone"],
)
async def test_pacific_organizers_are_offered_in_their_hours_not_the_configs(
    voicekit, fake_graph, hours
):
    """Config: New York 9-17 (the example's); organizers: Pacific 8-17 per Graph. The
    issue saw 6:00 AM Pacific offers; now nothing starts before 8:00 Pacific."""
    team = [ORGANIZER, SECOND]
    for organizer in team:
        fake_graph.working_hours[organizer] = hours
    report, data = await availability(
        voicekit, fake_graph, organizers=team, fixed_now=EARLY, one_per_day=False
    )
    found = starts(data)
    assert found[0] == datetime(2026, 3, 6, 16, tzinfo=UTC)  # 8:00 PST, not 9:00 EST
    for start in found:
        local = start.astimezone(PACIFIC)
        assert (8, 0) <= (local.hour, local.minute) <= (16, 30), local
    assert "warnings" not in report.data.get("teams", {})


async def test_custom_zone_hours_follow_daylight_saving(voicekit, fake_graph):
    fake_graph.working_hours[ORGANIZER] = custom_working_hours()
    # Friday 15:00 PST + 2 h notice passes the 17:00 close: the next day is Monday.
    _report, data = await availability(voicekit, fake_graph, fixed_now="2026-03-06T23:00:00Z")
    # Monday after the US change: 8:00 PDT is 15:00Z (it was 16:00Z on Friday).
    assert starts(data)[0] == datetime(2026, 3, 9, 15, tzinfo=UTC)


async def test_config_hours_are_the_fallback(voicekit, fake_graph):
    fake_graph.working_hours[ORGANIZER] = None  # Graph sent no workingHours
    _report, data = await availability(voicekit, fake_graph, fixed_now=EARLY)
    assert starts(data)[0] == datetime(2026, 3, 6, 14, tzinfo=UTC)  # 9:00 New York (config)
    fake_graph.working_hours[ORGANIZER] = working_hours("08:00", "17:00", "Pacific Standard Time")
    _report, data = await availability(
        voicekit, fake_graph, fixed_now=EARLY, use_graph_working_hours=False
    )
    assert starts(data)[0] == datetime(2026, 3, 6, 14, tzinfo=UTC)


async def test_mixed_team_each_hosts_in_their_own_hours(voicekit, fake_graph):
    fake_graph.working_hours[SECOND] = working_hours("08:00", "17:00", "Pacific Standard Time")
    llm = booking("2026-03-06T21:00:00+00:00", "Booked.")
    # 21:00Z = 16:00 EST (New York organizer, first in order, works) -> first organizer;
    # 22:00Z = 17:00 EST: only the Pacific organizer works.
    dep = deployment(voicekit, fake_graph, organizers=[ORGANIZER, SECOND])
    async with voicekit.call(dep, llm=llm) as run:
        await run.user_says("Four pm.")
    assert run.report.data["meeting"]["organizer"] == ORGANIZER
    llm = booking("2026-03-06T22:00:00+00:00", "Booked.")
    async with voicekit.call(dep, llm=llm) as run:
        await run.user_says("Five pm.")
    assert run.report.data["meeting"]["organizer"] == SECOND


async def test_booking_outside_the_organizers_hours_is_refused(voicekit, fake_graph):
    fake_graph.working_hours[ORGANIZER] = working_hours("08:00", "17:00", "Pacific Standard Time")
    # 15:00Z = 10:00 EST (inside the config's New York hours) = 7:00 PST
    llm = booking("2026-03-06T15:00:00+00:00", "Sorry.")
    async with voicekit.call(deployment(voicekit, fake_graph, fixed_now=EARLY), llm=llm) as run:
        await run.user_says("Ten am.")
    record = run.report.tool_call("schedule_meeting")
    assert record.is_error and "outside the team's working hours" in record.output
    assert fake_graph.calls("createEvent") == []


# -- 4. the prospect's acceptable hours ---------------------------------------------------


async def test_tokyo_lead_is_only_offered_times_in_tokyo_business_hours(voicekit, fake_graph):
    """Pacific organizers 9-17 overlap 8:00-10:00 in Tokyo; the issue saw 4:00, 1:30 and
    3:00 AM JST offered (and booked)."""
    fake_graph.working_hours[ORGANIZER] = working_hours("09:00", "17:00", "Pacific Standard Time")
    _report, data = await availability(voicekit, fake_graph, tz="Asia/Tokyo", one_per_day=False)
    assert data["timezone"] == "Asia/Tokyo"
    tokyo = ZoneInfo("Asia/Tokyo")
    assert data["slots"]
    for slot, start in zip(data["slots"], starts(data), strict=True):
        local = start.astimezone(tokyo)
        assert local.weekday() < 5 and (8, 0) <= (local.hour, local.minute) <= (9, 30), slot
        assert slot["label"].endswith("JST") and " AM " in slot["label"]
    assert data["slots"][0]["label"] == "Tuesday, March 10 at 8:00 AM JST"  # Mon 16:00 PDT


async def test_booking_outside_the_prospects_hours_is_refused(voicekit, fake_graph):
    fake_graph.working_hours[ORGANIZER] = working_hours("09:00", "17:00", "Pacific Standard Time")
    # 19:00Z Monday = 11:00 PST (organizer working) = 4:00 AM JST Tuesday.
    start = "2026-03-09T19:00:00+00:00"
    llm = booking(start, "Sorry.")
    async with voicekit.call(deployment(voicekit, fake_graph, tz="Asia/Tokyo"), llm=llm) as run:
        await run.user_says("Four am works.")
    record = run.report.tool_call("schedule_meeting")
    assert record.is_error and "outside the prospect's meeting hours" in record.output
    assert "08:00 to 18:00" in record.output
    assert fake_graph.calls("createEvent") == [] and fake_graph.calls("getSchedule") == []


async def test_prospect_hours_are_configurable(voicekit, fake_graph):
    fake_graph.working_hours[ORGANIZER] = working_hours("09:00", "17:00", "Pacific Standard Time")
    _report, data = await availability(
        voicekit,
        fake_graph,
        tz="Asia/Tokyo",
        one_per_day=False,
        prospect_hours=["07:00:00", "18:00:00"],
        prospect_days=[0, 1, 2, 3, 4, 5],
    )
    labels = [s["label"] for s in data["slots"]]
    assert any("7:00 AM JST" in label for label in labels)
    assert any(label.startswith("Saturday") for label in labels)  # Friday afternoon Pacific


# -- 5. zones in Graph's answers ----------------------------------------------------------


async def test_busy_times_in_a_windows_zone_are_not_read_as_utc(voicekit, fake_graph):
    """The Prefer header is ignored and busy times come in Pacific time: 8:00-9:00 PST is
    16:00-17:00Z, so 16:00Z is taken (read as UTC, it looked free and was booked)."""
    fake_graph.answer_zone[ORGANIZER] = "Pacific Standard Time"
    fake_graph.add_busy(
        ORGANIZER, datetime(2026, 3, 6, 16, tzinfo=UTC), datetime(2026, 3, 6, 17, tzinfo=UTC)
    )
    start = "2026-03-06T16:00:00+00:00"
    llm = booking(start, "Taken.")
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("Eleven am.")
    record = run.report.tool_call("schedule_meeting")
    assert record.is_error and "just taken" in record.output
    assert "2026-03-06T17:00:00+00:00" in record.output
    items = fake_graph.calls("getSchedule")
    assert items and fake_graph.events == {}


async def test_unknown_zone_in_an_answer_is_refused_with_a_clear_error(voicekit, fake_graph):
    fake_graph.answer_zone[ORGANIZER] = "Mars Standard Time"
    fake_graph.add_busy(
        ORGANIZER, datetime(2026, 3, 6, 16, tzinfo=UTC), datetime(2026, 3, 6, 17, tzinfo=UTC)
    )
    llm = ScriptedLLM(replies(ToolCall("check_availability", {}), "Sorry."))
    async with voicekit.call(deployment(voicekit, fake_graph), llm=llm) as run:
        await run.user_says("When?")
    report = run.report
    record = report.tool_call("check_availability")
    assert record.is_error and "can't read" in record.output and "email" in record.output
    teams = report.data["teams"]
    assert teams["warnings"][0]["code"] == "UnknownTimeZone"
    assert "Mars Standard Time" in teams["warnings"][0]["message"]
    assert teams["errors"][0]["kind"] == "unreadable"
    assert teams["follow_up"]["action"] == "email_times"
    assert any("Mars Standard Time" in note for note in report.notes)


def test_hours_grid_and_midnight_close():
    from voicekit_teams.availability import Hours

    from voicekit_core.scheduling import Interval

    late = Hours(
        ZoneInfo("Asia/Tokyo"), datetime(2026, 1, 1, 22).time(), datetime(2026, 1, 1).time(), (0,)
    )
    monday = datetime(2026, 3, 9, 23, 30, tzinfo=ZoneInfo("Asia/Tokyo"))
    slot = Interval(monday.astimezone(UTC), (monday + timedelta(minutes=30)).astimezone(UTC))
    assert late.contains(slot) and late.on_grid(slot, timedelta(minutes=30))
    assert not late.on_grid(slot, timedelta(minutes=60))
