"""Helpers for the plugin-kit tests that install a plugin distribution: pip installs it into
a ``--target`` folder (the shared environment is left alone), and this interpreter runs
against that folder (its tests, ``voicekit`` commands)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: ``python -c VOICEKIT ARGS`` runs the ``voicekit`` command of this interpreter.
VOICEKIT = "from voicekit_core.cli import main; main()"


def install(project: Path, site: Path) -> dict[str, str]:
    """Build and install the distribution in ``project`` into ``site`` with pip (no
    dependencies, no build isolation); returns an environment whose Python sees it."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(site), str(project)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python ARGS`` (this interpreter) in ``cwd`` with ``env``, output captured as text."""
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def listed_plugin(name: str, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """The row of plugin ``name`` in ``voicekit plugins --hooks --json`` (exactly one)."""
    listed = run(["-c", VOICEKIT, "plugins", "--hooks", "--json"], cwd, env)
    assert listed.returncode == 0, listed.stderr
    [row] = [r for r in json.loads(listed.stdout) if r["name"] == name]
    return row
