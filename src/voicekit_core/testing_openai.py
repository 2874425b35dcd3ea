"""A fake OpenAI-compatible server for offline tests of real livekit OpenAI plugin code.

:class:`FakeOpenAI` is an aiohttp server on ``127.0.0.1`` (random port) that speaks the parts
of the OpenAI API that ``livekit-plugins-openai`` uses:

* ``POST /v1/chat/completions``: answers from a scripted queue of :class:`ChatReply` (or
  callables that build one from the request body), streamed as server-sent events the way
  OpenAI does: a role chunk, text deltas, tool calls whose JSON arguments are split across
  chunks, a final chunk with ``finish_reason``, a usage chunk, then ``data: [DONE]``.
  (``"stream": false`` gets a single ``chat.completion`` object.) Every request body is
  recorded in :attr:`FakeOpenAI.requests`.
* ``GET /v1/models``: a one-model list (livekit prewarms with it).
* ``GET /v1/realtime`` (WebSocket): the Realtime API handshake. Every client event is
  recorded in :attr:`FakeOpenAI.realtime_events` (the first is ``session.update``); the
  server sends ``session.created`` on connect and answers each ``session.update`` with
  ``session.updated``.
* ``fail_first=N`` makes the first N chat requests fail with HTTP ``fail_status`` (500).

Example::

    from livekit.plugins import openai
    from voicekit_core.testing_openai import ChatReply, FakeOpenAI, ToolCallReply

    async with FakeOpenAI() as fake:
        fake.script(ToolCallReply("lookup", {"id": 7}), ChatReply("Found it."))
        llm = openai.LLM(model="gpt-4o-mini", base_url=fake.base_url, api_key="test")
        ...
        assert fake.requests[0].body["tools"][0]["function"]["name"] == "lookup"
        assert fake.tool_outputs(fake.requests[1].body) == ['{"found": true}']

The Authorization header is checked for presence only and never recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

logger = logging.getLogger("voicekit.testing_openai")

__all__ = [
    "ChatReply",
    "FakeOpenAI",
    "RecordedRequest",
    "ToolCallReply",
]


@dataclass
class ToolCallReply:
    """One tool call in a scripted reply.

    ``arguments`` (a dict, serialized to JSON) is streamed in ``chunks`` pieces, as
    OpenAI splits long arguments. ``call_id`` defaults to ``call_<n>``.
    """

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    call_id: str | None = None
    chunks: int = 3


@dataclass
class ChatReply:
    """A scripted assistant turn: ``text`` (streamed in ``text_chunks`` deltas) and/or
    ``tool_calls``. ``usage`` is ``(prompt_tokens, completion_tokens)``."""

    text: str = ""
    tool_calls: list[ToolCallReply] = field(default_factory=list)
    text_chunks: int = 3
    usage: tuple[int, int] = (100, 20)

    @classmethod
    def calls(cls, *tool_calls: ToolCallReply) -> ChatReply:
        """A reply made only of tool calls."""
        return cls(tool_calls=list(tool_calls))


Scripted = ChatReply | ToolCallReply | str | Callable[[dict[str, Any]], Any]
"""A queue entry: a reply, a single tool call, plain text, or ``f(request_body) -> any of
those`` to answer from what the client sent (e.g. a value from a previous tool result)."""


@dataclass
class RecordedRequest:
    """A request the server received: ``path``, decoded JSON ``body``, the HTTP ``status``
    the server answered, whether it carried an ``Authorization`` header, and the query."""

    path: str
    body: dict[str, Any]
    status: int
    authorized: bool
    query: dict[str, str] = field(default_factory=dict)


def _split(text: str, parts: int) -> list[str]:
    """``text`` in up to ``parts`` non-empty pieces (at least one piece)."""
    if not text:
        return [""]
    parts = max(1, min(parts, len(text)))
    size = -(-len(text) // parts)
    return [text[i : i + size] for i in range(0, len(text), size)]


class FakeOpenAI:
    """The fake server. Use ``async with FakeOpenAI() as fake:`` (or ``await start()`` /
    ``await close()``); :attr:`base_url` is then ``http://127.0.0.1:<port>/v1``.

    Args:
        fail_first: the first N chat-completion requests get HTTP ``fail_status`` with an
            OpenAI error body (``{"error": {"message", "type", "code"}}``).
        fail_status: the status used for those failures (default 500).
        default_reply: the text answered when the scripted queue is empty.
        model: the model id reported by ``/v1/models`` and in chunks.
        realtime_autoreply: send ``session.created`` / ``session.updated`` on the
            realtime WebSocket.
    """

    def __init__(
        self,
        *,
        fail_first: int = 0,
        fail_status: int = 500,
        default_reply: str = "Sorry, could you say that again?",
        model: str = "gpt-4o-mini",
        realtime_autoreply: bool = True,
    ) -> None:
        self.fail_first = fail_first
        self.fail_status = fail_status
        self.default_reply = default_reply
        self.model = model
        self.realtime_autoreply = realtime_autoreply
        self.requests: list[RecordedRequest] = []
        """Every chat-completion request, failed ones included, in arrival order."""
        self.realtime_events: list[dict[str, Any]] = []
        """Every client event received on ``/v1/realtime``, in order."""
        self.realtime_connections: list[RecordedRequest] = []
        """One entry per WebSocket connection (``query`` holds ``model``)."""
        self.unscripted = 0
        """How many chat requests found the queue empty (got :attr:`default_reply`)."""
        self._queue: list[Scripted] = []
        self._ids = itertools.count(1)
        self._event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle ----------------------------------------------------------------
    async def start(self) -> FakeOpenAI:
        """Listen on 127.0.0.1 at a free port; returns ``self``."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/realtime", self._realtime)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        """Stop the server (open WebSockets are closed)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: pass as ``base_url`` to the OpenAI plugins
        (the realtime model turns it into ``ws://.../v1/realtime``)."""
        return f"http://127.0.0.1:{self._port}/v1"

    # -- scripting ----------------------------------------------------------------
    def script(self, *replies: Scripted) -> None:
        """Append replies to the queue; each chat request (that is not failed) takes one."""
        self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Scripted replies not yet used."""
        return len(self._queue)

    @property
    def served(self) -> list[RecordedRequest]:
        """The chat requests answered with 200."""
        return [r for r in self.requests if r.status == 200]

    async def wait_for_realtime_events(
        self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until ``predicate(realtime_events)`` holds; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        while not predicate(self.realtime_events):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"realtime events so far: {[e.get('type') for e in self.realtime_events]}"
                )
            self._event.clear()
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except asyncio.TimeoutError:
                continue
        return self.realtime_events

    # -- reading request bodies -----------------------------------------------------
    @staticmethod
    def system_prompt(body: dict[str, Any]) -> str:
        """The text of the system/developer messages of a chat request, joined."""
        texts = []
        for message in body.get("messages", []):
            if message.get("role") in ("system", "developer"):
                texts.append(_content_text(message.get("content")))
        return "\n".join(texts)

    @staticmethod
    def tool_names(body: dict[str, Any]) -> list[str]:
        """Names of the function tools offered in a chat request."""
        return [t["function"]["name"] for t in body.get("tools", []) if t.get("type") == "function"]

    @staticmethod
    def tool_schema(body: dict[str, Any], name: str) -> dict[str, Any]:
        """The ``function`` object (name, description, parameters) of tool ``name``;
        raises KeyError if the request did not offer it."""
        for tool in body.get("tools", []):
            if tool.get("type") == "function" and tool["function"]["name"] == name:
                return tool["function"]
        raise KeyError(name)

    @staticmethod
    def tool_outputs(body: dict[str, Any], name: str | None = None) -> list[str]:
        """Contents of the ``tool`` messages of a chat request, oldest first; with ``name``,
        only the outputs answering calls of that tool."""
        names: dict[str, str] = {}
        outputs = []
        for message in body.get("messages", []):
            for call in message.get("tool_calls") or []:
                names[call.get("id", "")] = call.get("function", {}).get("name", "")
            answers = names.get(message.get("tool_call_id", ""))
            if message.get("role") == "tool" and (name is None or answers == name):
                outputs.append(_content_text(message.get("content")))
        return outputs

    # -- handlers -----------------------------------------------------------------
    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "fake"}]}
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return web.json_response({"error": {"message": "invalid JSON"}}, status=400)
        authorized = "Authorization" in request.headers
        if len(self.requests) < self.fail_first:
            self.requests.append(RecordedRequest(request.path, body, self.fail_status, authorized))
            return web.json_response(
                {"error": {"message": "scripted failure", "type": "server_error", "code": None}},
                status=self.fail_status,
            )
        self.requests.append(RecordedRequest(request.path, body, 200, authorized))
        reply = self._next_reply(body)
        if not body.get("stream"):
            return web.json_response(self._completion(reply, body))
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        for chunk in self._chunks(reply, body):
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    def _next_reply(self, body: dict[str, Any]) -> ChatReply:
        if not self._queue:
            self.unscripted += 1
            logger.warning("fake OpenAI: no scripted reply left; answering the default")
            return ChatReply(self.default_reply)
        entry: Any = self._queue.pop(0)
        if callable(entry) and not isinstance(entry, (ChatReply, ToolCallReply)):
            entry = entry(body)
        if isinstance(entry, str):
            return ChatReply(entry)
        if isinstance(entry, ToolCallReply):
            return ChatReply(tool_calls=[entry])
        if isinstance(entry, ChatReply):
            return entry
        raise TypeError(f"scripted reply must be ChatReply, ToolCallReply or str, not {entry!r}")

    def _call_id(self, call: ToolCallReply) -> str:
        return call.call_id or f"call_{next(self._ids)}"

    def _chunks(self, reply: ChatReply, body: dict[str, Any]) -> list[dict[str, Any]]:
        completion_id = f"chatcmpl-{next(self._ids)}"
        created = int(time.time())
        model = body.get("model", self.model)

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        chunks = [chunk({"role": "assistant", "content": ""})]
        if reply.text:
            chunks += [chunk({"content": piece}) for piece in _split(reply.text, reply.text_chunks)]
        for index, call in enumerate(reply.tool_calls):
            pieces = _split(json.dumps(call.arguments), call.chunks)
            first = {
                "index": index,
                "id": self._call_id(call),
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            chunks.append(chunk({"tool_calls": [first]}))
            chunks += [
                chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
                for piece in pieces
            ]
        chunks.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
        if (body.get("stream_options") or {}).get("include_usage"):
            prompt, completion = reply.usage
            chunks.append(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": {
                        "prompt_tokens": prompt,
                        "completion_tokens": completion,
                        "total_tokens": prompt + completion,
                    },
                }
            )
        return chunks

    def _completion(self, reply: ChatReply, body: dict[str, Any]) -> dict[str, Any]:
        prompt, completion = reply.usage
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    "id": self._call_id(call),
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for call in reply.tool_calls
            ]
        return {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.realtime_connections.append(
            RecordedRequest(
                request.path, {}, 101, "Authorization" in request.headers, dict(request.query)
            )
        )
        session: dict[str, Any] = {
            "id": f"sess_{next(self._ids)}",
            "object": "realtime.session",
            "type": "realtime",
            "model": request.query.get("model", self.model),
        }
        if self.realtime_autoreply:
            await ws.send_json(
                {
                    "type": "session.created",
                    "event_id": f"event_{next(self._ids)}",
                    "session": session,
                }
            )
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                event = json.loads(message.data)
            except json.JSONDecodeError:
                continue
            self.realtime_events.append(event)
            self._event.set()
            if self.realtime_autoreply and event.get("type") == "session.update":
                session.update(event.get("session") or {})
                await ws.send_json(
                    {
                        "type": "session.updated",
                        "event_id": f"event_{next(self._ids)}",
                        "session": session,
                    }
                )
        return ws


def _content_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of ``{"type": "text"}`` parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""
