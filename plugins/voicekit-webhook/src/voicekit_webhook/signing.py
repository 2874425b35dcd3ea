"""Signing a webhook body, and checking a signature on the receiving side (stdlib only).

Every signed request carries::

    X-Voicekit-Timestamp: 1764000000                 (Unix time, seconds, of this attempt)
    X-Voicekit-Signature: sha256=<64 hex digits>     (HMAC-SHA256 of "<timestamp>.<body>")

The MAC is computed with the target's ``secret`` (UTF-8) as the key over the ASCII
timestamp, a ``.`` and the raw body bytes, as Stripe and GitHub do. A receiver recomputes it
over the bytes it received (before any JSON parsing), compares in constant time, and
rejects timestamps older than a few minutes so a captured request cannot be replayed later.
``docs/webhook.md`` has the same recipe for receivers that do not run Python.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Voicekit-Signature"
TIMESTAMP_HEADER = "X-Voicekit-Timestamp"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A request whose signature or timestamp does not check out (the message says which)."""


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """The ``X-Voicekit-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds):
    ``sha256=`` and the hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with ``secret``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    signed = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(key, signed, hashlib.sha256).hexdigest()


def verify(
    secret: str | bytes,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Check a received request; returns None when it is authentic and fresh.

    :param body: the raw request body, as received.
    :param signature: the ``X-Voicekit-Signature`` header.
    :param timestamp: the ``X-Voicekit-Timestamp`` header.
    :param tolerance_seconds: the largest accepted difference between ``timestamp`` and
        ``now`` (default 300 s).
    :raises SignatureError: a header is missing or malformed, the timestamp is outside the
        tolerance, or the signature does not match.
    """
    if not signature or not timestamp:
        raise SignatureError(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER} header")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureError(f"{TIMESTAMP_HEADER} is not a Unix time: {timestamp[:40]!r}") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        raise SignatureError(
            f"{TIMESTAMP_HEADER} is {abs(current - sent_at):.0f} s away from now "
            f"(more than {tolerance_seconds:g} s): a replay, or a clock out of sync"
        )
    expected = sign(secret, timestamp, body).encode("ascii")
    if not hmac.compare_digest(expected, signature.strip().encode("utf-8")):
        raise SignatureError(f"{SIGNATURE_HEADER} does not match the body")


__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureError",
    "sign",
    "verify",
]
