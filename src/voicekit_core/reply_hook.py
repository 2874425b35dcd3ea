"""The ``before_reply`` hook: a livekit ``Agent`` that lets plugins add context to a reply.

:func:`voicekit_core.builder.build_agent` uses :class:`HookedAgent` only when an enabled
plugin implements ``before_reply`` (knowledge pre-fetch is the first user), so other
deployments run livekit's plain ``Agent``. The hook runs inside livekit's ``llm_node``:
the same path in a live room, in ``voicekit simulate`` and in text-mode tests (livekit's
``on_user_turn_completed`` fires only after speech-to-text turns). Imports livekit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from livekit.agents import Agent, llm

if TYPE_CHECKING:
    from .calls import CallContext


def last_user_message(chat_ctx: llm.ChatContext) -> llm.ChatMessage | None:
    """The caller's latest message in ``chat_ctx``, or None before they spoke."""
    for item in reversed(chat_ctx.items):
        if item.type == "message" and item.role == "user":
            return item
    return None


class HookedAgent(Agent):
    """An ``Agent`` whose every LLM generation first broadcasts ``before_reply(call,
    chat_ctx, message)``; plugin failures are logged and the reply goes on."""

    def __init__(self, call: CallContext, **options: Any):
        super().__init__(**options)
        self._voicekit_call = call

    async def llm_node(
        self, chat_ctx: llm.ChatContext, tools: list[Any], model_settings: Any
    ) -> AsyncIterator[Any]:
        await self._voicekit_call.deployment.pm.abroadcast(
            "before_reply",
            call=self._voicekit_call,
            chat_ctx=chat_ctx,
            message=last_user_message(chat_ctx),
        )
        async for chunk in Agent.default.llm_node(self, chat_ctx, tools, model_settings):
            yield chunk
