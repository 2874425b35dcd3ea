"""The knowledge tables in the deployment's store: their own migrations match their
definitions on SQLite and Postgres, full-text search works on both, core is untouched."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from knowledge_kit import PROPERTY_DOCS
from sqlalchemy import inspect
from voicekit_knowledge.index import KnowledgeBase
from voicekit_knowledge.ingest import Ingester
from voicekit_knowledge.schema import ensure_schema
from voicekit_knowledge.settings import KnowledgeSettings
from voicekit_knowledge.tables import VERSION_TABLE, in_model, metadata

from voicekit_core.store import Store
from voicekit_core.store.tables import metadata as core_metadata


@pytest.fixture(params=["sqlite", "postgres"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("knowledge_postgres")()


def compare(store: Store, target, include_name) -> list:
    with store.read() as db:
        context = MigrationContext.configure(
            db, opts={"include_name": include_name, "compare_type": True}
        )
        return compare_metadata(context, target)


def core_only(name, type_, parent) -> bool:
    return type_ != "table" or name in core_metadata.tables


def test_migrations_match_the_tables_and_leave_core_alone(url):
    store = Store(url)
    ensure_schema(store)
    ensure_schema(store)  # idempotent
    assert compare(store, metadata, in_model) == []
    assert compare(store, core_metadata, core_only) == []  # core's schema is exactly core's
    names = set(inspect(store.engine).get_table_names())
    assert {"knowledge_sources", "knowledge_chunks", VERSION_TABLE} <= names
    if store.dialect == "sqlite":
        assert "knowledge_fts" in names


def test_search_on_both_databases(url):
    kb = KnowledgeBase(Store(url), "birchwood")
    summary = Ingester(
        kb, KnowledgeSettings(max_chunk_tokens=120, min_chunk_tokens=40), base_dir=PROPERTY_DOCS
    ).run([str(PROPERTY_DOCS)])
    assert summary.count("added") == 6
    hits = kb.search("How much is the late fee?", k=3, method="bm25")
    assert hits[0].source == "rent_payment.md" and "Late fees" in hits[0].text
    assert kb.search("the of and", k=3, method="bm25") == []  # stop words only: no match
    assert kb.search('"; DROP TABLE knowledge_chunks; -- OR *', k=3, method="bm25") == []
    other = KnowledgeBase(Store(url), "someone-else")
    assert other.search("late fee", k=3, method="bm25") == []
    assert kb.remove_source("rent_payment.md")
    assert all(h.source != "rent_payment.md" for h in kb.search("late fee", k=3, method="bm25"))
