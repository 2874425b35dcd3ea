"""Developer sessions: `nox -s demo`, `nox -s tests`, `nox -s lint`, `nox -s bench`."""

from __future__ import annotations

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


def install_all(session: nox.Session) -> None:
    session.install("-e", ".[dev]")
    for path in PLUGINS + FIXTURE_PLUGINS:
        session.install("-e", path)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, offline (core, plugins, example)."""
    install_all(session)
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: an offline TDX SDR call (qualified prospect books a meeting)."""
    session.install("-e", ".")
    script = session.posargs[0] if session.posargs else "examples/tdx_sdr/scripts/qualified.yaml"
    session.run(
        "voicekit",
        "simulate",
        "examples/tdx_sdr",
        "--script",
        script,
        "--report",
        ".voicekit/demo-report.json",
        "--offline",
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (ratios against a baseline measured in the same run)."""
    install_all(session)
    session.run("python", "benchmarks/run.py", *session.posargs)
