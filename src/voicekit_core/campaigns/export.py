"""Campaign export: every lead with each of its attempts and results, as CSV.

One row per attempt (``attempt`` 1, 2, ...), and one row with empty attempt columns for a
lead never dialed (pending, skipped for DNC...), in the order of the imported file. The
columns are :data:`COLUMNS`; times are ISO 8601 in UTC.

Rows are read from the store in chunks (``stream_results``) and written as they come, so
an export of 100,000 leads does not sit in memory. :func:`export_to_path` writes a
temporary file beside the target (mode 0600: it holds phone numbers) and renames it into
place, so a failed export never leaves a half-written file.

CSV injection (formula injection): a cell whose text starts with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return would run as a formula in a spreadsheet, so it gets a leading
``'``. Lead fields, CRM values and reasons can hold anything. The ``phone`` column is
exempt: voicekit validated it as E.164 (``+`` and digits only), which a spreadsheet reads
as a number at worst, and keeping it unchanged keeps the file importable again.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import select

from ..store import Store
from ..store.tables import attempts, calls, campaign_leads
from .repo import Campaign

COLUMNS = (
    "campaign",
    "lead_id",
    "row",
    "phone",
    "name",
    "company",
    "email",
    "timezone",
    "lead_state",
    "lead_reason",
    "lead_disposition",
    "attempt",
    "room_name",
    "call_id",
    "started_at",
    "ended_at",
    "duration_seconds",
    "disposition",
    "disposition_reason",
    "sip_status",
    "detail",
    "spent",
    "qualification",
)
#: Columns written unchanged (validated values; see the module docstring).
TRUSTED_COLUMNS = frozenset({"phone"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """``value`` as CSV cell text, with a leading ``'`` when it would start a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_rows(store: Store, campaign: Campaign) -> Iterator[dict[str, str]]:
    """The export's rows (``{column: text}``), streamed from the store; cells already made
    safe (:func:`safe_cell`)."""
    query = (
        select(
            campaign_leads.c.id,
            campaign_leads.c.row_number,
            campaign_leads.c.phone,
            campaign_leads.c.timezone,
            campaign_leads.c.lead_json,
            campaign_leads.c.state,
            campaign_leads.c.state_reason,
            campaign_leads.c.disposition.label("lead_disposition"),
            attempts.c.number,
            attempts.c.room_name,
            attempts.c.call_id,
            attempts.c.started_at,
            attempts.c.ended_at,
            attempts.c.disposition,
            attempts.c.sip_status,
            attempts.c.detail,
            attempts.c.spent,
            calls.c.report_json,
        )
        .select_from(
            campaign_leads.outerjoin(attempts, attempts.c.lead_id == campaign_leads.c.id).outerjoin(
                calls, calls.c.call_id == attempts.c.call_id
            )
        )
        .where(campaign_leads.c.campaign_id == campaign.id)
        .order_by(campaign_leads.c.row_number, campaign_leads.c.id, attempts.c.number)
    )
    lead_id, lead = None, {}
    with store.read() as db:
        result = db.execution_options(stream_results=True, yield_per=500).execute(query)
        for row in result:
            if row.id != lead_id:
                lead_id, lead = row.id, _json(row.lead_json)
            yield _row(campaign, row, lead)


def _row(campaign: Campaign, row: Any, lead: dict[str, Any]) -> dict[str, str]:
    report = _json(row.report_json) if row.report_json else {}
    name = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)
    values: dict[str, Any] = {
        "campaign": campaign.name,
        "lead_id": row.id,
        "row": row.row_number,
        "phone": row.phone,
        "name": name,
        "company": lead.get("company", ""),
        "email": lead.get("email") or "",
        "timezone": row.timezone or lead.get("timezone") or "",
        "lead_state": row.state,
        "lead_reason": row.state_reason,
        "lead_disposition": row.lead_disposition,
        "attempt": row.number,
        "room_name": row.room_name,
        "call_id": row.call_id,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "duration_seconds": report.get("duration_seconds", ""),
        "disposition": row.disposition or report.get("disposition") or "",
        "disposition_reason": report.get("disposition_reason", ""),
        "sip_status": row.sip_status,
        "detail": row.detail,
        "spent": row.spent,
        "qualification": _qualification(report.get("qualification")),
    }
    return {
        column: (
            str(values[column] or "") if column in TRUSTED_COLUMNS else safe_cell(values[column])
        )
        for column in COLUMNS
    }


def _qualification(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    parts = [str(value.get("status", ""))] if value.get("status") else []
    parts += [
        f"{key}: {value[key]}"
        for key in ("budget", "authority", "need", "timeline")
        if value.get(key)
    ]
    return "; ".join(parts)


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def write_export(
    store: Store,
    campaign: Campaign,
    out: TextIO,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export CSV (header + rows) to ``out``; returns the number of data rows.
    ``progress(rows)`` is called every 1,000 rows."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in export_rows(store, campaign):
        writer.writerow(row)
        count += 1
        if progress is not None and count % 1000 == 0:
            progress(count)
    if progress is not None:
        progress(count)
    return count


def export_to_path(
    store: Store,
    campaign: Campaign,
    path: Path,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export to ``path`` atomically (a temporary file in the same folder, then
    a rename; created 0600). Returns the number of data rows. Raises ``OSError`` (the
    folder is missing or not writable) or :class:`~voicekit_core.store.StoreError`; the
    target is then untouched and no temporary file is left."""
    path = Path(path)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = write_export(store, campaign, out, progress=progress)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return count


__all__ = [
    "COLUMNS",
    "TRUSTED_COLUMNS",
    "export_rows",
    "export_to_path",
    "safe_cell",
    "write_export",
]
