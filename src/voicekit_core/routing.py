"""Several deployments behind one worker: which deployment answers a job.

``voicekit start A B`` serves the deployment folders A and B from one worker process. LiveKit
dispatches jobs by agent name, and a worker registers under one, so every served deployment
must have the same ``[agent].name`` (checked at start). Each deployment is named by
:func:`~voicekit_core.telephony.settings.deployment_name` (``[plugins.telephony]
deployment_name``, default: its folder's name) and owns the numbers in its ``[plugins.telephony]
numbers``. A job goes to (:func:`route`):

1. the deployment the job metadata names (``{"deployment": "<name>"}``: ``voicekit dial``,
   campaigns, the dispatch rule ``voicekit sip setup-inbound`` makes, ``voicekit token``, the
   web widget) — ``by = "metadata"``;
2. else the deployment owning the dialed number, the SIP participant's
   ``sip.trunkPhoneNumber`` attribute — ``by = "number"``;
3. else the deployment with ``catch_all = true`` — ``by = "catch_all"``;
4. else nobody (``deployment`` None, ``by = "unowned"``): the worker logs it, says the first
   deployment's ``not_in_service_message`` and hangs up; nothing is journaled.

Metadata naming a deployment the worker does not serve gives ``by = "not_served"``: the
worker rejects that job request, so LiveKit offers it to another worker registered under
the same agent name. A worker serving one deployment sends every job to it (``by =
"only"``), as before several were possible.

:func:`serve` loads nothing; it checks deployments already loaded and builds the table. Its
errors are :class:`~voicekit_core.errors.ConfigError` problems naming the file, the key and
the value.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError, Problem
from .telephony.settings import deployment_name, telephony_settings

if TYPE_CHECKING:
    from .deployment import Deployment

DIALED_NUMBER_ATTRIBUTE = "sip.trunkPhoneNumber"
"""The SIP participant attribute holding the number the caller dialed (on an inbound call;
on an outbound call, the number the call comes from)."""

RoutedBy = Literal["only", "metadata", "number", "catch_all", "unowned", "not_served"]


@dataclass(frozen=True)
class RoutingTable:
    """What a worker serves: deployment ``names`` in start order (the first one's
    not-in-service line is the one said), ``numbers`` (E.164 -> name) and the
    ``catch_all`` deployment's name (None: unowned numbers hear the line)."""

    names: tuple[str, ...]
    numbers: Mapping[str, str] = field(default_factory=dict)
    catch_all: str | None = None


@dataclass(frozen=True)
class Route:
    """Where one job goes: ``deployment`` (a name in the table; None when nobody serves
    it), ``by`` which rule, and ``detail``, one sentence for the log."""

    deployment: str | None
    by: RoutedBy
    detail: str


def normalize_number(number: str | None) -> str:
    """``number`` as E.164 when it reads as one (``+14155550100``, ``tel:+1 415 555 0100``,
    or E.164 digits without the plus, ``14155550100``, as SIP trunks often give them),
    else stripped as given ('' for None)."""
    from .phones import to_e164

    text = (number or "").strip().removeprefix("tel:").removeprefix("sip:").split("@")[0]
    if not text:
        return ""
    candidates = [text] if text.startswith("+") else ["+" + text, text]
    for candidate in candidates:
        try:
            return to_e164(candidate)
        except ValueError:
            continue
    return text


def route(table: RoutingTable, *, requested: str | None, dialed: str | None) -> Route:
    """Route a job: ``requested`` is the job metadata's ``deployment`` (None or '' if it
    has none), ``dialed`` the dialed number (any format; None if unknown). Pure: no I/O."""
    number = normalize_number(dialed)
    if len(table.names) == 1:
        only = table.names[0]
        note = f"; the job names {requested!r}" if requested and requested != only else ""
        return Route(only, "only", f"deployment {only!r} (the only one served){note}")
    if requested:
        if requested in table.names:
            return Route(requested, "metadata", f"deployment {requested!r} (job metadata)")
        return Route(
            None,
            "not_served",
            f"the job names deployment {requested!r}, which this worker does not serve "
            f"(it serves {', '.join(table.names)})",
        )
    owner = table.numbers.get(number) if number else None
    if owner is not None:
        return Route(owner, "number", f"deployment {owner!r} (owns the dialed number {number})")
    what = f"the dialed number {number}" if number else "a call without a dialed number"
    if table.catch_all is not None:
        return Route(
            table.catch_all,
            "catch_all",
            f"deployment {table.catch_all!r} (catch_all; no served deployment owns {what})",
        )
    return Route(None, "unowned", f"no served deployment owns {what}")


@dataclass
class ServedDeployments:
    """The deployments one worker serves (``by_name`` in start order), their routing
    table, the agent name the worker registers under, and start-time ``warnings``."""

    by_name: dict[str, Deployment]
    table: RoutingTable
    agent_name: str
    warnings: list[str] = field(default_factory=list)

    @property
    def default(self) -> Deployment:
        """The first deployment given: its not-in-service line is said to unowned calls."""
        return next(iter(self.by_name.values()))

    def route(self, *, requested: str | None, dialed: str | None) -> Route:
        """:func:`route` over this worker's table."""
        return route(self.table, requested=requested, dialed=dialed)

    def describe(self) -> list[str]:
        """One line per deployment: name, file, numbers, catch-all."""
        lines = []
        for name, deployment in self.by_name.items():
            numbers = [n for n, owner in self.table.numbers.items() if owner == name]
            extra = ", catch-all" if self.table.catch_all == name else ""
            owned = ", ".join(numbers) or "no numbers"
            lines.append(f"{name} ({deployment.config.path}): {owned}{extra}")
        return lines


def serve(deployments: Sequence[Deployment]) -> ServedDeployments:
    """Check that ``deployments`` (loaded, at least one) can share a worker and build its
    routing table.

    Raises :class:`ConfigError` listing every problem: the same file given twice, a
    different ``[agent].name`` than the first deployment's, two deployments with one name,
    a number two deployments own, two ``catch_all`` deployments, and (with several) a local
    plugin module that another folder's module of the same name shadows (a process imports
    a module name once). Inbound trunk or dispatch rule names two deployments share are warnings
    (``voicekit sip setup-inbound`` would reuse one deployment's trunk for the other).
    """
    if not deployments:
        raise ValueError("serve() needs at least one deployment")
    problems: list[Problem] = []
    warnings: list[str] = []
    first = deployments[0].config
    agent_name = first.agent.name
    by_name: dict[str, Deployment] = {}
    by_file: dict[Path, Deployment] = {}
    numbers: dict[str, str] = {}
    catch_all: str | None = None
    trunks: dict[tuple[str, str], str] = {}
    for deployment in deployments:
        config = deployment.config
        file = str(config.path)
        if config.path in by_file:
            problems.append(Problem(file, "", "", "given twice; serve each deployment once"))
            continue
        by_file[config.path] = deployment
        if config.agent.name != agent_name:
            problems.append(
                Problem(
                    file,
                    "agent.name",
                    config.agent.name,
                    f"a worker registers under one agent name; every deployment it serves "
                    f"must use {agent_name!r} (as {first.path} does)",
                )
            )
        name = deployment_name(config)
        settings = telephony_settings(config)
        if name in by_name:
            problems.append(
                Problem(
                    file,
                    "plugins.telephony.deployment_name",
                    name,
                    f"also the name of {by_name[name].config.path}; give each deployment its "
                    "own deployment_name (job metadata routes by it)",
                )
            )
            continue
        by_name[name] = deployment
        for number in settings.numbers:
            owner = numbers.setdefault(number, name)
            if owner != name:
                problems.append(
                    Problem(
                        file,
                        "plugins.telephony.numbers",
                        number,
                        f"also owned by deployment {owner!r} ({by_name[owner].config.path}); "
                        "a number routes to one deployment",
                    )
                )
        if settings.catch_all:
            if catch_all is None:
                catch_all = name
            else:
                problems.append(
                    Problem(
                        file,
                        "plugins.telephony.catch_all",
                        "true",
                        f"deployment {catch_all!r} ({by_name[catch_all].config.path}) is the "
                        "catch-all already; set catch_all in one deployment only",
                    )
                )
        for kind, value in (
            ("inbound trunk", settings.trunk_name(config)),
            ("dispatch rule", settings.rule_name(config)),
        ):
            other = trunks.setdefault((kind, value), name)
            if other != name:
                warnings.append(
                    f"deployments {other!r} and {name!r} both name their {kind} {value!r}: "
                    "`voicekit sip setup-inbound` would reuse one for both; set "
                    "inbound_trunk_name and dispatch_rule_name in [plugins.telephony]"
                )
        if len(deployments) > 1:
            problems += _shadowed_plugins(deployment)
    if problems:
        raise ConfigError(problems)
    table = RoutingTable(names=tuple(by_name), numbers=numbers, catch_all=catch_all)
    return ServedDeployments(by_name, table, agent_name, warnings)


def _shadowed_plugins(deployment: Deployment) -> list[Problem]:
    """Local plugin modules of ``deployment`` (``plugins.enable`` module paths with a file
    in its folder) that resolved to another folder's module of the same name."""
    config = deployment.config
    problems = []
    for name in config.plugins.enable:
        module = sys.modules.get(name)
        loaded = getattr(module, "__file__", None)
        if not loaded or deployment.pm.get_plugin(name) is not module:
            continue  # a built-in or an installed plugin: one for everyone
        relative = Path(*name.split("."))
        own = [config.base_dir / f"{relative}.py", config.base_dir / relative / "__init__.py"]
        own_file = next((p for p in own if p.is_file()), None)
        if own_file is not None and Path(loaded).resolve() != own_file.resolve():
            problems.append(
                Problem(
                    str(config.path),
                    "plugins.enable",
                    name,
                    f"this deployment's {own_file.name} is shadowed by {loaded}, imported first "
                    "for another deployment: a process imports a module name once, so rename "
                    "one of the two modules",
                )
            )
    return problems
