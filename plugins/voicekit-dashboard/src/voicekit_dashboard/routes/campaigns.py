"""``/campaigns``: list, create (from a stored lead list), edit, run and export campaigns.

Pages: ``/campaigns`` (the list), ``/campaigns/new`` (``?list=<lead list id>``),
``/campaigns/{id}`` (state, progress, figures, buttons, activity log; refreshes every
2 s while running) and ``/campaigns/{id}/edit``.

JSON API (tag ``campaigns``; the pages use it too): ``GET/POST /api/campaigns``,
``POST /api/campaigns/preview``, ``GET/PUT /api/campaigns/{id}``,
``GET /api/campaigns/{id}/events``, ``POST /api/campaigns/{id}/{action}`` (``start``,
``pause``, ``resume``, ``cancel``, ``redial``; 409 when the state does not allow it) and
``GET /api/campaigns/{id}/export.csv``. Create, edit and preview (the campaign form) are
in :mod:`.campaign_editor`, included here.

Who dials a started campaign is :mod:`voicekit_dashboard.dialer`'s business: this
process with simulated calls, or ``voicekit campaign serve``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from voicekit_core.campaigns import repo

from .. import dialer
from ..campaign_views import (
    ACTIVE_STATES,
    CampaignDetail,
    CampaignRow,
    EventRow,
    activity,
    campaign_detail,
    campaign_row,
    campaign_rows,
    lead_progress,
)
from ..web import Dash, DashboardState, is_htmx, page
from . import campaign_editor
from .campaign_editor import EDITABLE_STATES, TAGS, found, user_of

router = APIRouter()
router.include_router(campaign_editor.router)  # first: /campaigns/new before /campaigns/{id}
#: Activity-log lines on the campaign page.
EVENT_LINES = 50

Action = Literal["start", "pause", "resume", "cancel", "redial"]


async def on_startup(dash: DashboardState) -> None:
    """Dial started campaigns in this process when the dashboard's dialer is simulated."""
    await dialer.start_dialer(dash)


async def on_shutdown(dash: DashboardState) -> None:
    await dialer.stop_dialer(dash)


class ActionResult(BaseModel):
    """The campaign after an action, and what the action did (``message``)."""

    campaign: CampaignRow
    message: str


# -- list and detail ------------------------------------------------------------------------


@router.get("/api/campaigns", tags=TAGS, response_model=list[CampaignRow])
def api_campaigns(dash: Dash):
    """Every campaign, newest first, with its state and lead progress."""
    return campaign_rows(dash.store)


@router.get("/campaigns", include_in_schema=False)
def campaigns_page(request: Request, dash: Dash):
    template = "campaigns_table.html" if is_htmx(request) else "campaigns.html"
    response = page(request, template, active="campaigns", rows=campaign_rows(dash.store))
    response.headers["Vary"] = "HX-Request"
    return response


@router.get("/api/campaigns/{campaign_id}", tags=TAGS, response_model=CampaignDetail)
def api_campaign(campaign_id: str, dash: Dash):
    """One campaign: state and reason, lead progress, summary figures, overrides, the
    actions its state allows and who dials it."""
    return campaign_detail(dash, found(dash, campaign_id))


@router.get("/api/campaigns/{campaign_id}/events", tags=TAGS, response_model=list[EventRow])
def api_campaign_events(
    campaign_id: str,
    dash: Dash,
    limit: Annotated[int, Query(ge=1, le=1000)] = EVENT_LINES,
):
    """The campaign's activity log, newest first: state changes with their reasons,
    edits, redials, breaker trips, vetoes, runner errors."""
    campaign = found(dash, campaign_id)
    return activity(dash.store, campaign.id, limit)


def _panel(request: Request, dash: DashboardState, campaign: repo.Campaign, message: str = ""):
    detail = campaign_detail(dash, campaign)
    return page(
        request,
        "campaign_panel.html",
        detail=detail,
        events=activity(dash.store, campaign.id, EVENT_LINES),
        live=campaign.state in ACTIVE_STATES,
        editable=campaign.state in EDITABLE_STATES,
        message=message,
    )


@router.get("/campaigns/{campaign_id}", include_in_schema=False)
def campaign_page(request: Request, campaign_id: str, dash: Dash, saved: int = 0):
    campaign = found(dash, campaign_id)
    detail = campaign_detail(dash, campaign)
    return page(
        request,
        "campaign.html",
        active="campaigns",
        detail=detail,
        events=activity(dash.store, campaign.id, EVENT_LINES),
        live=campaign.state in ACTIVE_STATES,
        editable=campaign.state in EDITABLE_STATES,
        message="Saved. Calls placed from now on use the new settings." if saved else "",
    )


@router.get("/campaigns/{campaign_id}/panel", include_in_schema=False)
def campaign_panel(request: Request, campaign_id: str, dash: Dash):
    return _panel(request, dash, found(dash, campaign_id))


# -- actions --------------------------------------------------------------------------------


@router.post("/api/campaigns/{campaign_id}/{action}", tags=TAGS, response_model=ActionResult)
async def campaign_action(request: Request, campaign_id: str, action: Action, dash: Dash):
    """Start (draft), pause (running), resume (paused), cancel (not yet final; leads not
    called are canceled) or redial the unanswered leads (no answer, busy, voicemail; a
    completed campaign runs again). 409 with the reason when the campaign's state does
    not allow it. In simulated mode this dashboard dials a started campaign; otherwise
    ``voicekit campaign serve`` does."""
    campaign = await run_in_threadpool(found, dash, campaign_id)
    try:
        result = await run_in_threadpool(
            dialer.apply_action, dash.store, campaign.id, action, user_of(request)
        )
    except dialer.ActionRefused as exc:
        raise HTTPException(409, str(exc)) from None
    except repo.CampaignError as exc:
        raise HTTPException(409, str(exc)) from None
    dialer.wake(dash)
    if is_htmx(request):
        return await run_in_threadpool(_panel, request, dash, result.campaign, result.message)
    progress = lead_progress(dash.store, [campaign.id]).get(campaign.id)
    return ActionResult(campaign=campaign_row(result.campaign, progress), message=result.message)


# -- export ---------------------------------------------------------------------------------


@router.get(
    "/api/campaigns/{campaign_id}/export.csv",
    tags=TAGS,
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per attempt"}},
)
def export_campaign(campaign_id: str, dash: Dash):
    """Every lead with each of its attempts and results as CSV
    (:mod:`voicekit_core.campaigns.export`; formula-looking cells are neutralized)."""
    campaign = found(dash, campaign_id)
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", campaign.name).strip("-")[:60] or "campaign"
    return StreamingResponse(
        _export_chunks(dash, campaign),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{safe}-{campaign.id}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _export_chunks(dash: DashboardState, campaign: repo.Campaign) -> Iterator[str]:
    from voicekit_core.campaigns.export import COLUMNS, export_rows

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for count, row in enumerate(export_rows(dash.store, campaign), start=1):
        writer.writerow(row)
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
