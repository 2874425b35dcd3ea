"""Free/busy -> offered slots: busy time, working hours, notice, DST, team assignment."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from teams_fake_graph import ORGANIZER, TOKEN
from voicekit_teams import graph
from voicekit_teams.availability import find_offers
from voicekit_teams.settings import TeamsSettings

UTC = timezone.utc


def settings_for(fake, **overrides) -> TeamsSettings:
    values = {
        "tenant_id": "t",
        "client_id": "c",
        "client_secret": "x",
        "organizers": [ORGANIZER],
        "rep_timezone": "America/New_York",
        "graph_base_url": fake.base_url,
        "local_token": TOKEN,
        "max_retries": 0,
        "timeout_seconds": 5,
    }
    values.update(overrides)
    return TeamsSettings(**values)


async def offers(fake, now: datetime, **overrides):
    settings = settings_for(fake, **overrides)
    client = graph.build_client(settings, graph.StaticTokenCredential(TOKEN))
    found, _schedule = await find_offers(client, settings, now=now)
    return found


def starts(found) -> list[datetime]:
    return [o.slot.start for o in found]


async def test_busy_slots_are_excluded(fake_graph):
    # Monday 2026-03-02 08:00 EST; 2 h notice -> 10:00 EST earliest; busy 10:00-11:00 EST.
    fake_graph.add_busy(
        ORGANIZER, datetime(2026, 3, 2, 15, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC)
    )
    found = await offers(
        fake_graph, datetime(2026, 3, 2, 13, tzinfo=UTC), one_per_day=False, max_slots=3
    )
    assert starts(found) == [
        datetime(2026, 3, 2, 16, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 16, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 17, 0, tzinfo=UTC),
    ]
    request = fake_graph.calls("getSchedule")[0]
    assert request.path == f"/v1.0/users/{ORGANIZER}/calendar/getSchedule"
    prefer = {k.lower(): v for k, v in request.headers.items()}.get("prefer")
    assert prefer == 'outlook.timezone="UTC"'


async def test_working_hours_weekends_and_notice(fake_graph):
    # Friday 2026-03-06 15:30 EST: 2 h notice passes the 17:00 close, weekend is skipped.
    found = await offers(fake_graph, datetime(2026, 3, 6, 20, 30, tzinfo=UTC), max_slots=2)
    assert starts(found) == [
        datetime(2026, 3, 9, 13, 0, tzinfo=UTC),  # Monday 9:00 EDT (DST began Sunday)
        datetime(2026, 3, 10, 13, 0, tzinfo=UTC),  # Tuesday 9:00 EDT (one per day)
    ]
    # A notice of 3 h on Monday 8:00 EST leaves 11:00 EST as the earliest slot.
    found = await offers(
        fake_graph,
        datetime(2026, 3, 2, 13, tzinfo=UTC),
        notice_hours=3,
        max_slots=1,
        working_hours=["09:00:00", "12:00:00"],
    )
    assert starts(found) == [datetime(2026, 3, 2, 16, 0, tzinfo=UTC)]


async def test_slots_across_a_dst_change_keep_local_working_hours(fake_graph):
    # US clocks spring forward on Sunday 2026-03-08: 9:00 New York is 14:00Z before, 13:00Z after.
    found = await offers(fake_graph, datetime(2026, 3, 5, 22, tzinfo=UTC), max_slots=2)
    assert starts(found) == [
        datetime(2026, 3, 6, 14, 0, tzinfo=UTC),
        datetime(2026, 3, 9, 13, 0, tzinfo=UTC),
    ]
    # A meeting busy across the change blocks the right UTC hour on Monday.
    fake_graph.add_busy(
        ORGANIZER, datetime(2026, 3, 9, 13, tzinfo=UTC), datetime(2026, 3, 9, 14, tzinfo=UTC)
    )
    found = await offers(fake_graph, datetime(2026, 3, 7, 12, tzinfo=UTC), max_slots=1)
    assert starts(found) == [datetime(2026, 3, 9, 14, 0, tzinfo=UTC)]  # 10:00 EDT


@pytest.mark.parametrize(
    ("assignment", "expected"), [("first_free", "a@tdx.example"), ("round_robin", "a@tdx.example")]
)
async def test_team_first_free_skips_a_busy_rep(fake_graph, assignment, expected):
    team = ["a@tdx.example", "b@tdx.example"]
    fake_graph.add_busy(
        "b@tdx.example", datetime(2026, 3, 2, 0, tzinfo=UTC), datetime(2026, 3, 3, 0, tzinfo=UTC)
    )
    found = await offers(
        fake_graph,
        datetime(2026, 3, 2, 13, tzinfo=UTC),
        organizers=team,
        assignment=assignment,
        max_slots=1,
    )
    assert [o.organizer for o in found] == [expected]
    # The busy rep is busy all Monday; a single busy rep doesn't remove the slot.
    fake_graph.add_busy(
        "a@tdx.example", datetime(2026, 3, 2, 15, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC)
    )
    found = await offers(
        fake_graph, datetime(2026, 3, 2, 13, tzinfo=UTC), organizers=team, max_slots=1
    )
    assert starts(found) == [datetime(2026, 3, 2, 16, 0, tzinfo=UTC)]
    assert ci_schedules(fake_graph) == team


def ci_schedules(fake) -> list[str]:
    from teams_fake_graph import ci

    return ci(fake.calls("getSchedule")[-1].json, "schedules")


async def test_round_robin_rotates_between_free_reps(fake_graph):
    settings = settings_for(
        fake_graph, organizers=["a@tdx.example", "b@tdx.example"], assignment="round_robin"
    )
    client = graph.build_client(settings, graph.StaticTokenCredential(TOKEN))
    now = datetime(2026, 3, 2, 13, tzinfo=UTC)
    first, _ = await find_offers(client, settings, now=now, rotation=0, max_slots=1)
    second, _ = await find_offers(client, settings, now=now, rotation=1, max_slots=1)
    assert [first[0].organizer, second[0].organizer] == ["a@tdx.example", "b@tdx.example"]
    assert first[0].slot == second[0].slot


async def test_graph_errors_become_problems(fake_graph):
    from voicekit_teams.graph import GraphProblem

    fake_graph.fail["getSchedule"] = 403
    with pytest.raises(GraphProblem) as caught:
        await offers(fake_graph, datetime(2026, 3, 2, 13, tzinfo=UTC))
    assert (caught.value.kind, caught.value.status) == ("forbidden", 403)
    fake_graph.fail["getSchedule"] = 503
    with pytest.raises(GraphProblem) as caught:
        await offers(fake_graph, datetime(2026, 3, 2, 13, tzinfo=UTC))
    assert (caught.value.kind, caught.value.status) == ("unavailable", 503)
    assert len(fake_graph.calls("getSchedule")) == 2  # retries off: one request each
