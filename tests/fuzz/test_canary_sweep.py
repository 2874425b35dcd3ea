"""Every command, run with canary secrets in the environment: no secret in any output, in
the store, or in a written report; rejected input exits 2 and writes no journal row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CANARIES = {
    "OPENAI_API_KEY": "sk-canary-0a1b2c3d4e5f",
    "LIVEKIT_API_SECRET": "canary-livekit-secret-5e6f7a8b",
    "HUBSPOT_ACCESS_TOKEN": "pat-canary-11223344",
}


def _voicekit(folder: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "voicekit"), *args]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def canary_env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LIVEKIT_URL": "http://127.0.0.1:9",  # nothing listens: telephony fails cleanly
        "LIVEKIT_API_KEY": "APIcanaryKeyId",  # an id, not a secret: doctor names it
        **CANARIES,
    }


def test_no_command_leaks_a_canary(example_copy: Path, canary_env, tmp_path: Path):
    report = tmp_path / "report.json"
    runs = [
        ("check", "."),
        ("leads", "."),
        ("simulate", ".", "--offline", "--report", str(report)),
        ("journal", "list", "."),
        ("report", "."),
        ("dnc", "import", ".", "dnc.txt"),
        ("campaign", "create", ".", "--name", "sweep", "--leads", "leads.csv"),
        ("campaign", "run", ".", "sweep", "--simulate", "--speed", "100000"),
        ("campaign", "export", ".", "sweep"),
        ("doctor", "."),
        ("sip", "list", "."),
        ("dial", ".", "+14155550101"),
    ]
    outputs = []
    for args in runs:
        done = _voicekit(example_copy, *args, env=canary_env)
        outputs.append((args, done.returncode, done.stdout + done.stderr))
    calls = json.loads(
        _voicekit(example_copy, "journal", "list", ".", "--json", env=canary_env).stdout
    )
    for row in calls[:3]:
        shown = _voicekit(example_copy, "journal", "show", row["call_id"], ".", env=canary_env)
        outputs.append((("journal", "show"), shown.returncode, shown.stdout + shown.stderr))
    files = [report, *example_copy.joinpath(".voicekit").rglob("*")]
    for args, code, text in outputs:
        assert "Traceback" not in text, (args, text)
        assert code in (0, 1, 2), (args, code, text)
        for name, value in CANARIES.items():
            assert value not in text, (args, name)
    for path in files:
        if path.is_file():
            data = path.read_bytes()
            for name, value in CANARIES.items():
                assert value.encode() not in data, (path, name)


@pytest.mark.parametrize(
    "args",
    [
        ("simulate", ".", "--lead-phone", "(212) 555-CALL"),
        ("simulate", ".", "--lead-phone", "+1 415 555 0101 ext. 23"),
        ("simulate", ".", "--script", "missing.yaml"),
        ("campaign", "create", ".", "--name", "bad", "--leads", "nope.csv"),
        ("campaign", "run", ".", "no-such-campaign", "--simulate"),
        ("dial", ".", "+1 415 555 0101 ext. 23"),
    ],
)
def test_rejected_input_exits_2_and_journals_nothing(example_copy: Path, canary_env, args):
    done = _voicekit(example_copy, *args, env=canary_env)
    text = done.stdout + done.stderr
    assert done.returncode == 2, text
    assert "Traceback" not in text
    assert all(value not in text for value in CANARIES.values())
    listed = _voicekit(example_copy, "journal", "list", ".", "--json", env=canary_env)
    assert json.loads(listed.stdout or "[]") == []
