"""The HubSpot SDK client (imported lazily, cached per settings) and its errors.

Retries: the SDK's urllib3 pool gets a ``Retry`` that retries 429 and 5xx replies on
every method (POST included), with exponential backoff from ``backoff_seconds`` and
HubSpot's ``Retry-After`` honoured. When retries run out the SDK raises ``ApiException``
with the last status, which :func:`hubspot_error` turns into a :class:`HubSpotError`.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubspot import HubSpot

    from .settings import HubSpotSettings

RETRY_STATUSES = (429, 500, 502, 503, 504)
_clients: dict[tuple, Any] = {}
_lock = threading.Lock()


class HubSpotError(RuntimeError):
    """A HubSpot request failed for good (after retries). ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class HubSpotAuthError(HubSpotError):
    """HubSpot refused the access token (401) or its scopes (403)."""


def client_for(settings: HubSpotSettings) -> HubSpot:
    """A ``hubspot.HubSpot`` client for ``settings`` (one per host/token/retry policy)."""
    key = (
        settings.host,
        settings.access_token.get_secret_value(),
        settings.max_retries,
        settings.backoff_seconds,
        settings.backoff_max_seconds,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            from hubspot import HubSpot
            from urllib3.util.retry import Retry

            retry = Retry(
                total=settings.max_retries,
                connect=settings.max_retries,
                read=0,  # a read timeout may mean HubSpot got the request: never resend it
                status=settings.max_retries,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=None,  # POST too: searches are POSTs, creates are looked up first
                backoff_factor=settings.backoff_seconds,
                backoff_max=settings.backoff_max_seconds,
                respect_retry_after_header=True,
                raise_on_status=False,
            )
            client = HubSpot(
                access_token=settings.access_token.get_secret_value(),
                host=settings.host,
                retry=retry,
            )
            _clients[key] = client
    return client


def hubspot_error(exc: Exception, settings: HubSpotSettings, doing: str) -> HubSpotError:
    """Translate an SDK/urllib3 exception into a :class:`HubSpotError` whose message says
    what was being done, the HTTP status and HubSpot's own message, never the token.

    401/403 give a :class:`HubSpotAuthError` naming ``[plugins.hubspot] access_token``.
    """
    status = getattr(exc, "status", None)
    body = getattr(exc, "body", None)
    category, message = _parse_body(body)
    if not message:
        message = str(getattr(exc, "reason", None) or exc).strip()
    text = f"HubSpot {doing} failed"
    if isinstance(status, int) and status:
        text += f": HTTP {status}"
    if category:
        text += f" {category}"
    if message:
        text += f": {message}"
    text = _redact(text, settings)
    if status in (401, 403):
        hint = (
            "check [plugins.hubspot] access_token (a private-app token, usually "
            "${HUBSPOT_ACCESS_TOKEN}) is current"
        )
        if status == 403:
            hint += (
                " and that the app has the scopes crm.objects.contacts.read/write "
                "(calls, notes and tasks live under the contacts scopes)"
            )
        return HubSpotAuthError(f"{text}; {hint}", status)
    return HubSpotError(text, status if isinstance(status, int) else None)


def _parse_body(body: Any) -> tuple[str, str]:
    if not body:
        return "", ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except (TypeError, ValueError):
        return "", str(body)[:300]
    if not isinstance(data, dict):
        return "", str(body)[:300]
    return str(data.get("category") or ""), str(data.get("message") or "")[:500]


def _redact(text: str, settings: HubSpotSettings) -> str:
    token = settings.access_token.get_secret_value()
    return text.replace(token, "***") if token else text
