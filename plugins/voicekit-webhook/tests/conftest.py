"""One local HTTP receiver for the whole session (threaded: a slow answer does not hold
the next request), reset before each test; it replaces voicekit's per-test
``http_receiver`` here, whose shutdown costs half a second per test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from voicekit_core.testing_http import HttpReceiver


@pytest.fixture(scope="session")
def _shared_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver()
    receiver.server.threaded = True
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def http_receiver(_shared_receiver: HttpReceiver) -> HttpReceiver:
    """The session's receiver with no requests logged and only the catch-all 200."""
    server = _shared_receiver.server
    server.clear()
    server.expect_request(re.compile(".*")).respond_with_json({"ok": True})
    return _shared_receiver
