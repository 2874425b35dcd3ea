"""PII masking for people-facing output: phones and emails.

``mask_phone("+14155550123")`` is ``"+1415•••0123"``; ``mask_email("ada@example.com")`` is
``"a•••@example.com"``; :func:`mask_text` masks every phone number and email address found
in free text (transcripts, veto reasons, tool outputs).

The ``display_*`` functions mask only when masking is on: ``voicekit --mask-pii`` (or
``--no-mask-pii``) decides for the process, else ``VOICEKIT_MASK_PII=1`` in the environment;
off by default. The CLI, the dashboard and logs use them so one switch covers all output.
Plugin traces (``VOICEKIT_TRACE_PLUGINS``) always mask. Stored data (journal, reports) is
never masked: masking is for what people see.
"""

from __future__ import annotations

import os
import re

import phonenumbers

MASK_ENV = "VOICEKIT_MASK_PII"
MASK = "•••"

_override: bool | None = None
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_E164 = re.compile(r"\+\d{7,15}\b")


def set_enabled(value: bool | None) -> None:
    """Force masking on or off for this process; ``None`` goes back to ``VOICEKIT_MASK_PII``."""
    global _override
    _override = value


def enabled() -> bool:
    """Whether people-facing output masks PII (see the module docstring)."""
    if _override is not None:
        return _override
    return os.environ.get(MASK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def mask_phone(phone: str) -> str:
    """Keep the country/area prefix and the last 4 digits: ``+14155550123`` -> ``+1415•••0123``.

    Any text is accepted; numbers of fewer than 7 digits keep only their last 2 digits.
    Empty text stays empty.
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return phone
    plus = "+" if phone.strip().startswith("+") else ""
    if len(digits) < 7:
        return f"{plus}{MASK}{digits[-2:]}"
    return f"{plus}{digits[:4]}{MASK}{digits[-4:]}"


def mask_email(email: str) -> str:
    """Keep the first character of the mailbox and the domain: ``a•••@example.com``.

    Text without ``@`` is masked whole (``•••``); empty text stays empty.
    """
    if not email:
        return email
    local, at, domain = email.rpartition("@")
    if not at:
        return MASK
    return f"{local[:1]}{MASK}@{domain}"


def mask_text(text: str, region: str = "US") -> str:
    """``text`` with every email address and phone number masked.

    Phone numbers are found with ``phonenumbers`` (E.164 anywhere, national formats read in
    ``region``), so dates and call ids are left alone.
    """
    if not text:
        return text
    text = _EMAIL.sub(lambda m: mask_email(m.group(0)), text)
    spans = [
        (match.start, match.end)
        for match in phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
    ]
    spans += [m.span() for m in _E164.finditer(text)]
    for start, end in sorted(set(spans), reverse=True):
        if MASK in text[start:end]:
            continue  # overlapping matches: already masked
        text = text[:start] + mask_phone(text[start:end]) + text[end:]
    return text


def display_phone(phone: str | None) -> str:
    """``phone`` as people should see it: masked when masking is on; None -> ``""``."""
    if not phone:
        return ""
    return mask_phone(phone) if enabled() else phone


def display_email(email: str | None) -> str:
    """``email`` as people should see it: masked when masking is on; None -> ``""``."""
    if not email:
        return ""
    return mask_email(email) if enabled() else email


def display_text(text: str | None) -> str:
    """Free ``text`` as people should see it: phones and emails masked when masking is on."""
    if not text:
        return ""
    return mask_text(text) if enabled() else text


__all__ = [
    "MASK_ENV",
    "display_email",
    "display_phone",
    "display_text",
    "enabled",
    "mask_email",
    "mask_phone",
    "mask_text",
    "set_enabled",
]
