"""Reading the chat context: the turns so far (messages, tool calls, tool results) and
what they tell a flow (the agent's last line, the BANT answers given, the slots offered).

Every scripted reply is computed from these, with no hidden state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livekit.agents import llm


@dataclass
class Turn:
    """One chat item, flattened: a message (``role``, ``text``), a tool call (``name``,
    ``arguments``) or a tool result (``name``, ``output``, ``is_error``)."""

    kind: str  # "message" | "function_call" | "function_call_output"
    role: str = ""
    text: str = ""
    name: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)
    output: str = ""
    is_error: bool = False


def read_turns(chat_ctx: llm.ChatContext) -> list[Turn]:
    """The caller and agent messages, tool calls and tool results of ``chat_ctx``, in order
    (system messages left out)."""
    turns = []
    for item in chat_ctx.items:
        if item.type == "message" and item.role in ("user", "assistant"):
            turns.append(Turn("message", role=item.role, text=item.text_content or ""))
        elif item.type == "function_call":
            try:
                args = json.loads(item.arguments or "{}")
            except json.JSONDecodeError:
                args = {}
            turns.append(Turn("function_call", name=item.name, arguments=args))
        elif item.type == "function_call_output":
            turns.append(
                Turn(
                    "function_call_output",
                    name=item.name,
                    output=item.output,
                    is_error=item.is_error,
                )
            )
    return turns


def load_json(text: str) -> Any:
    """``text`` parsed as JSON, or None when it is not JSON."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def with_args(calls: list[Any], **arguments: Any) -> list[Any]:
    """``calls`` (ToolCalls) with ``arguments`` added to each; returns the same list."""
    for call in calls:
        call.arguments.update(arguments)
    return calls


def last_agent_text(turns: list[Turn]) -> str:
    """The agent's last spoken line in ``turns`` (``""`` if none)."""
    for turn in reversed(turns):
        if turn.kind == "message" and turn.role == "assistant":
            return turn.text
    return ""


def called(turns: list[Turn], name: str) -> bool:
    """True if tool ``name`` was called in ``turns``."""
    return any(t.kind == "function_call" and t.name == name for t in turns)


def answers_by_key(turns: list[Turn], questions: list[tuple[str, str]]) -> dict[str, str]:
    """``{question key: the caller's reply}`` for every question asked and answered."""
    by_text = {text: key for key, text in questions}
    answers: dict[str, str] = {}
    pending: str | None = None
    for turn in turns:
        if turn.kind != "message":
            continue
        if turn.role == "assistant":
            pending = next(
                (key for text, key in by_text.items() if text and text in turn.text), None
            )
        elif pending is not None:
            answers[pending] = turn.text
            pending = None
    return answers


def slots_from(data: Any) -> list[dict[str, Any]]:
    """The slots (dicts with ``start`` and ``label``) in an availability result: a list or
    ``{"slots": [...]}``; ``[]`` for anything else."""
    if isinstance(data, dict):
        data = data.get("slots")
    if not isinstance(data, list):
        return []
    return [s for s in data if isinstance(s, dict) and "start" in s and "label" in s]


def last_offer(turns: list[Turn], *, include_answered: bool = False) -> list[dict[str, Any]] | None:
    """Slots from the last availability result, if the agent has not booked since."""
    for turn in reversed(turns):
        if turn.kind == "function_call_output":
            slots = slots_from(load_json(turn.output))
            if slots:
                return slots
            if turn.name and not include_answered and "meeting" in turn.name:
                return None
    return None


def chosen_before(turns: list[Turn]) -> str:
    """The caller's reply right after the slots were offered (used once the email arrives)."""
    seen_offer = False
    for turn in turns:
        if turn.kind == "function_call_output" and slots_from(load_json(turn.output)):
            seen_offer = True
        elif seen_offer and turn.kind == "message" and turn.role == "user":
            return turn.text
    return ""
