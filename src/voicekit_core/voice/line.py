"""The simulated phone line: livekit audio input and output at real-time pace, no room.

:class:`CallerLine` is the session's ``io.AudioInput``: it sends one 20 ms frame per
20 ms of (sped-up) wall time, the caller's speech when some is queued and digital
silence otherwise, as a phone line does. :class:`AgentSpeaker` is the session's
``io.AudioOutput``: it "plays" the agent's audio at the same pace, reports playback
start and end to livekit (or the agent never leaves ``speaking``), and stops at once on
``clear_buffer`` (an interruption), reporting how much was heard.

Both write to a :class:`~voicekit_core.voice.tape.Tape`, so the saved WAV is the call as
the two parties heard it. ``speed`` > 1 runs the line faster than real time (tests); the
CLI uses 1.0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from livekit import rtc
from livekit.agents.voice import io

from .tape import Tape

FRAME_SECONDS = 0.02
"""One line frame: 20 ms, as RTP carries telephone audio."""


@dataclass
class Utterance:
    """Audio queued on the line; ``ended_at`` (``time.perf_counter()``) is set when its
    last sample was sent, and ``done`` then resolves."""

    samples: np.ndarray
    label: str
    sent: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    end_position: int | None = None
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CallerLine(io.AudioInput):
    """The caller's side: frames of ``rate`` Hz mono int16, paced by the wall clock.

    ``listening`` False sends the session silence instead of the line audio (the caller
    is heard only by :attr:`taps`, e.g. answering-machine detection before the agent
    speaks). Every frame, heard or not, goes on the tape and to each tap.
    """

    def __init__(self, tape: Tape, *, speed: float = 1.0):
        super().__init__(label="voicekit simulated line")
        self.tape = tape
        self.rate = tape.rate
        self.speed = speed
        self.listening = True
        self.taps: list[Callable[[np.ndarray], None]] = []
        self._frame = int(self.rate * FRAME_SECONDS)
        self._queue: list[Utterance] = []
        self._sent = 0
        self._t0: float | None = None
        self._closed = False

    def say(self, samples: np.ndarray, label: str = "") -> Utterance:
        """Queue int16 ``samples`` (mono, at the line rate) after what is already queued."""
        utterance = Utterance(samples=samples, label=label)
        self._queue.append(utterance)
        return utterance

    @property
    def busy(self) -> bool:
        """True while queued audio is still being sent."""
        return bool(self._queue)

    def close(self) -> None:
        """End the stream (the session's audio task stops)."""
        self._closed = True

    async def __anext__(self) -> rtc.AudioFrame:
        if self._closed:
            raise StopAsyncIteration
        if self._t0 is None:
            self._t0 = time.perf_counter()
        due = self._t0 + self._sent * FRAME_SECONDS / self.speed
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        self._sent += 1
        samples = self._next_samples()
        self.tape.add_caller(samples)
        for tap in self.taps:
            tap(samples)
        heard = samples if self.listening else np.zeros_like(samples)
        return rtc.AudioFrame(heard.tobytes(), self.rate, 1, len(heard))

    def _next_samples(self) -> np.ndarray:
        out = np.zeros(self._frame, dtype=np.int16)
        filled = 0
        while filled < self._frame and self._queue:
            current = self._queue[0]
            if current.started_at is None:
                current.started_at = time.perf_counter()
            take = current.samples[current.sent : current.sent + self._frame - filled]
            out[filled : filled + len(take)] = take
            filled += len(take)
            current.sent += len(take)
            if current.sent >= len(current.samples):
                self._queue.pop(0)
                current.ended_at = time.perf_counter()
                current.end_position = self.tape.position + filled
                if not current.done.done():
                    current.done.set_result(None)
        return out


class AgentSpeaker(io.AudioOutput):
    """The agent's side: plays captured frames at the line's pace onto the tape.

    ``on_first_audio(perf_counter_time)`` runs when a reply's first frame starts playing
    (the end of voice-to-voice latency). :attr:`playing` is True from then until the
    segment has played out or was cleared.
    """

    def __init__(self, line: CallerLine, *, on_first_audio: Callable[[float], None] | None = None):
        super().__init__(
            label="voicekit simulated line",
            capabilities=io.AudioOutputCapabilities(pause=False),
            sample_rate=None,
        )
        self.line = line
        self.on_first_audio = on_first_audio
        self.segments = 0
        self.interruptions = 0
        self._pushed = 0.0  # seconds captured in the current segment
        self._started_wall = 0.0
        self._start_position = 0
        self._written = 0  # samples of this segment on the tape
        self._resampler: rtc.AudioResampler | None = None
        self._resampler_rate = 0
        self._interrupted = asyncio.Event()
        self._playout: asyncio.Task[None] | None = None

    @property
    def playing(self) -> bool:
        """True while a reply is being played."""
        return self._pushed > 0

    def played_seconds(self) -> float:
        """How long (line seconds) the current reply has been playing; 0 when silent."""
        if not self._pushed:
            return 0.0
        return min(self._pushed, (time.perf_counter() - self._started_wall) * self.line.speed)

    async def capture_frame(self, frame: rtc.AudioFrame) -> None:
        await super().capture_frame(frame)
        if self._playout is not None and not self._playout.done():
            await self._playout  # the previous segment is still playing out
        if not self._pushed:
            self._started_wall = time.perf_counter()
            self._start_position = self.line.tape.position
            self._written = 0
            self.segments += 1
            self.on_playback_started(created_at=time.time())
            if self.on_first_audio is not None:
                self.on_first_audio(self._started_wall)
        self._pushed += frame.duration
        self._write(frame)

    def _write(self, frame: rtc.AudioFrame) -> None:
        rate = self.line.rate
        if frame.sample_rate != rate:
            if self._resampler is None or self._resampler_rate != frame.sample_rate:
                self._resampler = rtc.AudioResampler(frame.sample_rate, rate, num_channels=1)
                self._resampler_rate = frame.sample_rate
            frames = self._resampler.push(frame)
        else:
            frames = [frame]
        for out in frames:
            samples = np.frombuffer(out.data, dtype=np.int16)
            if out.num_channels > 1:
                samples = samples[:: out.num_channels]
            self.line.tape.put_agent(self._start_position + self._written, samples)
            self._written += len(samples)

    def flush(self) -> None:
        super().flush()
        if self._resampler is not None:
            for out in self._resampler.flush():
                samples = np.frombuffer(out.data, dtype=np.int16)
                self.line.tape.put_agent(self._start_position + self._written, samples)
                self._written += len(samples)
            self._resampler = None
        if self._pushed:
            self._playout = asyncio.create_task(self._play_out(), name="voicekit agent playout")

    def clear_buffer(self) -> None:
        if self._pushed:
            self._interrupted.set()

    async def _play_out(self) -> None:
        remaining = (self._pushed - self.played_seconds()) / self.line.speed
        try:
            await asyncio.wait_for(self._interrupted.wait(), max(0.0, remaining))
            interrupted = True
        except asyncio.TimeoutError:
            interrupted = False
        played = self.played_seconds() if interrupted else self._pushed
        if interrupted:  # what was not played never reached the caller
            self.interruptions += 1
            heard = self._start_position + int(played * self.line.rate)
            self.line.tape.cut_agent(heard, self._start_position + self._written)
        self._pushed = 0.0
        self._interrupted.clear()
        self.on_playback_finished(playback_position=played, interrupted=interrupted)
