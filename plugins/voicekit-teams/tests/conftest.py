"""Fixtures: a fake Microsoft Graph on 127.0.0.1 and deployments pointed at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

sys.path.insert(0, str(Path(__file__).parent))

from teams_fake_graph import FakeGraph


@pytest.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    """A running :class:`FakeGraph`; ``fake_graph.base_url`` ends in ``/v1.0``."""
    fake = FakeGraph()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.base_url = f"http://127.0.0.1:{port}/v1.0"
    yield fake
    await runner.cleanup()
