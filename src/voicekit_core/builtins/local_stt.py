"""``local:whisper-tiny.en``: non-streaming speech-to-text with faster-whisper, on the CPU.

:class:`WhisperSTT` is a livekit ``stt.STT`` (``streaming=False``) that transcribes one
utterance per ``recognize()`` call; the provider wraps it in livekit's ``stt.StreamAdapter``
with Silero VAD, which cuts the caller's audio into utterances. Audio of any rate (8, 16,
22.05, 24 or 48 kHz) and channel count is mixed to mono and resampled to 16 kHz before
Whisper sees it. Transcription runs in a worker thread, so the event loop stays free.

Imported only when a ``local`` STT is created (it imports livekit).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import Any

import numpy as np
from livekit import rtc
from livekit.agents import APIError, LanguageCode, stt, utils, vad
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)

from voicekit_core.builtins import local_models

WHISPER_RATE = 16_000  # Hz, what Whisper expects
MIN_SECONDS = 0.1  # shorter buffers are not transcribed
SILENCE_RMS = 1e-4  # about -80 dBFS: silence skips the ~0.6 s Whisper pass
ENGLISH = LanguageCode("en")


def to_whisper_audio(buffer: utils.AudioBuffer) -> np.ndarray:
    """``buffer`` (one ``rtc.AudioFrame`` or a list, int16 PCM, any rate and channel count) as
    16 kHz mono float32 samples in [-1, 1]. Runs of frames with different formats are
    converted separately; an empty buffer gives an empty array."""
    frames = buffer if isinstance(buffer, list) else [buffer]
    parts: list[np.ndarray] = []
    runs = itertools.groupby(
        (f for f in frames if f.samples_per_channel > 0),
        key=lambda f: (f.sample_rate, f.num_channels),
    )
    for (rate, channels), run in runs:
        pcm = np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in run])
        if channels > 1:
            pcm = pcm.reshape(-1, channels).mean(axis=1).astype(np.int16)
        if rate != WHISPER_RATE:
            pcm = _resample(pcm, rate)
        parts.append(pcm.astype(np.float32) / 32768.0)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _resample(pcm: np.ndarray, rate: int) -> np.ndarray:
    resampler = rtc.AudioResampler(
        rate, WHISPER_RATE, num_channels=1, quality=rtc.AudioResamplerQuality.HIGH
    )
    frame = rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))
    out = [*resampler.push(frame), *resampler.flush()]
    if not out:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in out])


def transcribe(model: Any, audio: np.ndarray, *, beam_size: int = 1) -> stt.SpeechData:
    """Transcribe 16 kHz mono float32 ``audio`` with a faster-whisper ``model`` (blocking).

    English, greedy or small-beam decoding, no VAD (Silero already cut the utterance), no
    conditioning on earlier text, no timestamp tokens. Silence and buffers under 0.1 s give
    an empty text. ``start_time`` / ``end_time`` are seconds within ``audio`` (the span of
    the decoded segments); ``confidence`` is ``exp(mean avg_logprob)`` of the segments, in
    [0, 1]. Whisper encodes a 30 s window whatever the length, so a short utterance costs
    about 0.6 s on 2 cores.
    """
    duration = len(audio) / WHISPER_RATE
    empty = stt.SpeechData(language=ENGLISH, text="", start_time=0.0, end_time=duration)
    if duration < MIN_SECONDS or float(np.sqrt(np.mean(np.square(audio)))) < SILENCE_RMS:
        return empty
    segments, _info = model.transcribe(
        audio,
        language="en",
        beam_size=beam_size,
        vad_filter=False,
        condition_on_previous_text=False,
        without_timestamps=True,  # one utterance: fewer tokens to decode
    )
    segments = [s for s in segments if s.text.strip()]
    if not segments:
        return empty
    logprob = sum(s.avg_logprob for s in segments) / len(segments)
    return stt.SpeechData(
        language=ENGLISH,
        text=" ".join(s.text.strip() for s in segments),
        start_time=float(segments[0].start),
        end_time=float(min(segments[-1].end, duration)),
        confidence=min(1.0, max(0.0, math.exp(logprob))),
    )


class WhisperSTT(stt.STT):
    """faster-whisper tiny.en as a non-streaming livekit STT (``model`` ``whisper-tiny.en``,
    ``provider`` ``local``).

    ``recognize(buffer)`` returns one ``FINAL_TRANSCRIPT`` event (empty text for silence).
    The shared model (:func:`~voicekit_core.builtins.local_models.whisper_model`) loads on
    ``prewarm()`` (in the background) or on the first recognition. A failure is raised as a
    non-retryable livekit ``APIError``.
    """

    def __init__(self, *, beam_size: int = 1, loader: Any = local_models.whisper_model) -> None:
        super().__init__(capabilities=stt.STTCapabilities(streaming=False, interim_results=False))
        self._beam_size = beam_size
        self._loader = loader

    @property
    def model(self) -> str:
        return local_models.WHISPER_MODEL_NAME

    @property
    def provider(self) -> str:
        return "local"

    def whisper(self) -> Any:
        """The shared ``WhisperModel`` (loads it on first use; blocking)."""
        return self._loader()

    def prewarm(self) -> None:
        if self._loader is local_models.whisper_model and local_models.loaded()["whisper"]:
            return
        local_models.load_in_background(self._loader)

    async def _recognize_impl(
        self,
        buffer: utils.AudioBuffer,
        *,
        language: NotGivenOr[str] = NOT_GIVEN,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
    ) -> stt.SpeechEvent:
        try:
            data = await asyncio.to_thread(self._recognize_blocking, buffer)
        except Exception as exc:
            raise APIError(f"local whisper-tiny.en failed: {exc}", retryable=False) from exc
        return stt.SpeechEvent(
            type=stt.SpeechEventType.FINAL_TRANSCRIPT,
            request_id=utils.shortuuid(),
            alternatives=[data],
        )

    def _recognize_blocking(self, buffer: utils.AudioBuffer) -> stt.SpeechData:
        audio = to_whisper_audio(buffer)
        return transcribe(self.whisper(), audio, beam_size=self._beam_size)


class SileroOnDemand(vad.VAD):
    """A livekit VAD that loads the shared Silero VAD
    (:func:`~voicekit_core.builtins.local_models.silero_vad`) when its first stream opens,
    so building the STT imports no plugin (text-only calls build one too, in any thread).
    ``min_silence``: seconds of silence that end an utterance."""

    def __init__(self, min_silence: float = local_models.STT_MIN_SILENCE) -> None:
        super().__init__(capabilities=vad.VADCapabilities(update_interval=0.032))
        self._min_silence = min_silence

    @property
    def model(self) -> str:
        return "silero"

    @property
    def provider(self) -> str:
        return "ONNX"

    def stream(self) -> vad.VADStream:
        return local_models.silero_vad(self._min_silence).stream()
