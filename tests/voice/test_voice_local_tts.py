"""``local:piper`` streams by sentence: the first sentence's audio is out before the last
sentence is synthesized, and through the session's sentence adapter before the LLM has
written the rest of the reply."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from voice_kit import needs_local_extra

from voicekit_core.builtins import local_models

pytestmark = needs_local_extra

REPLY = (
    "Thanks for taking my call this morning. I am calling about your team of fifty people. "
    "Would Thursday at two in the afternoon work for a short demo?"
)


class GatedVoice:
    """The shared Piper voice, except that before synthesizing the last sentence of a text
    it waits (up to 30 s) for ``first_audio``: a TTS that held audio back until every
    sentence was synthesized would make it wait in vain."""

    def __init__(self, voice: Any) -> None:
        self._voice = voice
        self.config = voice.config
        self.first_audio = threading.Event()
        self.audio_came_first: bool | None = None
        self.sentences_synthesized = 0

    def synthesize(self, text: str, syn_config: Any = None):
        total = len(self._voice.phonemize(text))
        inner = iter(self._voice.synthesize(text, syn_config=syn_config))
        for index in range(total):
            if index == total - 1:
                self.audio_came_first = self.first_audio.wait(timeout=30)
            chunk = next(inner)
            self.sentences_synthesized += 1
            yield chunk


@pytest.fixture(scope="module")
def voice() -> Any:
    return local_models.piper_voice()


async def test_first_audio_is_pushed_before_the_last_sentence_is_synthesized(voice):
    from voicekit_core.builtins.local_tts import PiperTTS

    gated = GatedVoice(voice)
    tts = PiperTTS(loader=lambda: gated)
    frames = []
    async for event in tts.synthesize(REPLY):
        if not frames:
            assert gated.sentences_synthesized < 3
        frames.append(event.frame)
        gated.first_audio.set()
    assert gated.audio_came_first is True
    assert gated.sentences_synthesized == 3
    assert {f.sample_rate for f in frames} == {22_050}
    assert sum(f.duration for f in frames) > 4.0  # three sentences of speech, seconds


async def test_the_session_path_speaks_before_the_reply_is_complete(voice):
    """livekit's ``tts.StreamAdapter`` (what an AgentSession wraps a non-streaming TTS in)
    gets the reply in LLM-sized pieces: audio for the first sentence arrives while the rest
    of the reply has not been written yet."""
    from livekit.agents import tts

    from voicekit_core.builtins.local_tts import PiperTTS

    stream = tts.StreamAdapter(tts=PiperTTS()).stream()
    stream.push_text("Thanks for taking my call this morning. I am call")  # mid-reply
    first = await asyncio.wait_for(stream.__anext__(), timeout=30)  # a guard, not a timing
    assert first.frame.samples_per_channel > 0
    stream.push_text("ing about your team of fifty people.")
    stream.end_input()
    rest = [event async for event in stream]
    await stream.aclose()
    assert sum(e.frame.duration for e in [first, *rest]) > 3.0


async def test_speed_scales_the_speaking_rate(voice):
    from voicekit_core.builtins.local_tts import PiperTTS

    async def seconds(speed: float) -> float:
        stream = PiperTTS(speed=speed).synthesize("Thanks for taking my call this morning.")
        return (await stream.collect()).duration

    slow, fast = await seconds(0.5), await seconds(2.0)
    assert fast < slow / 2  # 4x nominal; Piper's duration noise is far smaller


async def test_text_without_speech_gives_a_short_silence_not_an_error(voice):
    from voicekit_core.builtins.local_tts import PiperTTS

    frame = await PiperTTS().synthesize("...").collect()
    assert 0 < frame.duration <= 0.1
    assert not any(frame.data)
