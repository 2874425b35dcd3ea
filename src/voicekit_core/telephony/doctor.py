"""``voicekit doctor``: are the LiveKit credentials right, and are plugin settings filled?

The credential check is one cheap authenticated request, Twirp ``RoomService/ListRooms``,
then ``SIP/ListSIPOutboundTrunk`` (SIP admin grant; also confirms ``outbound_trunk_id``).
A 401 is explained in plain words from the server's message. The key id may be shown;
the secret never is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from .credentials import LiveKitCredentials, livekit_api, resolve_credentials
from .errors import TelephonyConfigError
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
    """Plain words for a 401/403 from LiveKit, most likely cause first. ``message`` is the
    server's Twirp ``msg``; the secret is never included."""
    message = message.replace(creds.api_secret, "••••••") if creds.api_secret else message
    lower = message.lower()
    head = (
        f"LiveKit at {creds.url} refused key {creds.api_key} ({status}: {message or 'no message'})."
    )
    if status == 403 or "permission" in lower:
        return (
            f"{head} The key is known but the token lacks a grant this request needs "
            "(room list/admin for rooms, SIP admin for trunks, SIP call for dialing). "
            "Use a key with full permissions, or mint tokens with those grants."
        )
    causes: list[str] = []
    if "signature" in lower:
        causes.append(
            "the API secret does not belong to this key: key and secret come from different "
            "projects, or the secret was regenerated. Copy both from the same project."
        )
    if "key" in lower and "signature" not in lower:
        causes.append(
            "the server does not know this key: LIVEKIT_URL points at another project than "
            "the key (or the key was deleted). Use the URL of the key's project."
        )
    if any(word in lower for word in ("expired", "not valid yet", "nbf", "iat", "before", "clock")):
        causes.append(_clock_hint())
    if not causes:
        causes = [
            "key and secret come from different projects (or the secret was regenerated);",
            "LIVEKIT_URL is the URL of another project than the key;",
            _clock_hint(),
            "the token is missing grants the request needs.",
        ]
    return head + " Likely: " + " ".join(causes)


def _clock_hint() -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"this machine's clock may be off (it says {now}): tokens carry not-before and "
        "expiry times, so a skewed clock makes valid tokens look expired or not yet valid; "
        "enable NTP."
    )


async def check_credentials(
    creds: LiveKitCredentials, *, outbound_trunk_id: str = ""
) -> list[Check]:
    """URL shape, then ``RoomService/ListRooms`` and ``SIP/ListSIPOutboundTrunk``."""
    import aiohttp
    from livekit import api

    checks = [_url_check(creds.url)]
    if not creds.api_key.startswith("API"):
        checks.append(
            Check(
                "api key",
                "warn",
                f"{creds.api_key!r} does not look like a LiveKit key id (they start with 'API')",
            )
        )
    if checks[0].status == "fail":
        return checks
    async with livekit_api(creds) as lk:
        try:
            rooms = await lk.room.list_rooms(api.ListRoomsRequest())
        except api.ServerError as exc:
            if exc.status in (401, 403):
                detail = explain_auth_failure(exc.status, exc.message, creds)
            else:
                detail = f"{exc.status} {exc.code}: {exc.message}"
            return [*checks, Check("authentication", "fail", detail)]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            return [
                *checks,
                Check("connection", "fail", f"cannot reach {creds.url} ({type(exc).__name__})"),
            ]
        checks.append(
            Check("authentication", "ok", f"{creds.describe()}; {len(rooms.rooms)} active room(s)")
        )
        try:
            trunks = await lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest())
        except api.ServerError as exc:
            checks.append(
                Check(
                    "sip",
                    "warn",
                    f"cannot list SIP trunks ({exc.status}: {exc.message}); SIP may not be enabled",
                )
            )
            return checks
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


def _url_check(url: str) -> Check:
    parsed = urlparse(url)
    if parsed.scheme not in ("wss", "ws", "https", "http") or not parsed.netloc:
        return Check("url", "fail", f"LIVEKIT_URL {url!r} is not a wss:// or https:// URL")
    return Check("url", "ok", url)


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
