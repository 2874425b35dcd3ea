"""The FastAPI application: :func:`create_app` wires the routers, sessions, errors and
static files around one deployment."""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from voicekit_core.errors import VoicekitError
from voicekit_core.masking import display_text
from voicekit_core.redaction import redact

from .accounts import session_key
from .ratelimit import RateLimits
from .settings import DashboardSettings
from .web import HERE, DashboardState, LoginRequired, page, protected, require_login, wants_html

if TYPE_CHECKING:
    from voicekit_core.deployment import Deployment

logger = logging.getLogger("voicekit.dashboard")

#: Page routers behind the login, in nav order (``voicekit_dashboard.routes.<name>``).
PAGES = ("overview", "leads", "campaigns", "live", "calls", "reports", "dnc", "testcall", "config")
#: Routers anyone may reach: login, health, and the embeddable voice widget.
PUBLIC = ("auth", "widget")


def dashboard_settings(deployment: Deployment) -> DashboardSettings:
    """``[plugins.dashboard]`` when the plugin is enabled, else the defaults."""
    try:
        return deployment.config.plugin_settings("dashboard")
    except KeyError:
        return DashboardSettings()


def _routers(names: tuple[str, ...]) -> list[Any]:
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(f"voicekit_dashboard.routes.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"voicekit_dashboard.routes.{name}":
                raise
    return modules


def create_app(
    deployment: Deployment,
    *,
    settings: DashboardSettings | None = None,
    dialer: str = "external",
    speed: float = 10.0,
) -> FastAPI:
    """The dashboard app for ``deployment``.

    ``dialer``: ``"simulated"`` dials started campaigns in this process with offline
    simulated calls (campaign time ``speed`` times faster than real time);
    ``"external"`` leaves dialing to ``voicekit campaign serve``. Routers may define
    ``async on_startup(state)`` / ``async on_shutdown(state)``, run by the app's lifespan.
    """
    settings = settings or dashboard_settings(deployment)
    limits = RateLimits(
        {
            "login": settings.login_rate,
            "upload": settings.upload_rate,
            "api": settings.api_rate,
            "widget": settings.widget_rate,
        },
        trust_proxy_headers=settings.trust_proxy_headers,
    )
    dash = DashboardState(deployment, settings, limits, dialer=dialer, speed=speed)
    pages, public = _routers(PAGES), _routers(PUBLIC)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        started = []
        try:
            for module in pages + public:
                if hasattr(module, "on_startup"):
                    await module.on_startup(dash)
                    started.append(module)
            yield
        finally:
            for module in reversed(started):
                if hasattr(module, "on_shutdown"):
                    try:
                        await module.on_shutdown(dash)
                    except Exception:
                        logger.exception("dashboard shutdown of %s failed", module.__name__)

    app = FastAPI(
        title="voicekit dashboard",
        version="0.1.0",
        description="Campaigns, leads, live calls, results and DNC of one voicekit deployment.",
        docs_url=None,  # Swagger/ReDoc pages load from a CDN; the spec is /api/openapi.json
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.dashboard = dash
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key(deployment.store),
        session_cookie="voicekit_session",
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in public:
        app.include_router(module.router)
    for module in pages:
        app.include_router(module.router, dependencies=protected())

    @app.get("/api/openapi.json", include_in_schema=False, dependencies=[Depends(require_login)])
    def openapi_spec() -> JSONResponse:
        return JSONResponse(app.openapi())

    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired):
        if wants_html(request) and request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={_quote(target)}", status_code=303)
        return JSONResponse({"detail": "login required"}, status_code=401)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException):
        detail = _clean(exc.detail)
        if wants_html(request) and not request.headers.get("hx-request"):
            response = page(
                request,
                "error.html",
                status_code=exc.status_code,
                status=exc.status_code,
                detail=detail,
            )
            response.headers.update(exc.headers or {})
            return response
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(VoicekitError)
    async def _voicekit(request: Request, exc: VoicekitError):
        detail = _clean(str(exc))
        if wants_html(request) and not request.headers.get("hx-request"):
            return page(request, "error.html", status_code=400, status=400, detail=detail)
        return JSONResponse({"detail": detail}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = [
            f"{'.'.join(str(p) for p in error.get('loc', ()))}: {error.get('msg', '')}"
            for error in exc.errors()
        ]
        return JSONResponse({"detail": _clean("; ".join(problems))}, status_code=422)


def _clean(detail: Any) -> str:
    """An error message fit to show: secrets redacted, PII masked when masking is on."""
    return display_text(redact(str(detail)))


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")
