"""The line tape: both parties on one timeline, written as a two-channel WAV."""

from __future__ import annotations

import numpy as np
import pytest

from voicekit_core.voice.tape import Tape, read_wav


def test_caller_left_agent_right_at_line_positions(tmp_path):
    tape = Tape(8000)
    tape.add_caller(np.full(160, 1000, dtype=np.int16))
    tape.add_caller(np.zeros(160, dtype=np.int16))
    tape.put_agent(240, np.full(200, -2000, dtype=np.int16))  # runs past the caller's end
    rate, data = read_wav(tape.write_wav(tmp_path / "call.wav"))
    assert rate == 8000 and data.shape == (440, 2)
    assert (data[:160, 0] == 1000).all() and (data[160:, 0] == 0).all()
    assert (data[:240, 1] == 0).all() and (data[240:440, 1] == -2000).all()


def test_cut_agent_silences_what_was_never_played():
    tape = Tape(16000)
    tape.add_caller(np.zeros(1600, dtype=np.int16))
    tape.put_agent(0, np.full(1600, 500, dtype=np.int16))
    tape.cut_agent(800, 1600)
    _, agent = tape.tracks()
    assert (agent[:800] == 500).all() and (agent[800:] == 0).all()


def test_a_wav_that_cannot_be_written_leaves_nothing(tmp_path):
    tape = Tape(16000)
    tape.add_caller(np.ones(320, dtype=np.int16))
    target = tmp_path / "missing-folder" / "call.wav"
    with pytest.raises(OSError):
        tape.write_wav(target)
    assert not target.parent.exists()
