"""Helpers for provider plugins (built-in or third-party): import the livekit plugin lazily
with a clear "pip install" message, validate ``[models]`` options, read API keys by
variable name, and turn livekit constructor errors into :class:`PluginError`.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import PluginError

if TYPE_CHECKING:
    from .config import ModelRef


class ProviderOptions(BaseModel):
    """Base of every per-kind options model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


OptionsT = TypeVar("OptionsT", bound=ProviderOptions)


def load_livekit_plugin(module: str, extra: str) -> ModuleType:
    """Import a livekit plugin module (``"livekit.plugins.openai"``) and return it.

    Raises :class:`PluginError` telling which pip extra installs it when it is missing.
    Must run on the main thread the first time (livekit plugins register themselves on
    import and refuse other threads); a later import from any thread is a cache hit.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise PluginError(
            f"the {extra!r} model provider needs {module}, which is not installed: "
            f"pip install 'voicekit-core[{extra}]' ({exc})"
        ) from None
    except RuntimeError as exc:  # livekit: "Plugins must be registered on the main thread"
        raise PluginError(
            f"{module} was first imported outside the main thread ({exc}); import it at "
            "process start (worker prewarm) before building models in a job thread"
        ) from None


class OptionError(NamedTuple):
    """One rejected ``[models]`` option: ``option`` dotted (``modalities.0``), ``reason``
    without the value, the rejected ``value`` (None when ``unknown``)."""

    option: str
    reason: str
    value: Any
    unknown: bool


def allowed_options(model: type[BaseModel]) -> str:
    """The option names ``model`` accepts, comma separated (``"none"`` if it takes none)."""
    return ", ".join(sorted(model.model_fields)) or "none"


def option_errors(model: type[BaseModel], options: dict[str, Any]) -> list[OptionError]:
    """Each option ``model`` rejects (unknown names and bad values); empty if all are valid."""
    try:
        model.model_validate(options)
    except ValidationError as exc:
        return [
            OptionError(
                option=".".join(str(p) for p in err["loc"]) or "(options)",
                reason=err["msg"].removeprefix("Value error, "),
                value=None if err["type"] == "extra_forbidden" else err.get("input"),
                unknown=err["type"] == "extra_forbidden",
            )
            for err in exc.errors()
        ]
    return []


def parse_options(model: type[OptionsT], ref: ModelRef, kind: str) -> OptionsT:
    """Validate ``ref.options`` against ``model`` (extra="forbid").

    Raises :class:`PluginError` naming the model ref, the kind, each bad option and, for
    unknown options, the allowed ones. Values are not echoed (a misplaced key could be a
    secret).
    """
    errors = option_errors(model, ref.options)
    if errors:
        reasons = [
            f"unknown option {e.option!r} (allowed: {allowed_options(model)})"
            if e.unknown
            else f"option {e.option!r}: {e.reason}"
            for e in errors
        ]
        raise PluginError(f"model {ref} ({kind}): " + "; ".join(reasons))
    return model.model_validate(ref.options)


def read_api_key(env_var: str, ref: ModelRef) -> str:
    """The value of ``env_var``; raises :class:`PluginError` naming the variable (never a
    value) when it is unset or empty."""
    value = os.environ.get(env_var, "")
    if not value:
        raise PluginError(f"model {ref}: environment variable {env_var} is not set")
    return value


def given(
    options: BaseModel, *, exclude: set[str] | frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The options that were set (not None) as keyword arguments, minus ``exclude``."""
    return {k: v for k, v in options.model_dump(exclude=set(exclude)).items() if v is not None}


def construct_model(ref: ModelRef, build: Any, **kwargs: Any) -> Any:
    """Call a livekit constructor; its ``ValueError`` / ``TypeError`` becomes PluginError."""
    try:
        return build(**kwargs)
    except (ValueError, TypeError) as exc:
        raise PluginError(f"model {ref}: {exc}") from None
