"""Helpers shared by the webhook tests (imported by name, like the other plugins' fakes)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from voicekit_core import CallReport, Disposition
from voicekit_core.calls import TranscriptEntry

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "webhook.md"
SECRET = "whsec-test-0123456789abcdef"
TOKEN = "helpdesk-token-9f8e7d6c5b4a"


class ExtractedReport(CallReport):
    """A report with ``extracted`` whether or not this voicekit-core has the field yet."""

    extracted: dict[str, Any] | None = None


def make_report(call_id: str = "20260105T095912-3fa9c1", **fields: Any) -> CallReport:
    """A finished inbound call (no session needed); ``extracted=`` makes it carry one."""
    start = datetime(2026, 1, 5, 9, 59, 12, tzinfo=timezone.utc)
    base: dict[str, Any] = {
        "call_id": call_id,
        "agent_name": "maple-receptionist",
        "direction": "inbound",
        "mode": "simulated",
        "phone": "+14155550123",
        "lead": {"name": "Ada Lovelace", "phone": "+14155550123"},
        "started_at": start,
        "ended_at": start + timedelta(seconds=42),
        "duration_seconds": 42.0,
        "transcript": [
            TranscriptEntry(role="user", text="My sink is leaking — ¿me ayuda?", at=start)
        ],
        "disposition": Disposition.COMPLETED,
    }
    base.update(fields)
    cls = ExtractedReport if "extracted" in fields else CallReport
    return cls(**base)


def documented_verifier():
    """``verify_voicekit`` exactly as docs/webhook.md prints it (its ``# file:`` block)."""
    text = DOC.read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n# file: verify_voicekit.py\n(.*?)```", text, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace["verify_voicekit"]
