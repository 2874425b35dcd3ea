"""Plugin discovery and the plugin manager.

Three sources, one registration path:

* built-ins (``voicekit_core.builtins.*``), always registered;
* installed distributions exposing an entry point in the group ``voicekit``;
* dotted module paths named in a deployment (one-off local plugins).

Built-ins are registered exactly like third-party plugins. Installed plugins are
registered only when a deployment enables them by entry-point name. Set
``VOICEKIT_TRACE_PLUGINS=1`` to log every hook call (logger ``voicekit.plugins``) with the
names of its arguments and each plugin's result, phones and emails masked and secrets
redacted. Nothing here imports livekit or a vendor SDK.

A plugin that cannot be loaded (a syntax error, an import failure, a hook implementation
whose name or arguments match no spec) is a one-line :class:`PluginError` naming the plugin
and the file and line at fault.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError
from .masking import mask_text
from .redaction import redact

logger = logging.getLogger("voicekit.plugins")

ENTRY_POINT_GROUP = "voicekit"
TRACE_ENV = "VOICEKIT_TRACE_PLUGINS"
_TRACE_LIMIT = 300  # characters of a traced result

BUILTIN_PLUGINS: dict[str, str] = {
    "csv_leads": "voicekit_core.builtins.csv_leads",
    "scripted": "voicekit_core.builtins.scripted",
    "default_models": "voicekit_core.builtins.default_models",
    "call_control": "voicekit_core.builtins.call_control",
    "telephony": "voicekit_core.builtins.telephony",
    "openai": "voicekit_core.builtins.openai",
    "google": "voicekit_core.builtins.google",
    "deepgram": "voicekit_core.builtins.deepgram",
    "cartesia": "voicekit_core.builtins.cartesia",
    "local": "voicekit_core.builtins.local",
    "campaigns": "voicekit_core.builtins.campaigns",
    "compliance": "voicekit_core.builtins.compliance",
    "extraction": "voicekit_core.builtins.extraction",
}


@dataclass(frozen=True)
class InstalledPlugin:
    """An entry point in the ``voicekit`` group: ``name`` as a deployment enables it."""

    name: str
    value: str
    distribution: str | None
    version: str | None

    @classmethod
    def from_entry_point(cls, ep: EntryPoint) -> InstalledPlugin:
        dist = getattr(ep, "dist", None)
        return cls(
            name=ep.name,
            value=ep.value,
            distribution=dist.metadata["Name"] if dist else None,
            version=dist.version if dist else None,
        )


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Entry points of the ``voicekit`` group, by name. Imports nothing."""
    found: dict[str, InstalledPlugin] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, InstalledPlugin.from_entry_point(ep))
    return found


def shown_value(value: Any) -> str:
    """``repr(value)`` for a trace line: phones and emails masked, secrets redacted,
    at most ``_TRACE_LIMIT`` characters."""
    try:
        text = repr(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    text = redact(mask_text(text))
    return text if len(text) <= _TRACE_LIMIT else text[: _TRACE_LIMIT - 1] + "…"


class _TraceLogger:
    """Takes the place of pluggy's ``pm.trace``: ``pm.trace(message, *args)`` logs to
    ``voicekit.plugins`` (``%`` formatting, values masked and redacted) when tracing is on,
    and still feeds pluggy's own tracer (``root``, ``get`` are pluggy's).

    pluggy sets ``self.trace`` on every manager, so a ``trace`` method would be shadowed.
    """

    def __init__(self, inner: Any, enabled: bool):
        self._inner = inner
        self.enabled = enabled
        self.root = inner.root

    def get(self, name: str) -> Any:
        return self._inner.get(name)

    def __call__(self, *args: object) -> None:
        if self.enabled and args and isinstance(args[0], str):
            logger.info(args[0], *[_clean(a) for a in args[1:]])
        self._inner(*args)


def _clean(value: object) -> str:
    """A trace argument: text masked and redacted as is, anything else as :func:`shown_value`."""
    if isinstance(value, str):
        return redact(mask_text(value))
    return shown_value(value)


class VoicekitPluginManager(pluggy.PluginManager):
    """A pluggy manager with voicekit's specs and helpers for async-capable hooks.

    With ``VOICEKIT_TRACE_PLUGINS=1``, every hook call (``pm.hook.NAME(...)`` and the
    helpers below) is logged at INFO on ``voicekit.plugins``; ``pm.trace(message, *args)``
    adds a line of one's own.
    """

    def __init__(self) -> None:
        super().__init__("voicekit")
        self.add_hookspecs(hookspecs)
        tracing = os.environ.get(TRACE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
        self.trace = _TraceLogger(self.trace, tracing)  # type: ignore[misc]  # Final in pluggy
        if tracing:
            self.add_hookcall_monitoring(self._before_hook, self._after_hook)

    @property
    def tracing(self) -> bool:
        """Whether hook calls are logged (``VOICEKIT_TRACE_PLUGINS``)."""
        return bool(getattr(self.trace, "enabled", False))

    # -- tracing ---------------------------------------------------------------
    @staticmethod
    def _before_hook(hook_name: str, impls: Any, kwargs: dict[str, Any]) -> None:
        names = [impl.plugin_name for impl in reversed(impls)]
        logger.info("hook %s(%s) -> plugins %s", hook_name, ", ".join(kwargs), names)

    @staticmethod
    def _after_hook(outcome: Any, hook_name: str, impls: Any, kwargs: dict[str, Any]) -> None:
        exc = outcome.exception
        if exc is not None:
            logger.info("hook %s raised %s", hook_name, shown_value(exc))
        else:
            logger.info("hook %s returned %s", hook_name, shown_value(outcome.get_result()))

    # -- registration ------------------------------------------------------------
    def register_plugin(self, plugin: object, name: str) -> None:
        """Register ``plugin`` under ``name``. Raises a one-line :class:`PluginError` for a
        hook implementation whose name or arguments match no spec (here, not later)."""
        if self.has_plugin(name):
            return
        try:
            self.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            raise PluginError(self._validation_message(plugin, name, exc)) from None
        try:
            self.check_pending()
        except pluggy.PluginValidationError as exc:
            self.unregister(name=name)
            raise PluginError(self._validation_message(plugin, name, exc)) from None

    def _validation_message(
        self, plugin: object, name: str, exc: pluggy.PluginValidationError
    ) -> str:
        """One line: the plugin, the hook implementation at fault with its file:line, and
        what the spec offers."""
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr)
            where = _where(function)
            spec = getattr(getattr(self.hook, attr, None), "spec", None)
            if spec is None:
                return (
                    f"plugin {name!r}: {attr}() at {where} is not a voicekit hook "
                    "(see docs/hooks.md for the hook names)"
                )
            unknown = [
                a for a in _argnames(function) if a not in (*spec.argnames, *spec.kwargnames)
            ]
            if unknown:
                return (
                    f"plugin {name!r}: {attr}() at {where} takes {', '.join(map(repr, unknown))}, "
                    f"which the hook does not provide; it provides: {', '.join(spec.argnames)}"
                )
        return f"plugin {name!r}: " + " ".join(str(exc).split())

    # -- calling ---------------------------------------------------------------
    def impls_in_call_order(self, hook_name: str) -> list[pluggy.HookImpl]:
        """Implementations of ``hook_name`` in the order pluggy would call them."""
        return list(reversed(getattr(self.hook, hook_name).get_hookimpls()))

    def call_impl(self, impl: pluggy.HookImpl, **kwargs: Any) -> Any:
        """Call one implementation with only the arguments it declares (traced)."""
        hook_name = impl.opts.get("specname") or impl.function.__name__
        self.trace("hook %s -> %s(%s)", hook_name, impl.plugin_name, ", ".join(impl.argnames))
        result = impl.function(*[kwargs[name] for name in impl.argnames])
        if not inspect.isawaitable(result):
            self.trace("hook %s: %s returned %s", hook_name, impl.plugin_name, shown_value(result))
        return result

    async def acall_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Like a ``firstresult`` hook call, awaiting awaitable answers."""
        for impl in self.impls_in_call_order(hook_name):
            result = self.call_impl(impl, **kwargs)
            if inspect.isawaitable(result):
                result = await result
                self.trace(
                    "hook %s: %s returned %s", hook_name, impl.plugin_name, shown_value(result)
                )
            if result is not None:
                return result
        return None

    async def abroadcast(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation (awaiting awaitables); log and skip failures.

        Returns ``(plugin_name, result)`` pairs of the implementations that succeeded.
        """
        results: list[tuple[str, Any]] = []
        for impl in self.impls_in_call_order(hook_name):
            try:
                result = self.call_impl(impl, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                    self.trace(
                        "hook %s: %s returned %s", hook_name, impl.plugin_name, shown_value(result)
                    )
            except Exception:
                logger.exception("plugin %s failed in %s", impl.plugin_name, hook_name)
                continue
            results.append((impl.plugin_name, result))
        return results

    def collect(self, hook_name: str, **kwargs: Any) -> Iterator[tuple[str, list[tuple]]]:
        """Run a registration hook, yielding ``(plugin_name, [(args, kwargs), ...])``.

        Each implementation gets its own ``register`` callback so we know which plugin
        registered what (needed for clear conflict errors).
        """
        for impl in self.impls_in_call_order(hook_name):
            calls: list[tuple] = []

            def register(*args: Any, _calls: list[tuple] = calls, **kw: Any) -> None:
                _calls.append((args, kw))

            self.call_impl(impl, register=register, **kwargs)
            self.trace("hook %s: %s registered %d item(s)", hook_name, impl.plugin_name, len(calls))
            yield impl.plugin_name, calls


def _import(module_path: str, *, what: str) -> ModuleType:
    try:
        return importlib.import_module(module_path)
    except ImportError as exc:
        raise PluginError(f"{what}: cannot import {module_path!r}: {exc}") from exc
    except Exception as exc:
        raise PluginError(f"{what}: {import_failure(exc)}") from None


def import_failure(exc: BaseException) -> str:
    """One line for an exception raised while importing a plugin module: a syntax error
    as ``file:line: message``, anything else with the file and line that raised it."""
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename}:{exc.lineno}" if exc.filename else f"line {exc.lineno}"
        return f"syntax error at {where}: {exc.msg}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""
    return redact(f"import failed{where}: {type(exc).__name__}: {exc}")


def _argnames(function: Any) -> list[str]:
    """The parameters a hook implementation asks for (``self`` excluded, as pluggy does)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.name != "self"]


def _where(function: Any) -> str:
    """``file:line`` of a function (``?`` when unknown)."""
    try:
        code = inspect.unwrap(function).__code__
    except AttributeError:
        return "?"
    return f"{code.co_filename}:{code.co_firstlineno}"


def _load_entry_point(name: str) -> object:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            try:
                return ep.load()
            except Exception as exc:
                reason = import_failure(exc) if isinstance(exc, SyntaxError) else redact(str(exc))
                raise PluginError(
                    f"plugin {name!r} ({ep.value}) failed to load: {reason}"
                ) from None
    raise KeyError(name)


def _looks_like_module_path(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))


def build_plugin_manager(
    enable: Iterable[str] = (),
    *,
    search_path: Path | None = None,
    extra: Iterable[tuple[str, object]] = (),
) -> VoicekitPluginManager:
    """Make a plugin manager with the built-ins, the enabled plugins and ``extra``.

    ``enable`` holds entry-point names (group ``voicekit``) or dotted module paths;
    module paths are imported with ``search_path`` (the deployment's folder) on
    ``sys.path``. ``extra`` is ``(name, plugin)`` pairs registered last (tests).

    Raises :class:`PluginError` for an unknown name (listing what is installed), an
    import failure, or a hook implementation that matches no spec.
    """
    pm = VoicekitPluginManager()
    for name, module_path in BUILTIN_PLUGINS.items():
        pm.register_plugin(_import(module_path, what=f"built-in plugin {name!r}"), name)

    installed = installed_plugins()
    for name in enable:
        if name in BUILTIN_PLUGINS:
            continue  # built-ins are always on; naming one is harmless
        if name in installed:
            pm.register_plugin(_load_entry_point(name), name)
        elif _looks_like_module_path(name):
            pm.register_plugin(_import_local(name, search_path), name)
        else:
            raise unknown_plugin_error(name, installed)
    for name, plugin in extra:
        pm.register_plugin(plugin, name)
    return pm


def _import_local(module_path: str, search_path: Path | None) -> ModuleType:
    if search_path is not None and str(search_path) not in sys.path:
        sys.path.insert(0, str(search_path))
    try:
        return importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            raise unknown_plugin_error(module_path, installed_plugins()) from None
        raise PluginError(f"plugin {module_path!r} failed to import: {exc}") from None
    except Exception as exc:
        raise PluginError(f"plugin {module_path!r}: {import_failure(exc)}") from None


def unknown_plugin_error(name: str, installed: dict[str, InstalledPlugin]) -> PluginError:
    """A PluginError for ``name`` listing the installed and built-in plugins."""
    names = ", ".join(sorted(installed)) or "none"
    return PluginError(
        f"unknown plugin {name!r}: no entry point in group {ENTRY_POINT_GROUP!r} and no "
        f"importable module of that name. Installed plugins: {names}. "
        f"Built-in plugins: {', '.join(BUILTIN_PLUGINS)}."
    )


def plugin_hooks(pm: pluggy.PluginManager) -> dict[str, list[str]]:
    """``{plugin_name: [hook names it implements]}`` for every registered plugin."""
    return {
        name: sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        for name, plugin in pm.list_name_plugin()
    }
