"""Fixtures for the provider tests: a running fake OpenAI server and a private copy of the
TDX SDR example whose ``[models]`` the test rewrites."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from voicekit_core.testing_openai import FakeOpenAI

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tdx_sdr"


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    """A started :class:`FakeOpenAI` (stopped after the test)."""
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def sdr_copy(tmp_path: Path) -> Path:
    """A copy of ``examples/tdx_sdr`` without its ``.voicekit`` state."""
    target = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    return target


def _set_models(deployment_dir: Path, models_table: str) -> Path:
    """Replace the ``[models]`` table of ``deployment_dir/voicekit.toml`` with
    ``models_table`` (TOML lines after the header); returns the file."""
    path = deployment_dir / "voicekit.toml"
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition("[models]\n")
    assert sep, "the example has no [models] table"
    _, _, tail = rest.partition("\n[")
    path.write_text(f"{head}[models]\n{models_table.strip()}\n\n[{tail}", encoding="utf-8")
    return path


@pytest.fixture
def set_models():
    """``set_models(deployment_dir, "llm = ...")`` rewrites the ``[models]`` table."""
    return _set_models
