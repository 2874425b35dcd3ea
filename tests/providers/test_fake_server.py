"""The fake OpenAI server itself, driven by the official ``openai`` SDK client (the one
livekit-plugins-openai uses): streaming, non-streaming, models, scripted failures."""

from __future__ import annotations

import json

import openai
import pytest

from voicekit_core.testing_openai import ChatReply, FakeOpenAI, ToolCallReply


def client(fake: FakeOpenAI) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake.base_url, api_key="test-key", max_retries=0)


async def test_streams_text_tool_calls_and_usage(fake_openai: FakeOpenAI):
    fake_openai.script(
        ChatReply("Hello there!", tool_calls=[ToolCallReply("lookup", {"id": 7, "q": "x" * 40})])
    )
    stream = await client(fake_openai).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, arguments, pieces, usage, finish = "", "", 0, None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
            for call in choice.delta.tool_calls or []:
                if call.function and call.function.arguments:
                    arguments += call.function.arguments
                    pieces += 1
    assert text == "Hello there!"
    assert json.loads(arguments) == {"id": 7, "q": "x" * 40}
    assert pieces == 3  # split across chunks, as OpenAI does
    assert finish == "tool_calls"
    assert usage is not None and usage.total_tokens == 120
    (request,) = fake_openai.requests
    assert request.authorized and request.status == 200
    assert FakeOpenAI.system_prompt(request.body) == "Be brief."


async def test_non_streaming_models_and_callable_replies(fake_openai: FakeOpenAI):
    fake_openai.script(lambda body: f"you said {body['messages'][-1]['content']}")
    api = client(fake_openai)
    completion = await api.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "ping"}]
    )
    assert completion.choices[0].message.content == "you said ping"
    models = await api.models.list()
    assert [m.id for m in models.data] == ["gpt-4o-mini"]
    fallback = await api.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}]
    )
    assert fallback.choices[0].message.content == fake_openai.default_reply
    assert fake_openai.unscripted == 1


async def test_fail_first_n_requests():
    async with FakeOpenAI(fail_first=2) as fake:
        fake.script("finally")
        api = client(fake)
        for _ in range(2):
            with pytest.raises(openai.InternalServerError):
                await api.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "x"}]
                )
        ok = await api.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
    assert ok.choices[0].message.content == "finally"
    assert [r.status for r in fake.requests] == [500, 500, 200]
    assert len(fake.served) == 1
