"""Pacing: concurrency slots, the calls-per-second bucket, the circuit breaker."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from voicekit_core.campaigns import pacing
from voicekit_core.campaigns.pacing import (
    BreakerSettings,
    CircuitBreaker,
    PacingSettings,
    TokenBucket,
    TrunkLimits,
    dial_capacity,
)
from voicekit_core.campaigns.settings import DialerSection

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- settings -------------------------------------------------------------------------


def test_settings_parse_from_the_documented_toml() -> None:
    snippet = pacing.__doc__.split("Deployment file::", 1)[1].split("\n\nClocks", 1)[0]
    parsed = PacingSettings.model_validate(tomllib.loads(snippet)["dialer"]["pacing"])
    assert parsed.max_concurrency == 5
    assert parsed.limits_for("ST_abc123").calls_per_second == 5
    assert parsed.limits_for("ST_other") == TrunkLimits(reserve_for_inbound=2)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"trunk": {"max_concurrency": 2, "reserve_for_inbound": 2}}, "reserve_for_inbound"),
        ({"trunk": {"calls_per_second": 0}}, r"trunk\.calls_per_second"),
        ({"breaker": {"failure_ratio": 1.5}}, r"breaker\.failure_ratio"),
        ({"breaker": {"failure_dispositions": ["oops"]}}, r"breaker\.failure_dispositions"),
        ({"max_concurency": 3}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_settings_name_the_key(bad: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PacingSettings.model_validate(bad)


def test_dialer_section_composes_the_tables() -> None:
    section = DialerSection.model_validate(
        {
            "max_attempts_per_lead_per_day": 2,
            "retry": {"max_attempts": 6},
            "calling_hours": {"daily": ["09:00-17:00"]},
            "pacing": {"max_concurrency": 3},
        }
    )
    assert section.retry.max_attempts == 6
    assert section.pacing.max_concurrency == 3
    assert str(section.calling_hours.daily[0]) == "09:00-17:00"
    assert DialerSection().max_attempts_per_lead_per_day == 3
    with pytest.raises(ValidationError, match=r"retry\.delays\.nope"):
        DialerSection.model_validate({"retry": {"delays": {"nope": [1]}}})
    with pytest.raises(ValidationError, match="dial_rate"):
        DialerSection.model_validate({"dial_rate": 3})


# --- concurrency ----------------------------------------------------------------------


def test_capacity_is_the_smaller_of_campaign_and_trunk_room() -> None:
    config = PacingSettings(
        max_concurrency=5, trunk=TrunkLimits(max_concurrency=10, reserve_for_inbound=2)
    )
    assert dial_capacity(config, "t", campaign_active=0, trunk_outbound_active=0) == 5
    assert dial_capacity(config, "t", campaign_active=1, trunk_outbound_active=6) == 2
    assert dial_capacity(config, "t", campaign_active=0, trunk_outbound_active=8) == 0
    # Inbound beyond the reserve takes channels from outbound.
    assert (
        dial_capacity(
            config, "t", campaign_active=0, trunk_outbound_active=4, trunk_inbound_active=5
        )
        == 1
    )


@given(
    campaign_max=st.integers(1, 20),
    trunk_max=st.integers(1, 30),
    reserve=st.integers(0, 29),
    campaign_active=st.integers(0, 25),
    outbound=st.integers(0, 35),
    inbound=st.integers(0, 35),
)
def test_capacity_never_breaks_a_limit(
    campaign_max: int,
    trunk_max: int,
    reserve: int,
    campaign_active: int,
    outbound: int,
    inbound: int,
) -> None:
    if reserve >= trunk_max:
        reserve = trunk_max - 1
    config = PacingSettings(
        max_concurrency=campaign_max,
        trunk=TrunkLimits(max_concurrency=trunk_max, reserve_for_inbound=reserve),
    )
    free = dial_capacity(
        config,
        "t",
        campaign_active=campaign_active,
        trunk_outbound_active=outbound,
        trunk_inbound_active=inbound,
    )
    assert free >= 0
    if free:
        assert campaign_active + free <= campaign_max
        assert outbound + free <= trunk_max - reserve
        assert outbound + inbound + free <= trunk_max


# --- calls per second -----------------------------------------------------------------


def test_bucket_spaces_calls_at_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, clock=clock)
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    assert bucket.wait_seconds() == pytest.approx(0.5)
    clock.advance(0.25)
    assert not bucket.try_acquire()
    clock.advance(0.25)
    assert bucket.try_acquire()


def test_bucket_burst_and_trunk_limits() -> None:
    clock = FakeClock()
    bucket = TokenBucket.for_trunk(TrunkLimits(calls_per_second=1, burst=3), clock=clock)
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]
    clock.advance(100)  # saving up stops at the burst
    assert [bucket.try_acquire() for _ in range(4)] == [True, True, True, False]


def test_bucket_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1, burst=0.5)


async def test_acquire_sleeps_through_the_injected_sleep() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, clock=clock)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    for _ in range(3):
        await bucket.acquire(sleep)
    assert slept == [pytest.approx(0.25), pytest.approx(0.25)]
    assert clock.now == pytest.approx(1000.5)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(0.1, 50),
    burst=st.integers(1, 5),
    steps=st.lists(st.floats(0, 2), min_size=1, max_size=60),
)
def test_bucket_never_exceeds_rate_plus_burst(rate: float, burst: int, steps: list[float]) -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate, burst, clock=clock)
    granted = 0
    for step in steps:
        clock.advance(step)
        granted += bucket.try_acquire()
        elapsed = clock.now - 1000.0
        assert granted <= burst + rate * elapsed + 1e-9


# --- circuit breaker ------------------------------------------------------------------


def test_opens_when_more_than_half_of_five_calls_fail() -> None:
    breaker = CircuitBreaker(BreakerSettings(), clock=FakeClock())
    for failed in (True, False, True, False):
        breaker.record(failed)
    assert not breaker.is_open  # only 4 calls
    breaker.record(True, detail="SIP 500 Server Internal Error")
    assert breaker.is_open
    assert breaker.reason == (
        "3 of 5 calls failed in the last 120 s (60 % > 50 %) (last: SIP 500 Server Internal Error)"
    )


def test_exactly_half_does_not_open() -> None:
    breaker = CircuitBreaker(BreakerSettings(), clock=FakeClock())
    for failed in (False, True) * 3:
        breaker.record(failed)
    assert not breaker.is_open
    assert breaker.window_counts() == (6, 3)


def test_old_calls_leave_the_sliding_window() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerSettings(), clock=clock)
    for _ in range(4):
        breaker.record(True)
    clock.advance(120)  # those four are now 120 s old: out of the window
    breaker.record(True)
    assert breaker.window_counts() == (1, 1)
    assert not breaker.is_open


def test_consecutive_trunk_errors_open_despite_a_good_ratio() -> None:
    breaker = CircuitBreaker(BreakerSettings(consecutive_trunk_errors=3), clock=FakeClock())
    for _ in range(20):
        breaker.record(False)
    breaker.record(True, trunk_error=True)
    breaker.record(True, trunk_error=True)
    breaker.record(False)  # a good call ends the streak
    breaker.record(True, trunk_error=True)
    breaker.record(True, trunk_error=True)
    assert not breaker.is_open
    breaker.record(False, trunk_error=True, detail="SIP 503 Service Unavailable")
    assert breaker.reason == "3 consecutive trunk errors (last: SIP 503 Service Unavailable)"


def test_open_breaker_keeps_its_reason_until_reset() -> None:
    breaker = CircuitBreaker(BreakerSettings(min_calls=1), clock=FakeClock())
    breaker.record(True)
    reason = breaker.reason
    for _ in range(10):
        breaker.record(False)
    assert breaker.reason == reason
    breaker.reset()
    assert not breaker.is_open and breaker.reason is None
    assert breaker.window_counts() == (0, 0)


def test_resume_after_closes_by_itself() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(BreakerSettings(min_calls=1, resume_after_seconds=600), clock=clock)
    breaker.record(True)
    clock.advance(599)
    assert breaker.is_open
    clock.advance(1)
    assert not breaker.is_open
    assert breaker.window_counts() == (0, 0)


def test_failure_dispositions_are_configurable() -> None:
    config = BreakerSettings(failure_dispositions=["failed", "invalid_number"])
    assert config.is_failure("invalid_number")
    assert not config.is_failure("busy")
    assert BreakerSettings().is_failure("failed")


EVENTS = st.lists(
    st.tuples(st.floats(0, 60), st.booleans(), st.booleans()),  # (gap s, failed, trunk error)
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    events=EVENTS,
    window=st.sampled_from([30.0, 120.0]),
    min_calls=st.integers(1, 8),
    ratio=st.sampled_from([0.25, 0.5, 0.75, 1.0]),
    streak_limit=st.integers(1, 6),
)
def test_breaker_opens_exactly_at_the_thresholds(
    events: list[tuple[float, bool, bool]],
    window: float,
    min_calls: int,
    ratio: float,
    streak_limit: int,
) -> None:
    config = BreakerSettings(
        window_seconds=window,
        min_calls=min_calls,
        failure_ratio=ratio,
        consecutive_trunk_errors=streak_limit,
    )
    clock = FakeClock()
    breaker = CircuitBreaker(config, clock=clock)
    history: list[tuple[float, bool]] = []
    streak = 0
    should_open = False
    for gap, failed, trunk_error in events:
        clock.advance(gap)
        breaker.record(failed, trunk_error=trunk_error)
        failed = failed or trunk_error
        history.append((clock.now, failed))
        streak = streak + 1 if trunk_error else 0
        recent = [f for t, f in history if t > clock.now - window]
        by_ratio = len(recent) >= min_calls and sum(recent) > ratio * len(recent)
        should_open = streak >= streak_limit or by_ratio
        assert breaker.is_open == should_open, (history, breaker.reason)
        if should_open:
            break
