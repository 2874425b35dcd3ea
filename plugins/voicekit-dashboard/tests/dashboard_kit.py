"""Helpers of the dashboard tests (a unique module name: test folders share sys.path)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

ADMIN = ("admin", "correct horse battery")


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
