"""Secrets are redacted by value at one choke point.

Every secret voicekit knows of (each ``${VAR}`` value of the loaded deployment, the values
under secret-looking keys, and the environment variables voicekit and its providers read:
API keys, LiveKit secret, CRM tokens) is registered here with :func:`register_secret`.
:func:`redact` replaces each registered value in a text; errors, logs, journal rows,
reports and pages pass through it. :func:`install_log_redaction` puts every log record of
the process through it (message, exception text, stack).

Values shorter than 6 characters are not registered: they would redact ordinary words
("true", "8080"), and no real credential is that short.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "••••••"
_MIN_LENGTH = 6  # shorter values ("1", "true", "8080") would redact ordinary words

#: Environment variables voicekit, its providers and its plugins read credentials from.
KNOWN_SECRET_ENV: tuple[str, ...] = (
    "OPENAI_API_KEY",
    "GOOGLE_API_KEY",
    "DEEPGRAM_API_KEY",
    "CARTESIA_API_KEY",
    # not LIVEKIT_API_KEY: it is the key's id, like an access-key id; `doctor` and error
    # messages name it so users can tell projects apart. Its secret is LIVEKIT_API_SECRET.
    "LIVEKIT_API_SECRET",
    "HUBSPOT_ACCESS_TOKEN",
    "TWILIO_AUTH_TOKEN",
)
#: Every variable starting with one of these is a secret too (``SALESFORCE_CLIENT_SECRET``).
SECRET_ENV_PREFIXES: tuple[str, ...] = ("SALESFORCE_",)

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()


def register_secret(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (in this process). Short values are ignored."""
    global _secrets
    if not isinstance(value, str) or len(value) < _MIN_LENGTH:
        return
    with _lock:
        _secrets = _secrets | {value}


def register_environment(
    names: Iterable[str] = (), environ: Mapping[str, str] | None = None
) -> None:
    """Register the values of ``names``, of :data:`KNOWN_SECRET_ENV` and of every variable
    starting with a :data:`SECRET_ENV_PREFIXES` prefix, read from ``environ`` (default
    ``os.environ``). Unset variables are skipped."""
    env = os.environ if environ is None else environ
    wanted = set(names) | set(KNOWN_SECRET_ENV)
    wanted |= {name for name in env if name.startswith(SECRET_ENV_PREFIXES)}
    for name in wanted:
        register_secret(env.get(name))


def redact(text: str) -> str:
    """``text`` with every registered secret value replaced by ``••••••``."""
    if not text:
        return text
    for value in sorted(_secrets, key=len, reverse=True):
        if value in text:
            text = text.replace(value, REDACTED)
    return text


def redact_data(node: Any) -> Any:
    """A copy of JSON-like ``node`` (dicts, lists, scalars) with :func:`redact` applied to
    every string, keys included."""
    if isinstance(node, dict):
        return {redact_data(k): redact_data(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [redact_data(v) for v in node]
    if isinstance(node, str):
        return redact(node)
    return node


def registered_count() -> int:
    """How many secret values are registered (for diagnostics and tests)."""
    return len(_secrets)


# -- logging -------------------------------------------------------------------------


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact ``record`` in place: its message, exception text and stack.

    Lazy formatting is kept when no secret is present. When one is, the message is
    formatted now (``msg`` = redacted text, ``args`` = None) and an exception becomes
    redacted ``exc_text`` with ``exc_info`` dropped, so no formatter can print the
    original from the exception object.
    """
    if not _secrets:
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it itself, later
        return record
    if redact(message) != message:
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or logging.Formatter().formatException(record.exc_info)
        if redact(text) != text:
            record.exc_info, record.exc_text = None, redact(text)
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


def install_log_redaction() -> None:
    """Route every log record of this process through :func:`redact` (idempotent).

    Wraps the current log record factory, so it covers every logger and handler,
    including livekit's JSON and rich handlers and records with tracebacks.
    """
    current = logging.getLogRecordFactory()
    if getattr(current, "_voicekit_redacts", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact_record(current(*args, **kwargs))

    factory._voicekit_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


__all__ = [
    "KNOWN_SECRET_ENV",
    "REDACTED",
    "SECRET_ENV_PREFIXES",
    "install_log_redaction",
    "redact",
    "redact_data",
    "register_environment",
    "register_secret",
    "registered_count",
]
