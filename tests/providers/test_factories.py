"""Each built-in provider factory builds its real livekit object from config options,
offline; bad options, missing keys and missing extras fail with clear PluginErrors."""

from __future__ import annotations

import logging
import socket
import sys
from typing import Any

import pytest

from voicekit_core import ModelRef, PluginError
from voicekit_core.builder import instantiate_models, prepare_call, select_models
from voicekit_core.testing import TEST_PHONE

KEYS = {
    "OPENAI_API_KEY": "sk-openai-secret-value",
    "GOOGLE_API_KEY": "google-secret-value",
    "DEEPGRAM_API_KEY": "deepgram-secret-value",
    "CARTESIA_API_KEY": "cartesia-secret-value",
}

PIPELINE = """\
[agent]
name = "pipeline-agent"
instructions = "Talk to {lead.name}."
language = "es"

[models]
stt = {use = "deepgram:nova-3", keyterms = ["TDX"], endpointing_ms = 300}
llm = {use = "openai:gpt-4o-mini", base_url = "http://127.0.0.1:9/v1", temperature = 0.2}
tts = {use = "cartesia:sonic-3", voice = "f786b574-daa5-4673-aa0c-cbe3e8534c02", speed = 1.1}

[leads]
path = "leads.csv"
"""

GOOGLE_REALTIME = """\
[agent]
name = "dialer"
instructions = "Talk to {lead.name}."

[models]
realtime = {use = "google:gemini-2.5-flash-native-audio-preview-12-2025", voice = "Leda", temperature = 0.6}
llm = "openai:gpt-4o-mini"

[leads]
path = "leads.csv"
"""


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GOOGLE_GENAI_USE_VERTEXAI", raising=False)
    return KEYS


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything resolves a host or opens a socket connection."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access during construction: {args!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
async def call(voicekit):
    deployment = voicekit.load(voicekit.write())
    return await prepare_call(deployment, TEST_PHONE)


def create(call, kind: str, spec: Any) -> Any:
    return call.deployment.providers.create(kind, ModelRef.model_validate(spec), call)


async def test_builtin_providers_are_registered(call):
    providers = call.deployment.providers
    assert {"openai", "google", "deepgram", "cartesia", "scripted"} <= set(providers.names())
    openai = providers.get("openai")
    assert openai.env_keys == ("OPENAI_API_KEY",)
    assert all(openai.factory(k) for k in ("llm", "stt", "tts", "realtime"))
    google = providers.get("google")
    assert google.llm and google.realtime and not google.stt and not google.tts
    assert providers.get("deepgram").stt and not providers.get("deepgram").llm
    assert providers.get("cartesia").tts and not providers.get("cartesia").stt


async def test_openai_factories(call, keys, no_network):
    from livekit.plugins import openai

    llm = create(
        call,
        "llm",
        {
            "use": "openai:gpt-4o-mini",
            "base_url": "http://127.0.0.1:9/v1",
            "temperature": 0.2,
            "max_retries": 1,
        },
    )
    assert isinstance(llm, openai.LLM)
    assert llm.model == "gpt-4o-mini"
    assert llm._client.base_url.host == "127.0.0.1"
    assert llm._opts.temperature == 0.2

    default = create(call, "llm", "openai")
    assert default.model == openai.LLM().model  # "" -> the plugin's default

    stt = create(call, "stt", {"use": "openai:gpt-4o-transcribe"})
    assert isinstance(stt, openai.STT) and stt.model == "gpt-4o-transcribe"
    assert stt._opts.languages == ["en"]  # the agent's language

    tts = create(call, "tts", {"use": "openai:gpt-4o-mini-tts", "voice": "coral", "speed": 1.2})
    assert isinstance(tts, openai.TTS)
    assert (tts._opts.voice, tts._opts.speed) == ("coral", 1.2)

    realtime = create(
        call,
        "realtime",
        {
            "use": "openai:gpt-realtime",
            "voice": "marin",
            "temperature": 0.7,
            "max_retry": 1,
            "connect_timeout": 3,
        },
    )
    assert isinstance(realtime, openai.realtime.RealtimeModel)
    assert (realtime.model, realtime._opts.voice) == ("gpt-realtime", "marin")
    assert realtime._opts.conn_options.max_retry == 1
    assert realtime._opts.conn_options.timeout == 3


async def test_google_factories(call, keys, no_network):
    from livekit.plugins import google

    llm = create(call, "llm", {"use": "google:gemini-2.5-flash", "temperature": 0.3})
    assert isinstance(llm, google.LLM)
    assert llm.model == "gemini-2.5-flash"
    assert llm._opts.temperature == 0.3 and llm._opts.vertexai is False

    realtime = create(call, "realtime", {"use": "google", "voice": "Leda", "temperature": 0.6})
    assert isinstance(realtime, google.realtime.RealtimeModel)
    assert realtime._opts.voice == "Leda"
    assert realtime._opts.temperature == 0.6
    assert realtime._opts.api_key == keys["GOOGLE_API_KEY"]


async def test_deepgram_and_cartesia_factories(call, keys, no_network):
    from livekit.plugins import cartesia, deepgram

    stt = create(
        call,
        "stt",
        {
            "use": "deepgram:nova-3",
            "language": "en-US",
            "keyterms": ["TDX", "Copilot"],
            "smart_format": True,
        },
    )
    assert isinstance(stt, deepgram.STT)
    assert stt.model == "nova-3"
    assert stt._opts.language == "en-US"
    assert stt._opts.keyterm == ["TDX", "Copilot"]
    assert stt._opts.smart_format is True

    tts = create(call, "tts", {"use": "cartesia:sonic-3", "voice": "voice-id", "speed": 1.1})
    assert isinstance(tts, cartesia.TTS)
    assert (tts.model, tts._opts.voice, tts._opts.speed) == ("sonic-3", "voice-id", 1.1)
    assert tts._opts.language == "en"


async def test_pipeline_from_config(voicekit, keys, no_network):
    """``stt`` / ``llm`` / ``tts`` in [models] -> Deepgram + OpenAI + Cartesia objects."""
    from livekit.plugins import cartesia, deepgram, openai

    deployment = voicekit.load(voicekit.write(PIPELINE))
    call = await prepare_call(deployment, TEST_PHONE)
    selection = select_models(call)
    assert [str(r) for r in selection.llm] == ["openai:gpt-4o-mini"]
    built = instantiate_models(call, selection)
    assert isinstance(built["stt"], deepgram.STT)
    assert built["stt"]._opts.language == "es"  # the agent's language
    assert built["stt"]._opts.endpointing_ms == 300
    assert isinstance(built["llm"], openai.LLM)
    assert isinstance(built["tts"], cartesia.TTS)
    assert built["tts"]._opts.language == "es"


async def test_google_realtime_with_leda_from_config(voicekit, keys, no_network):
    from livekit.plugins import google

    deployment = voicekit.load(voicekit.write(GOOGLE_REALTIME))
    call = await prepare_call(deployment, TEST_PHONE)
    built = instantiate_models(call, select_models(call))
    assert isinstance(built["llm"], google.realtime.RealtimeModel)
    assert built["llm"]._opts.voice == "Leda"
    assert built["llm"]._opts.temperature == 0.6


@pytest.mark.parametrize(
    ("kind", "spec", "allowed"),
    [
        ("llm", {"use": "openai:gpt-4o-mini", "voice": "coral"}, "base_url"),
        ("realtime", {"use": "openai:gpt-realtime", "language": "en"}, "voice"),
        ("realtime", {"use": "google", "voise": "Leda"}, "voice"),
        ("stt", {"use": "deepgram:nova-3", "speed": 1.0}, "keyterms"),
        ("tts", {"use": "cartesia:sonic-3", "base": "x"}, "voice"),
    ],
)
async def test_unknown_option_names_it_and_the_allowed_ones(call, keys, kind, spec, allowed):
    bad = next(k for k in spec if k != "use")
    with pytest.raises(PluginError) as info:
        create(call, kind, spec)
    message = str(info.value)
    assert f"unknown option {bad!r}" in message
    assert "allowed:" in message and allowed in message
    assert spec["use"] in message


async def test_bad_option_value(call, keys):
    with pytest.raises(PluginError, match="option 'temperature'"):
        create(call, "llm", {"use": "openai:gpt-4o-mini", "temperature": "hot"})


async def test_unsupported_kind(call, keys):
    with pytest.raises(PluginError, match="provider 'deepgram' has no tts models"):
        create(call, "tts", "deepgram:aura-2")


@pytest.mark.parametrize(
    ("kind", "spec", "variable"),
    [
        ("llm", "openai:gpt-4o-mini", "OPENAI_API_KEY"),
        ("realtime", "google", "GOOGLE_API_KEY"),
        ("stt", "deepgram:nova-3", "DEEPGRAM_API_KEY"),
        ("tts", "cartesia:sonic-3", "CARTESIA_API_KEY"),
        ("llm", {"use": "openai:local", "api_key_env": "LOCAL_LLM_KEY"}, "LOCAL_LLM_KEY"),
    ],
)
async def test_missing_key_names_the_variable(call, monkeypatch, kind, spec, variable):
    for name in [*KEYS, "LOCAL_LLM_KEY"]:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(PluginError, match=f"environment variable {variable} is not set"):
        create(call, kind, spec)


async def test_api_key_env_option_reads_another_variable(call, keys, monkeypatch):
    monkeypatch.setenv("LOCAL_LLM_KEY", "local-secret")
    llm = create(
        call,
        "llm",
        {
            "use": "openai:llama3",
            "api_key_env": "LOCAL_LLM_KEY",
            "base_url": "http://127.0.0.1:9/v1",
        },
    )
    assert llm._client.api_key == "local-secret"


@pytest.mark.parametrize(
    ("kind", "spec", "module", "extra"),
    [
        ("llm", "openai:gpt-4o-mini", "livekit.plugins.openai", "openai"),
        ("realtime", "google", "livekit.plugins.google", "google"),
        ("stt", "deepgram:nova-3", "livekit.plugins.deepgram", "deepgram"),
        ("tts", "cartesia:sonic-3", "livekit.plugins.cartesia", "cartesia"),
    ],
)
async def test_missing_extra_says_what_to_install(
    call, keys, monkeypatch, kind, spec, module, extra
):
    monkeypatch.setitem(sys.modules, module, None)  # as if the package were not installed
    with pytest.raises(PluginError) as info:
        create(call, kind, spec)
    assert f"pip install 'voicekit-core[{extra}]'" in str(info.value)
    assert module in str(info.value)


async def test_keys_never_appear_in_logs_or_errors(voicekit, keys, caplog):
    caplog.set_level(logging.DEBUG)
    deployment = voicekit.load(voicekit.write(PIPELINE))
    call = await prepare_call(deployment, TEST_PHONE)
    instantiate_models(call, select_models(call))
    with pytest.raises(PluginError) as info:
        create(call, "llm", {"use": "openai:gpt-4o-mini", "api_key": keys["OPENAI_API_KEY"]})
    texts = [str(info.value), caplog.text]
    for secret in keys.values():
        assert all(secret not in text for text in texts)
