"""The fake HubSpot (:mod:`hubspot_fake`) plus the Lists API v3 a lead source reads.

``add_list(name, contact_ids, object_type_id="0-1")`` creates a list and returns its ILS
id. Answers ``GET /crm/v3/lists/{listId}``, ``GET /crm/v3/lists/object-type-id/{type}/name/
{name}`` (404 ``OBJECT_NOT_FOUND`` for an unknown list) and ``GET /crm/v3/lists/{listId}/
memberships?limit=&after=`` (record ids in ascending order, ``paging.next.after`` while more
remain; a limit over 250 is a 400, as in HubSpot). Everything else is the base fake's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hubspot_fake import FakeHubSpot, _json, _not_found
from werkzeug import Request, Response

LIST = re.compile(r"^/crm/v3/lists/(\d+)/?$")
BY_NAME = re.compile(r"^/crm/v3/lists/object-type-id/([^/]+)/name/([^/]+)/?$")
MEMBERSHIPS = re.compile(r"^/crm/v3/lists/(\d+)/memberships/?$")
MAX_PAGE = 250


@dataclass
class FakeHubSpotLists(FakeHubSpot):
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    _next_list: int = 40

    def add_list(self, name: str, contact_ids: list[str], object_type_id: str = "0-1") -> str:
        self._next_list += 1
        list_id = str(self._next_list)
        self.lists[list_id] = {
            "name": name,
            "objectTypeId": object_type_id,
            "members": list(contact_ids),
        }
        return list_id

    def _route(self, request: Request, body: Any) -> Response:
        if request.method == "GET":
            found = LIST.match(request.path)
            if found:
                return self._list(found.group(1))
            named = BY_NAME.match(request.path)
            if named:
                type_id, name = named.groups()
                for list_id, info in self.lists.items():
                    if info["name"].lower() == name.lower() and info["objectTypeId"] == type_id:
                        return self._list(list_id)
                return _not_found()
            members = MEMBERSHIPS.match(request.path)
            if members:
                return self._memberships(members.group(1), request.args)
        return super()._route(request, body)

    def _list(self, list_id: str) -> Response:
        info = self.lists.get(list_id)
        if info is None:
            return _not_found()
        return _json(
            {
                "list": {
                    "listId": list_id,
                    "name": info["name"],
                    "objectTypeId": info["objectTypeId"],
                    "processingType": "MANUAL",
                    "processingStatus": "COMPLETE",
                    "listVersion": 1,
                    "size": len(info["members"]),
                }
            }
        )

    def _memberships(self, list_id: str, args: Any) -> Response:
        info = self.lists.get(list_id)
        if info is None:
            return _not_found()
        limit = int(args.get("limit") or 100)
        if limit > MAX_PAGE:
            return _json(
                {"status": "error", "message": "limit too large", "category": "VALIDATION_ERROR"},
                400,
            )
        members = sorted(info["members"], key=int)
        after = args.get("after")
        start = members.index(after) + 1 if after in members else 0
        page = members[start : start + limit]
        reply: dict[str, Any] = {
            "results": [
                {"recordId": rid, "membershipTimestamp": "2026-01-01T00:00:00Z"} for rid in page
            ],
            "total": len(members),
        }
        if start + limit < len(members):
            reply["paging"] = {"next": {"after": page[-1], "link": ""}}
        return _json(reply)
