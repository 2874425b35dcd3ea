"""The fake Salesforce (:mod:`salesforce_fake`) plus Campaigns and CampaignMembers.

``add_campaign(name)`` returns a ``701...`` Id; ``add_member(campaign_id, lead_id=...,
contact_id=..., status=...)`` links a Lead or Contact (added with ``add``). Answers the
SOQL a lead source sends: ``FROM Campaign WHERE Id|Name = '...'`` and ``FROM
CampaignMember WHERE CampaignId = '...'`` with the member's ``Lead`` / ``Contact`` as
nested records (``attributes`` included, ``Account`` and ``Owner`` nested too), in pages of
``page_size`` records linked by ``nextRecordsUrl`` (``GET /services/data/v59.0/query/
<locator>-<offset>``), as the REST API pages query results. Give nested fields as dicts
when adding records: ``Owner={"Name": ...}``, ``Account={"Name": ...}``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from salesforce_fake import _STRING, BASE, FakeSalesforce, _json, _not_found
from werkzeug import Request, Response

NEXT = re.compile(r"/query/(01g[A-Za-z0-9]+)-(\d+)/?")


@dataclass
class FakeSalesforceCampaigns(FakeSalesforce):
    page_size: int = 2000
    campaigns: dict[str, dict[str, Any]] = field(default_factory=dict)
    members: list[dict[str, Any]] = field(default_factory=list)
    _cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _campaign_ids: Any = field(default_factory=lambda: itertools.count(1))

    def add_campaign(self, name: str) -> str:
        cid = f"701{next(self._campaign_ids):015d}"
        self.campaigns[cid] = {"attributes": {"type": "Campaign"}, "Id": cid, "Name": name}
        return cid

    def add_member(
        self,
        campaign_id: str,
        *,
        lead_id: str | None = None,
        contact_id: str | None = None,
        status: str = "Sent",
    ) -> str:
        mid = f"00v{len(self.members) + 1:015d}"
        self.members.append(
            {
                "Id": mid,
                "CampaignId": campaign_id,
                "LeadId": lead_id,
                "ContactId": contact_id,
                "Status": status,
            }
        )
        return mid

    def _route(self, request: Request, path: str, body: Any) -> Response:
        if request.method == "GET":
            more = NEXT.fullmatch(path)
            if more:
                locator, offset = more.group(1), int(more.group(2))
                if locator not in self._cursors:
                    return _not_found()
                return _json(self._page(locator, offset))
            if path == "/query/":
                soql = request.args["q"]
                if re.search(r"\bFROM Campaign\b", soql):
                    return _json(self._campaigns(soql))
                if re.search(r"\bFROM CampaignMember\b", soql):
                    return _json(self._members(soql))
        return super()._route(request, path, body)

    def _campaigns(self, soql: str) -> dict[str, Any]:
        field_name, value = re.search(r"WHERE (Id|Name) = '((?:[^'\\]|\\.)*)'", soql).groups()
        rows = [c for c in self.campaigns.values() if c[field_name] == value.replace("\\'", "'")]
        return {"totalSize": len(rows), "done": True, "records": rows[:2]}

    def _members(self, soql: str) -> dict[str, Any]:
        campaign_id = _STRING.search(soql.split("CampaignId =", 1)[1]).group(1)
        rows = sorted(
            (self._member(m) for m in self.members if m["CampaignId"] == campaign_id),
            key=lambda r: r["Id"],
        )
        locator = f"01gxx{len(self._cursors) + 1:010d}"
        self._cursors[locator] = rows
        return self._page(locator, 0)

    def _page(self, locator: str, offset: int) -> dict[str, Any]:
        rows = self._cursors[locator]
        page = rows[offset : offset + self.page_size]
        reply: dict[str, Any] = {
            "totalSize": len(rows),
            "done": offset + self.page_size >= len(rows),
            "records": page,
        }
        if not reply["done"]:
            reply["nextRecordsUrl"] = f"{BASE}/query/{locator}-{offset + self.page_size}"
        return reply

    def _member(self, member: dict[str, Any]) -> dict[str, Any]:
        row = {"attributes": {"type": "CampaignMember"}, **member, "Lead": None, "Contact": None}
        for kind, key in (("Lead", "LeadId"), ("Contact", "ContactId")):
            record = self.records.get(kind, {}).get(member[key] or "")
            if record is not None:
                row[kind] = dict(record)  # nested Owner / Account dicts as added
        return row
