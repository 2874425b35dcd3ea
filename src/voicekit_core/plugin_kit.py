"""``voicekit plugin new``: a publishable plugin distribution from the shipped template.

The template (``voicekit_core/plugin_template/``, package data) is a cookiecutter
template: a src-layout package with the entry point in group ``voicekit``, a settings
model, one example per chosen hook, a README with the plugin's hook table, tests on
voicekit's harness, a ``demo/`` deployment and caller script for ``voicekit simulate``,
and a CI-ready ``noxfile.py`` (plus a GitHub Actions workflow running it). Rendering is
cookiecutter's (Jinja), not string concatenation::

    new_plugin("orders", hooks=["tools", "post_call"], output_dir=Path("."))
    # ./voicekit-orders/  pip install -e './voicekit-orders[test]' && pytest
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable
from pathlib import Path

from .errors import InputError, Problem
from .plugins import BUILTIN_PLUGINS

TEMPLATE = Path(__file__).parent / "plugin_template"

#: ``--hooks`` names -> the hooks each example implements.
HOOK_CHOICES: dict[str, str] = {
    "tools": "register_tools (a function tool)",
    "post_call": "post_call (deliver the finished call to a webhook)",
    "lead_lookup": "lookup_lead (find the caller by phone)",
    "instructions": "call_instructions (a prompt section)",
    "before_dial": "before_dial (veto a call)",
    "lifecycle": "call_started / call_ended",
    "commands": "register_commands (a `voicekit` subcommand)",
}
DEFAULT_HOOKS = ("tools", "post_call")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginNameError(InputError):
    """The plugin name or the hooks asked for cannot make a plugin."""


def plugin_names(name: str) -> tuple[str, str, str]:
    """``(plugin name, distribution name, package name)`` for ``name``:
    ``"order-status"`` -> ``("order_status", "voicekit-order-status",
    "voicekit_order_status")``; a ``voicekit-`` prefix is dropped first.

    Raises :class:`PluginNameError` for a name that is not a lower-case identifier once
    dashes are underscores, a Python keyword, or the name of a built-in plugin.
    """
    base = name.strip().lower()
    for prefix in ("voicekit-", "voicekit_"):
        base = base.removeprefix(prefix)
    plugin = base.replace("-", "_")
    reason = ""
    if not _NAME.match(plugin):
        reason = "use lower-case letters, digits, '-' or '_', starting with a letter"
    elif keyword.iskeyword(plugin):
        reason = "a Python keyword cannot name a plugin"
    elif plugin in BUILTIN_PLUGINS:
        reason = f"{plugin!r} is a built-in plugin's name"
    if reason:
        raise PluginNameError([Problem("voicekit plugin new", "NAME", repr(name), reason)])
    return plugin, f"voicekit-{plugin.replace('_', '-')}", f"voicekit_{plugin}"


def parse_hooks(hooks: str | Iterable[str]) -> list[str]:
    """``"tools,post_call"`` (or a list) as a list in the template's order; raises
    :class:`PluginNameError` naming an unknown hook and the known ones."""
    items = hooks.split(",") if isinstance(hooks, str) else list(hooks)
    wanted = {h.strip().replace("-", "_") for h in items if h.strip()}
    unknown = sorted(wanted - set(HOOK_CHOICES))
    if unknown:
        known = ", ".join(HOOK_CHOICES)
        raise PluginNameError(
            [Problem("voicekit plugin new", "--hooks", ", ".join(unknown), f"known: {known}")]
        )
    return [h for h in HOOK_CHOICES if h in wanted]


def new_plugin(
    name: str,
    *,
    hooks: str | Iterable[str] = DEFAULT_HOOKS,
    output_dir: Path = Path("."),
    description: str = "",
    author: str = "",
    version: str = "0.1.0",
    core_requirement: str | None = None,
) -> Path:
    """Render the plugin template for ``name`` into ``output_dir``; returns the new
    distribution's folder (``output_dir/voicekit-NAME``).

    ``core_requirement`` is the ``voicekit-core`` requirement written to its
    ``pyproject.toml`` (default: ``voicekit-core>=X.Y`` of this version). Raises
    :class:`PluginNameError` for a bad name or hook, or if the folder already exists.
    """
    from cookiecutter.generate import generate_files

    from . import __version__

    plugin, dist, package = plugin_names(name)
    chosen = parse_hooks(hooks)
    target = Path(output_dir) / dist
    if target.exists():
        raise PluginNameError(
            [Problem(str(target), "", "", "already exists; pick another name or folder")]
        )
    major_minor = ".".join(__version__.split(".")[:2])
    # written into TOML strings, a docstring and Markdown: one line, no quotes or backslashes
    description, author = (
        " ".join(text.split()).replace('"', "'").replace("\\", "/")
        for text in (description, author)
    )
    context = {
        "cookiecutter": {
            "plugin_name": plugin,
            "dist_name": dist,
            "package_name": package,
            "description": description or f"A voicekit plugin: {plugin.replace('_', ' ')}",
            "author": author,
            "version": version,
            "hooks": ",".join(chosen),
            "voicekit_core_requirement": core_requirement or f"voicekit-core>={major_minor}",
        }
    }
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    created = generate_files(
        repo_dir=str(TEMPLATE),
        context=context,
        output_dir=str(output_dir),
        overwrite_if_exists=False,
        accept_hooks=False,
    )
    return Path(created)


__all__ = [
    "DEFAULT_HOOKS",
    "HOOK_CHOICES",
    "TEMPLATE",
    "PluginNameError",
    "new_plugin",
    "parse_hooks",
    "plugin_names",
]
