"""Fixtures: a local HTTP server answering as HubSpot, and deployments pointed at it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hubspot_fake import TOKEN, FakeHubSpot
from pytest_httpserver import HTTPServer


@pytest.fixture(scope="session")
def hubspot_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def hubspot(hubspot_server: HTTPServer) -> Iterator[FakeHubSpot]:
    """A fresh fake HubSpot for each test (same server, new state)."""
    fake = FakeHubSpot(token=TOKEN)
    hubspot_server.clear()
    hubspot_server.expect_request(re.compile(r".*")).respond_with_handler(fake)
    fake.url = hubspot_server.url_for("").rstrip("/")
    yield fake
    fake.delay = 0
    hubspot_server.clear()
