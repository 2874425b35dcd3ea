"""Fields inside a JSON text column (``calls.report_json``) as SQL expressions.

SQLite reads them with ``json_extract``; Postgres casts the text to ``json`` and walks it
with ``->`` / ``->>``. Both give NULL for a missing key, so a report without metrics (a
call nobody answered) simply counts as "no value".
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import JSON, Float, cast, func
from sqlalchemy.sql.elements import ColumnElement


def json_text(dialect: str, column: Any, *keys: str) -> ColumnElement[Any]:
    """The text at ``keys`` inside JSON ``column`` (NULL when absent)."""
    if dialect == "postgresql":
        node: Any = cast(column, JSON)
        for key in keys[:-1]:
            node = node[key]
        return node[keys[-1]].as_string()
    return func.json_extract(column, "$." + ".".join(keys))


def json_number(dialect: str, column: Any, *keys: str) -> ColumnElement[Any]:
    """The number at ``keys`` inside JSON ``column`` as a float (NULL when absent)."""
    return cast(json_text(dialect, column, *keys), Float)


def json_node(dialect: str, column: Any, *keys: str) -> ColumnElement[Any]:
    """The object or list at ``keys`` inside JSON ``column``; read it with :func:`loaded`."""
    if dialect == "postgresql":
        node: Any = cast(column, JSON)
        for key in keys:
            node = node[key]
        return node
    return func.json_extract(column, "$." + ".".join(keys))


def loaded(value: Any) -> Any:
    """A :func:`json_node` result as Python data: SQLite returns JSON text, Postgres
    already parsed data; None stays None (and text that is not JSON too)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value
