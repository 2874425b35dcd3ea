"""The job metadata a dispatched agent receives (``CreateAgentDispatchRequest.metadata``).

JSON object::

    {"phone": "+14155550123", "call_id": "20261122T194012-3fa9c1",
     "direction": "outbound", "lead": {"name": "Ada Lovelace", ...},
     "campaign_id": "c3f9a1b2", "attempt_id": "417"}

``campaign_id`` / ``attempt_id`` are present only for calls a campaign dialed (the
attempt's ``call_id`` is its room name, ``vk-<campaign>-<lead>-<n>``).

The worker reads it with :func:`parse_job_metadata` to rebuild the call.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class JobMetadata(BaseModel):
    """Who the agent is talking to. ``phone`` is E.164; ``lead`` is lead context or None."""

    model_config = ConfigDict(extra="ignore")
    phone: str = ""
    call_id: str = ""
    direction: Literal["outbound", "inbound"] = "outbound"
    lead: dict[str, Any] | None = None
    #: set when a campaign dialed the call: the worker links its report to the attempt
    campaign_id: str | None = None
    attempt_id: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def to_json(self) -> str:
        """Compact JSON for the dispatch request."""
        return self.model_dump_json(exclude_none=True)


def parse_job_metadata(raw: str | None) -> JobMetadata:
    """Parse job metadata; empty or malformed text gives an empty ``JobMetadata``
    (inbound calls dispatched by a rule carry the rule's metadata, which may be anything)."""
    if not raw:
        return JobMetadata(direction="inbound")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        return JobMetadata(direction="inbound")
    if not isinstance(data, dict):
        return JobMetadata(direction="inbound")
    try:
        return JobMetadata.model_validate(data)
    except ValidationError:
        return JobMetadata(direction="inbound")
