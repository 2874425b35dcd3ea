"""SIP final response codes -> voicekit dispositions.

=================  =====================
SIP status         Disposition
=================  =====================
486, 600           ``busy``
408, 480, 487      ``no_answer``
603, 403           ``declined``
404, 484, 410, 604 ``invalid_number``
anything else      ``failed``
=================  =====================
"""

from __future__ import annotations

from typing import Any

from ..calls import Disposition

SIP_DISPOSITIONS: dict[int, Disposition] = {
    486: Disposition.BUSY,
    600: Disposition.BUSY,
    408: Disposition.NO_ANSWER,
    480: Disposition.NO_ANSWER,
    487: Disposition.NO_ANSWER,
    603: Disposition.DECLINED,
    403: Disposition.DECLINED,
    404: Disposition.INVALID_NUMBER,
    410: Disposition.INVALID_NUMBER,
    484: Disposition.INVALID_NUMBER,
    604: Disposition.INVALID_NUMBER,
}

_PLAIN: dict[Disposition, str] = {
    Disposition.BUSY: "the line was busy",
    Disposition.NO_ANSWER: "nobody answered",
    Disposition.DECLINED: "the call was declined",
    Disposition.INVALID_NUMBER: "the number does not exist",
    Disposition.FAILED: "the call failed",
}


def disposition_for_sip_status(code: int | None) -> Disposition:
    """The disposition for a SIP final status code (``None`` or unknown -> ``failed``)."""
    if code is None:
        return Disposition.FAILED
    return SIP_DISPOSITIONS.get(int(code), Disposition.FAILED)


def describe_sip_error(exc: Any) -> str:
    """``"the line was busy (SIP 486 Busy Here)"`` for a ``livekit.api.SipCallError``."""
    code = getattr(exc, "sip_status_code", None)
    status = getattr(exc, "sip_status", None) or ""
    plain = _PLAIN.get(disposition_for_sip_status(code), "the call failed")
    if code is None:
        reason = getattr(exc, "sip_transfer_reason", None) or getattr(exc, "message", "")
        return f"{plain} ({reason})" if reason else plain
    return f"{plain} (SIP {code}{' ' + status if status else ''})"
