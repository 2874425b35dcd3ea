"""A loaded deployment: validated config + plugin manager + providers + leads.

:func:`load_deployment` is the one way in, used by the CLI, the worker, ``simulate``
and the testing kit. It collects every problem before raising, so ``voicekit check``
shows them all at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .config import (
    DeploymentConfig,
    check_files,
    find_config,
    load_dotenv_beside,
    parse_config,
    read_toml,
    validate_plugin_tables,
)
from .errors import ConfigError, PluginError, Problem
from .journal import Journal
from .leads import LeadBook, read_leads_csv
from .plugins import VoicekitPluginManager, build_plugin_manager
from .prompts import template_problems
from .providers import ProviderRegistry

logger = logging.getLogger("voicekit")


@dataclass
class Deployment:
    """Everything needed to run calls for one deployment file."""

    config: DeploymentConfig
    pm: VoicekitPluginManager
    providers: ProviderRegistry
    warnings: list[str] = field(default_factory=list)

    @cached_property
    def journal(self) -> Journal:
        return Journal(self.config.journal.path)

    @cached_property
    def leads(self) -> LeadBook | None:
        """The CSV lead book (None when ``leads.source = "none"``). Bad rows are in
        ``leads.problems``; read once per deployment."""
        if self.config.leads.source != "csv" or self.config.leads.path is None:
            return None
        return read_leads_csv(
            self.config.leads.path, default_region=self.config.leads.default_region
        )

    def post_call_plugins(self) -> list[str]:
        return [impl.plugin_name for impl in self.pm.impls_in_call_order("post_call")]


def load_deployment(
    path: str | Path,
    *,
    extra_plugins: Iterable[tuple[str, object]] = (),
    environ: dict[str, str] | None = None,
) -> Deployment:
    """Load and validate the deployment at ``path`` (a file or a folder with voicekit.toml).

    ``extra_plugins`` are ``(name, plugin)`` pairs registered after the enabled ones
    (tests). Raises :class:`ConfigError` listing every problem, or :class:`PluginError`.
    """
    file = find_config(path)
    if environ is None:
        load_dotenv_beside(file)
    config = parse_config(read_toml(file), path=file, environ=environ)
    try:
        pm = build_plugin_manager(
            config.plugins.enable, search_path=config.base_dir, extra=extra_plugins
        )
    except PluginError as exc:
        raise ConfigError([Problem(str(file), "plugins.enable", "", str(exc))]) from None

    problems: list[Problem] = []
    settings_models: dict[str, type[BaseModel]] = {}
    for plugin, calls in pm.collect("register_settings"):
        for args, _ in calls:
            settings_models[plugin] = args[0]
    known = {name for name, _ in pm.list_name_plugin()}
    problems += validate_plugin_tables(config, settings_models, known)
    problems += check_files(config)
    problems += _template_checks(config)

    providers = ProviderRegistry()
    for plugin, calls in pm.collect("register_providers"):
        for args, _ in calls:
            providers.add(args[0], plugin)
    warnings = []
    for dotted, chain in _model_chains(config):
        for index, ref in enumerate(chain):
            refs = config.secret_refs
            shown = refs.get(dotted) or refs.get(f"{dotted}[{index}]") or str(ref)
            if ref.provider not in providers:
                problems.append(
                    Problem(
                        str(file),
                        dotted,
                        shown,
                        f"unknown provider; known: {', '.join(providers.names())}",
                    )
                )
            else:
                missing = providers.get(ref.provider).missing_keys(environ, ref)
                if missing:
                    warnings.append(
                        f"{dotted} = {shown}: {', '.join(missing)} not set; "
                        "the call falls back to the next model choice"
                    )
    if problems:
        raise ConfigError(problems)
    return Deployment(config=config, pm=pm, providers=providers, warnings=warnings)


def _model_chains(config: DeploymentConfig) -> list[tuple[str, list[Any]]]:
    models = config.models
    chains = [(f"models.{k}", getattr(models, k) or []) for k in ("realtime", "stt", "llm", "tts")]
    chains.append(("models.fallback", [models.fallback]))
    return chains


def _template_checks(config: DeploymentConfig) -> list[Problem]:
    file = str(config.path)
    problems = []
    checks = [("agent.greeting", config.localized(config.agent.greeting))]
    instructions_path = config.instructions_path()
    if instructions_path is None or instructions_path.is_file():
        checks.append(("agent.instructions", config.instructions_text()))
    for dotted, text in checks:
        for reason in template_problems(text, config):
            shown = (
                str(instructions_path)
                if dotted == "agent.instructions" and instructions_path
                else ""
            )
            problems.append(Problem(file, dotted, shown, reason))
    return problems
