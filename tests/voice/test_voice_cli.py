"""``voicekit simulate --voice``: the terminal output, the saved WAV, and bad input."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from voice_call_kit import example_copy
from voice_kit import needs_local_extra

from voicekit_core.builtins import local_models
from voicekit_core.cli import build_cli
from voicekit_core.voice.tape import read_wav


@pytest.fixture
def tdx(tmp_path):
    return example_copy(tmp_path)


def simulate(*args: str):
    return CliRunner().invoke(build_cli(), ["simulate", *args])


@needs_local_extra
def test_voice_call_prints_heard_and_latency_and_saves_two_channels(tdx, tmp_path):
    wav = tmp_path / "call.wav"
    result = simulate(
        str(tdx),
        "--script",
        str(tdx / "scripts" / "not_interested.yaml"),
        "--offline",
        "--voice",
        "--speed",
        "4",
        "--save-audio",
        str(wav),
        "--report",
        str(tmp_path / "report.json"),
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "said:  Honestly, we're not interested, thanks." in out
    assert "heard:" in out and "voice-to-voice" in out
    assert "not_interested" in out
    assert "the line ran 4x faster than real time" in out
    rate, data = read_wav(wav)
    assert rate == 16000 and data.shape[1] == 2
    assert abs(data[:, 0]).max() > 1000 and abs(data[:, 1]).max() > 1000  # both spoke
    report = (tmp_path / "report.json").read_text()
    assert '"voice_to_voice_p50"' in report and '"status": "saved"' in report


@pytest.mark.parametrize(
    "extra",
    [["--save-audio", "x.wav"], ["--speed", "2"], ["--line-rate", "8000"]],
    ids=["save-audio", "speed", "line-rate"],
)
def test_voice_options_without_voice_are_a_usage_error(tdx, extra):
    result = simulate(str(tdx), "--offline", *extra)
    assert result.exit_code == 2
    assert "go with --voice" in result.output


def test_save_audio_into_a_missing_folder_fails_before_the_call(tdx, tmp_path):
    result = simulate(str(tdx), "--voice", "--save-audio", str(tmp_path / "nope" / "c.wav"))
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (tdx / ".voicekit").exists()  # nothing was journaled


def test_voice_without_the_local_extra_says_how_to_install_it(tdx, monkeypatch):
    monkeypatch.setattr(local_models, "missing_modules", lambda: ["faster_whisper"])
    result = simulate(str(tdx), "--voice", "--offline")
    assert result.exit_code == 2
    assert "pip install 'voicekit-core[local]'" in result.output
    assert "Traceback" not in result.output
