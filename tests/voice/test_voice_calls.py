"""Whole voice calls over the simulated line, offline: the caller's lines synthesized by
Piper, heard through Silero VAD and Whisper, answered by the scripted model and Piper.

The line runs 4x faster than real time (see voice_call_kit.TEST_SPEED); latency figures
are measured in the benchmark at real time, not asserted here.
"""

from __future__ import annotations

import numpy as np
import pytest
from voice_call_kit import example_copy, script_from, voice_call
from voice_kit import needs_local_extra, normalise_numbers

from voicekit_core.simulate import load_script
from voicekit_core.voice.tape import read_wav

pytestmark = needs_local_extra


@pytest.fixture(scope="module")
def tdx(tmp_path_factory):
    return example_copy(tmp_path_factory.mktemp("voice"))


def words(text: str) -> set[str]:
    cleaned = normalise_numbers(text.lower())
    return {w.strip(".,?!$'\"") for w in cleaned.split()}


@pytest.mark.parametrize(
    "name", ["qualified.yaml", "not_interested.yaml", "wrong_number.yaml", "wants_human.yaml"]
)
async def test_tdx_scripts_reach_their_disposition_by_voice(tdx, name):
    script = load_script(tdx / "scripts" / name)
    call = await voice_call(tdx, name)
    report = call.run.report
    assert script.unmet(report) == []  # the same disposition and tools as by text
    assert call.amd is not None and call.amd.category == "human"  # "Hello?" is a person
    voice = report.metrics["voice"]
    spoken = [t for t in voice["turns"] if t["sound"] == "speech"]
    assert spoken and all(t["answered"] for t in spoken), voice["turns"]
    for turn in spoken:  # what the STT heard carries the script's content words
        said, heard = words(turn["said"]), words(turn["heard"])
        assert len(said & heard) >= 0.6 * len(said), (turn["said"], turn["heard"])
        assert turn["voice_to_voice"] > 0
    assert voice["voice_to_voice_p50"] is not None
    assert report.models["stt"] == ["local:whisper-tiny.en"]
    assert report.models["tts"] == ["local:piper"]


async def test_barge_in_stops_the_agent_and_marks_the_reply(tdx, tmp_path):
    script = script_from(
        tdx,
        {
            "lead_phone": "+14155550101",
            "turns": [
                "Sure, I have a couple of minutes.",
                {"caller": "Sorry, who did you say you were?", "interrupt_after_ms": 900},
            ],
        },
    )
    wav = tmp_path / "barge.wav"
    call = await voice_call(tdx, script, save_audio=wav)
    report = call.run.report
    turns = report.metrics["voice"]["turns"]
    assert turns[1]["barge_in"] is True
    assert turns[1]["interrupted_agent"] is True
    assert report.metrics["voice"]["agent_interruptions"] >= 1
    cut = [e for e in report.transcript if e.role == "assistant" and e.interrupted]
    assert cut, [(e.role, e.text, e.interrupted) for e in report.transcript]
    # the cut reply was not played to the end: the agent track goes quiet while the
    # caller speaks, then the agent answers the interruption
    assert turns[1]["answered"] is True


async def test_voicemail_message_is_left_after_the_beep(tdx, tmp_path):
    wav = tmp_path / "vm.wav"
    script = load_script(tdx / "scripts" / "voicemail.yaml")
    call = await voice_call(tdx, script, save_audio=wav)
    report = call.run.report
    assert report.disposition.value == "voicemail"
    assert call.amd.category == "machine-vm"
    amd = report.data["telephony"]["amd"]
    assert amd["category"] == "machine-vm" and amd["message_cue"] == "beep"
    assert report.data["telephony"]["voicemail"]["message_left"] is True
    assert [e.role for e in report.transcript] == ["assistant"]  # only the message
    rate, data = read_wav(wav)
    caller, agent = data[:, 0].astype(np.int32), data[:, 1].astype(np.int32)
    loud_caller = np.flatnonzero(np.abs(caller) > 1000)
    loud_agent = np.flatnonzero(np.abs(agent) > 1000)
    beep_end = loud_caller[-1]
    assert len(loud_agent) > rate  # over a second of message, audible
    assert loud_agent[0] > beep_end  # the agent waited for the beep
    assert report.data["recording"]["status"] == "saved"


@pytest.mark.parametrize(
    "turns",
    [
        [{"sound": "silence", "seconds": 3}],
        [{"sound": "noise", "seconds": 2}, "Bye."],
    ],
    ids=["silence-only", "clipped-noise"],
)
async def test_bad_audio_ends_cleanly_with_a_disposition(tdx, turns):
    script = script_from(tdx, {"lead_phone": "+14155550101", "turns": turns})
    call = await voice_call(tdx, script)
    report = call.run.report
    assert report.disposition is not None
    assert call.run.failure is None
    assert report.metrics["voice"]["turns"][0]["sound"] == turns[0]["sound"]


async def test_narrowband_telephone_line_is_resampled_and_understood(tdx):
    call = await voice_call(tdx, "not_interested.yaml", line_rate=8000)
    report = call.run.report
    assert report.disposition.value == "not_interested"
    assert report.metrics["voice"]["line_rate_hz"] == 8000
    assert "interested" in report.metrics["voice"]["turns"][0]["heard"].lower()
