"""Retry policy: final dispositions, the delay table, callbacks, carrier capacity requeues."""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from voicekit_core.calls import Disposition
from voicekit_core.campaigns import retry
from voicekit_core.campaigns.retry import (
    ALWAYS_FINAL,
    DEFAULT_NEVER_RETRY,
    RetryAction,
    RetrySettings,
    decide,
    next_allowed_by_daily_cap,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

NOW = datetime(2026, 6, 2, 16, 0, tzinfo=timezone.utc)
EXACT = RetrySettings(jitter=0)


def minutes_after(decision: retry.RetryDecision) -> float:
    assert decision.not_before is not None
    return (decision.not_before - NOW).total_seconds() / 60


# --- the delay table -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("disposition", "attempt", "minutes"),
    [
        ("busy", 1, 10),
        ("busy", 2, 30),
        ("busy", 3, 30),  # past the end of the list the last delay repeats
        ("no_answer", 1, 60),
        ("no_answer", 2, 240),
        ("no_answer", 3, 1440),
        ("failed", 1, 5),
        ("failed", 3, 5),
        ("callback_requested", 1, 1440),  # no time given
    ],
)
def test_default_delays_in_minutes(disposition: str, attempt: int, minutes: float) -> None:
    decision = decide(EXACT, disposition, attempt, NOW, random.Random(1))
    assert decision.action is RetryAction.RETRY
    assert decision.spends_attempt
    assert minutes_after(decision) == minutes


def test_max_attempts_is_final() -> None:
    decision = decide(EXACT, Disposition.NO_ANSWER, 4, NOW)
    assert decision.action is RetryAction.FINAL
    assert decision.not_before is None
    assert decision.reason == "max attempts reached (4 of 4)"


def test_voicemail_retries_are_off_by_default() -> None:
    decision = decide(EXACT, "voicemail", 1, NOW)
    assert (decision.action, decision.reason) == (
        RetryAction.FINAL,
        "retries are off for voicemail",
    )


def test_disposition_without_a_rule_is_final() -> None:
    decision = decide(EXACT, "declined", 1, NOW)
    assert (decision.action, decision.reason) == (RetryAction.FINAL, "no retry rule for declined")


@pytest.mark.parametrize("disposition", sorted(d.value for d in DEFAULT_NEVER_RETRY))
def test_never_retry_dispositions_are_final(disposition: str) -> None:
    decision = decide(EXACT, disposition, 1, NOW, sip_status=503)
    assert decision.action is RetryAction.FINAL
    assert decision.reason == f"{disposition} is final"


def test_delays_merge_over_the_defaults() -> None:
    merged = RetrySettings(jitter=0, delays={"busy": [2], "voicemail": [120]})
    assert minutes_after(decide(merged, "busy", 1, NOW)) == 2
    assert minutes_after(decide(merged, "voicemail", 1, NOW)) == 120
    assert minutes_after(decide(merged, "no_answer", 2, NOW)) == 240


def test_jitter_is_seeded_and_bounded() -> None:
    jittered = RetrySettings(jitter=0.1)
    a = decide(jittered, "no_answer", 1, NOW, random.Random(7))
    b = decide(jittered, "no_answer", 1, NOW, random.Random(7))
    assert a == b
    assert 54 <= minutes_after(a) <= 66
    assert "no_answer: retry 1 of 3 in" in a.reason


# --- callbacks ------------------------------------------------------------------------


def test_callback_at_the_requested_time_without_jitter() -> None:
    at = NOW + timedelta(days=1, hours=2)
    decision = decide(RetrySettings(), "callback_requested", 1, NOW, callback_at=at)
    assert (decision.action, decision.not_before) == (RetryAction.RETRY, at)


def test_callback_in_the_past_is_due_now() -> None:
    decision = decide(EXACT, "callback_requested", 2, NOW, callback_at=NOW - timedelta(hours=1))
    assert decision.not_before == NOW


def test_callback_counts_against_max_attempts() -> None:
    at = NOW + timedelta(hours=1)
    assert decide(EXACT, "callback_requested", 4, NOW, callback_at=at).action is RetryAction.FINAL


# --- carrier capacity -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (503, "Service Unavailable"),
        (429, "Too Many Requests"),
        (403, "Channel limit reached"),
        (403, "Max concurrent calls exceeded"),
        (None, "CPS limit exceeded"),
        (None, "twirp error resource_exhausted"),
    ],
)
def test_capacity_errors_requeue_without_spending_an_attempt(
    status: int | None, reason: str
) -> None:
    decision = decide(EXACT, "failed", 4, NOW, sip_status=status, sip_reason=reason)
    assert decision.action is RetryAction.REQUEUE
    assert not decision.spends_attempt
    assert decision.not_before == NOW + timedelta(seconds=5)
    assert "carrier capacity" in decision.reason


@pytest.mark.parametrize(("status", "reason"), [(403, "Forbidden"), (486, "too many"), (None, "")])
def test_other_refusals_are_not_capacity_errors(status: int | None, reason: str) -> None:
    assert not EXACT.is_capacity_error(status, reason)


def test_capacity_backoff_doubles_up_to_the_cap() -> None:
    waits = [
        (decide(EXACT, "failed", 1, NOW, sip_status=503, capacity_requeues=n).not_before - NOW)
        for n in (0, 1, 2, 3, 6, 7, 1000)
    ]
    assert [w.total_seconds() for w in waits] == [5, 10, 20, 40, 300, 300, 300]


# --- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"delays": {"bsy": [10]}}, r"delays\.bsy"),
        ({"delays": {"busy": [-1]}}, r"delays\.busy\.0"),
        ({"delays": {"busy": "10"}}, r"delays\.busy"),
        ({"never_retry": ["not_interested"]}, r"never_retry\n.*must include do_not_call"),
        ({"never_retry": ["do_not_call", "nope"]}, r"never_retry"),
        ({"delays": {"completed": [5]}}, r"delays\.completed: completed also in never_retry"),
        ({"jitter": 1}, r"jitter"),
        ({"max_attempts": 0}, r"max_attempts"),
        ({"max_attemps": 3}, r"max_attemps\n.*Extra inputs"),
        (
            {"capacity_backoff_seconds": 60, "capacity_backoff_max_seconds": 10},
            "capacity_backoff_max_seconds",
        ),
    ],
)
def test_invalid_settings_name_the_key(bad: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RetrySettings.model_validate(bad)


def test_settings_parse_from_the_documented_toml() -> None:
    snippet = retry.__doc__.split("::", 1)[1].split("\n\nDispositions", 1)[0]
    table = tomllib.loads(snippet)["dialer"]["retry"]
    assert RetrySettings.model_validate(table) == RetrySettings()


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="'hung_up' is not a valid Disposition"):
        decide(EXACT, "hung_up", 1, NOW)
    with pytest.raises(ValueError, match="attempt_number"):
        decide(EXACT, "busy", 0, NOW)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        decide(EXACT, "busy", 1, NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="callback_at must be timezone-aware"):
        decide(EXACT, "callback_requested", 1, NOW, callback_at=datetime(2026, 6, 3))


# --- the daily cap across campaigns ---------------------------------------------------


def test_daily_cap_is_a_rolling_24_hours() -> None:
    attempts = [NOW - timedelta(hours=h) for h in (1, 5, 30)]
    assert next_allowed_by_daily_cap(attempts, NOW, 3) is None
    assert next_allowed_by_daily_cap(attempts, NOW, 2) == NOW - timedelta(hours=5) + timedelta(
        hours=24
    )
    with pytest.raises(ValueError):
        next_allowed_by_daily_cap(attempts, NOW, 0)


# --- properties -----------------------------------------------------------------------

DISPOSITIONS = st.sampled_from(list(Disposition))
SIP = st.one_of(st.none(), st.sampled_from([403, 404, 429, 480, 486, 503, 603]))


@st.composite
def retry_settings(draw: st.DrawFn) -> RetrySettings:
    never = draw(st.frozensets(DISPOSITIONS)) | ALWAYS_FINAL
    retryable = [d for d in Disposition if d not in never]
    delays = draw(
        st.dictionaries(
            st.sampled_from(retryable) if retryable else st.nothing(),
            st.lists(st.floats(0, 10_000), max_size=4),
        )
    )
    return RetrySettings(
        max_attempts=draw(st.integers(1, 8)),
        never_retry=never,
        delays={**{d: [] for d in never}, **delays},
        jitter=draw(st.floats(0, 0.5)),
    )


@settings(max_examples=300, deadline=None)
@given(
    retry_settings(),
    DISPOSITIONS,
    st.integers(1, 12),
    SIP,
    st.integers(0, 50),
    st.integers(0, 2**32),
)
def test_decisions_follow_the_table(
    config: RetrySettings,
    disposition: Disposition,
    attempt: int,
    sip: int | None,
    requeues: int,
    seed: int,
) -> None:
    decision = decide(
        config,
        disposition,
        attempt,
        NOW,
        random.Random(seed),
        sip_status=sip,
        capacity_requeues=requeues,
    )
    if disposition in config.never_retry:
        assert decision.action is RetryAction.FINAL
        return
    if decision.action is RetryAction.REQUEUE:
        assert config.is_capacity_error(sip)
        seconds = (decision.not_before - NOW).total_seconds()
        cap = config.capacity_backoff_max_seconds * (1 + config.jitter)
        assert 0 < seconds <= cap + 1e-6
        return
    assert not config.is_capacity_error(sip)
    if attempt >= config.max_attempts:
        assert decision.action is RetryAction.FINAL
        return
    table = config.delays.get(disposition)
    if not table:
        assert decision.action is RetryAction.FINAL
        return
    assert decision.action is RetryAction.RETRY
    expected = table[min(attempt, len(table)) - 1]
    low, high = expected * (1 - config.jitter), expected * (1 + config.jitter)
    assert low - 1e-6 <= minutes_after(decision) <= high + 1e-6


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 72 * 60), max_size=10),
    st.integers(1, 5),
)
def test_daily_cap_never_allows_more_than_the_limit(ages: list[int], limit: int) -> None:
    attempts = [NOW - timedelta(minutes=m) for m in ages]
    allowed_at = next_allowed_by_daily_cap(attempts, NOW, limit)
    in_last_day = sum(1 for t in attempts if t > NOW - timedelta(hours=24))
    assert (allowed_at is None) == (in_last_day < limit)
    if allowed_at is not None:
        assert allowed_at > NOW
        assert next_allowed_by_daily_cap(attempts, allowed_at, limit) is None
        just_before = allowed_at - timedelta(seconds=1)
        assert next_allowed_by_daily_cap(attempts, just_before, limit) is not None
