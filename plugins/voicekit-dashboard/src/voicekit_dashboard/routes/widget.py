"""The embeddable web voice widget: ``GET /widget.js`` and ``POST /api/widget/token``.

Public (no login): a site listed in ``[plugins.dashboard] widget_allowed_origins`` embeds
``<script src="https://dash.example.com/widget.js" defer></script>``; a visitor's click
asks ``/api/widget/token`` for a join token and talks to the deployment's agent in the
browser (``docs/widget.md``).

The token endpoint answers only requests whose ``Origin`` header is allowed (an empty list,
the default, disables the widget; ``"*"`` allows every site), counts each request against
the per-IP ``widget_rate``, and mints a token for a fresh random room and identity whose
room configuration dispatches this deployment's agent: nothing the client sends chooses
the room, the identity or the agent. The API secret never leaves the process.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from voicekit_core.telephony.credentials import LiveKitCredentials, resolve_credentials
from voicekit_core.telephony.errors import TelephonyConfigError
from voicekit_core.telephony.settings import deployment_name

from ..settings import DashboardSettings
from ..web import HERE, Dash

logger = logging.getLogger("voicekit.dashboard.widget")
router = APIRouter()

WIDGET_JS = HERE / "static" / "widget.js"
#: The longest a widget token may live (the settings cap it too), seconds.
MAX_TTL_SECONDS = 900
#: How long browsers and CDNs may reuse /widget.js before revalidating it (its ETag).
WIDGET_JS_MAX_AGE = 300
#: How long a browser may cache an answered preflight, seconds.
PREFLIGHT_MAX_AGE = 600
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WidgetToken(BaseModel):
    """A join token for one widget call."""

    server_url: str = Field(description="LiveKit URL the browser connects to (wss:// or https://)")
    participant_token: str = Field(description="signed JWT (HS256) for room_name")
    room_name: str = Field(description="the call's fresh room, web-<hex>")
    participant_identity: str = Field(description="the visitor's identity in the room")
    expires_at: datetime = Field(description="when the token stops being accepted (UTC)")


# -- origins -------------------------------------------------------------------------


def normalize_origin(origin: str) -> str:
    """``"HTTPS://Example.com:443/"`` -> ``"https://example.com"``: lower-case scheme and
    host, default port dropped, no path (how browsers serialize ``Origin``); '' when
    ``origin`` is not an http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return ""
    if scheme not in _DEFAULT_PORTS or not host:
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def origin_allowed(origin: str | None, settings: DashboardSettings) -> bool:
    """True when ``origin`` (the request's ``Origin`` header) may request widget tokens:
    ``"*"`` in the list allows any non-empty origin, otherwise it must equal one listed
    origin after :func:`normalize_origin`. No ``Origin`` header is never allowed."""
    if not origin:
        return False
    allowed = settings.widget_allowed_origins
    if "*" in allowed:
        return True
    ours = normalize_origin(origin)
    return bool(ours) and any(normalize_origin(item) == ours for item in allowed)


def cors_headers(origin: str) -> dict[str, str]:
    """CORS headers for an allowed ``origin`` (echoed; no cookies are involved)."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Expose-Headers": "Retry-After",
        "Vary": "Origin",
    }


def _check_origin(request: Request, settings: DashboardSettings) -> str:
    """The request's allowed ``Origin``. Raises 403 (no CORS headers) otherwise."""
    origin = request.headers.get("origin")
    if not settings.widget_allowed_origins:
        raise HTTPException(
            status_code=403,
            detail="the web widget is disabled: list the sites that embed it in "
            "[plugins.dashboard] widget_allowed_origins",
        )
    if not origin:
        raise HTTPException(
            status_code=403, detail="widget tokens are only given to pages (no Origin header)"
        )
    if not origin_allowed(origin, settings):
        raise HTTPException(
            status_code=403,
            detail=f"origin {origin[:200]!r} is not in [plugins.dashboard] widget_allowed_origins",
        )
    return origin


# -- tokens --------------------------------------------------------------------------


def mint_widget_token(
    creds: LiveKitCredentials,
    *,
    agent_name: str,
    ttl_seconds: int,
    origin: str = "",
    deployment: str | None = None,
) -> WidgetToken:
    """A token for a fresh room ``web-<16 hex>`` and identity ``web-<12 hex>`` that joins
    (publish audio, subscribe, data) and dispatches ``agent_name`` on join, valid for
    ``ttl_seconds`` (capped at :data:`MAX_TTL_SECONDS`). The agent's job metadata says
    ``direction: inbound``, the room as ``call_id``, ``extra.channel == "web"`` and
    ``deployment`` (the name a worker serving several deployments routes by)."""
    import jwt

    from voicekit_core.telephony.credentials import quiet_short_secret_warning
    from voicekit_core.telephony.metadata import JobMetadata
    from voicekit_core.telephony.tokens import mint_join_token

    quiet_short_secret_warning()
    room = f"web-{secrets.token_hex(8)}"
    identity = f"web-{secrets.token_hex(6)}"
    metadata = JobMetadata(
        direction="inbound",
        call_id=room,
        deployment=deployment,
        extra={"channel": "web", "origin": origin[:200]},
    )
    # mint_join_token's VideoGrants(room_join=True, room=room) keeps livekit-api's
    # defaults can_publish / can_subscribe / can_publish_data = True: a voice call
    token = mint_join_token(
        creds,
        room=room,
        identity=identity,
        agent_name=agent_name,
        ttl=timedelta(seconds=min(ttl_seconds, MAX_TTL_SECONDS)),
        name="Web visitor",
        agent_metadata=metadata.to_json(),
    )
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    return WidgetToken(
        server_url=creds.url,
        participant_token=token,
        room_name=room,
        participant_identity=identity,
        expires_at=datetime.fromtimestamp(expires, timezone.utc),
    )


def _credentials(dash: Dash, headers: dict[str, str]) -> LiveKitCredentials:
    """The deployment's LiveKit credentials; 503 naming what is missing otherwise."""
    from voicekit_core.telephony.failures import check_url

    try:
        creds = resolve_credentials(dash.deployment.config)
        check_url(creds)
    except TelephonyConfigError as exc:
        logger.warning("widget token refused: %s", exc)
        raise HTTPException(
            status_code=503,
            detail=f"the web widget is not available: {exc}; run `voicekit doctor CONFIG` "
            "to check the LiveKit credentials",
            headers=headers,
        ) from None
    return creds


@router.options("/api/widget/token", include_in_schema=False)
def token_preflight(request: Request, dash: Dash) -> Response:
    """CORS preflight: 204 with the CORS headers for an allowed origin, else 403."""
    origin = _check_origin(request, dash.settings)
    return Response(
        status_code=204,
        headers={
            **cors_headers(origin),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE),
        },
    )


@router.post(
    "/api/widget/token",
    tags=["widget"],
    response_model=WidgetToken,
    responses={
        403: {"description": "widget disabled, or Origin missing or not allowed"},
        429: {"description": "too many token requests from this IP (Retry-After, seconds)"},
        503: {"description": "LiveKit credentials are not configured"},
    },
)
def widget_token(request: Request, response: Response, dash: Dash) -> WidgetToken:
    """Mint a short-lived join token for a new web call with this deployment's agent.

    Public; the request body is ignored. Checks, in order: the ``Origin`` header is in
    ``widget_allowed_origins`` (403), the per-IP ``widget_rate`` (429 with
    ``Retry-After``), the LiveKit credentials (503). The token joins a fresh room
    ``web-<hex>`` as ``web-<hex>``, lives ``widget_token_ttl_seconds`` (at most 900 s) and
    dispatches the deployment's agent when the room is created.
    """
    origin = _check_origin(request, dash.settings)
    headers = cors_headers(origin)
    try:
        dash.limits.hit("widget", request)
    except HTTPException as exc:
        raise HTTPException(
            exc.status_code, detail=exc.detail, headers={**(exc.headers or {}), **headers}
        ) from None
    creds = _credentials(dash, headers)
    token = mint_widget_token(
        creds,
        agent_name=dash.deployment.config.agent.name,
        ttl_seconds=dash.settings.widget_token_ttl_seconds,
        origin=origin,
        deployment=deployment_name(dash.deployment.config),
    )
    logger.info(
        "widget token for %s: room %s, identity %s, until %s",
        origin[:200],
        token.room_name,
        token.participant_identity,
        token.expires_at.isoformat(timespec="seconds"),
    )
    response.headers.update({**headers, "Cache-Control": "no-store"})
    return token


# -- the script ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _widget_js(mtime_ns: int) -> tuple[bytes, str]:
    body = WIDGET_JS.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@router.get("/widget.js", include_in_schema=False)
def widget_js(request: Request) -> Response:
    """The embeddable script (plain JavaScript), cached ``WIDGET_JS_MAX_AGE`` seconds and
    revalidated by ETag (304 when unchanged)."""
    body, etag = _widget_js(WIDGET_JS.stat().st_mtime_ns)
    headers = {
        "Cache-Control": f"public, max-age={WIDGET_JS_MAX_AGE}",
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        # a classic <script src> needs no CORS; this lets pages load it with crossorigin
        # (Subresource Integrity) too
        "Access-Control-Allow-Origin": "*",
    }
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/javascript", headers=headers)


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}
