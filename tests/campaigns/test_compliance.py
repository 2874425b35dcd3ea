"""Built-in compliance: DNC, calling hours in the lead's timezone (47 CFR 64.1200(c)(1)),
the per-lead daily cap, the before_dial veto nothing can bypass, and the automatic opt-out."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert

from voicekit_core import CallVetoed, Disposition, hookimpl
from voicekit_core.builder import check_before_dial
from voicekit_core.builtins import compliance
from voicekit_core.builtins.compliance import compliance_check, compliance_decision
from voicekit_core.calls import CallContext, CallReport
from voicekit_core.campaigns.dnc import add_dnc, dnc_entry
from voicekit_core.campaigns.repo import create_campaign
from voicekit_core.campaigns.settings import DialerSection
from voicekit_core.campaigns.windows import (
    LEGAL_END_MINUTE,
    LEGAL_START_MINUTE,
    CallingHours,
    TimeRange,
    check_window,
    lead_timezones,
)
from voicekit_core.leads import Lead
from voicekit_core.plugins import BUILTIN_PLUGINS
from voicekit_core.store import Store
from voicekit_core.store.tables import attempts, campaign_leads, dnc
from voicekit_core.testing import MINIMAL_CONFIG

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
ADA = Lead(phone="+14155550123", first_name="Ada", timezone="America/New_York")
# Tuesday 2026-11-24: 14:00 in New York is inside; 22:15 is after 21:00
INSIDE = datetime(2026, 11, 24, 14, 0, tzinfo=NY)
LATE = datetime(2026, 11, 24, 22, 15, tzinfo=NY)


def deploy(voicekit, store_url: str, extra: str = ""):
    config = f'{MINIMAL_CONFIG}\n[store]\nurl = "{store_url}"\n{extra}'
    return voicekit.load(voicekit.write(config))


def new_campaign(store: Store, name: str = "Q4") -> str:
    with store.write() as db:
        return create_campaign(db, name=name, agent_name="a", source="test", settings={}).id


def record_attempts(
    store: Store,
    campaign_id: str,
    phone: str,
    starts: list[datetime],
    *,
    spent: int = 1,
    disposition: str | None = "no_answer",
) -> list[str]:
    """Insert a lead (once per campaign) and one attempt per start; returns room names."""
    now = datetime.now(UTC)
    rooms = []
    with store.write() as db:
        lead_id = db.execute(
            insert(campaign_leads)
            .values(
                campaign_id=campaign_id,
                row_number=2,
                phone=phone,
                lead_json="{}",
                state="retry_wait",
                state_reason="",
                attempts=len(starts),
                capacity_requeues=0,
                updated_at=now,
            )
            .returning(campaign_leads.c.id)
        ).scalar_one()
        for number, start in enumerate(starts, start=1):
            room = f"vk-{campaign_id}-{lead_id}-{number}"
            db.execute(
                insert(attempts).values(
                    campaign_id=campaign_id,
                    lead_id=lead_id,
                    number=number,
                    phone=phone,
                    room_name=room,
                    started_at=start,
                    disposition=disposition,
                    detail="",
                    spent=spent,
                )
            )
            rooms.append(room)
    return rooms


# -- the rules ---------------------------------------------------------------------------


def test_inside_the_window_with_nothing_against_it_is_allowed(voicekit, store_url):
    deployment = deploy(voicekit, store_url)
    assert compliance_check(deployment.store, deployment.config, ADA, INSIDE) is None
    assert compliance_decision(deployment.store, deployment.config, ADA, INSIDE).allowed


def test_dnc_global_and_campaign_lists(voicekit, store_url):
    deployment = deploy(voicekit, store_url)
    store, config = deployment.store, deployment.config
    with store.write() as db:
        add_dnc(db, "+12125550199", reason="asked")
        add_dnc(db, "+14155550123", scope="c1")
    bob = Lead(phone="+12125550199", timezone="America/New_York")
    decision = compliance_decision(store, config, bob, INSIDE)
    assert (decision.rule, decision.final, decision.not_before) == ("do_not_call", True, None)
    assert decision.reason.startswith("do_not_call: on the global do-not-call list since ")
    assert "(asked)" in decision.reason
    assert compliance_check(store, config, ADA, INSIDE) is None  # c1's list, another call
    assert compliance_check(store, config, ADA, INSIDE, "c1").startswith(
        "do_not_call: on this campaign's do-not-call list"
    )
    assert compliance_check(store, config, ADA, INSIDE, "c2") is None


def test_outside_calling_hours_is_deferred_to_the_next_window(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    decision = compliance_decision(deployment.store, deployment.config, ADA, LATE)
    assert (decision.allowed, decision.rule, decision.final) == (False, "calling_hours", False)
    assert decision.not_before == datetime(2026, 11, 25, 8, 0, tzinfo=NY)
    assert decision.reason == (
        "calling_hours: outside calling hours in America/New_York (22:15); "
        "next window 2026-11-25 13:00 UTC"
    )


def test_unknown_timezone_fails_closed(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    nowhere = Lead(phone="+80012345678")  # a UIFN number: no timezone
    decision = compliance_decision(deployment.store, deployment.config, nowhere, INSIDE)
    assert (decision.rule, decision.final) == ("timezone_unknown", True)
    assert decision.reason.startswith("timezone_unknown: no timezone is known for this number")
    assert decision.reason.endswith("not dialed (fail closed)")


def test_every_candidate_zone_must_be_open(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store, config = deployment.store, deployment.config
    tollfree = Lead(phone="+18005550199")  # 42 zones, from Guam to Adak
    morning_ny = datetime(2026, 11, 24, 9, 0, tzinfo=NY)  # 04:00 in Adak
    decision = compliance_decision(store, config, tollfree, morning_ny)
    assert decision.rule == "calling_hours" and "America/Adak" in decision.reason
    opens = decision.not_before
    assert opens is not None and compliance_check(store, config, tollfree, opens) is None
    for zone in lead_timezones(None, tollfree.phone):  # open everywhere at once
        local = opens.astimezone(zone)
        assert LEGAL_START_MINUTE <= local.hour * 60 + local.minute < LEGAL_END_MINUTE
    assert compliance_check(store, config, tollfree, opens - timedelta(seconds=1)) is not None


def test_configured_windows_are_clamped_to_the_legal_window_unless_overridden(voicekit, tmp_path):
    wide = '[dialer.calling_hours]\ndaily = ["06:00-23:30"]\n'
    early = datetime(2026, 11, 24, 7, 30, tzinfo=NY)
    clamped = deploy(voicekit, f"sqlite:///{tmp_path / 'a.sqlite3'}", wide)
    assert compliance_check(clamped.store, clamped.config, ADA, early).startswith("calling_hours")
    voicekit.tmp_path = tmp_path / "other"
    overridden = deploy(
        voicekit, f"sqlite:///{tmp_path / 'b.sqlite3'}", wide + "override_legal_window = true\n"
    )
    assert compliance_check(overridden.store, overridden.config, ADA, early) is None


def test_daily_cap_counts_attempts_across_campaigns_in_a_rolling_day(voicekit, store_url):
    deployment = deploy(voicekit, store_url)  # max_attempts_per_lead_per_day = 3
    store, config = deployment.store, deployment.config
    now = INSIDE.astimezone(UTC)
    first, second = new_campaign(store, "one"), new_campaign(store, "two")
    record_attempts(store, first, ADA.phone, [now - timedelta(hours=25), now - timedelta(hours=20)])
    assert compliance_check(store, config, ADA, now) is None  # one in the last 24 h
    rooms = record_attempts(store, second, ADA.phone, [now - timedelta(hours=5), now])
    decision = compliance_decision(store, config, ADA, now, second)
    assert (decision.rule, decision.final) == ("daily_cap", False)
    # the oldest of the three turns 24 h old at 14:00 - 20 h + 24 h = 18:00 New York time
    assert decision.not_before == now + timedelta(hours=4)
    assert decision.reason == (
        "daily_cap: 3 attempts to this number in the last 24 hours "
        "(max_attempts_per_lead_per_day = 3); next allowed 2026-11-24 23:00 UTC"
    )
    # the attempt recorded for this very call does not count against it
    assert compliance_check(store, config, ADA, now, second, exclude_room=rooms[-1]) is None


def test_daily_cap_reopens_inside_the_calling_window(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store, config = deployment.store, deployment.config
    now = datetime(2026, 11, 24, 20, 0, tzinfo=NY)
    starts = [now - timedelta(minutes=m) for m in (30, 20, 10)]  # 24 h later is 19:30-19:50
    record_attempts(store, new_campaign(store), ADA.phone, starts)
    decision = compliance_decision(store, config, ADA, now)
    assert decision.rule == "daily_cap"
    assert decision.not_before == datetime(2026, 11, 25, 19, 30, tzinfo=NY)
    # a cap that lifts on a day without calling hours waits for the next open window
    friday = datetime(2026, 11, 27, 20, 0, tzinfo=NY)
    record_attempts(store, new_campaign(store, "fri"), "+12125550199", [friday])
    no_saturday = config.model_copy(
        update={
            "dialer": DialerSection(
                max_attempts_per_lead_per_day=1, calling_hours=CallingHours(weekly={"sat": []})
            )
        }
    )
    bob = Lead(phone="+12125550199", timezone="America/New_York")
    capped = compliance_decision(store, no_saturday, bob, friday + timedelta(minutes=5))
    assert capped.rule == "daily_cap"
    assert capped.not_before == datetime(2026, 11, 29, 8, 0, tzinfo=NY)  # Sunday 08:00


def test_capacity_requeues_and_vetoed_attempts_do_not_count(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    store, config = deployment.store, deployment.config
    now = INSIDE.astimezone(UTC)
    record_attempts(store, new_campaign(store, "a"), ADA.phone, [now] * 3, spent=0)
    record_attempts(store, new_campaign(store, "b"), ADA.phone, [now] * 3, disposition="vetoed")
    assert compliance_check(store, config, ADA, now) is None


def test_naive_now_is_refused(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(ValueError, match="timezone-aware"):
        compliance_check(deployment.store, deployment.config, ADA, datetime(2026, 1, 1, 12))


# -- the hook -----------------------------------------------------------------------------


def live_call(deployment, lead: Lead = ADA, *, mode="live", campaign: str | None = None):
    call = CallContext(deployment=deployment, phone=lead.phone, mode=mode, lead=lead)
    call.room_name = f"call-{call.call_id}"
    if campaign:
        call.data["campaign"] = {"id": campaign, "attempt_id": "1"}
    return call


@pytest.fixture
def late_clock(monkeypatch):
    monkeypatch.setattr(compliance, "_clock", lambda: LATE.astimezone(UTC))


def test_compliance_is_a_builtin_plugin():
    assert BUILTIN_PLUGINS["compliance"] == "voicekit_core.builtins.compliance"


def test_live_campaign_call_gets_every_rule(voicekit, tmp_path, late_clock):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(CallVetoed) as raised:
        check_before_dial(live_call(deployment, campaign="c1"))
    assert raised.value.plugin == "compliance"
    assert raised.value.reason.startswith("calling_hours: outside calling hours")


def test_live_campaign_call_checks_its_campaign_dnc_list(voicekit, tmp_path, monkeypatch):
    monkeypatch.setattr(compliance, "_clock", lambda: INSIDE.astimezone(UTC))
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with deployment.store.write() as db:
        add_dnc(db, ADA.phone, scope="c1")
    check_before_dial(live_call(deployment, campaign="c2"))  # allowed
    with pytest.raises(CallVetoed, match="this campaign's do-not-call list"):
        check_before_dial(live_call(deployment, campaign="c1"))


def test_manual_dial_checks_dnc_and_all_rules_when_asked(voicekit, tmp_path, late_clock):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'a.sqlite3'}")
    check_before_dial(live_call(deployment))  # by hand, after hours: the DNC list only
    with deployment.store.write() as db:
        add_dnc(db, ADA.phone)
    with pytest.raises(CallVetoed, match="global do-not-call list"):
        check_before_dial(live_call(deployment))
    voicekit.tmp_path = tmp_path / "strict"
    strict = deploy(
        voicekit,
        f"sqlite:///{tmp_path / 'b.sqlite3'}",
        '[plugins.compliance]\nmanual_dials = "all_rules"\n',
    )
    with pytest.raises(CallVetoed, match="calling_hours"):
        check_before_dial(live_call(strict))


def test_simulated_calls_check_only_dnc(voicekit, tmp_path, late_clock):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    check_before_dial(live_call(deployment, mode="simulated", campaign="c1"))
    with deployment.store.write() as db:
        add_dnc(db, ADA.phone)
    with pytest.raises(CallVetoed, match="do_not_call"):
        check_before_dial(live_call(deployment, mode="simulated"))


def test_the_dialed_number_is_checked_even_when_the_lead_has_another(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with deployment.store.write() as db:
        add_dnc(db, "+12125550199")
    call = live_call(deployment, mode="simulated")
    call.phone = "+12125550199"
    with pytest.raises(CallVetoed, match="do_not_call"):
        check_before_dial(call)


def test_unknown_lead_is_checked_by_its_number(voicekit, tmp_path, late_clock):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    call = live_call(deployment, Lead.unknown("+80012345678"), campaign="c1")
    with pytest.raises(CallVetoed, match="timezone_unknown"):
        check_before_dial(call)


def test_another_plugin_cannot_overrule_the_veto(voicekit, tmp_path, late_clock):
    class Permissive:
        @hookimpl(tryfirst=True)
        def before_dial(self, lead, call):
            return None  # "call anyway": a veto hook can only add reasons, never remove them

    voicekit.register(Permissive(), "permissive")
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(CallVetoed, match="calling_hours"):
        check_before_dial(live_call(deployment, campaign="c1"))


def test_store_failure_fails_closed(voicekit, tmp_path, monkeypatch):
    from voicekit_core.store import StoreError

    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")

    def broken(*_args, **_kwargs):
        raise StoreError("could not read from the store: disk I/O error")

    monkeypatch.setattr(compliance, "compliance_decision", broken)
    with pytest.raises(StoreError):
        check_before_dial(live_call(deployment, campaign="c1"))


# -- the automatic opt-out ------------------------------------------------------------------


def report_for(call: CallContext, disposition: Disposition) -> CallReport:
    now = datetime.now(UTC)
    return CallReport(
        call_id=call.call_id,
        agent_name="test-agent",
        direction="outbound",
        mode=call.mode,
        phone=call.phone,
        lead=None,
        started_at=now,
        ended_at=now,
        duration_seconds=1.0,
        disposition=disposition,
    )


async def test_a_live_opt_out_adds_the_number_to_the_global_list(voicekit, store_url):
    deployment = deploy(voicekit, store_url)
    call = live_call(deployment, campaign="c1")
    await deployment.pm.abroadcast(
        "call_ended", call=call, report=report_for(call, Disposition.DNC)
    )
    with deployment.store.read() as db:
        entry = dnc_entry(db, ADA.phone)
    assert entry is not None and entry.is_global
    assert entry.source == f"call:{call.call_id}"
    assert entry.reason == f"asked not to be called again (call {call.call_id})"
    # and the next dial is refused, in any campaign
    with pytest.raises(CallVetoed, match="global do-not-call list"):
        check_before_dial(live_call(deployment, campaign="c2"))


async def test_simulated_opt_outs_and_other_outcomes_change_nothing(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    simulated = live_call(deployment, mode="simulated")
    await deployment.pm.abroadcast(
        "call_ended", call=simulated, report=report_for(simulated, Disposition.DNC)
    )
    live = live_call(deployment)
    await deployment.pm.abroadcast(
        "call_ended", call=live, report=report_for(live, Disposition.NOT_INTERESTED)
    )
    with deployment.store.read() as db:
        assert dnc_entry(db, ADA.phone) is None


# -- properties: never a DNC number, never outside the window ------------------------------

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Adak",
    "America/St_Johns",  # UTC-3:30
    "Asia/Kolkata",  # +5:30
    "Australia/Adelaide",  # +9:30 / +10:30
    "Pacific/Chatham",  # +12:45 / +13:45
    "Europe/Madrid",
    "Asia/Tokyo",
]
PHONES = [
    "+14155550123",  # one zone
    "+12125550199",
    "+18005550199",  # many zones: every one must be open
    "+79123456789",  # many Russian zones
    "+442071838750",
    "+80012345678",  # no zone: never dialed unless the lead names one
]
minutes = st.integers(min_value=0, max_value=1439)


@st.composite
def time_ranges(draw) -> TimeRange:
    start = draw(minutes)
    end = draw(st.integers(min_value=start + 1, max_value=1440))
    return TimeRange(start=start, end=end)


@st.composite
def calling_hours(draw, override: bool = False) -> CallingHours:
    daily = draw(st.lists(time_ranges(), max_size=3))
    days = draw(
        st.lists(
            st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
            max_size=3,
            unique=True,
        )
    )
    weekly = {day: draw(st.lists(time_ranges(), max_size=2)) for day in days}
    holidays = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=5))
    return CallingHours(
        daily=daily, weekly=weekly, holidays=holidays, override_legal_window=override
    )


@pytest.fixture
def property_deployment(voicekit, tmp_path):
    return deploy(voicekit, f"sqlite:///{tmp_path / 'prop.sqlite3'}")


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    hours=calling_hours(),
    phone=st.sampled_from(PHONES),
    zone=st.one_of(st.none(), st.sampled_from(ZONES)),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    blocked=st.lists(
        st.tuples(st.sampled_from(PHONES), st.sampled_from(["", "c1", "c2"])), max_size=4
    ),
    campaign=st.sampled_from([None, "c1", "c2"]),
    campaign_override=st.booleans(),
)
def test_property_never_a_dnc_number_never_outside_the_window(
    property_deployment, hours, phone, zone, now, blocked, campaign, campaign_override
):
    deployment = property_deployment
    store = deployment.store
    # whatever a campaign stored as its own settings: the rules come from the deployment
    config = deployment.config.model_copy(update={"dialer": DialerSection(calling_hours=hours)})
    with store.write() as db:
        db.execute(delete(dnc))
        for number, scope in blocked:
            add_dnc(db, number, scope=scope, reason=f"override={campaign_override}")
    lead = Lead(phone=phone, timezone=zone)
    reason = compliance_check(store, config, lead, now, campaign)
    if reason is not None:
        assert reason.split(":", 1)[0] in {"do_not_call", "timezone_unknown", "calling_hours"}
        return
    scopes = {"", campaign} if campaign else {""}
    assert (phone, "") not in blocked and not any(
        number == phone and scope in scopes for number, scope in blocked
    )
    zones = lead_timezones(zone, phone)
    assert zones, "a lead without a known timezone was allowed"
    for tz in zones:
        local = now.astimezone(tz)
        minute = local.hour * 60 + local.minute
        assert LEGAL_START_MINUTE <= minute < LEGAL_END_MINUTE, f"{tz}: {local}"
        assert local.date() not in hours.holidays
        assert any(s <= minute < e for s, e in hours.windows_on(local.date()))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hours=calling_hours(override=True),
    zone=st.sampled_from(ZONES),
    now=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
)
def test_property_with_the_override_the_configured_windows_decide(
    property_deployment, hours, zone, now
):
    config = property_deployment.config.model_copy(
        update={"dialer": DialerSection(calling_hours=hours)}
    )
    lead = Lead(phone="+14155550123", timezone=zone)
    reason = compliance_check(property_deployment.store, config, lead, now)
    expected = check_window(hours, [ZoneInfo(zone)], now)
    assert (reason is None) == expected.allowed
