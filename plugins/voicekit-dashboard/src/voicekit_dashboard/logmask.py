"""The server log never carries PII or secrets: phone numbers and email addresses in log
lines are masked (``+1415•••0123``, ``j•••@example.com``) and secret values redacted, for
every logger of the process (uvicorn's access log included: a query string can hold a
phone)."""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

from voicekit_core.masking import mask_text
from voicekit_core.redaction import install_log_redaction, redact


class PiiMaskingFilter(logging.Filter):
    """Format the record now and replace its message with the masked, redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it itself
            return True
        if record.name == "uvicorn.access":
            message = unquote_plus(message)  # "%2B14155550123" in a query string
        masked = mask_text(redact(message))
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = PiiMaskingFilter()


LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "voicekit")


def install_pii_masking(names: tuple[str, ...] = LOGGERS) -> None:
    """Add the masking filter to these loggers and to every handler of the root logger
    (idempotent). Secret redaction is installed too."""
    install_log_redaction()
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
