"""Memory freed by the speech runtimes goes back to the OS, at most every 2 s."""

from __future__ import annotations

import ctypes.util

import pytest

from voicekit_core.builtins import local_models


@pytest.mark.skipif(not ctypes.util.find_library("c"), reason="no C library found")
def test_release_memory_runs_then_waits(monkeypatch):
    monkeypatch.setattr(local_models, "_last_trim", 0.0)
    if local_models._malloc_trim() is None:
        pytest.skip("not glibc: release_memory is a no-op here")
    assert local_models.release_memory() is True
    assert local_models.release_memory() is False  # within 2 s of the last one
    monkeypatch.setattr(local_models, "_last_trim", 0.0)  # as if 2 s had passed
    assert local_models.release_memory() is True
