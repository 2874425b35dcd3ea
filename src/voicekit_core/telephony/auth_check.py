"""Why LiveKit said 401: the server's own words plus checks made on this machine.

livekit-server answers a rejected token from its auth middleware
(``pkg/service/auth.go``, ``APIKeyAuthMiddleware`` -> ``HandleError`` in
``pkg/service/utils.go``) with a **plain-text** 401 body, ``err.Error()``. ``livekit-api``
expects Twirp JSON, discards that body and reports ``401`` with no message, so a wrong
secret and an unknown key look the same. This module reads the reason itself and adds
what can be checked locally:

* :func:`probe` - one raw ``POST /twirp/livekit.RoomService/ListRooms`` with a token
  signed exactly like the SDK's; returns the status, the body and the server's ``Date``;
* :func:`local_findings` - the token signs and verifies locally (``api.TokenVerifier``),
  the secret's shape, where URL / key / secret were read from, and the LiveKit CLI's saved
  projects (``~/.livekit/cli-config.yaml``: which project owns this key or URL, and whether
  its secret is the same - compared, never printed);
* :func:`diagnose` / :func:`diagnose_rejection` - one :class:`AuthDiagnosis`.

The server's messages (golang-jwt v5, as used by livekit/protocol ``auth/verifier.go``,
60 s leeway) and the cause voicekit names:

====================================================================  ================
body                                                                  cause
====================================================================  ================
``invalid API key``                                                   ``unknown_key``
``invalid authorization token: token signature is invalid: ...``      ``wrong_secret``
``invalid authorization token: token has invalid claims: token is     ``clock_ahead``
not valid yet``
``... token has invalid claims: token is expired``                    ``clock_behind``
``permissions denied`` (Twirp JSON ``unauthenticated``)                ``permission``
``invalid authorization token`` / ``invalid authorization header...``  ``bad_token``
anything else                                                         ``unknown``
====================================================================  ================

Nothing here prints or logs the API secret.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from .credentials import LiveKitCredentials, quiet_short_secret_warning, safe_url

Cause = Literal[
    "unknown_key",
    "wrong_secret",
    "clock_ahead",
    "clock_behind",
    "permission",
    "bad_token",
    "unknown",
]

#: livekit-server accepts tokens up to this far outside their nbf/exp (seconds).
SERVER_LEEWAY_SECONDS = 60
#: ``voicekit doctor`` warns about a clock this far off (seconds), before tokens fail.
CLOCK_WARN_SECONDS = 30
PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class AuthProbe:
    """One raw answer from the server. ``status`` is the HTTP status; ``body`` the plain
    text (or a Twirp JSON ``msg``) of an error, at most 300 characters, one line;
    ``server_time`` the ``Date`` header (UTC, 1 s resolution) if any; ``local_time`` this
    machine's clock when the answer arrived (UTC)."""

    status: int
    body: str
    server_time: datetime | None
    local_time: datetime

    @property
    def skew_seconds(self) -> float | None:
        """This machine's clock minus the server's, in seconds (positive: local ahead);
        ``None`` without a ``Date`` header."""
        if self.server_time is None:
            return None
        # ``Date`` drops the fraction of a second: its middle is the best estimate
        return (self.local_time - self.server_time).total_seconds() - 0.5


@dataclass
class LocalFindings:
    """What this machine can tell without the server.

    ``notes`` are short phrases for a message (no secret). ``lk_secret_matches`` is
    ``True``/``False`` when the LiveKit CLI config knows this key, else ``None``;
    ``lk_url_mismatch`` is True when that config ties the key or the URL to another
    project."""

    token_ok: bool
    token_detail: str
    notes: list[str] = field(default_factory=list)
    lk_secret_matches: bool | None = None
    lk_url_mismatch: bool = False


@dataclass(frozen=True)
class AuthDiagnosis:
    """Why a request was refused: ``cause`` and ``explanation`` (one line, names the URL
    and the key id, never the secret); ``server_said`` is the server's reason ('' if none)."""

    cause: Cause
    explanation: str
    server_said: str = ""


# -- the server's words ------------------------------------------------------------------


def classify_message(message: str) -> Cause:
    """The cause named by a livekit-server 401 body or Twirp message (see module table)."""
    lower = message.lower()
    if "invalid api key" in lower:
        return "unknown_key"
    if "signature" in lower:
        return "wrong_secret"
    if "not valid yet" in lower or "used before issued" in lower:
        return "clock_ahead"
    if "expired" in lower:
        return "clock_behind"
    if "permission" in lower:
        return "permission"
    if "invalid authorization" in lower:
        return "bad_token"
    return "unknown"


def twirp_url(url: str, service: str, method: str) -> str:
    """``wss://host/base`` -> ``https://host/base/twirp/livekit.<service>/<method>``,
    as ``livekit-api`` builds it."""
    parsed = urlparse(url)
    scheme = (
        parsed.scheme.replace("ws", "http", 1) if parsed.scheme.startswith("ws") else parsed.scheme
    )
    base = f"{scheme}://{parsed.netloc}{parsed.path}".rstrip("/")
    return f"{base}/twirp/livekit.{service}/{method}"


async def probe(
    creds: LiveKitCredentials, *, timeout: float = PROBE_TIMEOUT_SECONDS
) -> AuthProbe | None:
    """``RoomService/ListRooms`` sent raw (same token as the SDK: ``room_list`` grant,
    ``nbf`` now, 6 h TTL) to read what the SDK discards. ``None`` if nothing answered."""
    from livekit import api

    quiet_short_secret_warning()
    token = (
        api.AccessToken(creds.api_key, creds.api_secret)
        .with_grants(api.VideoGrants(room_list=True))
        .to_jwt()
    )
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/protobuf"}
    body = api.ListRoomsRequest().SerializeToString()
    return await _request(
        "POST", twirp_url(creds.url, "RoomService", "ListRooms"), creds, headers, body, timeout
    )


async def server_clock(
    creds: LiveKitCredentials, *, timeout: float = PROBE_TIMEOUT_SECONDS
) -> AuthProbe | None:
    """``GET /`` (livekit-server's health check, no token) for the ``Date`` header."""
    parsed = urlparse(twirp_url(creds.url, "x", "y"))
    url = f"{parsed.scheme}://{parsed.netloc}/"
    return await _request("GET", url, creds, {}, b"", timeout)


async def _request(
    method: str,
    url: str,
    creds: LiveKitCredentials,
    headers: dict[str, str],
    body: bytes,
    timeout: float,
) -> AuthProbe | None:
    import aiohttp

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
            sent = time.time()
            async with session.request(method, url, headers=headers, data=body) as resp:
                text = "" if resp.status == 200 else await resp.text(errors="replace")
                arrived = time.time()
                date = resp.headers.get("Date", "")
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        return None
    return AuthProbe(
        status=resp.status,
        body=_one_line(_twirp_msg(text), creds),
        server_time=_parse_date(date),
        local_time=datetime.fromtimestamp((sent + arrived) / 2, timezone.utc),
    )


def _twirp_msg(text: str) -> str:
    import json

    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            return stripped
        if isinstance(data, dict) and isinstance(data.get("msg"), str):
            return data["msg"]
    return stripped


def _parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _one_line(text: str, creds: LiveKitCredentials, limit: int = 300) -> str:
    text = " ".join(text.split())
    if creds.api_secret:
        text = text.replace(creds.api_secret, "••••••")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- this machine ------------------------------------------------------------------------


def lk_cli_config_path() -> Path:
    """Where the LiveKit CLI (``lk project add``) keeps projects: ``~/.livekit/cli-config.yaml``
    (``projects: [{name, url, api_key, api_secret}]``)."""
    return Path.home() / ".livekit" / "cli-config.yaml"


def _lk_projects(path: Path | None) -> list[dict[str, Any]]:
    import yaml

    path = path or lk_cli_config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return []
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, list):
        return []
    return [p for p in projects if isinstance(p, dict)]


def _host(url: str) -> str:
    return (urlparse(str(url)).hostname or "").lower()


def local_findings(creds: LiveKitCredentials, *, lk_config: Path | None = None) -> LocalFindings:
    """Checks that need no server: sign + verify a token like the SDK's with
    ``api.TokenVerifier``; the secret's shape; the sources of URL / key / secret; the
    LiveKit CLI's saved projects. Never raises."""
    quiet_short_secret_warning()
    token_ok, token_detail = _token_roundtrip(creds)
    findings = LocalFindings(token_ok=token_ok, token_detail=token_detail)
    if not token_ok:
        findings.notes.append(token_detail)
    findings.notes += secret_shape_problems(creds)
    findings.notes += source_notes(creds)
    _compare_with_lk_cli(creds, findings, lk_config)
    return findings


def _token_roundtrip(creds: LiveKitCredentials) -> tuple[bool, str]:
    try:
        import jwt
        from livekit import api

        token = (
            api.AccessToken(creds.api_key, creds.api_secret)
            .with_grants(api.VideoGrants(room_list=True))
            .to_jwt()
        )
        api.TokenVerifier(creds.api_key, creds.api_secret).verify(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except Exception as exc:  # any failure to sign/verify is the finding itself
        return (
            False,
            f"cannot sign and verify a token with this key and secret ({type(exc).__name__})",
        )
    start = datetime.fromtimestamp(claims["nbf"], timezone.utc).strftime("%H:%M:%S")
    hours = (claims["exp"] - claims["nbf"]) / 3600
    return True, (
        f"signs and verifies locally (HS256, issuer {creds.api_key}, "
        f"valid from {start} UTC for {hours:g} h by this machine's clock)"
    )


def secret_shape_problems(creds: LiveKitCredentials) -> list[str]:
    """Phrases about a secret that cannot be right (quotes, spaces, a placeholder, too short
    for LiveKit Cloud); the value itself is never part of them."""
    secret = creds.api_secret
    problems = []
    if len(secret) > 1 and secret[0] in "\"'" and secret[-1] == secret[0]:
        problems.append("the API secret is wrapped in quotes (remove them)")
    elif any(ch.isspace() for ch in secret):
        problems.append("the API secret contains spaces")
    if secret.startswith("<") and secret.endswith(">"):
        problems.append("the API secret looks like a placeholder")
    elif len(secret) < 32 and _host(creds.url).endswith(".livekit.cloud"):
        # livekit-server itself logs "secret is too short" below 32 (pkg/config/config.go)
        problems.append("the API secret is shorter than LiveKit Cloud secrets (copied whole?)")
    return problems


def source_notes(creds: LiveKitCredentials) -> list[str]:
    """A phrase when URL, key and secret were not all read from the same place."""
    sources = {
        "URL": creds.url_source,
        "key": creds.key_source,
        "secret": creds.secret_source,
    }
    places = {("environment" if s.startswith("LIVEKIT_") else s) for s in sources.values() if s}
    if len(places) <= 1:
        return []
    parts = [f"{what} from {where}" for what, where in sources.items() if where]
    return [f"mixed sources ({', '.join(parts)}): they may belong to different projects"]


def _compare_with_lk_cli(
    creds: LiveKitCredentials, findings: LocalFindings, path: Path | None
) -> None:
    projects = _lk_projects(path)
    if not projects:
        return
    where = "the LiveKit CLI config"
    ours = _host(creds.url)
    by_key = [p for p in projects if str(p.get("api_key", "")) == creds.api_key]
    if by_key:
        project = by_key[0]
        name = str(project.get("name", "?"))
        saved = str(project.get("api_secret", ""))
        if saved:
            findings.lk_secret_matches = hmac.compare_digest(
                saved.encode(), creds.api_secret.encode()
            )
            if not findings.lk_secret_matches:
                findings.notes.append(
                    f"{where} has a different secret for key {creds.api_key} (project {name!r})"
                )
        project_host = _host(str(project.get("url", "")))
        if project_host and ours and project_host != ours:
            findings.lk_url_mismatch = True
            findings.notes.append(
                f"{where} has key {creds.api_key} in project {name!r} at "
                f"{safe_url(str(project.get('url')))}, not at this URL"
            )
    by_url = [p for p in projects if ours and _host(str(p.get("url", ""))) == ours]
    if by_url and not any(str(p.get("api_key", "")) == creds.api_key for p in by_url):
        project = by_url[0]
        findings.lk_url_mismatch = True
        findings.notes.append(
            f"{where} has this URL as project {str(project.get('name', '?'))!r} "
            f"with key {project.get('api_key', '?')}, not {creds.api_key}"
        )


# -- the diagnosis -----------------------------------------------------------------------


def span(seconds: float) -> str:
    """``42`` -> ``"42 s"``, ``600`` -> ``"10 min"``, ``7500`` -> ``"2 h 5 min"``."""
    seconds = abs(round(seconds))
    if seconds < 120:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def clock_phrase(answer: AuthProbe | None) -> str:
    """``"this machine's clock is 10 min ahead of the server's (12:00:00 vs 11:50:00 UTC)"``,
    or '' without a ``Date`` header."""
    skew = answer.skew_seconds if answer else None
    if answer is None or skew is None or answer.server_time is None:
        return ""
    direction = "ahead of" if skew > 0 else "behind"
    local = answer.local_time.strftime("%H:%M:%S")
    server = answer.server_time.strftime("%H:%M:%S")
    return (
        f"this machine's clock is {span(skew)} {direction} the server's ({local} vs {server} UTC)"
    )


_NTP = "sync this machine's clock (enable NTP, e.g. `timedatectl set-ntp true`)"


def diagnose(
    creds: LiveKitCredentials,
    *,
    status: int,
    message: str,
    answer: AuthProbe | None,
    findings: LocalFindings,
) -> AuthDiagnosis:
    """Name the cause of a 401/403 from the SDK's ``message`` (Twirp JSON) or, when that is
    empty, the body of the raw ``answer``, then local ``findings``."""
    said = _one_line(message, creds)
    if not said and answer is not None and answer.status in (401, 403):
        said = answer.body
    cause = classify_message(said) if said else "unknown"
    if status == 403 and cause == "unknown":
        cause = "permission"
    url, key = safe_url(creds.url), creds.api_key
    quoted = f' (LiveKit said "{said}")' if said else ""
    skew = answer.skew_seconds if answer else None
    clock = clock_phrase(answer)
    extra = list(findings.notes)
    if cause == "unknown":
        cause = _cause_from_findings(findings, skew)
    if cause == "unknown_key":
        text = (
            f"LiveKit at {url} does not know API key {key}{quoted}: LIVEKIT_URL is another "
            "project's URL than the key's, or the key was deleted; use the URL, key and "
            "secret of one project"
        )
    elif cause == "wrong_secret":
        text = (
            f"LiveKit at {url} knows key {key} but the API secret is wrong{quoted}: key and "
            "secret come from different projects, or the secret was regenerated; copy the "
            f"secret of {key} again from the same project"
        )
    elif cause in ("clock_ahead", "clock_behind"):
        what = "not valid yet" if cause == "clock_ahead" else "expired"
        measured = clock or (
            "this machine's clock is ahead of the server's"
            if cause == "clock_ahead"
            else "this machine's clock is behind the server's"
        )
        text = (
            f"LiveKit at {url} rejected the token of key {key} as {what}{quoted}: {measured}, "
            f"more than the {SERVER_LEEWAY_SECONDS} s LiveKit allows; {_NTP}"
        )
    elif cause == "permission":
        text = (
            f"LiveKit at {url} accepted key {key} but refused this request{quoted}: the key "
            "lacks a permission it needs (room list/create/admin for rooms, SIP admin for "
            "trunks, SIP call for dialing); use a key with full permissions"
        )
    elif cause == "bad_token":
        text = (
            f"LiveKit at {url} could not read the token signed with key {key}{quoted}: check "
            "LIVEKIT_API_KEY and LIVEKIT_API_SECRET for stray quotes, spaces or line breaks"
        )
    else:
        possible = []
        if findings.lk_secret_matches is not True:
            possible.append("a wrong secret (key and secret from different projects)")
        possible.append("a key this server does not know (LIVEKIT_URL of another project)")
        if skew is None or abs(skew) > SERVER_LEEWAY_SECONDS:
            possible.append(clock or "this machine's clock")
        else:
            extra.append(f"not the clock (within {abs(round(skew))} s of the server's)")
        text = (
            f"LiveKit at {url} refused key {key} "
            f"(HTTP {status}: {said[:120] if said else 'no reason given'}): "
            f"likely {', or '.join(possible)}"
        )
    clock_cause = cause in ("clock_ahead", "clock_behind", "unknown")
    if not clock_cause and skew is not None and abs(skew) > SERVER_LEEWAY_SECONDS:
        extra.append(f"also, {clock}: {_NTP}")
    if extra:
        text += "; " + "; ".join(extra)
    return AuthDiagnosis(cause=cause, explanation=text, server_said=said)


def _cause_from_findings(findings: LocalFindings, skew: float | None) -> Cause:
    """Narrow an unexplained 401 with local evidence only."""
    if findings.lk_secret_matches is False:
        return "wrong_secret"
    if findings.lk_url_mismatch:
        return "unknown_key"
    if skew is not None and skew > SERVER_LEEWAY_SECONDS:
        return "clock_ahead"
    return "unknown"


async def diagnose_rejection(
    creds: LiveKitCredentials,
    status: int,
    message: str,
    *,
    lk_config: Path | None = None,
    timeout: float = PROBE_TIMEOUT_SECONDS,
) -> AuthDiagnosis:
    """Probe the server (body + ``Date``), gather :func:`local_findings`, :func:`diagnose`."""
    answer = await probe(creds, timeout=timeout)
    findings = local_findings(creds, lk_config=lk_config)
    return diagnose(creds, status=status, message=message, answer=answer, findings=findings)
