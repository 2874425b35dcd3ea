"""The Microsoft Graph client factory, lazy SDK loading, warm-up, and error mapping.

msgraph-sdk is about 400 MB on disk and its first model parse in a process costs about
two seconds, so nothing here imports it at module import time: :func:`load_sdk` does,
once, and :func:`warm` also parses a sample event and schedule so the SDK's lazily
imported model modules are loaded before a caller is waiting.

Errors become :class:`GraphProblem` s (what the agent may say, what the report keeps).
The SDK's own retry handler is off; :func:`send` retries within a :class:`Deadline`, the
time budget of one tool call, so ``Retry-After`` can never hold a caller in silence for
longer than that budget.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .settings import TeamsSettings

if TYPE_CHECKING:
    import httpx
    from msgraph import GraphServiceClient

#: Seconds spent in the first msgraph import and in the first model parse (None = not yet).
TIMINGS: dict[str, float | None] = {"import_seconds": None, "first_parse_seconds": None}
_LOCK = threading.Lock()
T = TypeVar("T")
_WARM = False


def load_sdk() -> None:
    """Import msgraph (and azure-identity) once per process; records ``TIMINGS``."""
    if TIMINGS["import_seconds"] is not None:
        return
    with _LOCK:
        if TIMINGS["import_seconds"] is not None:
            return
        started = time.perf_counter()
        import azure.identity.aio  # noqa: F401
        import msgraph  # noqa: F401
        from msgraph.generated.models.event import Event  # noqa: F401

        TIMINGS["import_seconds"] = round(time.perf_counter() - started, 3)


_SAMPLE_EVENT = (
    b'{"id":"x","subject":"s","start":{"dateTime":"2026-01-05T15:00:00.0000000","timeZone":"UTC"},'
    b'"end":{"dateTime":"2026-01-05T15:30:00.0000000","timeZone":"UTC"},"isOnlineMeeting":true,'
    b'"onlineMeetingProvider":"teamsForBusiness","onlineMeeting":{"joinUrl":"https://x"},'
    b'"attendees":[{"type":"required","emailAddress":{"address":"a@b.c","name":"A"},'
    b'"status":{"response":"none"}}],"organizer":{"emailAddress":{"address":"o@b.c"}},'
    b'"body":{"contentType":"text","content":"c"}}'
)
_SAMPLE_SCHEDULE = (
    b'{"value":[{"scheduleId":"o@b.c","availabilityView":"02","scheduleItems":[{"status":"busy",'
    b'"start":{"dateTime":"2026-01-05T15:00:00.0000000","timeZone":"UTC"},'
    b'"end":{"dateTime":"2026-01-05T16:00:00.0000000","timeZone":"UTC"}}],'
    b'"workingHours":{"daysOfWeek":["monday"],"startTime":"08:00:00.0000000",'
    b'"endTime":"17:00:00.0000000","timeZone":{"name":"UTC"}}},'
    b'{"scheduleId":"p@b.c","scheduleItems":[],"workingHours":{"daysOfWeek":["monday"],'
    b'"startTime":"08:00:00.0000000","endTime":"17:00:00.0000000","timeZone":'
    b'{"@odata.type":"#microsoft.graph.customTimeZone","bias":480,"name":"c",'
    b'"standardOffset":{"time":"02:00:00.0000000","dayOccurrence":1,"dayOfWeek":"sunday",'
    b'"month":11,"year":0},"daylightOffset":{"daylightBias":-60,"time":"02:00:00.0000000",'
    b'"dayOccurrence":2,"dayOfWeek":"sunday","month":3,"year":0}}}},'
    b'{"scheduleId":"x@b.c","error":{"message":"m","responseCode":"5009"}}]}'
)


def warm() -> dict[str, float | None]:
    """Import msgraph and parse a sample event and schedule (blocking, ~2 s the first time).

    Call it at worker start (e.g. from a livekit ``prewarm_fnc``) or let the plugin's
    ``call_started`` hook run it in a thread. Idempotent and thread-safe. Returns
    ``TIMINGS`` (seconds: ``import_seconds``, ``first_parse_seconds``).
    """
    global _WARM
    load_sdk()
    if _WARM:
        return dict(TIMINGS)
    with _LOCK:
        if _WARM:
            return dict(TIMINGS)
        started = time.perf_counter()
        from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
        from msgraph.generated.models.event import Event
        from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_response import (
            GetSchedulePostResponse,
        )

        factory = JsonParseNodeFactory()
        factory.get_root_parse_node("application/json", _SAMPLE_EVENT).get_object_value(Event)
        factory.get_root_parse_node("application/json", _SAMPLE_SCHEDULE).get_object_value(
            GetSchedulePostResponse
        )
        from .zones import windows_to_iana

        windows_to_iana("UTC")  # loads the Windows -> IANA table
        TIMINGS["first_parse_seconds"] = round(time.perf_counter() - started, 3)
        _WARM = True
    return dict(TIMINGS)


async def warm_async() -> dict[str, float | None]:
    """:func:`warm` in a worker thread, so the event loop keeps serving audio."""
    return await asyncio.to_thread(warm)


class StaticTokenCredential:
    """An async azure-identity style credential that always returns ``token``.

    For local fakes and tests only (the Graph URL must then be localhost): production uses
    ``azure.identity.aio.ClientSecretCredential``.
    """

    def __init__(self, token: str = "test-token", lifetime_seconds: int = 3600) -> None:
        self._token = token
        self._lifetime = lifetime_seconds

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, int(time.time()) + self._lifetime)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> StaticTokenCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def make_http_client(settings: TeamsSettings) -> httpx.AsyncClient:
    """The httpx client under the SDK: ``settings.timeout_seconds`` per request, HTTP/2 for
    https. The caller closes it (``await http.aclose()``)."""
    load_sdk()
    import httpx

    timeout = httpx.Timeout(settings.timeout_seconds, connect=min(5.0, settings.timeout_seconds))
    return httpx.AsyncClient(timeout=timeout, http2=settings.graph_base_url.startswith("https"))


def make_credential(settings: TeamsSettings) -> Any:
    """``ClientSecretCredential`` from the settings, or a :class:`StaticTokenCredential`
    when ``local_token`` is set (localhost Graph only; the settings enforce that)."""
    if settings.local_token is not None:
        return StaticTokenCredential(settings.local_token.get_secret_value())
    load_sdk()
    from azure.identity.aio import ClientSecretCredential

    return ClientSecretCredential(
        settings.tenant_id, settings.client_id, settings.client_secret.get_secret_value()
    )


def build_client(
    settings: TeamsSettings,
    credential: Any | None = None,
    *,
    http_client: httpx.AsyncClient | None = None,
) -> GraphServiceClient:
    """A ``GraphServiceClient`` for ``settings.graph_base_url``.

    ``credential`` is any async token credential; by default an
    ``azure.identity.aio.ClientSecretCredential`` from ``tenant_id`` / ``client_id`` /
    ``client_secret`` (client credentials flow, scope ``https://graph.microsoft.com/.default``),
    see :func:`make_credential`. ``http_client`` defaults to :func:`make_http_client`.
    The SDK's own retry handler is off: :func:`send` retries (429/502/503/504, honouring
    ``Retry-After``) within a :class:`Deadline`. Every request times out after
    ``settings.timeout_seconds``.
    """
    load_sdk()
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.middleware.options import RetryHandlerOption, UrlReplaceHandlerOption
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph_core import APIVersion, GraphClientFactory
    from msgraph_core.middleware.options import GraphTelemetryHandlerOption

    if credential is None:
        credential = make_credential(settings)
    auth = AzureIdentityAuthenticationProvider(
        credential,
        scopes=["https://graph.microsoft.com/.default"]
        if settings.graph_base_url.startswith("https://")
        else [],
        allowed_hosts=[settings.graph_host],
    )
    options = {
        # The SDK's retry handler would wait out any Retry-After under 180 s per attempt:
        # retries happen in :func:`send` instead, within the tool call's time budget.
        RetryHandlerOption.get_key(): RetryHandlerOption(
            delay=0, max_retries=0, should_retry=False
        ),
        UrlReplaceHandlerOption.get_key(): UrlReplaceHandlerOption(
            enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"}
        ),
        GraphTelemetryHandlerOption.get_key(): GraphTelemetryHandlerOption(
            api_version=APIVersion.v1
        ),
    }
    http = GraphClientFactory.create_with_default_middleware(
        client=http_client or make_http_client(settings), options=options
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = settings.graph_base_url
    return GraphServiceClient(request_adapter=adapter)


# -- errors ------------------------------------------------------------------------------

ProblemKind = Literal["forbidden", "not_found", "unavailable", "auth", "rejected", "unreadable"]
#: Transport errors raised before a request left (``GraphProblem.code`` holds the name).
NOT_SENT = frozenset({"ConnectError", "ConnectTimeout", "ClientAuthenticationError"})
#: HTTP statuses worth another attempt: throttled, or a gateway / service hiccup.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: ``GraphProblem.code`` when the tool call's time budget ran out.
BUDGET = "BudgetExceeded"

_EMAIL_TIMES = (
    "Don't keep the prospect waiting: apologise, confirm their email address, and say a "
    "colleague will email them some meeting times today. Don't call the calendar tools again "
    "in this call."
)
_SPOKEN: dict[ProblemKind, str] = {
    "forbidden": "I can't open the team's calendar right now (take a message if they like). "
    + _EMAIL_TIMES,
    "not_found": "The team's calendar could not be found (take a message if they like). "
    + _EMAIL_TIMES,
    "auth": "The calendar service refused our sign-in (take a message if they like). "
    + _EMAIL_TIMES,
    "unavailable": "The calendar service is not responding quickly enough right now. "
    + _EMAIL_TIMES,
    "rejected": (
        "The calendar did not accept that booking. Apologise and offer to take a message so "
        "a colleague can send an invite."
    ),
    "unreadable": "The calendar answered with times I can't read safely. " + _EMAIL_TIMES,
}


@dataclass
class GraphProblem(Exception):
    """A Graph failure, sorted into what the agent can say (``speakable``) and what the
    report keeps (``kind``, HTTP ``status``, Graph error ``code``, ``retry_after`` seconds
    when Graph asked us to wait). Never holds secrets."""

    kind: ProblemKind
    status: int | None = None
    code: str = ""
    operation: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    retry_after: float | None = None

    @property
    def speakable(self) -> str:
        return _SPOKEN[self.kind]

    @property
    def outcome_unknown(self) -> bool:
        """True when Graph may have carried the request out anyway: a 5xx, or a timeout /
        dropped connection after it was sent (a 429 was refused unprocessed). A create
        that gave up after several attempts is unknown if any of them was
        (``details["maybe_stored"]``)."""
        if self.details.get("maybe_stored"):
            return True
        if self.kind != "unavailable" or self.status == 429 or self.code == BUDGET:
            return False
        return self.status is not None or self.code not in NOT_SENT

    @property
    def retryable(self) -> bool:
        """Another attempt may succeed: throttled, a gateway error, a timeout or a dropped
        connection (not an auth, permission or validation failure)."""
        if self.kind != "unavailable" or self.code == BUDGET:
            return False
        return self.status is None or self.status in RETRY_STATUSES

    def record(self) -> dict[str, Any]:
        """JSON-able summary for ``CallReport.data["teams"]["errors"]``."""
        out: dict[str, Any] = {
            "operation": self.operation,
            "kind": self.kind,
            "status": self.status,
            "code": self.code,
        }
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        for key in ("waited_seconds", "attempts", "time_zone"):
            if key in self.details:
                out[key] = self.details[key]
        return out

    def __str__(self) -> str:
        return f"Graph {self.operation}: {self.kind} (HTTP {self.status}, {self.code or '-'})"


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not headers:
        return None
    try:
        items = headers.items()
    except AttributeError:
        return None
    value = next((v for k, v in items if str(k).lower() == "retry-after"), None)
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def classify(exc: BaseException, operation: str) -> GraphProblem:
    """Map an SDK / transport exception to a :class:`GraphProblem`."""
    import httpx
    from kiota_abstractions.api_error import APIError

    if isinstance(exc, GraphProblem):
        return exc
    if isinstance(exc, APIError):
        status = exc.response_status_code
        error = getattr(exc, "error", None)
        code = str(getattr(error, "code", "") or "")
        if status == 403:
            kind: ProblemKind = "forbidden"
        elif status == 401:
            kind = "auth"
        elif status == 404:
            kind = "not_found"
        elif status is None or status >= 500 or status == 429:
            kind = "unavailable"
        else:
            kind = "rejected"
        wait = retry_after_seconds(exc.response_headers)
        return GraphProblem(kind, status, code, operation, retry_after=wait)
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # pragma: no cover - azure-identity is a dependency
        ClientAuthenticationError = ()  # type: ignore[assignment]
    if isinstance(exc, ClientAuthenticationError):
        return GraphProblem("auth", None, "ClientAuthenticationError", operation)
    if isinstance(exc, (httpx.HTTPError, asyncio.TimeoutError, TimeoutError, OSError)):
        return GraphProblem("unavailable", None, type(exc).__name__, operation)
    return GraphProblem("unavailable", None, type(exc).__name__, operation)


# -- time budget ---------------------------------------------------------------------------

#: Don't start an attempt with less than this left of the budget (seconds).
MIN_ATTEMPT_SECONDS = 0.25


class Deadline:
    """The time left for one tool call's Graph work (``time.monotonic`` based)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.started = time.monotonic()
        self.at = self.started + seconds

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def expired(self) -> bool:
        return self.remaining() <= MIN_ATTEMPT_SECONDS


def backoff(attempt: int) -> float:
    """Seconds to wait before retry ``attempt`` (0-based) when Graph gave no Retry-After."""
    return min(4.0, 0.25 * 2**attempt)


def next_wait(problem: GraphProblem, attempt: int, deadline: Deadline, max_retries: int) -> float:
    """Seconds to sleep before retrying after ``problem``; raises ``problem`` (annotated)
    when it is final, retries are used up, or the wait would outlast ``deadline``."""
    problem.details["attempts"] = attempt + 1
    problem.details["waited_seconds"] = round(deadline.elapsed(), 3)
    if not problem.retryable or attempt >= max_retries:
        raise problem
    wait = problem.retry_after if problem.retry_after is not None else backoff(attempt)
    if wait + MIN_ATTEMPT_SECONDS >= deadline.remaining():
        raise problem
    return wait


async def send(
    operation: str,
    request: Callable[[], Awaitable[T]],
    *,
    deadline: Deadline,
    max_retries: int,
    timeout: float,
) -> T:
    """Run ``request()`` (one SDK call) until it succeeds, within ``deadline``.

    Retries throttling (429), gateway errors (502/503/504), timeouts and dropped
    connections up to ``max_retries`` times, sleeping ``Retry-After`` (or a short backoff),
    but only while the wait and another attempt fit in the budget; each attempt is cut at
    ``min(timeout, time left)``. For reads and idempotent writes only: an attempt cut
    short is abandoned. Raises :class:`GraphProblem` (``code`` ``BudgetExceeded`` when the
    budget ran out mid-request).
    """
    attempt = 0
    while True:
        if deadline.expired:
            raise GraphProblem(
                "unavailable",
                None,
                BUDGET,
                operation,
                details={"attempts": attempt, "waited_seconds": round(deadline.elapsed(), 3)},
            )
        limit = min(timeout, deadline.remaining())
        try:
            return await asyncio.wait_for(request(), timeout=limit)
        except asyncio.TimeoutError:
            code = BUDGET if limit < timeout else "Timeout"
            problem = GraphProblem("unavailable", None, code, operation)
        except Exception as exc:
            problem = classify(exc, operation)
        await asyncio.sleep(next_wait(problem, attempt, deadline, max_retries))
        attempt += 1
