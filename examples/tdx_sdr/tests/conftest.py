"""Fixtures for the TDX SDR example's own plugin (``tdx_sdr_local.py``)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def local_plugin() -> ModuleType:
    """``tdx_sdr_local`` loaded from the example folder (under its own module name, so
    deployments loaded by other tests keep theirs)."""
    spec = importlib.util.spec_from_file_location(
        "tdx_sdr_local_under_test", EXAMPLE / "tdx_sdr_local.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the example (its calendar, journal and DNC list per test)."""
    target = tmp_path / "tdx_sdr"
    shutil.copytree(
        EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__", "tests")
    )
    return target
