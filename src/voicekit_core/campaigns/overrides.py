"""Per-campaign overrides: the agent's instructions and greeting, parts of ``[dialer]``.

A campaign may call with its own script and its own pacing without a deployment file of
its own. The overrides live in the campaign row, under ``"overrides"`` in
``campaigns.settings_json`` (beside the dump of ``[dialer]`` taken at creation)::

    {"instructions": "You are Sofía...",          # inline prompt template, or absent
     "greeting": "Hi {lead.first_name}!",          # "" = no greeting (the model opens)
     "dialer": {"pacing": {"max_concurrency": 2},  # partial [dialer], deep-merged
                "retry": {"delays": {"busy": [5]}},
                "calling_hours": {"daily": ["09:00-17:00"]}}}

What a campaign may override in ``[dialer]`` (:data:`OVERRIDABLE`): ``pacing.max_concurrency``,
``pacing.breaker.*``, ``retry.*`` and ``calling_hours.*``. The rest belongs to the
deployment: trunk limits (``pacing.trunk`` / ``pacing.trunks``) are shared by every
campaign on the trunk, ``max_attempts_per_lead_per_day`` counts across campaigns, and
``calling_hours.override_legal_window`` can be lifted only by the deployment file (a
campaign may still narrow its calling hours). The legal clamp and the DNC lists apply
whatever a campaign says.

Effective settings: the overrides' ``dialer`` table is deep-merged onto the deployment's
``[dialer]`` (tables merge key by key; lists and values replace) and validated as
:class:`~.settings.DialerSection`; instructions and greeting replace ``[agent]``'s. A
campaign without overrides gets the deployment's objects themselves, unchanged.

Who applies them: the campaign runner (pacing, retries, calling hours in its compliance
check; re-read within a tick when edited), simulated attempts and ``voicekit start``
workers (the call's agent: instructions and greeting). A worker finds the campaign from
the job metadata's campaign id; if it cannot, it logs why and uses the deployment's agent.

Every text is checked before it is stored: an unknown ``{lead.*}`` placeholder, a bad
``[dialer]`` value or a key a campaign cannot override raises :class:`OverrideError`
(an :class:`~voicekit_core.errors.InputError` and a :class:`~.repo.CampaignError`), whose
``problems`` name each key and value.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import Connection, select, update

from ..calls import utcnow
from ..errors import InputError, Problem
from ..store.tables import campaign_leads, campaigns
from ..strict import StrictModel
from . import repo
from .settings import DialerSection

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

if TYPE_CHECKING:
    from ..config import DeploymentConfig
    from ..deployment import Deployment
    from ..leads import Lead
    from ..store import Store

#: The key of ``campaigns.settings_json`` holding the overrides.
SETTINGS_KEY = "overrides"
#: ``[dialer]`` keys (dotted, relative to ``[dialer]``) a campaign may override; a key
#: under one of these tables is allowed too (``retry.delays.busy``).
OVERRIDABLE = ("pacing.max_concurrency", "pacing.breaker", "retry", "calling_hours")
#: Keys a campaign may not override, with the reason shown.
DEPLOYMENT_ONLY = {
    "max_attempts_per_lead_per_day": "a cap across every campaign: only the deployment's "
    "[dialer] sets it",
    "pacing.trunk": "trunk limits are shared by every campaign on the trunk: only the "
    "deployment's [dialer.pacing.trunk] sets them",
    "pacing.trunks": "trunk limits are shared by every campaign on the trunk: only the "
    "deployment's [dialer.pacing.trunks] sets them",
}
#: Longest instructions and greeting accepted, in characters.
MAX_INSTRUCTIONS_CHARS = 100_000
MAX_GREETING_CHARS = 2_000


class OverrideError(InputError, repo.CampaignError):
    """Overrides that cannot be stored or applied. ``problems`` lists each one:
    ``Problem(file="campaign 'q4'", key="dialer.pacing.max_concurrency", value="0",
    reason=...)``; ``str()`` shows them one per line."""


class CampaignOverrides(StrictModel):
    """What one campaign overrides (every field optional; see the module docstring).

    ``instructions``: an inline prompt template (``{lead.*}`` placeholders), never a
    path; ``None`` keeps the deployment's. ``greeting``: the opening line template,
    ``""`` for none (the model opens), ``None`` keeps the deployment's. ``dialer``: a
    partial ``[dialer]`` table as plain data (``{"pacing": {"max_concurrency": 2}}``).
    The shape is checked here; whether the values fit the deployment is checked by
    :func:`check_overrides`.
    """

    instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_CHARS)
    greeting: str | None = Field(default=None, max_length=MAX_GREETING_CHARS)
    dialer: dict[str, Any] = Field(default_factory=dict)

    @field_validator("instructions")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("empty instructions: give text, or unset them")
        return value

    @property
    def empty(self) -> bool:
        """True when nothing is overridden."""
        return self.instructions is None and self.greeting is None and not self.dialer

    def stored(self) -> dict[str, Any]:
        """The JSON kept in ``settings_json["overrides"]`` (unset fields left out)."""
        data: dict[str, Any] = {}
        if self.instructions is not None:
            data["instructions"] = self.instructions
        if self.greeting is not None:
            data["greeting"] = self.greeting
        if self.dialer:
            data["dialer"] = copy.deepcopy(self.dialer)
        return data

    def with_value(self, key: str, value: Any) -> CampaignOverrides:
        """A copy with one key set: ``instructions``, ``greeting`` or a dotted
        ``dialer.KEY`` (``dialer.pacing.max_concurrency``). Raises :class:`OverrideError`
        for any other key, or a text that is too long or blank. Whether the values fit
        the deployment is :func:`check_overrides`' job."""
        if key in ("instructions", "greeting"):
            return _validated({**self.stored(), key: value})
        path = _dialer_path(key)
        dialer = copy.deepcopy(self.dialer)
        node = dialer
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[path[-1]] = value
        return _validated({**self.stored(), "dialer": dialer})

    def without(self, key: str) -> CampaignOverrides:
        """A copy with ``key`` (as in :meth:`with_value`, or ``dialer`` for the whole
        table) no longer overridden; a key that was not set is fine."""
        if key in ("instructions", "greeting"):
            return self.model_copy(update={key: None})
        if key == "dialer":
            return self.model_copy(update={"dialer": {}})
        path = _dialer_path(key)
        dialer = copy.deepcopy(self.dialer)
        _drop(dialer, path)
        return self.model_copy(update={"dialer": dialer})


def _validated(data: dict[str, Any]) -> CampaignOverrides:
    try:
        return CampaignOverrides.model_validate(data)
    except ValidationError as exc:
        raise OverrideError(_validation_problems(exc, "overrides", "")) from None


def _dialer_path(key: str) -> list[str]:
    prefix, _, rest = key.partition(".")
    parts = rest.split(".") if rest else []
    if prefix != "dialer" or not parts or not all(parts):
        raise OverrideError(
            [
                Problem(
                    "overrides",
                    key[:100],
                    "",
                    "not an override: use instructions, greeting or dialer.KEY "
                    "(dialer.pacing.max_concurrency, dialer.retry.max_attempts, "
                    "dialer.calling_hours.daily...)",
                )
            ]
        )
    return parts


def _drop(table: dict[str, Any], path: list[str]) -> None:
    """Remove ``path`` from nested ``table``, and tables it leaves empty."""
    child = table.get(path[0])
    if len(path) == 1:
        table.pop(path[0], None)
    elif isinstance(child, dict):
        _drop(child, path[1:])
        if not child:
            table.pop(path[0], None)


# -- reading --------------------------------------------------------------------------------


def campaign_overrides(campaign: repo.Campaign) -> CampaignOverrides:
    """The overrides stored with ``campaign`` (empty when it has none). Raises
    :class:`OverrideError` when the stored value is not an overrides table (written by
    hand)."""
    raw = campaign.settings.get(SETTINGS_KEY) or {}
    try:
        return CampaignOverrides.model_validate(raw)
    except ValidationError as exc:
        raise OverrideError(_validation_problems(exc, _where(campaign), "")) from None


def _overrides_of(source: repo.Campaign | CampaignOverrides) -> CampaignOverrides:
    return source if isinstance(source, CampaignOverrides) else campaign_overrides(source)


def _where(source: repo.Campaign | CampaignOverrides | None) -> str:
    return f"campaign {source.name!r}" if isinstance(source, repo.Campaign) else "overrides"


# -- effective settings ---------------------------------------------------------------------


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: tables (dicts) merge key by key, any other value
    (lists included) replaces. Neither argument is modified."""
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def effective_dialer(
    config: DeploymentConfig, campaign: repo.Campaign | CampaignOverrides
) -> DialerSection:
    """The ``[dialer]`` settings a campaign runs with: the deployment's, with the
    campaign's ``dialer`` overrides deep-merged on top. Without dialer overrides this is
    ``config.dialer`` itself. Raises :class:`OverrideError` naming each bad key (a value
    out of range, an unknown key, a key only the deployment may set)."""
    return _effective_dialer(config, _overrides_of(campaign), _where(campaign))


def _effective_dialer(
    config: DeploymentConfig, overrides: CampaignOverrides, where: str
) -> DialerSection:
    if not overrides.dialer:
        return config.dialer
    problems = _dialer_problems(config, overrides.dialer, where)
    if problems:
        raise OverrideError(problems)
    return _merged_dialer(config, overrides.dialer)


def _merged_dialer(config: DeploymentConfig, changes: dict[str, Any]) -> DialerSection:
    base = config.dialer.model_dump(mode="json")
    return DialerSection.model_validate(deep_merge(base, changes))


def campaign_config(
    config: DeploymentConfig, campaign: repo.Campaign | CampaignOverrides
) -> DeploymentConfig:
    """The deployment config a campaign's calls run with: a copy whose ``[agent]``
    instructions and greeting and ``[dialer]`` are the campaign's effective ones (paths,
    plugin settings and secrets are those of ``config``). Without overrides this is
    ``config`` itself.

    Override instructions are inline text: a one-line text is given a trailing newline
    so that :meth:`~voicekit_core.config.DeploymentConfig.instructions_text` never reads
    it as a file name (``"Follow notes.md"``). Raises :class:`OverrideError` as
    :func:`effective_dialer` does.
    """
    overrides = _overrides_of(campaign)
    if overrides.empty:
        return config
    dialer = _effective_dialer(config, overrides, _where(campaign))
    updated = _with_agent(config, overrides)
    if dialer is config.dialer:
        return updated
    return updated.model_copy(update={"dialer": dialer})


def _with_agent(config: DeploymentConfig, overrides: CampaignOverrides) -> DeploymentConfig:
    """``config`` with the overrides' instructions and greeting (dialer untouched)."""
    changes: dict[str, Any] = {}
    if overrides.instructions is not None:
        text = overrides.instructions
        changes["instructions"] = text if "\n" in text else text + "\n"
    if overrides.greeting is not None:
        changes["greeting"] = overrides.greeting
    if not changes:
        return config
    agent = config.agent.model_copy(update=changes)
    return config.model_copy(update={"agent": agent})


def campaign_deployment(
    deployment: Deployment, campaign: repo.Campaign | CampaignOverrides
) -> Deployment:
    """``deployment`` as a campaign's calls see it: the same plugins, providers, store
    and journal (one engine per process), with :func:`campaign_config` as its config.
    Without overrides this is ``deployment`` itself. Raises :class:`OverrideError`."""
    config = campaign_config(deployment.config, campaign)
    if config is deployment.config:
        return deployment
    view = copy.copy(deployment)
    view.config = config
    view.__dict__["store"] = deployment.store  # cached properties: shared, not reopened
    view.__dict__["journal"] = deployment.journal
    return view


# -- checking -------------------------------------------------------------------------------


def check_overrides(
    config: DeploymentConfig,
    overrides: CampaignOverrides,
    *,
    where: str = "overrides",
) -> list[Problem]:
    """Every reason ``overrides`` cannot be applied to this deployment (empty if they
    can): template problems of the instructions and greeting (unknown ``{lead.*}``
    placeholders, malformed braces; see :func:`voicekit_core.prompts.template_problems`)
    and ``[dialer]`` problems. ``where`` is the ``file`` of each :class:`Problem`."""
    from ..prompts import template_problems

    problems: list[Problem] = []
    for key in ("instructions", "greeting"):
        text = getattr(overrides, key)
        if text is None:
            continue
        for reason in template_problems(text, config):
            problems.append(Problem(where, key, _short(text), reason))
    if overrides.dialer:
        problems += _dialer_problems(config, overrides.dialer, where)
    return problems


def _dialer_problems(config: DeploymentConfig, changes: Any, where: str) -> list[Problem]:
    if not isinstance(changes, dict):
        return [Problem(where, "dialer", _short(changes), "must be a table of [dialer] keys")]
    problems = _scope_problems(config, changes, where)
    try:
        _merged_dialer(config, changes)
    except ValidationError as exc:
        seen = {p.key for p in problems}
        problems += [p for p in _validation_problems(exc, where, "dialer") if p.key not in seen]
    return problems


def _scope_problems(config: DeploymentConfig, changes: dict[str, Any], where: str) -> list[Problem]:
    """Keys a campaign may not override (see :data:`OVERRIDABLE`)."""
    problems = []
    for path, value in _leaves(changes):
        dotted = ".".join(path)
        key = f"dialer.{dotted}"
        refused = next(
            (reason for prefix, reason in DEPLOYMENT_ONLY.items() if _under(dotted, prefix)),
            None,
        )
        if refused is not None:
            problems.append(Problem(where, key, _short(value), refused))
        elif dotted == "calling_hours.override_legal_window":
            if value is True and not config.dialer.calling_hours.override_legal_window:
                problems.append(
                    Problem(
                        where,
                        key,
                        "true",
                        "only the deployment's [dialer.calling_hours] may lift the legal "
                        "08:00-21:00 window (47 CFR 64.1200(c)(1)); a campaign cannot",
                    )
                )
        elif not any(_under(dotted, prefix) for prefix in OVERRIDABLE) and _known_key(path):
            problems.append(
                Problem(
                    where,
                    key,
                    _short(value),
                    "a campaign cannot override this key; it may override "
                    + ", ".join(
                        f"dialer.{p}" + ("" if p == "pacing.max_concurrency" else ".*")
                        for p in OVERRIDABLE
                    ),
                )
            )
    return problems


def _known_key(path: tuple[str, ...]) -> bool:
    """Whether ``path`` starts with a known ``[dialer]`` key (unknown keys are reported
    by the validation instead, as ``unknown key``)."""
    fields: dict[str, Any] = DialerSection.model_fields
    head = path[0]
    if head not in fields:
        return False
    if head == "pacing" and len(path) > 1:
        from .pacing import PacingSettings

        return path[1] in PacingSettings.model_fields
    return True


def _under(dotted: str, prefix: str) -> bool:
    return dotted == prefix or dotted.startswith(prefix + ".")


def _leaves(
    table: dict[str, Any], path: tuple[str, ...] = ()
) -> Iterable[tuple[tuple[str, ...], Any]]:
    """``(path, value)`` of every non-table value of nested ``table`` (an empty table
    counts as a value)."""
    for key, value in table.items():
        here = (*path, str(key))
        if isinstance(value, dict) and value and not _is_mapping_value(here):
            yield from _leaves(value, here)
        else:
            yield here, value


def dialer_items(dialer: dict[str, Any]) -> list[tuple[str, Any]]:
    """The overridden ``[dialer]`` values as ``[(dotted key, value)]``
    (``[("pacing.max_concurrency", 2), ("retry.delays", {"busy": [5]})]``); tables whose
    keys are data (``retry.delays``, ``calling_hours.weekly``) are one value."""
    return [(".".join(path), value) for path, value in _leaves(dialer)]


def _is_mapping_value(path: tuple[str, ...]) -> bool:
    """Tables whose keys are data, not settings (``retry.delays``,
    ``calling_hours.weekly``, ``pacing.trunks``): one leaf each."""
    return ".".join(path) in ("retry.delays", "calling_hours.weekly", "pacing.trunks")


def _validation_problems(exc: ValidationError, where: str, prefix: str) -> list[Problem]:
    from ..config import problems_from_validation

    return problems_from_validation(exc, file=where, prefix=prefix)


def _short(value: Any, limit: int = 80) -> str:
    """A value for messages: one line, at most ``limit`` characters, redacted."""
    from ..redaction import redact

    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = redact(text.replace("\n", " "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- writing --------------------------------------------------------------------------------


def set_overrides(
    db: Connection,
    campaign_id: str,
    overrides: CampaignOverrides,
    config: DeploymentConfig,
    *,
    by: str = "",
) -> repo.Campaign:
    """Store ``overrides`` as the campaign's (replacing the previous ones; empty ones
    remove them), inside the caller's transaction, after checking them all against
    ``config`` (:func:`check_overrides`). Logs an ``edited`` event naming what changed
    (``by`` says who, e.g. ``"dashboard"``). Returns the updated campaign.

    A running campaign's runner applies new ``[dialer]`` values within a tick; a new
    script applies from the next call. Raises :class:`OverrideError` (nothing written)
    for bad overrides and :class:`~.repo.CampaignError` for an unknown or canceled
    campaign.
    """
    campaign = repo.get_campaign(db, campaign_id)
    if campaign.state == "canceled":
        raise repo.CampaignError(f"campaign {campaign.name!r} is canceled; it cannot be edited")
    problems = check_overrides(config, overrides, where=_where(campaign))
    if problems:
        raise OverrideError(problems)
    try:
        before = campaign_overrides(campaign)
    except OverrideError:
        before = CampaignOverrides()
    settings = dict(campaign.settings)
    if overrides.empty:
        settings.pop(SETTINGS_KEY, None)
    else:
        settings[SETTINGS_KEY] = overrides.stored()
    db.execute(
        update(campaigns)
        .where(campaigns.c.id == campaign.id)
        .values(settings_json=json.dumps(settings, default=str), updated_at=utcnow())
    )
    detail = describe_changes(before, overrides)
    if by:
        detail = f"{detail} (by {by})"
    repo.log_event(db, campaign.id, "edited", detail[:2000])
    return repo.get_campaign(db, campaign.id)


def describe_changes(before: CampaignOverrides, after: CampaignOverrides) -> str:
    """What changed, for the activity log: ``"greeting set: 'Hi {lead.first_name}!';
    dialer.pacing.max_concurrency: 5 -> 2"`` (``"no change"`` when nothing did)."""
    parts = []
    for key in ("instructions", "greeting"):
        old, new = getattr(before, key), getattr(after, key)
        if old == new:
            continue
        if new is None:
            parts.append(f"{key} reset to the deployment's")
        elif key == "instructions":
            parts.append(f"instructions set ({len(new):,} characters)")
        else:
            parts.append(f"greeting set: {_short(new)!r}" if new else "greeting set: none")
    old_leaves = dict(dialer_items(before.dialer))
    new_leaves = dict(dialer_items(after.dialer))
    for dotted in sorted(old_leaves.keys() | new_leaves.keys()):
        old, new = old_leaves.get(dotted), new_leaves.get(dotted)
        if old == new:
            continue
        if dotted not in new_leaves:
            parts.append(f"dialer.{dotted} reset to the deployment's")
        else:
            shown_old = _short(old) if dotted in old_leaves else "(deployment)"
            parts.append(f"dialer.{dotted}: {shown_old} -> {_short(new)}")
    return "; ".join(parts) or "no change"


def parse_assignment(text: str) -> tuple[str, Any]:
    """``"dialer.pacing.max_concurrency=3"`` -> ``("dialer.pacing.max_concurrency", 3)``.

    The value is read as a TOML value (``3``, ``true``, ``["09:00-17:00"]``,
    ``{busy = [5]}``); anything that is not one is taken as text. Raises
    :class:`OverrideError` without ``=`` or a key.
    """
    key, equals, raw = text.partition("=")
    key = key.strip()
    if not equals or not key:
        raise OverrideError(
            [
                Problem(
                    "--set", text[:100], "", "write KEY=VALUE, e.g. dialer.pacing.max_concurrency=2"
                )
            ]
        )
    raw = raw.strip()
    try:
        value = tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, _plain(value)


def _plain(value: Any) -> Any:
    """TOML dates and times as ISO text (JSON-storable)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# -- preview --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverridePreview:
    """What a campaign's call would start with, for one lead.

    ``instructions``: the rendered instructions template (the campaign's, else the
    deployment's; sections plugins add at call time through ``call_instructions`` are not
    included). ``greeting``: the rendered opening line (``""``: the model opens).
    ``problems``: why the overrides would be refused (:func:`check_overrides`); when there
    are any, the texts are rendered anyway, as a call would render them (a bad
    placeholder renders its fallback or nothing).
    """

    instructions: str
    greeting: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def preview(
    config: DeploymentConfig,
    campaign_or_overrides: repo.Campaign | CampaignOverrides,
    lead: Lead | None,
) -> OverridePreview:
    """Render the instructions and greeting a call of the campaign (or of these unsaved
    overrides) would use for ``lead`` (None: every ``{lead.*}`` renders its fallback).
    Never raises for bad overrides: they are reported in ``problems``; a deployment
    instructions file that cannot be read is one too."""
    from ..errors import ConfigError
    from ..prompts import render

    where = _where(campaign_or_overrides)
    try:
        overrides = _overrides_of(campaign_or_overrides)
    except OverrideError as exc:
        overrides, problems = CampaignOverrides(), list(exc.problems)
    else:
        problems = check_overrides(config, overrides, where=where)
    shown = _with_agent(config, overrides)
    try:
        template = shown.instructions_text()
    except ConfigError as exc:
        template = ""
        problems += exc.problems
    instructions = render(template, lead=lead, config=shown).strip()
    greeting = render(shown.localized(shown.agent.greeting), lead=lead, config=shown).strip()
    return OverridePreview(instructions, greeting, problems)


def campaign_lead(store: Store, campaign_id: str, lead_id: int | None = None) -> Lead | None:
    """A lead of the campaign for :func:`preview`: lead ``lead_id`` (a ``campaign_leads``
    id), or the first one imported; None when the campaign has no such lead."""
    from .runner import _lead_of

    query = select(campaign_leads.c.lead_json, campaign_leads.c.phone).where(
        campaign_leads.c.campaign_id == campaign_id
    )
    if lead_id is not None:
        query = query.where(campaign_leads.c.id == lead_id)
    with store.read() as db:
        row = db.execute(query.order_by(campaign_leads.c.id).limit(1)).first()
    return None if row is None else _lead_of(row.lead_json, row.phone)


__all__ = [
    "DEPLOYMENT_ONLY",
    "OVERRIDABLE",
    "SETTINGS_KEY",
    "CampaignOverrides",
    "OverrideError",
    "OverridePreview",
    "campaign_config",
    "campaign_deployment",
    "campaign_lead",
    "campaign_overrides",
    "check_overrides",
    "deep_merge",
    "describe_changes",
    "dialer_items",
    "effective_dialer",
    "parse_assignment",
    "preview",
    "set_overrides",
]
