"""Join tokens that dispatch the agent (``voicekit token``).

A token carries ``VideoGrants(room_join=True, room=ROOM)`` and a ``RoomConfiguration``
whose ``agents`` list names the deployment's agent, so LiveKit dispatches it when the
holder creates the room by joining. No request is made: tokens are signed locally.
"""

from __future__ import annotations

import re
from datetime import timedelta

from .credentials import LiveKitCredentials

_TTL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.I)
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL = timedelta(days=30)


def parse_ttl(text: str) -> timedelta:
    """``"90"`` / ``"90s"`` / ``"15m"`` / ``"1h"`` / ``"2d"`` -> timedelta.

    Raises ``ValueError`` for other forms, zero, or more than 30 days.
    """
    match = _TTL.match(text or "")
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 1h, 2d)")
    ttl = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])
    if ttl <= timedelta(0) or ttl > MAX_TTL:
        raise ValueError(f"duration {text!r} must be between 1s and 30d")
    return ttl


def mint_join_token(
    creds: LiveKitCredentials,
    *,
    room: str,
    identity: str,
    agent_name: str,
    ttl: timedelta = timedelta(hours=1),
    name: str = "",
    agent_metadata: str = "",
) -> str:
    """A signed JWT (HS256) to join ``room`` as ``identity``, valid for ``ttl``, that
    dispatches ``agent_name`` with ``agent_metadata`` (job metadata JSON) into the room.

    Raises ``ValueError`` for an empty room or identity.
    """
    from livekit import api

    if not room.strip() or not identity.strip():
        raise ValueError("room and identity must not be empty")
    token = (
        api.AccessToken(creds.api_key, creds.api_secret)
        .with_identity(identity)
        .with_name(name or identity)
        .with_ttl(ttl)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_room_config(
            api.RoomConfiguration(
                agents=[api.RoomAgentDispatch(agent_name=agent_name, metadata=agent_metadata)]
            )
        )
    )
    return token.to_jwt()
