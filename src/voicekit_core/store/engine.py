"""The store's engine: one SQLAlchemy engine per URL per process, migrated on open.

SQLite (default, one machine): WAL journal, ``busy_timeout``, foreign keys on, and
``BEGIN IMMEDIATE`` for write transactions so a read-then-update (a claim) cannot
interleave with another writer. Postgres (``postgresql+psycopg://…``, several machines):
row claims use ``FOR UPDATE SKIP LOCKED``; migrations hold an advisory lock.

The database file and its folder are created private (0600 / 0700): they hold
transcripts and phone numbers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ..errors import Problem, VoicekitError

logger = logging.getLogger("voicekit.store")

DEFAULT_URL = "sqlite:///.voicekit/voicekit.sqlite3"
BUSY_TIMEOUT_SECONDS = 10.0
_MIGRATION_LOCK_ID = 0x766B_0001  # pg_advisory_xact_lock key: "vk" + 1

_engines: dict[str, Engine] = {}
_migrated: set[str] = set()
_lock = threading.Lock()
# SQLite has one writer at a time; threads of one process queue here for it instead of
# polling in SQLite's busy handler (which sleeps 1, 2, 5 ... 100 ms between tries)
_sqlite_writers: dict[str, threading.RLock] = {}


class StoreError(VoicekitError):
    """The store could not be opened, migrated or written (message names the URL, never a password)."""


def resolve_url(url: str, base_dir: Path | None = None) -> URL:
    """Parse ``url``; a relative SQLite path is made absolute against ``base_dir``.

    Raises :class:`StoreError` for a malformed URL.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"store url is not a database URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:"):
            raise StoreError("store url: an in-memory SQLite database cannot be shared; use a file")
        path = Path(database).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        parsed = parsed.set(database=str(path))
    elif parsed.get_backend_name() != "postgresql":
        raise StoreError(
            f"store url {parsed.render_as_string(hide_password=True)}: "
            "only sqlite:/// and postgresql+psycopg:// are supported"
        )
    return parsed


def writable_problems(url: URL, *, file: str, key: str = "store.url") -> list[Problem]:
    """Why a SQLite store at ``url`` could not be created or written (empty if it can).

    Checked without creating anything: a path under a file, a folder or device in place of
    the database file, or a folder without write permission. Postgres URLs are not checked
    here (``voicekit doctor`` connects).
    """
    if url.get_backend_name() != "sqlite":
        return []
    path = Path(url.database or "")
    shown = str(path)
    if path.exists():
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            return [Problem(file, key, shown, "is not a regular file")]
        if not os.access(path, os.R_OK | os.W_OK):
            return [Problem(file, key, shown, "is not writable by this user")]
        if not os.access(path.parent, os.W_OK | os.X_OK):
            return [
                Problem(file, key, shown, "its folder is not writable (SQLite needs a -wal file)")
            ]
        return []
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                return [Problem(file, key, shown, f"{parent} is a file, not a folder")]
            if not os.access(parent, os.W_OK | os.X_OK):
                return [Problem(file, key, shown, f"cannot create it: {parent} is not writable")]
            return []
    return []


class Store:
    """A migrated database at ``url``; use :meth:`read` / :meth:`write` transactions.

    Raises :class:`StoreError` if the database cannot be opened or migrated.
    """

    def __init__(self, url: str | URL, *, base_dir: Path | None = None, migrate: bool = True):
        self.url = url if isinstance(url, URL) else resolve_url(url, base_dir)
        self.engine = _engine(self.url)
        self._writer = (
            _sqlite_writers.setdefault(str(self.url), threading.RLock())
            if self.url.get_backend_name() == "sqlite"
            else contextlib.nullcontext()
        )
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def display_url(self) -> str:
        """The URL with any password hidden."""
        return self.url.render_as_string(hide_password=True)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for Postgres."""
        return Path(self.url.database or "") if self.dialect == "sqlite" else None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred on SQLite: never blocks writers under WAL)."""
        with self._guard("read from"), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite; committed on success,
        rolled back on any exception (nothing half-written)."""
        with self._writer, self._guard("write to"), self.engine.connect() as conn:
            conn = conn.execution_options(voicekit_immediate=True)
            with conn.begin():
                yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest migration (idempotent; safe from several processes)."""
        key = str(self.url)
        if key in _migrated:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        _migrated.add(key)

    @contextmanager
    def _guard(self, verb: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise StoreError(f"could not {verb} the store {self.display_url}: {detail}") from exc


def _engine(url: URL) -> Engine:
    key = str(url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _sqlite_engine(url) if url.get_backend_name() == "sqlite" else _pg_engine(url)
            _engines[key] = engine
        return engine


def _pg_engine(url: URL) -> Engine:
    try:
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    except (ImportError, ModuleNotFoundError):
        raise StoreError(
            "a postgresql store needs psycopg: pip install 'voicekit-core[postgres]'"
        ) from None


def _sqlite_engine(url: URL) -> Engine:
    path = Path(url.database or "")
    _create_private(path)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("voicekit_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    """Create the database file 0600 in a 0700 folder before SQLite opens it."""
    try:
        if not path.parent.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
    except OSError as exc:
        raise StoreError(f"could not create the store {path}: {exc.strerror}") from None


def dispose_all() -> None:
    """Close every pooled connection (tests, and forked processes before reuse)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _migrated.clear()
