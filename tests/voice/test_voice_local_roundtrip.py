"""``local:piper`` speech transcribed back by ``local:whisper-tiny.en``: the keywords survive
(numbers compared after normalisation), at the TTS's own 22.05 kHz, as 8 kHz telephone audio
and as 48 kHz stereo; silence and clipped noise end cleanly, without an exception."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from voice_kit import (
    clipped_noise,
    frames_to_pcm,
    needs_local_extra,
    normalise_numbers,
    pcm_to_frames,
    resample,
    silence,
)

from voicekit_core.builder import prepare_call
from voicekit_core.builtins import local_models
from voicekit_core.config import ModelRef
from voicekit_core.testing import TEST_PHONE

pytestmark = needs_local_extra

SENTENCES = [
    "We have fifty employees at the Denver office.",
    "Can we meet at 2 pm on Thursday?",
    "Our budget is 40 thousand dollars.",
]
KEYWORDS = ["50 employees", "denver", "2 pm", "thursday", "budget", "40000"]


async def _synthesize(texts: list[str]) -> list[np.ndarray]:
    from voicekit_core.builtins.local_tts import PiperTTS

    tts = PiperTTS()
    out = []
    for text in texts:
        frames = [event.frame async for event in tts.synthesize(text)]
        pcm, rate = frames_to_pcm(frames)
        assert rate == 22_050
        out.append(pcm)
    return out


@pytest.fixture(scope="module")
def sentences() -> list[np.ndarray]:
    """Each of SENTENCES synthesized by the local TTS: int16 mono at 22,050 Hz."""
    local_models.preload()
    return asyncio.run(_synthesize(SENTENCES))


def _as(pcm: np.ndarray, rate: int, channels: int = 1):
    """``pcm`` (22,050 Hz mono) as 20 ms frames at ``rate`` with ``channels``."""
    out = pcm if rate == 22_050 else resample(pcm, 22_050, rate)
    if channels > 1:
        out = np.repeat(out, channels)  # interleaved, the same signal on every channel
    return pcm_to_frames(out, rate, channels=channels)


def _missing(text: str) -> list[str]:
    normalised = normalise_numbers(text)
    return [word for word in KEYWORDS if word not in normalised]


@pytest.mark.parametrize(
    ("rate", "channels"),
    [(22_050, 1), (8_000, 1), (48_000, 2)],
    ids=["22k", "8k-phone", "48k-stereo"],
)
async def test_piper_speech_transcribes_back(sentences, rate, channels):
    from voicekit_core.builtins.local_stt import WhisperSTT

    gap = silence(0.3, 22_050)
    speech = np.concatenate([part for pcm in sentences for part in (pcm, gap)])
    event = await WhisperSTT().recognize(_as(speech, rate, channels))
    data = event.alternatives[0]
    assert _missing(data.text) == [], data.text
    assert data.language == "en"
    assert 0 < data.confidence <= 1
    assert 0 <= data.start_time < data.end_time <= len(speech) / 22_050 + 0.01


async def test_the_provider_cuts_a_phone_call_into_utterances(voicekit, sentences):
    """The STT the session gets (livekit's StreamAdapter + Silero VAD) on 8 kHz frames with
    pauses between the sentences: one final transcript per utterance, keywords intact."""
    from livekit.agents import stt

    deployment = voicekit.load()
    call = await prepare_call(deployment, TEST_PHONE)
    model = deployment.providers.create("stt", ModelRef(provider="local"), call)
    pause = silence(0.8, 22_050)
    audio = np.concatenate([pause, *(p for pcm in sentences for p in (pcm, pause)), pause])
    stream = model.stream()
    for frame in _as(audio, 8_000):
        stream.push_frame(frame)
    stream.end_input()
    events = await asyncio.wait_for(_collect(stream), timeout=120)  # a guard, not a timing
    finals = [
        e.alternatives[0].text for e in events if e.type == stt.SpeechEventType.FINAL_TRANSCRIPT
    ]
    assert len(finals) >= 2  # the pauses end utterances
    assert _missing(" ".join(finals)) == [], finals
    starts = [e for e in events if e.type == stt.SpeechEventType.START_OF_SPEECH]
    assert len(starts) == len([e for e in events if e.type == stt.SpeechEventType.END_OF_SPEECH])


async def _collect(stream) -> list:
    async with stream:
        return [event async for event in stream]


async def test_silence_gives_an_empty_transcript():
    from voicekit_core.builtins.local_stt import WhisperSTT

    for rate in (8_000, 16_000, 48_000):
        event = await WhisperSTT().recognize(pcm_to_frames(silence(2.0, rate), rate))
        assert event.alternatives[0].text == ""
    assert (await WhisperSTT().recognize([])).alternatives[0].text == ""  # no frames at all


async def test_clipped_noise_ends_cleanly(voicekit):
    """Full-scale noise: the recognizer returns (a text, maybe empty), and the session's STT
    stream ends when its input ends (no hang, no exception)."""
    from livekit.agents import stt

    from voicekit_core.builtins.local_stt import WhisperSTT

    noise = clipped_noise(2.0, 8_000)
    event = await WhisperSTT().recognize(pcm_to_frames(noise, 8_000))
    assert isinstance(event.alternatives[0].text, str)

    deployment = voicekit.load()
    call = await prepare_call(deployment, TEST_PHONE)
    stream = deployment.providers.create("stt", ModelRef(provider="local"), call).stream()
    for frame in pcm_to_frames(np.concatenate([noise, silence(1.0, 8_000)]), 8_000):
        stream.push_frame(frame)
    stream.end_input()
    events = await asyncio.wait_for(_collect(stream), timeout=60)
    assert all(isinstance(e, stt.SpeechEvent) for e in events)
