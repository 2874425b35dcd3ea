"""``/test-call``: talk to the deployment's agent by typing, in the browser.

A test call is a real text-mode agent session in this process (:mod:`..testcalls`),
journaled like any call and marked ``report.data["test_call"]``. The page starts one
(``POST /api/test-calls``), sends caller turns (``POST .../say``), follows the agent's
replies and tool calls over server-sent events (``GET .../stream``, read from the journal
as on ``/live``) and hangs up (``POST .../hangup``).
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal, NoReturn

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from voicekit_core.errors import VoicekitError
from voicekit_core.masking import display_phone
from voicekit_core.redaction import redact

from ..testcalls import (
    MAX_TURN_CHARS,
    TestCall,
    TestCallError,
    TestCallManager,
    describe_models,
    expected_models,
    test_lead,
)
from ..web import Dash, DashboardState, page
from .live import Format, ResumeAt, follow_call

router = APIRouter()

SERVICE = "testcalls"


async def on_startup(dash: DashboardState) -> None:
    prewarm_models(dash)
    dash.services[SERVICE] = TestCallManager(
        dash.deployment,
        limit=dash.settings.test_call_limit,
        idle_seconds=dash.settings.test_call_idle_seconds,
    )


def prewarm_models(dash: DashboardState) -> None:
    """Import the deployment's livekit provider plugins now: they register themselves
    on import and refuse any thread but the main one, where the server's event loop (and
    so this startup) runs. Elsewhere (an embedding app, tests) the caller imports them."""
    if threading.current_thread() is not threading.main_thread():
        return
    from voicekit_core.worker import import_provider_plugins

    import_provider_plugins(dash.deployment)


async def on_shutdown(dash: DashboardState) -> None:
    manager = dash.services.pop(SERVICE, None)
    if manager is not None:
        await manager.aclose()


def test_calls(dash: Dash) -> TestCallManager:
    return dash.services[SERVICE]


Manager = Annotated[TestCallManager, Depends(test_calls)]


def _refuse(exc: TestCallError) -> NoReturn:
    raise HTTPException(exc.status, str(exc)) from None


def known_test_call(call_id: str, manager: Manager) -> TestCall:
    """The test call; 404 when this dashboard process does not run (or recently ran) it."""
    try:
        return manager.get(call_id)
    except TestCallError as exc:
        _refuse(exc)


KnownTestCall = Annotated[TestCall, Depends(known_test_call)]
UNKNOWN = {404: {"description": "no test call with this id in this dashboard process"}}


class TestCallView(BaseModel):
    """A test call: who it plays, the models it runs (``model``: a short label,
    ``models``: the selection with its reason), and once ``ended`` its disposition and
    ``reason`` (a model failure's cause, secrets redacted). ``stream_url`` serves its
    conversation as server-sent events; ``call_url`` is its page in the call journal."""

    __test__ = False

    call_id: str
    state: Literal["running", "ended"]
    lead_name: str = ""
    company: str = ""
    phone: str
    model: str
    models: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime
    turns: int = 0
    disposition: str | None = None
    reason: str = ""
    stream_url: str
    call_url: str


class TurnAccepted(BaseModel):
    """A caller turn queued; the agent's answer comes on the stream."""

    call_id: str
    queued: str


def _view(test: TestCall) -> TestCallView:
    return TestCallView(
        call_id=test.call_id,
        state="running" if test.running else "ended",
        lead_name=test.lead_name,
        company=test.company,
        phone=display_phone(test.phone),
        model=describe_models(test.models),
        models=test.models,
        started_at=test.started_at,
        turns=test.turns,
        disposition=test.disposition,
        reason=test.reason,
        stream_url=f"/api/test-calls/{test.call_id}/stream",
        call_url=f"/calls/{test.call_id}",
    )


# -- API ---------------------------------------------------------------------------------


@router.get("/api/test-calls", tags=["test calls"])
def api_test_calls(manager: Manager) -> list[TestCallView]:
    """This process's test calls, running and recently ended, newest first."""
    tests = sorted(manager.sessions.values(), key=lambda t: t.started_at, reverse=True)
    return [_view(test) for test in tests]


@router.post(
    "/api/test-calls",
    tags=["test calls"],
    status_code=201,
    response_model=TestCallView,
    responses={
        400: {"description": "the call could not be journaled (the store failed)"},
        429: {"description": "test_call_limit test calls are already running"},
        502: {"description": "the session could not start (a model or provider failed)"},
    },
)
async def api_start_test_call(
    request: Request,
    dash: Dash,
    manager: Manager,
    name: Annotated[str, Form(max_length=200)] = "",
    company: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
):
    """Start a test call, optionally as a lead (``name``, ``company``, ``phone`` fill the
    ``{lead.*}`` placeholders; a known ``phone`` alone is looked up in the lead source).
    The greeting and every reply then come on ``stream_url``.

    422 for a bad phone, 429 when ``test_call_limit`` test calls already run, 502 when
    the session could not start (the reason, secrets redacted). An htmx request gets
    the chat panel (HTML) instead of JSON.
    """
    try:
        e164, lead = test_lead(dash.deployment, name=name, company=company, phone=phone)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    try:
        test = await manager.start(phone=e164, lead=lead, user=request.session.get("user", ""))
    except TestCallError as exc:
        _refuse(exc)
    except VoicekitError:
        raise  # the app's handler: 400 with the redacted message
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:300]
        raise HTTPException(
            502, redact(f"the test call could not start: {type(exc).__name__}: {first}")
        ) from None
    view = _view(test)
    if request.headers.get("hx-request"):
        return page(request, "testcall_panel.html", status_code=201, test=view)
    return view


@router.get("/api/test-calls/{call_id}", tags=["test calls"], responses=UNKNOWN)
def api_test_call(test: KnownTestCall) -> TestCallView:
    """One test call. 404 for an unknown id."""
    return _view(test)


@router.post(
    "/api/test-calls/{call_id}/say",
    tags=["test calls"],
    status_code=202,
    responses={
        **UNKNOWN,
        409: {"description": "the test call has ended"},
        429: {"description": "turns are already waiting for the agent's answer"},
    },
)
def api_say(
    call_id: str,
    manager: Manager,
    text: Annotated[str, Form(min_length=1, max_length=MAX_TURN_CHARS)],
) -> TurnAccepted:
    """Queue what the caller says next (the agent's answer comes on the stream).

    404 unknown id, 409 the call has ended, 422 empty or longer than 2000 characters,
    429 when turns are already waiting for the agent.
    """
    spoken = text.strip()
    if not spoken:
        raise HTTPException(422, "text: say something (the text is blank)")
    try:
        test = manager.say(call_id, spoken)
    except TestCallError as exc:
        _refuse(exc)
    return TurnAccepted(call_id=test.call_id, queued=spoken)


@router.post("/api/test-calls/{call_id}/hangup", tags=["test calls"], responses=UNKNOWN)
async def api_hangup(call_id: str, manager: Manager) -> TestCallView:
    """Hang up after the agent's current answer and wait until the call is journaled;
    returns the ended call with its disposition. 404 for an unknown id; hanging up an
    ended call returns it unchanged."""
    try:
        test = await manager.hangup(call_id)
    except TestCallError as exc:
        _refuse(exc)
    return _view(test)


@router.get(
    "/api/test-calls/{call_id}/stream",
    tags=["test calls"],
    response_class=EventSourceResponse,
    responses=UNKNOWN,
)
async def api_test_call_stream(
    request: Request,
    dash: Dash,
    test: KnownTestCall,
    start: ResumeAt,
    format: Format = "html",
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events of the test call: ``line`` (the greeting first, then each
    caller and agent line), ``tool`` (name, arguments, output; failed ones marked), and a
    final ``ended`` with the disposition and, for a model failure, the reason. 404 for
    an unknown id."""
    async for event in follow_call(request, dash, test.call_id, start, format):
        yield event


# -- page --------------------------------------------------------------------------------


@router.get("/test-call", include_in_schema=False)
def test_call_page(request: Request, dash: Dash, manager: Manager):
    models = expected_models(dash.deployment)
    tests = sorted(manager.sessions.values(), key=lambda t: t.started_at, reverse=True)
    return page(
        request,
        "testcall.html",
        active="test",
        title="Test call",
        model=describe_models(models),
        models=models,
        running=[_view(t) for t in tests if t.running],
        ended=[_view(t) for t in tests if not t.running],
        limit=manager.limit,
        max_chars=MAX_TURN_CHARS,
    )
