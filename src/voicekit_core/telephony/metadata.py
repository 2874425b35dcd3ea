"""The job metadata a dispatched agent receives (``CreateAgentDispatchRequest.metadata``).

JSON object::

    {"phone": "+14155550123", "call_id": "20261122T194012-3fa9c1",
     "direction": "outbound", "lead": {"name": "Ada Lovelace", ...}}

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
