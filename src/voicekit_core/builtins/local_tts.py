"""``local:piper``: text-to-speech with Piper (voice en_US-joe-medium) on the CPU.

:class:`PiperTTS` is a non-streaming livekit ``tts.TTS`` (22,050 Hz, mono, 16-bit PCM). An
``AgentSession`` wraps every non-streaming TTS in livekit's ``tts.StreamAdapter`` with a
sentence tokenizer, so the reply is spoken sentence by sentence as the LLM writes it. Within
one ``synthesize(text)`` call Piper synthesizes sentence by sentence too, each in a worker
thread, and each sentence's audio is pushed before the next one is synthesized: the first
audio never waits for the whole text.

Imported only when a ``local`` TTS is created (it imports livekit).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from livekit.agents import APIConnectOptions, APIError, tts, utils
from livekit.agents.types import DEFAULT_API_CONNECT_OPTIONS

from voicekit_core.builtins import local_models

SAMPLE_RATE = 22_050  # Hz, the joe voice's rate
NUM_CHANNELS = 1
PAD_SECONDS = 0.05  # silence pushed for text Piper reads as nothing ("...", an emoji)


class PiperTTS(tts.TTS):
    """Piper as a livekit TTS (``model`` ``piper``, ``provider`` ``local``).

    ``speed`` scales the speaking rate (1.0 = the voice's own; 1.25 = 25 % faster; Piper's
    ``length_scale`` is divided by it). ``speaker`` is a speaker id of a multi-speaker voice
    (None: the voice's default). The shared voice
    (:func:`~voicekit_core.builtins.local_models.piper_voice`) loads on ``prewarm()`` (in the
    background) or on the first synthesis. A failure is raised as a non-retryable livekit
    ``APIError``.
    """

    def __init__(
        self,
        *,
        speed: float = 1.0,
        speaker: int | None = None,
        loader: Any = local_models.piper_voice,
    ) -> None:
        super().__init__(
            capabilities=tts.TTSCapabilities(streaming=False),
            sample_rate=SAMPLE_RATE,
            num_channels=NUM_CHANNELS,
        )
        self._speed = speed
        self._speaker = speaker
        self._loader = loader

    @property
    def model(self) -> str:
        return local_models.PIPER_MODEL_NAME

    @property
    def provider(self) -> str:
        return "local"

    def voice(self) -> Any:
        """The shared ``PiperVoice`` (loads it on first use; blocking)."""
        return self._loader()

    def prewarm(self) -> None:
        if self._loader is local_models.piper_voice and local_models.loaded()["piper"]:
            return
        local_models.load_in_background(self._loader)

    def synthesize(
        self, text: str, *, conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS
    ) -> PiperStream:
        return PiperStream(tts=self, input_text=text, conn_options=conn_options)

    def syn_config(self, voice: Any) -> Any:
        """Piper's ``SynthesisConfig`` for this TTS's speed and speaker."""
        from piper import SynthesisConfig

        return SynthesisConfig(
            speaker_id=self._speaker,
            length_scale=voice.config.length_scale / self._speed,
        )


SYNTHESIS_SLOTS = threading.BoundedSemaphore(max(1, os.cpu_count() or 1))
"""Piper sentences synthesized at once in this process: one per core. More run no faster
(each already uses every core) and each holds its own buffers: four calls greeting at once
grew the process by about 300 MB; with slots the buffers stay those of two."""


def _next_sentence(sentences: Any) -> Any:
    """The next sentence's audio chunk (None at the end), in a synthesis slot."""
    with SYNTHESIS_SLOTS:
        return next(sentences, None)


class PiperStream(tts.ChunkedStream):
    """One ``synthesize(text)``: int16 PCM pushed sentence by sentence."""

    def __init__(self, *, tts: PiperTTS, input_text: str, conn_options: APIConnectOptions) -> None:
        super().__init__(tts=tts, input_text=input_text, conn_options=conn_options)
        self._piper: PiperTTS = tts

    async def _run(self, output_emitter: tts.AudioEmitter) -> None:
        output_emitter.initialize(
            request_id=utils.shortuuid(),
            sample_rate=SAMPLE_RATE,
            num_channels=NUM_CHANNELS,
            mime_type="audio/pcm",
        )
        pushed = False
        try:
            sentences = await asyncio.to_thread(self._start)
            while (chunk := await asyncio.to_thread(_next_sentence, sentences)) is not None:
                output_emitter.push(chunk.audio_int16_bytes)
                pushed = True
        except Exception as exc:
            raise APIError(f"local piper failed: {exc}", retryable=False) from exc
        await asyncio.to_thread(local_models.release_memory)
        if not pushed and self.input_text.strip():
            # livekit treats text without audio as an error; Piper reads some text as nothing
            output_emitter.push(b"\0\0" * int(SAMPLE_RATE * PAD_SECONDS))
        output_emitter.flush()

    def _start(self) -> Any:
        """The voice's per-sentence generator (phonemizes on the first ``next``)."""
        voice = self._piper.voice()
        return iter(voice.synthesize(self.input_text, syn_config=self._piper.syn_config(voice)))
