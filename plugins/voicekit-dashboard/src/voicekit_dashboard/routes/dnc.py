"""``/dnc``: the do-not-call lists (global and per campaign): search, add, remove, import.

Numbers are typed in any form and read with the deployment's ``[leads]`` phone policy (an
extension is accepted and dropped: blocking a number blocks its extensions), as
``voicekit dnc`` reads them. A search ``q`` is an exact number, or the start of one:
``+1415`` (international), or ``415`` (national, in the default region; also matched as
international digits). Entries are stored by :mod:`voicekit_core.campaigns.dnc`.

Scopes: ``global`` (the list every call checks) or a campaign (name or id: its own list).

JSON API (tag ``dnc``): ``GET /api/dnc?q=&scope=&page=``, ``POST /api/dnc``,
``DELETE /api/dnc/{phone}?scope=``, ``POST /api/dnc/import``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import phonenumbers
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.sql.elements import ColumnElement
from starlette.concurrency import run_in_threadpool

from voicekit_core.campaigns.dnc import (
    GLOBAL_SCOPE,
    MAX_REASON_CHARS,
    DncFileError,
    add_dnc,
    import_dnc,
    remove_dnc,
)
from voicekit_core.campaigns.repo import CampaignError, find_campaign, list_campaigns
from voicekit_core.lead_lists import clean_filename
from voicekit_core.masking import display_phone, display_text
from voicekit_core.phones import InvalidPhone, PhonePolicy
from voicekit_core.store.tables import dnc

from ..uploads import dashboard_upload, upload_form
from ..web import Dash, DashboardState, is_htmx, page

router = APIRouter()

#: Entries per page.
PAGE_SIZE = 50
#: Bad rows of an import shown (and returned by the API).
MAX_IMPORT_PROBLEMS = 50
#: The ``scope`` that lists every entry.
ALL = "all"

_UPLOAD_FORM = upload_form(
    "CSV with a 'phone' column (and 'reason'), or text with one number per line "
    "('#' starts the reason)",
    campaign="campaign name or id; empty: the global list",
)


class DncEntryOut(BaseModel):
    """One entry: ``scope`` is ``""`` for the global list, else a campaign id (named in
    ``campaign``); ``created_at`` UTC."""

    id: int
    phone: str
    scope: str
    campaign: str | None = None
    reason: str
    source: str
    created_at: datetime


class DncPageOut(BaseModel):
    entries: list[DncEntryOut]
    total: int = Field(description="entries matching the search, on every page")
    page: int
    pages: int
    page_size: int


class DncAddIn(BaseModel):
    phone: str = Field(max_length=64, description="any form; read with the [leads] policy")
    reason: str = Field(default="", max_length=MAX_REASON_CHARS)
    campaign: str | None = Field(default=None, description="name or id; None: global list")


class DncChangeOut(BaseModel):
    phone: str = Field(description="E.164")
    scope: str
    campaign: str | None = None
    changed: bool = Field(description="added (POST) or removed (DELETE); False: already so")


class DncProblemOut(BaseModel):
    row: str = Field(description='where, e.g. "row 7"')
    reason: str


class DncImportOut(BaseModel):
    """``rows`` non-blank rows read: ``added`` new entries, ``already`` on the list,
    ``problem_count`` not numbers (the first :data:`MAX_IMPORT_PROBLEMS` listed)."""

    filename: str
    scope: str
    campaign: str | None = None
    rows: int
    added: int
    already: int
    problem_count: int
    problems: list[DncProblemOut]


# -- helpers ------------------------------------------------------------------------------


def _policy(dash: DashboardState) -> PhonePolicy:
    policy = PhonePolicy.from_config(dash.deployment.config)
    return PhonePolicy(policy.default_region, True, policy.allow_vanity)


def _phone(dash: DashboardState, raw: str, field: str = "phone") -> str:
    try:
        return _policy(dash).parse(raw).e164
    except InvalidPhone as exc:
        raise HTTPException(400, detail=f"{field} {_short(raw)!r}: {exc}") from None


def _short(text: str, limit: int = 64) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _scope(dash: DashboardState, ref: str | None) -> tuple[str, str | None]:
    """``(scope, campaign name)`` for a campaign name or id; empty or ``global``: the
    global list. 404 for an unknown campaign."""
    ref = (ref or "").strip()
    if not ref or ref == "global":
        return GLOBAL_SCOPE, None
    try:
        campaign = find_campaign(dash.store, ref)
    except CampaignError as exc:
        raise HTTPException(404, detail=f"campaign: {exc}") from None
    return campaign.id, campaign.name


def _match(dash: DashboardState, q: str) -> ColumnElement[bool] | None:
    """The condition for search text ``q`` (see the module docstring); 400 when it is
    neither a number nor the start of one."""
    q = q.strip()
    if not q:
        return None
    policy = _policy(dash)
    try:
        return dnc.c.phone == policy.parse(q).e164
    except InvalidPhone:
        pass
    digits = "".join(ch for ch in q if ch.isdigit())
    if not digits or any(ch.isalpha() for ch in q):
        raise HTTPException(400, detail=f"q {_short(q)!r}: not a phone number or the start of one")
    if q.startswith("+"):
        prefixes = [f"+{digits}"]
    else:
        code = phonenumbers.country_code_for_region(policy.default_region)
        national = digits.lstrip("0")  # a trunk prefix (0 in most countries) is not dialed
        prefixes = [f"+{code}{national}", f"+{digits}"] if code else [f"+{digits}"]
    # digits only: nothing in a prefix is a LIKE wildcard
    return or_(*(dnc.c.phone.startswith(prefix) for prefix in dict.fromkeys(prefixes)))


def _search(
    dash: DashboardState, q: str, scope: str | None, page_number: int
) -> tuple[DncPageOut, str]:
    """A page of entries matching ``q`` in ``scope`` (``all``, ``global`` or a campaign),
    newest first, and the scope's label."""
    conditions = []
    label = "every list"
    if scope and scope != ALL:
        scope_id, name = _scope(dash, scope)
        conditions.append(dnc.c.scope == scope_id)
        label = f"campaign {name}" if name else "the global list"
    match = _match(dash, q)
    if match is not None:
        conditions.append(match)
    names = {campaign.id: campaign.name for campaign in list_campaigns(dash.store)}
    with dash.store.read() as db:
        total = db.execute(select(func.count()).select_from(dnc).where(*conditions)).scalar_one()
        rows = db.execute(
            select(dnc)
            .where(*conditions)
            .order_by(dnc.c.created_at.desc(), dnc.c.id.desc())
            .limit(PAGE_SIZE)
            .offset((page_number - 1) * PAGE_SIZE)
        ).all()
    entries = [
        DncEntryOut(
            id=row.id,
            phone=row.phone,
            scope=row.scope,
            campaign=names.get(row.scope) if row.scope else None,
            reason=row.reason,
            source=row.source,
            created_at=row.created_at,
        )
        for row in rows
    ]
    pages = max(1, -(-total // PAGE_SIZE))
    return (
        DncPageOut(
            entries=entries, total=total, page=page_number, pages=pages, page_size=PAGE_SIZE
        ),
        label,
    )


def _add(dash: DashboardState, entry: DncAddIn) -> DncChangeOut:
    phone = _phone(dash, entry.phone)
    scope, name = _scope(dash, entry.campaign)
    with dash.store.write() as db:
        added = add_dnc(db, phone, scope=scope, reason=entry.reason, source="dashboard")
    return DncChangeOut(phone=phone, scope=scope, campaign=name, changed=added)


def _remove(dash: DashboardState, raw_phone: str, scope_ref: str | None) -> DncChangeOut:
    phone = _phone(dash, raw_phone)
    scope, name = _scope(dash, scope_ref)
    with dash.store.write() as db:
        removed = remove_dnc(db, phone, scope=scope)
    if not removed:
        where = f"campaign {name!r}'s list" if name else "the global list"
        raise HTTPException(404, detail=f"phone {display_phone(phone)} is not on {where}")
    return DncChangeOut(phone=phone, scope=scope, campaign=name, changed=True)


def _import(dash: DashboardState, filename: str, data: bytes, campaign: str | None):
    scope, name = _scope(dash, campaign)
    shown = clean_filename(filename)
    folder = Path(tempfile.mkdtemp(prefix="voicekit-dnc-"))  # 0700: phone numbers inside
    try:
        path = folder / "dnc-upload"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            result = import_dnc(
                dash.store,
                path,
                policy=PhonePolicy.from_config(dash.deployment.config),
                scope=scope,
                source=f"import:{shown}",
                max_problems=MAX_IMPORT_PROBLEMS,
            )
        except DncFileError as exc:
            # name the uploaded file, not the temporary copy
            raise DncFileError([replace(p, file=shown) for p in exc.problems]) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return DncImportOut(
        filename=shown,
        scope=scope,
        campaign=name,
        rows=result.rows,
        added=result.added,
        already=result.already,
        problem_count=result.problem_count,
        problems=[DncProblemOut(row=p.key, reason=display_text(p.reason)) for p in result.problems],
    )


async def _upload(request: Request, dash: DashboardState) -> DncImportOut:
    upload = await dashboard_upload(request, dash)
    return await run_in_threadpool(
        _import, dash, upload.filename, upload.data, upload.fields.get("campaign")
    )


# -- JSON API -----------------------------------------------------------------------------


@router.get("/api/dnc", tags=["dnc"])
def api_search(
    dash: Dash,
    q: Annotated[str, Query(max_length=64, description="a number, or its start")] = "",
    scope: Annotated[str, Query(description="all, global, or a campaign name or id")] = ALL,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> DncPageOut:
    """Entries matching ``q`` (exact number in any form, or a prefix such as ``+1415``
    or ``415``), newest first, :data:`PAGE_SIZE` a page. 400 for a ``q`` that is not a
    number; 404 for an unknown campaign."""
    return _search(dash, q, scope, page)[0]


@router.post("/api/dnc", tags=["dnc"])
def api_add(entry: DncAddIn, dash: Dash) -> DncChangeOut:
    """Put a number on the global list or ``campaign``'s. ``changed`` is False when it was
    already there (the first entry and its reason are kept). 400 for a bad number, 404
    for an unknown campaign."""
    return _add(dash, entry)


@router.delete("/api/dnc/{phone}", tags=["dnc"])
def api_remove(
    phone: str,
    dash: Dash,
    scope: Annotated[str, Query(description="global (default), or a campaign name or id")] = "",
) -> DncChangeOut:
    """Take a number off one list (only that scope). 404 when it is not on it or the
    campaign is unknown; 400 for a bad number."""
    return _remove(dash, phone, scope)


@router.post("/api/dnc/import", tags=["dnc"], openapi_extra=_UPLOAD_FORM)
async def api_import(request: Request, dash: Dash) -> DncImportOut:
    """Add every number of an uploaded DNC file to the global list or ``campaign``'s, in
    one transaction. Rows that are not numbers are reported, the others imported. 400
    when the file cannot be read (not UTF-8, no ``phone`` column...), 413 over
    ``upload_max_bytes``, 429 over the per-IP upload rate."""
    return await _upload(request, dash)


# -- pages --------------------------------------------------------------------------------


def _page(
    request: Request,
    dash: DashboardState,
    *,
    q: str = "",
    scope: str = ALL,
    page_number: int = 1,
    message: str = "",
    imported: DncImportOut | None = None,
    fragment: str | None = None,
):
    error = ""
    try:
        results, label = _search(dash, q, scope, page_number)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        error, label = str(exc.detail), ""
        results = DncPageOut(entries=[], total=0, page=1, pages=1, page_size=PAGE_SIZE)
    context: dict[str, Any] = {
        "results": results,
        "label": label,
        "q": q,
        "scope": scope or ALL,
        "error": error,
        "message": message,
        "imported": imported,
        "campaigns": list_campaigns(dash.store),
    }
    return page(request, fragment or "dnc.html", active="dnc", **context)


@router.get("/dnc", include_in_schema=False)
def dnc_page(
    request: Request,
    dash: Dash,
    q: Annotated[str, Query(max_length=64)] = "",
    scope: Annotated[str, Query()] = ALL,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
):
    fragment = "dnc_results.html" if is_htmx(request) else None
    return _page(request, dash, q=q, scope=scope, page_number=page, fragment=fragment)


@router.post("/dnc", include_in_schema=False)
def dnc_add(
    request: Request,
    dash: Dash,
    phone: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=MAX_REASON_CHARS)] = "",
    campaign: Annotated[str, Form()] = "",
):
    change = _add(dash, DncAddIn(phone=phone, reason=reason, campaign=campaign or None))
    if not is_htmx(request):
        return RedirectResponse("/dnc", status_code=303)
    where = f"campaign {change.campaign}'s list" if change.campaign else "the global list"
    shown = display_phone(change.phone)
    message = f"{shown} added to {where}." if change.changed else f"{shown} was already on {where}."
    return _page(request, dash, message=message, fragment="dnc_results.html")


@router.post("/dnc/remove", include_in_schema=False)
def dnc_remove(
    request: Request,
    dash: Dash,
    entry_id: Annotated[int, Form()],
    q: Annotated[str, Form(max_length=64)] = "",
    scope: Annotated[str, Form()] = ALL,
):
    # by entry id: the page never puts a (possibly masked) number in a form
    with dash.store.read() as db:
        entry = db.execute(select(dnc.c.phone, dnc.c.scope).where(dnc.c.id == entry_id)).first()
    if entry is None:
        raise HTTPException(404, detail=f"no do-not-call entry with id {entry_id}")
    change = _remove(dash, entry.phone, entry.scope)
    if not is_htmx(request):
        return RedirectResponse("/dnc", status_code=303)
    where = f"campaign {change.campaign}'s list" if change.campaign else "the global list"
    message = f"{display_phone(change.phone)} removed from {where}."
    return _page(request, dash, q=q, scope=scope, message=message, fragment="dnc_results.html")


@router.post("/dnc/import", include_in_schema=False)
async def dnc_import(request: Request, dash: Dash):
    imported = await _upload(request, dash)
    fragment = "dnc_import_result.html" if is_htmx(request) else None
    return await run_in_threadpool(_page, request, dash, imported=imported, fragment=fragment)
