"""Reading spoken days and times (``voicekit_core.spoken_time``): phrases, ISO, rollover,
Spanish, DST, and how times are said back."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from voicekit_core.spoken_time import (
    MAX_CHARS,
    UnknownTime,
    mentions_time,
    resolve,
    scan,
    spoken,
    zone_label,
)

NEW_YORK = ZoneInfo("America/New_York")
#: Monday 2026-11-23, 10:12 in New York.
NOW = datetime(2026, 11, 23, 15, 12, tzinfo=timezone.utc)


def local(text: str, now: datetime = NOW, zone: ZoneInfo = NEW_YORK) -> str:
    return resolve(scan(text), now, zone).isoformat()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me back tomorrow afternoon", "2026-11-24T14:00:00-05:00"),
        ("tomorrow morning", "2026-11-24T10:00:00-05:00"),
        ("tomorrow evening", "2026-11-24T18:00:00-05:00"),
        ("tomorrow", "2026-11-24T10:00:00-05:00"),  # a day alone: 10:00
        ("the day after tomorrow at 4pm", "2026-11-25T16:00:00-05:00"),
        ("I'm busy, try me Tuesday at 3", "2026-11-24T15:00:00-05:00"),
        ("next Tuesday at 3", "2026-11-24T15:00:00-05:00"),
        ("Monday", "2026-11-30T10:00:00-05:00"),  # today's weekday: next week
        ("Friday at noon", "2026-11-27T12:00:00-05:00"),
        ("Thursday at 9 in the evening", "2026-11-26T21:00:00-05:00"),
        ("Wednesday at 3:30 p.m.", "2026-11-25T15:30:00-05:00"),
        ("Wednesday at three o'clock", "2026-11-25T15:00:00-05:00"),
        ("Wednesday 09:30", "2026-11-25T09:30:00-05:00"),
        ("Wednesday at 8", "2026-11-25T08:00:00-05:00"),  # 8-11 without am/pm: morning
        ("next week", "2026-11-30T10:00:00-05:00"),
        ("November 24 at 10:30am", "2026-11-24T10:30:00-05:00"),
        ("the 24th of November", "2026-11-24T10:00:00-05:00"),
        ("Tuesday at 3 may work", "2026-11-24T15:00:00-05:00"),  # "3 may" is not May 3
        ("this afternoon", "2026-11-23T14:00:00-05:00"),
        ("tonight", "2026-11-23T18:00:00-05:00"),
        ("at 3pm", "2026-11-23T15:00:00-05:00"),  # still ahead today
        ("at 9", "2026-11-24T09:00:00-05:00"),  # passed today: tomorrow
        ("in the morning", "2026-11-24T10:00:00-05:00"),
        ("in two hours", "2026-11-23T12:12:00-05:00"),
        ("in 20 minutes", "2026-11-23T10:32:00-05:00"),
        ("in half an hour", "2026-11-23T10:42:00-05:00"),
        ("in a couple of hours", "2026-11-23T12:12:00-05:00"),
        ("in 3 days", "2026-11-26T10:12:00-05:00"),  # days keep the time of day
        ("in 2 days at 5pm", "2026-11-25T17:00:00-05:00"),
        ("in a week", "2026-11-30T10:12:00-05:00"),
        ("2026-11-24T15:00", "2026-11-24T15:00:00-05:00"),  # naive ISO: the caller's zone
        ("2026-11-24T15:00Z", "2026-11-24T10:00:00-05:00"),  # aware ISO: converted
        ("2026-11-24T15:00:00+01:00", "2026-11-24T09:00:00-05:00"),
        ("2026-11-24 15:00", "2026-11-24T15:00:00-05:00"),
        ("2026-11-25", "2026-11-25T10:00:00-05:00"),
    ],
)
def test_english_phrases(text, expected):
    assert local(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("llámame mañana por la tarde", "2026-11-24T14:00:00-05:00"),
        ("mañana por la mañana", "2026-11-24T10:00:00-05:00"),
        ("pasado mañana", "2026-11-25T10:00:00-05:00"),
        ("el martes a las 4", "2026-11-24T16:00:00-05:00"),
        ("el jueves a la una de la tarde", "2026-11-26T13:00:00-05:00"),
        ("esta tarde", "2026-11-23T14:00:00-05:00"),
        ("esta noche", "2026-11-23T18:00:00-05:00"),
        ("en dos horas", "2026-11-23T12:12:00-05:00"),
        ("en media hora", "2026-11-23T10:42:00-05:00"),
        ("la semana que viene", "2026-11-30T10:00:00-05:00"),
        ("el 24 de noviembre a las 5", "2026-11-24T17:00:00-05:00"),
    ],
)
def test_spanish_phrases(text, expected):
    assert local(text) == expected


def test_a_passed_date_without_year_is_next_year():
    assert local("May 3") == "2027-05-03T10:00:00-04:00"
    assert local("3rd of May") == "2027-05-03T10:00:00-04:00"


def test_today_is_not_rolled_over_when_said():
    # "today at 9" at 10:12 stays in the past: the caller said today (callbacks refuse it)
    assert local("today at 9") == "2026-11-23T09:00:00-05:00"


def test_results_are_in_the_given_zone_and_truncated_to_the_minute():
    now = datetime(2026, 11, 23, 15, 12, 41, 999, tzinfo=timezone.utc)
    result = resolve(scan("in 1 hour"), now, ZoneInfo("Asia/Tokyo"))
    assert result.isoformat() == "2026-11-24T01:12:00+09:00"


def test_a_time_skipped_by_daylight_saving_moves_forward():
    # 2026-03-08 02:30 does not exist in New York (clocks jump from 02:00 to 03:00)
    now = datetime(2026, 3, 7, 15, 0, tzinfo=timezone.utc)
    assert local("tomorrow at 2:30 am", now) == "2026-03-08T03:30:00-04:00"


@pytest.mark.parametrize(
    "text", ["", "later", "not right now", "call me later", "whenever", "sometime soon"]
)
def test_no_time_named(text):
    assert scan(text).empty
    assert not mentions_time(text)
    with pytest.raises(UnknownTime):
        resolve(scan(text), NOW, NEW_YORK)


@pytest.mark.parametrize("text", ["2026-02-30", "February 30"])
def test_impossible_dates(text):
    with pytest.raises(UnknownTime):
        resolve(scan(text), NOW, NEW_YORK)


def test_only_the_first_characters_are_read():
    assert scan("x" * MAX_CHARS + " tomorrow").empty


def test_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve(scan("tomorrow"), datetime(2026, 11, 23, 10, 0), NEW_YORK)


def test_spoken_english_and_spanish():
    when = datetime(2026, 11, 24, 14, 0, tzinfo=NEW_YORK)
    assert spoken(when) == "Tuesday, November 24 at 2:00 PM EST"
    assert spoken(when, "es") == "el martes 24 de noviembre a las 14:00 (EST)"
    assert spoken(when.replace(hour=0, minute=5)) == "Tuesday, November 24 at 12:05 AM EST"


def test_zone_label_falls_back_to_the_offset():
    assert zone_label(datetime(2026, 11, 24, 14, tzinfo=ZoneInfo("America/Sao_Paulo"))) == "UTC-03"
    assert zone_label(datetime(2026, 11, 24, 14, tzinfo=ZoneInfo("Asia/Kolkata"))) == "IST"
    assert zone_label(datetime(2026, 11, 24, 14, tzinfo=ZoneInfo("UTC"))) == "UTC"
