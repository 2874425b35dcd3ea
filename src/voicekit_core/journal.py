"""The call journal: an SQLite file holding every CallReport and each plugin's
post-call delivery status.

A report is written (with one ``pending`` delivery row per ``post_call`` plugin) in one
transaction *before* any delivery runs, so a crash mid-delivery loses nothing:
``voicekit journal retry`` picks up whatever is not ``delivered``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .calls import CallReport, DeliveryRecord, utcnow

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    call_id      TEXT PRIMARY KEY,
    agent_name   TEXT NOT NULL,
    phone        TEXT NOT NULL,
    disposition  TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    ended_at     TEXT NOT NULL,
    report_json  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    call_id      TEXT NOT NULL REFERENCES calls(call_id),
    plugin       TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    error        TEXT NOT NULL DEFAULT '',
    result_json  TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (call_id, plugin)
);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries(status);
"""


class Journal:
    """SQLite call journal at ``path`` (created with its folder on first use)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        try:
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def record_call(self, report: CallReport, plugins: list[str]) -> None:
        """Store ``report`` and a pending delivery for each of ``plugins``, atomically.

        Raises ``sqlite3.IntegrityError`` if ``report.call_id`` is already journaled.
        """
        now = utcnow().isoformat()
        with self._connect() as db:
            db.execute(
                "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    report.call_id,
                    report.agent_name,
                    report.phone,
                    report.disposition.value,
                    report.started_at.isoformat(),
                    report.ended_at.isoformat(),
                    report.model_dump_json(exclude={"post_call"}),
                ),
            )
            db.executemany(
                "INSERT INTO deliveries (call_id, plugin, status, updated_at) VALUES (?, ?, 'pending', ?)",
                [(report.call_id, plugin, now) for plugin in plugins],
            )

    def record_delivery(
        self, call_id: str, plugin: str, *, ok: bool, error: str = "", result: Any = None
    ) -> None:
        """Mark one attempt of ``plugin``'s delivery of ``call_id`` as delivered or failed."""
        with self._connect() as db:
            db.execute(
                """UPDATE deliveries
                   SET status = ?, attempts = attempts + 1, error = ?, result_json = ?, updated_at = ?
                   WHERE call_id = ? AND plugin = ?""",
                (
                    "delivered" if ok else "failed",
                    "" if ok else error,
                    json.dumps(result, default=str) if ok and result is not None else None,
                    utcnow().isoformat(),
                    call_id,
                    plugin,
                ),
            )

    def deliveries(self, call_id: str) -> list[DeliveryRecord]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM deliveries WHERE call_id = ? ORDER BY plugin", (call_id,)
            ).fetchall()
        return [_delivery(row) for row in rows]

    def undelivered(self) -> list[tuple[str, str]]:
        """``(call_id, plugin)`` of every delivery that is pending or failed, oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT call_id, plugin FROM deliveries WHERE status != 'delivered' "
                "ORDER BY call_id, plugin"
            ).fetchall()
        return [(row["call_id"], row["plugin"]) for row in rows]

    def get(self, call_id: str) -> CallReport | None:
        """The report with its current delivery statuses, or None. Accepts a unique id prefix."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT report_json, call_id FROM calls WHERE call_id LIKE ? ORDER BY call_id",
                (call_id.replace("%", "") + "%",),
            ).fetchall()
        if len(rows) != 1:
            return None
        report = CallReport.model_validate_json(rows[0]["report_json"])
        report.post_call = self.deliveries(rows[0]["call_id"])
        return report

    def list(self, limit: int = 50) -> list[sqlite3.Row]:
        """The newest calls with a count of undelivered post-call actions."""
        with self._connect() as db:
            return db.execute(
                """SELECT c.call_id, c.agent_name, c.phone, c.disposition, c.started_at, c.ended_at,
                          COUNT(d.plugin) AS deliveries,
                          SUM(CASE WHEN d.status != 'delivered' THEN 1 ELSE 0 END) AS undelivered
                   FROM calls c LEFT JOIN deliveries d ON d.call_id = c.call_id
                   GROUP BY c.call_id ORDER BY c.call_id DESC LIMIT ?""",
                (limit,),
            ).fetchall()

    def reports(self) -> Iterator[CallReport]:
        with self._connect() as db:
            rows = db.execute("SELECT report_json FROM calls ORDER BY call_id").fetchall()
        for row in rows:
            yield CallReport.model_validate_json(row["report_json"])


def _delivery(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(
        plugin=row["plugin"],
        status=row["status"],
        attempts=row["attempts"],
        error=row["error"],
        result=json.loads(row["result_json"]) if row["result_json"] else None,
        updated_at=row["updated_at"],
    )
