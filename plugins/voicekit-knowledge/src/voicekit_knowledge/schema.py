"""Create or upgrade the knowledge tables in a deployment's store, once per process.

The plugin's own Alembic history (``migrations/``) runs on the store's connection inside
one write transaction (``BEGIN IMMEDIATE`` on SQLite; on Postgres under an advisory lock
of its own), so several processes opening the same store at once do it exactly once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from voicekit_core.store import Store

_LOCK_ID = 0x766B_4B42  # pg_advisory_xact_lock key: "vk" + "KB"
_done: set[str] = set()
_lock = threading.Lock()


def ensure_schema(store: Store) -> None:
    """Bring the knowledge tables of ``store`` to the newest migration (idempotent).

    Raises :class:`~voicekit_core.store.StoreError` if the store cannot be written.
    """
    key = str(store.url)
    with _lock:
        if key in _done:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with store.write() as conn:
            if store.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        _done.add(key)


def forget() -> None:
    """Forget which stores were brought up to date (tests that drop databases)."""
    with _lock:
        _done.clear()
