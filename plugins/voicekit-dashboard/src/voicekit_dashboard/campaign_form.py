"""The campaign form (create and edit): its fields, how they are read, and the overrides
they make.

The form shows a campaign's *effective* script and ``[dialer]`` settings; what it saves
are overrides (:mod:`voicekit_core.campaigns.overrides`): only the values that differ from
the deployment's. A value set back to the deployment's removes its override, so the
campaign follows later edits of the deployment file. Override keys the form does not show
(``pacing.breaker``, ``retry.jitter``... set with ``voicekit campaign edit``) are kept.

Fields (form field names; the JSON API takes the same names in :class:`CampaignInput`):

==================  ============================================================
``name``            the campaign's name (create only; unique)
``lead_list``       id of a stored lead list (create only)
``instructions``    the agent's instructions template (``{lead.*}`` placeholders)
``greeting``        the opening line template; empty: the model opens the call
``max_concurrency`` calls at once (``[dialer.pacing] max_concurrency``)
``max_attempts``    attempts per lead, the first included (``[dialer.retry]``)
``delays.<disp>``   minutes before each retry after ``<disp>``, comma-separated;
                    empty: no retry (``[dialer.retry.delays]``)
``hours.<day>``     calling windows on ``mon`` .. ``sun``, ``"09:00-12:00,
                    13:00-20:00"``; empty: no calls that day (in the lead's zone)
``holidays``        local dates with no calls, ``2026-12-25, 2027-01-01``
==================  ============================================================

Errors are collected per field (``{"delays.busy": "'ten' is not a number of minutes"}``)
so the page shows each beside its input; nothing is saved while there is one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from voicekit_core.calls import Disposition
from voicekit_core.campaigns.overrides import (
    MAX_GREETING_CHARS,
    MAX_INSTRUCTIONS_CHARS,
    CampaignOverrides,
    check_overrides,
)
from voicekit_core.campaigns.windows import WEEKDAYS, TimeRange
from voicekit_core.errors import ConfigError

if TYPE_CHECKING:
    from voicekit_core.campaigns.repo import Campaign
    from voicekit_core.campaigns.settings import DialerSection
    from voicekit_core.config import DeploymentConfig

DAY_LABELS = dict(zip(WEEKDAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
_SPLIT = re.compile(r"[,;\s]+")
_NOT_RETRIED = frozenset({Disposition.VETOED})


class CampaignInput(BaseModel):
    """The campaign form as JSON (``POST /api/campaigns``, ``PUT /api/campaigns/{id}``).

    ``instructions`` / ``greeting``: None keeps the deployment's. Dialer fields: None
    keeps the deployment's; ``delays`` (minutes per disposition) and ``hours`` (windows
    per weekday, ``[]`` = no calls) replace only the entries given. ``name`` and
    ``lead_list`` are read when creating (``lead_list`` None: the selected list).
    """

    name: str = Field(default="", max_length=200)
    lead_list: str | None = None
    instructions: str | None = Field(default=None, max_length=MAX_INSTRUCTIONS_CHARS)
    greeting: str | None = Field(default=None, max_length=MAX_GREETING_CHARS)
    max_concurrency: int | None = None
    max_attempts: int | None = None
    delays: dict[str, list[float]] = Field(default_factory=dict)
    hours: dict[str, list[str]] = Field(default_factory=dict)
    holidays: list[date] | None = None


@dataclass
class FormValues:
    """What the form's inputs show (text, as typed or prefilled). ``instructions``,
    ``greeting`` and ``holidays`` are None when a post left them out (the deployment's
    then apply)."""

    name: str = ""
    lead_list: str = ""
    instructions: str | None = ""
    greeting: str | None = ""
    preview_lead: str = ""
    max_concurrency: str = ""
    max_attempts: str = ""
    delays: dict[str, str] = field(default_factory=dict)
    hours: dict[str, str] = field(default_factory=dict)
    holidays: str | None = ""


# -- prefill --------------------------------------------------------------------------------


def deployment_texts(config: DeploymentConfig) -> tuple[str, str]:
    """The deployment's instructions template and greeting (in the agent's language).
    A file that cannot be read gives ``""`` (``voicekit check`` reports it)."""
    try:
        instructions = config.instructions_text()
    except ConfigError:
        instructions = ""
    return instructions, config.localized(config.agent.greeting)


def retry_dispositions(dialer: DialerSection) -> list[str]:
    """Dispositions the retry table shows: those with a delay list, then every other one
    that may be retried (not in ``never_retry``)."""
    listed = [d.value for d in dialer.retry.delays]
    others = [
        d.value
        for d in Disposition
        if d not in dialer.retry.never_retry and d not in _NOT_RETRIED and d.value not in listed
    ]
    return listed + others


def form_values(
    config: DeploymentConfig,
    dialer: DialerSection,
    *,
    instructions: str,
    greeting: str,
    name: str = "",
    lead_list: str = "",
) -> FormValues:
    """The form prefilled with these texts and the effective ``dialer`` settings."""
    delays = dialer.retry.delays
    hours = dialer.calling_hours
    return FormValues(
        name=name,
        lead_list=lead_list,
        instructions=instructions,
        greeting=greeting,
        max_concurrency=str(dialer.pacing.max_concurrency),
        max_attempts=str(dialer.retry.max_attempts),
        delays={
            d: _minutes_text(delays.get(Disposition(d), [])) for d in retry_dispositions(dialer)
        },
        hours={
            day: ", ".join(str(r) for r in hours.weekly.get(day, hours.daily)) for day in WEEKDAYS
        },
        holidays=", ".join(sorted(d.isoformat() for d in hours.holidays)),
    )


def _minutes_text(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


# -- reading --------------------------------------------------------------------------------


def read_form(data: Mapping[str, Any]) -> FormValues:
    """The submitted form's text values (missing fields are empty, or None for
    ``instructions``, ``greeting`` and ``holidays``)."""

    def text(key: str) -> str:
        value = data.get(key)
        return value if isinstance(value, str) else ""

    def optional(key: str) -> str | None:
        value = data.get(key)
        return _newlines(value) if isinstance(value, str) else None

    return FormValues(
        name=text("name").strip(),
        lead_list=text("lead_list").strip(),
        instructions=optional("instructions"),
        greeting=optional("greeting"),
        preview_lead=text("preview_lead").strip(),
        max_concurrency=text("max_concurrency").strip(),
        max_attempts=text("max_attempts").strip(),
        delays={key[7:]: text(key) for key in data if key.startswith("delays.")},
        hours={key[6:]: text(key) for key in data if key.startswith("hours.")},
        holidays=optional("holidays"),
    )


def _newlines(text: str) -> str:
    """Browsers send textarea line ends as CRLF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_form(values: FormValues) -> tuple[CampaignInput, dict[str, str]]:
    """``values`` as a :class:`CampaignInput`, with the errors of fields that are not
    numbers, windows or dates (``{field: message}``)."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "name": values.name,
        "lead_list": values.lead_list or None,
        "instructions": values.instructions,
        "greeting": values.greeting,
    }
    for key in ("max_concurrency", "max_attempts"):
        raw = getattr(values, key)
        if raw:
            try:
                data[key] = int(raw)
            except ValueError:
                errors[key] = f"{_shown(raw)} is not a whole number"
    delays: dict[str, list[float]] = {}
    for disposition, raw in values.delays.items():
        try:
            delays[disposition] = [float(part) for part in _parts(raw)]
        except ValueError:
            errors[f"delays.{disposition}"] = (
                f"{_shown(raw)} is not a list of minutes (write 10, 30)"
            )
    data["delays"] = delays
    data["hours"] = {day: _parts(raw) for day, raw in values.hours.items()}
    if values.holidays is not None:
        holidays = []
        for part in _parts(values.holidays):
            try:
                holidays.append(date.fromisoformat(part))
            except ValueError:
                errors["holidays"] = f"{_shown(part)} is not a date (write 2026-12-25)"
        data["holidays"] = holidays
    try:
        parsed = CampaignInput.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            key = str(error["loc"][0]) if error.get("loc") else "form"
            errors.setdefault(key, error.get("msg", "invalid"))
        parsed = CampaignInput.model_validate({k: v for k, v in data.items() if k not in errors})
    return parsed, errors


def _parts(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text.strip()) if part]


def _shown(text: str, limit: int = 40) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# -- overrides ------------------------------------------------------------------------------


def _same_text(a: str, b: str) -> bool:
    return _newlines(a).rstrip() == _newlines(b).rstrip()


def build_overrides(
    config: DeploymentConfig,
    data: CampaignInput,
    base: CampaignOverrides | None = None,
) -> tuple[CampaignOverrides, dict[str, str]]:
    """The overrides ``data`` makes on top of ``base`` (the campaign's current ones), and
    the errors per form field: values that differ from the deployment's are overridden,
    values equal to it lose their override, and every problem
    :func:`~voicekit_core.campaigns.overrides.check_overrides` finds (an unknown
    ``{lead.*}`` placeholder, a value out of range) is reported on its field."""
    overrides = base or CampaignOverrides()
    errors: dict[str, str] = {}
    dialer = config.dialer
    dep_instructions, dep_greeting = deployment_texts(config)

    if data.instructions is None or _same_text(data.instructions, dep_instructions):
        overrides = overrides.without("instructions")
    elif not data.instructions.strip():
        errors["instructions"] = "write the agent's instructions (they cannot be empty)"
    else:
        overrides = overrides.with_value(
            "instructions", _newlines(data.instructions).rstrip() + "\n"
        )
    if data.greeting is None or _same_text(data.greeting, dep_greeting):
        overrides = overrides.without("greeting")
    else:
        overrides = overrides.with_value("greeting", _newlines(data.greeting).strip())

    for key, dotted, current in (
        ("max_concurrency", "dialer.pacing.max_concurrency", dialer.pacing.max_concurrency),
        ("max_attempts", "dialer.retry.max_attempts", dialer.retry.max_attempts),
    ):
        value = getattr(data, key)
        if value is None or value == current:
            overrides = overrides.without(dotted)
        else:
            overrides = overrides.with_value(dotted, value)

    for name, minutes in data.delays.items():
        try:
            disposition = Disposition(name)
        except ValueError:
            errors[f"delays.{name}"] = f"unknown disposition {_shown(name)}"
            continue
        current_delays = dialer.retry.delays.get(disposition)
        wanted = [_number(m) for m in minutes]
        dotted = f"dialer.retry.delays.{disposition.value}"
        if wanted == (current_delays or []) and (current_delays is not None or not wanted):
            overrides = overrides.without(dotted)
        else:
            overrides = overrides.with_value(dotted, wanted)

    overrides = _hours(overrides, dialer, data.hours, errors)
    if data.holidays is not None:
        wanted_days = sorted({d.isoformat() for d in data.holidays})
        current_days = sorted(d.isoformat() for d in dialer.calling_hours.holidays)
        if wanted_days == current_days:
            overrides = overrides.without("dialer.calling_hours.holidays")
        else:
            overrides = overrides.with_value("dialer.calling_hours.holidays", wanted_days)

    for problem in check_overrides(config, overrides):
        errors.setdefault(field_of(problem.key), f"{problem.reason}")
    return overrides, errors


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _hours(
    overrides: CampaignOverrides,
    dialer: DialerSection,
    hours: dict[str, list[str]],
    errors: dict[str, str],
) -> CampaignOverrides:
    """Calling windows: when any day differs from the deployment's, every day is stored
    (``calling_hours.weekly``), which takes precedence over ``daily``."""
    current = dialer.calling_hours
    deployment = {day: [str(r) for r in current.weekly.get(day, current.daily)] for day in WEEKDAYS}
    wanted = dict(deployment)
    for day, windows in hours.items():
        if day not in DAY_LABELS:
            errors[f"hours.{day}"] = f"unknown day {_shown(day)}: use mon .. sun"
            continue
        normalized = []
        for window in windows:
            try:
                normalized.append(str(TimeRange.model_validate(window)))
            except ValidationError as exc:
                message = exc.errors()[0].get("msg", "not a window")
                errors[f"hours.{day}"] = message.removeprefix("Value error, ")
                break
        wanted[day] = normalized
    if wanted == deployment:
        return overrides.without("dialer.calling_hours.weekly").without(
            "dialer.calling_hours.daily"
        )
    return overrides.with_value("dialer.calling_hours.weekly", wanted).without(
        "dialer.calling_hours.daily"
    )


def field_of(key: str) -> str:
    """The form field an override problem's key belongs to
    (``dialer.retry.delays.busy[0]`` -> ``delays.busy``)."""
    key = re.sub(r"\[\d+\]$", "", key)
    simple = {
        "instructions": "instructions",
        "greeting": "greeting",
        "dialer.pacing.max_concurrency": "max_concurrency",
        "dialer.retry.max_attempts": "max_attempts",
        "dialer.calling_hours.holidays": "holidays",
    }
    if key in simple:
        return simple[key]
    for prefix, name in (
        ("dialer.retry.delays.", "delays."),
        ("dialer.calling_hours.weekly.", "hours."),
    ):
        if key.startswith(prefix):
            return name + key[len(prefix) :].split(".")[0].split("[")[0]
    if key.startswith("dialer.calling_hours"):
        return "hours"
    if key.startswith("dialer.retry"):
        return "delays"
    return "dialer"


def overrides_summary(campaign: Campaign) -> list[str]:
    """What a campaign overrides, one line each (``"greeting"``,
    ``"dialer.pacing.max_concurrency = 2"``), for its page."""
    from voicekit_core.campaigns.overrides import OverrideError, campaign_overrides

    try:
        overrides = campaign_overrides(campaign)
    except OverrideError as exc:
        return [f"unreadable overrides: {exc}"]
    lines = []
    if overrides.instructions is not None:
        lines.append(f"instructions ({len(overrides.instructions):,} characters)")
    if overrides.greeting is not None:
        lines.append("greeting" if overrides.greeting else "greeting: none (the model opens)")
    lines += [f"dialer.{key} = {value}" for key, value in _flat(overrides.dialer)]
    return lines


def _flat(table: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``(dotted key, shown value)`` of an overrides' dialer table; ``retry.delays``
    gives one line per disposition, ``calling_hours.weekly`` one line for the week."""
    items: list[tuple[str, str]] = []
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if dotted == "calling_hours.weekly" and isinstance(value, dict):
            week = [
                f"{day} {_listed(value[day]) or 'no calls'}" for day in WEEKDAYS if day in value
            ]
            items.append((dotted, "; ".join(week)))
        elif dotted == "retry.delays" and isinstance(value, dict):
            items += [(f"{dotted}.{k}", _listed(v) or "not retried") for k, v in value.items()]
        elif isinstance(value, dict):
            items += _flat(value, dotted + ".")
        else:
            items.append((dotted, _listed(value) if isinstance(value, list) else str(value)))
    return items


def _listed(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list) else str(values)


__all__ = [
    "DAY_LABELS",
    "CampaignInput",
    "FormValues",
    "build_overrides",
    "deployment_texts",
    "field_of",
    "form_values",
    "overrides_summary",
    "parse_form",
    "read_form",
    "retry_dispositions",
]
