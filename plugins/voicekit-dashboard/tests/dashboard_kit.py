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
