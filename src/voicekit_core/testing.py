"""A pytest plugin for voicekit plugin authors (auto-loaded through ``pytest11``).

Install the test tools with ``pip install 'voicekit-core[testing]'`` (pytest,
pytest-asyncio, pytest-httpserver) and set ``asyncio_mode = "auto"`` under
``[tool.pytest.ini_options]``. Fixtures:

* ``voicekit`` - a :class:`~voicekit_core.harness.Harness`: register in-memory plugins
  (unregistered after the test), write a deployment, load it, run text calls through a
  real livekit ``AgentSession``; a failed ``post_call`` delivery fails the call
  (``strict_deliveries=False`` to allow it), ``await voicekit.retry_deliveries(run)``
  re-runs failed ones;
* ``http_receiver`` - a :class:`~voicekit_core.testing_http.HttpReceiver` on 127.0.0.1
  that answers 200 and keeps every request (``fail(path, status, times)`` for errors).

Everything this module exports is also importable without pytest:
:mod:`voicekit_core.harness` (``Harness``, ``MINIMAL_CONFIG``...) and
:mod:`voicekit_core.scripted_llm` (``ScriptedLLM``, ``ToolCall``, ``Reply``, ``replies``).

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

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .harness import MINIMAL_CONFIG, MINIMAL_LEADS, TEST_PHONE, DeliveryFailed, Harness

if TYPE_CHECKING:  # imported on first use (module __getattr__): livekit is heavy
    from .scripted_llm import Reply, ScriptedLLM, ToolCall, replies

_LAZY = {"Reply", "ScriptedLLM", "ToolCall", "replies"}


def __getattr__(name: str) -> Any:
    # livekit is imported only when a test uses the scripted LLM, not when pytest loads us.
    if name in _LAZY:
        from . import scripted_llm

        return getattr(scripted_llm, name)
    if name in ("HttpReceiver", "ReceivedRequest"):
        from . import testing_http

        return getattr(testing_http, name)
    raise AttributeError(name)


@pytest.fixture
def voicekit(tmp_path: Path) -> Iterator[Harness]:
    """A :class:`~voicekit_core.harness.Harness` whose registered plugins vanish after
    the test."""
    harness = Harness(tmp_path)
    yield harness
    harness.plugins.clear()


@pytest.fixture
def http_receiver() -> Iterator[Any]:
    """A local HTTP server on 127.0.0.1 that answers 200 and records every request
    (:class:`~voicekit_core.testing_http.HttpReceiver`; needs pytest-httpserver)."""
    from .testing_http import HttpReceiver

    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


__all__ = [
    "MINIMAL_CONFIG",
    "MINIMAL_LEADS",
    "TEST_PHONE",
    "DeliveryFailed",
    "Harness",
    "Reply",
    "ScriptedLLM",
    "ToolCall",
    "replies",
]
