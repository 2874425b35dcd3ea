"""``voicekit doctor``: are the LiveKit credentials right, and are plugin settings filled?

Checks, in order (each one line; the key id may be shown, the secret never is):

* ``url`` - LIVEKIT_URL is a ``wss://``/``ws://``/``https://``/``http://`` URL;
* ``api key`` - a LiveKit Cloud URL with a key id not starting with ``API``;
* ``token`` - a token signed like the SDK's verifies locally (``api.TokenVerifier``);
* ``authentication`` - Twirp ``RoomService/ListRooms``. A 401 is diagnosed by
  :mod:`.auth_check`: the server's plain-text reason (which ``livekit-api`` discards) read
  with one raw request, the server's ``Date`` against this machine's clock, the LiveKit
  CLI's saved projects and where URL/key/secret were read from - and named: unknown key,
  wrong secret, clock ahead/behind, or missing permission. A network or server failure
  is reported as ``connection`` with the sentence of :mod:`.failures`;
* ``clock`` - the server's ``Date`` (``GET /``) against this machine's clock;
* ``sip`` / ``outbound trunk`` - ``SIP/ListSIPOutboundTrunk`` (SIP admin grant; confirms
  ``outbound_trunk_id``);
* each enabled plugin's settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from .credentials import (
    LiveKitCredentials,
    bounded,
    livekit_api,
    resolve_credentials,
    safe_url,
)
from .errors import LiveKitRequestError, TelephonyConfigError
from .settings import telephony_settings

if TYPE_CHECKING:
    from ..deployment import Deployment

Status = Literal["ok", "warn", "fail"]
_EMPTY_MATTERS = ("_id", "token", "key", "secret", "url", "number", "domain", "email")


@dataclass
class Check:
    """One line of the doctor's report."""

    name: str
    status: Status
    detail: str


def explain_auth_failure(status: int, message: str, creds: LiveKitCredentials) -> str:
    """One line for a 401/403 from LiveKit given only the server's ``message`` (no probe,
    no local checks); the secret is never included. ``voicekit doctor`` and every command
    use the fuller :func:`.auth_check.diagnose_rejection`."""
    from .auth_check import LocalFindings, diagnose

    findings = LocalFindings(token_ok=True, token_detail="")
    return diagnose(
        creds, status=status, message=message, answer=None, findings=findings
    ).explanation


async def check_credentials(
    creds: LiveKitCredentials, *, outbound_trunk_id: str = "", lk_config: Path | None = None
) -> list[Check]:
    """The LiveKit checks listed in the module docstring. ``lk_config`` overrides the
    LiveKit CLI config path (default ``~/.livekit/cli-config.yaml``). Never raises for a
    failed check."""
    from livekit import api

    from .auth_check import local_findings

    checks = [_url_check(creds)]
    host = (urlparse(creds.url).hostname or "").lower()
    if host.endswith(".livekit.cloud") and not creds.api_key.startswith("API"):
        checks.append(
            Check(
                "api key",
                "warn",
                f"{creds.api_key!r} does not look like a LiveKit Cloud key id (they start with "
                "'API')",
            )
        )
    findings = local_findings(creds, lk_config=lk_config)
    checks.append(Check("token", "ok" if findings.token_ok else "fail", findings.token_detail))
    if checks[0].status == "fail":
        notes = [n for n in findings.notes if n != findings.token_detail]
        return checks + [Check("credentials", "warn", note) for note in notes]
    try:
        async with livekit_api(creds) as lk:
            rooms = await bounded(lk.room.list_rooms(api.ListRoomsRequest()))
            checks.append(
                Check(
                    "authentication",
                    "ok",
                    f"{creds.describe()}; {len(rooms.rooms)} active room(s)",
                )
            )
            clock = await _clock_check(creds)
            if clock is not None:
                checks.append(clock)
            try:
                trunks = await bounded(
                    lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
                )
            except api.ServerError as exc:
                reason = f"{exc.status}: {exc.message}" if exc.message else f"HTTP {exc.status}"
                checks.append(
                    Check(
                        "sip",
                        "warn",
                        f"cannot list SIP trunks ({reason}); SIP may not be enabled",
                    )
                )
                return checks
    except LiveKitRequestError as exc:
        name = "authentication" if exc.kind in ("auth", "permission") else "connection"
        return [*checks, Check(name, "fail", str(exc))]
    except TelephonyConfigError as exc:
        return [*checks, Check("url", "fail", str(exc))]
    ids = [t.sip_trunk_id for t in trunks.items]
    checks.append(Check("sip", "ok", f"{len(ids)} outbound trunk(s)"))
    if outbound_trunk_id and outbound_trunk_id not in ids:
        checks.append(
            Check(
                "outbound trunk",
                "fail",
                f"{outbound_trunk_id} is not a trunk of "
                f"this project (found: {', '.join(ids) or 'none'})",
            )
        )
    elif outbound_trunk_id:
        checks.append(Check("outbound trunk", "ok", outbound_trunk_id))
    return checks


async def _clock_check(creds: LiveKitCredentials) -> Check | None:
    """This machine's clock against the server's ``Date`` (``None`` if it sends none)."""
    from .auth_check import CLOCK_WARN_SECONDS, SERVER_LEEWAY_SECONDS, clock_phrase, server_clock

    answer = await server_clock(creds)
    skew = answer.skew_seconds if answer else None
    if skew is None:
        return None
    if abs(skew) > CLOCK_WARN_SECONDS:
        return Check(
            "clock",
            "warn",
            f"{clock_phrase(answer)}; LiveKit rejects tokens once the gap passes "
            f"{SERVER_LEEWAY_SECONDS} s: enable NTP",
        )
    return Check("clock", "ok", f"within {abs(round(skew))} s of the server's")


def _url_check(creds: LiveKitCredentials) -> Check:
    from .failures import check_url

    try:
        check_url(creds)
    except TelephonyConfigError as exc:
        return Check("url", "fail", str(exc))
    return Check("url", "ok", safe_url(creds.url))


def plugin_checks(deployment: Deployment) -> list[Check]:
    """Each registered plugin with settings: loaded, and which important fields are empty."""
    checks = []
    config = deployment.config
    for name, _ in sorted(deployment.pm.list_name_plugin()):
        try:
            settings: Any = config.plugin_settings(name)
        except KeyError:
            continue
        empty = [
            field
            for field, value in settings
            if any(field.endswith(s) or field == s.strip("_") for s in _EMPTY_MATTERS)
            and value in ("", None, [])
        ]
        if name == "telephony":
            checks += _telephony_checks(deployment)
            continue
        if empty:
            checks.append(Check(f"plugin {name}", "warn", f"empty: {', '.join(empty)}"))
        else:
            checks.append(Check(f"plugin {name}", "ok", "settings valid"))
    return checks


def _telephony_checks(deployment: Deployment) -> list[Check]:
    settings = telephony_settings(deployment.config)
    notes = []
    if not settings.outbound_trunk_id:
        notes.append("no outbound_trunk_id (needed by `voicekit dial` and warm transfer)")
    if not settings.numbers:
        notes.append("no numbers (needed by `voicekit sip setup-inbound`)")
    if notes:
        return [Check("plugin telephony", "warn", "; ".join(notes))]
    return [Check("plugin telephony", "ok", "settings valid")]


async def run_doctor(deployment: Deployment) -> list[Check]:
    """Every check, credentials first. Never raises for a failed check."""
    try:
        creds = resolve_credentials(deployment.config)
    except TelephonyConfigError as exc:
        checks = [Check("credentials", "fail", str(exc))]
    else:
        trunk = telephony_settings(deployment.config).outbound_trunk_id
        checks = await check_credentials(creds, outbound_trunk_id=trunk)
    return checks + plugin_checks(deployment)
