"""Fixtures for the property receptionist example: a private copy of the example with its
documents ingested, and the fake LiveKit server for the inbound setup and transfers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from voicekit_core.cli import build_cli
from voicekit_core.testing_livekit import FakeLiveKit, fake_livekit, livekit_env

EXAMPLE = Path(__file__).resolve().parents[1]

__all__ = ["FakeLiveKit", "fake_livekit", "livekit_env"]


@pytest.fixture(autouse=True)
def _no_provider_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example runs on the offline model: keys of the machine running the tests are
    not used (nor the variables the example reads)."""
    for name in ("OPENAI_API_KEY", "ONCALL_PHONE_NUMBER", "RECEPTION_PHONE_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "VOICEKIT_STORE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receptionist(tmp_path: Path) -> Path:
    """A private copy of the example (its own store, journal and tickets/), with docs/
    ingested into its knowledge base by `voicekit knowledge ingest`."""
    target = tmp_path / "property_receptionist"
    shutil.copytree(
        EXAMPLE,
        target,
        ignore=shutil.ignore_patterns(".voicekit", "__pycache__", "tests", "tickets", ".env"),
    )
    result = CliRunner().invoke(build_cli(), ["knowledge", "ingest", str(target)])
    assert result.exit_code == 0, result.output
    return target
