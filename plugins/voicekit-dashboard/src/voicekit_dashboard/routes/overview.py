"""``/``: the overview: campaigns with their state and progress, calls in progress now,
today's dispositions and conversion (meetings booked / connected calls). Today is the
current UTC day. The page refreshes its figures every 5 seconds (htmx).

JSON API (tag ``overview``): ``GET /api/overview``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..campaign_views import Overview, overview
from ..web import Dash, page

router = APIRouter()


@router.get("/api/overview", tags=["overview"], response_model=Overview)
def api_overview(dash: Dash):
    """Every campaign with its lead progress, calls in progress now (journaled
    ``in_progress`` with a live lease), and today's (UTC) ended calls by disposition with
    connected, booked and conversion = booked / connected."""
    return overview(dash)


@router.get("/", include_in_schema=False)
def overview_page(request: Request, dash: Dash):
    return page(request, "overview.html", active="overview", view=overview(dash))


@router.get("/overview/panel", include_in_schema=False)
def overview_panel(request: Request, dash: Dash):
    return page(request, "overview_panel.html", view=overview(dash))
