"""A fallback chain of two real OpenAI LLMs: the first endpoint answers 500, the call
continues on the second (voicekit wraps chains in livekit's ``llm.FallbackAdapter``)."""

from __future__ import annotations

import time

import pytest

from voicekit_core.testing_openai import ChatReply, FakeOpenAI, ToolCallReply

CONFIG = """\
[agent]
name = "fallback-agent"
instructions = "You are a helpful agent talking to {{lead.name}}."

[models]
llm = [
  {{use = "openai:gpt-4o-mini", base_url = "{primary}", timeout = 5}},
  {{use = "openai:gpt-4o-mini", base_url = "{secondary}", timeout = 5}},
]

[leads]
path = "leads.csv"
"""


async def test_llm_chain_falls_back_to_second_endpoint(voicekit, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    async with FakeOpenAI(fail_first=10_000) as broken, FakeOpenAI() as healthy:
        healthy.script(
            ToolCallReply("take_message", {"message": "Please call me back tomorrow."}),
            ChatReply("Got it, I'll pass that on. Goodbye!"),
        )
        path = voicekit.write(CONFIG.format(primary=broken.base_url, secondary=healthy.base_url))
        deployment = voicekit.load(path)

        started = time.monotonic()
        async with voicekit.call(deployment) as run:
            await run.user_says("Can you take a message? Call me back tomorrow.")
        elapsed = time.monotonic() - started

    assert type(run.session.llm).__name__ == "FallbackAdapter"
    assert broken.requests, "the primary endpoint was never tried"
    assert {r.status for r in broken.requests} == {500}
    assert [r.status for r in healthy.requests] == [200, 200]
    assert healthy.tool_outputs(healthy.requests[1].body, "take_message") == [
        "message recorded; the team will call back"
    ]
    report = run.report
    assert report.disposition.value == "message_taken"
    assert report.transcript[-1].text == "Got it, I'll pass that on. Goodbye!"
    assert report.models["llm"] == ["openai:gpt-4o-mini", "openai:gpt-4o-mini"]
    assert elapsed < 10
