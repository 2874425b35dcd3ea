"""Voice sessions are built from [models.turn] with offline parts only (no room needed)."""

from __future__ import annotations

import pytest

from voicekit_core import PluginError
from voicekit_core.builder import build_session, prepare_call, room_options
from voicekit_core.config import ModelsSection, TurnSection
from voicekit_core.testing import MINIMAL_CONFIG, TEST_PHONE


async def test_voice_session_gets_silero_vad_and_turn_options(voicekit):
    from livekit.plugins import silero

    config = MINIMAL_CONFIG + (
        "\n[models.turn]\nvad = 'silero'\ndetection = 'vad'\n"
        "min_endpointing_delay = 0.3\nmax_endpointing_delay = 2.0\nallow_interruptions = false\n"
    )
    deployment = voicekit.load(voicekit.write(config))
    call = await prepare_call(deployment, TEST_PHONE)
    session = build_session(call, text_only=False)
    assert isinstance(session.vad, silero.VAD)  # loaded from the wheel, no download
    assert session.userdata is call
    assert session.llm.model == "call-flow"  # offline fallback, no key here
    options = session.options
    assert options.endpointing["min_delay"] == 0.3
    assert options.endpointing["max_delay"] == 2.0
    assert options.interruption["enabled"] is False
    assert options.turn_handling["turn_detection"] == "vad"
    await session.aclose()


async def test_text_session_has_no_vad(voicekit):
    deployment = voicekit.load()
    call = await prepare_call(deployment, TEST_PHONE)
    session = build_session(call)
    assert session.vad is None
    assert session.stt is None and session.tts is None


def test_noise_cancellation_needs_the_cloud_plugin():
    assert room_options(ModelsSection()).audio_input is not None  # livekit's defaults
    try:
        import livekit.plugins.noise_cancellation  # noqa: F401
    except ImportError:
        with pytest.raises(PluginError, match="LiveKit Cloud only"):
            room_options(ModelsSection(noise_cancellation="bvc_telephony"))
    else:  # pragma: no cover - only where the Cloud plugin is installed
        pytest.skip("livekit-plugins-noise-cancellation is installed here")


def test_turn_section_rejects_unknown_detection():
    with pytest.raises(ValueError, match="detection"):
        TurnSection(detection="hub-model")
