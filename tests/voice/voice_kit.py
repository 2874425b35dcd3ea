"""Helpers for the voice tests: number normalisation for transcript assertions, audio
conversion (resampling into 20 ms frames), synthetic bad audio, and a skip marker for
machines without the ``[local]`` extra. Imported as ``from voice_kit import ...``."""

from __future__ import annotations

import re

import numpy as np
import pytest

from voicekit_core.builtins import local_models

needs_local_extra = pytest.mark.skipif(
    bool(local_models.missing_modules()),
    reason="the [local] extra is not installed: pip install 'voicekit-core[local]'",
)

_UNITS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS = {
    word: 10 * (index + 2)
    for index, word in enumerate(
        ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    )
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}


def _number_words_to_digits(words: list[str]) -> list[str]:
    """Replace each run of number words (and digits followed by a scale word, "40
    thousand") with its value in digits: ``["fifty", "employees"] -> ["50", "employees"]``."""
    out: list[str] = []
    total = current = 0
    in_number = False
    previous = ""

    def close() -> None:
        nonlocal total, current, in_number
        if in_number:
            out.append(str(total + current))
        total = current = 0
        in_number = False

    def start(value: int) -> None:
        nonlocal current, in_number
        close()
        current, in_number = value, True

    for word in words:
        if word.isdigit():
            start(int(word))
        elif word in _UNITS:
            unit = _UNITS[word]
            if (in_number and unit < 10 and current % 10 == 0 and current % 100 != 0) or (
                in_number and current % 100 == 0 and previous in _SCALES
            ):
                current += unit  # "forty two", "one hundred five"
            else:
                start(unit)
        elif word in _TENS:
            if in_number and current % 100 == 0 and previous in _SCALES:
                current += _TENS[word]  # "one hundred fifty"
            else:
                start(_TENS[word])
        elif word in _SCALES and in_number:
            if _SCALES[word] == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * _SCALES[word]
                current = 0
        elif word == "and" and in_number and previous in _SCALES:
            continue
        else:
            close()
            out.append(word)
        previous = word
    close()
    return out


def normalise_numbers(text: str) -> str:
    """Lower case, numbers as digits, times as ``"2 pm"``, no punctuation or currency signs.

    ``"Our budget is $40,000."`` and ``"our budget is 40 thousand dollars"`` both give
    ``"our budget is 40000 ..."``; ``"fifty employees"`` gives ``"50 employees"``;
    ``"2pm"``, ``"2 p.m."`` and ``"two PM"`` give ``"2 pm"``.
    """
    text = text.lower()
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 40,000 -> 40000
    text = re.sub(r"\b([ap])\.\s?m\.?", r"\1m", text)  # p.m. -> pm
    text = re.sub(r"(\d)(am|pm)\b", r"\1 \2", text)  # 2pm -> 2 pm
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    words = [w.strip("'") for w in text.split()]
    return " ".join(_number_words_to_digits([w for w in words if w]))


# -- audio ------------------------------------------------------------------------------


def frames_to_pcm(frames) -> tuple[np.ndarray, int]:
    """int16 mono samples and the rate of ``frames`` (one format, mono)."""
    rate = frames[0].sample_rate
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in frames]), rate


def pcm_to_frames(pcm: np.ndarray, rate: int, *, ms: int = 20, channels: int = 1):
    """``rtc.AudioFrame`` s of ``ms`` milliseconds from int16 samples (mono, or interleaved
    when ``channels`` > 1); the last frame may be shorter."""
    from livekit import rtc

    step = rate * ms // 1000 * channels
    return [
        rtc.AudioFrame(
            pcm[i : i + step].tobytes(), rate, channels, len(pcm[i : i + step]) // channels
        )
        for i in range(0, len(pcm), step)
    ]


def resample(pcm: np.ndarray, rate: int, target: int) -> np.ndarray:
    """int16 mono ``pcm`` at ``rate`` Hz resampled to ``target`` Hz (livekit's resampler)."""
    from livekit import rtc

    resampler = rtc.AudioResampler(rate, target, num_channels=1)
    out = [*resampler.push(rtc.AudioFrame(pcm.tobytes(), rate, 1, len(pcm))), *resampler.flush()]
    return np.concatenate([np.frombuffer(f.data, dtype=np.int16) for f in out])


def silence(seconds: float, rate: int) -> np.ndarray:
    """Digital silence, int16."""
    return np.zeros(int(seconds * rate), dtype=np.int16)


def clipped_noise(seconds: float, rate: int, *, seed: int = 7) -> np.ndarray:
    """Loud white noise clipped at full scale, int16 (a broken line, not speech)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 1.0, int(seconds * rate)) * 32767
    return np.clip(noise, -32768, 32767).astype(np.int16)
