"""Fixtures for the dashboard tests: a private copy of the TDX SDR example, its loaded
deployment with an admin user, the app, and a logged-in TestClient (``client``) whose
``csrf`` attribute holds the session's CSRF token."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dashboard_kit import ADMIN, login
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "tdx_sdr"


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    target = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    return target


@pytest.fixture
def deployment(example_dir: Path, monkeypatch: pytest.MonkeyPatch):
    from voicekit_dashboard.accounts import set_admin

    from voicekit_core.deployment import load_deployment

    for name in (
        "OPENAI_API_KEY",
        "LIVEKIT_URL",
        "LIVEKIT_API_KEY",
        "LIVEKIT_API_SECRET",
        "VOICEKIT_STORE_URL",
        "LIVEKIT_SIP_OUTBOUND_TRUNK",
    ):
        monkeypatch.delenv(name, raising=False)
    loaded = load_deployment(example_dir)
    set_admin(loaded.store, *ADMIN)
    return loaded


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
    with TestClient(app) as client:
        response = login(client)
        assert response.status_code == 303, response.text
        yield client
