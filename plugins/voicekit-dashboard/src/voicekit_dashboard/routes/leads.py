"""``/leads``: upload lead CSVs, preview them with their problems, pick the default list.

Lists live in the store (:mod:`voicekit_core.lead_lists`). An upload is refused early when
it is too big (``upload_max_bytes``: 413, from ``Content-Length`` or while reading), has
too many rows (``upload_max_rows``), is not UTF-8 or has no ``phone`` column (400); each
upload counts against the per-IP ``upload_rate``. A download gives back the file exactly
as uploaded.

JSON API (tag ``leads``): ``GET/POST /api/leads``, ``GET/DELETE /api/leads/{id}``,
``GET /api/leads/{id}/preview``, ``POST /api/leads/{id}/select``,
``GET /api/leads/{id}/download``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from voicekit_core.campaigns.repo import CampaignError, list_campaigns
from voicekit_core.lead_lists import (
    LeadList,
    LeadListNotFound,
    LeadPreview,
    clean_filename,
    delete_lead_list,
    download_filename,
    get_lead_list,
    lead_list_bytes,
    list_lead_lists,
    preview_lead_list,
    save_lead_list,
    select_lead_list,
)
from voicekit_core.masking import display_email, display_phone, display_text

from ..uploads import Upload, dashboard_upload, upload_form
from ..web import Dash, DashboardState, is_htmx, page

router = APIRouter()

_UPLOAD_FORM = upload_form(name="default: the file's name")


class LeadListOut(BaseModel):
    """A stored lead list (sizes in bytes, ``rows`` = non-blank data rows, time UTC)."""

    id: str
    name: str
    filename: str
    size_bytes: int
    rows: int
    uploaded_at: datetime
    selected: bool


class RowProblemOut(BaseModel):
    kind: str = Field(description="invalid, duplicate, do_not_call or timezone_unknown")
    reason: str


class PreviewRowOut(BaseModel):
    row: int = Field(description="spreadsheet row number (the header is row 1)")
    cells: list[str] = Field(description="one per column, as in the file (PII masked if on)")
    phone: str = Field(description="the lead's E.164 number; empty when the row is not a lead")
    problems: list[RowProblemOut]


class PreviewTotalsOut(BaseModel):
    rows: int
    valid: int
    invalid: int
    duplicates: int
    do_not_call: int = Field(description="valid rows on a DNC list (global or the campaign's)")


class LeadPreviewOut(BaseModel):
    lead_list: LeadListOut
    columns: list[str]
    rows: list[PreviewRowOut]
    totals: PreviewTotalsOut
    campaign_id: str | None = None


# -- helpers ------------------------------------------------------------------------------


def _out(lead_list: LeadList) -> LeadListOut:
    return LeadListOut(**vars(lead_list))


@contextmanager
def _found() -> Iterator[None]:
    """Unknown lists and campaigns are 404s."""
    try:
        yield
    except LeadListNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except CampaignError as exc:
        raise HTTPException(404, detail=f"campaign: {exc}") from None


def _masked(column: str, cell: str) -> str:
    if column == "phone":
        return display_phone(cell)
    if column == "email":
        return display_email(cell)
    return display_text(cell)


def _preview_out(preview: LeadPreview) -> LeadPreviewOut:
    columns = preview.columns
    return LeadPreviewOut(
        lead_list=_out(preview.lead_list),
        columns=columns,
        rows=[
            PreviewRowOut(
                row=row.row,
                cells=[
                    _masked(column, cell) for column, cell in zip(columns, row.cells, strict=True)
                ],
                phone=row.phone,
                problems=[
                    RowProblemOut(kind=p.kind, reason=display_text(p.reason)) for p in row.problems
                ],
            )
            for row in preview.rows
        ],
        totals=PreviewTotalsOut(**vars(preview.totals)),
        campaign_id=preview.campaign_id,
    )


def _free_name(dash: DashboardState, wanted: str) -> str:
    """``wanted``, or ``wanted (2)``, ``(3)``... when a list already has that name."""
    taken = {item.name for item in list_lead_lists(dash.store)}
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted} ({number})", number + 1
    return name


def _save(dash: DashboardState, upload: Upload) -> LeadList:
    name = upload.fields.get("name", "").strip()
    if not name:
        name = _free_name(dash, Path(clean_filename(upload.filename)).stem or "leads")
    settings = dash.settings
    return save_lead_list(
        dash.store,
        dash.deployment.config,
        name=name,
        filename=upload.filename,
        data=upload.data,
        max_bytes=settings.upload_max_bytes,
        max_rows=settings.upload_max_rows,
    )


async def _upload(request: Request, dash: DashboardState) -> LeadList:
    upload = await dashboard_upload(request, dash)
    return await run_in_threadpool(_save, dash, upload)


def _preview(dash: DashboardState, list_id: str, rows: int | None, campaign: str | None):
    with _found():
        return preview_lead_list(
            dash.store,
            dash.deployment.config,
            list_id,
            rows=rows or dash.settings.preview_rows,
            campaign_id=campaign or None,
        )


def _download(dash: DashboardState, list_id: str) -> Response:
    with _found():
        lead_list = get_lead_list(dash.store, list_id)
        data = lead_list_bytes(dash.store, list_id)
    ascii_name = download_filename(lead_list.filename)
    disposition = (
        f'attachment; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(clean_filename(lead_list.filename), safe='')}"
    )
    return Response(
        content=data,
        media_type="text/csv",
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


# -- JSON API -----------------------------------------------------------------------------


@router.get("/api/leads", tags=["leads"])
def api_lists(dash: Dash) -> list[LeadListOut]:
    """Every uploaded lead list, newest first."""
    return [_out(item) for item in list_lead_lists(dash.store)]


@router.post("/api/leads", tags=["leads"], status_code=201, openapi_extra=_UPLOAD_FORM)
async def api_upload(request: Request, dash: Dash) -> LeadListOut:
    """Upload a lead CSV (multipart form: ``file``, optional ``name``).

    413 when the file is over ``upload_max_bytes``; 400 when it has more than
    ``upload_max_rows`` rows or none, is not UTF-8, has no ``phone`` column or cannot be
    read as CSV, or the name is taken (the detail names the file and the reason); 429 over
    the per-IP upload rate. Nothing is stored on error.
    """
    return _out(await _upload(request, dash))


@router.get("/api/leads/{list_id}", tags=["leads"])
def api_list(list_id: str, dash: Dash) -> LeadListOut:
    """One lead list. 404 when unknown."""
    with _found():
        return _out(get_lead_list(dash.store, list_id))


@router.get("/api/leads/{list_id}/preview", tags=["leads"])
def api_preview(
    list_id: str,
    dash: Dash,
    rows: Annotated[int | None, Query(ge=1, le=500, description="rows shown")] = None,
    campaign: Annotated[str | None, Query(description="campaign name or id")] = None,
) -> LeadPreviewOut:
    """The first ``rows`` rows (default ``preview_rows``) with their problems (invalid
    phone, email or timezone, duplicate, DNC hit, timezone unknown) and whole-file totals.
    DNC hits count the global list, plus ``campaign``'s own. 404 for an unknown list or
    campaign."""
    return _preview_out(_preview(dash, list_id, rows, campaign))


@router.post("/api/leads/{list_id}/select", tags=["leads"])
def api_select(list_id: str, dash: Dash) -> LeadListOut:
    """Make this list the default of a new campaign (the only selected one). 404 when
    unknown."""
    with _found():
        return _out(select_lead_list(dash.store, list_id))


@router.delete("/api/leads/{list_id}", tags=["leads"], status_code=204)
def api_delete(list_id: str, dash: Dash) -> Response:
    """Delete the list (campaigns made from it keep their leads). 404 when unknown."""
    with _found():
        delete_lead_list(dash.store, list_id)
    return Response(status_code=204)


@router.get(
    "/api/leads/{list_id}/download",
    tags=["leads"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the file as uploaded"}},
)
def api_download(list_id: str, dash: Dash) -> Response:
    """The file exactly as uploaded, as an attachment named as uploaded. 404 when
    unknown."""
    return _download(dash, list_id)


# -- pages --------------------------------------------------------------------------------


def _panel(request: Request, dash: DashboardState, message: str = "", status_code: int = 200):
    template = "leads_panel.html" if is_htmx(request) else "leads.html"
    return page(
        request,
        template,
        active="leads",
        lists=list_lead_lists(dash.store),
        settings=dash.settings,
        message=message,
        status_code=status_code,
    )


@router.get("/leads", include_in_schema=False)
def leads_page(request: Request, dash: Dash):
    return _panel(request, dash)


@router.post("/leads", include_in_schema=False)
async def leads_upload(request: Request, dash: Dash):
    saved = await _upload(request, dash)
    if not is_htmx(request):
        return RedirectResponse(f"/leads/{quote(saved.id)}", status_code=303)
    message = f"Uploaded {saved.name!r}: {saved.rows:,} rows."
    return await run_in_threadpool(_panel, request, dash, message)


@router.get("/leads/{list_id}", include_in_schema=False)
def leads_preview_page(
    request: Request,
    list_id: str,
    dash: Dash,
    campaign: Annotated[str | None, Query()] = None,
):
    preview = _preview_out(_preview(dash, list_id, None, campaign))
    problem_rows = sum(1 for row in preview.rows if row.problems)
    return page(
        request,
        "leads_preview_body.html" if is_htmx(request) else "leads_preview.html",
        active="leads",
        preview=preview,
        problem_rows=problem_rows,
        campaigns=list_campaigns(dash.store),
        campaign=campaign or "",
    )


@router.post("/leads/{list_id}/select", include_in_schema=False)
def leads_select(request: Request, list_id: str, dash: Dash):
    with _found():
        chosen = select_lead_list(dash.store, list_id)
    if not is_htmx(request):
        return RedirectResponse("/leads", status_code=303)
    return _panel(request, dash, f"{chosen.name!r} is now the default list for new campaigns.")


@router.post("/leads/{list_id}/delete", include_in_schema=False)
def leads_delete(request: Request, list_id: str, dash: Dash):
    with _found():
        gone = get_lead_list(dash.store, list_id)
        delete_lead_list(dash.store, list_id)
    if not is_htmx(request):
        return RedirectResponse("/leads", status_code=303)
    return _panel(request, dash, f"Deleted {gone.name!r}.")


@router.get("/leads/{list_id}/download", include_in_schema=False)
def leads_download(list_id: str, dash: Dash) -> Response:
    return _download(dash, list_id)
