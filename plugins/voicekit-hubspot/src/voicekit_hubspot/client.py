"""The HubSpot SDK client (imported lazily, cached per settings) and its errors.

Retries: the SDK's urllib3 pool gets a :class:`CreateSafeRetry`, which resends a request
only when resending cannot create a second record:

* reads and idempotent writes (``GET``, ``PATCH``, ``PUT``, ``DELETE``, and the read-only
  POSTs ``.../search`` and ``.../batch/read``) on 429 and 5xx replies;
* any request, creates included, on a 429 (HubSpot's rate limiter refused it unprocessed)
  or a connection that could not be opened (nothing was sent).

A create (``POST /crm/v3/objects/{type}``) answered 5xx, or cut off after it was sent, is
never resent here: HubSpot may have stored it. :func:`hubspot_error` marks such failures
``outcome_unknown`` and the delivery code looks the record up before trying again.
Backoff is exponential from ``backoff_seconds``; ``Retry-After`` is honoured.
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from hubspot import HubSpot
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

    from .settings import HubSpotSettings

RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Methods whose repetition has the effect of one request.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE"})
#: POST endpoints that only read (path suffixes).
READ_ONLY_POSTS = ("/search", "/batch/read")
_clients: dict[tuple, Any] = {}
_lock = threading.Lock()


def replayable(method: str | None, url: str | None) -> bool:
    """True when sending ``method url`` twice has the effect of sending it once."""
    verb = (method or "").upper()
    if verb in IDEMPOTENT_METHODS:
        return True
    path = urlsplit(url or "").path.rstrip("/")
    return verb == "POST" and path.endswith(READ_ONLY_POSTS)


class CreateSafeRetry(Retry):
    """A urllib3 ``Retry`` that never resends a request that may have created something.

    Non-replayable requests (see :func:`replayable`) are resent only after a 429 or a
    failure to connect; any other failure ends the retries at once, so the caller sees the
    real status (``raise_on_status=False``) or the transport error.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> CreateSafeRetry:
        redirect = response is not None and bool(response.get_redirect_location())
        if not redirect and not replayable(method, url):
            refused = response is not None and response.status == 429
            unsent = error is not None and self._is_connection_error(error)
            if not (refused or unsent):
                from urllib3.exceptions import MaxRetryError, ResponseError
                from urllib3.util.util import reraise

                if error is not None:
                    raise reraise(type(error), error, _stacktrace)
                status = response.status if response is not None else "?"
                raise MaxRetryError(
                    _pool,  # type: ignore[arg-type]
                    url or "",
                    ResponseError(f"not resending {method} after HTTP {status}"),
                )
        return super().increment(method, url, response, error, _pool, _stacktrace)


class HubSpotError(RuntimeError):
    """A HubSpot request failed for good (after retries). ``status`` is the HTTP status.

    ``outcome_unknown`` is True when HubSpot may have carried the request out anyway (a
    5xx, a timeout or a dropped connection after the request was sent): for a create, the
    record may exist.
    """

    def __init__(self, message: str, status: int | None = None, *, outcome_unknown: bool = False):
        super().__init__(message)
        self.status = status
        self.outcome_unknown = outcome_unknown


class HubSpotPendingError(HubSpotError):
    """A create whose outcome is unknown cannot be confirmed yet (HubSpot's search index
    lags writes): the delivery stays failed and a later retry looks again before creating."""


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

            retry = CreateSafeRetry(
                total=settings.max_retries,
                connect=settings.max_retries,
                read=0,  # a read timeout may mean HubSpot got the request: never resend it
                other=0,
                status=settings.max_retries,
                status_forcelist=RETRY_STATUSES,
                allowed_methods=None,  # every method; CreateSafeRetry decides per request
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


def warm_client(settings: HubSpotSettings) -> None:
    """Build the client and load the contacts API's modules (the SDK imports them lazily,
    hundreds of generated files): a one-time local cost that must not count against a
    call's lookup budget. Blocking; run it in a thread."""
    client_for(settings).crm.contacts.search_api  # noqa: B018 (the attribute loads modules)


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
    return HubSpotError(
        text,
        status if isinstance(status, int) and status else None,
        outcome_unknown=outcome_unknown(exc, status),
    )


def outcome_unknown(exc: BaseException, status: Any) -> bool:
    """Whether HubSpot may have processed the request that raised ``exc``.

    Known not processed: any 4xx reply (400 validation, 401/403, 404, 409, 429) and a
    connection that could not be opened. Unknown: a 5xx, a 408, or a transport error after
    the request was sent (read timeout, connection reset).
    """
    if isinstance(status, int) and status:
        return status >= 500 or status == 408
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    reason = exc.reason if isinstance(exc, MaxRetryError) else exc
    return not isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


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
