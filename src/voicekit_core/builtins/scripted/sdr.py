"""The SDR flow of the scripted model: greet, qualify with BANT, schedule, transfer.

It asks the ``[flow].questions`` in order, parses the answers (budget in USD, authority,
need, timeline in months), calls the qualification tool, offers slots from the
availability tool, books with the schedule tool, transfers or takes a message when asked
for a human, schedules a callback when the caller asks for one (:mod:`.callbacks`), and
closes politely on "not interested" or a wrong number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import callbacks
from .conversation import (
    Turn,
    answers_by_key,
    called,
    chosen_before,
    last_agent_text,
    last_offer,
    load_json,
    read_turns,
    slots_from,
    with_args,
)
from .parsing import (
    DNC_PATTERNS,
    EMAIL,
    detect_intent,
    match_slot,
    qualification_arguments,
    spoken_list,
)
from .phrases import PHRASES

if TYPE_CHECKING:
    from livekit.agents import llm

    from voicekit_core.calls import CallContext
    from voicekit_core.scripted_llm import Reply


@dataclass
class CallFlowPolicy:
    """The scripted model's decision function (see the module docstring): called with
    the chat context and the tool names offered, it returns the next :class:`Reply`."""

    questions: list[tuple[str, str]]  # (key, question text in the call's language)
    qualify_tool: str
    availability_tool: str
    schedule_tool: str
    transfer_tool: str
    lead_email: str | None = None
    company: str = ""
    language: str = "en"

    @classmethod
    def for_call(cls, call: CallContext) -> CallFlowPolicy:
        """The policy for ``call``: its deployment's ``[flow]``, language and lead email."""
        config = call.config
        flow = config.flow
        return cls(
            questions=[(q.key, config.localized(q.ask)) for q in flow.questions],
            qualify_tool=flow.qualify_tool,
            availability_tool=flow.availability_tool,
            schedule_tool=flow.schedule_tool,
            transfer_tool=flow.transfer_tool,
            lead_email=(call.lead.email if call.lead else None),
            company=str((config.campaign.model_extra or {}).get("company", config.campaign.name)),
            language=config.agent.language if config.agent.language in PHRASES else "en",
        )

    def say(self, key: str, **values: Any) -> str:
        """Phrase ``key`` in the call's language, with ``values`` filled in."""
        return PHRASES[self.language][key].format(**values)

    # The entry point livekit calls through ScriptedLLM.
    def __call__(self, chat_ctx: llm.ChatContext, tools: list[str]) -> Reply | str | None:
        from voicekit_core.scripted_llm import Reply

        turns = read_turns(chat_ctx)
        if not turns:
            return self.say("greeting", company=self.company)
        last = turns[-1]
        if last.kind == "function_call_output":
            return self._after_tool(last, turns, tools)
        if last.kind == "message" and last.role == "user":
            return self._after_user(last.text, turns, tools)
        return Reply()

    # -- reacting to tool results --------------------------------------------------
    def _after_tool(self, result: Turn, turns: list[Turn], tools: list[str]) -> Reply | str | None:
        from voicekit_core.scripted_llm import Reply, ToolCall

        end = [ToolCall("end_call")] if "end_call" in tools else []
        if result.name == "end_call":
            return None
        if result.name == callbacks.CALLBACK_TOOL:
            return callbacks.after_tool(self, result, turns, tools)
        if result.is_error:
            if result.name == self.transfer_tool:
                return self.say("transfer_failed")
            return self.say("tool_error", error=result.output)
        data = load_json(result.output)
        if result.name == self.qualify_tool:
            status = (data or {}).get("status") if isinstance(data, dict) else None
            if status == "qualified":
                if self.availability_tool in tools:
                    return Reply(tool_calls=[ToolCall(self.availability_tool, {})])
                if self.schedule_tool in tools:
                    return self.say("ask_time")
                return Reply(self.say("qualified_no_calendar"), end)
            key = "disqualified" if status == "disqualified" else "nurture"
            return Reply(self.say(key), end)
        if result.name == self.availability_tool:
            slots = slots_from(data)
            if not slots:
                return Reply(self.say("no_slots"), end)
            return self.say("offer", slots=spoken_list([s["label"] for s in slots], self.language))
        if result.name == self.schedule_tool:
            when = (
                (data or {}).get("label") or (data or {}).get("start", "")
                if isinstance(data, dict)
                else ""
            )
            return Reply(self.say("booked", when=when), end)
        if result.name == self.transfer_tool:
            return Reply(self.say("transferred"))
        if result.name == "take_message":
            return Reply(self.say("message_taken"), end)
        return self.say("ack")

    # -- reacting to the caller ----------------------------------------------------
    def _after_user(self, text: str, turns: list[Turn], tools: list[str]) -> Reply | str:
        from voicekit_core.scripted_llm import Reply, ToolCall

        end = [ToolCall("end_call")] if "end_call" in tools else []
        previous_agent = last_agent_text(turns[:-1])
        asked_for_message = previous_agent in (self.say("ask_message"), self.say("transfer_failed"))
        if asked_for_message and "take_message" in tools:
            return Reply(tool_calls=[ToolCall("take_message", {"message": text})])
        intent = detect_intent(text)
        if intent == "wrong_number":
            return Reply(
                self.say("wrong_number"), with_args(end, disposition="wrong_number", reason=text)
            )
        if intent == "not_interested":
            if any(re.search(p, text.lower()) for p in DNC_PATTERNS):
                return Reply(
                    self.say("dnc"), with_args(end, disposition="do_not_call", reason=text)
                )
            return Reply(
                self.say("not_interested"),
                with_args(end, disposition="not_interested", reason=text),
            )
        if intent == "wants_human":
            if self.transfer_tool in tools:
                return Reply(
                    self.say("transferring"),
                    [ToolCall(self.transfer_tool, {"reason": text})],
                )
            return self.say("ask_message")
        callback = callbacks.after_user(self, text, turns, tools)
        if callback is not None:
            return callback

        offered = last_offer(turns)
        if offered is not None and self.schedule_tool in tools:
            return self._pick_slot(text, offered, turns)
        if previous_agent == self.say("ask_email"):
            return self._pick_slot(text, last_offer(turns, include_answered=True) or [], turns)

        answers = answers_by_key(turns, self.questions)
        for key, question in self.questions:
            if key not in answers:
                joiners = self.say("joiner").split("|")
                prefix = joiners[(len(answers) - 1) % len(joiners)] + " " if answers else ""
                return prefix + question
        if self.qualify_tool in tools and not called(turns, self.qualify_tool):
            return Reply(tool_calls=[ToolCall(self.qualify_tool, qualification_arguments(answers))])
        if previous_agent == self.say("ask_time") and self.schedule_tool in tools:
            return Reply(
                tool_calls=[ToolCall(self.schedule_tool, {"when": text, **self._email_arg(turns)})]
            )
        return self.say("ack")

    def _pick_slot(self, text: str, slots: list[dict[str, Any]], turns: list[Turn]) -> Reply | str:
        from voicekit_core.scripted_llm import Reply, ToolCall

        slot = match_slot(text, slots) or match_slot(chosen_before(turns), slots)
        if slot is None:
            return self.say(
                "which_slot", slots=spoken_list([s["label"] for s in slots], self.language)
            )
        email = self._email_arg(turns)
        if not email:
            return self.say("ask_email")
        return Reply(tool_calls=[ToolCall(self.schedule_tool, {"start": slot["start"], **email})])

    def _email_arg(self, turns: list[Turn]) -> dict[str, str]:
        for turn in reversed(turns):
            if turn.kind == "message" and turn.role == "user":
                match = EMAIL.search(turn.text)
                if match:
                    return {"attendee_email": match.group(0)}
        return {"attendee_email": self.lead_email} if self.lead_email else {}
