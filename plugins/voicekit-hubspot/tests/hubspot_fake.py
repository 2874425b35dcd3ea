"""A small stateful fake of HubSpot's CRM v3 objects API on a local pytest-httpserver.

Supports search (EQ, IN, CONTAINS_TOKEN; OR of filter groups, AND within a group),
create, and PATCH for contacts, calls, notes and tasks; bearer-token auth; scripted
failures (``fail_next``) or a persistent one (``fail_always``); a response ``delay``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from werkzeug import Request, Response

from voicekit_core.testing import MINIMAL_CONFIG

TOKEN = "pat-good-token"

ROUTE = re.compile(r"^/crm/v3/objects/(\w+)(?:/(search|[\w-]+))?/?$")


@dataclass
class Recorded:
    method: str
    path: str
    body: Any


@dataclass
class FakeHubSpot:
    token: str = TOKEN
    url: str = ""
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    fail_always: int | None = None
    delay: float = 0.0
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        object_type: str,
        properties: dict[str, str],
        *,
        updated: str | None = None,
        created: str | None = None,
        id: str | None = None,
    ) -> str:
        if id is None:
            with self._lock:
                self._next_id += 1
                id = str(self._next_id)
        oid = id
        stamp = "2024-01-01T00:00:00Z"
        self.objects.setdefault(object_type, {})[oid] = {
            "id": oid,
            "properties": dict(properties),
            "createdAt": created or stamp,
            "updatedAt": updated or created or stamp,
            "archived": False,
            "associations": [],
        }
        return oid

    def sent(self, method: str, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.method == method and r.path == path]

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if not r.path.endswith("/search")]

    # -- werkzeug handler -------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.data else None
        self.requests.append(Recorded(request.method, request.path, body))
        if self.delay:
            time.sleep(self.delay)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                {
                    "status": "error",
                    "message": "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication.",
                    "correlationId": "c0ffee",
                    "category": "INVALID_AUTHENTICATION",
                },
                401,
            )
        if self.fail_next:
            return _failure(self.fail_next.pop(0))
        if self.fail_always:
            return _failure(self.fail_always)
        match = ROUTE.match(request.path)
        if not match:
            return _json(
                {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}, 404
            )
        object_type, tail = match.groups()
        store = self.objects.setdefault(object_type, {})
        if request.method == "POST" and tail == "search":
            return _json(self._search(store, body or {}))
        if request.method == "POST" and tail is None:
            oid = self.add(object_type, body.get("properties", {}))
            store[oid]["associations"] = body.get("associations", [])
            return _json(_public(store[oid]), 201)
        if request.method == "PATCH" and tail in store:
            store[tail]["properties"].update(body.get("properties", {}))
            store[tail]["updatedAt"] = _now()
            return _json(_public(store[tail]))
        return _json(
            {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}, 404
        )

    def _search(self, store: dict[str, dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        groups = body.get("filterGroups") or [{"filters": []}]
        hits = [o for o in store.values() if any(_group(o["properties"], g) for g in groups)]
        limit = body.get("limit", 10)
        wanted = body.get("properties")
        results = []
        for obj in hits[:limit]:
            shown = _public(obj)
            if wanted:
                shown["properties"] = {k: v for k, v in obj["properties"].items() if k in wanted}
            results.append(shown)
        return {"total": len(hits), "results": results}


def _group(props: dict[str, str], group: dict[str, Any]) -> bool:
    for f in group.get("filters", []):
        value = props.get(f["propertyName"])
        op = f["operator"]
        if op == "EQ" and value != f["value"]:
            return False
        if op == "IN" and value not in f["values"]:
            return False
        if op == "CONTAINS_TOKEN" and (value is None or f["value"] not in value):
            return False
    return True


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: obj[k] for k in ("id", "properties", "createdAt", "updatedAt", "archived")}


def _failure(status: int) -> Response:
    if status == 429:
        return _json(
            {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "category": "RATE_LIMITS",
            },
            429,
        )
    return _json(
        {"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"}, status
    )


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


def hubspot_config(url: str, **settings: object) -> str:
    """MINIMAL_CONFIG with the hubspot plugin enabled, fast retries and a small budget."""
    values = {
        "access_token": '"${HUBSPOT_ACCESS_TOKEN}"',
        "host": f'"{url}"',
        "lookup_timeout_seconds": "1.0",
        "max_retries": "2",
        "backoff_seconds": "0",
    }
    values.update({k: _toml(v) for k, v in settings.items()})
    table = "\n".join(f"{k} = {v}" for k, v in values.items())
    return f'{MINIMAL_CONFIG}\n[plugins]\nenable = ["hubspot"]\n\n[plugins.hubspot]\n{table}\n'


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
