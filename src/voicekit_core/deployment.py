"""A loaded deployment: validated config + plugin manager + providers + leads.

:func:`load_deployment` is the one way in, used by the CLI, the worker, ``simulate``
and the testing kit. It collects every problem before raising, so ``voicekit check``
shows them all at once. Loading registers every secret the deployment can reach with
:mod:`voicekit_core.redaction` and routes the process's log records through it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
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
    nearest_source,
    parse_config,
    read_deployment,
    validate_plugin_tables,
)
from .dispositions import DispositionCatalog, build_catalog, disposition_problems
from .errors import ConfigError, PluginError, Problem
from .extraction import ExtractionSchema
from .extraction_sources import load_schema
from .flow_config import intake_problems
from .journal import Journal
from .lead_csv import LeadBook
from .phones import PhonePolicy
from .plugins import VoicekitPluginManager, build_plugin_manager
from .prompts import template_problems
from .providers import Kind, ProviderRegistry
from .recording_config import recording_warnings
from .redaction import install_log_redaction, redact, register_environment
from .store import Store, StoreError, resolve_url, writable_problems

logger = logging.getLogger("voicekit")


@dataclass
class Deployment:
    """Everything needed to run calls for one deployment file."""

    config: DeploymentConfig
    pm: VoicekitPluginManager
    providers: ProviderRegistry
    warnings: list[str] = field(default_factory=list)
    dispositions: DispositionCatalog = field(default_factory=DispositionCatalog)
    """The outcomes this deployment knows (built-ins, ``[dispositions]``, plugins)."""
    extraction: ExtractionSchema | None = None
    """The record ``record_details`` collects (``[extraction]`` or a plugin's model)."""

    @cached_property
    def store(self) -> Store:
        """The deployment's database (``[store] url``), opened and migrated on first use.
        Raises :class:`~voicekit_core.store.StoreError` if it cannot be."""
        return Store(self.config.store.url, base_dir=self.config.base_dir)

    @cached_property
    def journal(self) -> Journal:
        """The call journal in :attr:`store` (a voicekit 0.1 journal file is imported once)."""
        return Journal(self.store, legacy_path=self.config.journal.path)

    @cached_property
    def leads(self) -> LeadBook | None:
        """The CSV lead book (None when ``leads.source = "none"``), read with the
        ``[leads]`` phone policy. It streams the file for each question (``get(phone)``,
        ``first()``, ``rows()``, ``summarize()``); nothing is read here."""
        if self.config.leads.source != "csv" or self.config.leads.path is None:
            return None
        return LeadBook(self.config.leads.path, policy=PhonePolicy.from_config(self.config))

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
    install_log_redaction()
    file = find_config(path)
    data, sources, provenance = read_deployment(file)
    if environ is None:
        for source in sources:  # the loaded file's .env first: variables already set win
            load_dotenv_beside(source)
    register_environment(environ=os.environ)
    try:
        config = parse_config(data, path=file, environ=environ)
    except ConfigError as exc:
        raise ConfigError(_attributed(exc.problems, file, provenance)) from None
    config._sources = tuple(sources)
    config._provenance = provenance
    try:
        pm = build_plugin_manager(
            config.plugins.enable, search_path=config.base_dir, extra=extra_plugins
        )
    except PluginError as exc:
        shown = str(config.source_of("plugins.enable"))
        raise ConfigError([Problem(shown, "plugins.enable", "", str(exc))]) from None

    problems: list[Problem] = []
    warnings: list[str] = []
    # before plugin settings, which may name a declared outcome (a CRM status map)
    dispositions, found = build_catalog(config, pm)
    problems += found + disposition_problems(config, dispositions)
    extraction, found = load_schema(config, pm)
    problems += found
    problems += intake_problems(config, extraction)  # an intake [flow] against the record
    settings_models: dict[str, type[BaseModel]] = {}
    for plugin, calls in pm.collect("register_settings"):
        for args, _ in calls:
            settings_models[plugin] = args[0]
    known = {name for name, _ in pm.list_name_plugin()}
    problems += validate_plugin_tables(config, settings_models, known, warnings)
    warnings += recording_warnings(config)  # a [recording] credential written literally
    problems += check_files(config)
    problems += _store_problems(config)
    problems += _template_checks(config)

    providers = ProviderRegistry()
    for plugin, calls in pm.collect("register_providers"):
        for args, _ in calls:
            providers.add(args[0], plugin)
    _register_provider_keys(config, providers, environ)
    problems += _model_checks(config, providers, environ, warnings)
    if problems:
        raise ConfigError(_attributed(problems, file, provenance))
    return Deployment(
        config=config,
        pm=pm,
        providers=providers,
        warnings=warnings,
        dispositions=dispositions,
        extraction=extraction,
    )


def _attributed(problems: list[Problem], file: Path, provenance: dict[str, Path]) -> list[Problem]:
    """``problems`` of the loaded ``file`` named after the file that wrote their key (a
    deployment that ``extends`` another: the base's value is the base's problem)."""
    if not any(path != file for path in provenance.values()):
        return problems
    shown = str(file)
    result = []
    for problem in problems:
        source = nearest_source(provenance, problem.key) if problem.file == shown else None
        if source is not None and source != file:
            problem = Problem(str(source), problem.key, problem.value, problem.reason)
        result.append(problem)
    return result


def _store_problems(config: DeploymentConfig) -> list[Problem]:
    """A store URL that is malformed or a SQLite file that could not be written, found
    before any call runs (so no finished call is lost to an unwritable journal)."""
    file = str(config.path)
    try:
        url = resolve_url(config.store.url, config.base_dir)
    except StoreError as exc:
        shown = config.secret_refs.get("store.url") or config.store.url
        return [Problem(file, "store.url", redact(shown), str(exc).removeprefix("store url"))]
    return writable_problems(url, file=file)


def _model_chains(config: DeploymentConfig) -> list[tuple[Kind, str, list[Any]]]:
    """``(kind, dotted key of the chain, [ModelRef, ...])``; the fallback is an LLM."""
    models = config.models
    kinds: tuple[Kind, ...] = ("realtime", "stt", "llm", "tts")
    chains: list[tuple[Kind, str, list[Any]]] = [
        (k, f"models.{k}", getattr(models, k) or []) for k in kinds
    ]
    chains.append(("llm", "models.fallback", [models.fallback]))
    return chains


def _register_provider_keys(
    config: DeploymentConfig, providers: ProviderRegistry, environ: Mapping[str, str] | None
) -> None:
    """Register as secrets the values of every provider's key variables (``env_keys``) and
    of each model's ``api_key_env``."""
    names = {key for name in providers.names() for key in providers.get(name).env_keys}
    for _, _, chain in _model_chains(config):
        for ref in chain:
            if ref.provider in providers:
                names.update(providers.get(ref.provider).key_names(ref))
    register_environment(names, environ=os.environ)
    if environ is not None:
        register_environment(names, environ=environ)


def _model_checks(
    config: DeploymentConfig,
    providers: ProviderRegistry,
    environ: Mapping[str, str] | None,
    warnings: list[str],
) -> list[Problem]:
    """Problems of each ``[models]`` entry: unknown provider, a kind the provider does not
    offer, options it does not accept. Missing keys are appended to ``warnings``."""
    file = str(config.path)
    refs = config.secret_refs
    problems: list[Problem] = []
    for kind, chain_key, chain in _model_chains(config):
        for index, ref in enumerate(chain):
            dotted = chain_key if chain_key == "models.fallback" else config.model_key(kind, index)
            shown = refs.get(dotted) or redact(str(ref))
            if ref.provider not in providers:
                known = ", ".join(providers.names())
                problems.append(Problem(file, dotted, shown, f"unknown provider; known: {known}"))
                continue
            provider = providers.get(ref.provider)
            if provider.factory(kind) is None:
                offers = ", ".join(provider.kinds()) or "nothing"
                reason = f"provider {ref.provider!r} has no {kind} models; it offers: {offers}"
                problems.append(Problem(file, dotted, shown, reason))
                continue
            for error in provider.option_problems(kind, ref):
                key = f"{dotted}.{error.option}"
                if error.unknown:
                    allowed = provider.allowed_options(kind)
                    reason = f"unknown option for {ref.provider} {kind} models (allowed: {allowed})"
                    problems.append(Problem(file, key, "", reason))
                else:
                    value = refs.get(key) or redact(_short_repr(error.value))
                    problems.append(Problem(file, key, value, redact(error.reason)))
            missing = provider.missing_keys(environ, ref)
            if missing:
                warnings.append(
                    f"{dotted} = {shown}: {', '.join(missing)} not set; "
                    "the call falls back to the next model choice"
                )
            absent = provider.missing_modules()
            if absent:
                install = f"pip install 'voicekit-core[{provider.extra}]'" if provider.extra else ""
                warnings.append(
                    f"{dotted} = {shown}: {', '.join(absent)} not installed; a call that "
                    f"uses it fails. {install}".strip()
                )
    return problems


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _localized_texts(dotted: str, value: str | dict[str, str]) -> list[tuple[str, str]]:
    """``(dotted key, text)`` for a text, or for each language of a ``{lang = text}`` table."""
    if isinstance(value, str):
        return [(dotted, value)]
    return [(f"{dotted}.{lang}", text) for lang, text in value.items()]


def _template_checks(config: DeploymentConfig) -> list[Problem]:
    """Template problems of every text rendered at call time: greeting and voicemail
    message (every language) and the instructions (inline or the file)."""
    file = str(config.path)
    problems = []
    checks = _localized_texts("agent.greeting", config.agent.greeting)
    checks += _localized_texts("agent.voicemail_message", config.agent.voicemail_message)
    instructions_path = config.instructions_path()
    if instructions_path is None or instructions_path.is_file():
        try:
            checks.append(("agent.instructions", config.instructions_text()))
        except ConfigError as exc:
            problems += exc.problems
    for dotted, text in checks:
        for reason in template_problems(text, config):
            shown = (
                str(instructions_path)
                if dotted == "agent.instructions" and instructions_path
                else ""
            )
            problems.append(Problem(file, dotted, shown, reason))
    return problems
