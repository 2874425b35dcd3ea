"""Per-client-IP rate limits (the ``limits`` library's moving window, in memory).

Limits are per dashboard process: behind several processes each allows the full rate, so
put a proxy limit in front if that matters.
"""

from __future__ import annotations

from fastapi import HTTPException, Request


class RateLimits:
    """Named limits such as ``{"login": "10/minute"}``; :meth:`hit` counts one request."""

    def __init__(self, rates: dict[str, str], *, trust_proxy_headers: bool = False):
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self._items = {name: parse(rate) for name, rate in rates.items()}
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._trust_proxy = trust_proxy_headers

    def client_ip(self, request: Request) -> str:
        """The client's IP: the first X-Forwarded-For hop when proxy headers are trusted."""
        if self._trust_proxy:
            forwarded = request.headers.get("x-forwarded-for", "")
            first = forwarded.split(",")[0].strip()
            if first:
                return first
        return request.client.host if request.client else "unknown"

    def hit(self, name: str, request: Request) -> None:
        """Count one ``name`` request from this client. Raises ``HTTPException(429)`` with
        a ``Retry-After`` header (seconds) when the client is over the limit."""
        item = self._items[name]
        key = self.client_ip(request)
        if self._limiter.hit(item, name, key):
            return
        reset_at, _remaining = self._limiter.get_window_stats(item, name, key)
        import time

        retry = max(1, int(reset_at - time.time()) + 1)
        raise HTTPException(
            status_code=429,
            detail=f"too many {name} requests; try again in {retry} s",
            headers={"Retry-After": str(retry)},
        )
