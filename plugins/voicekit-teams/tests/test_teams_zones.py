"""Graph's time zone names -> tzinfo: Windows ids (CLDR via tzlocal), IANA, custom zones."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from teams_fake_graph import custom_working_hours
from voicekit_teams.availability import graph_hours, parse_graph_datetime
from voicekit_teams.zones import CustomZone, Transition, UnknownTimeZone, zone_named

UTC = timezone.utc


@pytest.mark.parametrize(
    ("name", "iana"),
    [
        ("Pacific Standard Time", "America/Los_Angeles"),
        ("eastern standard time", "America/New_York"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("India Standard Time", "Asia/Calcutta"),
        ("America/Los_Angeles", "America/Los_Angeles"),
    ],
)
def test_windows_and_iana_names(name, iana):
    assert zone_named(name) == ZoneInfo(iana)


def test_utc_names_and_unknown_names():
    assert zone_named("UTC") is UTC
    assert zone_named("tzone://Microsoft/Utc") is UTC
    for bad in ("Mars Standard Time", "", "Nowhere/Atlantis"):
        with pytest.raises(UnknownTimeZone):
            zone_named(bad)


def test_response_times_in_a_windows_zone_are_converted_not_read_as_utc():
    moment = parse_graph_datetime("2026-03-06T08:00:00.0000000", "Pacific Standard Time")
    assert moment == datetime(2026, 3, 6, 16, tzinfo=UTC)
    after_dst = parse_graph_datetime("2026-03-09T08:00:00.0000000", "Pacific Standard Time")
    assert after_dst == datetime(2026, 3, 9, 15, tzinfo=UTC)
    assert parse_graph_datetime("2026-03-06T08:00:00.0000000", None) == datetime(
        2026, 3, 6, 8, tzinfo=UTC
    )
    with pytest.raises(UnknownTimeZone, match="Mars Standard Time"):
        parse_graph_datetime("2026-03-06T08:00:00.0000000", "Mars Standard Time")


def _walk(zone, reference, year):
    """Every half hour of ``year``: ``zone`` and ``reference`` give the same wall clock
    (fromutc) and the same UTC instant for that wall clock (utcoffset)."""
    moment = datetime(year, 1, 1, tzinfo=UTC)
    mismatches = 0
    while moment.year == year:
        ours, theirs = moment.astimezone(zone), moment.astimezone(reference)
        if ours.replace(tzinfo=None) != theirs.replace(tzinfo=None):
            mismatches += 1
        wall = theirs.replace(tzinfo=None)
        back = wall.replace(tzinfo=zone).astimezone(UTC)
        if theirs.fold == 0 and back != moment and wall.replace(tzinfo=reference) == theirs:
            mismatches += 1
        moment += timedelta(minutes=30)
    return mismatches


def test_microsofts_documented_custom_zone_is_pacific_time():
    """The getSchedule docs' customTimeZone (bias 480, daylight -60 from the 2nd Sunday of
    March to the 1st Sunday of November) matches America/Los_Angeles all year."""
    from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
    from msgraph.generated.models.working_hours import WorkingHours

    raw = json.dumps(custom_working_hours()).encode()
    parsed = (
        JsonParseNodeFactory()
        .get_root_parse_node("application/json", raw)
        .get_object_value(WorkingHours)
    )
    hours = graph_hours(parsed)
    assert isinstance(hours.zone, CustomZone)
    assert (hours.start, hours.end, hours.weekdays) == (time(8), time(17), (0, 1, 2, 3, 4))
    assert _walk(hours.zone, ZoneInfo("America/Los_Angeles"), 2026) == 0


def test_southern_hemisphere_custom_zone():
    sydney = CustomZone(
        "custom Sydney",
        -600,
        daylight_bias=-60,
        daylight_starts=Transition(10, 6, 1, time(2)),
        standard_starts=Transition(4, 6, 1, time(3)),
    )
    assert _walk(sydney, ZoneInfo("Australia/Sydney"), 2026) == 0


def test_custom_zone_without_daylight_rules_is_fixed():
    india = CustomZone("custom", -330)
    assert datetime(2026, 7, 1, 12, tzinfo=UTC).astimezone(india).hour == 17
    assert india.utcoffset(None) == timedelta(hours=5, minutes=30)
