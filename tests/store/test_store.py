"""The store: migrations match the table definitions, private files, clear errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from voicekit_core.deployment import load_deployment
from voicekit_core.errors import ConfigError
from voicekit_core.store import Store, StoreError
from voicekit_core.store.tables import metadata
from voicekit_core.testing import MINIMAL_CONFIG


def test_migrations_match_the_table_definitions(store_url):
    store = Store(store_url)
    with store.read() as db:
        diff = compare_metadata(MigrationContext.configure(db), metadata)
    assert diff == []


def test_migrate_is_idempotent_and_shared(store_url):
    first = Store(store_url)
    second = Store(store_url)  # a second open neither fails nor re-creates anything
    assert first.engine is second.engine


def test_sqlite_file_and_folder_are_private(tmp_path: Path):
    store = Store("sqlite:///state/db.sqlite3", base_dir=tmp_path)
    assert store.path == tmp_path / "state" / "db.sqlite3"
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.path.parent).st_mode) == 0o700


def test_postgres_password_never_shown(postgres_url):
    store = Store(postgres_url)
    assert "***" in store.display_url or "@" not in store.display_url


@pytest.mark.parametrize(
    "url, reason",
    [
        ("mysql://x/y", "only sqlite"),
        ("sqlite://", "in-memory"),
        ("not a url", "not a database URL"),
    ],
)
def test_bad_urls_are_clear_errors(url, reason, tmp_path):
    with pytest.raises(StoreError, match=reason):
        Store(url, base_dir=tmp_path)


def test_corrupt_database_file_is_a_clear_error(tmp_path: Path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"broken\.sqlite3|file is not a database"):
        Store(f"sqlite:///{path}")


@pytest.mark.parametrize("where", ["under_a_file", "dev_null", "a_folder"])
def test_check_rejects_an_unwritable_store(voicekit, tmp_path: Path, where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    (tmp_path / "folder.sqlite3").mkdir()
    target = {
        "under_a_file": f"{blocker}/journal.sqlite3",
        "dev_null": "/dev/null",
        "a_folder": str(tmp_path / "folder.sqlite3"),
    }[where]
    path = voicekit.write(MINIMAL_CONFIG + f'\n[store]\nurl = "sqlite:///{target}"\n')
    with pytest.raises(ConfigError) as caught:
        load_deployment(path)
    [problem] = caught.value.problems
    assert problem.key == "store.url"
    assert str(path) == problem.file
