"""The simple-salesforce client (imported lazily, cached per settings) and its errors.

Retries: the client's ``requests.Session`` gets an ``HTTPAdapter`` with a
:class:`CreateSafeRetry`, which resends a request only when that cannot create a second
record: queries (``GET``) and idempotent writes (``PATCH`` updates and external-id
upserts, ``PUT``, ``DELETE``) on 429 and 5xx replies, and any request, creates included,
on a 429 or a connection that could not be opened (nothing was sent). A create (``POST
.../sobjects/{Type}/``) answered 5xx, or cut off after it was sent, is never resent:
Salesforce may have committed it. :func:`salesforce_error` marks such failures
``outcome_unknown`` and the delivery code looks the record up before trying again.
Backoff is exponential from ``backoff_seconds``; ``Retry-After`` is honoured. When
retries run out simple-salesforce raises its exception for the last status, which
:func:`salesforce_error` turns into a :class:`SalesforceError`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from simple_salesforce import Salesforce
    from urllib3.connectionpool import ConnectionPool
    from urllib3.response import BaseHTTPResponse

    from .settings import SalesforceSettings

RETRY_STATUSES = (429, 500, 502, 503, 504)
#: Methods whose repetition has the effect of one request.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "TRACE"})
_clients: dict[tuple, Any] = {}
_lock = threading.Lock()


class CreateSafeRetry(Retry):
    """A urllib3 ``Retry`` that never resends a request that may have created something.

    A non-idempotent request (``POST``) is resent only after a 429 or a failure to
    connect; any other failure ends the retries at once, so simple-salesforce sees the
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
        if not redirect and (method or "").upper() not in IDEMPOTENT_METHODS:
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


_AUTH_SETTINGS = {
    "session": "session_id / instance_url",
    "password": "username / password / security_token / domain",
    "oauth_password": "username / password / consumer_key / consumer_secret / domain",
    "client_credentials": "consumer_key / consumer_secret / domain",
}


class SalesforceError(RuntimeError):
    """A Salesforce request failed for good (after retries). ``status`` is the HTTP status.

    ``outcome_unknown`` is True when Salesforce may have carried the request out anyway (a
    5xx, or a timeout / dropped connection after it was sent): for a create, the record
    may exist.
    """

    def __init__(self, message: str, status: int | None = None, *, outcome_unknown: bool = False):
        super().__init__(message)
        self.status = status
        self.outcome_unknown = outcome_unknown


class SalesforcePendingError(SalesforceError):
    """A create whose reply was lost is neither found nor old enough to repeat safely
    (``unconfirmed_wait_seconds``): the delivery stays failed and a later retry looks again."""


class SalesforceAuthError(SalesforceError):
    """Salesforce refused the credentials (login failed, or 401 INVALID_SESSION_ID)."""


def client_for(settings: SalesforceSettings, base_dir: Path | None = None) -> Salesforce:
    """A logged-in ``simple_salesforce.Salesforce`` for ``settings`` (cached; logging in
    happens here for the username and OAuth modes). ``base_dir`` resolves a relative
    ``ca_bundle``. Raises :class:`SalesforceAuthError` when the login is refused and
    :class:`SalesforceError` for a missing ``ca_bundle``."""
    key = (settings.model_dump_json(), _secrets(settings), str(base_dir))
    with _lock:
        client = _clients.get(key)
    if client is not None:
        return client
    client = _build(settings, base_dir)
    with _lock:
        _clients[key] = client
    return client


def forget_client(settings: SalesforceSettings, base_dir: Path | None = None) -> None:
    """Drop the cached client (after an expired session, so the next use logs in again)."""
    with _lock:
        _clients.pop((settings.model_dump_json(), _secrets(settings), str(base_dir)), None)


def _secrets(settings: SalesforceSettings) -> tuple[str, ...]:
    return tuple(
        s.get_secret_value() if s is not None else ""
        for s in (
            settings.session_id,
            settings.password,
            settings.security_token,
            settings.consumer_secret,
        )
    )


def _build(settings: SalesforceSettings, base_dir: Path | None) -> Salesforce:
    import requests
    from requests.adapters import HTTPAdapter
    from simple_salesforce import Salesforce

    session = requests.Session()
    if settings.ca_bundle is not None:
        ca = settings.ca_bundle
        if not ca.is_absolute() and base_dir is not None:
            ca = base_dir / ca
        if not ca.is_file():
            raise SalesforceError(f"[plugins.salesforce] ca_bundle: no such file: {ca}")
        session.verify = str(ca)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    retry = CreateSafeRetry(
        total=settings.max_retries,
        connect=settings.max_retries,
        read=0,  # a read timeout may mean Salesforce got the request: never resend it
        other=0,
        status=settings.max_retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,  # every method; CreateSafeRetry decides per request
        backoff_factor=settings.backoff_seconds,
        backoff_max=settings.backoff_max_seconds,
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    session.mount("https://", HTTPAdapter(max_retries=retry))
    kwargs: dict[str, Any] = {"session": session, "version": settings.api_version}
    kwargs.update(login_arguments(settings))
    try:
        return Salesforce(**kwargs)
    except Exception as exc:
        raise salesforce_error(exc, settings, "login") from None


def login_arguments(settings: SalesforceSettings) -> dict[str, Any]:
    """The ``Salesforce(...)`` keyword arguments of the selected auth mode (secrets
    unwrapped). Shapes: ``{instance_url, session_id}``; ``{username, password,
    security_token, domain}``; ``{username, password, consumer_key, consumer_secret,
    domain}``; ``{consumer_key, consumer_secret, domain}``."""
    mode = settings.auth_mode
    secret = _unwrap
    if mode == "session":
        return {"instance_url": settings.instance_url, "session_id": secret(settings.session_id)}
    if mode == "password":
        return {
            "username": settings.username,
            "password": secret(settings.password),
            "security_token": secret(settings.security_token),
            "domain": settings.domain,
        }
    if mode == "oauth_password":
        return {
            "username": settings.username,
            "password": secret(settings.password),
            "consumer_key": settings.consumer_key,
            "consumer_secret": secret(settings.consumer_secret),
            "domain": settings.domain,
        }
    return {
        "consumer_key": settings.consumer_key,
        "consumer_secret": secret(settings.consumer_secret),
        "domain": settings.domain,
    }


def _unwrap(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def salesforce_error(exc: Exception, settings: SalesforceSettings, doing: str) -> SalesforceError:
    """Translate a simple-salesforce/requests exception into a :class:`SalesforceError`
    saying what was being done, the HTTP status, Salesforce's ``errorCode`` and message,
    never a secret. Refused logins and 401s give a :class:`SalesforceAuthError` naming the
    ``[plugins.salesforce]`` settings in use."""
    from simple_salesforce.exceptions import (
        SalesforceAuthenticationFailed,
        SalesforceExpiredSession,
    )
    from simple_salesforce.exceptions import (
        SalesforceError as SdkError,
    )

    unknown = False
    if isinstance(exc, SalesforceAuthenticationFailed):
        text = f"Salesforce {doing} failed: {exc.code}: {exc.message}"
        status: int | None = None
        auth = True
    elif isinstance(exc, SdkError):
        status = exc.status
        text = f"Salesforce {doing} failed: HTTP {status}{_describe(exc.content)}"
        auth = isinstance(exc, SalesforceExpiredSession)
        unknown = status >= 500 or status == 408
    else:
        status, auth = None, False
        text = f"Salesforce {doing} failed: {type(exc).__name__}: {exc}"
        unknown = not _never_sent(exc)
    text = _redact(text, settings)
    if auth:
        try:
            which = _AUTH_SETTINGS[settings.auth_mode]
        except ValueError:  # pragma: no cover - settings were validated
            which = "credentials"
        return SalesforceAuthError(
            f"{text}; check [plugins.salesforce] {which} (for a session, that the session id / "
            "access token is current and belongs to instance_url)",
            status,
        )
    return SalesforceError(text, status, outcome_unknown=unknown)


def _never_sent(exc: BaseException) -> bool:
    """True for transport errors raised before the request left (connect timeout,
    connection refused); False when Salesforce may have received it."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, MaxRetryError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason: Any = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else exc
    if isinstance(reason, MaxRetryError):
        reason = reason.reason
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


def _describe(content: Any) -> str:
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return f" {first.get('errorCode', '')}: {str(first.get('message', ''))[:300]}"
    if isinstance(content, dict):
        return f" {content.get('error', '')}: {str(content.get('error_description', ''))[:300]}"
    return f": {str(content)[:300]}" if content else ""


def _redact(text: str, settings: SalesforceSettings) -> str:
    for value in _secrets(settings):
        if value:
            text = text.replace(value, "***")
    return text
