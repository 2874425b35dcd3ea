"""`nox` runs the lint and the tests, locally and in CI (offline: no keys, no network)."""

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """pytest with voicekit's harness (fixtures `voicekit`, `http_receiver`)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-q", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """One offline call through the plugin: `voicekit simulate` on demo/."""
    session.install("-e", ".")
    session.run("voicekit", "simulate", "demo", "--script", "demo/call.yaml", "--offline")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
