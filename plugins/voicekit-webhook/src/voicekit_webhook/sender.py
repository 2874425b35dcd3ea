"""One target, one body: ``POST`` it, retrying what is worth retrying (httpx + tenacity).

Outcomes of one request:

* 2xx: delivered.
* 429, 5xx, a timeout, a refused or dropped connection: retried up to ``max_attempts``
  requests in all, after ``Retry-After`` when the answer carries one (seconds or an HTTP
  date) and it is at most ``retry_after_max_seconds``, else with exponential backoff. A
  longer ``Retry-After`` stops at once (:class:`RetryLater`): the journal retries later.
* any other 4xx, or a 3xx (a signed body is never re-sent to another address):
  :class:`Refused`, not retried; the message says what to fix.

Each request is signed afresh (new timestamp) and carries ``Idempotency-Key: <call id>``,
so a receiver that got a request whose answer was lost can drop the repeat. Messages never
contain the secret, the headers, the body or the URL's query string.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from .settings import display_url
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

if TYPE_CHECKING:
    from .settings import Payload, Target, WebhookSettings

logger = logging.getLogger("voicekit.webhook")

USER_AGENT = "voicekit-webhook/0.1.0"
_EXCERPT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")

Sleep = Callable[[float], Awaitable[None]]


class WebhookError(Exception):
    """A target did not take the delivery. ``target`` is its label, ``status`` the last
    HTTP status (None when no answer came)."""

    def __init__(self, message: str, *, target: str, status: int | None = None):
        super().__init__(message)
        self.target = target
        self.status = status


class Transient(WebhookError):
    """Worth another request: 429, 5xx, timeout, connection error. ``retry_after`` is what
    the server asked for, in seconds (None when it did not say)."""

    def __init__(
        self,
        message: str,
        *,
        target: str,
        status: int | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(message, target=target, status=status)
        self.retry_after = retry_after


class Refused(WebhookError):
    """A definite no (4xx other than 429, or a redirect): re-sending the same request will
    not help until the receiver or the config changes."""


class RetryLater(WebhookError):
    """The server asked to wait longer than ``retry_after_max_seconds``."""


@dataclass(frozen=True)
class Sent:
    """A delivered request: the HTTP ``status`` and how many ``attempts`` it took."""

    status: int
    attempts: int


async def send(
    client: httpx.AsyncClient,
    target: Target,
    settings: WebhookSettings,
    *,
    body: bytes,
    call_id: str,
    payload: Payload,
    sleep: Sleep = asyncio.sleep,
) -> Sent:
    """POST ``body`` to ``target`` with retries (see the module docstring).

    :raises Refused: a 4xx other than 429, or a 3xx.
    :raises RetryLater: a ``Retry-After`` above ``retry_after_max_seconds``.
    :raises Transient: still failing after ``max_attempts`` requests.
    """
    backoff = wait_exponential(
        multiplier=settings.backoff_seconds, max=settings.backoff_max_seconds
    )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, Transient) and error.retry_after is not None:
            return error.retry_after
        return backoff(state) if settings.backoff_seconds else 0.0

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "%s; retrying in %.1f s (attempt %d of %d)",
            error,
            delay,
            state.attempt_number,
            settings.max_attempts,
        )

    attempts = 0
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(settings.max_attempts),
        wait=wait,
        retry=retry_if_exception_type(Transient),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    ):
        with attempt:
            attempts = attempt.retry_state.attempt_number
            status = await _post_once(
                client, target, settings, body=body, call_id=call_id, payload=payload
            )
    return Sent(status=status, attempts=attempts)


async def _post_once(
    client: httpx.AsyncClient,
    target: Target,
    settings: WebhookSettings,
    *,
    body: bytes,
    call_id: str,
    payload: Payload,
) -> int:
    """One signed request; returns the 2xx status or raises a :class:`WebhookError`."""
    headers = {
        **target.headers,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": call_id,
        "X-Voicekit-Call-Id": call_id,
        "X-Voicekit-Payload": payload,
    }
    if target.secret is not None:
        timestamp = str(int(time.time()))
        headers[TIMESTAMP_HEADER] = timestamp
        headers[SIGNATURE_HEADER] = sign(target.secret.get_secret_value(), timestamp, body)
    label = target.label
    who = f"webhook {target.name or label}"
    where = f" (POST {display_url(target.url)})" if target.name else ""
    try:
        response = await asyncio.wait_for(
            client.post(
                target.url,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(target.timeout_seconds),
            ),
            timeout=target.timeout_seconds,
        )
    except (asyncio.TimeoutError, httpx.TimeoutException):
        raise Transient(
            f"{who}: no answer within {target.timeout_seconds:g} s{where}", target=label
        ) from None
    except httpx.TransportError as exc:
        raise Transient(f"{who}: {_transport_reason(exc)}{where}", target=label) from None
    status = response.status_code
    if 200 <= status < 300:
        return status
    reason = f"HTTP {status} {response.reason_phrase}".rstrip()
    excerpt = _excerpt(response.text)
    said = f": {excerpt}" if excerpt else ""
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None and retry_after > settings.retry_after_max_seconds:
            raise RetryLater(
                f"{who}: {reason}{where}, asked to retry after {retry_after:.0f} s, more than "
                f"retry_after_max_seconds ({settings.retry_after_max_seconds:g} s): "
                "`voicekit journal retry` will deliver it later",
                target=label,
                status=status,
            )
        raise Transient(
            f"{who}: {reason}{said}{where}",
            target=label,
            status=status,
            retry_after=retry_after,
        )
    if 300 <= status < 400:
        raise Refused(
            f"{who}: {reason}, a redirect{where}: a signed body is not re-sent to another "
            "address; set url to the final address",
            target=label,
            status=status,
        )
    raise Refused(
        f"{who} refused the delivery: {reason}{said}{where}. Not retried: a {status} means "
        "the receiver rejects this request as it is (check the url, the secret, the headers "
        "and the receiver's logs), then run `voicekit journal retry`",
        target=label,
        status=status,
    )


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (``"120"`` or an HTTP date), never negative; None when
    absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _excerpt(text: str) -> str:
    """The start of a response body on one line (it is the receiver's text: data only)."""
    flat = _CONTROL.sub(" ", text or "").strip()
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


def _transport_reason(exc: httpx.TransportError) -> str:
    kind = {
        httpx.ConnectError: "could not connect",
        httpx.RemoteProtocolError: "the connection broke",
        httpx.ReadError: "the connection broke",
        httpx.WriteError: "the connection broke",
    }.get(type(exc), "the request failed")
    detail = _excerpt(str(exc))
    return f"{kind} ({type(exc).__name__}: {detail})" if detail else kind
