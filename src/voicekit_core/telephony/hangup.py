"""Hanging up a live call: ``RoomService/DeleteRoom`` disconnects every participant,
the SIP leg included (the phone line hears a normal hang-up)."""

from __future__ import annotations

import logging

from .credentials import LiveKitCredentials, bounded, livekit_api
from .errors import TelephonyError

logger = logging.getLogger("voicekit.telephony")


async def hang_up(creds: LiveKitCredentials, room_name: str) -> bool:
    """Delete ``room_name``. Returns False (and logs one line) when LiveKit is unreachable,
    refuses, or the room is already gone; never raises for LiveKit or network failures."""
    from livekit import api

    try:
        async with livekit_api(creds) as lk:
            await bounded(lk.room.delete_room(api.DeleteRoomRequest(room=room_name)))
    except TelephonyError as exc:  # LiveKitRequestError, or a bad URL (config)
        gone = getattr(exc, "kind", "") == "not_found"  # the room already ended
        logger.log(logging.INFO if gone else logging.WARNING, "hang up %s: %s", room_name, exc)
        return False
    return True
