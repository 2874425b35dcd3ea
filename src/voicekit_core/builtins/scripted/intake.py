"""The intake flow of the scripted model: an inbound receptionist (``[flow] kind = "intake"``).

* greets (the deployment's greeting), and on a question calls the knowledge tool with
  the caller's words, then says the top chunk's answer briefly (:mod:`.answers`) and
  asks whether there is anything else;
* on a request, collects ``[flow].questions`` one by one - each answer parsed as its
  field says (:mod:`.fields`: names, phone numbers, addresses, units, yes/no, enum values
  from synonyms) - skipping what the caller already said, and questions whose
  ``ask_if`` does not hold;
* calls the record tool (``record_details``) with everything, reads back the fields the
  schema marks ``confirm``, and on "yes" confirms them (``confirmed=true``); a correction
  ("no, it's unit 4C") is recorded and read back again;
* closes with ``end_call`` and the flow's disposition (``ticket_created``; with no
  request ``faq_answered``);
* on emergency words (``[flow.emergency].rules``, some only in season) at any point:
  says the escalation line, records what it has with the emergency values, the flag and
  the reason, transfers (``transfer_call``, to ``transfer_target``) and ends with
  ``emergency_escalated``, even when the transfer fails;
* speaks the language the caller speaks, among ``[flow].languages``.

Every reply is computed from the chat context (:mod:`.intake_state`): no hidden state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import contact
from . import fields as parse
from .answers import brief_answer, read_chunks
from .conversation import Turn, read_turns
from .intake_schema import IntakeField, intake_fields
from .intake_state import IntakeState, Markers, Reader, phrase_regex, read_state
from .phrases import INTAKE_PHRASES

if TYPE_CHECKING:
    from livekit.agents import llm

    from voicekit_core.calls import CallContext
    from voicekit_core.flow_config import FlowSection
    from voicekit_core.scripted_llm import Reply


@dataclass
class IntakePolicy:
    """The scripted model's decision function for intake flows (see the module
    docstring): called with the chat context and the tool names offered."""

    flow: FlowSection
    fields: list[IntakeField]
    language: str
    company: str
    region: str
    caller_id: str = ""
    prefill: dict[str, Any] | None = None
    schema_fields: frozenset[str] | None = None  # the record's field names, when known
    limits: dict[str, int] | None = None  # max_length of the record's string fields
    clock: Any = None  # () -> aware datetime; the call's clock

    @classmethod
    def for_call(cls, call: CallContext) -> IntakePolicy:
        """The policy for ``call``: its deployment's ``[flow]``, record schema, language,
        the caller's number and lead (a known caller's name and matching lead fields are
        pre-filled)."""
        config = call.config
        schema = getattr(call.deployment, "extraction", None)
        fields = intake_fields(config.flow, schema)
        return cls(
            flow=config.flow,
            fields=fields,
            language=config.agent.language if config.agent.language in INTAKE_PHRASES else "en",
            company=str((config.campaign.model_extra or {}).get("company", config.campaign.name)),
            region=config.leads.default_region,
            caller_id=call.phone,
            prefill=_prefill(call, fields),
            schema_fields=frozenset(f.name for f in schema.fields) if schema else None,
            limits={f.name: f.max_length for f in schema.fields if f.max_length} if schema else {},
            clock=call.clock,
        )

    # -- words ----------------------------------------------------------------------
    def phrase(self, key: str, language: str) -> str:
        """The template of phrase ``key`` in ``language`` (``[flow.say]`` first)."""
        override = self.flow.say.get(key)
        if key == "escalate" and self.flow.emergency.say:
            override = self.flow.emergency.say
        if isinstance(override, str) and override:
            return override
        if isinstance(override, dict):
            text = override.get(language) or override.get("en")
            if text:
                return text
        table = INTAKE_PHRASES.get(language, INTAKE_PHRASES["en"])
        return table[key]

    def say(self, key: str, language: str, **values: Any) -> str:
        return self.phrase(key, language).format(company=self.company, **values)

    def _languages(self) -> list[str]:
        listed = [lang for lang in self.flow.languages if lang in INTAKE_PHRASES]
        return listed or [self.language]

    def _markers(self) -> Markers:
        wordings: dict[str, str] = {}
        for spec in self.fields:
            for text in spec.questions():
                wordings[text] = spec.key
        phrases = {}
        for key in (
            "read_back",
            "ask_correction",
            "anything_else",
            "no_answer",
            "how_can_i_help",
            "escalate",
            "goodbye",
            "recorded",
            "connecting",
        ):
            phrases[key] = [phrase_regex(self.phrase(key, lang)) for lang in self._languages()]
        return Markers(wordings, phrases)

    def _now(self) -> datetime:
        now = self.clock() if self.clock else datetime.now(timezone.utc)
        return now.astimezone(ZoneInfo(self.flow.emergency.timezone))

    def reader(self) -> Reader:
        return Reader(
            fields=self.fields,
            rules=list(self.flow.emergency.rules),
            languages=self._languages(),
            region=self.region,
            caller_id=self.caller_id,
            now=self._now(),
            markers=self._markers(),
            request_field=self.flow.request_field,
        )

    def _tools(self) -> dict[str, str]:
        return {
            "record": self.flow.record_tool,
            "transfer": self.flow.transfer_tool,
            "knowledge": self.flow.knowledge_tool,
        }

    def state(self, turns: list[Turn]) -> IntakeState:
        """The call's state after ``turns`` (:func:`.intake_state.read_state`)."""
        return read_state(self.reader(), turns, self.language, self.prefill or {}, self._tools())

    # -- the entry point livekit calls through ScriptedLLM ---------------------------
    def __call__(self, chat_ctx: llm.ChatContext, tools: list[str]) -> Reply | str | None:
        from voicekit_core.scripted_llm import Reply

        turns = read_turns(chat_ctx)
        if not turns:
            return self.say("greeting", self.language)
        state = self.state(turns)
        last = turns[-1]
        if last.kind == "function_call_output":
            return self._after_tool(last, state, tools)
        if last.kind == "message" and last.role == "user":
            return self._after_caller(last.text, state, tools)
        return Reply()

    # -- after the caller -------------------------------------------------------------
    def _after_caller(self, text: str, state: IntakeState, tools: list[str]) -> Reply | str:
        from voicekit_core.scripted_llm import Reply, ToolCall

        lang = state.language
        event = state.event
        if state.emergency is not None and not state.escalation_recorded:
            return self._escalate(state, tools, first=event == "emergency")
        if event == "question":
            if self.flow.knowledge_tool in tools:
                query = parse.without_opening(text)
                return Reply(tool_calls=[ToolCall(self.flow.knowledge_tool, {"query": query})])
            return self.say("no_answer", lang)
        if event == "done" or event == "offer_no":
            return self._goodbye(state, tools)
        if event == "more":
            return self.say("how_can_i_help", lang)
        if event == "small_talk" and not state.in_request:
            return self.say("how_can_i_help", lang)
        if event == "confirm_yes":
            if self.flow.record_tool in tools:
                return Reply(tool_calls=[ToolCall(self.flow.record_tool, {"confirmed": True})])
            return self._close(state, tools)
        if event == "corrected" and self.flow.record_tool in tools:
            # the rest of what was read back stands: confirm it with the corrections
            arguments = {**self._changed(state), "confirmed": True}
            return Reply(tool_calls=[ToolCall(self.flow.record_tool, arguments)])
        if event == "confirm_no":
            return self.say("ask_correction", lang)
        if event == "miss" and state.awaiting == "correction":
            return self.say("reask", lang, question=self.say("ask_correction", lang))
        return self._next_step(state, tools, after=event)

    def _next_step(self, state: IntakeState, tools: list[str], *, after: str) -> Reply | str:
        """Ask the next field, or record what changed, or read back, or close."""
        from voicekit_core.scripted_llm import Reply, ToolCall

        lang = state.language
        pending = self._next_field(state)
        if pending is not None:
            question = pending.question(lang)
            if pending.key in state.invalid and state.record_error:
                return self.say("record_retry", lang, question=question)
            if after == "miss" and state.awaiting == pending.key:
                return self.say("reask", lang, question=question)
            return self._prefix(state, after) + question
        arguments = self._changed(state)
        if arguments and self.flow.record_tool in tools:
            return Reply(tool_calls=[ToolCall(self.flow.record_tool, arguments)])
        if self._to_read_back(state):
            return self._read_back(state)
        return self._close(state, tools)

    def _prefix(self, state: IntakeState, after: str) -> str:
        lang = state.language
        if after in ("request", "offer_yes"):
            return self.say("request_ack", lang) + " "
        if after == "answer":
            joiners = self.say("joiner", lang).split("|")
            count = sum(1 for spec in self.fields if spec.key in state.values)
            return joiners[count % len(joiners)] + " "
        return ""

    def _next_field(self, state: IntakeState) -> IntakeField | None:
        for spec in self.fields:
            if state.values.get(spec.key) not in (None,) or spec.key in state.skipped:
                continue
            if not spec.needed(state.values) or not spec.question(state.language):
                continue
            return spec
        return None

    # -- the record --------------------------------------------------------------------
    def _record_values(self, state: IntakeState) -> dict[str, Any]:
        """Every value the record should hold now: the fields (defaults for those not
        said), the request and its summary, the emergency flag."""
        values: dict[str, Any] = {}
        for spec in self.fields:
            value = state.values.get(spec.key)
            if value is None and spec.default is not None and spec.needed(state.values):
                value = spec.default
            if value is not None and value != "":
                values[spec.key] = value
        emergency = self.flow.emergency
        if state.emergency is not None:
            values.update(emergency.values)
            values[emergency.flag_field] = True
            values[emergency.reason_field] = parse.clip(state.emergency.reason, 200)
            if (
                not any(values.get(f.key) for f in self.fields if f.parse == "phone")
                and self.caller_id
            ):
                for spec in self.fields:
                    if spec.parse == "phone":
                        values[spec.key] = self.caller_id
                        break
        elif emergency.rules:
            values[emergency.flag_field] = False
        request = " ".join(dict.fromkeys(state.request))
        if request and self.flow.request_field:
            values[self.flow.request_field] = request
        if request and self.flow.summary_field:
            values[self.flow.summary_field] = self._summary(state, values, request)
        if self.schema_fields is not None:
            values = {k: v for k, v in values.items() if k in self.schema_fields}
        for key, limit in (self.limits or {}).items():
            if isinstance(values.get(key), str) and key not in self._asked_keys():
                values[key] = parse.clip(values[key], limit)  # derived text fits its field
        # a derived value the record refused cannot be asked again: leave it out
        return {
            k: v for k, v in values.items() if k not in state.invalid or k in self._asked_keys()
        }

    def _asked_keys(self) -> set[str]:
        return {spec.key for spec in self.fields if spec.ask}

    def _summary(self, state: IntakeState, values: dict[str, Any], request: str) -> str:
        limit = min(
            self.flow.summary_max_chars,
            (self.limits or {}).get(self.flow.summary_field) or self.flow.summary_max_chars,
        )
        said = parse.without_opening(request)
        if state.emergency is not None:
            label = f"Emergency ({state.emergency.rule})"
            said = parse.without_opening(state.emergency.sentence or said)
        else:
            kind = values.get("kind")
            label = str(kind).replace("_", " ").capitalize() if kind else ""
        text = f"{label}: {said}" if label else said
        return parse.clip(text, limit)

    def _changed(self, state: IntakeState) -> dict[str, Any]:
        """The record values the record tool has not accepted yet (all of them at first)."""
        values = self._record_values(state)
        return {k: v for k, v in values.items() if state.sent.get(k) != v}

    def _unconfirmed(self, state: IntakeState) -> list[IntakeField]:
        return [
            spec
            for spec in self.fields
            if spec.confirm
            and state.sent.get(spec.key) not in (None, "")
            and state.confirmed.get(spec.key) != state.sent.get(spec.key)
        ]

    def _to_read_back(self, state: IntakeState) -> list[IntakeField]:
        """The fields to read back now: ``confirm`` fields not confirmed yet; at the first
        read-back also the values the lead pre-filled (the caller never said them); after
        a correction the fields corrected."""
        keys = {spec.key for spec in self._unconfirmed(state)}
        if not state.read_back_count:
            keys |= set(state.prefilled)
        if state.event == "corrected":
            keys |= set(state.corrected)
        return [
            spec
            for spec in self.fields
            if spec.key in keys and state.sent.get(spec.key) not in (None, "")
        ]

    def _read_back(self, state: IntakeState) -> str:
        lang = state.language
        items = []
        for spec in self._to_read_back(state):
            value = state.sent[spec.key]
            if spec.parse == "phone":
                shown = contact.spoken_phone(str(value))
            elif isinstance(value, bool):
                shown = self.say("yes" if value else "no", lang)
            else:
                shown = str(value)
            items.append(f"{spec.spoken_label(lang)}, {shown}")
        text = self.say("read_back", lang, items="; ".join(items))
        if state.read_back_count:
            text = self.say("corrected", lang) + " " + text
        return text

    def _close(self, state: IntakeState, tools: list[str]) -> Reply:
        from voicekit_core.scripted_llm import Reply

        lang = state.language
        name = next(
            (
                str(state.values[f.key]).split()[0]
                for f in self.fields
                if f.parse == "name" and state.values.get(f.key)
            ),
            "",
        )
        text = self.say("recorded", lang, name=f", {name}" if name else "")
        summary = self._record_values(state).get(self.flow.summary_field, "")
        end = _end(tools, self.flow.recorded_disposition, str(summary)[:200])
        return Reply(text, end)

    def _goodbye(self, state: IntakeState, tools: list[str]) -> Reply:
        from voicekit_core.scripted_llm import Reply

        lang = state.language
        if state.answers:
            end = _end(tools, self.flow.answered_disposition, parse.clip(state.last_question, 200))
        else:
            end = _end(tools, None, "")
        return Reply(self.say("goodbye", lang), end)

    # -- emergencies ----------------------------------------------------------------------
    def _escalate(self, state: IntakeState, tools: list[str], *, first: bool) -> Reply | str:
        from voicekit_core.scripted_llm import Reply, ToolCall

        lang = state.language
        opening = self.say("escalate", lang) if first else self.say("connecting", lang)
        for key in self.flow.emergency.ask_first:
            spec = next((f for f in self.fields if f.key == key), None)
            if spec is None or state.values.get(key) not in (None, "") or key in state.skipped:
                continue
            if not spec.question(lang) or state.misses.get(key, 0) >= 1:
                continue
            if first:
                return opening + " " + self.say("escalate_ask", lang, question=spec.question(lang))
            return self.say("reask", lang, question=spec.question(lang))
        if self.flow.record_tool in tools:
            return Reply(opening, [ToolCall(self.flow.record_tool, self._changed(state))])
        return self._transfer(state, tools, opening)

    def _transfer(self, state: IntakeState, tools: list[str], text: str = "") -> Reply:
        from voicekit_core.scripted_llm import Reply, ToolCall

        emergency = state.emergency
        reason = parse.clip(emergency.reason if emergency else "", 200)
        if self.flow.transfer_tool in tools:
            arguments = {"reason": reason}
            if self.flow.emergency.transfer_target:
                arguments["target"] = self.flow.emergency.transfer_target
            return Reply(text, [ToolCall(self.flow.transfer_tool, arguments)])
        lang = state.language
        spoken = (text + " " if text else "") + self.say("transfer_failed", lang)
        return Reply(spoken, _end(tools, self.flow.escalated_disposition, reason))

    # -- after a tool ----------------------------------------------------------------------
    def _after_tool(self, result: Turn, state: IntakeState, tools: list[str]) -> Reply | str | None:
        from voicekit_core.scripted_llm import Reply

        lang = state.language
        flow = self.flow
        if result.name == "end_call":
            return None
        if result.name == flow.transfer_tool:
            reason = parse.clip(state.emergency.reason if state.emergency else "", 200)
            key = "transfer_failed" if result.is_error else "transferred"
            return Reply(self.say(key, lang), _end(tools, flow.escalated_disposition, reason))
        if result.name == flow.record_tool:
            if state.emergency is not None:
                return self._transfer(state, tools)
            if result.is_error and not state.invalid:
                return Reply(
                    self.say("tool_error", lang, error=result.output), _end(tools, None, "")
                )
            return self._next_step(state, tools, after="record")
        if result.name == flow.knowledge_tool:
            return self._answer(result, state)
        return self.say("anything_else", lang)

    def _answer(self, result: Turn, state: IntakeState) -> str:
        lang = state.language
        answer = (
            "" if result.is_error else brief_answer(state.last_question, read_chunks(result.output))
        )
        pending = self._next_field(state) if state.in_request else None
        if not answer:
            if state.in_request and pending is not None:
                return self.say("back_to_request", lang, question=pending.question(lang))
            return self.say("no_answer", lang)
        if pending is not None:
            return answer + " " + self.say("back_to_request", lang, question=pending.question(lang))
        if state.awaiting == "confirm" or (state.in_request and self._to_read_back(state)):
            return answer + " " + self._read_back(state)
        return answer + " " + self.say("anything_else", lang)


def _end(tools: list[str], disposition: str | None, reason: str) -> list[Any]:
    from voicekit_core.scripted_llm import ToolCall

    if "end_call" not in tools:
        return []
    arguments: dict[str, Any] = {}
    if disposition:
        arguments = {"disposition": disposition, "reason": reason}
    return [ToolCall("end_call", arguments)]


def _prefill(call: CallContext, fields: list[IntakeField]) -> dict[str, Any]:
    """Values a known caller's lead gives: the first ``name`` field from the lead's name,
    and any field whose key is a lead column (``property``, ``unit``...)."""
    lead = call.lead
    if lead is None or getattr(lead, "source", "") == "unknown":
        return {}
    values: dict[str, Any] = {}
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    extra = dict(getattr(lead, "extra", {}) or {})
    named = False
    for spec in fields:
        if spec.parse == "name" and name and not named:
            values[spec.key] = name
            named = True
        elif extra.get(spec.key):
            values[spec.key] = extra[spec.key]
    return values


__all__ = ["IntakePolicy"]
