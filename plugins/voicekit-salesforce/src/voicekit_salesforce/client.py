"""The simple-salesforce client (imported lazily, cached per settings) and its errors.

Retries: the client's ``requests.Session`` gets an ``HTTPAdapter`` whose urllib3 ``Retry``
retries 429 and 5xx replies on every method, with exponential backoff from
``backoff_seconds``; when retries run out simple-salesforce raises its exception for the
last status, which :func:`salesforce_error` turns into a :class:`SalesforceError`.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from .settings import SalesforceSettings

RETRY_STATUSES = (429, 500, 502, 503, 504)
_clients: dict[tuple, Any] = {}
_lock = threading.Lock()

_AUTH_SETTINGS = {
    "session": "session_id / instance_url",
    "password": "username / password / security_token / domain",
    "oauth_password": "username / password / consumer_key / consumer_secret / domain",
    "client_credentials": "consumer_key / consumer_secret / domain",
}


class SalesforceError(RuntimeError):
    """A Salesforce request failed for good (after retries). ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


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
    from urllib3.util.retry import Retry

    session = requests.Session()
    if settings.ca_bundle is not None:
        ca = settings.ca_bundle
        if not ca.is_absolute() and base_dir is not None:
            ca = base_dir / ca
        if not ca.is_file():
            raise SalesforceError(f"[plugins.salesforce] ca_bundle: no such file: {ca}")
        session.verify = str(ca)
        session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise override verify
    retry = Retry(
        total=settings.max_retries,
        connect=settings.max_retries,
        read=0,  # a read timeout may mean Salesforce got the request: never resend it
        status=settings.max_retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=None,
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

    if isinstance(exc, SalesforceAuthenticationFailed):
        text = f"Salesforce {doing} failed: {exc.code}: {exc.message}"
        status: int | None = None
        auth = True
    elif isinstance(exc, SdkError):
        status = exc.status
        text = f"Salesforce {doing} failed: HTTP {status}{_describe(exc.content)}"
        auth = isinstance(exc, SalesforceExpiredSession)
    else:
        status, auth = None, False
        text = f"Salesforce {doing} failed: {type(exc).__name__}: {exc}"
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
    return SalesforceError(text, status)


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
