"""Prompt templates: ``{lead.first_name}``, ``{campaign.name}``, ``{agent.name}``.

Templates use ``str.format`` fields. Write ``{{`` / ``}}`` for literal braces. Unknown
placeholders (and conversions other than ``!s``/``!r``/``!a``) are found by
:func:`template_problems` at ``voicekit check`` time; at call time an empty or missing
value renders as an empty string, at any depth (``{lead.extra[plan]}`` with no lead, or
no ``plan`` column, renders ``""``).
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
        parsed = [(f, c) for _, f, _, c in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"malformed template: {exc} (write {{{{ and }}}} for literal braces)"]
    campaign_fields = {"name", *(config.campaign.model_extra or {})}
    problems = []
    for field, conversion in parsed:
        if conversion not in (None, "s", "r", "a"):
            problems.append(f"unknown conversion !{conversion} in {{{field}}}: use !s, !r or !a")
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


class _Empty(str):
    """A missing value: renders as '' and stays empty under further ``.attr`` / ``[key]``."""

    def __getattr__(self, name: str) -> _Empty:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> _Empty:  # type: ignore[override]
        return self


_EMPTY = _Empty("")


class _Namespace:
    """Attribute and item access over a dict; missing or None values render as ''."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._data.get(name)
        if value is None:
            return _EMPTY
        return _Namespace(value) if isinstance(value, dict) else value

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
