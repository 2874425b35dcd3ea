"""A deterministic ``livekit.agents.llm.LLM``: each reply comes from a Python function.

Used for the offline ``scripted`` provider (the deployment's call flow), by the testing
kit, and by plugins that ship an offline demo model of their own. A policy gets the chat
context and the tools offered and returns a :class:`Reply` (text and/or tool calls), a
plain string, or ``None`` (say nothing). This module needs livekit but not pytest::

    from voicekit_core.scripted_llm import ScriptedLLM, ToolCall, replies

    llm = ScriptedLLM(replies(ToolCall("order_status", {"order_id": "A100"}), "It shipped."))
    llm.push("This answer comes first.")   # answers queued ahead of the policy
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from livekit.agents import llm
from livekit.agents.llm import ChatChunk, ChoiceDelta, CompletionUsage, FunctionToolCall
from livekit.agents.types import (
    DEFAULT_API_CONNECT_OPTIONS,
    NOT_GIVEN,
    APIConnectOptions,
    NotGivenOr,
)


@dataclass
class ToolCall:
    """A tool call the model makes: tool ``name`` with JSON-able ``arguments``."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass
class Reply:
    """One model turn: spoken ``text`` and/or ``tool_calls`` (executed by livekit)."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)


Policy = Callable[[llm.ChatContext, list[str]], "Reply | str | None"]


def tool_names(tools: Iterable[Any]) -> list[str]:
    """Names of livekit tools (function or raw)."""
    names = []
    for tool in tools:
        name = getattr(tool, "id", None) or getattr(getattr(tool, "info", None), "name", None)
        if name:
            names.append(name)
    return names


class ScriptedLLM(llm.LLM):
    """An LLM whose every answer is ``policy(chat_ctx, tool_names)``.

    Answers queued with :meth:`push` come first, one per request. ``model`` names it in
    metrics and reports. Token usage is reported as zero. ``requests`` keeps a copy of
    every chat context it was asked with.
    """

    def __init__(self, policy: Policy, *, model: str = "scripted"):
        super().__init__()
        self._policy = policy
        self._model = model
        self._ids = itertools.count(1)
        self._pushed: list[Reply | ToolCall | str | Policy] = []
        self.requests: list[llm.ChatContext] = []

    def push(self, *items: Reply | ToolCall | str | Policy) -> None:
        """Answer the next ``len(items)`` requests with ``items``, in order, before the
        policy is asked again (a text, a :class:`ToolCall`, a :class:`Reply`, or a policy
        function called for that request). ``voicekit simulate`` pushes a caller script's
        agent steps this way."""
        self._pushed.extend(items)

    def drop_pushed(self) -> int:
        """Forget pushed answers that were never asked for; returns how many."""
        count, self._pushed = len(self._pushed), []
        return count

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return "voicekit"

    def chat(
        self,
        *,
        chat_ctx: llm.ChatContext,
        tools: list[llm.Tool] | None = None,
        conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS,
        parallel_tool_calls: NotGivenOr[bool] = NOT_GIVEN,
        tool_choice: NotGivenOr[llm.ToolChoice] = NOT_GIVEN,
        extra_kwargs: NotGivenOr[dict[str, Any]] = NOT_GIVEN,
    ) -> llm.LLMStream:
        self.requests.append(chat_ctx.copy())
        return _ScriptedStream(
            self, chat_ctx=chat_ctx, tools=tools or [], conn_options=conn_options
        )

    def answer(self, chat_ctx: llm.ChatContext, tools: list[llm.Tool]) -> Reply:
        names = tool_names(tools)
        if self._pushed:
            reply = _as_reply(self._pushed.pop(0), chat_ctx, names)
        else:
            reply = self._policy(chat_ctx, names)
        if reply is None:
            return Reply()
        if isinstance(reply, str):
            return Reply(text=reply)
        return reply

    def next_id(self) -> str:
        return f"scripted_{next(self._ids)}"


class _ScriptedStream(llm.LLMStream):
    _llm: ScriptedLLM

    async def _run(self) -> None:
        reply = self._llm.answer(self._chat_ctx, self._tools)
        request_id = self._llm.next_id()
        calls = [
            FunctionToolCall(
                name=call.name,
                arguments=json.dumps(call.arguments),
                call_id=f"{request_id}_{i}",
            )
            for i, call in enumerate(reply.tool_calls)
        ]
        delta = ChoiceDelta(role="assistant", content=reply.text or None, tool_calls=calls)
        self._event_ch.send_nowait(ChatChunk(id=request_id, delta=delta))
        self._event_ch.send_nowait(
            ChatChunk(
                id=request_id,
                usage=CompletionUsage(completion_tokens=0, prompt_tokens=0, total_tokens=0),
            )
        )


def replies(*items: Reply | ToolCall | str | Policy) -> Policy:
    """A policy answering with ``items`` in order: a text, a :class:`ToolCall`, a
    :class:`Reply`, or a policy function called for that turn. Raises ``AssertionError``
    when the model is asked more often than there are items (a test-writing mistake)."""
    queue = list(items)

    def policy(chat_ctx: llm.ChatContext, tools: list[str]) -> Reply | str | None:
        if not queue:
            raise AssertionError("ScriptedLLM ran out of replies")
        return _as_reply(queue.pop(0), chat_ctx, tools)

    return policy


def _as_reply(
    item: Reply | ToolCall | str | Policy, chat_ctx: llm.ChatContext, tools: list[str]
) -> Reply | str | None:
    if isinstance(item, ToolCall):
        return Reply(tool_calls=[item])
    if callable(item) and not isinstance(item, (Reply, str)):
        return item(chat_ctx, tools)
    return item


__all__ = ["Policy", "Reply", "ScriptedLLM", "ToolCall", "replies", "tool_names"]
