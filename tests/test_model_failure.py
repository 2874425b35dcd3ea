"""A model failing for good ends the call as `failed` with a one-line reason, journaled,
with no traceback and no secret in any output."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voicekit_core.calls import Disposition
from voicekit_core.cli import build_cli
from voicekit_core.testing import MINIMAL_CONFIG
from voicekit_core.testing_openai import FakeOpenAI

CANARY = "sk-canary-0f9e8d7c6b5a"


async def test_an_llm_401_ends_the_call_as_failed(voicekit):
    from livekit.plugins import openai

    deployment = voicekit.load()
    async with FakeOpenAI(fail_first=100, fail_status=401) as fake:
        llm = openai.LLM(model="gpt-4o-mini", base_url=fake.base_url, api_key=CANARY)
        async with voicekit.call(deployment, llm=llm) as run:
            await run.user_says("hello")
            await run.user_says("never played")  # not reached: the failure ends the call
    report = run.report
    assert report.disposition is Disposition.FAILED
    assert "authentication failed (HTTP 401)" in report.disposition_reason
    assert CANARY not in report.model_dump_json()
    assert deployment.journal.get(report.call_id).disposition is Disposition.FAILED


@pytest.mark.parametrize("status, reason", [(401, "authentication failed"), (429, "rate limited")])
def test_simulate_says_why_in_one_line(voicekit, tmp_path, monkeypatch, status, reason):
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    fake = FakeOpenAI(fail_first=1000, fail_status=status)
    loop.run_until_complete(fake.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
        model = f'{{use = "openai:gpt-4o-mini", base_url = "{fake.base_url}"}}'
        path = voicekit.write(MINIMAL_CONFIG + f"\n[models]\nllm = {model}\n")
        script = tmp_path / "script.yaml"
        script.write_text("lead_phone: '+14155550123'\nturns: ['hello', 'still there?']\n")
        result = CliRunner().invoke(build_cli(), ["simulate", str(path), "--script", str(script)])
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    assert result.exit_code == 1, result.output
    assert reason in result.output
    assert "Traceback" not in result.output
    assert CANARY not in result.output
