"""Fuzz: any arguments a model sends to the built-in tools end in a clean call.

Whatever the model passes (wrong types, markup, huge or empty strings, unknown keys), the
call finishes, its report is journaled once with the tool call recorded (an error result
the model could read, never a crash), and no canary secret reaches the report.
"""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicekit_core.testing import ScriptedLLM, ToolCall, replies

CANARY = "canary-secret-7d41c09e5b"

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=60),
    st.sampled_from(["[/]", "[bold]x", "{lead.__class__}", "${OPENAI_API_KEY}", "x" * 5000]),
)
_arguments = st.dictionaries(
    st.sampled_from(["disposition", "reason", "when", "message", "name", "callback", "bogus"]),
    st.one_of(_scalars, st.lists(_scalars, max_size=3)),
    max_size=4,
)
_tools = st.sampled_from(["end_call", "take_message", "schedule_callback"])


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tool=_tools, arguments=_arguments)
def test_any_tool_arguments_end_in_a_clean_journaled_call(voicekit, monkeypatch, tool, arguments):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    deployment = voicekit.load()
    before = deployment.journal.count()

    async def scenario():
        llm = ScriptedLLM(replies(ToolCall(tool, arguments), "Thanks, goodbye."))
        async with voicekit.call(deployment, llm=llm) as run:
            await run.user_says("hello")
        return run.report

    report = asyncio.run(scenario())
    assert deployment.journal.count() == before + 1
    assert [call.name for call in report.tool_calls] == [tool]
    assert CANARY not in report.model_dump_json()
    assert deployment.journal.get(report.call_id).call_id == report.call_id
