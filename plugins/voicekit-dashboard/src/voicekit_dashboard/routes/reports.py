"""``/reports``: dispositions, the dialed → connected → qualified → booked funnel, pick-up
and voicemail rates, median latency and cost, per campaign and UTC date range; the same
figures as JSON (``/api/reports``) and CSV (``/api/reports.csv``).

Definitions: :mod:`voicekit_dashboard.queries.reports`.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..queries import filters
from ..queries.reports import LATENCY_KEYS, Report, build_report, write_csv
from ..web import Dash, DashboardState, page

router = APIRouter()

TAGS = ["reports"]
DATE_HELP = "UTC date (YYYY-MM-DD, the whole day) or ISO 8601 time"
CampaignParam = Annotated[str, Query(description="campaign id or name; empty for all")]
SinceParam = Annotated[str, Query(description=f"attempts started from this {DATE_HELP}")]
UntilParam = Annotated[
    str, Query(description=f"attempts started up to this {DATE_HELP}, inclusive")
]


class ReportFigures(BaseModel):
    """One campaign's figures (or all campaigns'). Rates 0..1, costs USD, latencies in
    seconds (None when no call measured them)."""

    campaign_id: str | None
    campaign_name: str
    attempts: int
    open_attempts: int
    dialed: int
    connected: int
    voicemail: int
    qualified: int
    booked: int
    pickup_rate: float
    voicemail_rate: float
    qualified_rate: float
    booking_rate: float
    calls: int
    total_cost_usd: float
    cost_per_call_usd: float
    cost_per_dial_usd: float
    median_latency_seconds: dict[str, float | None]
    dispositions: dict[str, int]


class ReportResponse(BaseModel):
    """The figures over attempts started in ``since`` ≤ t < ``until`` (UTC; None: open),
    of one campaign or all; ``other_calls`` counts calls outside campaigns (test and
    inbound calls) in the range, which the figures leave out."""

    since: datetime | None
    until: datetime | None
    campaign_id: str | None
    total: ReportFigures
    by_campaign: list[ReportFigures]
    other_calls: int


def _report(dash: DashboardState, campaign: str, since: str, until: str) -> Report:
    """Raises 404 for an unknown campaign, ``FilterError`` (400) for a bad date."""
    dates = filters.date_range(since, until)
    try:
        with dash.store.read() as db:
            campaign_id = filters.campaign_id(db, campaign)
    except filters.UnknownCampaign as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return build_report(dash.store, campaign_id=campaign_id, dates=dates)


@router.get("/api/reports", tags=TAGS, response_model=ReportResponse)
def api_reports(
    dash: Dash, campaign: CampaignParam = "", since: SinceParam = "", until: UntilParam = ""
) -> dict:
    """Funnel, rates, dispositions, median latency and cost per campaign and in total,
    over campaign attempts started in the range. Unknown campaign → 404, bad date → 400."""
    return _report(dash, campaign, since, until).as_dict()


@router.get(
    "/api/reports.csv",
    tags=TAGS,
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "one row per campaign"}},
)
def api_reports_csv(
    dash: Dash, campaign: CampaignParam = "", since: SinceParam = "", until: UntilParam = ""
) -> Response:
    """The figures of ``/api/reports`` as CSV: one row per campaign, then the total (all
    campaigns); latencies in milliseconds, cells safe to open in a spreadsheet."""
    report = _report(dash, campaign, since, until)
    out = io.StringIO()
    write_csv(report, out)
    parts = [report.campaign_id or "all"]
    parts += [f"{d:%Y%m%d}" for d in (report.dates.start, report.dates.end) if d is not None]
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="voicekit-report-{"-".join(parts)}.csv"'
        },
    )


def chart_data(report: Report) -> dict:
    """What the charts draw (JSON in a ``<script type="application/json">`` element)."""
    total = report.total
    dispositions = sorted(total.dispositions.items(), key=lambda kv: -kv[1])
    return {
        "funnel": {
            "labels": ["Dialed", "Connected", "Qualified", "Booked"],
            "values": [total.dialed, total.connected, total.qualified, total.booked],
        },
        "dispositions": {
            "labels": [name.replace("_", " ") for name, _ in dispositions],
            "values": [count for _, count in dispositions],
        },
    }


@router.get("/reports", include_in_schema=False)
def reports_page(
    request: Request, dash: Dash, campaign: str = "", since: str = "", until: str = ""
):
    report = _report(dash, campaign, since, until)
    values = {"campaign": campaign, "since": since, "until": until}
    query = urlencode({key: value for key, value in values.items() if value})
    with dash.store.read() as db:
        campaigns = filters.campaign_choices(db)
    fragment = request.headers.get("hx-request") and not request.headers.get(
        "hx-history-restore-request"
    )
    response = page(
        request,
        "reports_results.html" if fragment else "reports.html",
        "reports",
        report=report,
        figures=report.as_dict(),
        chart=chart_data(report),
        values=values,
        campaigns=campaigns,
        csv_url="/api/reports.csv" + (f"?{query}" if query else ""),
        latency_keys=LATENCY_KEYS,
    )
    response.headers["Vary"] = "HX-Request"
    return response
