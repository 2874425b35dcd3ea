"""Shared fixtures for voicekit-core's own tests (the `voicekit` harness comes from
voicekit_core.testing, loaded by its pytest11 entry point)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tdx_sdr"


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    """A private copy of the TDX SDR example (so journals and calendars stay per test)."""
    import shutil

    target = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    return target
