"""A fake LiveKit server for offline tests: Twirp over HTTP on 127.0.0.1, protobuf bodies.

The real ``livekit-api`` client talks to it unchanged. It decodes requests with
``<Request>.FromString``, keeps rooms, dispatches, trunks and dispatch rules in memory, and
answers protobuf or Twirp JSON errors (``{"code", "msg", "meta"}``). It runs in its own
thread and event loop, so it serves both async tests and synchronous ``CliRunner`` tests.

Authentication answers exactly as livekit-server does (``pkg/service/auth.go``,
``APIKeyAuthMiddleware`` -> ``HandleError`` in ``pkg/service/utils.go``, which writes
``err.Error()`` as a **plain-text** 401 body that ``livekit-api`` cannot parse, so the
client sees ``ServerError(code="unknown", message="", status=401)``):

=========================================  ===================================================
token problem                              401 body (``text/plain; charset=utf-8``)
=========================================  ===================================================
header not ``Bearer ...``                  ``invalid authorization header. Must start with Bearer ``
not a JWT                                  ``invalid authorization token``
``iss`` is not a known key                 ``invalid API key``
wrong secret                               ``invalid authorization token: token signature is
                                           invalid: signature is invalid``
``exp`` + 60 s leeway passed               ``invalid authorization token: token has invalid
                                           claims: token is expired``
``nbf`` - 60 s leeway not reached          ``... token has invalid claims: token is not valid yet``
=========================================  ===================================================

(golang-jwt v5 messages, as pinned by livekit/protocol's ``auth/verifier.go``.) A valid
token without the grant a method needs gets Twirp JSON ``401 {"code": "unauthenticated",
"msg": "permissions denied"}`` (``twirpAuthError``). ``clock_offset`` (seconds) moves the
server's clock: tokens are judged by it and every reply's ``Date`` header shows it.
``http_failure = (503, "upstream connect error")`` makes every request fail with that
status and plain-text body (a proxy or load balancer in trouble). ``GET /`` answers
``OK`` like livekit-server's health check::

    with FakeLiveKit() as lk:
        lk.dial_failures["+14155550123"] = (486, "Busy Here")
        env = lk.env()          # LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET
        ...
        assert lk.calls("CreateSIPParticipant")[0].request.sip_call_to == "+14155550123"

Egress (recording): ``StartRoomCompositeEgress`` answers an ``EgressInfo`` (``EG_0001``,
``EGRESS_STARTING``), ``StopEgress`` one with ``EGRESS_ENDING`` (404 for an unknown id, 412
``failed_precondition`` for one that is over, as livekit-server does), ``ListEgress`` the
known ones; deleting a room completes its egresses. Each needs the ``roomRecord`` grant.
``egress_failures`` lists ``(http_status, message)`` answers the next start requests get
first, one each (``[(500, "egress unavailable")] * 3``); ``egress_delay`` (seconds) delays
the answer to a start request (the egress exists meanwhile, as when an answer is lost).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

DEFAULT_KEY = "APIfakeKey0123"
_ACTIVE_EGRESS = (0, 1)  # EgressStatus EGRESS_STARTING, EGRESS_ACTIVE
_TWIRP_CODES = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    412: "failed_precondition",
    429: "resource_exhausted",
    500: "internal",
    503: "unavailable",
}
DEFAULT_SECRET = "fake-secret-0123456789abcdefghijklmnopqrstuv"


@dataclass
class Recorded:
    """One accepted request: Twirp service and method, decoded protobuf, token claims."""

    service: str
    method: str
    request: Any
    claims: Any


class _AuthRejected(Exception):
    """livekit-server's auth middleware refused the token; ``str()`` is the 401 body."""


class TwirpFailure(Exception):
    """Raise from a handler to answer a Twirp JSON error."""

    def __init__(self, status: int, code: str, msg: str, meta: dict[str, str] | None = None):
        super().__init__(msg)
        self.status, self.code, self.msg, self.meta = status, code, msg, meta or {}


@dataclass
class FakeLiveKit:
    """In-memory LiveKit (Room, AgentDispatch and SIP services). See the module docstring.

    ``dial_failures`` / ``transfer_failures`` map a number (``"+1..."``) or a transfer
    target (``"tel:+1..."``) to ``(sip_status_code, sip_status)``; those requests fail with
    a Twirp error carrying ``sip_status_code`` metadata (the client raises ``SipCallError``).
    ``other_keys`` maps more API keys to their secrets (all are accepted).
    ``dial_delays`` maps a number to the seconds ``CreateSIPParticipant`` takes before it
    answers or fails (a slow pick-up; other requests are served meanwhile).
    ``on_answer(request)`` is called with each ``CreateSIPParticipantRequest`` the fake
    answers, in the server's thread before it replies: a test can play the worker there
    (journal the call's report under the job metadata's ``call_id``).
    ``egresses`` maps egress ids to their ``EgressInfo``; ``egress_failures``,
    ``egress_delay``: see the module docstring. ``on_egress(request)`` is called with each
    ``RoomCompositeEgressRequest`` received, before it is answered (or refused).
    """

    api_key: str = DEFAULT_KEY
    api_secret: str = DEFAULT_SECRET
    requests: list[Recorded] = field(default_factory=list)
    rejected: list[tuple[str, int, str]] = field(default_factory=list)
    rooms: dict[str, Any] = field(default_factory=dict)
    dispatches: list[Any] = field(default_factory=list)
    inbound_trunks: list[Any] = field(default_factory=list)
    outbound_trunks: list[Any] = field(default_factory=list)
    dispatch_rules: list[Any] = field(default_factory=list)
    dial_failures: dict[str, tuple[int, str]] = field(default_factory=dict)
    transfer_failures: dict[str, tuple[int, str]] = field(default_factory=dict)
    other_keys: dict[str, str] = field(default_factory=dict)
    clock_offset: float = 0.0
    http_failure: tuple[int, str] | None = None
    dial_delays: dict[str, float] = field(default_factory=dict)
    on_answer: Callable[[Any], None] | None = None
    egresses: dict[str, Any] = field(default_factory=dict)
    egress_failures: list[tuple[int, str]] = field(default_factory=list)
    egress_delay: float = 0.0
    on_egress: Callable[[Any], None] | None = None
    port: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The LIVEKIT_* variables pointing at this server."""
        return {
            "LIVEKIT_URL": self.url,
            "LIVEKIT_API_KEY": self.api_key,
            "LIVEKIT_API_SECRET": self.api_secret,
        }

    def start(self) -> FakeLiveKit:
        """Serve on 127.0.0.1 (free port) in a background thread; returns self."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-livekit", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake LiveKit server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def __enter__(self) -> FakeLiveKit:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        from aiohttp import web

        @web.middleware
        async def server_clock(request: Any, handler: Any) -> Any:
            return await self._server_clock(request, handler)

        app = web.Application(middlewares=[server_clock])
        app.router.add_get("/", self._health)
        app.router.add_post("/twirp/livekit.{service}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    # -- queries -------------------------------------------------------------------
    def calls(self, method: str) -> list[Recorded]:
        """Accepted requests of a Twirp method (e.g. ``"CreateSIPParticipant"``)."""
        with self._lock:
            return [r for r in self.requests if r.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [r.method for r in self.requests]

    def next_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):04d}"

    # -- HTTP ----------------------------------------------------------------------
    def now(self) -> float:
        """The server's clock: Unix seconds, ``clock_offset`` applied."""
        return time.time() + self.clock_offset

    async def _server_clock(self, request: Any, handler: Any) -> Any:
        """Every reply carries the server's (offset) clock in ``Date``; ``http_failure``
        answers every request before routing."""
        from email.utils import formatdate

        from aiohttp import web

        if self.http_failure is not None:
            status, text = self.http_failure
            with self._lock:
                self.rejected.append((request.path, status, text))
            response = web.Response(status=status, text=text, content_type="text/plain")
        else:
            response = await handler(request)
        response.headers["Date"] = formatdate(self.now(), usegmt=True)
        return response

    async def _health(self, request: Any) -> Any:
        from aiohttp import web

        return web.Response(text="OK", content_type="text/plain")

    async def _handle(self, request: Any) -> Any:
        from aiohttp import web

        service, method = request.match_info["service"], request.match_info["method"]
        route = self._routes().get((service, method))
        try:
            claims = self._authenticate(request.headers.get("Authorization", ""))
        except _AuthRejected as rejected:
            with self._lock:
                self.rejected.append((method, 401, str(rejected)))
            return web.Response(status=401, text=str(rejected), content_type="text/plain")
        try:
            if route is None:
                path = f"/twirp/livekit.{service}/{method}"
                raise TwirpFailure(404, "bad_route", f"no handler for path {path!r}")
            request_class, handler = route
            message = request_class.FromString(await request.read())
            with self._lock:
                self.requests.append(Recorded(service, method, message, claims))
            if method == "CreateSIPParticipant" and self.dial_delays.get(message.sip_call_to):
                await asyncio.sleep(self.dial_delays[message.sip_call_to])
            reply = handler(message, claims)
            if method == "StartRoomCompositeEgress" and self.egress_delay:
                await asyncio.sleep(self.egress_delay)  # started; the answer is slow
        except TwirpFailure as failure:
            return self._error(method, failure)
        except Exception as exc:  # a bug in a handler: answer like Twirp, keep serving
            failure = TwirpFailure(500, "internal", f"fake server error: {exc!r}")
            return self._error(method, failure)
        return web.Response(body=reply.SerializeToString(), content_type="application/protobuf")

    def _error(self, method: str, failure: TwirpFailure) -> Any:
        """A Twirp JSON error response; recorded in ``rejected``."""
        from aiohttp import web

        with self._lock:
            self.rejected.append((method, failure.status, failure.msg))
        body: dict[str, Any] = {"code": failure.code, "msg": failure.msg}
        if failure.meta:
            body["meta"] = failure.meta
        return web.Response(
            status=failure.status, text=json.dumps(body), content_type="application/json"
        )

    def _authenticate(self, header: str) -> Any:
        """Claims of the bearer token, judged as livekit-server's ``APIKeyAuthMiddleware``
        does (60 s leeway, ``exp`` required). Raises :class:`_AuthRejected` (plain-text
        401); returns ``None`` without a header (the method's grant check then fails)."""
        import jwt
        from livekit import api

        if not header:
            return None
        if not header.startswith("Bearer "):
            raise _AuthRejected("invalid authorization header. Must start with Bearer ")
        token = header.removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _AuthRejected("invalid authorization token") from None
        key = str(claims.get("iss") or "")
        secrets = {self.api_key: self.api_secret, **self.other_keys}
        secret = secrets.get(key, "")
        if not secret:
            raise _AuthRejected("invalid API key")
        prefix = "invalid authorization token: "
        try:
            jwt.decode(token, secret, algorithms=["HS256"], options={"verify_exp": False})
        except jwt.InvalidSignatureError:
            raise _AuthRejected(
                prefix + "token signature is invalid: signature is invalid"
            ) from None
        except jwt.PyJWTError:
            pass  # claims are judged below, by the server's clock
        problems = []
        now, leeway = self.now(), 60
        if "exp" not in claims:
            problems.append("token is missing required claim: exp claim is required")
        elif now > float(claims["exp"]) + leeway:
            problems.append("token is expired")
        if "nbf" in claims and now < float(claims["nbf"]) - leeway:
            problems.append("token is not valid yet")
        if problems:
            raise _AuthRejected(prefix + "token has invalid claims: " + ", ".join(problems))
        return api.TokenVerifier(key, secret).verify(token, verify_signature=False)

    # -- handlers ------------------------------------------------------------------
    def _routes(self) -> dict[tuple[str, str], tuple[Any, Callable[[Any, Any], Any]]]:
        from livekit import api

        return {
            ("RoomService", "CreateRoom"): (api.CreateRoomRequest, self._create_room),
            ("RoomService", "ListRooms"): (api.ListRoomsRequest, self._list_rooms),
            ("RoomService", "DeleteRoom"): (api.DeleteRoomRequest, self._delete_room),
            ("RoomService", "RemoveParticipant"): (
                api.RoomParticipantIdentity,
                lambda r, c: api.RemoveParticipantResponse(),
            ),
            ("AgentDispatchService", "CreateDispatch"): (
                api.CreateAgentDispatchRequest,
                self._create_dispatch,
            ),
            ("Egress", "StartRoomCompositeEgress"): (
                api.RoomCompositeEgressRequest,
                self._start_egress,
            ),
            ("Egress", "StopEgress"): (api.StopEgressRequest, self._stop_egress),
            ("Egress", "ListEgress"): (api.ListEgressRequest, self._list_egress),
            ("SIP", "CreateSIPParticipant"): (api.CreateSIPParticipantRequest, self._dial),
            ("SIP", "TransferSIPParticipant"): (api.TransferSIPParticipantRequest, self._transfer),
            ("SIP", "CreateSIPInboundTrunk"): (
                api.CreateSIPInboundTrunkRequest,
                self._create_inbound,
            ),
            ("SIP", "ListSIPInboundTrunk"): (
                api.ListSIPInboundTrunkRequest,
                lambda r, c: (
                    self._need_sip_admin(c)
                    or api.ListSIPInboundTrunkResponse(items=self.inbound_trunks)
                ),
            ),
            ("SIP", "ListSIPOutboundTrunk"): (
                api.ListSIPOutboundTrunkRequest,
                lambda r, c: (
                    self._need_sip_admin(c)
                    or api.ListSIPOutboundTrunkResponse(items=self.outbound_trunks)
                ),
            ),
            ("SIP", "CreateSIPDispatchRule"): (api.CreateSIPDispatchRuleRequest, self._create_rule),
            ("SIP", "ListSIPDispatchRule"): (
                api.ListSIPDispatchRuleRequest,
                lambda r, c: (
                    self._need_sip_admin(c)
                    or api.ListSIPDispatchRuleResponse(items=self.dispatch_rules)
                ),
            ),
        }

    @staticmethod
    def _need(ok: bool, what: str) -> None:
        """livekit-server's ``Ensure*Permission`` + ``twirpAuthError``: a 401 Twirp error
        ``permissions denied`` (``what`` names the grant, for readers of this file only)."""
        if not ok:
            raise TwirpFailure(401, "unauthenticated", "permissions denied")

    def _need_sip_admin(self, claims: Any) -> None:
        self._need(bool(claims and claims.sip and claims.sip.admin), "sip admin")

    def _create_room(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need(bool(claims and claims.video and claims.video.room_create), "roomCreate")
        room = self.rooms.get(request.name) or api.Room(
            sid=self.next_id("RM"), name=request.name, metadata=request.metadata
        )
        self.rooms[request.name] = room
        return room

    def _list_rooms(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need(bool(claims and claims.video and claims.video.room_list), "roomList")
        rooms = list(self.rooms.values())
        if request.names:
            rooms = [room for room in rooms if room.name in set(request.names)]
        return api.ListRoomsResponse(rooms=rooms)

    def _delete_room(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need(bool(claims and claims.video and claims.video.room_create), "roomCreate")
        self.rooms.pop(request.room, None)
        for egress in self.egresses.values():  # the room's recordings end with it
            if egress.room_name == request.room and egress.status in _ACTIVE_EGRESS:
                egress.status = api.EgressStatus.EGRESS_COMPLETE
                egress.ended_at = time.time_ns()
        return api.DeleteRoomResponse()

    def _need_room_record(self, claims: Any) -> None:
        self._need(bool(claims and claims.video and claims.video.room_record), "roomRecord")

    def _start_egress(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need_room_record(claims)
        if self.on_egress is not None:
            self.on_egress(request)
        if self.egress_failures:
            status, message = self.egress_failures.pop(0)
            raise TwirpFailure(status, _TWIRP_CODES.get(status, "internal"), message)
        if not request.room_name:
            raise TwirpFailure(400, "invalid_argument", "room name is required")
        egress = api.EgressInfo(
            egress_id=self.next_id("EG"),
            room_name=request.room_name,
            room_id=getattr(self.rooms.get(request.room_name), "sid", ""),
            status=api.EgressStatus.EGRESS_STARTING,
            updated_at=time.time_ns(),
        )
        egress.room_composite.CopyFrom(request)
        self.egresses[egress.egress_id] = egress
        return egress

    def _stop_egress(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need_room_record(claims)
        egress = self.egresses.get(request.egress_id)
        if egress is None:
            raise TwirpFailure(404, "not_found", "egress does not exist")
        if egress.status not in _ACTIVE_EGRESS:
            name = api.EgressStatus.Name(egress.status)
            raise TwirpFailure(
                412, "failed_precondition", f"egress with status {name} cannot be stopped"
            )
        egress.status = api.EgressStatus.EGRESS_ENDING
        egress.updated_at = time.time_ns()
        return egress

    def _list_egress(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need_room_record(claims)
        items = [
            egress
            for egress in self.egresses.values()
            if (not request.room_name or egress.room_name == request.room_name)
            and (not request.egress_id or egress.egress_id == request.egress_id)
            and (not request.active or egress.status in _ACTIVE_EGRESS)
        ]
        return api.ListEgressResponse(items=items)

    def _create_dispatch(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need(bool(claims and claims.video and claims.video.room_admin), "roomAdmin")
        dispatch = api.AgentDispatch(
            id=self.next_id("AD"),
            agent_name=request.agent_name,
            room=request.room,
            metadata=request.metadata,
        )
        self.dispatches.append(dispatch)
        return dispatch

    def _dial(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need(bool(claims and claims.sip and claims.sip.call), "sip call")
        if not request.sip_trunk_id and not request.HasField("trunk"):
            raise TwirpFailure(400, "invalid_argument", "trunk id is required")
        failure = self.dial_failures.get(request.sip_call_to)
        if failure:
            code, status = failure
            raise TwirpFailure(
                404 if code in (404, 484) else 400,
                "not_found" if code in (404, 484) else "unavailable",
                f"sip call failed: {code} {status}",
                {"sip_status_code": str(code), "sip_status": status},
            )
        if self.on_answer is not None:
            self.on_answer(request)
        return api.SIPParticipantInfo(
            participant_id=self.next_id("PA"),
            participant_identity=request.participant_identity,
            room_name=request.room_name,
            sip_call_id=self.next_id("SCL"),
        )

    def _transfer(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need(bool(claims and claims.sip and claims.sip.call), "sip call")
        self._need(bool(claims and claims.video and claims.video.room_admin), "roomAdmin")
        failure = self.transfer_failures.get(request.transfer_to)
        if failure:
            code, status = failure
            raise TwirpFailure(
                400,
                "unavailable",
                f"transfer failed: {code} {status}",
                {"sip_status_code": str(code), "sip_status": status},
            )
        return api.TransferSIPParticipantResponse(
            transfer_id=self.next_id("TR"),
            status=api.SIPTransferStatus.STS_TRANSFER_SUCCESSFUL,
        )

    def _create_inbound(self, request: Any, claims: Any) -> Any:
        self._need_sip_admin(claims)
        trunk = type(request.trunk)()
        trunk.CopyFrom(request.trunk)
        trunk.sip_trunk_id = self.next_id("ST")
        self.inbound_trunks.append(trunk)
        return trunk

    def _create_rule(self, request: Any, claims: Any) -> Any:
        from livekit import api

        self._need_sip_admin(claims)
        rule = api.SIPDispatchRuleInfo()
        if request.HasField("dispatch_rule"):
            rule.CopyFrom(request.dispatch_rule)
        else:  # the legacy flat fields
            rule.rule.CopyFrom(request.rule)
            rule.trunk_ids.extend(request.trunk_ids)
            rule.name = request.name
            rule.metadata = request.metadata
            rule.room_config.CopyFrom(request.room_config)
        rule.sip_dispatch_rule_id = self.next_id("SDR")
        self.dispatch_rules.append(rule)
        return rule


@pytest.fixture
def fake_livekit() -> Any:
    """A running :class:`FakeLiveKit` with one outbound trunk ``ST_outbound``."""
    from livekit import api

    server = FakeLiveKit()
    server.outbound_trunks.append(
        api.SIPOutboundTrunkInfo(
            sip_trunk_id="ST_outbound", name="fake outbound", address="sip.example.com"
        )
    )
    with server:
        yield server


__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_SECRET",
    "FakeLiveKit",
    "Recorded",
    "TwirpFailure",
    "fake_livekit",
]


@pytest.fixture
def livekit_env(fake_livekit: FakeLiveKit, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``LIVEKIT_URL`` / ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET`` of ``fake_livekit``,
    set in the process environment for the test."""
    env = fake_livekit.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
