"""The real OpenAI realtime model (livekit-plugins-openai) connecting to a local WebSocket
server, built through voicekit's ``realtime = {use = "openai:...", base_url = ...}``."""

from __future__ import annotations

from typing import Any

import pytest

from voicekit_core.testing_openai import FakeOpenAI

CONFIG = """\
[agent]
name = "rt-agent"
instructions = "You are Sofía from TDX, calling {{lead.name}} at {{lead.company}}."

[models]
realtime = {{use = "openai:gpt-realtime", base_url = "{base_url}", voice = "marin", max_retry = 0}}

[leads]
path = "leads.csv"
"""


def _session_updates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["session"] for e in events if e.get("type") == "session.update"]


def _has_instructions_and_tools(events: list[dict[str, Any]]) -> bool:
    sessions = _session_updates(events)
    return any("instructions" in s for s in sessions) and any("tools" in s for s in sessions)


async def test_realtime_session_update_carries_instructions_and_tools(
    voicekit, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    deployment = voicekit.load(voicekit.write(CONFIG.format(base_url=fake_openai.base_url)))

    async with voicekit.call(deployment) as run:
        events = await fake_openai.wait_for_realtime_events(_has_instructions_and_tools)
        assert run.call.selection is not None
        assert run.call.selection.realtime[0].model == "gpt-realtime"
    # AgentSession.aclose() leaves the model open; it owns an aiohttp session outside a job
    await run.session.llm.aclose()

    (connection,) = fake_openai.realtime_connections
    assert connection.query["model"] == "gpt-realtime"
    assert connection.authorized
    # livekit 1.8.9 opens with a session.update of the model options, then sends the
    # instructions and the tools as two more session.update events, before anything else
    assert [e["type"] for e in events[:3]] == ["session.update"] * 3
    first = events[0]["session"]
    assert first["model"] == "gpt-realtime"
    assert first["audio"]["output"]["voice"] == "marin"

    sessions = _session_updates(events)
    instructions = next(s["instructions"] for s in sessions if "instructions" in s)
    assert "Ada Lovelace" in instructions and "Analytical Engines" in instructions
    tools = {t["name"]: t for s in sessions if "tools" in s for t in s["tools"]}
    assert {"end_call", "take_message"} <= set(tools)
    assert tools["take_message"]["type"] == "function"
    assert "message" in tools["take_message"]["parameters"]["properties"]
