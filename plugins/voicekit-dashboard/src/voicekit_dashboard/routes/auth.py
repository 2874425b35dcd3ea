"""Public routes: ``/login``, ``/logout`` and ``/healthz``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text

from ..accounts import verify_login
from ..web import Dash, check_csrf, page

router = APIRouter()


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a login to another site."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@router.get("/healthz", include_in_schema=False)
def healthz(dash: Dash) -> JSONResponse:
    """200 ``{"status": "ok"}`` when the store answers; 503 otherwise."""
    try:
        with dash.store.read() as db:
            db.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "store unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str = "/"):
    return page(request, "login.html", next=_safe_next(next), error="")


@router.post("/login", include_in_schema=False, dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    dash: Dash,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    dash.limits.hit("login", request)
    if not verify_login(dash.store, username, password):
        return page(
            request,
            "login.html",
            next=_safe_next(next),
            error="Wrong username or password.",
            status_code=401,
        )
    csrf = request.session.get("csrf")
    request.session.clear()  # a fresh session on login (no fixation)
    request.session["user"] = username.strip()
    if csrf:
        request.session["csrf"] = csrf
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False, dependencies=[Depends(check_csrf)])
def logout(request: Request):
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
