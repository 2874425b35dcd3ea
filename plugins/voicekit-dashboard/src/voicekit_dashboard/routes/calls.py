"""``/calls``: the call journal, newest first, filtered by campaign, disposition, status,
dates (UTC) and a search; ``/calls/{call_id}``: one call's transcript with its tool calls,
outcome, latency, cost and post-call deliveries, each of which can be re-delivered.

The pages and ``/api/calls...`` share one view of the data; what people see is masked
(phones, emails) when PII masking is on, and error texts are redacted.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from voicekit_core.masking import display_phone, display_text
from voicekit_core.redaction import redact
from voicekit_core.store.tables import CALL_STATUSES

from ..queries import filters
from ..queries.calls import PAGE_SIZE, CallFilters, CallPage, CallRecord, get_call, list_calls
from ..queries.deliveries import RedeliverRefused, redeliver
from ..web import Dash, DashboardState, page

router = APIRouter()

TAGS = ["calls"]


# -- response models -------------------------------------------------------------------


class DeliveryCounts(BaseModel):
    total: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0


class CallRow(BaseModel):
    """One call of the list. Times UTC, duration in seconds (None while in progress)."""

    call_id: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    lead_name: str
    company: str
    phone: str
    campaign_id: str | None
    campaign_name: str | None
    status: str
    disposition: str | None
    deliveries: DeliveryCounts


class CallList(BaseModel):
    """A page of calls (``page`` of ``pages``, ``per_page`` each) of ``total`` matching;
    ``since`` / ``until``: the UTC range applied (``until`` exclusive)."""

    calls: list[CallRow]
    total: int
    page: int
    pages: int
    per_page: int
    since: datetime | None
    until: datetime | None


class TimelineItem(BaseModel):
    """A spoken line (``kind`` "say": ``role``, ``text``) or a tool call (``kind`` "tool":
    ``name``, ``arguments``, ``output``, ``is_error``), at ``at`` (UTC)."""

    kind: Literal["say", "tool"]
    at: datetime
    role: str | None = None
    text: str | None = None
    interrupted: bool = False
    name: str | None = None
    arguments: dict[str, Any] | None = None
    output: str | None = None
    is_error: bool = False


class Delivery(BaseModel):
    """One plugin's post-call delivery; ``error`` is the last failure, redacted;
    ``leased_until`` (UTC) is set while a process is running it."""

    plugin: str
    status: str
    attempts: int
    error: str
    result: Any = None
    updated_at: datetime | None = None
    leased_until: datetime | None = None


class CampaignLink(BaseModel):
    id: str
    name: str
    state: str
    url: str


class AttemptLink(BaseModel):
    """The campaign attempt this call was (``number`` of the lead's attempts)."""

    id: int
    number: int
    lead_id: int
    row_number: int
    room_name: str
    started_at: datetime
    ended_at: datetime | None
    disposition: str | None
    sip_status: int | None
    detail: str


class CallDetail(BaseModel):
    """One call in full. ``latency_seconds``: medians per kind (``e2e_latency``,
    ``llm_ttft``...); ``estimated_cost_usd`` from ``[models.prices]`` (None when not
    measured); ``report_error`` is set (and the report fields empty) when the stored
    report cannot be read."""

    call_id: str
    status: str
    direction: str
    mode: str
    agent_name: str
    phone: str
    lead: dict[str, Any]
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float | None
    disposition: str | None
    disposition_reason: str
    timeline: list[TimelineItem]
    qualification: dict[str, Any] | None
    extracted: dict[str, Any] | None = None  # the [extraction] record (record_details)
    data: dict[str, Any]
    models: dict[str, Any]
    latency_seconds: dict[str, float]
    turns_measured: int
    usage: list[dict[str, Any]]
    estimated_cost_usd: float | None
    notes: list[str]
    campaign: CampaignLink | None
    attempt: AttemptLink | None
    deliveries: list[Delivery]
    report_error: str = ""


class RedeliverResult(BaseModel):
    """The outcome of one re-delivery: ``delivered`` now or not (``error``, redacted)."""

    call_id: str
    plugin: str
    delivered: bool
    error: str = Field(description="this attempt's error, redacted; empty when delivered")
    delivery: Delivery


# -- views -----------------------------------------------------------------------------


def shown(value: Any) -> Any:
    """``value`` (JSON-like) as people may see it: secrets redacted, phones and emails
    masked when masking is on."""
    if isinstance(value, dict):
        return {key: shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shown(item) for item in value]
    if isinstance(value, str):
        return display_text(redact(value))
    return value


def _delivery(row: dict[str, Any]) -> Delivery:
    return Delivery(
        plugin=row["plugin"],
        status=row["status"],
        attempts=row["attempts"],
        error=shown(row["error"]),
        result=shown(row["result"]),
        updated_at=row["updated_at"],
        leased_until=row["leased_until"],
    )


def _rows(result: CallPage) -> list[CallRow]:
    return [
        CallRow(
            **{
                **row,
                "lead_name": shown(row["lead_name"]),
                "company": shown(row["company"]),
                "phone": display_phone(row["phone"]),
            }
        )
        for row in result.rows
    ]


def _timeline(record: CallRecord) -> list[TimelineItem]:
    report = record.report
    if report is None:
        return []
    said = [
        TimelineItem(
            kind="say",
            at=entry.at,
            role=entry.role,
            text=shown(entry.text),
            interrupted=entry.interrupted,
        )
        for entry in report.transcript
    ]
    tools = [
        TimelineItem(
            kind="tool",
            at=tool.at,
            name=tool.name,
            arguments=shown(tool.arguments),
            output=shown(tool.output),
            is_error=tool.is_error,
        )
        for tool in report.tool_calls
    ]
    # a stable sort: at the same instant the line comes before its tool call, as
    # `voicekit journal show` prints them
    return sorted(said + tools, key=lambda item: item.at)


def _latency(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        name.removeprefix("median_"): float(value)
        for name, value in metrics.items()
        if name.startswith("median_") and isinstance(value, (int, float))
    }


def call_detail(record: CallRecord) -> CallDetail:
    """The view of one call the page and ``/api/calls/{call_id}`` show."""
    report = record.report
    metrics = report.metrics if report else {}
    cost = metrics.get("estimated_cost_usd")
    ended = record.ended_at
    campaign = record.campaign
    return CallDetail(
        call_id=record.call_id,
        status=record.status,
        direction=report.direction if report else "",
        mode=report.mode if report else "",
        agent_name=shown(report.agent_name) if report else "",
        phone=display_phone(record.phone),
        lead=shown(report.lead or {}) if report else {},
        started_at=record.started_at,
        ended_at=ended,
        duration_seconds=(
            report.duration_seconds
            if report and record.status != "in_progress"
            else (round((ended - record.started_at).total_seconds(), 3) if ended else None)
        ),
        disposition=record.disposition,
        disposition_reason=shown(report.disposition_reason) if report else "",
        timeline=_timeline(record),
        qualification=shown(report.qualification) if report else None,
        extracted=shown(getattr(report, "extracted", None)) if report else None,
        data=shown(report.data) if report else {},
        models=shown(report.models) if report else {},
        latency_seconds=_latency(metrics),
        turns_measured=len(metrics.get("turns") or []),
        usage=shown(metrics.get("usage") or []),
        estimated_cost_usd=float(cost) if isinstance(cost, (int, float)) else None,
        notes=shown(report.notes) if report else [],
        campaign=(
            CampaignLink(**campaign, url=f"/campaigns/{campaign['id']}") if campaign else None
        ),
        attempt=AttemptLink(**record.attempt) if record.attempt else None,
        deliveries=[_delivery(row) for row in record.deliveries],
        report_error=record.report_error,
    )


def _filters(
    dash: DashboardState,
    campaign: str,
    disposition: str,
    status: str,
    since: str,
    until: str,
    q: str,
) -> CallFilters:
    """Parse the filter values. Raises 404 for an unknown campaign, ``FilterError`` (a
    400 naming the field and value) for any other bad value."""
    try:
        with dash.store.read() as db:
            campaign_id = filters.campaign_id(db, campaign)
    except filters.UnknownCampaign as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return CallFilters(
        campaign_id=campaign_id,
        disposition=filters.disposition(disposition, dash.deployment.dispositions.names()),
        status=filters.call_status(status),
        dates=filters.date_range(since, until),
        q=q.strip(),
    )


def _call(dash: DashboardState, call_id: str) -> CallRecord:
    record = get_call(dash.store, call_id)
    if record is None:
        raise HTTPException(status_code=404, detail=f"no call {call_id!r} in the journal")
    return record


# -- routes ----------------------------------------------------------------------------

Q_HELP = "search: lead name, company, phone (any format), call id or campaign name"
DATE_HELP = "UTC date (YYYY-MM-DD, the whole day) or ISO 8601 time"


@router.get("/api/calls", tags=TAGS, response_model=CallList)
def api_calls(
    dash: Dash,
    campaign: Annotated[str, Query(description="campaign id or name")] = "",
    disposition: Annotated[str, Query(description="a disposition, e.g. meeting_booked")] = "",
    status: Annotated[str, Query(description=f"one of {', '.join(CALL_STATUSES)}")] = "",
    since: Annotated[str, Query(description=f"from this {DATE_HELP}")] = "",
    until: Annotated[str, Query(description=f"up to this {DATE_HELP}, inclusive")] = "",
    q: Annotated[str, Query(max_length=200, description=Q_HELP)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> CallList:
    """The call journal, newest first, 50 calls a page. Unknown campaign → 404; a bad
    filter value → 400 naming it."""
    chosen = _filters(dash, campaign, disposition, status, since, until, q)
    result = list_calls(dash.store, chosen, page=page)
    return CallList(
        calls=_rows(result),
        total=result.total,
        page=result.page,
        pages=result.pages,
        per_page=result.per_page,
        since=chosen.dates.start,
        until=chosen.dates.end,
    )


@router.get("/calls", include_in_schema=False)
def calls_page(
    request: Request,
    dash: Dash,
    campaign: str = "",
    disposition: str = "",
    status: str = "",
    since: str = "",
    until: str = "",
    q: Annotated[str, Query(max_length=200)] = "",
    page_number: Annotated[int, Query(ge=1, le=100_000, alias="page")] = 1,
):
    chosen = _filters(dash, campaign, disposition, status, since, until, q)
    result = list_calls(dash.store, chosen, page=page_number)
    values = {
        "campaign": campaign,
        "disposition": disposition,
        "status": status,
        "since": since,
        "until": until,
        "q": q,
    }
    with dash.store.read() as db:
        campaigns = filters.campaign_choices(db)
    context = {
        "rows": _rows(result),
        "result": result,
        "values": values,
        "page_url": lambda n: "/calls?" + urlencode({**_set(values), "page": n}),
        "campaigns": campaigns,
        "dispositions": dash.deployment.dispositions.names(),
        "statuses": CALL_STATUSES,
        "per_page": PAGE_SIZE,
    }
    fragment = request.headers.get("hx-request") and not request.headers.get(
        "hx-history-restore-request"
    )
    response = page(request, "calls_table.html" if fragment else "calls.html", "calls", **context)
    response.headers["Vary"] = "HX-Request"
    return response


def _set(values: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


@router.get("/api/calls/{call_id}", tags=TAGS, response_model=CallDetail)
def api_call(call_id: str, dash: Dash) -> CallDetail:
    """One call: transcript with tool calls in order, outcome, qualification, latency,
    cost, campaign attempt and deliveries. Unknown call → 404."""
    return call_detail(_call(dash, call_id))


@router.get("/calls/{call_id}", include_in_schema=False)
def call_page(call_id: str, request: Request, dash: Dash):
    detail = call_detail(_call(dash, call_id))
    return page(
        request,
        "call.html",
        "calls",
        call=detail,
        arguments_json=[
            json.dumps(item.arguments, ensure_ascii=False, default=str)
            if item.kind == "tool"
            else ""
            for item in detail.timeline
        ],
        data_json=json.dumps(detail.data, indent=2, ensure_ascii=False, default=str),
        qualification_json=json.dumps(
            detail.qualification, indent=2, ensure_ascii=False, default=str
        ),
    )


@router.post(
    "/api/calls/{call_id}/deliveries/{plugin}/redeliver",
    tags=TAGS,
    response_model=RedeliverResult,
    responses={
        404: {"description": "unknown call, or the call has no delivery by this plugin"},
        409: {"description": "already delivered, or another process is delivering it now"},
    },
)
async def api_redeliver(call_id: str, plugin: str, request: Request, dash: Dash):
    """Run ``plugin``'s post-call delivery of the call again, now, under a claim (as
    ``voicekit journal retry`` does, for this one delivery). A delivered delivery is
    never re-run (409). htmx requests get the delivery's table row back."""
    try:
        outcome = await redeliver(dash.deployment, call_id, plugin)
    except RedeliverRefused as exc:
        raise HTTPException(status_code=exc.status, detail=exc.detail) from None
    delivery = _delivery(outcome)
    error = shown(outcome["attempt_error"])
    if request.headers.get("hx-request"):
        return page(
            request,
            "call_delivery.html",
            "calls",
            call_id=call_id,
            delivery=delivery,
            just_tried=True,
            attempt_error=error,
        )
    return RedeliverResult(
        call_id=call_id,
        plugin=plugin,
        delivered=outcome["delivered"],
        error=error,
        delivery=delivery,
    )
