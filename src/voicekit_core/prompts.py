"""Prompt templates: ``{lead.first_name|there}``, ``{lead.extra[plan]}``, ``{campaign.KEY}``.

A placeholder is ``{ROOT.FIELD}`` with an optional fallback after ``|`` and an optional
format spec after ``:`` (``{lead.first_name|there:>10}``). It resolves only to declared
data, by key, never through Python attributes:

* ``lead.FIELD``: a :class:`~voicekit_core.leads.Lead` field or ``lead.name``;
  ``lead.extra[COLUMN]`` (or ``lead.extra.COLUMN``) an extra CSV column / CRM property;
* ``campaign.KEY``: a ``[campaign]`` key, ``campaign.TABLE.KEY`` inside one of its tables;
* ``agent.name``, ``agent.language``.

An empty or missing value renders the fallback (``""`` without one). Conversions
(``!r``) and nested placeholders in a spec are not allowed; a spec must suit the value
(text for lead and agent fields) with width and precision at most
:data:`MAX_SPEC_NUMBER`. Write ``{{`` / ``}}`` for literal braces; a fallback cannot
contain ``{ } [ ] : !`` or ``|``.

:func:`template_problems` finds every violation at ``voicekit check`` time;
:func:`render` never raises, and a template that passed the check renders exactly as
written. Rendered text passes :func:`voicekit_core.redaction.redact`: a secret value never
reaches a prompt.
"""

from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .leads import Lead
from .redaction import redact

if TYPE_CHECKING:
    from .config import DeploymentConfig

logger = logging.getLogger("voicekit.prompts")

LEAD_FIELDS = frozenset(Lead.model_fields) | {"name"}
AGENT_FIELDS = frozenset({"name", "language"})
MAX_SPEC_NUMBER = 200  # largest width / precision in a format spec

_ROOT = re.compile(r"[^.\[]*")  # "lead"; anything else is an unknown root
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[([^\[\]]+)\]")
_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d+)?[_,]?(?:\.(?P<precision>\d+))?[bcdeEfFgGnosxX%]?",
    re.S,
)
_MISSING = object()


class TemplateError(ValueError):
    """A placeholder that is not ``ROOT.KEY...`` (``{lead.x()}``, ``{lead.extra[a}``)."""


@dataclass(frozen=True)
class Placeholder:
    """One ``{...}`` of a template: ``root`` and ``path`` (keys), fallback, conversion, spec."""

    written: str  # the field as written, for messages: "lead.first_name|there"
    root: str
    path: tuple[str, ...]
    default: str | None
    conversion: str | None
    spec: str

    @property
    def dotted(self) -> str:
        return ".".join((self.root, *self.path))


def _parse_field(field: str, conversion: str | None, spec: str) -> Placeholder:
    path_text, bar, default = field.partition("|")
    root_match = _ROOT.match(path_text)
    assert root_match is not None  # the pattern matches every text
    path: list[str] = []
    pos = root_match.end()
    while pos < len(path_text):
        segment = _SEGMENT.match(path_text, pos)
        if segment is None:
            raise TemplateError(f"{{{field}}}")
        path.append(segment.group(1) or segment.group(2))
        pos = segment.end()
    if bar and re.search(r"[\[\]]", default):
        raise TemplateError(f"{{{field}}}")
    if any(key.startswith("__") for key in path):
        raise TemplateError(f"{{{field}}}")  # never a column or campaign key; a probe
    return Placeholder(
        written=field,
        root=root_match.group(0),
        path=tuple(path),
        default=default if bar else None,
        conversion=conversion,
        spec=spec,
    )


def template_fields(text: str) -> list[str]:
    """The placeholders used in ``text`` as written (``["lead.first_name|there", ...]``);
    raises ValueError for malformed templates (an unmatched ``{``)."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]


# -- the check ---------------------------------------------------------------------


def template_problems(text: str, config: DeploymentConfig) -> list[str]:
    """Reasons ``text`` cannot be rendered for this deployment (empty list if it can)."""
    problems: list[str] = []
    try:
        parsed = [(f, c, s) for _, f, s, c in string.Formatter().parse(text) if f is not None]
    except ValueError as exc:
        return [f"malformed template: {exc} (write {{{{ and }}}} for literal braces)"]
    campaign = campaign_data(config)
    for field, conversion, spec in parsed:
        try:
            placeholder = _parse_field(field, conversion, spec or "")
        except TemplateError:
            problems.append(
                f"malformed placeholder {{{field}}}: write ROOT.KEY, lead.extra[COLUMN] or "
                "campaign.TABLE.KEY (no key starting with __), with an optional |fallback "
                "(no [ ] in it)"
            )
            continue
        problems += _placeholder_problems(placeholder, campaign)
    return problems


def _placeholder_problems(p: Placeholder, campaign: dict[str, Any]) -> list[str]:
    shown = f"{{{p.written}}}"
    if p.root == "lead":
        problem, samples = _lead_problem(p, shown), [""]
    elif p.root == "agent":
        problem, samples = _flat_problem(p, shown, "agent", AGENT_FIELDS), [""]
    elif p.root == "campaign":
        problem, value = _campaign_problem(p, shown, campaign)
        samples = [value]
    else:
        problem = f"unknown placeholder {shown}: use lead.*, campaign.* or agent.*"
        samples = []
    if problem:
        return [problem]
    problems = []
    if p.conversion is not None:
        problems.append(
            f"conversion !{p.conversion} in {shown} is not allowed: write {{{p.written}}}"
        )
    if p.spec:
        if p.default is not None:
            samples.append(p.default)
        spec_problem = _spec_problem(p, shown, samples)
        if spec_problem:
            problems.append(spec_problem)
    return problems


def _lead_problem(p: Placeholder, shown: str) -> str | None:
    if not p.path or p.path[0] not in LEAD_FIELDS:
        return f"unknown placeholder {shown}: lead has {', '.join(sorted(LEAD_FIELDS))}"
    if p.path[0] == "extra":
        if len(p.path) != 2:
            return f"{shown}: name one extra column, as lead.extra[COLUMN]"
        return None
    if len(p.path) > 1:
        return f"{shown}: lead.{p.path[0]} is text; it has no keys"
    return None


def _flat_problem(p: Placeholder, shown: str, root: str, fields: frozenset[str]) -> str | None:
    if not p.path or p.path[0] not in fields:
        return f"unknown placeholder {shown}: {root} has {', '.join(sorted(fields))}"
    if len(p.path) > 1:
        return f"{shown}: {root}.{p.path[0]} is text; it has no keys"
    return None


def _campaign_problem(
    p: Placeholder, shown: str, campaign: dict[str, Any]
) -> tuple[str | None, Any]:
    node: Any = campaign
    where = "campaign"
    if not p.path:
        return f"unknown placeholder {shown}: campaign has {', '.join(sorted(campaign))}", None
    for key in p.path:
        if not isinstance(node, dict):
            return f"{shown}: {where} is a value; it has no keys", None
        if key not in node:
            return f"unknown placeholder {shown}: {where} has {', '.join(sorted(node))}", None
        node, where = node[key], f"{where}.{key}"
    if isinstance(node, dict):
        keys = ", ".join(sorted(node))
        return f"{shown}: {where} is a table; name one of its keys ({keys})", None
    if isinstance(node, list):
        return f"{shown}: {where} is a list; prompts take single values", None
    return None, node


def _spec_shape_problem(spec: str) -> str | None:
    """Why ``spec`` is not a plain format spec within limits (None if it is)."""
    if "{" in spec or "}" in spec:
        return "cannot contain placeholders"
    match = _SPEC.fullmatch(spec)
    if match is None:
        return "is not valid"
    for number in (match.group("width"), match.group("precision")):
        if number and int(number) > MAX_SPEC_NUMBER:
            return f"has a width or precision over {MAX_SPEC_NUMBER}"
    return None


def _spec_problem(p: Placeholder, shown: str, samples: list[Any]) -> str | None:
    shape = _spec_shape_problem(p.spec)
    if shape:
        return f"format spec :{p.spec} in {shown} {shape}"
    for sample in samples:
        try:
            format(_renderable(sample), p.spec)
        except (ValueError, TypeError) as exc:
            kind = "text" if isinstance(_renderable(sample), str) else type(sample).__name__
            return f"format spec :{p.spec} does not suit {shown} ({kind}): {exc}"
    return None


# -- rendering -------------------------------------------------------------------------


def campaign_data(config: DeploymentConfig) -> dict[str, Any]:
    """``[campaign]`` as plain data: ``{"name": ..., KEY: value or table}``."""
    return {"name": config.campaign.name, **(config.campaign.model_extra or {})}


def template_context(lead: Lead | None, config: DeploymentConfig) -> dict[str, dict[str, Any]]:
    """The only data a template can reach: ``{"lead": {...}, "campaign": {...}, "agent": {...}}``
    as plain dicts of text (lead fields missing without a lead)."""
    lead_data: dict[str, Any] = {"extra": {}}
    if lead is not None:
        lead_data = lead.model_dump(mode="json")
        lead_data["name"] = lead.name
    agent = {"name": config.agent.name, "language": config.agent.language}
    return {"lead": lead_data, "campaign": campaign_data(config), "agent": agent}


def _resolve(context: dict[str, dict[str, Any]], p: Placeholder) -> Any:
    node: Any = context.get(p.root, _MISSING)
    for key in p.path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _renderable(value: Any) -> Any:
    """Scalars as themselves; missing values, tables and lists as ``""``."""
    if value is _MISSING or value is None or isinstance(value, (dict, list)):
        return ""
    return value if isinstance(value, (str, int, float)) else str(value)


def _render_one(context: dict[str, dict[str, Any]], p: Placeholder) -> str:
    value = _renderable(_resolve(context, p))
    if value == "" and p.default is not None:
        value = p.default
    if not p.spec or _spec_shape_problem(p.spec):
        return str(value)  # a bad spec only gets here in a template that skipped the check
    try:
        return format(value, p.spec)
    except (ValueError, TypeError):
        return str(value)


def render(text: str, *, lead: Lead | None, config: DeploymentConfig) -> str:
    """Fill a template with the lead (may be None), the campaign and the agent.

    Never raises: a placeholder that the check would reject renders its fallback (or
    ``""``), and a malformed template is returned unrendered (with a warning logged).
    The result is redacted of every registered secret value.
    """
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        logger.warning("prompt template not rendered: malformed (%s)", exc)
        return redact(text)
    context = template_context(lead, config)
    out: list[str] = []
    for literal, field, spec, conversion in fields:
        out.append(literal)
        if field is None:
            continue
        try:
            placeholder = _parse_field(field, conversion, spec or "")
        except TemplateError:
            continue  # the check reports it; at call time it renders nothing
        out.append(_render_one(context, placeholder))
    return redact("".join(out))
