"""Every hook spec, called through the real plugin manager in a real deployment."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from voicekit_core import (
    CallVetoed,
    Disposition,
    Lead,
    ModelSelection,
    PluginError,
    Provider,
    hookimpl,
)
from voicekit_core.config import ModelRef
from voicekit_core.runner import create_call
from voicekit_core.testing import MINIMAL_CONFIG, TEST_PHONE, ScriptedLLM, ToolCall, replies


class EchoSettings(BaseModel):
    greeting_word: str = "hello"


class Recorder:
    """Implements the lifecycle hooks and records the order they ran in."""

    def __init__(self):
        self.events: list[str] = []

    @hookimpl
    def call_started(self, call):
        self.events.append(f"started:{call.call_id}")

    @hookimpl
    async def call_ended(self, call, report):
        journaled = call.deployment.journal.get(report.call_id)
        self.events.append(f"ended:{journaled is not None}")

    @hookimpl
    def post_call(self, report, config):
        # the report is journaled before any delivery runs
        self.events.append("post_call")
        return {"seen": report.call_id}


def test_register_settings_validates_the_plugin_table(voicekit):
    class Echo:
        @hookimpl
        def register_settings(self, register):
            register(EchoSettings)

    voicekit.register(Echo(), name="echo")
    path = voicekit.write(MINIMAL_CONFIG + '\n[plugins.echo]\ngreeting_word = "hola"\n')
    assert voicekit.load(path).config.plugin_settings("echo").greeting_word == "hola"


async def test_register_providers_and_select_models_override(voicekit):
    made = []

    class Custom:
        @hookimpl
        def register_providers(self, register):
            def make_llm(ref, call):
                made.append((ref.model, call.lead.first_name))
                return ScriptedLLM(replies("Custom model here."), model=ref.model)

            register(Provider(name="custom", llm=make_llm))

        @hookimpl
        def select_models(self, call, config):
            return ModelSelection(llm=[ModelRef(provider="custom", model="m1")], reason="per lead")

    voicekit.register(Custom(), name="custom")
    deployment = voicekit.load()
    async with voicekit.call(deployment) as run:
        await run.user_says("hi")
    assert made == [("m1", "Ada")]
    assert run.report.models == {"llm": ["custom:m1"], "reason": "custom: per lead"}
    assert run.report.transcript[-1].text == "Custom model here."


def test_duplicate_provider_name_is_an_error(voicekit):
    class Twice:
        @hookimpl
        def register_providers(self, register):
            register(Provider(name="scripted"))

    voicekit.register(Twice(), name="twice")
    with pytest.raises(PluginError, match="'scripted' registered by both"):
        voicekit.load()


async def test_default_selection_falls_back_to_scripted_and_says_why(voicekit, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    class FakeOpenAI:
        @hookimpl
        def register_providers(self, register):
            register(Provider(name="fakeai", env_keys=("FAKEAI_API_KEY",), llm=lambda r, c: None))

    voicekit.register(FakeOpenAI(), name="fakeai")
    path = voicekit.write(MINIMAL_CONFIG + '\n[models]\nllm = "fakeai:big"\n')
    deployment = voicekit.load(path)
    run = await create_call(deployment, TEST_PHONE)
    assert run.call.selection.llm == [ModelRef(provider="scripted")]
    assert "offline fallback scripted" in run.call.selection.reason
    assert "fakeai:big (missing FAKEAI_API_KEY)" in run.call.selection.reason
    assert any("FAKEAI_API_KEY not set" in w for w in deployment.warnings)


def _tool(name: str, text: str):
    from livekit.agents import function_tool

    async def handler() -> str:
        return text

    handler.__name__ = name
    handler.__doc__ = f"{name} tool."
    return function_tool(handler, name=name)


async def test_register_tools_conflict_and_fallback_precedence(voicekit):
    class Local:
        @hookimpl
        def register_tools(self, register, call):
            register(_tool("book", "local calendar"), fallback=True)

    class Teams:
        @hookimpl
        def register_tools(self, register, call):
            register(_tool("book", "teams calendar"))

    voicekit.register(Local(), name="local")
    voicekit.register(Teams(), name="teams")
    deployment = voicekit.load()
    llm = ScriptedLLM(replies(ToolCall("book"), "Booked."))
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("book it")
    assert run.report.tool_call("book").output == "teams calendar"
    assert run.report.data["tools"]["book"] == "teams"

    class Another:
        @hookimpl
        def register_tools(self, register, call):
            register(_tool("book", "another"))

    voicekit.register(Another(), name="another")
    with pytest.raises(
        PluginError, match=r"registered by both '(another|teams)' and '(another|teams)'"
    ):
        await create_call(voicekit.load(), TEST_PHONE)


async def test_lookup_lead_async_plugin_wins_over_csv(voicekit):
    class Crm:
        @hookimpl
        async def lookup_lead(self, phone, call):
            return Lead(first_name="Grace", company="CRM Inc", phone=phone, source="crm")

    voicekit.register(Crm(), name="crm")
    run = await create_call(voicekit.load(), "(415) 555-0123")
    assert run.call.phone == TEST_PHONE
    assert run.call.lead.first_name == "Grace"
    assert "Grace" in run.agent.instructions


async def test_lookup_lead_unknown_number_gets_unknown_lead(voicekit):
    run = await create_call(voicekit.load(), "+12025550199")
    assert run.call.lead.source == "unknown"
    assert run.call.notes == ["no lead source knows +12025550199"]


async def test_call_instructions_sections_are_appended(voicekit):
    class Context:
        @hookimpl
        def call_instructions(self, call):
            return f"Lead company: {call.lead.company}"

    voicekit.register(Context(), name="context")
    run = await create_call(voicekit.load(), TEST_PHONE)
    assert run.agent.instructions.startswith("You are a test agent talking to Ada Lovelace.")
    assert run.agent.instructions.endswith("Lead company: Analytical Engines")


async def test_before_dial_veto_stops_the_call_and_journals_nothing(voicekit):
    class Dnc:
        @hookimpl
        def before_dial(self, lead, call):
            return f"{lead.phone} is on the DNC list"

    voicekit.register(Dnc(), name="dnc")
    deployment = voicekit.load()
    with pytest.raises(CallVetoed) as excinfo:
        await create_call(deployment, TEST_PHONE)
    assert excinfo.value.plugin == "dnc"
    assert excinfo.value.reason == "+14155550123 is on the DNC list"
    assert deployment.journal.list() == []
    # inbound calls are not dialed, so the veto does not apply
    inbound = await create_call(deployment, TEST_PHONE, direction="inbound")
    assert inbound.call.direction == "inbound"


async def test_lifecycle_order_and_post_call_isolation(voicekit):
    recorder = Recorder()

    class Broken:
        @hookimpl
        def post_call(self, report, config):
            raise RuntimeError("CRM is down")

    voicekit.register(recorder, name="recorder")
    voicekit.register(Broken(), name="broken")
    deployment = voicekit.load()
    llm = ScriptedLLM(replies(ToolCall("end_call", {"disposition": "not_interested"}), None))
    async with voicekit.call(deployment, llm=llm, strict_deliveries=False) as run:
        await run.user_says("not interested")
    report = run.report
    assert recorder.events == [f"started:{report.call_id}", "ended:True", "post_call"]
    statuses = {d.plugin: (d.status, d.error) for d in report.post_call}
    assert statuses == {
        "broken": ("failed", "RuntimeError: CRM is down"),
        "recorder": ("delivered", ""),
    }
    assert report.disposition is Disposition.NOT_INTERESTED
    assert deployment.journal.deliveries(report.call_id)[1].result == {"seen": report.call_id}


def test_worker_prewarm_reaches_enabled_plugins(voicekit, monkeypatch):
    from voicekit_core import worker

    plugin = """
from voicekit_core import hookimpl
WARMED = []

@hookimpl
def worker_prewarm(config):
    WARMED.append(config.agent.name)
"""
    path = voicekit.write(
        MINIMAL_CONFIG + '\n[plugins]\nenable = ["prewarm_probe_plugin"]\n',
        files={"prewarm_probe_plugin.py": plugin},
    )
    monkeypatch.setenv(worker.CONFIG_ENV, str(path))
    worker.current_deployment.cache_clear()
    try:
        worker.prewarm(proc=None)
        import prewarm_probe_plugin

        assert prewarm_probe_plugin.WARMED == ["test-agent"]
    finally:
        worker.current_deployment.cache_clear()
