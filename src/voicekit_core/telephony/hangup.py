"""Hanging up a live call: ``RoomService/DeleteRoom`` disconnects every participant,
the SIP leg included (the phone line hears a normal hang-up)."""

from __future__ import annotations

import logging

from .credentials import LiveKitCredentials, livekit_api

logger = logging.getLogger("voicekit.telephony")


async def hang_up(creds: LiveKitCredentials, room_name: str) -> bool:
    """Delete ``room_name``. Returns False (and logs) when LiveKit refuses or the room is
    already gone; never raises for server errors."""
    from livekit import api

    async with livekit_api(creds) as lk:
        try:
            await lk.room.delete_room(api.DeleteRoomRequest(room=room_name))
        except api.ServerError as exc:
            logger.info("hang up %s: %s %s", room_name, exc.status, exc.message)
            return False
    return True
