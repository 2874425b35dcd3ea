"""Campaign rows in the store: create, find, state transitions, the activity log.

Campaign states (``CAMPAIGN_STATES``)::

    draft -> scheduled -> running <-> paused(reason) -> completed | canceled

Every transition is checked against :data:`TRANSITIONS` and written together with an
activity-log event (``campaign_events``) in one transaction, so the log never disagrees
with the state.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from ..calls import utcnow
from ..errors import VoicekitError
from ..store import Store
from ..store.tables import campaign_events, campaign_leads, campaigns

TRANSITIONS: dict[str, set[str]] = {
    "draft": {"scheduled", "running", "canceled"},
    "scheduled": {"running", "paused", "canceled"},
    "running": {"paused", "completed", "canceled"},
    "paused": {"running", "canceled"},
    "completed": {"running"},  # redial-unanswered reopens a finished campaign
    "canceled": set(),
}


class CampaignError(VoicekitError):
    """An unknown campaign, a duplicate name, or a state change that is not allowed."""


@dataclass(frozen=True)
class Campaign:
    """One campaign row. Times are UTC."""

    id: str
    name: str
    agent_name: str
    state: str
    state_reason: str
    source: str
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def new_campaign_id() -> str:
    """A short id safe inside room names (``c3f9a1b2``)."""
    return secrets.token_hex(4)


def create_campaign(
    db: Connection, *, name: str, agent_name: str, source: str, settings: dict[str, Any]
) -> Campaign:
    """Insert a ``draft`` campaign inside the caller's transaction (the lead import runs in
    the same one, so a failed import leaves no campaign). Raises :class:`CampaignError` if
    the name is taken."""
    taken = db.execute(select(campaigns.c.id).where(campaigns.c.name == name)).first()
    if taken is not None:
        raise CampaignError(f"a campaign named {name!r} already exists (id {taken.id})")
    now = utcnow()
    campaign_id = new_campaign_id()
    db.execute(
        insert(campaigns).values(
            id=campaign_id,
            name=name,
            agent_name=agent_name,
            state="draft",
            state_reason="",
            source=source,
            settings_json=json.dumps(settings, default=str),
            created_at=now,
            updated_at=now,
        )
    )
    log_event(db, campaign_id, "created", f"from {source}")
    return get_campaign(db, campaign_id)


def get_campaign(db: Connection, name_or_id: str) -> Campaign:
    """The campaign with this id or name. Raises :class:`CampaignError` if there is none."""
    row = db.execute(
        select(campaigns).where(or_(campaigns.c.id == name_or_id, campaigns.c.name == name_or_id))
    ).first()
    if row is None:
        raise CampaignError(f"no campaign named or with id {name_or_id!r}")
    return _campaign(row)


def find_campaign(store: Store, name_or_id: str) -> Campaign:
    """:func:`get_campaign` in its own read transaction."""
    with store.read() as db:
        return get_campaign(db, name_or_id)


def list_campaigns(store: Store) -> list[Campaign]:
    """Every campaign, newest first."""
    with store.read() as db:
        rows = db.execute(select(campaigns).order_by(campaigns.c.created_at.desc())).all()
    return [_campaign(row) for row in rows]


def set_state(
    db: Connection,
    campaign_id: str,
    state: str,
    reason: str = "",
    *,
    expect: set[str] | None = None,
) -> Campaign:
    """Move a campaign to ``state`` (with ``reason``), logging the change.

    Raises :class:`CampaignError` if the transition is not allowed from the current state
    (or the current state is not in ``expect``).
    """
    current = get_campaign(db, campaign_id)
    allowed = TRANSITIONS[current.state]
    if state == current.state:
        return current
    if state not in allowed or (expect is not None and current.state not in expect):
        raise CampaignError(
            f"campaign {current.name!r} is {current.state}; it cannot become {state}"
        )
    db.execute(
        update(campaigns)
        .where(campaigns.c.id == current.id)
        .values(state=state, state_reason=reason, updated_at=utcnow())
    )
    log_event(db, current.id, state, reason)
    return get_campaign(db, current.id)


def log_event(
    db: Connection, campaign_id: str, kind: str, detail: str = "", lead_id: int | None = None
) -> None:
    """Append one line to the campaign's activity log (inside the caller's transaction)."""
    db.execute(
        insert(campaign_events).values(
            campaign_id=campaign_id, at=utcnow(), kind=kind, lead_id=lead_id, detail=detail
        )
    )


def events(store: Store, campaign_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest activity-log lines of a campaign."""
    with store.read() as db:
        rows = db.execute(
            select(campaign_events)
            .where(campaign_events.c.campaign_id == campaign_id)
            .order_by(campaign_events.c.id.desc())
            .limit(limit)
        ).all()
    return [row._asdict() for row in rows]


def lead_counts(store: Store, campaign_id: str) -> dict[str, int]:
    """``{lead state: count}``; final leads are also counted per disposition as
    ``done:<disposition>``."""
    with store.read() as db:
        rows = db.execute(
            select(campaign_leads.c.state, campaign_leads.c.disposition, func.count())
            .where(campaign_leads.c.campaign_id == campaign_id)
            .group_by(campaign_leads.c.state, campaign_leads.c.disposition)
        ).all()
    counts: dict[str, int] = {}
    for state, disposition, count in rows:
        counts[state] = counts.get(state, 0) + count
        if state == "done" and disposition:
            key = f"done:{disposition}"
            counts[key] = counts.get(key, 0) + count
    return counts


def _campaign(row: Any) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        agent_name=row.agent_name,
        state=row.state,
        state_reason=row.state_reason,
        source=row.source,
        settings=json.loads(row.settings_json or "{}"),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
