"""Calling windows in the lead's timezone (47 CFR 64.1200(c)(1): 08:00-21:00 local)."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from voicekit_core.campaigns.windows import (
    LEGAL_END_MINUTE,
    LEGAL_START_MINUTE,
    WEEKDAYS,
    CallingHours,
    TimeRange,
    check_window,
    lead_timezones,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
LA = ZoneInfo("America/Los_Angeles")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone, fold=fold)


# --- lead_timezones -------------------------------------------------------------------


def test_lead_timezone_wins_over_the_number() -> None:
    assert lead_timezones("America/Chicago", "+14155550123") == [ZoneInfo("America/Chicago")]


def test_number_gives_its_zone_when_the_lead_has_none() -> None:
    assert lead_timezones(None, "+14155550123") == [LA]
    assert lead_timezones("", "+442071234567") == [ZoneInfo("Europe/London")]


def test_toll_free_number_gives_every_candidate_zone() -> None:
    zones = lead_timezones(None, "+18005550123")
    assert len(zones) > 10
    assert NY in zones and LA in zones


def test_unknown_zone_gives_no_candidates() -> None:
    assert lead_timezones(None, "+882345678901") == []
    assert lead_timezones("Etc/Unknown", "+882345678901") == []


def test_bad_lead_timezone_or_phone_raises() -> None:
    with pytest.raises(ValueError, match="unknown IANA timezone 'Mars/Olympus'"):
        lead_timezones("Mars/Olympus", "+14155550123")
    with pytest.raises(ValueError, match="not a phone number"):
        lead_timezones(None, "hello")


# --- check_window: basics -------------------------------------------------------------


def test_inside_default_hours_is_allowed_now() -> None:
    now = local(LA, 2026, 6, 2, 11, 0).astimezone(UTC)
    decision = check_window(CallingHours(), [LA], now)
    assert decision.allowed
    assert decision.next_open == now
    assert decision.reason == "inside calling hours in America/Los_Angeles (11:00)"


def test_before_eight_local_is_refused_until_eight() -> None:
    now = local(LA, 2026, 6, 2, 6, 12).astimezone(UTC)
    decision = check_window(CallingHours(), [LA], now)
    assert not decision.allowed
    assert decision.reason == "outside calling hours in America/Los_Angeles (06:12)"
    assert decision.next_open == local(LA, 2026, 6, 2, 8, 0)
    assert decision.next_open.tzinfo is UTC


def test_nine_pm_sharp_is_closed_and_reopens_next_morning() -> None:
    now = local(NY, 2026, 6, 2, 21, 0)
    decision = check_window(CallingHours(), [NY], now)
    assert not decision.allowed
    assert decision.next_open == local(NY, 2026, 6, 3, 8, 0)
    assert check_window(CallingHours(), [NY], now - timedelta(seconds=1)).allowed


def test_unknown_timezone_fails_closed() -> None:
    decision = check_window(CallingHours(), [], utc(2026, 6, 2, 16, 0))
    assert decision == type(decision)(False, "timezone unknown: fail closed", None)


def test_naive_now_is_an_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_window(CallingHours(), [NY], datetime(2026, 6, 2, 12, 0))


def test_several_zones_dial_only_when_all_are_inside() -> None:
    # 10:00 in New York is 07:00 in Los Angeles: wait for 08:00 there.
    now = local(NY, 2026, 6, 2, 10, 0)
    decision = check_window(CallingHours(), [NY, LA], now)
    assert not decision.allowed
    assert "America/Los_Angeles (07:00)" in decision.reason
    assert "New_York" not in decision.reason
    assert decision.next_open == local(LA, 2026, 6, 2, 8, 0)


def test_zones_too_far_apart_never_open() -> None:
    # Morning hours in New York are evening hours in Kolkata (9.5-10.5 h ahead).
    zones = [NY, ZoneInfo("Asia/Kolkata")]
    decision = check_window(CallingHours(daily=["09:00-12:00"]), zones, utc(2026, 6, 2, 4, 0))
    assert not decision.allowed
    assert decision.next_open is None
    assert "no common calling window in the next 400 days" in decision.reason


# --- settings: clamping, weekly windows, holidays -------------------------------------


def test_configured_hours_are_clamped_to_the_legal_window() -> None:
    hours = CallingHours(daily=["06:00-23:00"])
    assert hours.windows_on(date(2026, 6, 2)) == ((LEGAL_START_MINUTE, LEGAL_END_MINUTE),)
    assert not check_window(hours, [NY], local(NY, 2026, 6, 2, 7, 30)).allowed
    assert not check_window(hours, [NY], local(NY, 2026, 6, 2, 22, 0)).allowed


def test_override_allows_hours_outside_the_legal_window() -> None:
    hours = CallingHours(daily=["06:00-23:00"], override_legal_window=True)
    assert check_window(hours, [NY], local(NY, 2026, 6, 2, 7, 30)).allowed
    assert check_window(hours, [NY], local(NY, 2026, 6, 2, 22, 59)).allowed


def test_windows_entirely_outside_the_legal_window_vanish() -> None:
    hours = CallingHours(daily=["21:00-23:00", "05:00-07:00"])
    assert hours.windows_on(date(2026, 6, 2)) == ()


def test_split_and_overlapping_windows_merge() -> None:
    hours = CallingHours(daily=["13:00-17:00", "09:00-12:00", "11:00-13:00"])
    assert hours.windows_on(date(2026, 6, 2)) == ((540, 1020),)


def test_weekly_windows_replace_daily_and_empty_days_have_no_calls() -> None:
    hours = CallingHours(daily=["09:00-17:00"], weekly={"sat": ["10:00-14:00"], "sun": []})
    saturday_nine = local(NY, 2026, 6, 6, 9, 0)
    assert check_window(hours, [NY], saturday_nine).next_open == local(NY, 2026, 6, 6, 10, 0)
    sunday = check_window(hours, [NY], local(NY, 2026, 6, 7, 12, 0))
    assert sunday.reason == "no calling hours on Sunday in America/New_York"
    assert sunday.next_open == local(NY, 2026, 6, 8, 9, 0)


def test_holidays_are_local_dates_without_calls() -> None:
    hours = CallingHours(holidays=["2026-12-25"])
    decision = check_window(hours, [NY], local(NY, 2026, 12, 25, 12, 0))
    assert decision.reason == "holiday in America/New_York (2026-12-25)"
    assert decision.next_open == local(NY, 2026, 12, 26, 8, 0)
    # Still the 24th in Los Angeles: calls there are fine.
    assert check_window(hours, [LA], local(NY, 2026, 12, 25, 1, 0)).allowed is False
    assert check_window(hours, [LA], local(LA, 2026, 12, 24, 20, 0)).allowed


def test_settings_parse_from_toml_text() -> None:
    from voicekit_core.campaigns import windows

    snippet = windows.__doc__.split("Deployment file::", 1)[1].split("\n\n")[1]
    table = tomllib.loads(snippet)["dialer"]["calling_hours"]
    hours = CallingHours.model_validate(table)
    assert hours.windows_on(date(2026, 6, 6)) == ((600, 840),)  # a Saturday
    assert hours.windows_on(date(2026, 12, 25)) == ()
    assert hours.model_dump()["daily"] == ["09:00-12:00", "13:00-20:00"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"daily": ["21:00-08:00"]}, "cannot cross midnight"),
        ({"daily": ["08:00-08:00"]}, "end must be after the start"),
        ({"daily": ["8-21"]}, "is not a window"),
        ({"daily": ["08:00-24:30"]}, "not a time of day"),
        ({"daily": ["08:61-09:00"]}, "not a time of day"),
        ({"weekly": {"monday": []}}, "weekly.monday"),
        ({"holidays": ["Christmas"]}, "holidays"),
        ({"hours": "08:00-21:00"}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_name_the_problem(bad: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CallingHours.model_validate(bad)


def test_time_range_accepts_a_table_and_24_00() -> None:
    assert str(TimeRange.model_validate({"start": "08:30", "end": "24:00"})) == "08:30-24:00"


# --- daylight saving: gaps and folds --------------------------------------------------


def test_spring_forward_gap_opens_when_wall_time_passes_the_start() -> None:
    # 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    hours = CallingHours(daily=["02:30-04:00"], override_legal_window=True)
    decision = check_window(hours, [NY], utc(2026, 3, 8, 6, 0))  # 01:00 EST
    assert decision.next_open == utc(2026, 3, 8, 7, 0)  # 03:00 EDT, the first instant >= 02:30


def test_window_inside_the_gap_does_not_exist_that_day() -> None:
    hours = CallingHours(daily=["02:10-02:50"], override_legal_window=True)
    decision = check_window(hours, [NY], utc(2026, 3, 8, 6, 0))
    assert decision.next_open == local(NY, 2026, 3, 9, 2, 10)


def test_fall_back_fold_opens_the_window_twice() -> None:
    # 2026-11-01 in New York: 02:00 EDT falls back to 01:00 EST (06:00 UTC).
    hours = CallingHours(daily=["01:00-01:30"], override_legal_window=True)
    first = local(NY, 2026, 11, 1, 1, 0, fold=0)
    assert check_window(hours, [NY], first).allowed
    between = local(NY, 2026, 11, 1, 1, 45, fold=0)
    decision = check_window(hours, [NY], between)
    assert not decision.allowed
    assert decision.next_open == utc(2026, 11, 1, 6, 0)  # 01:00 EST, the second 01:00
    assert decision.next_open.astimezone(NY).fold == 1


def test_thirty_minute_dst_zone() -> None:
    # Lord Howe Island moves by 30 minutes; default hours still follow local 08:00.
    zone = ZoneInfo("Australia/Lord_Howe")
    decision = check_window(CallingHours(), [zone], local(zone, 2026, 10, 4, 1, 0))
    assert decision.next_open == local(zone, 2026, 10, 4, 8, 0)


def test_skipped_day_is_skipped() -> None:
    # Samoa skipped 2011-12-30 entirely (UTC-10 -> UTC+14).
    zone = ZoneInfo("Pacific/Apia")
    decision = check_window(CallingHours(), [zone], local(zone, 2011, 12, 29, 22, 0))
    assert decision.next_open == local(zone, 2011, 12, 31, 8, 0)


# --- properties -----------------------------------------------------------------------

ZONES = st.timezones()
INTERESTING = st.sampled_from(
    [
        "America/New_York",
        "America/Los_Angeles",
        "America/Phoenix",
        "America/St_Johns",
        "America/Santiago",
        "America/Havana",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
        "Asia/Kathmandu",
        "Africa/Casablanca",
        "Europe/London",
        "Pacific/Apia",
    ]
).map(ZoneInfo)
NOW = st.datetimes(
    min_value=datetime(2005, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


@st.composite
def time_ranges(draw: st.DrawFn) -> TimeRange:
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(start + 1, 1440))
    return TimeRange(start=start, end=end)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[CallingHours, list[ZoneInfo], datetime]:
    now = draw(NOW)
    zones = draw(st.lists(st.one_of(ZONES, INTERESTING), min_size=1, max_size=3))
    days = draw(st.lists(st.integers(-2, 9), max_size=4))
    hours = CallingHours(
        daily=draw(st.lists(time_ranges(), max_size=3)),
        weekly=draw(
            st.dictionaries(st.sampled_from(WEEKDAYS), st.lists(time_ranges(), max_size=2))
        ),
        holidays=[now.date() + timedelta(days=d) for d in days],
        override_legal_window=draw(st.booleans()),
    )
    return hours, zones, now


def oracle(hours: CallingHours, zones: list[ZoneInfo], at: datetime) -> bool:
    """Inside a window in every zone, computed straight from the settings' fields."""
    for zone in zones:
        wall = at.astimezone(zone)
        if wall.date() in hours.holidays:
            return False
        ranges = hours.weekly.get(WEEKDAYS[wall.weekday()], hours.daily)
        second = wall.hour * 3600 + wall.minute * 60 + wall.second
        legal = LEGAL_START_MINUTE * 60 <= second < LEGAL_END_MINUTE * 60
        if not (legal or hours.override_legal_window):
            return False
        if not any(r.start * 60 <= second < r.end * 60 for r in ranges):
            return False
    return True


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(zones=st.lists(st.one_of(ZONES, INTERESTING), min_size=1, max_size=4), now=NOW)
def test_default_hours_never_allow_outside_8_to_21_in_any_zone(
    zones: list[ZoneInfo], now: datetime
) -> None:
    decision = check_window(CallingHours(), zones, now)
    if decision.allowed:
        for zone in zones:
            wall = now.astimezone(zone)
            assert 8 <= wall.hour < 21, (zone, wall)


@PROPERTY
@given(scenarios())
def test_never_allowed_outside_the_legal_window_without_override(
    scenario: tuple[CallingHours, list[ZoneInfo], datetime],
) -> None:
    hours, zones, now = scenario
    decision = check_window(hours, zones, now)
    assert decision.allowed == oracle(hours, zones, now)
    if decision.allowed and not hours.override_legal_window:
        for zone in zones:
            wall = now.astimezone(zone)
            assert 8 <= wall.hour < 21, (zone, wall)


@PROPERTY
@given(scenarios())
def test_next_open_is_allowed_and_the_earliest(
    scenario: tuple[CallingHours, list[ZoneInfo], datetime],
) -> None:
    hours, zones, now = scenario
    decision = check_window(hours, zones, now)
    if decision.allowed:
        assert decision.next_open == now
        return
    # Step minute by minute (every window is whole minutes long, so none is stepped over).
    end = decision.next_open or now + timedelta(days=8)
    end = min(end, now + timedelta(days=30))
    step = now
    while step < end:
        assert not oracle(hours, zones, step), (step, decision)
        step += timedelta(minutes=1)
    if decision.next_open is not None:
        assert decision.next_open > now
        assert decision.next_open.utcoffset() == timedelta(0)
        assert oracle(hours, zones, decision.next_open)
        assert check_window(hours, zones, decision.next_open).allowed
        assert not oracle(hours, zones, decision.next_open - timedelta(seconds=1))
