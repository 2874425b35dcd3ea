"""Helpers for the voice-call tests: a private copy of an example, and a voice call with a
hang guard. Imported as ``from voice_call_kit import ...``."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from voicekit_core.deployment import load_deployment
from voicekit_core.simulate import CallerScript, load_script
from voicekit_core.voice.call import VoiceCall, VoiceOptions, run_voice_script

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TEST_SPEED = 4.0
"""The line runs 4x faster than real time in tests (VAD, STT and TTS are unchanged)."""
HANG_GUARD = 240.0
"""Seconds: a call that has not ended by then is a hang, which is a failure."""


def example_copy(tmp_path: Path, name: str = "tdx_sdr") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".voicekit"))
    return target


def script_from(folder: Path, data: dict) -> CallerScript:
    """A script from a dict (as the YAML would hold it)."""
    return CallerScript.model_validate(data)


async def voice_call(
    folder: Path,
    script: CallerScript | str,
    *,
    speed: float = TEST_SPEED,
    line_rate: int = 16_000,
    save_audio: Path | None = None,
) -> VoiceCall:
    """Play ``script`` (an object, or a file name under ``scripts/``) by voice, offline."""
    deployment = load_deployment(folder)
    if isinstance(script, str):
        script = load_script(folder / "scripts" / script)
    options = VoiceOptions(speed=speed, line_rate=line_rate, save_audio=save_audio)
    return await asyncio.wait_for(
        run_voice_script(deployment, script, offline=True, options=options), HANG_GUARD
    )
