"""Answering-machine detection on line audio, without an LLM or a room.

livekit's AMD (``livekit.agents.voice.amd``) classifies the greeting with an LLM and
needs a SIP participant in a room; offline there is neither. This is the classic
timing rule of telephone switches (Asterisk's ``app_amd``, whose defaults are used):
a person answers with a short word or two and waits ("Hello?"); a machine talks on.

* no sound for ``initial_silence`` seconds: ``uncertain`` (the agent talks);
* sound, then ``after_greeting_silence`` of silence with at most ``greeting`` seconds
  of sound and at most ``max_words`` words: ``human``;
* more than ``greeting`` seconds of sound, or more than ``max_words`` words, or sound
  still going at ``total_analysis``: ``machine-vm``.

After ``machine-vm`` it waits for the beep (a steady tone between 300 and 3,400 Hz for at
least ``min_beep`` seconds) to end, or for ``beep_wait_silence`` of silence when the
mailbox has no beep, before the message is left. Categories are livekit's
(``AMDCategory`` values), so :func:`voicekit_core.telephony.voicemail.apply_verdict`
acts on either detector's verdict.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np

SOUND_DBFS = -45.0
"""A frame whose RMS level is above this (dB relative to full scale) carries sound."""
TONE_SHARE = 0.9
"""A frame is tonal when this share of its energy lies within ±2 FFT bins of its peak."""


@dataclass(frozen=True)
class AmdOptions:
    """Thresholds in seconds. Up to ``max_words``: Asterisk's ``amd.conf`` defaults
    (converted from ms); the beep settings are voicekit's."""

    initial_silence: float = 2.5
    greeting: float = 1.5
    after_greeting_silence: float = 0.8
    total_analysis: float = 5.0
    min_word: float = 0.1
    between_words_silence: float = 0.05
    max_words: int = 3
    min_beep: float = 0.2
    beep_wait_silence: float = 1.5
    max_beep_wait: float = 20.0


@dataclass(frozen=True)
class AmdVerdict:
    """``category``: ``human`` / ``machine-vm`` / ``uncertain``; ``reason`` in words;
    ``greeting_seconds``: sound heard before the verdict; ``words`` counted."""

    category: str
    reason: str
    greeting_seconds: float
    words: int


class GreetingDetector:
    """Feed it the line audio (:meth:`push`, int16 mono frames at ``rate`` Hz) from the
    moment the call is answered; await :attr:`verdict`, then (for a machine)
    :attr:`message_cue` before speaking."""

    def __init__(self, rate: int, options: AmdOptions | None = None):
        self.rate = rate
        self.options = options or AmdOptions()
        loop = asyncio.get_running_loop()
        self.verdict: asyncio.Future[AmdVerdict] = loop.create_future()
        self.message_cue: asyncio.Future[str] = loop.create_future()
        """Resolves with ``"beep"`` or ``"silence"`` when the machine is recording."""
        self._elapsed = 0.0
        self._sound = 0.0  # seconds of sound in the greeting
        self._silence = 0.0  # current silence run
        self._run = 0.0  # current sound run
        self._words = 0
        self._counted = False
        self._heard_any = False
        self._tone_run = 0.0
        self._tone_bin = -1
        self._beeped = False
        self._after_verdict = 0.0

    def push(self, samples: np.ndarray) -> None:
        """One frame of line audio."""
        if self.message_cue.done():
            return
        seconds = len(samples) / self.rate
        self._elapsed += seconds
        loud = _dbfs(samples) > SOUND_DBFS
        if not self.verdict.done():
            self._classify(loud, seconds)
        else:
            self._wait_for_cue(samples, loud, seconds)

    def _classify(self, loud: bool, seconds: float) -> None:
        o = self.options
        if loud:
            self._heard_any = True
            self._silence = 0.0
            self._run += seconds
            self._sound += seconds
            if self._run >= o.min_word and not self._counted:
                self._words += 1
                self._counted = True
        else:
            self._silence += seconds
            if self._silence >= o.between_words_silence:
                self._run, self._counted = 0.0, False
        if not self._heard_any:
            if self._elapsed >= o.initial_silence:
                self._decide("uncertain", f"no sound in the first {o.initial_silence:g} s")
            return
        if self._words > o.max_words:
            self._decide("machine-vm", f"{self._words} words before a pause")
        elif self._sound > o.greeting:
            self._decide("machine-vm", f"greeting longer than {o.greeting:g} s")
        elif not loud and self._silence >= o.after_greeting_silence:
            self._decide("human", f"short greeting ({self._sound:.1f} s), then silence")
        elif self._elapsed >= o.total_analysis:
            self._decide("machine-vm", f"still talking after {o.total_analysis:g} s")

    def _decide(self, category: str, reason: str) -> None:
        self.verdict.set_result(AmdVerdict(category, reason, round(self._sound, 2), self._words))
        self._silence = 0.0
        if category != "machine-vm":
            self.message_cue.set_result("")  # nothing to wait for

    def _wait_for_cue(self, samples: np.ndarray, loud: bool, seconds: float) -> None:
        o = self.options
        self._after_verdict += seconds
        peak = _tone_bin(samples, self.rate) if loud else -1
        if peak >= 0 and (self._tone_bin < 0 or abs(peak - self._tone_bin) <= 1):
            self._tone_run += seconds
            self._tone_bin = peak
            if self._tone_run >= o.min_beep:
                self._beeped = True
        elif self._beeped:  # the beep has ended: the machine records now
            self.message_cue.set_result("beep")
            return
        else:
            self._tone_run, self._tone_bin = 0.0, -1
        self._silence = 0.0 if loud else self._silence + seconds
        if not self._beeped and self._silence >= o.beep_wait_silence:
            self.message_cue.set_result("silence")
        elif self._after_verdict >= o.max_beep_wait:
            self.message_cue.set_result("timeout")


def _dbfs(samples: np.ndarray) -> float:
    if not len(samples):
        return -120.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * np.log10(max(rms, 1e-9) / 32768)


def _tone_bin(samples: np.ndarray, rate: int) -> int:
    """The FFT bin of a steady tone between 300 and 3,400 Hz holding most of the frame's
    energy, or -1 (speech and noise spread theirs)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = (freqs >= 300) & (freqs <= 3400)
    total = spectrum.sum()
    if total <= 0 or not band.any():
        return -1
    peak = int(np.argmax(np.where(band, spectrum, 0)))
    near = spectrum[max(0, peak - 2) : peak + 3].sum()
    # a pure tone puts ~100 % there; Piper's vowels reach 80 % for up to 160 ms, 90 % for
    # at most 40 ms (measured over repeated syntheses at 8 and 16 kHz)
    return peak if near / total >= TONE_SHARE else -1
