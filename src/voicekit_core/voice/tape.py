"""Both sides of a simulated call on one timeline, saved as a two-channel WAV.

The line's clock is the caller channel: every frame the line sends (speech or silence)
is appended to it. The agent's audio is written at the line position where its playback
started, so the WAV sounds as the call did: left channel the caller, right channel the
agent, 16-bit PCM at the line's sample rate.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np


class Tape:
    """Two mono int16 tracks at ``rate`` Hz: ``caller`` (the line clock) and ``agent``."""

    def __init__(self, rate: int):
        self.rate = rate
        self._caller: list[np.ndarray] = []
        self._caller_len = 0
        self._agent = np.zeros(0, dtype=np.int16)

    @property
    def position(self) -> int:
        """Samples sent on the line so far (the line clock)."""
        return self._caller_len

    @property
    def seconds(self) -> float:
        """The line clock in seconds."""
        return self._caller_len / self.rate

    def add_caller(self, samples: np.ndarray) -> None:
        """Append one line frame (int16, mono, at ``rate``)."""
        self._caller.append(samples)
        self._caller_len += len(samples)

    def put_agent(self, at: int, samples: np.ndarray) -> None:
        """Write agent samples starting at line position ``at`` (overwrites what is there)."""
        end = at + len(samples)
        if end > len(self._agent):
            grown = np.zeros(max(end, 2 * len(self._agent)), dtype=np.int16)
            grown[: len(self._agent)] = self._agent
            self._agent = grown
        self._agent[at:end] = samples

    def cut_agent(self, at: int, end: int) -> None:
        """Silence the agent track on ``[at, end)`` (audio that was never played: barge-in)."""
        if at < len(self._agent):
            self._agent[at : min(end, len(self._agent))] = 0

    def tracks(self) -> tuple[np.ndarray, np.ndarray]:
        """(caller, agent) as equally long int16 arrays."""
        caller = np.concatenate(self._caller) if self._caller else np.zeros(0, np.int16)
        length = max(len(caller), self._agent_end())
        left = np.zeros(length, dtype=np.int16)
        left[: len(caller)] = caller
        right = np.zeros(length, dtype=np.int16)
        used = min(length, len(self._agent))
        right[:used] = self._agent[:used]
        return left, right

    def _agent_end(self) -> int:
        nonzero = np.flatnonzero(self._agent)
        return int(nonzero[-1]) + 1 if len(nonzero) else 0

    def write_wav(self, path: Path) -> Path:
        """Write the call as a 2-channel 16-bit WAV (left caller, right agent) at ``rate``.

        The file appears complete or not at all (written beside it, then renamed).
        Raises OSError when it cannot be written.
        """
        left, right = self.tracks()
        frames = np.empty(2 * len(left), dtype="<i2")
        frames[0::2] = left
        frames[1::2] = right
        path = Path(path)
        partial = path.with_name(f".{path.name}.partial")
        try:
            # open the file first: a missing folder then fails before wave.open does (a
            # Wave_write that never got its file complains again when collected)
            with open(partial, "wb") as file, wave.open(file, "wb") as out:
                out.setnchannels(2)
                out.setsampwidth(2)
                out.setframerate(self.rate)
                out.writeframes(frames.tobytes())
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
        return path


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """(sample rate in Hz, int16 array shaped (samples, channels)) of a 16-bit PCM WAV."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported")
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return wav.getframerate(), data.reshape(-1, wav.getnchannels())
