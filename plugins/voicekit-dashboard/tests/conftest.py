"""Fixtures for the dashboard tests: a private copy of the TDX SDR example, its loaded
deployment with an admin user, the app, and a logged-in TestClient (``client``) whose
``csrf`` attribute holds the session's CSRF token; per test module, a ``seeded`` store with
real calls and its logged-in ``seeded_client`` (the Calls and Reports tests)."""

from __future__ import annotations

from pathlib import Path

import pytest
from calls_seed import seeded_dashboard, seeded_example
from dashboard_kit import ADMIN, clear_env, copy_example, logged_in
from fastapi.testclient import TestClient


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "tdx_sdr")


@pytest.fixture
def deployment(example_dir: Path, monkeypatch: pytest.MonkeyPatch):
    from voicekit_dashboard.accounts import set_admin

    from voicekit_core.deployment import load_deployment

    clear_env(monkeypatch)
    loaded = load_deployment(example_dir)
    set_admin(loaded.store, *ADMIN)
    return loaded


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A store with real calls (:func:`calls_seed.seed`: two campaigns run to the end and
    one call outside them), one per test module: tests that use it only read."""
    with seeded_example(tmp_path_factory.mktemp("seeded") / "tdx_sdr") as seeded:
        yield seeded


@pytest.fixture(scope="module")
def seeded_client(seeded):
    """A logged-in client of a dashboard on the ``seeded`` store."""
    with seeded_dashboard(seeded) as client:
        yield client


@pytest.fixture
def app_options() -> dict:
    """Options of ``create_app`` (override in a test module)."""
    return {"dialer": "external"}


@pytest.fixture
def app(deployment, app_options):
    from voicekit_dashboard.app import create_app

    return create_app(deployment, **app_options)


@pytest.fixture
def anonymous(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(app):
    """A logged-in client; unsafe requests carry the CSRF header."""
    with logged_in(app) as client:
        yield client
