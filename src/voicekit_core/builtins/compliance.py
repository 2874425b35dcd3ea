"""Built-in compliance: do-not-call lists, calling hours in the lead's timezone and the
per-lead daily cap, as a ``before_dial`` veto that no campaign setting or prompt can turn off.

Built-in plugins are always registered (``BUILTIN_PLUGINS``), and the veto runs before
any request to LiveKit, so a campaign's settings and the agent's prompt never reach it.

Rules, in the order they are checked (the first one that refuses wins):

1. **Do not call** (47 CFR 64.1200(c)(2) and (d)): the number is on the global list or on
   the list of the call's campaign (:mod:`voicekit_core.campaigns.dnc`). Final.
2. **Timezone known**: the called party's timezone is the lead's own ``timezone``, else
   every zone ``phonenumbers`` gives for the number; none (or one the tz database lacks) is
   refused, fail closed. Final.
3. **Calling hours** (47 CFR 64.1200(c)(1): 8 a.m. to 9 p.m. at the called party's
   location): ``[dialer.calling_hours]`` in *every* candidate zone, clamped to 08:00-21:00
   unless ``override_legal_window`` (:mod:`voicekit_core.campaigns.windows`). Deferred to
   the next open window.
4. **Daily cap**: at most ``[dialer] max_attempts_per_lead_per_day`` attempts to the
   number in any rolling 24 hours, across every campaign (rows of ``attempts``; carrier
   capacity requeues, which never rang, do not count). Deferred.

Which calls get which rules (the hook uses the real clock):

* a live call of a campaign (``call.data["campaign"]["id"]`` set by the dialer): all rules,
  the DNC lists of that campaign too;
* a live call placed by hand (``voicekit dial``): the DNC list; all rules with
  ``[plugins.compliance] manual_dials = "all_rules"``;
* a simulated call: the DNC lists only. A simulated campaign applies the other rules itself
  with its own (sped-up) clock through :func:`compliance_check`.

A live call that ends with the disposition ``do_not_call`` (the callee asked not to be
called again, inbound or outbound) puts the number on the global list (``call_ended``).
Simulated calls never change the list: a scripted caller is not the called party.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from voicekit_core import hookimpl

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from voicekit_core.calls import CallContext, CallReport
    from voicekit_core.config import DeploymentConfig
    from voicekit_core.leads import Lead
    from voicekit_core.store import Store

NAME = "compliance"
logger = logging.getLogger("voicekit.compliance")

#: How often the opt-out of a finished call is retried when the store is busy.
OPT_OUT_TRIES = 3

Rule = Literal["", "do_not_call", "timezone_unknown", "calling_hours", "daily_cap"]


class ComplianceSettings(BaseModel):
    """``[plugins.compliance]``. Campaign calls always get every rule; this only says how
    strictly calls placed by hand (``voicekit dial``) are checked."""

    model_config = ConfigDict(extra="forbid")

    manual_dials: Literal["dnc_only", "all_rules"] = Field(
        default="dnc_only",
        description="rules for live calls outside campaigns: the DNC list, or every rule "
        "(calling hours and the daily cap too)",
    )


@dataclass(frozen=True)
class ComplianceDecision:
    """May this lead be dialed at ``now``?

    ``rule`` is the rule that refused (``""`` when allowed); ``reason`` the veto text, which
    starts with the rule (``"calling_hours: outside calling hours in America/New_York
    (22:15); next window 2026-11-24 13:00 UTC"``). ``final`` refusals (do_not_call,
    timezone_unknown, no calling window within a year) must never be retried;
    the others carry ``not_before``, the earliest instant (aware, UTC) worth trying again.
    """

    allowed: bool
    rule: Rule = ""
    reason: str = ""
    final: bool = False
    not_before: datetime | None = None


ALLOWED = ComplianceDecision(True)


def compliance_decision(
    store: Store | Connection,
    config: DeploymentConfig,
    lead: Lead,
    now: datetime,
    campaign_id: str | None = None,
    *,
    exclude_room: str | None = None,
    rules: Literal["all", "dnc"] = "all",
) -> ComplianceDecision:
    """Check the rules of this module for dialing ``lead`` (``lead.phone`` E.164,
    ``lead.timezone`` IANA or None) at ``now`` (aware; a simulated clock is fine).

    ``store`` is a :class:`~voicekit_core.store.Store` (a read transaction is opened) or
    a connection inside the caller's transaction. ``campaign_id`` adds that campaign's DNC
    list. ``exclude_room`` leaves the attempt already recorded for this very call (its room
    name) out of the daily cap. ``rules="dnc"`` checks the DNC lists only.

    Raises ``ValueError`` for a naive ``now`` and
    :class:`~voicekit_core.store.StoreError` if the store cannot be read (a caller must
    then not dial: fail closed).
    """
    from sqlalchemy import Connection

    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(store, Connection):
        return _decide(store, config, lead, now, campaign_id, exclude_room, rules)
    with store.read() as db:
        return _decide(db, config, lead, now, campaign_id, exclude_room, rules)


def compliance_check(
    store: Store | Connection,
    config: DeploymentConfig,
    lead: Lead,
    now: datetime,
    campaign_id: str | None = None,
    *,
    exclude_room: str | None = None,
) -> str | None:
    """Every rule for dialing ``lead`` at ``now``: ``None`` to allow, else the reason
    (see :class:`ComplianceDecision` for its shape). A thin wrapper of
    :func:`compliance_decision`; same arguments and errors."""
    decision = compliance_decision(store, config, lead, now, campaign_id, exclude_room=exclude_room)
    return None if decision.allowed else decision.reason


def _decide(
    db: Connection,
    config: DeploymentConfig,
    lead: Lead,
    now: datetime,
    campaign_id: str | None,
    exclude_room: str | None,
    rules: str,
) -> ComplianceDecision:
    from voicekit_core.campaigns.dnc import dnc_entry, dnc_reason
    from voicekit_core.campaigns.retry import next_allowed_by_daily_cap
    from voicekit_core.campaigns.windows import check_window, lead_timezones

    entry = dnc_entry(db, lead.phone, campaign_id)
    if entry is not None:
        return ComplianceDecision(False, "do_not_call", dnc_reason(entry), final=True)
    if rules == "dnc":
        return ALLOWED

    try:
        zones = lead_timezones(lead.timezone, lead.phone)
    except ValueError as exc:
        return _unknown_zone(str(exc))
    if not zones:
        return _unknown_zone("no timezone is known for this number; give the lead a timezone")

    hours = config.dialer.calling_hours
    window = check_window(hours, zones, now)
    if not window.allowed:
        if window.next_open is None:
            return ComplianceDecision(
                False, "calling_hours", f"calling_hours: {window.reason}", final=True
            )
        return ComplianceDecision(
            False,
            "calling_hours",
            f"calling_hours: {window.reason}; next window {_shown(window.next_open)}",
            not_before=window.next_open,
        )

    limit = config.dialer.max_attempts_per_lead_per_day
    recent = attempts_in_last_day(db, lead.phone, now, exclude_room=exclude_room)
    capped_until = next_allowed_by_daily_cap(recent, now, limit)
    if capped_until is not None:
        reopen = check_window(hours, zones, capped_until)
        not_before = capped_until if reopen.allowed else reopen.next_open
        count = sum(1 for t in recent if t > now - timedelta(hours=24))
        reason = (
            f"daily_cap: {count} attempts to this number in the last 24 hours "
            f"(max_attempts_per_lead_per_day = {limit})"
        )
        reason += f"; next allowed {_shown(not_before)}" if not_before else ""
        return ComplianceDecision(
            False, "daily_cap", reason, final=not_before is None, not_before=not_before
        )
    return ALLOWED


def _unknown_zone(detail: str) -> ComplianceDecision:
    return ComplianceDecision(
        False, "timezone_unknown", f"timezone_unknown: {detail}; not dialed (fail closed)", True
    )


def _shown(when: datetime) -> str:
    return f"{when:%Y-%m-%d %H:%M} UTC"


def attempts_in_last_day(
    db: Connection, phone: str, now: datetime, *, exclude_room: str | None = None
) -> list[datetime]:
    """Start times (aware, UTC) of the attempts to E.164 ``phone`` in the 24 hours before
    ``now``, across every campaign: rows of ``attempts`` that spent an attempt (a carrier
    capacity requeue never rang) and were not vetoed, except the one in room
    ``exclude_room``."""
    from sqlalchemy import or_, select

    from voicekit_core.store.tables import attempts

    query = select(attempts.c.started_at).where(
        attempts.c.phone == phone,
        attempts.c.started_at > now - timedelta(hours=24),
        attempts.c.spent != 0,
        or_(attempts.c.disposition.is_(None), attempts.c.disposition != "vetoed"),
    )
    if exclude_room:
        query = query.where(attempts.c.room_name != exclude_room)
    return [row.started_at for row in db.execute(query)]


def record_opt_out(store: Store, phone: str, call_id: str) -> bool:
    """Put E.164 ``phone`` on the global DNC list because the callee opted out on call
    ``call_id``. Returns True if it was added (False: it was already there)."""
    from voicekit_core.campaigns.dnc import GLOBAL_SCOPE, add_dnc

    with store.write() as db:
        return add_dnc(
            db,
            phone,
            scope=GLOBAL_SCOPE,
            reason=f"asked not to be called again (call {call_id})",
            source=f"call:{call_id}",
        )


def settings_of(config: DeploymentConfig) -> ComplianceSettings:
    """The ``[plugins.compliance]`` settings of ``config`` (defaults if not validated)."""
    try:
        return config.plugin_settings(NAME)
    except KeyError:
        return ComplianceSettings()


def _clock() -> datetime:
    """The hook's clock (UTC, aware); tests replace it."""
    from voicekit_core.calls import utcnow

    return utcnow()


# -- hooks --------------------------------------------------------------------------------


@hookimpl
def register_settings(register):
    register(ComplianceSettings)


@hookimpl(tryfirst=True)
def before_dial(lead: Lead, call: CallContext) -> str | None:
    """The veto: every rule for a live campaign call, the DNC lists otherwise (see the
    module docstring). Fails closed: a store that cannot be read raises, so no call is
    placed."""
    from voicekit_core.leads import Lead as LeadModel

    campaign = call.data.get("campaign") or {}
    campaign_id = campaign.get("id") if isinstance(campaign, dict) else None
    campaign_id = str(campaign_id) if campaign_id else None
    strict = call.mode == "live" and (
        campaign_id is not None or settings_of(call.config).manual_dials == "all_rules"
    )
    target = lead if lead is not None else LeadModel.unknown(call.phone)
    store = call.deployment.store
    now = _clock()
    with store.read() as db:
        decision = compliance_decision(
            db,
            call.config,
            target,
            now,
            campaign_id,
            exclude_room=call.room_name,
            rules="all" if strict else "dnc",
        )
        if decision.allowed and target.phone != call.phone:  # the number actually dialed
            decision = compliance_decision(
                db,
                call.config,
                target.model_copy(update={"phone": call.phone}),
                now,
                campaign_id,
                rules="dnc",
            )
    if decision.allowed:
        return None
    logger.info("call %s refused: %s", call.call_id, decision.reason)
    return decision.reason


@hookimpl
async def call_ended(call: CallContext, report: CallReport) -> None:
    """A live call that ended ``do_not_call`` puts the number on the global DNC list
    (47 CFR 64.1200(d)(3): honour the request). Retried while the store is busy; a failure
    that remains is logged as an error with the call id."""
    from voicekit_core.calls import Disposition
    from voicekit_core.store import StoreError

    if report.mode != "live" or report.disposition != Disposition.DNC:
        return
    store = call.deployment.store
    for attempt in range(1, OPT_OUT_TRIES + 1):
        try:
            added = record_opt_out(store, report.phone, report.call_id)
        except StoreError as exc:
            if attempt == OPT_OUT_TRIES:
                logger.error(
                    "call %s: the callee opted out but the DNC list could not be written "
                    "(%s); add the number with `voicekit dnc add`",
                    report.call_id,
                    exc,
                )
                raise
            await asyncio.sleep(0.25 * attempt)
            continue
        if added:
            logger.info(
                "call %s: the callee opted out; number added to the DNC list", report.call_id
            )
        return


__all__ = [
    "ALLOWED",
    "NAME",
    "ComplianceDecision",
    "ComplianceSettings",
    "attempts_in_last_day",
    "before_dial",
    "call_ended",
    "compliance_check",
    "compliance_decision",
    "record_opt_out",
    "register_settings",
]
