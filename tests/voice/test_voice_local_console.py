"""``voicekit console`` without PortAudio: one clear error pointing to ``voicekit simulate
CONFIG --voice`` and exit status 2, never a traceback."""

from __future__ import annotations

from click.testing import CliRunner

from voicekit_core import worker
from voicekit_core.cli import build_cli


def test_console_without_portaudio_points_to_the_voice_simulation(example_copy, monkeypatch):
    monkeypatch.setattr(worker, "missing_portaudio", lambda: True)
    result = CliRunner().invoke(build_cli(), ["console", str(example_copy)])
    assert result.exit_code == 2
    output = " ".join(result.output.split())  # the error console wraps long lines
    assert f"voicekit simulate {example_copy / 'voicekit.toml'} --voice" in output
    assert "apt-get install libportaudio2" in output
    assert "Traceback" not in result.output


def test_the_probe_reports_a_missing_portaudio_library(monkeypatch):
    def no_library() -> None:
        raise OSError("PortAudio library not found")  # what sounddevice raises

    monkeypatch.setattr(worker, "_load_portaudio", no_library)
    assert worker.missing_portaudio() is True
    monkeypatch.setattr(worker, "_load_portaudio", lambda: None)
    assert worker.missing_portaudio() is False
