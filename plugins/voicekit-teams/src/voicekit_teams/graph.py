"""The Microsoft Graph client factory, lazy SDK loading, warm-up, and error mapping.

msgraph-sdk is about 400 MB on disk and its first model parse in a process costs about
two seconds, so nothing here imports it at module import time: :func:`load_sdk` does,
once, and :func:`warm` also parses a sample event and schedule so the SDK's lazily
imported model modules are loaded before a caller is waiting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .settings import TeamsSettings

if TYPE_CHECKING:
    import httpx
    from msgraph import GraphServiceClient

#: Seconds spent in the first msgraph import and in the first model parse (None = not yet).
TIMINGS: dict[str, float | None] = {"import_seconds": None, "first_parse_seconds": None}
_LOCK = threading.Lock()
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
    b'"endTime":"17:00:00.0000000","timeZone":{"name":"UTC"}}}]}'
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
    Retries (429/503/504, honouring ``Retry-After``) follow ``settings.max_retries``; every
    request times out after ``settings.timeout_seconds``.
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
        RetryHandlerOption.get_key(): RetryHandlerOption(
            delay=1, max_retries=settings.max_retries, should_retry=settings.max_retries > 0
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

ProblemKind = Literal["forbidden", "not_found", "unavailable", "auth", "rejected"]
#: Transport errors raised before a request left (``GraphProblem.code`` holds the name).
NOT_SENT = frozenset({"ConnectError", "ConnectTimeout", "ClientAuthenticationError"})

_SPOKEN: dict[ProblemKind, str] = {
    "forbidden": (
        "I can't open the team's calendar right now. Apologise, offer to take a message, and "
        "say a colleague will email some times."
    ),
    "not_found": (
        "The team's calendar could not be found. Apologise, offer to take a message, and say "
        "a colleague will email some times."
    ),
    "auth": (
        "The calendar service refused our sign-in. Apologise, offer to take a message, and "
        "say a colleague will email some times."
    ),
    "unavailable": (
        "The calendar service is not responding right now. Apologise, offer to take a "
        "message, and say a colleague will email some times."
    ),
    "rejected": (
        "The calendar did not accept that booking. Apologise and offer to take a message so "
        "a colleague can send an invite."
    ),
}


@dataclass
class GraphProblem(Exception):
    """A Graph failure, sorted into what the agent can say (``speakable``) and what the
    report keeps (``kind``, HTTP ``status``, Graph error ``code``). Never holds secrets."""

    kind: ProblemKind
    status: int | None = None
    code: str = ""
    operation: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def speakable(self) -> str:
        return _SPOKEN[self.kind]

    @property
    def outcome_unknown(self) -> bool:
        """True when Graph may have carried the request out anyway: a 5xx, or a timeout /
        dropped connection after it was sent (a 429 was refused unprocessed)."""
        if self.kind != "unavailable" or self.status == 429:
            return False
        return self.status is not None or self.code not in NOT_SENT

    def record(self) -> dict[str, Any]:
        """JSON-able summary for ``CallReport.data["teams"]["errors"]``."""
        return {
            "operation": self.operation,
            "kind": self.kind,
            "status": self.status,
            "code": self.code,
        }

    def __str__(self) -> str:
        return f"Graph {self.operation}: {self.kind} (HTTP {self.status}, {self.code or '-'})"


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
        return GraphProblem(kind, status, code, operation)
    try:
        from azure.core.exceptions import ClientAuthenticationError
    except ImportError:  # pragma: no cover - azure-identity is a dependency
        ClientAuthenticationError = ()  # type: ignore[assignment]
    if isinstance(exc, ClientAuthenticationError):
        return GraphProblem("auth", None, "ClientAuthenticationError", operation)
    if isinstance(exc, (httpx.HTTPError, asyncio.TimeoutError, TimeoutError, OSError)):
        return GraphProblem("unavailable", None, type(exc).__name__, operation)
    return GraphProblem("unavailable", None, type(exc).__name__, operation)
