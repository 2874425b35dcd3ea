"""What every route shares: the dashboard's state, templates, login and CSRF checks.

Routers get the state with ``Depends(state)``; pages render with :func:`page`. Every
router except the public ones is mounted with :func:`protected` dependencies: a session
login (pages redirect to ``/login``, ``/api/`` answers 401) and, on POST/PUT/PATCH/DELETE,
a CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``; htmx sends the header
from the ``<body hx-headers>`` attribute of the layout).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from voicekit_core.masking import display_phone
from voicekit_core.redaction import redact

from .ratelimit import RateLimits
from .settings import DashboardSettings

if TYPE_CHECKING:
    from voicekit_core.deployment import Deployment
    from voicekit_core.store import Store

HERE = Path(__file__).parent
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class DashboardState:
    """One dashboard process: its deployment (config, plugins, store), settings, limits.

    ``dialer`` is ``"simulated"`` when this process dials started campaigns itself with
    offline simulated calls, ``"external"`` when a ``voicekit campaign serve`` process does.
    ``services`` holds long-lived helpers routers add (the test-call sessions, the
    campaign supervisor), by name.
    """

    deployment: Deployment
    settings: DashboardSettings
    limits: RateLimits
    dialer: str = "external"
    speed: float = 10.0
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.deployment.store


class LoginRequired(Exception):
    """Raised by :func:`require_login`; the app turns it into a redirect or a 401."""


def state(request: Request) -> DashboardState:
    return request.app.state.dashboard


#: A route parameter ``dash: Dash`` receives the :class:`DashboardState`.
Dash = Annotated["DashboardState", Depends(state)]


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Refuse (403) an unsafe request without this session's CSRF token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = request.session.get("csrf")
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not secrets.compare_digest(expected, sent):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page")


def require_login(request: Request) -> str:
    """The logged-in username. Raises :class:`LoginRequired` when there is none."""
    user = request.session.get("user")
    if not user:
        raise LoginRequired()
    return user


def api_rate(request: Request) -> None:
    """Count one request against the per-IP API rate."""
    state(request).limits.hit("api", request)


def protected() -> list[Any]:
    """Dependencies of every non-public router: login, then CSRF, then the API rate."""
    return [Depends(require_login), Depends(check_csrf), Depends(api_rate)]


# -- templates -----------------------------------------------------------------------


def _when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime(fmt) + (
        " UTC" if value.utcoffset() is not None and not value.utcoffset() else ""
    )


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    value = float(value)
    if value < 60:
        return f"{value:.0f} s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes} min {seconds:02d} s"


def _json_text(value: Any) -> str:
    """JSON as people read it (non-ASCII kept); autoescaping then makes it safe HTML."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * float(value):.0f}%"


def make_templates() -> Jinja2Templates:
    """The page templates: autoescaped HTML, with filters for untrusted and PII fields
    (``redact``, ``phone``), times (``when``, ``seconds``), ``percent`` and
    ``json_text`` (JSON for display: escaped by autoescape, unlike ``tojson``)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    env = templates.env
    env.autoescape = True
    env.filters.update(
        redact=lambda value: redact("" if value is None else str(value)),
        phone=display_phone,
        when=_when,
        seconds=_seconds,
        percent=_percent,
        json_text=_json_text,
    )
    return templates


TEMPLATES = make_templates()

NAV = (
    ("overview", "/", "Overview"),
    ("leads", "/leads", "Leads"),
    ("campaigns", "/campaigns", "Campaigns"),
    ("live", "/live", "Live"),
    ("calls", "/calls", "Calls"),
    ("reports", "/reports", "Reports"),
    ("dnc", "/dnc", "DNC"),
    ("test", "/test-call", "Test call"),
    ("config", "/config", "Config"),
)


def page(request: Request, template: str, active: str = "", status_code: int = 200, **context: Any):
    """Render a page of the layout (``base.html``) with the nav, the user and the CSRF
    token; ``context`` values are escaped by the template unless marked safe."""
    dash = state(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "nav": NAV,
            "active": active,
            "user": request.session.get("user"),
            "csrf": csrf_token(request),
            "agent_name": dash.deployment.config.agent.name,
            "dialer": dash.dialer,
            **context,
        },
        status_code=status_code,
    )


def is_htmx(request: Request) -> bool:
    """True for a request htmx sent (it answers with a fragment, not a whole page)."""
    return request.headers.get("hx-request") == "true"


def wants_html(request: Request) -> bool:
    """True for page requests: not under ``/api/`` and not asking for JSON."""
    accept = request.headers.get("accept", "")
    return not request.url.path.startswith("/api/") and "application/json" not in accept
