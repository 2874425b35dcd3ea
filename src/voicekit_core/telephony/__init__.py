"""Telephony for voicekit: LiveKit SIP through ``livekit-api`` (``from livekit import api``).

Small modules, each importing livekit lazily (inside functions):

* :mod:`.credentials` - LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET and the API client
  (``livekit_api``: the one door to LiveKit; ``bounded``: a deadline per request).
* :mod:`.failures` - LiveKit and network failures as one line (``LiveKitRequestError``).
* :mod:`.auth_check` - why a 401: the server's plain-text reason, the clock, local checks.
* :mod:`.dispositions` - SIP status codes -> :class:`voicekit_core.Disposition`.
* :mod:`.metadata` - the job metadata JSON a dispatched agent receives.
* :mod:`.dial` - ``voicekit dial``: room, agent dispatch, ``CreateSIPParticipant``.
* :mod:`.inbound` - ``voicekit sip setup-inbound`` / ``sip list``.
* :mod:`.tokens` - join tokens that dispatch the agent.
* :mod:`.doctor` - ``voicekit doctor``: credential checks, each cause named.
* :mod:`.voicemail` - answering-machine detection and the voicemail message.
* :mod:`.hangup` - ending a live call by deleting its room.
* :mod:`.recording` - ``[recording]``: the notice, an audio-only room-composite egress.
"""

from .errors import LiveKitRequestError, TelephonyConfigError, TelephonyError

__all__ = ["LiveKitRequestError", "TelephonyConfigError", "TelephonyError"]
