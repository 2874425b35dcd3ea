"""Model providers and model selection.

A :class:`Provider` turns a :class:`~voicekit_core.config.ModelRef` (``"openai:gpt-4o-mini"``
plus options) into a livekit STT / LLM / TTS / realtime model. Providers are registered
through the ``register_providers`` hook, built-ins included; their factories import the
vendor SDK only when called.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .errors import PluginError

if TYPE_CHECKING:
    from .calls import CallContext
    from .config import ModelRef

Kind = Literal["realtime", "stt", "llm", "tts"]
Factory = Callable[["ModelRef", "CallContext"], Any]


@dataclass(frozen=True)
class Provider:
    """Factories for one provider name.

    ``env_keys`` are the environment variables the provider needs (``OPENAI_API_KEY``);
    ``voicekit check`` and the default selection name the missing ones, never their values.
    Each factory gets the ``ModelRef`` and the call and returns a livekit object.
    """

    name: str
    env_keys: tuple[str, ...] = ()
    realtime: Factory | None = None
    stt: Factory | None = None
    llm: Factory | None = None
    tts: Factory | None = None
    description: str = ""

    def factory(self, kind: Kind) -> Factory | None:
        return getattr(self, kind)

    def missing_keys(
        self, environ: Mapping[str, str] | None = None, ref: ModelRef | None = None
    ) -> list[str]:
        """Variables this provider needs that are unset. A model's ``api_key_env`` option
        replaces the provider's first key variable (a compatible server with its own key)."""
        env = os.environ if environ is None else environ
        keys = list(self.env_keys)
        if ref is not None and keys and ref.options.get("api_key_env"):
            keys[0] = str(ref.options["api_key_env"])
        return [key for key in keys if not env.get(key)]


@dataclass
class ModelSelection:
    """The models of one call: a realtime model, or an STT/LLM/TTS pipeline.

    Each kind is a fallback chain (first is primary). ``reason`` says why this selection
    was made; it is logged and kept in the call report.
    """

    realtime: list[ModelRef] = field(default_factory=list)
    stt: list[ModelRef] = field(default_factory=list)
    llm: list[ModelRef] = field(default_factory=list)
    tts: list[ModelRef] = field(default_factory=list)
    reason: str = ""

    def describe(self) -> dict[str, Any]:
        kinds = ("realtime", "stt", "llm", "tts")
        data: dict[str, Any] = {k: [str(r) for r in getattr(self, k)] for k in kinds}
        data = {k: v for k, v in data.items() if v}
        data["reason"] = self.reason
        return data


class ProviderRegistry:
    """Providers by name, filled from the ``register_providers`` hook."""

    def __init__(self) -> None:
        self._providers: dict[str, Provider] = {}
        self._owners: dict[str, str] = {}

    def add(self, provider: Provider, plugin: str) -> None:
        if provider.name in self._providers:
            raise PluginError(
                f"provider {provider.name!r} registered by both {self._owners[provider.name]!r} "
                f"and {plugin!r}"
            )
        self._providers[provider.name] = provider
        self._owners[provider.name] = plugin

    def get(self, name: str) -> Provider:
        try:
            return self._providers[name]
        except KeyError:
            known = ", ".join(sorted(self._providers))
            raise PluginError(f"unknown model provider {name!r}; known: {known}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._providers

    def names(self) -> list[str]:
        return sorted(self._providers)

    def create(self, kind: Kind, ref: ModelRef, call: CallContext) -> Any:
        """Instantiate ``ref`` as a ``kind`` model. Raises PluginError if unsupported."""
        provider = self.get(ref.provider)
        factory = provider.factory(kind)
        if factory is None:
            raise PluginError(f"provider {ref.provider!r} has no {kind} models")
        return factory(ref, call)
