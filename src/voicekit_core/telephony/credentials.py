"""LiveKit credentials: ``[plugins.telephony]`` settings first, then the environment.

The secret is kept out of ``repr`` and never printed; :meth:`LiveKitCredentials.describe`
shows the URL and the key id only.

:func:`livekit_api` is the one door to LiveKit: every request of every telephony command
goes through it, and whatever LiveKit or the network does wrong leaves it as one
:class:`~voicekit_core.telephony.errors.LiveKitRequestError` sentence
(:mod:`voicekit_core.telephony.failures`).
"""

from __future__ import annotations

import asyncio
import os
import warnings
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import TelephonyConfigError

if TYPE_CHECKING:
    from livekit import api

    from ..config import DeploymentConfig

ENV_URL = "LIVEKIT_URL"
ENV_KEY = "LIVEKIT_API_KEY"
ENV_SECRET = "LIVEKIT_API_SECRET"
SETTINGS = "[plugins.telephony]"
#: Seconds one request to LiveKit may take (connect + answer) before it counts as a timeout.
REQUEST_TIMEOUT_SECONDS = 10.0

T = TypeVar("T")


@dataclass(frozen=True)
class LiveKitCredentials:
    """Where and how to call LiveKit. ``url`` is ``wss://`` or ``https://``.

    ``*_source`` say where each value was read: ``"[plugins.telephony]"``, the environment
    variable's name, or ``""`` (given directly)."""

    url: str
    api_key: str
    api_secret: str = field(repr=False)
    url_source: str = ""
    key_source: str = ""
    secret_source: str = ""

    def describe(self) -> str:
        """``"https://x.livekit.cloud with key APIabc"``: safe to print (no secret)."""
        return f"{safe_url(self.url)} with key {self.api_key}"


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment (``https://u:p@h/x?t=1`` ->
    ``https://h/x``): safe to print."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url.strip())
        netloc = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "<unparseable URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def resolve_credentials(
    config: DeploymentConfig | None = None, *, environ: Mapping[str, str] | None = None
) -> LiveKitCredentials:
    """Credentials from the ``telephony`` plugin settings of ``config`` (non-empty values
    win), else from ``LIVEKIT_URL`` / ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET``.

    Raises :class:`TelephonyConfigError` naming the missing variables (never values).
    """
    env = os.environ if environ is None else environ
    settings = _settings(config)
    url, url_source = _pick(getattr(settings, "livekit_url", ""), env, ENV_URL)
    key, key_source = _pick(getattr(settings, "api_key", ""), env, ENV_KEY)
    secret, secret_source = _pick(_secret(getattr(settings, "api_secret", None)), env, ENV_SECRET)
    missing = [
        name for name, value in ((ENV_URL, url), (ENV_KEY, key), (ENV_SECRET, secret)) if not value
    ]
    if missing:
        raise TelephonyConfigError(
            f"LiveKit credentials missing: set {', '.join(missing)} in the environment "
            "(or livekit_url / api_key / api_secret in [plugins.telephony])"
        )
    return LiveKitCredentials(
        url=url.strip(),
        api_key=key.strip(),
        api_secret=secret.strip(),
        url_source=url_source,
        key_source=key_source,
        secret_source=secret_source,
    )


def _pick(configured: str, env: Mapping[str, str], name: str) -> tuple[str, str]:
    if configured:
        return configured, SETTINGS
    value = env.get(name, "")
    return value, (name if value else "")


def _settings(config: DeploymentConfig | None) -> Any:
    if config is None:
        return None
    try:
        return config.plugin_settings("telephony")
    except KeyError:
        return None


def _secret(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return str(value)


@asynccontextmanager
async def livekit_api(creds: LiveKitCredentials) -> AsyncIterator[api.LiveKitAPI]:
    """An ``api.LiveKitAPI`` for ``creds`` (failover off: one request, one answer), closed
    on exit. Wrap each request in :func:`bounded` (livekit-api sets no deadline on most).

    Raises :class:`~voicekit_core.telephony.errors.TelephonyConfigError` before any
    request for a URL that is not ``ws(s)://`` / ``http(s)://``. Failures that escape the
    block - network (refused, DNS, timeout, TLS) or a LiveKit error other than a call's
    SIP answer (``api.SipCallError`` passes through) - leave it as one
    :class:`~voicekit_core.telephony.errors.LiveKitRequestError` sentence; a 401 is
    diagnosed first (:func:`voicekit_core.telephony.auth_check.diagnose_rejection`).
    Exceptions the block handles itself are untouched.
    """
    import aiohttp
    from livekit import api

    from .failures import check_url, translate_failure

    check_url(creds)
    quiet_short_secret_warning()
    client = api.LiveKitAPI(
        creds.url,
        creds.api_key,
        creds.api_secret,
        timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
        failover=False,
    )
    try:
        yield client
    except Exception as exc:
        failure = await translate_failure(exc, creds)
        if failure is None:
            raise
        raise failure from None
    finally:
        await client.aclose()


_QUIETED = False


def quiet_short_secret_warning() -> None:
    """PyJWT warns on every token signed with a secret under 32 bytes (``livekit-server
    --dev`` uses ``secret``); ``voicekit doctor`` reports short Cloud secrets itself."""
    global _QUIETED
    if _QUIETED:
        return
    try:
        from jwt.warnings import InsecureKeyLengthWarning
    except ImportError:  # older PyJWT: no such warning
        _QUIETED = True
        return
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
    _QUIETED = True


class RequestTimeout(asyncio.TimeoutError):
    """One request to LiveKit got no answer within ``seconds``."""

    def __init__(self, seconds: float):
        super().__init__(f"no answer within {seconds:g} s")
        self.seconds = seconds


async def bounded(request: Awaitable[T], seconds: float | None = None) -> T:
    """Await one ``livekit-api`` request with a deadline (default
    :data:`REQUEST_TIMEOUT_SECONDS`); raises :class:`RequestTimeout`.

    Needed because livekit-api 1.2.2 passes ``timeout=None`` to aiohttp for every request
    it gives no timeout of its own (all but dialing), and aiohttp reads an explicit
    ``None`` as "no timeout", switching the client's 10 s default off: a server that
    accepts the connection and never answers would hang a command forever.
    """
    limit = seconds or REQUEST_TIMEOUT_SECONDS
    try:
        return await asyncio.wait_for(request, limit)
    except RequestTimeout:
        raise
    except asyncio.TimeoutError:  # our deadline, or aiohttp's connect timeout
        raise RequestTimeout(limit) from None
