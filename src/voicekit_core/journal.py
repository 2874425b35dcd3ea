"""The call journal, in the voicekit store: every call from its first second, and each
plugin's post-call delivery with its claim and step state.

Life of a row:

* :meth:`Journal.start_call` writes the call ``in_progress`` (lead, phone, call id) under a
  lease that the running process renews (:meth:`update_call`). A process killed mid-call
  leaves a row whose lease expires; :meth:`recover_interrupted` marks it ``interrupted``,
  keeps what happened so far (a meeting already booked stays in the report) and queues
  its deliveries.
* :meth:`finish_call` stores the final report and one delivery row per ``post_call``
  plugin in one transaction, *claimed* by this process, so a concurrent
  ``voicekit journal retry`` cannot run them too.
* :meth:`claim_deliveries` takes unclaimed or expired undelivered rows with a lease
  (owner, expiry) in the same transaction that reads them (``BEGIN IMMEDIATE`` on SQLite,
  ``FOR UPDATE SKIP LOCKED`` on Postgres). A delivery's lease is renewed while its
  plugin runs, so it outlives a slow CRM call; only the owner can record the outcome.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from secrets import token_hex
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, func, insert, or_, select, update

from .calls import CallReport, DeliveryRecord, Disposition, utcnow
from .errors import VoicekitError
from .redaction import redact
from .store import Store
from .store.tables import calls, deliveries, store_meta

logger = logging.getLogger("voicekit.journal")

CALL_LEASE_SECONDS = 60.0  # a live call renews its row about every 20 s
DELIVERY_LEASE_SECONDS = 300.0
_ERROR_LIMIT = 2000

_owner: tuple[int, str] | None = None


def process_owner() -> str:
    """This process's lease owner id: ``host:pid:random`` (new after a fork)."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        _owner = (pid, f"{socket.gethostname()}:{pid}:{token_hex(4)}")
    return _owner[1]


class JournalError(VoicekitError):
    """A journal row could not be read or written as asked (message names the call id)."""


@dataclass
class DeliveryClaim:
    """One delivery row leased to ``owner`` until ``expires_at`` (UTC)."""

    id: int
    call_id: str
    plugin: str
    attempts: int
    owner: str
    expires_at: datetime
    state: dict[str, Any] = field(default_factory=dict)


class Journal:
    """The journal tables of ``store``. ``legacy_path`` is an SQLite journal written by
    voicekit 0.1 (``[journal].path``): its rows are imported once, nothing is lost."""

    def __init__(self, store: Store, *, legacy_path: Path | None = None, owner: str | None = None):
        self.store = store
        self._owner = owner
        if legacy_path is not None and legacy_path.is_file():
            import_legacy_journal(self, legacy_path)

    @property
    def owner(self) -> str:
        return self._owner or process_owner()

    @property
    def path(self) -> Path | str:
        """The SQLite file, or the Postgres URL without its password."""
        return self.store.path or self.store.display_url

    # -- calls ------------------------------------------------------------------------

    def start_call(
        self, report: CallReport, *, campaign_id: str | None = None, attempt_id: str | None = None
    ) -> None:
        """Journal a call as ``in_progress`` under this process's lease.

        ``report`` is the report so far (no transcript yet). Raises :class:`JournalError`
        if the call id is already journaled.
        """
        now = utcnow()
        with self.store.write() as db:
            exists = db.execute(select(calls.c.call_id).where(calls.c.call_id == report.call_id))
            if exists.first() is not None:
                raise JournalError(f"call {report.call_id} is already journaled")
            db.execute(
                insert(calls).values(
                    call_id=report.call_id,
                    **_identity(report),
                    status="in_progress",
                    disposition=None,
                    ended_at=None,
                    updated_at=now,
                    lease_owner=self.owner,
                    lease_expires_at=now + timedelta(seconds=CALL_LEASE_SECONDS),
                    campaign_id=campaign_id,
                    attempt_id=attempt_id,
                    report_json=_report_json(report),
                )
            )

    def update_call(self, report: CallReport, *, disposition: Disposition | None) -> bool:
        """Store the report so far of a live call and renew its lease.

        ``disposition`` is the outcome set explicitly so far (None if none). Returns False
        if the row is no longer this process's (recovered as interrupted meanwhile).
        """
        now = utcnow()
        with self.store.write() as db:
            result = db.execute(
                update(calls)
                .where(
                    calls.c.call_id == report.call_id,
                    calls.c.status == "in_progress",
                    calls.c.lease_owner == self.owner,
                )
                .values(
                    report_json=_report_json(report),
                    disposition=disposition.value if disposition else None,
                    updated_at=now,
                    lease_expires_at=now + timedelta(seconds=CALL_LEASE_SECONDS),
                )
            )
        return result.rowcount == 1

    def finish_call(
        self, report: CallReport, plugins: Iterable[str], *, claim: bool = True
    ) -> list[DeliveryClaim]:
        """Store the final ``report`` and a pending delivery per plugin, atomically.

        An ``in_progress`` row of the same call (ours, or interrupted) becomes ``finished``.
        With ``claim`` the deliveries are leased to this process and returned.
        Raises :class:`JournalError` if the call is already finished.
        """
        now = utcnow()
        expires = now + timedelta(seconds=DELIVERY_LEASE_SECONDS)
        plugins = list(dict.fromkeys(plugins))
        values = {
            **_finished(report),
            "updated_at": now,
            "lease_owner": None,
            "lease_expires_at": None,
            "report_json": _report_json(report),
        }
        link = report.data.get("campaign") if isinstance(report.data, dict) else None
        if isinstance(link, dict) and link.get("id"):  # a campaign attempt (never dialed by
            values["campaign_id"] = str(link["id"])  # a worker: busy, no answer...)
            values["attempt_id"] = str(link.get("attempt_id") or "") or None
        with self.store.write() as db:
            row = db.execute(
                select(calls.c.status).where(calls.c.call_id == report.call_id)
            ).first()
            if row is not None and row.status == "finished":
                raise JournalError(f"call {report.call_id} is already journaled")
            if row is None:
                db.execute(insert(calls).values(call_id=report.call_id, **values))
            else:
                db.execute(update(calls).where(calls.c.call_id == report.call_id).values(**values))
            existing = {
                r.plugin
                for r in db.execute(
                    select(deliveries.c.plugin).where(deliveries.c.call_id == report.call_id)
                )
            }
            new = [p for p in plugins if p not in existing]
            if new:
                db.execute(
                    insert(deliveries),
                    [
                        {
                            "call_id": report.call_id,
                            "plugin": plugin,
                            "status": "pending",
                            "attempts": 0,
                            "error": "",
                            "lease_owner": self.owner if claim else None,
                            "lease_expires_at": expires if claim else None,
                            "updated_at": now,
                        }
                        for plugin in new
                    ],
                )
            if not claim:
                return []
            rows = db.execute(
                select(deliveries).where(
                    deliveries.c.call_id == report.call_id,
                    deliveries.c.plugin.in_(new),
                )
            ).all()
        return [_claim(row, self.owner, expires) for row in rows]

    def record_call(self, report: CallReport, plugins: Iterable[str]) -> None:
        """Store a finished report with unclaimed pending deliveries (imports, tests)."""
        self.finish_call(report, plugins, claim=False)

    def recover_interrupted(self, plugins: Iterable[str]) -> list[str]:
        """Mark every ``in_progress`` call whose lease expired as ``interrupted``.

        Its report keeps what happened so far; a disposition set before the crash (a
        meeting booked) is kept, else it becomes ``failed``. A pending delivery per plugin
        is queued so the CRM still hears of the call. Returns the call ids recovered.
        """
        now = utcnow()
        plugins = list(dict.fromkeys(plugins))
        recovered = []
        with self.store.write() as db:
            rows = db.execute(
                select(calls).where(
                    calls.c.status == "in_progress",
                    or_(calls.c.lease_expires_at.is_(None), calls.c.lease_expires_at < now),
                )
            ).all()
            for row in rows:
                report = _interrupted_report(row, now)
                db.execute(
                    update(calls)
                    .where(calls.c.call_id == row.call_id, calls.c.status == "in_progress")
                    .values(
                        status="interrupted",
                        disposition=report.disposition.value,
                        ended_at=report.ended_at,
                        updated_at=now,
                        lease_owner=None,
                        lease_expires_at=None,
                        report_json=_report_json(report),
                    )
                )
                if plugins:
                    db.execute(
                        insert(deliveries),
                        [
                            {
                                "call_id": row.call_id,
                                "plugin": p,
                                "status": "pending",
                                "attempts": 0,
                                "error": "",
                                "updated_at": now,
                            }
                            for p in plugins
                        ],
                    )
                recovered.append(row.call_id)
        for call_id in recovered:
            logger.warning("call %s was interrupted (its process stopped); recovered", call_id)
        return recovered

    # -- deliveries ------------------------------------------------------------------

    def claim_deliveries(
        self,
        *,
        limit: int = 100,
        call_ids: Iterable[str] | None = None,
        exclude: Iterable[int] = (),
        lease_seconds: float = DELIVERY_LEASE_SECONDS,
    ) -> list[DeliveryClaim]:
        """Lease up to ``limit`` undelivered rows that nobody holds (or whose lease
        expired), oldest first, in the same transaction that reads them. ``exclude`` holds
        delivery ids not to take (those already tried in this run)."""
        now = utcnow()
        expires = now + timedelta(seconds=lease_seconds)
        query = (
            select(deliveries.c.id)
            .where(
                deliveries.c.status != "delivered",
                or_(deliveries.c.lease_expires_at.is_(None), deliveries.c.lease_expires_at < now),
            )
            .order_by(deliveries.c.call_id, deliveries.c.plugin)
            .limit(limit)
        )
        if call_ids is not None:
            query = query.where(deliveries.c.call_id.in_(list(call_ids)))
        excluded = list(exclude)
        if excluded:
            query = query.where(deliveries.c.id.not_in(excluded))
        if self.store.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        with self.store.write() as db:
            ids = [row.id for row in db.execute(query)]
            if not ids:
                return []
            db.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids))
                .values(lease_owner=self.owner, lease_expires_at=expires)
            )
            rows = db.execute(
                select(deliveries)
                .where(deliveries.c.id.in_(ids))
                .order_by(deliveries.c.call_id, deliveries.c.plugin)
            ).all()
        return [_claim(row, self.owner, expires) for row in rows]

    def renew_delivery_lease(
        self, claim: DeliveryClaim, lease_seconds: float = DELIVERY_LEASE_SECONDS
    ) -> bool:
        """Extend ``claim``; False if this process no longer holds it."""
        expires = utcnow() + timedelta(seconds=lease_seconds)
        with self.store.write() as db:
            result = db.execute(_owned(claim).values(lease_expires_at=expires))
        if result.rowcount == 1:
            claim.expires_at = expires
            return True
        return False

    def save_delivery_state(self, claim: DeliveryClaim, state: dict[str, Any]) -> None:
        """Persist a plugin's step state. Raises :class:`JournalError` if the lease is lost
        (another process took the delivery over: stop before creating anything more)."""
        with self.store.write() as db:
            result = db.execute(
                _owned(claim).values(state_json=json.dumps(state, default=str), updated_at=utcnow())
            )
        if result.rowcount != 1:
            raise JournalError(
                f"delivery {claim.plugin} of call {claim.call_id}: lease lost to another process"
            )
        claim.state = state

    def finish_delivery(
        self,
        claim: DeliveryClaim,
        *,
        ok: bool,
        error: str = "",
        result: Any = None,
        keep_lease: bool = False,
    ) -> bool:
        """Record one attempt's outcome and release the lease (a failure keeps it with
        ``keep_lease``, for an immediate next try). Error text is redacted. Returns False
        (and writes nothing) if the lease was lost meanwhile."""
        now = utcnow()
        keep = keep_lease and not ok
        values: dict[str, Any] = {
            "status": "delivered" if ok else "failed",
            "attempts": deliveries.c.attempts + 1,
            "error": "" if ok else redact(error)[:_ERROR_LIMIT],
            "lease_owner": claim.owner if keep else None,
            "lease_expires_at": now + timedelta(seconds=DELIVERY_LEASE_SECONDS) if keep else None,
            "updated_at": now,
        }
        if ok:
            values["result_json"] = (
                redact(json.dumps(result, default=str)) if result is not None else None
            )
        with self.store.write() as db:
            outcome = db.execute(_owned(claim).values(**values))
        if outcome.rowcount != 1:
            logger.warning(
                "delivery %s of call %s: lease lost, outcome not recorded",
                claim.plugin,
                claim.call_id,
            )
            return False
        claim.attempts += 1
        return True

    def release(self, claim: DeliveryClaim) -> None:
        """Give a claim back without counting an attempt (cancelled before it ran)."""
        with self.store.write() as db:
            db.execute(_owned(claim).values(lease_owner=None, lease_expires_at=None))

    def deliveries(self, call_id: str) -> list[DeliveryRecord]:
        with self.store.read() as db:
            rows = db.execute(
                select(deliveries)
                .where(deliveries.c.call_id == call_id)
                .order_by(deliveries.c.plugin)
            ).all()
        return [_delivery(row) for row in rows]

    def undelivered(self) -> list[tuple[str, str]]:
        """``(call_id, plugin)`` of every delivery that is pending or failed, oldest first."""
        with self.store.read() as db:
            rows = db.execute(
                select(deliveries.c.call_id, deliveries.c.plugin)
                .where(deliveries.c.status != "delivered")
                .order_by(deliveries.c.call_id, deliveries.c.plugin)
            ).all()
        return [(row.call_id, row.plugin) for row in rows]

    # -- reading ---------------------------------------------------------------------

    def get(self, call_id: str) -> CallReport | None:
        """The report with its current delivery statuses, or None. Accepts a unique id
        prefix. Raises :class:`JournalError` if the stored report is corrupt."""
        prefix = call_id.replace("%", "").replace("_", "\\_")
        with self.store.read() as db:
            rows = db.execute(
                select(calls.c.call_id, calls.c.report_json)
                .where(calls.c.call_id.like(prefix + "%", escape="\\"))
                .order_by(calls.c.call_id)
                .limit(2)
            ).all()
        if len(rows) != 1:
            return None
        report = _parse_report(rows[0].call_id, rows[0].report_json)
        report.post_call = self.deliveries(rows[0].call_id)
        return report

    def status(self, call_id: str) -> str | None:
        """``in_progress``, ``finished`` or ``interrupted``; None if not journaled."""
        with self.store.read() as db:
            row = db.execute(select(calls.c.status).where(calls.c.call_id == call_id)).first()
        return row.status if row else None

    def list(self, limit: int = 50, *, disposition: str | None = None) -> list[dict[str, Any]]:
        """The newest calls with a count of undelivered post-call actions; only those that
        ended with ``disposition`` (a name, built-in or declared) when given."""
        undelivered = func.sum(func.coalesce((deliveries.c.status != "delivered").cast(_int()), 0))
        query = (
            select(
                calls.c.call_id,
                calls.c.agent_name,
                calls.c.phone,
                calls.c.status,
                calls.c.disposition,
                calls.c.started_at,
                calls.c.ended_at,
                func.count(deliveries.c.id).label("deliveries"),
                undelivered.label("undelivered"),
            )
            .select_from(calls.outerjoin(deliveries, deliveries.c.call_id == calls.c.call_id))
            .group_by(calls.c.call_id)
            .order_by(calls.c.call_id.desc())
            .limit(limit)
        )
        if disposition is not None:
            query = query.where(
                calls.c.disposition == str(getattr(disposition, "value", disposition))
            )
        with self.store.read() as db:
            rows = db.execute(query).all()
        return [
            {
                **row._asdict(),
                "disposition": row.disposition or "",
                "started_at": row.started_at.isoformat(),
                "ended_at": row.ended_at.isoformat() if row.ended_at else None,
                "undelivered": int(row.undelivered or 0),
            }
            for row in rows
        ]

    def reports(self) -> Iterator[CallReport]:
        """Every ended call's report (finished or interrupted), oldest first, streamed.
        A corrupt row is skipped with a warning naming its call id."""
        last = ""
        while True:  # pages keep memory flat on big journals
            with self.store.read() as db:
                rows = db.execute(
                    select(calls.c.call_id, calls.c.report_json)
                    .where(calls.c.status != "in_progress", calls.c.call_id > last)
                    .order_by(calls.c.call_id)
                    .limit(500)
                ).all()
            if not rows:
                return
            for row in rows:
                try:
                    yield _parse_report(row.call_id, row.report_json)
                except JournalError as exc:
                    logger.warning("%s (skipped)", exc)
            last = rows[-1].call_id

    def count(self) -> int:
        with self.store.read() as db:
            return int(db.execute(select(func.count()).select_from(calls)).scalar_one())


# -- helpers -------------------------------------------------------------------------


def _int() -> Any:
    from sqlalchemy import Integer

    return Integer()


def _identity(report: CallReport) -> dict[str, Any]:
    """The call-row columns that never change after the call starts."""
    return {
        "agent_name": report.agent_name,
        "phone": report.phone,
        "direction": report.direction,
        "started_at": report.started_at,
    }


def _finished(report: CallReport) -> dict[str, Any]:
    """The call-row columns of an ended call."""
    return {
        **_identity(report),
        "status": "finished",
        "disposition": report.disposition.value,
        "ended_at": report.ended_at,
    }


def _owned(claim: DeliveryClaim) -> Any:
    return update(deliveries).where(
        and_(deliveries.c.id == claim.id, deliveries.c.lease_owner == claim.owner)
    )


def _report_json(report: CallReport) -> str:
    return redact(report.model_dump_json(exclude={"post_call"}))


def _parse_report(call_id: str, raw: str) -> CallReport:
    try:
        return CallReport.model_validate_json(raw)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise JournalError(f"call {call_id}: the journaled report is corrupt ({first})") from None


def _interrupted_report(row: Any, now: datetime) -> CallReport:
    try:
        report = CallReport.model_validate_json(row.report_json)
    except (ValidationError, ValueError):
        report = CallReport(
            call_id=row.call_id,
            agent_name=row.agent_name,
            direction=row.direction,
            mode="live",
            phone=row.phone,
            lead=None,
            started_at=row.started_at,
            ended_at=now,
            duration_seconds=0,
            disposition=Disposition.FAILED,
        )
    ended = row.updated_at or now
    report.ended_at = ended
    report.duration_seconds = round(max((ended - report.started_at).total_seconds(), 0), 3)
    note = "interrupted: the process running this call stopped before it ended"
    if row.disposition:
        report.disposition = Disposition.read(row.disposition)
    else:
        report.disposition = Disposition.FAILED
        report.disposition_reason = note
    report.notes.append(note)
    return report


def _claim(row: Any, owner: str, expires: datetime) -> DeliveryClaim:
    return DeliveryClaim(
        id=row.id,
        call_id=row.call_id,
        plugin=row.plugin,
        attempts=row.attempts,
        owner=owner,
        expires_at=expires,
        state=json.loads(row.state_json) if row.state_json else {},
    )


def _delivery(row: Any) -> DeliveryRecord:
    return DeliveryRecord(
        plugin=row.plugin,
        status=row.status,
        attempts=row.attempts,
        error=row.error,
        result=json.loads(row.result_json) if row.result_json else None,
        updated_at=row.updated_at,
    )


# -- voicekit 0.1 journals ---------------------------------------------------------------


def import_legacy_journal(journal: Journal, path: Path) -> int:
    """Copy the calls and deliveries of a voicekit 0.1 SQLite journal into the store,
    once (a ``store_meta`` marker records the import). Returns the number of calls copied.
    Raises :class:`JournalError` naming the file if it is not a readable journal."""
    marker = f"legacy_journal:{path.resolve()}"
    with journal.store.read() as db:
        if db.execute(select(store_meta.c.key).where(store_meta.c.key == marker)).first():
            return 0
    try:
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            source.row_factory = sqlite3.Row
            old_calls = source.execute("SELECT * FROM calls").fetchall()
            old_deliveries = source.execute("SELECT * FROM deliveries").fetchall()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise JournalError(f"{path}: not a readable voicekit journal ({exc})") from None
    by_call: dict[str, list[sqlite3.Row]] = {}
    for d in old_deliveries:
        by_call.setdefault(d["call_id"], []).append(d)
    copied = 0
    now = utcnow()
    with journal.store.write() as db:
        known = {r.call_id for r in db.execute(select(calls.c.call_id))}
        for row in old_calls:
            if row["call_id"] in known:
                continue
            try:
                report = CallReport.model_validate_json(row["report_json"])
            except (ValidationError, ValueError):
                logger.warning("%s: call %s has a corrupt report; skipped", path, row["call_id"])
                continue
            db.execute(
                insert(calls).values(
                    call_id=report.call_id,
                    **_finished(report),
                    updated_at=now,
                    report_json=row["report_json"],
                )
            )
            known.add(report.call_id)
            copied += 1
            for d in by_call.get(report.call_id, []):
                db.execute(
                    insert(deliveries).values(
                        call_id=d["call_id"],
                        plugin=d["plugin"],
                        status=d["status"],
                        attempts=d["attempts"],
                        error=d["error"],
                        result_json=d["result_json"],
                        updated_at=now,
                    )
                )
        db.execute(insert(store_meta).values(key=marker, value=now.isoformat()))
    if copied:
        logger.warning("imported %d calls from the old journal %s", copied, path)
    return copied
