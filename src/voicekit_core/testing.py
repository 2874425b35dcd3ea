"""A pytest plugin for voicekit plugin authors (auto-loaded through ``pytest11``).

Fixtures:

* ``voicekit`` - a :class:`Harness`: register in-memory plugins (unregistered after
  the test), write a deployment, load it, and run text calls through a real livekit
  ``AgentSession``.

Example::

    from voicekit_core import hookimpl
    from voicekit_core.testing import ScriptedLLM, ToolCall, replies

    class Weather:
        @hookimpl
        def register_tools(self, register, call):
            from livekit.agents import function_tool

            @function_tool
            async def forecast(city: str) -> str:
                '''Forecast for a city.'''
                return f"sunny in {city}"
            register(forecast)

    async def test_forecast(voicekit):
        voicekit.register(Weather(), name="weather")
        deployment = voicekit.load()
        llm = ScriptedLLM(replies(ToolCall("forecast", {"city": "Lima"}), "Sunny!"))
        async with voicekit.call(deployment, llm=llm) as run:
            result = await run.user_says("Weather in Lima?")
            result.expect.next_event().is_function_call(name="forecast")
        assert run.report.tool_calls[0].output == "sunny in Lima"
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from .deployment import Deployment, load_deployment

_LAZY = {"Reply", "ScriptedLLM", "ToolCall", "replies"}


def __getattr__(name: str) -> Any:
    # livekit is imported only when a test uses the scripted LLM, not when pytest loads us.
    if name in _LAZY:
        from . import scripted_llm

        return getattr(scripted_llm, name)
    raise AttributeError(name)


#: A deployment with no plugins and one lead; ``voicekit.write()`` starts from it.
MINIMAL_CONFIG = """\
[agent]
name = "test-agent"
instructions = "You are a test agent talking to {lead.name}."
greeting = "Hello {lead.first_name}!"

[leads]
path = "leads.csv"
"""

MINIMAL_LEADS = """\
prospect_name,company_name,job_title,phone,email,timezone,resource_name
Ada Lovelace,Analytical Engines,CTO,+14155550123,ada@example.com,America/New_York,rep
"""

TEST_PHONE = "+14155550123"


class Harness:
    """Build deployments and run calls in tests. See the module docstring."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.plugins: list[tuple[str, object]] = []

    def register(self, plugin: object, name: str | None = None) -> None:
        """Add ``plugin`` to every deployment this harness loads (until the test ends)."""
        self.plugins.append((name or getattr(plugin, "__name__", type(plugin).__name__), plugin))

    def unregister(self, name: str) -> None:
        self.plugins = [(n, p) for n, p in self.plugins if n != name]

    def write(
        self,
        config: str = MINIMAL_CONFIG,
        *,
        files: dict[str, str] | None = None,
        folder: str = "deployment",
    ) -> Path:
        """Write ``voicekit.toml`` (plus ``leads.csv`` and ``files``) to a temp folder."""
        root = self.tmp_path / folder
        root.mkdir(parents=True, exist_ok=True)
        (root / "voicekit.toml").write_text(textwrap.dedent(config), encoding="utf-8")
        all_files = {"leads.csv": MINIMAL_LEADS, **(files or {})}
        for name, text in all_files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text), encoding="utf-8")
        return root / "voicekit.toml"

    def load(
        self, path: Path | str | None = None, *, environ: dict[str, str] | None = None
    ) -> Deployment:
        """Load a deployment (default: a fresh :data:`MINIMAL_CONFIG`) with the registered
        test plugins."""
        return load_deployment(path or self.write(), extra_plugins=self.plugins, environ=environ)

    @asynccontextmanager
    async def call(
        self, deployment: Deployment, phone: str = TEST_PHONE, **options: Any
    ) -> AsyncIterator[Any]:
        """A started text-mode call (see :func:`voicekit_core.runner.open_call`);
        ``greet`` defaults to False here so scripted replies line up with user turns."""
        from .runner import open_call

        options.setdefault("greet", False)
        async with open_call(deployment, phone, **options) as run:
            yield run


@pytest.fixture
def voicekit(tmp_path: Path) -> Harness:
    """A :class:`Harness` whose registered plugins vanish after the test."""
    harness = Harness(tmp_path)
    yield harness
    harness.plugins.clear()


__all__ = [
    "MINIMAL_CONFIG",
    "MINIMAL_LEADS",
    "TEST_PHONE",
    "Harness",
]
