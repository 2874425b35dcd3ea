"""A local HTTP receiver on 127.0.0.1 for testing deliveries (webhooks, CRM fakes).

Built on pytest-httpserver (``pip install 'voicekit-core[testing]'``); the pytest plugin
hands one out as the ``http_receiver`` fixture. Every request is answered ``200 {"ok":
true}`` unless told otherwise, and kept::

    async def test_webhook(voicekit, http_receiver):
        http_receiver.fail("/hooks/calls", status=503)          # the first POST fails
        ...
        assert http_receiver.json("/hooks/calls")[0]["disposition"] == "completed"

Point the plugin's settings at ``http_receiver.url_for("/hooks/calls")``. The server
listens on 127.0.0.1 only, on a free port.
"""

from __future__ import annotations

import json as jsonlib
import re
from dataclasses import dataclass
from typing import Any

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedRequest:
    """One request the receiver got: ``method``, ``path``, ``headers`` (lower-case
    names), the raw ``body`` and the ``status`` it was answered with."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        """The body parsed as JSON (raises ``ValueError`` if it is not JSON)."""
        return jsonlib.loads(self.body or b"null")

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class HttpReceiver:
    """A running pytest-httpserver ``HTTPServer`` on 127.0.0.1 with a catch-all answer.

    ``server`` is the underlying ``HTTPServer`` for anything not covered here
    (``server.expect_request(...)``).
    """

    def __init__(self) -> None:
        from pytest_httpserver import HTTPServer

        self.server = HTTPServer(host=HOST, port=0)
        self.server.expect_request(re.compile(".*")).respond_with_json({"ok": True})

    def start(self) -> HttpReceiver:
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server.is_running():
            self.server.clear()
            self.server.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return self.server.url_for("/").rstrip("/")

    def url_for(self, path: str) -> str:
        """The full URL of ``path`` (``/hooks/calls``) on this receiver."""
        return self.server.url_for(path)

    def respond(
        self,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        body: str = "",
        method: str = "POST",
        times: int | None = None,
    ) -> None:
        """Answer ``method path`` with ``status`` and ``json`` (or ``body``): the next
        ``times`` requests only, or every one when ``times`` is None."""
        from pytest_httpserver.httpserver import HandlerType

        kind = HandlerType.PERMANENT if times is None else HandlerType.ONESHOT
        for _ in range(1 if times is None else times):
            handler = self.server.expect_request(path, method=method, handler_type=kind)
            if json is not None:
                handler.respond_with_json(json, status=status)
            else:
                handler.respond_with_data(body, status=status)

    def fail(self, path: str, *, status: int = 503, times: int = 1, method: str = "POST") -> None:
        """Answer the next ``times`` ``method path`` requests with ``status`` (then 200)."""
        self.respond(
            path, status=status, json={"error": f"HTTP {status}"}, method=method, times=times
        )

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received so far, in order."""
        return [
            ReceivedRequest(
                method=request.method,
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=request.get_data(),
                status=response.status_code,
            )
            for request, response in self.server.log
        ]

    def received(self, path: str | None = None, method: str = "POST") -> list[ReceivedRequest]:
        """The ``method`` requests received (to ``path`` only, when given)."""
        return [r for r in self.requests if r.method == method and (path is None or r.path == path)]

    def json(self, path: str | None = None, method: str = "POST") -> list[Any]:
        """The JSON bodies of :meth:`received`."""
        return [r.json() for r in self.received(path, method)]


__all__ = ["HOST", "HttpReceiver", "ReceivedRequest"]
