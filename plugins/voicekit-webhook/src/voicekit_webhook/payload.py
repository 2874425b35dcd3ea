"""What is sent: the call report, or only the record extracted during the call.

``report``: :class:`voicekit_core.CallReport` as JSON (``model_dump(mode="json")``: times
are ISO 8601 UTC, durations seconds), without ``post_call`` (the delivery records of the
plugins, which change while deliveries run: the body stays byte-identical across retries).

``extracted``: ``report.extracted`` alone, the fields the deployment's ``[extraction]``
schema declares (a JSON object). A report without that attribute (a voicekit-core
without structured extraction) or with nothing extracted has no such payload:
:func:`payload_data` returns None and the caller decides (``skip_empty``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from voicekit_core import CallReport

    from .settings import Payload

NOTHING_EXTRACTED = "nothing was extracted in this call (report.extracted is empty)"


def extracted_of(report: CallReport) -> dict[str, Any] | None:
    """``report.extracted`` as a JSON-able dict, or None when the report has none (read
    with ``getattr``: older cores have no such field). A pydantic model is dumped."""
    value = getattr(report, "extracted", None)
    if value is None:
        return None
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        value = dump(mode="json")
    if not isinstance(value, dict):
        raise TypeError(
            f"report.extracted is a {type(value).__name__}, expected a JSON object (a dict)"
        )
    return json.loads(json.dumps(value, default=str)) if value else None


def payload_data(report: CallReport, kind: Payload) -> Any | None:
    """The JSON-able data of payload ``kind`` for ``report``; None for an ``extracted``
    payload when nothing was extracted."""
    if kind == "extracted":
        return extracted_of(report)
    return report.model_dump(mode="json", exclude={"post_call"})


def encode_body(data: Any) -> bytes:
    """The request body: compact UTF-8 JSON (signatures cover exactly these bytes)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def encode_file(data: Any) -> str:
    """The file sink's text: indented UTF-8 JSON with a final newline."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
