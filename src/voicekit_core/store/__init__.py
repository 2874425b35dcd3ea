"""The voicekit store: one database for the journal and campaigns.

``[store] url`` in the deployment picks it: SQLite by default
(``sqlite:///.voicekit/voicekit.sqlite3`` beside the deployment file), Postgres
(``postgresql+psycopg://…``) when dialers and workers run on several machines. Tables are
defined once in :mod:`.tables`; Alembic migrations in ``migrations/`` run on open.
"""

from .engine import DEFAULT_URL, Store, StoreError, dispose_all, resolve_url, writable_problems

__all__ = ["DEFAULT_URL", "Store", "StoreError", "dispose_all", "resolve_url", "writable_problems"]
