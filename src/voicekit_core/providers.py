"""Model providers and model selection.

A :class:`Provider` turns a :class:`~voicekit_core.config.ModelRef` (``"openai:gpt-4o-mini"``
plus options) into a livekit STT / LLM / TTS / realtime model. Providers are registered
through the ``register_providers`` hook, built-ins included; their factories import the
vendor SDK only when called. A provider declares the options each kind accepts (a pydantic
model per kind), so ``voicekit check`` reports a misspelled option or a kind the provider
does not offer before any call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from .errors import PluginError
from .provider_kit import OptionError, allowed_options, option_errors

if TYPE_CHECKING:
    from .calls import CallContext
    from .config import ModelRef

Kind = Literal["realtime", "stt", "llm", "tts"]
KINDS: tuple[Kind, ...] = ("realtime", "stt", "llm", "tts")
Factory = Callable[["ModelRef", "CallContext"], Any]


@dataclass(frozen=True)
class Provider:
    """Factories for one provider name.

    ``env_keys`` are the environment variables the provider needs (``OPENAI_API_KEY``);
    ``voicekit check`` and the default selection name the missing ones, never their values,
    and their values are registered as secrets. Each factory gets the ``ModelRef`` and the
    call and returns a livekit object.

    ``options`` maps a kind to the pydantic model of the options it accepts (make it
    ``extra="forbid"``, e.g. a :class:`~voicekit_core.provider_kit.ProviderOptions`); a kind
    with a factory but no entry accepts no options. ``options=None`` (the default) leaves
    options unchecked until the factory runs.
    """

    name: str
    env_keys: tuple[str, ...] = ()
    realtime: Factory | None = None
    stt: Factory | None = None
    llm: Factory | None = None
    tts: Factory | None = None
    description: str = ""
    options: Mapping[Kind, type[BaseModel]] | None = None
    requires: tuple[str, ...] = ()
    """Modules the factories import (``"faster_whisper"``); ``voicekit check`` warns,
    naming ``extra``, when one is not installed (found without importing it)."""
    extra: str = ""
    """The ``voicekit-core`` pip extra that installs ``requires`` (``"local"``)."""

    def missing_modules(self) -> list[str]:
        """The ``requires`` modules that are not installed."""
        import importlib.util

        missing = []
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                missing.append(module)
        return missing

    def factory(self, kind: Kind) -> Factory | None:
        return getattr(self, kind)

    def kinds(self) -> list[Kind]:
        """The kinds this provider has factories for, e.g. ``["llm", "tts"]``."""
        return [kind for kind in KINDS if self.factory(kind) is not None]

    def option_problems(self, kind: Kind, ref: ModelRef) -> list[OptionError]:
        """The options of ``ref`` that ``kind`` models of this provider reject (unknown
        names, bad values); empty when ``options`` is None."""
        if self.options is None:
            return []
        model = self.options.get(kind)
        if model is None:
            return [OptionError(name, "takes no options", None, True) for name in ref.options]
        return option_errors(model, ref.options)

    def allowed_options(self, kind: Kind) -> str:
        """The option names ``kind`` models accept, comma separated (``"none"``)."""
        model = (self.options or {}).get(kind)
        return allowed_options(model) if model is not None else "none"

    def missing_keys(
        self, environ: Mapping[str, str] | None = None, ref: ModelRef | None = None
    ) -> list[str]:
        """Variables this provider needs that are unset. A model's ``api_key_env`` option
        replaces the provider's first key variable (a compatible server with its own key)."""
        env = os.environ if environ is None else environ
        return [key for key in self.key_names(ref) if not env.get(key)]

    def key_names(self, ref: ModelRef | None = None) -> list[str]:
        """The variables holding this provider's keys for ``ref`` (``api_key_env`` applied)."""
        keys = list(self.env_keys)
        if ref is not None and keys and ref.options.get("api_key_env"):
            keys[0] = str(ref.options["api_key_env"])
        return keys


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
