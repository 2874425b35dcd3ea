"""Login, sessions, CSRF, rate limits and what is public."""

from __future__ import annotations

import re

import pytest
from dashboard_kit import ADMIN, all_routes, assert_login_required, login
from fastapi.testclient import TestClient


def test_healthz_is_public(anonymous: TestClient):
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_every_route_but_public_ones_requires_login(app, anonymous: TestClient):
    public = {"/healthz", "/login", "/logout", "/widget.js", "/static"}
    private = [
        route
        for route in all_routes(app)
        if not any(route.path == p or route.path.startswith(p + "/") for p in public)
        and not route.path.startswith("/api/widget")
    ]
    # every page router is mounted and walked
    assert assert_login_required(anonymous, private) >= 40


def test_pages_redirect_to_login_with_next(anonymous: TestClient):
    response = anonymous.get("/config?x=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/config%3Fx%3D1"


def test_login_wrong_password_is_refused(anonymous: TestClient):
    response = login(anonymous, password="not the password")
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert anonymous.get("/api/config").status_code == 401


def test_login_then_logout(anonymous: TestClient):
    assert login(anonymous).status_code == 303
    assert anonymous.get("/api/config").status_code == 200
    response = anonymous.post(
        "/logout", data={"csrf_token": anonymous.csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert anonymous.get("/api/config").status_code == 401


def test_login_refuses_foreign_redirects(anonymous: TestClient):
    form = anonymous.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    response = anonymous.post(
        "/login",
        data={
            "username": ADMIN[0],
            "password": ADMIN[1],
            "csrf_token": token,
            "next": "//evil.example.com/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_login_without_csrf_is_refused(anonymous: TestClient):
    anonymous.get("/login")
    response = anonymous.post("/login", data={"username": ADMIN[0], "password": ADMIN[1]})
    assert response.status_code == 403


def test_unsafe_request_without_csrf_token_is_refused(client: TestClient):
    del client.headers["X-CSRF-Token"]
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    response = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/api/config").status_code == 200  # still logged in


def test_login_is_rate_limited_per_ip(deployment):
    from voicekit_dashboard.app import create_app
    from voicekit_dashboard.settings import DashboardSettings

    app = create_app(deployment, settings=DashboardSettings(login_rate="3/minute"))
    with TestClient(app) as client:
        codes = [login(client, password="wrong password!").status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_config_page_never_shows_secrets(client: TestClient, deployment, monkeypatch):
    from voicekit_core.redaction import register_secret

    secret = "sk-test-abcdefghijklmnop1234"
    register_secret(secret)
    body = client.get("/config").text + client.get("/api/config").text
    assert secret not in body
    assert deployment.config.agent.name in body


def test_openapi_spec_behind_login(client: TestClient, anonymous: TestClient):
    assert anonymous.get("/api/openapi.json").status_code == 401
    spec = client.get("/api/openapi.json").json()
    assert "/api/config" in spec["paths"]


def test_unknown_route_is_404(client: TestClient):
    assert client.get("/api/nothing-here").status_code == 404


@pytest.mark.parametrize("password", ["short", ""])
def test_weak_admin_password_is_refused(deployment, password):
    from voicekit_dashboard.accounts import AccountError, set_admin

    with pytest.raises(AccountError):
        set_admin(deployment.store, "admin", password)


def test_create_user_command(example_dir, monkeypatch):
    from click.testing import CliRunner
    from voicekit_dashboard.accounts import get_admin, verify_login

    from voicekit_core.cli import build_cli
    from voicekit_core.deployment import load_deployment

    monkeypatch.setenv("VOICEKIT_DASHBOARD_PASSWORD", "a long enough password")
    result = CliRunner().invoke(
        build_cli(), ["dashboard", str(example_dir), "--create-user", "--username", "lead"]
    )
    assert result.exit_code == 0, result.output
    store = load_deployment(example_dir).store
    assert get_admin(store).username == "lead"
    assert verify_login(store, "lead", "a long enough password")
    assert "a long enough password" not in get_admin(store).password_hash


def test_serving_without_admin_exits_2(example_dir):
    from click.testing import CliRunner

    from voicekit_core.cli import build_cli

    result = CliRunner().invoke(build_cli(), ["dashboard", str(example_dir), "--port", "4999"])
    assert result.exit_code == 2
    assert "--create-user" in result.output
