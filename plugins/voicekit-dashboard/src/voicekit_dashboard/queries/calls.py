"""The call journal as the Calls pages read it: a filtered, paged list (newest first) and
one call with its report, campaign attempt and deliveries.

The list reads columns of ``calls`` plus the lead's name and company from the report
JSON (:mod:`.jsonsql`), and counts each listed call's deliveries by status in a second
query over just that page's calls. Times are UTC.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.engine import Connection

from voicekit_core.calls import CallReport
from voicekit_core.store import Store
from voicekit_core.store.tables import attempts, calls, campaign_leads, campaigns, deliveries

from .filters import DateRange
from .jsonsql import json_text

PAGE_SIZE = 50
#: Digits in a search this long or longer also match phone numbers, however typed.
_PHONE_DIGITS = 3


@dataclass(frozen=True)
class CallFilters:
    """What the Calls list shows: every filter is optional (None / empty matches all)."""

    campaign_id: str | None = None
    disposition: str | None = None
    status: str | None = None
    dates: DateRange = field(default_factory=DateRange)
    q: str = ""


@dataclass
class CallPage:
    """One page of the list: ``rows`` (dicts, see :func:`list_calls`) of ``total`` calls."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass
class CallRecord:
    """One journaled call: its row, its parsed ``report`` (None when the stored JSON is
    corrupt, then ``report_error`` says why), its deliveries and campaign attempt."""

    call_id: str
    status: str
    disposition: str | None
    phone: str
    started_at: datetime
    ended_at: datetime | None
    report: CallReport | None
    report_error: str
    deliveries: list[dict[str, Any]]
    campaign: dict[str, Any] | None
    attempt: dict[str, Any] | None


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(dialect: str, q: str) -> Any:
    pattern = _like(q)
    terms = [
        func.lower(json_text(dialect, calls.c.report_json, "lead", "name")).like(
            pattern, escape="\\"
        ),
        func.lower(json_text(dialect, calls.c.report_json, "lead", "company")).like(
            pattern, escape="\\"
        ),
        func.lower(calls.c.call_id).like(pattern, escape="\\"),
        func.lower(campaigns.c.name).like(pattern, escape="\\"),
        calls.c.phone.like(pattern, escape="\\"),
    ]
    digits = re.sub(r"\D", "", q)
    if len(digits) >= _PHONE_DIGITS:  # "(415) 555-0101" finds +14155550101
        terms.append(calls.c.phone.like(f"%{digits}%"))
    return or_(*terms)


def _conditions(dialect: str, filters: CallFilters) -> list[Any]:
    where: list[Any] = []
    if filters.campaign_id:
        where.append(calls.c.campaign_id == filters.campaign_id)
    if filters.disposition:
        where.append(calls.c.disposition == filters.disposition)
    if filters.status:
        where.append(calls.c.status == filters.status)
    if filters.dates.start is not None:
        where.append(calls.c.started_at >= filters.dates.start)
    if filters.dates.end is not None:
        where.append(calls.c.started_at < filters.dates.end)
    if filters.q.strip():
        where.append(_search(dialect, filters.q.strip()))
    return where


def list_calls(
    store: Store, filters: CallFilters, *, page: int = 1, per_page: int = PAGE_SIZE
) -> CallPage:
    """The calls matching ``filters``, newest first, page ``page`` (1-based).

    Each row: ``call_id``, ``started_at`` / ``ended_at`` (UTC), ``duration_seconds``
    (None while in progress), ``lead_name``, ``company``, ``phone`` (E.164),
    ``campaign_id``, ``campaign_name``, ``status``, ``disposition``, and ``deliveries``
    (``{"total", "delivered", "failed", "pending"}``).
    """
    dialect = store.dialect
    joined = calls.outerjoin(campaigns, campaigns.c.id == calls.c.campaign_id)
    where = _conditions(dialect, filters)
    query = (
        select(
            calls.c.call_id,
            calls.c.phone,
            calls.c.status,
            calls.c.disposition,
            calls.c.started_at,
            calls.c.ended_at,
            calls.c.campaign_id,
            campaigns.c.name.label("campaign_name"),
            json_text(dialect, calls.c.report_json, "lead", "name").label("lead_name"),
            json_text(dialect, calls.c.report_json, "lead", "company").label("company"),
        )
        .select_from(joined)
        .where(*where)
        .order_by(calls.c.started_at.desc(), calls.c.call_id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    with store.read() as db:
        total = db.execute(select(func.count()).select_from(joined).where(*where)).scalar_one()
        rows = db.execute(query).all()
        counts = _delivery_counts(db, [row.call_id for row in rows])
    return CallPage(
        rows=[_row(row, counts.get(row.call_id)) for row in rows],
        total=int(total),
        page=page,
        per_page=per_page,
    )


def _delivery_counts(db: Connection, call_ids: list[str]) -> dict[str, dict[str, int]]:
    if not call_ids:
        return {}
    counts: dict[str, dict[str, int]] = {}
    for call_id, status, count in db.execute(
        select(deliveries.c.call_id, deliveries.c.status, func.count())
        .where(deliveries.c.call_id.in_(call_ids))
        .group_by(deliveries.c.call_id, deliveries.c.status)
    ):
        summary = counts.setdefault(
            call_id, {"total": 0, "delivered": 0, "failed": 0, "pending": 0}
        )
        summary[status] = summary.get(status, 0) + count
        summary["total"] += count
    return counts


def _row(row: Any, counts: dict[str, int] | None) -> dict[str, Any]:
    ended = row.ended_at
    return {
        "call_id": row.call_id,
        "started_at": row.started_at,
        "ended_at": ended,
        "duration_seconds": (
            round((ended - row.started_at).total_seconds(), 3) if ended is not None else None
        ),
        "lead_name": row.lead_name or "",
        "company": row.company or "",
        "phone": row.phone,
        "campaign_id": row.campaign_id,
        "campaign_name": row.campaign_name,
        "status": row.status,
        "disposition": row.disposition,
        "deliveries": counts or {"total": 0, "delivered": 0, "failed": 0, "pending": 0},
    }


def get_call(store: Store, call_id: str) -> CallRecord | None:
    """The call with exactly this id (no prefix matching), or None."""
    with store.read() as db:
        row = db.execute(select(calls).where(calls.c.call_id == call_id)).first()
        if row is None:
            return None
        campaign, attempt = _campaign_attempt(db, row)
        delivery_rows = delivery_rows_of(db, call_id)
    report, problem = None, ""
    try:
        report = CallReport.model_validate_json(row.report_json)
    except (ValidationError, ValueError) as exc:
        problem = f"the journaled report is corrupt ({str(exc).splitlines()[0]})"
    return CallRecord(
        call_id=row.call_id,
        status=row.status,
        disposition=row.disposition,
        phone=row.phone,
        started_at=row.started_at,
        ended_at=row.ended_at,
        report=report,
        report_error=problem,
        deliveries=delivery_rows,
        campaign=campaign,
        attempt=attempt,
    )


def _campaign_attempt(db: Connection, row: Any) -> tuple[dict | None, dict | None]:
    if not row.campaign_id:
        return None, None
    found = db.execute(
        select(campaigns.c.id, campaigns.c.name, campaigns.c.state).where(
            campaigns.c.id == row.campaign_id
        )
    ).first()
    campaign = (
        dict(found._mapping)
        if found
        else {"id": row.campaign_id, "name": row.campaign_id, "state": "deleted"}
    )
    # the attempt row names this call; a worker's journal row also carries its id
    match = attempts.c.call_id == row.call_id
    if row.attempt_id:
        match = or_(match, cast(attempts.c.id, String) == row.attempt_id)
    attempt = db.execute(
        select(
            attempts.c.id,
            attempts.c.number,
            attempts.c.lead_id,
            attempts.c.room_name,
            attempts.c.started_at,
            attempts.c.ended_at,
            attempts.c.disposition,
            attempts.c.sip_status,
            attempts.c.detail,
            campaign_leads.c.row_number,
        )
        .select_from(attempts.join(campaign_leads, campaign_leads.c.id == attempts.c.lead_id))
        .where(and_(attempts.c.campaign_id == row.campaign_id, match))
        .limit(1)
    ).first()
    return campaign, dict(attempt._mapping) if attempt else None


def delivery_rows_of(db: Connection, call_id: str) -> list[dict[str, Any]]:
    """The call's deliveries in plugin order: ``plugin``, ``status``, ``attempts``,
    ``error`` (redacted when it was journaled), ``result`` (parsed JSON or None),
    ``updated_at`` and ``leased_until`` (UTC, None when nobody holds it)."""
    rows = db.execute(
        select(deliveries).where(deliveries.c.call_id == call_id).order_by(deliveries.c.plugin)
    ).all()
    return [delivery_row(row) for row in rows]


def delivery_row(row: Any) -> dict[str, Any]:
    try:
        result = json.loads(row.result_json) if row.result_json else None
    except ValueError:
        result = row.result_json
    return {
        "id": row.id,
        "plugin": row.plugin,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error or "",
        "result": result,
        "updated_at": row.updated_at,
        "leased_until": row.lease_expires_at if row.lease_owner else None,
    }
