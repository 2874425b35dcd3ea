"""Alembic environment of the knowledge tables: run by
:func:`voicekit_knowledge.schema.ensure_schema` on the connection it passes in (no
alembic.ini). Only this plugin's tables are compared (core's and the FTS5 tables are not
this history's business); the version is kept in ``knowledge_alembic_version``."""

from __future__ import annotations

from alembic import context

from voicekit_knowledge.tables import VERSION_TABLE, in_model, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=in_model,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
