"""Default model selection: realtime if its key is present, else pipeline, else scripted."""

from __future__ import annotations

from click.testing import CliRunner

from voicekit_core import ModelSelection, hookimpl
from voicekit_core.builder import prepare_call, select_models
from voicekit_core.cli import build_cli
from voicekit_core.config import ModelRef
from voicekit_core.testing import MINIMAL_CONFIG, TEST_PHONE

MODELS = """
[models]
realtime = { use = "openai:gpt-realtime", voice = "marin" }
stt = "deepgram:nova-3"
llm = ["google:gemini-2.5-flash", "openai:gpt-4o-mini"]
tts = "cartesia:sonic-2"
"""


async def _selection(voicekit, config: str = MINIMAL_CONFIG + MODELS) -> ModelSelection:
    deployment = voicekit.load(voicekit.write(config))
    call = await prepare_call(deployment, TEST_PHONE)
    return select_models(call)


async def test_realtime_when_its_key_is_present(voicekit, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    selection = await _selection(voicekit)
    assert [str(r) for r in selection.realtime] == ["openai:gpt-realtime"]
    assert selection.realtime[0].options == {"voice": "marin"}
    assert selection.llm == []
    assert selection.reason == "realtime openai:gpt-realtime: key present"


async def test_pipeline_when_only_pipeline_keys_are_present(voicekit, monkeypatch):
    for key in ("GOOGLE_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY"):
        monkeypatch.setenv(key, "test-not-real")
    selection = await _selection(voicekit)
    assert selection.realtime == []
    assert [str(r) for r in selection.stt] == ["deepgram:nova-3"]
    # the OpenAI link of the LLM chain has no key: dropped, and the reason says so
    assert [str(r) for r in selection.llm] == ["google:gemini-2.5-flash"]
    assert [str(r) for r in selection.tts] == ["cartesia:sonic-2"]
    assert selection.reason.startswith("pipeline with LLM google:gemini-2.5-flash: key present")
    assert "openai:gpt-realtime (missing OPENAI_API_KEY)" in selection.reason
    assert "openai:gpt-4o-mini (missing OPENAI_API_KEY)" in selection.reason


async def test_scripted_when_no_key_is_present(voicekit):
    selection = await _selection(voicekit)
    assert selection.llm == [ModelRef(provider="scripted")]
    assert selection.reason.startswith("offline fallback scripted: no configured model has its key")


async def test_api_key_env_option_replaces_the_provider_key(voicekit, monkeypatch):
    monkeypatch.setenv("LOCAL_LLM_KEY", "local")
    config = MINIMAL_CONFIG + (
        '\n[models]\nllm = { use = "openai:llama3", base_url = "http://127.0.0.1:9/v1",'
        ' api_key_env = "LOCAL_LLM_KEY" }\n'
    )
    selection = await _selection(voicekit, config)
    assert [str(r) for r in selection.llm] == ["openai:llama3"]


async def test_a_plugin_overrides_per_call(voicekit, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")

    class SpanishVoice:
        @hookimpl
        def select_models(self, call, config):
            if call.lead.timezone != "America/New_York":
                return None
            return ModelSelection(
                realtime=[
                    ModelRef(provider="openai", model="gpt-realtime", options={"voice": "ash"})
                ],
                reason="east-coast voice",
            )

    voicekit.register(SpanishVoice(), name="voices")
    selection = await _selection(voicekit)
    assert selection.realtime[0].options == {"voice": "ash"}
    assert selection.reason == "voices: east-coast voice"


def test_check_names_missing_keys_by_variable_never_by_value(voicekit, monkeypatch):
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg-secret-value-123")
    path = voicekit.write(MINIMAL_CONFIG + MODELS)
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert "models.realtime = openai:gpt-realtime: OPENAI_API_KEY not set" in result.output
    assert "models.tts = cartesia:sonic-2: CARTESIA_API_KEY not set" in result.output
    assert "DEEPGRAM_API_KEY not set" not in result.output
    assert "dg-secret-value-123" not in result.output
