"""Telephony errors. Messages never contain the API secret."""

from __future__ import annotations

from ..errors import VoicekitError


class TelephonyError(VoicekitError):
    """A LiveKit request failed for a reason other than the callee's SIP answer
    (bad credentials, unknown trunk, server unreachable)."""


class TelephonyConfigError(TelephonyError):
    """Telephony settings are missing or invalid (no credentials, no outbound trunk,
    no inbound numbers). Raised before any request is made."""


class LiveKitRequestError(TelephonyError):
    """A request to LiveKit failed; ``str()`` is one line naming the URL (never the
    secret) and what to check.

    ``kind`` is one of: transport failures (``status == 0``) ``"refused"``,
    ``"unreachable"``, ``"dns"``, ``"timeout"``, ``"tls"``, ``"certificate"``,
    ``"disconnected"``, ``"network"``; HTTP answers ``"auth"`` (401: key, secret or clock),
    ``"permission"`` (grants), ``"not_found"`` (404), ``"server"`` (5xx), ``"rejected"``
    (any other 4xx). ``url`` is the LiveKit URL without user info or query.
    """

    def __init__(self, message: str, *, url: str, kind: str, status: int = 0):
        super().__init__(message)
        self.url = url
        self.kind = kind
        self.status = status

    @property
    def unreachable(self) -> bool:
        """True when no HTTP answer came back (a transport failure)."""
        return self.status == 0
