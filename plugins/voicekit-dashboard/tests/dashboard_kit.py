"""Helpers of the dashboard tests (a unique module name: test folders share sys.path)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ADMIN = ("admin", "correct horse battery")
ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "tdx_sdr"
#: Variables of the developer's shell that a test deployment must not pick up.
DEPLOYMENT_ENV = (
    "OPENAI_API_KEY",
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "VOICEKIT_STORE_URL",
    "LIVEKIT_SIP_OUTBOUND_TRUNK",
)


def copy_example(target: Path) -> Path:
    """A private copy of the TDX SDR example at ``target`` (its store and caches left out)."""
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    return target


def clear_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unset :data:`DEPLOYMENT_ENV` for the test (or the ``MonkeyPatch.context()``)."""
    for name in DEPLOYMENT_ENV:
        monkeypatch.delenv(name, raising=False)


def login(client: TestClient, username: str = ADMIN[0], password: str = ADMIN[1]):
    """Log ``client`` in through the login form; sets ``client.csrf``. Returns the response."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    client.csrf = token
    client.headers["X-CSRF-Token"] = token
    return response


@contextmanager
def logged_in(app) -> Iterator[TestClient]:
    """A running ``TestClient`` of ``app``, logged in as :data:`ADMIN` (see :func:`login`)."""
    with TestClient(app) as client:
        assert login(client).status_code == 303
        yield client


def assert_login_required(anonymous: TestClient, routes: Iterable) -> int:
    """Send every method of every route (path parameters filled with ``x``) without a
    login and assert a 401; returns how many requests were checked."""
    checked = 0
    for route in routes:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in (getattr(route, "methods", None) or {"GET"}) - {"HEAD", "OPTIONS"}:
            response = anonymous.request(
                method, path, follow_redirects=False, headers={"accept": "application/json"}
            )
            assert response.status_code == 401, (method, route.path, response.status_code)
            checked += 1
    return checked


def all_routes(app) -> list:
    """Every ``Route`` of ``app``, routers included by ``include_router`` expanded (FastAPI
    >= 0.160 keeps them as wrapper objects in ``app.routes``); the static mount left out."""
    from starlette.routing import Route

    found: list = []
    pending = list(app.routes)
    while pending:
        route = pending.pop(0)
        if isinstance(route, Route):
            found.append(route)
        elif hasattr(route, "original_router"):
            pending.extend(route.original_router.routes)
    return found
