"""Answering-machine detection on line audio: a person's "Hello?" versus a voicemail
greeting with its beep, at wideband and narrowband (telephone) rates."""

from __future__ import annotations

import numpy as np
import pytest
from voice_kit import needs_local_extra

from voicekit_core.voice import caller
from voicekit_core.voice.amd import AmdOptions, GreetingDetector

pytestmark = needs_local_extra

GREETING = (
    "Hi, you've reached Dana Whitfield. I can't take your call right now. "
    "Please leave a message after the tone."
)


def listen(audio: np.ndarray, rate: int, options: AmdOptions | None = None):
    """Feed ``audio`` then 4 s of silence in 20 ms frames; (verdict, cue, cue time s)."""
    detector = GreetingDetector(rate, options)
    audio = np.concatenate([audio, np.zeros(4 * rate, dtype=np.int16)])
    step, cue_at = rate // 50, None
    for start in range(0, len(audio), step):
        detector.push(audio[start : start + step])
        if cue_at is None and detector.message_cue.done():
            cue_at = (start + step) / rate
    return detector.verdict.result(), detector.message_cue.result(), cue_at


@pytest.mark.parametrize("rate", [16000, 8000])
@pytest.mark.parametrize("said", ["Hello?", "Hello, this is Dana."])
async def test_a_person_answering_is_not_a_machine(rate, said):
    verdict, cue, _ = listen(caller.speech(said, rate), rate)
    assert verdict.category == "human", verdict
    assert cue == ""


@pytest.mark.parametrize("rate", [16000, 8000])
async def test_a_voicemail_greeting_is_a_machine_and_the_message_waits_for_the_beep(rate):
    audio = caller.voicemail_greeting(GREETING, rate)
    verdict, cue, cue_at = listen(audio, rate)
    assert verdict.category == "machine-vm", verdict
    assert cue == "beep"
    beep_end = len(audio) / rate
    assert beep_end <= cue_at <= beep_end + 0.1  # right after the beep, not before it


async def test_a_mailbox_without_beep_is_cued_by_silence():
    rate = 16000
    greeting = caller.speech(GREETING, rate)
    verdict, cue, cue_at = listen(greeting, rate)
    assert verdict.category == "machine-vm"
    assert cue == "silence"
    # 1.5 s after the last sound (Piper ends with well under 0.5 s of near-silence)
    assert cue_at >= len(greeting) / rate + AmdOptions().beep_wait_silence - 0.5


async def test_nobody_speaking_is_uncertain_and_the_agent_talks():
    verdict, cue, _ = listen(caller.silence(1.0, 16000), 16000)
    assert verdict.category == "uncertain"
    assert "no sound" in verdict.reason and cue == ""
