"""Read models of the Campaigns and Overview pages: campaigns with their lead progress,
one campaign in full, its activity log, and today's call figures (pydantic models, so
the JSON API documents them).

Lead progress is counted with one grouped query over every campaign (not one per row).
"Final" leads are ``done``, ``skipped`` and ``canceled``: progress = final / total.
Today is the current UTC day; its calls are counted by ``calls.started_at``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select

from voicekit_core.calls import Disposition, utcnow
from voicekit_core.campaigns import repo
from voicekit_core.campaigns.summary import NOT_CONNECTED, campaign_summary
from voicekit_core.store.tables import LEAD_STATES, calls, campaign_leads

from .dialer import allowed_actions, runner_lease

if TYPE_CHECKING:
    from voicekit_core.campaigns.importer import ImportResult
    from voicekit_core.store import Store

    from .web import DashboardState

FINAL_LEAD_STATES = ("done", "skipped", "canceled")
#: Campaign states whose page refreshes itself (something may change any second).
ACTIVE_STATES = frozenset({"running", "scheduled"})


class LeadProgress(BaseModel):
    """A campaign's leads: ``total``, ``final`` (done, skipped, canceled), ``progress``
    = final / total (0..1), counts by lead ``states`` and, for done leads, by final
    ``dispositions``."""

    total: int = 0
    final: int = 0
    progress: float = 0.0
    states: dict[str, int] = Field(default_factory=dict)
    dispositions: dict[str, int] = Field(default_factory=dict)


class CampaignRow(BaseModel):
    """One campaign of the list. Times are UTC."""

    id: str
    name: str
    state: str
    reason: str
    agent_name: str
    source: str
    created_at: datetime
    updated_at: datetime
    leads: LeadProgress


class DialerInfo(BaseModel):
    """Who dials the campaign: ``mode`` ``simulated`` (this dashboard process) or
    ``external`` (``voicekit campaign serve``); the runner lease's ``owner`` and
    ``expires_at`` (UTC) and whether it is ``active``; ``note`` says it for people."""

    mode: str
    owner: str | None = None
    expires_at: datetime | None = None
    active: bool = False
    note: str = ""


class CampaignDetail(CampaignRow):
    """One campaign: its row, the summary figures
    (:class:`voicekit_core.campaigns.summary.CampaignSummary`, rates 0..1, cost USD),
    what it overrides, the actions its state allows, its dialer and links."""

    summary: dict[str, Any]
    overrides: list[str]
    actions: list[str]
    dialer: DialerInfo
    calls_url: str
    export_url: str


class EventRow(BaseModel):
    """One activity-log line: ``kind`` (a state such as ``paused``, or ``created``,
    ``edited``, ``redial``, ``breaker``, ``vetoed``, ``runner_error``...), the ``detail``
    (reasons; untrusted text), the lead it concerns if any. ``at`` is UTC."""

    id: int
    at: datetime
    kind: str
    lead_id: int | None = None
    detail: str = ""


class ImportIssue(BaseModel):
    """A row the import reported: ``where`` (``"row 7"``), ``kind`` (``invalid``,
    ``duplicate``, ``do_not_call``, ``timezone_unknown``), ``reason``, and whether the
    lead was ``stored`` (as skipped)."""

    where: str
    kind: str
    reason: str
    stored: bool


class ImportSummary(BaseModel):
    """What the import of a new campaign did (rows of the list): ``stored`` =
    ``pending`` + ``skipped``; ``invalid`` and ``duplicates`` were not stored;
    ``issues`` lists the first reported rows, ``issue_count`` counts them all."""

    lead_list: str
    rows: int
    stored: int
    pending: int
    skipped: int
    invalid: int
    duplicates: int
    do_not_call: int
    timezone_unknown: int
    issue_count: int
    issues: list[ImportIssue]


class TodayFigures(BaseModel):
    """Calls started today (``day``, UTC): ``calls`` ended, ``in_progress`` now (any
    day), ``dispositions`` of the ended ones, ``connected`` (a person answered),
    ``booked`` (meeting_booked) and ``conversion`` = booked / connected (0..1)."""

    day: date
    calls: int
    dispositions: dict[str, int]
    connected: int
    booked: int
    conversion: float


class Overview(BaseModel):
    """The Overview page: every campaign with its progress, calls in progress now
    (``calls_in_progress``), today's figures and who dials (``dialer``)."""

    campaigns: list[CampaignRow]
    calls_in_progress: int
    today: TodayFigures
    dialer: str


# -- campaigns ------------------------------------------------------------------------------


def lead_progress(store: Store, campaign_ids: list[str] | None = None) -> dict[str, LeadProgress]:
    """``{campaign id: LeadProgress}`` in one grouped query (every campaign, or these)."""
    lead = campaign_leads
    query = select(lead.c.campaign_id, lead.c.state, lead.c.disposition, func.count()).group_by(
        lead.c.campaign_id, lead.c.state, lead.c.disposition
    )
    if campaign_ids is not None:
        query = query.where(lead.c.campaign_id.in_(campaign_ids))
    result: dict[str, LeadProgress] = {}
    with store.read() as db:
        for campaign_id, state, disposition, count in db.execute(query):
            progress = result.setdefault(campaign_id, LeadProgress())
            progress.total += count
            progress.states[state] = progress.states.get(state, 0) + count
            if state in FINAL_LEAD_STATES:
                progress.final += count
            if state == "done" and disposition:
                progress.dispositions[disposition] = (
                    progress.dispositions.get(disposition, 0) + count
                )
    for progress in result.values():
        progress.progress = round(progress.final / progress.total, 4) if progress.total else 0.0
        progress.states = {s: progress.states[s] for s in LEAD_STATES if s in progress.states}
        progress.dispositions = dict(
            sorted(progress.dispositions.items(), key=lambda kv: (-kv[1], kv[0]))
        )
    return result


def campaign_row(campaign: repo.Campaign, progress: LeadProgress | None) -> CampaignRow:
    return CampaignRow(
        id=campaign.id,
        name=campaign.name,
        state=campaign.state,
        reason=campaign.state_reason,
        agent_name=campaign.agent_name,
        source=campaign.source,
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        leads=progress or LeadProgress(),
    )


def campaign_rows(store: Store) -> list[CampaignRow]:
    """Every campaign, newest first, with its lead progress."""
    campaigns = repo.list_campaigns(store)
    progress = lead_progress(store)
    return [campaign_row(c, progress.get(c.id)) for c in campaigns]


def campaign_detail(dash: DashboardState, campaign: repo.Campaign) -> CampaignDetail:
    """Everything the campaign page shows but its activity log."""
    from .campaign_form import overrides_summary

    store = dash.store
    row = campaign_row(campaign, lead_progress(store, [campaign.id]).get(campaign.id))
    return CampaignDetail(
        **row.model_dump(),
        summary=campaign_summary(store, campaign.id).as_dict(),
        overrides=overrides_summary(campaign),
        actions=allowed_actions(campaign.state),
        dialer=dialer_info(dash, campaign),
        calls_url=f"/calls?campaign={campaign.id}",
        export_url=f"/api/campaigns/{campaign.id}/export.csv",
    )


def dialer_info(dash: DashboardState, campaign: repo.Campaign) -> DialerInfo:
    lease = runner_lease(dash.store, campaign.id)
    info = DialerInfo(
        mode=dash.dialer, owner=lease.owner, expires_at=lease.expires_at, active=lease.active
    )
    running = campaign.state == "running"
    if dash.dialer == "simulated":
        info.note = (
            "This dashboard dials it with offline simulated calls."
            if running
            else "Started campaigns are dialed by this dashboard with offline simulated calls."
        )
    elif running and not lease.active:
        info.note = (
            "Running, but no dialer holds it: is `voicekit campaign serve` running "
            "for this deployment?"
        )
    else:
        info.note = "Dialed by `voicekit campaign serve`; Start and Resume only mark it running."
    return info


def activity(store: Store, campaign_id: str, limit: int = 50) -> list[EventRow]:
    """The newest ``limit`` activity-log lines, newest first."""
    return [EventRow(**event) for event in repo.events(store, campaign_id, limit=limit)]


def import_summary(result: ImportResult, lead_list: str) -> ImportSummary:
    return ImportSummary(
        lead_list=lead_list,
        rows=result.rows,
        stored=result.stored,
        pending=result.pending,
        skipped=result.skipped,
        invalid=result.invalid,
        duplicates=result.duplicates,
        do_not_call=result.do_not_call,
        timezone_unknown=result.timezone_unknown,
        issue_count=result.issue_count,
        issues=[
            ImportIssue(where=i.where, kind=i.kind, reason=i.reason, stored=i.stored)
            for i in result.issues
        ],
    )


# -- overview -------------------------------------------------------------------------------


def calls_in_progress(store: Store) -> int:
    """Calls journaled ``in_progress`` whose lease has not expired (a call whose process
    died is not counted)."""
    with store.read() as db:
        return db.execute(
            select(func.count())
            .select_from(calls)
            .where(
                calls.c.status == "in_progress",
                or_(calls.c.lease_expires_at.is_(None), calls.c.lease_expires_at > utcnow()),
            )
        ).scalar_one()


def today_figures(store: Store, now: datetime | None = None) -> TodayFigures:
    """Today's (UTC) ended calls by disposition, connected, booked and conversion."""
    now = now or utcnow()
    day = now.astimezone(timezone.utc).date()
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    with store.read() as db:
        rows = db.execute(
            select(calls.c.disposition, func.count())
            .where(calls.c.started_at >= start, calls.c.status != "in_progress")
            .group_by(calls.c.disposition)
        ).all()
    dispositions: dict[str, int] = {}
    for disposition, count in rows:
        key = disposition or "unknown"
        dispositions[key] = dispositions.get(key, 0) + count
    connected = sum(n for d, n in dispositions.items() if d not in NOT_CONNECTED and d != "unknown")
    booked = dispositions.get(Disposition.MEETING_BOOKED.value, 0)
    return TodayFigures(
        day=day,
        calls=sum(dispositions.values()),
        dispositions=dict(sorted(dispositions.items(), key=lambda kv: (-kv[1], kv[0]))),
        connected=connected,
        booked=booked,
        conversion=round(booked / connected, 4) if connected else 0.0,
    )


def overview(dash: DashboardState) -> Overview:
    return Overview(
        campaigns=campaign_rows(dash.store),
        calls_in_progress=calls_in_progress(dash.store),
        today=today_figures(dash.store),
        dialer=dash.dialer,
    )
