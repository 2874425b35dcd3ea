"""Prompt templates: ``{lead.first_name}``, ``{campaign.name}``, ``{agent.name}``.

Templates use ``str.format`` fields. Write ``{{`` / ``}}`` for literal braces. Unknown
placeholders are found by :func:`template_problems` at ``voicekit check`` time; at call
time an empty lead field renders as an empty string.
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING, Any

from .leads import Lead

if TYPE_CHECKING:
    from .config import DeploymentConfig

_LEAD_FIELDS = set(Lead.model_fields) | {"name"}
_AGENT_FIELDS = {"name", "language"}


def template_fields(text: str) -> list[str]:
    """The field names used in ``text`` (``["lead.first_name", ...]``); raises ValueError
    for malformed templates (an unmatched ``{``)."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


def template_problems(text: str, config: DeploymentConfig) -> list[str]:
    """Reasons ``text`` cannot be rendered for this deployment (empty list if it can)."""
    try:
        fields = template_fields(text)
    except ValueError as exc:
        return [f"malformed template: {exc} (write {{{{ and }}}} for literal braces)"]
    campaign_fields = {"name", *(config.campaign.model_extra or {})}
    problems = []
    for field in fields:
        root, _, rest = field.partition(".")
        attr = rest.split(".")[0].split("[")[0]
        allowed = {"lead": _LEAD_FIELDS, "campaign": campaign_fields, "agent": _AGENT_FIELDS}.get(
            root
        )
        if allowed is None:
            problems.append(f"unknown placeholder {{{field}}}: use lead.*, campaign.* or agent.*")
        elif attr not in allowed:
            problems.append(
                f"unknown placeholder {{{field}}}: {root} has {', '.join(sorted(allowed))}"
            )
    return problems


class _Namespace:
    """Attribute access over a dict; missing keys render as ''."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        value = self._data.get(name, "")
        return _Namespace(value) if isinstance(value, dict) else ("" if value is None else value)

    def __getitem__(self, key: str) -> Any:
        return self.__getattr__(key)

    def __format__(self, spec: str) -> str:
        return ""


def render(text: str, *, lead: Lead | None, config: DeploymentConfig) -> str:
    """Fill a template with the lead (may be None), the campaign and the agent."""
    lead_data: dict[str, Any] = {}
    if lead is not None:
        lead_data = lead.model_dump()
        lead_data["name"] = lead.name
    campaign = {"name": config.campaign.name, **(config.campaign.model_extra or {})}
    agent = {"name": config.agent.name, "language": config.agent.language}
    return text.format(
        lead=_Namespace(lead_data), campaign=_Namespace(campaign), agent=_Namespace(agent)
    )
