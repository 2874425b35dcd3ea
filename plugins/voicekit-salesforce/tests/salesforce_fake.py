"""A small stateful fake of the Salesforce REST API (v59.0) on a local HTTPS server.

Understands the SOQL this plugin sends (``FROM``, ``<Field> IN (...)``, ``CallObject =``),
``POST sobjects/<Type>/``, ``PATCH sobjects/<Type>/<Id>``, and the external-id upsert and
read ``PATCH|GET sobjects/<Type>/<Field__c>/<value>``; bearer-session auth; scripted
failures (``fail_next``) or a persistent one (``fail_always``);
``fail_when(method, path_regex, *statuses, commit=...)`` for one route (with ``commit``
the request is carried out, then answered with the status, as a gateway that loses
Salesforce's reply); a ``delay``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from werkzeug import Request, Response

from voicekit_core.testing import MINIMAL_CONFIG

SESSION = "00Dxx0000001gPL!AQ4AQFakeSessionId"
BASE = "/services/data/v59.0"
PREFIX = {"Lead": "00Q", "Contact": "003", "Task": "00T"}
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    query: str = ""


@dataclass
class Rule:
    """Answer the next requests matching ``method`` and ``path`` with ``statuses``."""

    method: str
    path: re.Pattern[str]
    statuses: list[int]
    commit: bool
    after: int = 0  # let this many matching requests through first


@dataclass
class FakeSalesforce:
    session_id: str = SESSION
    url: str = ""
    ca_file: str = ""
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    fail_always: int | None = None
    delay: float = 0.0
    upsert_update_no_content: bool = False  # answer an upsert that updates with a bare 204
    rules: list[Rule] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def add(
        self,
        sobject: str,
        fields: dict[str, Any],
        *,
        modified: str = "2024-01-01T00:00:00.000+0000",
        created: str | None = None,
    ) -> str:
        rid = f"{PREFIX[sobject]}{next(self._ids):015d}"
        self.records.setdefault(sobject, {})[rid] = {
            "attributes": {"type": sobject, "url": f"{BASE}/sobjects/{sobject}/{rid}"},
            "Id": rid,
            "LastModifiedDate": modified,
            "CreatedDate": created or modified,
            **fields,
        }
        return rid

    def fail_when(
        self, method: str, path: str, *statuses: int, commit: bool = False, after: int = 0
    ) -> None:
        """After ``after`` matching requests, the next ``len(statuses)`` ``method`` requests
        whose path (after ``/services/data/v59.0``) fully matches the regex ``path`` fail
        with those statuses (after being carried out if ``commit``)."""
        self.rules.append(Rule(method, re.compile(path), list(statuses), commit, after))

    def count(self, sobject: str) -> int:
        """How many records of ``sobject`` the fake holds."""
        return len(self.records.get(sobject, {}))

    def sent(self, method: str, path: str) -> list[Any]:
        return [r.body for r in self.requests if r.method == method and r.path == BASE + path]

    def queries(self) -> list[str]:
        return [r.query for r in self.requests if r.query]

    # -- werkzeug handler -------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.data else None
        self.requests.append(
            Recorded(request.method, request.path, body, request.args.get("q", ""))
        )
        if self.delay:
            time.sleep(self.delay)
        if request.headers.get("Authorization") != f"Bearer {self.session_id}":
            return _json(
                [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
            )
        if self.fail_next:
            return _failure(self.fail_next.pop(0))
        if self.fail_always:
            return _failure(self.fail_always)
        path = request.path.removeprefix(BASE)
        for rule in self.rules:
            if rule.statuses and rule.method == request.method and rule.path.fullmatch(path):
                if rule.after:
                    rule.after -= 1
                    continue
                status = rule.statuses.pop(0)
                if rule.commit:
                    self._route(request, path, body)
                return _failure(status)
        return self._route(request, path, body)

    def _route(self, request: Request, path: str, body: Any) -> Response:
        by_external = re.fullmatch(r"/sobjects/(\w+)/(\w+__c)/([^/]+)", path)
        if by_external:
            sobject, external, value = by_external.groups()
            value = unquote_plus(value)
            rows = self.records.get(sobject, {})
            existing = next((r for r in rows.values() if r.get(external) == value), None)
            if request.method == "GET":
                return _json(existing) if existing else _not_found()
            if request.method == "PATCH":
                if existing is not None:
                    existing.update(body)
                    if self.upsert_update_no_content:
                        return Response(status=204)
                    reply = {"id": existing["Id"], "success": True, "errors": [], "created": False}
                    return _json(reply, 200)
                rid = self.add(sobject, {**body, external: value})
                return _json({"id": rid, "success": True, "errors": [], "created": True}, 201)
        if request.method == "GET" and path == "/query/":
            return _json(self._query(request.args["q"]))
        match = re.fullmatch(r"/sobjects/(\w+)/(\w*)/?", path)
        if match and request.method == "POST" and not match.group(2):
            rid = self.add(match.group(1), body)
            return _json({"id": rid, "success": True, "errors": []}, 201)
        if (
            match
            and request.method == "PATCH"
            and match.group(2) in self.records.get(match.group(1), {})
        ):
            self.records[match.group(1)][match.group(2)].update(body)
            return Response(status=204)
        return _not_found()

    def _query(self, soql: str) -> dict[str, Any]:
        sobject = re.search(r"\bFROM (\w+)", soql).group(1)
        rows = list(self.records.get(sobject, {}).values())
        if sobject == "Task":
            wanted = _STRING.search(soql.split("CallObject =", 1)[1]).group(1)
            rows = [r for r in rows if r.get("CallObject") == wanted]
        else:
            clauses = re.findall(r"(\w+) IN \(((?:'(?:[^'\\]|\\.)*',?)*)\)", soql)
            rows = [
                r for r in rows if any(r.get(f) in _STRING.findall(values) for f, values in clauses)
            ]
        return {"totalSize": len(rows), "done": True, "records": rows}


def _not_found() -> Response:
    return _json(
        [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}], 404
    )


def _failure(status: int) -> Response:
    code = "REQUEST_LIMIT_EXCEEDED" if status == 429 else "UNKNOWN_EXCEPTION"
    return _json([{"message": "An unexpected error occurred.", "errorCode": code}], status)


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def salesforce_config(url: str, ca_file: str, **settings: object) -> str:
    """MINIMAL_CONFIG with the salesforce plugin (session auth), fast retries, small budget."""
    values = {
        "instance_url": f'"{url}"',
        "session_id": '"${SALESFORCE_SESSION_ID}"',
        "ca_bundle": f'"{ca_file}"',
        "lookup_timeout_seconds": "1.0",
        "max_retries": "2",
        "backoff_seconds": "0",
    }
    values.update({k: _toml(v) for k, v in settings.items()})
    table = "\n".join(f"{k} = {v}" for k, v in values.items())
    return (
        f'{MINIMAL_CONFIG}\n[plugins]\nenable = ["salesforce"]\n\n[plugins.salesforce]\n{table}\n'
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
