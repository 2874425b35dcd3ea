"""The knowledge base's tables, in the deployment's store (SQLAlchemy Core).

They live in the same database as the journal and campaigns (``[store] url``) but are
owned by this plugin, with their own Alembic history (``migrations/``, version table
``knowledge_alembic_version``), created the first time a deployment that enables the
plugin opens its knowledge base (:func:`voicekit_knowledge.schema.ensure_schema`). Core's
``tables.py`` lists only what core uses, and a deployment without the plugin gets none of
these. Full-text search is not a table SQLAlchemy can describe: the migration adds an
FTS5 virtual table with sync triggers on SQLite and a GIN expression index on Postgres
(:data:`PG_FTS_INDEX`); :func:`in_model` keeps them out of schema comparisons.

``collection`` separates knowledge bases that share one store (one per deployment by
default). Vectors are float32, L2-normalized, stored as bytes (``numpy.tobytes``).
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from voicekit_core.store.tables import UTCDateTime
from voicekit_core.store.tables import metadata as core_metadata

VERSION_TABLE = "knowledge_alembic_version"
FTS_TABLE = "knowledge_fts"  # SQLite FTS5 (external content: knowledge_chunks)
PG_FTS_INDEX = "ix_knowledge_chunks_tsv"  # Postgres GIN index on a tsvector expression

# the plugin's own MetaData (its own migrations), named by the core store's convention
metadata = MetaData(naming_convention=dict(core_metadata.naming_convention))

# one row per file or page: re-ingesting an unchanged one is skipped by content_hash and
# index_key (chunk sizes + chunker version + embedder id), a changed one replaced whole
knowledge_sources = Table(
    "knowledge_sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection", String(200), nullable=False),
    Column("uri", String(2000), nullable=False),  # absolute path or URL
    Column("kind", String(16), nullable=False),  # markdown text pdf docx html
    Column("title", Text, nullable=False),
    Column("content_hash", String(64), nullable=False),  # SHA-256 of the bytes read
    Column("index_key", String(64), nullable=False),
    Column("embedder", String(300)),  # the embedder id of its vectors; NULL: none
    Column("chunk_count", Integer, nullable=False),
    Column("byte_count", Integer, nullable=False),
    Column("ingested_at", UTCDateTime, nullable=False),
    UniqueConstraint("collection", "uri"),
)

knowledge_chunks = Table(
    "knowledge_chunks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "source_id",
        Integer,
        ForeignKey("knowledge_sources.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("collection", String(200), nullable=False),
    Column("position", Integer, nullable=False),  # order in its source, from 0
    Column("title", Text, nullable=False),  # the source's title
    Column("heading", Text, nullable=False),  # "Pets > Deposits"
    Column("text", Text, nullable=False),
    Column("tokens", Integer, nullable=False),
    Column("vector", LargeBinary),  # float32 bytes; NULL when ingested without embedder
    Index(None, "collection"),
    Index(None, "source_id"),
)


def in_model(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's ``include_name``: compare only what this module defines (not core's
    tables, not the full-text index objects the migration adds by hand)."""
    if type_ == "table":
        return name in metadata.tables
    if type_ == "index":
        return name != PG_FTS_INDEX
    return True
