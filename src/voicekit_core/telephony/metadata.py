"""The job metadata a dispatched agent receives (``CreateAgentDispatchRequest.metadata``).

JSON object::

    {"phone": "+14155550123", "call_id": "20261122T194012-3fa9c1",
     "direction": "outbound", "lead": {"name": "Ada Lovelace", ...},
     "campaign_id": "c3f9a1b2", "attempt_id": "417", "deployment": "tdx_sdr"}

``campaign_id`` / ``attempt_id`` are present only for calls a campaign dialed (the
attempt's ``call_id`` is its room name, ``vk-<campaign>-<lead>-<n>``). ``deployment``
names the deployment that should answer, for a worker serving several
(:mod:`voicekit_core.routing`); ``voicekit dial``, campaigns, ``voicekit sip
setup-inbound``'s dispatch rule, ``voicekit token`` and the web widget set it.

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
    """The number to call or that called, E.164."""
    call_id: str = ""
    """The call's id (also in the room name, ``call-<call_id>``)."""
    direction: Literal["outbound", "inbound"] = "outbound"
    """``outbound`` (``voicekit dial``, a campaign) or ``inbound`` (a dispatch rule)."""
    lead: dict[str, Any] | None = None
    """The lead as ``report.lead`` shows it, so the worker need not look it up again."""
    campaign_id: str | None = None
    """Set when a campaign dialed the call: the worker links its report to the attempt."""
    attempt_id: str | None = None
    """The campaign attempt's id (with ``campaign_id``)."""
    deployment: str | None = None
    """The name of the deployment that should take the call
    (:func:`~voicekit_core.telephony.settings.deployment_name`); None: route by the
    dialed number."""
    extra: dict[str, Any] = Field(default_factory=dict)
    """Anything else the dialer wants the worker to have."""

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
