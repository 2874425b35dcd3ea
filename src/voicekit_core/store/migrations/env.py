"""Alembic environment: voicekit runs migrations itself, on the connection it passes in
(``voicekit_core.store.Store.migrate``); there is no alembic.ini."""

from __future__ import annotations

from alembic import context

from voicekit_core.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs via table copies
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
