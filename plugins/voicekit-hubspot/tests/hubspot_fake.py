"""A small stateful fake of HubSpot's CRM v3 objects API on a local pytest-httpserver.

Supports search (EQ, IN, CONTAINS_TOKEN; OR of filter groups, AND within a group),
create, PATCH, GET by id or ``idProperty=email``, batch read, and the v4 association
listing (``GET /crm/v4/objects/contacts/{id}/associations/{type}``) for contacts, calls,
notes and tasks; bearer-token auth; a 409 ``CONTACT_EXISTS`` for a duplicate email.

Failure modes: scripted failures (``fail_next``) or a persistent one (``fail_always``);
``fail_when(method, path_regex, *statuses, commit=...)`` for one route (with ``commit``
the request is carried out and then answered with the status, as a gateway that loses
HubSpot's reply); ``commit_then_fail`` (the same for the next creates of any type);
``index_lag`` (seconds before a created record shows up in search, as HubSpot's search
index); a response ``delay``.
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

ROUTE = re.compile(r"^/crm/v3/objects/(\w+)(?:/(search|batch/read|[^/]+))?/?$")
ASSOCIATIONS = re.compile(r"^/crm/v4/objects/contacts/([^/]+)/associations/(\w+)/?$")


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class Rule:
    """Answer the next requests matching ``method`` and ``path`` with ``statuses``."""

    method: str
    path: re.Pattern[str]
    statuses: list[int]
    commit: bool


@dataclass
class FakeHubSpot:
    token: str = TOKEN
    url: str = ""
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    fail_always: int | None = None
    commit_then_fail: list[int] = field(default_factory=list)
    index_lag: float = 0.0
    delay: float = 0.0
    rules: list[Rule] = field(default_factory=list)
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
            "searchable_at": 0.0,
        }
        return oid

    def count(self, object_type: str) -> int:
        """How many records of ``object_type`` the fake holds."""
        return len(self.objects.get(object_type, {}))

    def fail_when(self, method: str, path: str, *statuses: int, commit: bool = False) -> None:
        """The next ``len(statuses)`` ``method`` requests whose path fully matches the
        regex ``path`` fail with those statuses (after being carried out if ``commit``)."""
        self.rules.append(Rule(method, re.compile(path), list(statuses), commit))

    def sent(self, method: str, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.method == method and r.path == path]

    def writes(self) -> list[Recorded]:
        """Requests that could change something (not GETs, searches or batch reads)."""
        return [
            r
            for r in self.requests
            if r.method != "GET" and not r.path.endswith(("/search", "/batch/read"))
        ]

    # -- werkzeug handler -------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.data else None
        self.requests.append(Recorded(request.method, request.path, body, dict(request.args)))
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
        for rule in self.rules:
            if (
                rule.statuses
                and rule.method == request.method
                and rule.path.fullmatch(request.path)
            ):
                status = rule.statuses.pop(0)
                if rule.commit:
                    self._route(request, body)
                return _failure(status)
        return self._route(request, body)

    def _route(self, request: Request, body: Any) -> Response:
        listing = ASSOCIATIONS.match(request.path)
        if listing and request.method == "GET":
            return _json(self._associations(*listing.groups(), request.args))
        match = ROUTE.match(request.path)
        if not match:
            return _not_found()
        object_type, tail = match.groups()
        store = self.objects.setdefault(object_type, {})
        if request.method == "POST" and tail == "search":
            return _json(self._search(store, body or {}))
        if request.method == "POST" and tail == "batch/read":
            return _json(self._batch_read(store, body or {}))
        if request.method == "POST" and tail is None:
            return self._create(object_type, store, body or {})
        if request.method == "GET" and tail is not None:
            obj = self._get(store, tail, request.args.get("idProperty"))
            return _json(_public(obj)) if obj else _not_found()
        if request.method == "PATCH" and tail in store:
            store[tail]["properties"].update(body.get("properties", {}))
            store[tail]["updatedAt"] = _now()
            return _json(_public(store[tail]))
        return _not_found()

    def _create(
        self, object_type: str, store: dict[str, dict[str, Any]], body: dict[str, Any]
    ) -> Response:
        properties = body.get("properties", {})
        email = properties.get("email")
        if object_type == "contacts" and email:
            for other in store.values():
                if other["properties"].get("email") == email:
                    return _json(
                        {
                            "status": "error",
                            "message": f"Contact already exists. Existing ID: {other['id']}",
                            "category": "OBJECT_ALREADY_EXISTS",
                        },
                        409,
                    )
        oid = self.add(object_type, properties)
        store[oid]["associations"] = body.get("associations", [])
        store[oid]["searchable_at"] = time.monotonic() + self.index_lag
        if self.commit_then_fail:
            return _failure(self.commit_then_fail.pop(0))  # stored, but the reply is lost
        return _json(_public(store[oid]), 201)

    @staticmethod
    def _get(
        store: dict[str, dict[str, Any]], key: str, id_property: str | None
    ) -> dict[str, Any] | None:
        if not id_property:
            return store.get(key)
        return next((o for o in store.values() if o["properties"].get(id_property) == key), None)

    def _associations(self, contact_id: str, to_type: str, args: Any) -> dict[str, Any]:
        ids = sorted(
            (
                oid
                for oid, obj in self.objects.get(to_type, {}).items()
                if any(a["to"]["id"] == contact_id for a in obj["associations"])
            ),
            key=int,
        )
        start = int(args.get("after") or 0)
        limit = int(args.get("limit") or 500)
        page = ids[start : start + limit]
        reply: dict[str, Any] = {
            "results": [
                {
                    "toObjectId": oid,
                    "associationTypes": [
                        {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": None}
                    ],
                }
                for oid in page
            ]
        }
        if start + limit < len(ids):
            reply["paging"] = {"next": {"after": str(start + limit), "link": ""}}
        return reply

    @staticmethod
    def _batch_read(store: dict[str, dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        wanted = body.get("properties") or []
        results = []
        for item in body.get("inputs", []):
            obj = store.get(str(item["id"]))
            if obj is not None:
                shown = _public(obj)
                shown["properties"] = {k: v for k, v in obj["properties"].items() if k in wanted}
                results.append(shown)
        stamp = _now()
        return {
            "status": "COMPLETE",
            "results": results,
            "startedAt": stamp,
            "completedAt": stamp,
        }

    def _search(self, store: dict[str, dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
        groups = body.get("filterGroups") or [{"filters": []}]
        now = time.monotonic()
        hits = [
            o
            for o in store.values()
            if o["searchable_at"] <= now and any(_group(o["properties"], g) for g in groups)
        ]
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


def _not_found() -> Response:
    return _json({"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}, 404)


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
    """MINIMAL_CONFIG with the hubspot plugin enabled, fast retries, and a lookup budget
    roomy enough for a loaded CI machine (the first lookup imports the SDK)."""
    values = {
        "access_token": '"${HUBSPOT_ACCESS_TOKEN}"',
        "host": f'"{url}"',
        "lookup_timeout_seconds": "5.0",
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


SAMPLE_CALL_ID = "20250304T150000-abc123"


def sample_report(**changes: Any) -> Any:
    """A qualified outbound call with Ada Lovelace (HubSpot contact 501), 93.4 s."""
    from datetime import timedelta

    from voicekit_core import CallReport, Disposition

    start = datetime(2025, 3, 4, 15, 0, 0, tzinfo=timezone.utc)
    data: dict[str, Any] = dict(
        call_id=SAMPLE_CALL_ID,
        agent_name="test-agent",
        direction="outbound",
        mode="simulated",
        phone="+14155550123",
        lead={
            "name": "Ada Lovelace",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "Analytical Engines",
            "phone": "+14155550123",
            "source": "hubspot",
            "crm_id": "501",
        },
        started_at=start,
        ended_at=start + timedelta(seconds=93.4),
        duration_seconds=93.4,
        transcript=[
            {"role": "assistant", "text": "Hi Ada, this is Sofía from TDX.", "at": start},
            {"role": "user", "text": "We have $60k & want it <soon>.", "at": start},
        ],
        disposition=Disposition.QUALIFIED,
        disposition_reason="all four BANT criteria met",
        qualification={
            "status": "qualified",
            "budget": "$60k",
            "authority": "decision_maker",
            "need": "ticket deflection",
            "timeline": "2 months",
            "reasons": ["budget $60,000 meets $10,000"],
        },
    )
    data.update(changes)
    return CallReport(**data)
