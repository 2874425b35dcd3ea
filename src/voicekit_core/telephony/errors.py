"""Telephony errors. Messages never contain the API secret."""

from __future__ import annotations

from ..errors import VoicekitError


class TelephonyError(VoicekitError):
    """A LiveKit request failed for a reason other than the callee's SIP answer
    (bad credentials, unknown trunk, server unreachable)."""


class TelephonyConfigError(TelephonyError):
    """Telephony settings are missing or invalid (no credentials, no outbound trunk,
    no inbound numbers). Raised before any request is made."""
