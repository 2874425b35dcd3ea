"""LiveKit and network failures in plain words: the one translation every command uses.

:func:`voicekit_core.telephony.credentials.livekit_api` passes whatever escapes its block
to :func:`translate_failure`, which returns a
:class:`~voicekit_core.telephony.errors.LiveKitRequestError` whose text is one line:
what went wrong, the LiveKit URL (no user info, never the secret) and what to check.

==============================================  =================  ===================
failure                                         ``kind``           exit (CLI)
==============================================  =================  ===================
connection refused                              ``refused``        2
host unreachable (no route, network down)       ``unreachable``    2
name does not resolve                           ``dns``            2
no answer within the timeout                    ``timeout``        2
certificate not trusted                         ``certificate``    2
other TLS failure (e.g. https to a plain port)  ``tls``            2
connection closed / reset without an answer     ``disconnected``   2
unreadable answer                               ``network``        2
401 (diagnosed: key, secret, clock)             ``auth``           2
401 ``permissions denied`` / 403                ``permission``     2
404                                             ``not_found``      2
5xx (server or proxy)                           ``server``         2
other 4xx                                       ``rejected``       2
==============================================  =================  ===================

``voicekit doctor`` shows the same sentences as failed checks (exit 1).
"""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from .credentials import LiveKitCredentials, safe_url
from .errors import LiveKitRequestError, TelephonyConfigError, TelephonyError

if TYPE_CHECKING:
    from .auth_check import AuthDiagnosis

_SCHEMES = ("wss", "ws", "https", "http")


def check_url(creds: LiveKitCredentials) -> None:
    """Raise :class:`TelephonyConfigError` unless ``creds.url`` is a ``ws(s)://`` or
    ``http(s)://`` URL with a host and no user info (checked before any request)."""
    try:
        parsed = urlparse(creds.url)
        ok = parsed.scheme in _SCHEMES and bool(parsed.hostname)
        if ok:
            parsed.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        ok = False
    if ok and (parsed.username or parsed.password):
        where = creds.url_source or "LIVEKIT_URL"
        raise TelephonyConfigError(
            f"LiveKit URL {safe_url(creds.url)!r} (from {where}) carries a user name or password: "
            "remove the 'user:password@' part; LiveKit authenticates with the API key and secret"
        )
    if not ok:
        shown = safe_url(creds.url)
        if creds.api_secret and creds.api_secret in shown:
            shown = "<the API secret?>"
        where = creds.url_source or "LIVEKIT_URL"
        raise TelephonyConfigError(
            f"LiveKit URL {shown!r} (from {where}) is not a wss://, ws://, https:// or http:// "
            "URL with a host; use your project's URL, e.g. wss://my-project.livekit.cloud"
        )


def _host_port(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    default = 443 if parsed.scheme in ("https", "wss") else 80
    try:
        port = parsed.port or default
    except ValueError:
        port = default
    return parsed.hostname or "", port


def transport_failure(exc: BaseException, creds: LiveKitCredentials) -> TelephonyError | None:
    """The sentence for a network failure (no HTTP answer), or ``None`` if ``exc`` is not one."""
    import aiohttp

    url = safe_url(creds.url)
    host, port = _host_port(creds.url)
    where = f"cannot reach LiveKit at {url}"
    dns_error = getattr(aiohttp, "ClientConnectorDNSError", ())
    invalid_url = tuple(
        getattr(aiohttp, name)
        for name in ("InvalidURL", "InvalidUrlClientError", "NonHttpUrlClientError")
        if hasattr(aiohttp, name)
    )

    def fail(kind: str, text: str) -> LiveKitRequestError:
        return LiveKitRequestError(text, url=url, kind=kind)

    if isinstance(exc, invalid_url):
        return TelephonyConfigError(f"LiveKit URL {url!r} is not a valid http(s)/ws(s) URL")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        reason = getattr(exc.certificate_error, "verify_message", "") or "verification failed"
        return fail(
            "certificate",
            f"{where}: its TLS certificate is not trusted ({reason}); check the host name in "
            "LIVEKIT_URL, or for a self-hosted server with its own CA set SSL_CERT_FILE",
        )
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        reason = _reason(getattr(exc, "os_error", None) or exc)
        return fail(
            "tls",
            f"{where}: the TLS handshake with {host}:{port} failed ({reason}); if the server "
            "has no TLS use ws:// or http://, otherwise check the port and any proxy",
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = getattr(exc, "os_error", None)
        import socket

        if isinstance(exc, dns_error) or isinstance(os_error, socket.gaierror):
            return fail(
                "dns",
                f"{where}: the host name {host!r} does not resolve (DNS); check LIVEKIT_URL "
                "for typos and this machine's network",
            )
        if isinstance(os_error, ConnectionRefusedError):
            return fail(
                "refused",
                f"{where}: connection refused; check the host and port in "
                "LIVEKIT_URL and that the LiveKit server is running",
            )
        if isinstance(os_error, TimeoutError):
            return _timeout(url, getattr(exc, "seconds", None))
        return fail(
            "unreachable",
            f"{where}: {_reason(os_error or exc)}; check "
            "LIVEKIT_URL and the network (firewall, VPN, proxy)",
        )
    if isinstance(exc, asyncio.TimeoutError):  # RequestTimeout, aiohttp's ServerTimeoutError
        return _timeout(url, getattr(exc, "seconds", None))
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        return fail(
            "disconnected",
            f"LiveKit at {url} closed the connection without answering; check that "
            "LIVEKIT_URL points at a LiveKit server (scheme and port), not another service",
        )
    if isinstance(exc, aiohttp.ClientError):
        return fail(
            "network",
            f"LiveKit at {url} sent an answer that could not be read ({type(exc).__name__}); "
            "check that LIVEKIT_URL points at a LiveKit server, not a proxy or web page",
        )
    return None


def _timeout(url: str, seconds: float | None) -> LiveKitRequestError:
    within = f"within {seconds:g} s" if seconds else "in time"
    return LiveKitRequestError(
        f"LiveKit at {url} did not answer {within}; check the network (firewall, proxy) and "
        "that the port in LIVEKIT_URL is the server's API port",
        url=url,
        kind="timeout",
    )


def _reason(exc: object) -> str:
    text = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
    text = " ".join(str(text).split())
    return text[:120] or type(exc).__name__


def server_failure(
    status: int,
    code: str,
    message: str,
    creds: LiveKitCredentials,
    *,
    diagnosis: AuthDiagnosis | None = None,
) -> LiveKitRequestError:
    """The sentence for an HTTP error answer (``api.ServerError`` fields). A 401/403 uses
    ``diagnosis`` (:mod:`.auth_check`) when given."""
    url = safe_url(creds.url)
    msg = " ".join(message.split())[:200]
    if creds.api_secret:
        msg = msg.replace(creds.api_secret, "••••••")
    said = f": {msg}" if msg else ""

    def fail(kind: str, text: str) -> LiveKitRequestError:
        return LiveKitRequestError(text, url=url, kind=kind, status=status)

    if status in (401, 403):
        if diagnosis is None:
            from .auth_check import LocalFindings, diagnose

            diagnosis = diagnose(
                creds,
                status=status,
                message=msg,
                answer=None,
                findings=LocalFindings(token_ok=True, token_detail=""),
            )
        kind = "permission" if diagnosis.cause == "permission" else "auth"
        return fail(kind, diagnosis.explanation)
    if status == 404:
        if code in ("not_found",) and msg:
            return fail(
                "not_found",
                f"LiveKit at {url} could not find it{said} (HTTP 404); check the ids in "
                "[plugins.telephony] against `voicekit sip list`",
            )
        return fail(
            "not_found",
            f"LiveKit at {url} has no such API endpoint (HTTP 404{said}); check that "
            "LIVEKIT_URL is the base URL of a LiveKit server (no extra path)",
        )
    if status >= 500:
        return fail(
            "server",
            f"LiveKit at {url} failed with HTTP {status}{said}; the server (or a proxy in front "
            "of it) is down or overloaded: retry later and check its status page or logs",
        )
    detail = f"HTTP {status}{' ' + code if code and code != 'unknown' else ''}"
    return fail(
        "rejected",
        f"LiveKit at {url} refused the request ({detail}{said}); check [plugins.telephony]",
    )


async def translate_failure(exc: BaseException, creds: LiveKitCredentials) -> TelephonyError | None:
    """The :class:`TelephonyError` for ``exc`` raised while talking to LiveKit, or ``None``
    when ``exc`` is not a LiveKit/network failure (a SIP call result - ``SipCallError`` - an
    already translated error, or an unrelated bug), which the caller re-raises as is.

    A 401/403 is diagnosed with one extra raw request (:func:`.auth_check.diagnose_rejection`).
    """
    from livekit import api

    if isinstance(exc, (TelephonyError, api.SipCallError)):
        return None
    if isinstance(exc, api.ServerError):
        diagnosis = None
        if exc.status in (401, 403):
            from .auth_check import diagnose_rejection

            diagnosis = await diagnose_rejection(creds, exc.status, exc.message)
        return server_failure(exc.status, exc.code, exc.message, creds, diagnosis=diagnosis)
    return transport_failure(exc, creds)
