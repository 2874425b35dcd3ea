"""Unit tests for voicekit_core.scheduling: free slots, spoken labels, parse_start."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from voicekit_core.scheduling import (
    Interval,
    WorkingHours,
    free_slots,
    parse_start,
    spoken_label,
)

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
MADRID = ZoneInfo("Europe/Madrid")
HOURS = WorkingHours()  # 9:00-17:00 America/New_York, Monday-Friday


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def starts(slots: list[Interval]) -> list[datetime]:
    return [slot.start for slot in slots]


def test_interval_overlap_is_half_open():
    a = Interval(ny(2026, 11, 23, 9), ny(2026, 11, 23, 10))
    assert a.overlaps(Interval(ny(2026, 11, 23, 9, 30), ny(2026, 11, 23, 11)))
    assert not a.overlaps(Interval(ny(2026, 11, 23, 10), ny(2026, 11, 23, 11)))
    assert not Interval(ny(2026, 11, 23, 10), ny(2026, 11, 23, 11)).overlaps(a)


def test_slots_are_utc_and_of_the_requested_duration():
    slots = free_slots([], now=ny(2026, 11, 23, 6), hours=HOURS, duration=timedelta(minutes=45))
    assert slots
    for slot in slots:
        assert slot.start.tzinfo == UTC
        assert slot.end - slot.start == timedelta(minutes=45)


def test_first_slot_is_start_of_working_day():
    # Monday 2026-11-23 06:00 EST, two hours' notice: the day starts at 9:00 EST = 14:00 UTC.
    slots = free_slots([], now=ny(2026, 11, 23, 6), hours=HOURS, one_per_day=False, max_slots=2)
    assert starts(slots) == [
        datetime(2026, 11, 23, 14, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 14, 30, tzinfo=UTC),
    ]


def test_busy_intervals_are_excluded():
    busy = [
        Interval(ny(2026, 11, 23, 9), ny(2026, 11, 23, 10, 15)),
        Interval(ny(2026, 11, 23, 11), ny(2026, 11, 23, 11, 30)),
    ]
    slots = free_slots(busy, now=ny(2026, 11, 23, 6), hours=HOURS, one_per_day=False, max_slots=3)
    # 9:00-10:15 busy -> 10:30 first; 11:00 busy; 10:30 and 11:30 free.
    assert [s.start.astimezone(NY).time() for s in slots] == [
        time(10, 30),
        time(11, 30),
        time(12, 0),
    ]
    for slot in slots:
        assert not any(slot.overlaps(b) for b in busy)


def test_busy_ending_at_slot_start_does_not_block_it():
    busy = [Interval(ny(2026, 11, 23, 8), ny(2026, 11, 23, 9))]
    slots = free_slots(busy, now=ny(2026, 11, 23, 6), hours=HOURS)
    assert slots[0].start == ny(2026, 11, 23, 9).astimezone(UTC)


def test_fully_busy_day_moves_to_next_day():
    busy = [Interval(ny(2026, 11, 23, 0), ny(2026, 11, 24, 0))]
    slots = free_slots(busy, now=ny(2026, 11, 23, 6), hours=HOURS)
    assert slots[0].start.astimezone(NY) == ny(2026, 11, 24, 9)


def test_working_hours_in_the_organizers_timezone():
    hours = WorkingHours(timezone="Europe/Madrid", start=time(10, 0), end=time(12, 0))
    # Monday 2026-11-23 05:00 UTC = 06:00 CET; notice 2h -> 08:00 CET; the day opens 10:00 CET.
    slots = free_slots(
        [],
        now=datetime(2026, 11, 23, 5, tzinfo=UTC),
        hours=hours,
        one_per_day=False,
        max_slots=10,
    )
    assert [s.start for s in slots] == [
        datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 9, 30, tzinfo=UTC),
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 23, 10, 30, tzinfo=UTC),  # 11:30-12:00 CET, the last that fits
        datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 30, tzinfo=UTC),
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 9, 30, tzinfo=UTC),
    ]


def test_slots_end_within_working_hours():
    hours = WorkingHours(start=time(9, 0), end=time(10, 30))
    slots = free_slots(
        [],
        now=ny(2026, 11, 23, 6),
        hours=hours,
        duration=timedelta(hours=1),
        one_per_day=False,
        max_slots=5,
    )
    # 9:00-10:00 and 9:30-10:30 fit; 10:00-11:00 does not. Then Tuesday.
    assert [s.start.astimezone(NY) for s in slots[:3]] == [
        ny(2026, 11, 23, 9),
        ny(2026, 11, 23, 9, 30),
        ny(2026, 11, 24, 9),
    ]
    for slot in slots:
        assert slot.end.astimezone(NY).time() <= time(10, 30)


def test_minimum_notice_respected():
    # Monday 11:10 with 2 h notice -> nothing before 13:10; slots are on 30-minute steps.
    slots = free_slots([], now=ny(2026, 11, 23, 11, 10), hours=HOURS, one_per_day=False)
    assert slots[0].start.astimezone(NY) == ny(2026, 11, 23, 13, 30)
    slots = free_slots([], now=ny(2026, 11, 23, 11, 10), hours=HOURS, notice=timedelta(hours=6))
    assert slots[0].start.astimezone(NY) == ny(2026, 11, 24, 9)  # 17:10 is after hours


def test_weekends_skipped():
    # Friday 2026-11-27 at 18:00: after hours; Saturday and Sunday are not working days.
    slots = free_slots([], now=ny(2026, 11, 27, 18), hours=HOURS, max_slots=3)
    assert [s.start.astimezone(NY) for s in slots] == [
        ny(2026, 11, 30, 9),
        ny(2026, 12, 1, 9),
        ny(2026, 12, 2, 9),
    ]
    assert all(s.start.astimezone(NY).weekday() < 5 for s in slots)


def test_custom_weekdays():
    hours = WorkingHours(weekdays=(5,))  # Saturdays only
    slots = free_slots([], now=ny(2026, 11, 23, 6), hours=hours, days_ahead=14)
    assert [s.start.astimezone(NY) for s in slots] == [ny(2026, 11, 28, 9), ny(2026, 12, 5, 9)]


def test_one_slot_per_day_vs_several():
    now = ny(2026, 11, 23, 6)
    per_day = free_slots([], now=now, hours=HOURS, max_slots=3)
    assert [s.start.astimezone(NY) for s in per_day] == [
        ny(2026, 11, 23, 9),
        ny(2026, 11, 24, 9),
        ny(2026, 11, 25, 9),
    ]
    several = free_slots([], now=now, hours=HOURS, max_slots=3, one_per_day=False)
    assert [s.start.astimezone(NY) for s in several] == [
        ny(2026, 11, 23, 9),
        ny(2026, 11, 23, 9, 30),
        ny(2026, 11, 23, 10),
    ]


def test_days_ahead_limits_the_search():
    now = ny(2026, 11, 23, 6)
    assert len(free_slots([], now=now, hours=HOURS, days_ahead=2, max_slots=10)) == 3
    assert len(free_slots([], now=now, hours=HOURS, days_ahead=7, max_slots=10)) == 6
    assert free_slots([], now=ny(2026, 11, 28, 6), hours=HOURS, days_ahead=1) == []


def test_dst_fall_back_keeps_9am_local():
    # America/New_York leaves DST on Sunday 2026-11-01: 9:00 EDT = 13:00 UTC, 9:00 EST = 14:00 UTC.
    hours = WorkingHours(weekdays=(0, 1, 2, 3, 4, 5, 6))
    slots = free_slots([], now=ny(2026, 10, 31, 6), hours=hours, notice=timedelta(0))
    assert starts(slots) == [
        datetime(2026, 10, 31, 13, tzinfo=UTC),
        datetime(2026, 11, 1, 14, tzinfo=UTC),
        datetime(2026, 11, 2, 14, tzinfo=UTC),
    ]
    assert {s.start.astimezone(NY).time() for s in slots} == {time(9, 0)}


def test_dst_spring_forward_keeps_9am_local():
    # DST starts on Sunday 2026-03-08: 9:00 EST = 14:00 UTC, then 9:00 EDT = 13:00 UTC.
    hours = WorkingHours(weekdays=(0, 1, 2, 3, 4, 5, 6))
    slots = free_slots([], now=ny(2026, 3, 7, 6), hours=hours, notice=timedelta(0))
    assert starts(slots) == [
        datetime(2026, 3, 7, 14, tzinfo=UTC),
        datetime(2026, 3, 8, 13, tzinfo=UTC),
        datetime(2026, 3, 9, 13, tzinfo=UTC),
    ]


def test_naive_now_rejected():
    with pytest.raises(ValueError, match="timezone-aware"):
        free_slots([], now=datetime(2026, 11, 23, 9), hours=HOURS)


def test_aware_now_in_any_zone_is_the_same_instant():
    utc_now = datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert free_slots([], now=utc_now, hours=HOURS) == free_slots(
        [], now=utc_now.astimezone(MADRID), hours=HOURS
    )


# -- spoken_label -----------------------------------------------------------------------


def test_spoken_label_english_in_prospect_timezone():
    moment = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
    assert spoken_label(moment, "America/Los_Angeles") == "Tuesday, November 24 at 10:30 AM PST"
    assert spoken_label(moment, "America/New_York") == "Tuesday, November 24 at 1:30 PM EST"


def test_spoken_label_crosses_midnight_in_prospect_timezone():
    moment = datetime(2026, 11, 24, 2, 5, tzinfo=UTC)
    assert spoken_label(moment, "America/Los_Angeles") == "Monday, November 23 at 6:05 PM PST"


def test_spoken_label_spanish():
    moment = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert spoken_label(moment, "Europe/Madrid", "es") == "martes 24 de noviembre a las 16:00 (CET)"
    assert spoken_label(moment, "America/Mexico_City", "es") == (
        "martes 24 de noviembre a las 09:00 (CST)"
    )


def test_spoken_label_summer_abbreviation():
    moment = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
    assert spoken_label(moment, "America/New_York") == "Wednesday, July 1 at 12:00 PM EDT"
    assert spoken_label(moment, "Europe/Madrid", "es") == "miércoles 1 de julio a las 18:00 (CEST)"


# -- parse_start ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["2026-11-24T15:00:00+00:00", "2026-11-24T15:00:00Z", "2026-11-24T10:00:00-05:00"],
)
def test_parse_start_returns_utc(value):
    moment = parse_start(value)
    assert moment == datetime(2026, 11, 24, 15, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(0)


def test_parse_start_naive_rejected():
    with pytest.raises(ValueError, match="has no UTC offset"):
        parse_start("2026-11-24T15:00:00")


@pytest.mark.parametrize("value", ["tomorrow at 3", "", "2026-13-01T00:00:00Z", "24/11/2026 15:00"])
def test_parse_start_unparsable(value):
    with pytest.raises(ValueError, match="is not an ISO 8601 date-time"):
        parse_start(value)


def test_attendee_hours_keep_slots_inside_the_prospects_day():
    from datetime import datetime, time, timedelta, timezone

    from voicekit_core.scheduling import WorkingHours, free_slots, spoken_label

    now = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # Monday 07:00 New York
    rep = WorkingHours("America/New_York", time(9), time(17))
    prospect = WorkingHours("America/Los_Angeles", time(8), time(18))
    without = free_slots([], now=now, hours=rep, notice=timedelta(0), max_slots=1)
    with_hours = free_slots(
        [], now=now, hours=rep, notice=timedelta(0), max_slots=1, attendee_hours=prospect
    )
    assert spoken_label(without[0].start, "America/Los_Angeles") == (
        "Monday, November 23 at 6:00 AM PST"
    )
    assert spoken_label(with_hours[0].start, "America/Los_Angeles") == (
        "Monday, November 23 at 8:00 AM PST"
    )
    # a prospect whose day never overlaps the rep's gets no slot at all
    tokyo = WorkingHours("Asia/Tokyo", time(9), time(10))
    assert free_slots([], now=now, hours=rep, notice=timedelta(0), attendee_hours=tokyo) == []
