"""Where an intake call stands, read from its chat context (no hidden state).

:func:`read_state` folds the turns in order: each agent line says what was asked (a
field's question, the read-back, "anything else?"), each caller line is read against
that (a field's answer, yes/no to the read-back, a correction, a question for the
knowledge base, an emergency, a new request), and each tool result says what was
recorded, confirmed or transferred. The same turns always give the same state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import contact
from . import fields as parse
from .answers import read_chunks
from .conversation import Turn

if TYPE_CHECKING:
    from voicekit_core.flow_config import EmergencyRule

    from .intake_schema import IntakeField

#: Failed answers to one question before the flow moves on without it.
MAX_MISSES = 2
#: What a caller line was, in :attr:`IntakeState.event`.
EVENTS = (
    "emergency",  # an emergency rule matched (first time)
    "question",  # a question for the knowledge base
    "done",  # the caller needs nothing more
    "more",  # "yes" to "anything else?", with no request in it
    "small_talk",  # a greeting, "um"
    "request",  # the caller's request (the first one)
    "answer",  # an answer to the question asked
    "miss",  # not an answer to the question asked
    "confirm_yes",
    "confirm_no",
    "corrected",  # new values for fields read back
    "offer_yes",  # yes to "shall I take your details?"
    "offer_no",
)


@dataclass
class Emergency:
    """The emergency rule that matched, the caller's line, and the sentence of it that
    matched (the escalation reason)."""

    rule: str
    text: str
    sentence: str = ""

    @property
    def reason(self) -> str:
        """``"gas smell: I smell gas in my kitchen!"``."""
        return f"{self.rule}: {parse.without_opening(self.sentence or self.text)}"


@dataclass
class IntakeState:
    """An intake call so far. ``values`` are the fields the caller gave (and the lead
    pre-filled); ``awaiting`` what the agent's last line asked (a field key, ``confirm``,
    ``correction``, ``anything_else``, ``offer``, or None); ``event`` what the caller's
    last line was (:data:`EVENTS`); ``sent`` the values the record tool accepted;
    ``confirmed`` those the caller confirmed after a read-back."""

    language: str
    values: dict[str, Any] = field(default_factory=dict)
    request: list[str] = field(default_factory=list)
    awaiting: str | None = None
    event: str = ""
    misses: dict[str, int] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    invalid: set[str] = field(default_factory=set)  # refused by the record tool
    corrected: list[str] = field(default_factory=list)  # fields the last line corrected
    emergency: Emergency | None = None
    escalation_said: bool = False
    escalation_recorded: bool = False
    sent: dict[str, Any] = field(default_factory=dict)
    confirmed: dict[str, Any] = field(default_factory=dict)
    read_back_count: int = 0
    record_calls: int = 0
    record_error: str = ""
    transfer: str | None = None  # None, "ok" or "failed"
    answers: int = 0  # knowledge lookups that found something
    last_question: str = ""  # the caller's last question for the knowledge base
    offered_for: str = ""  # the unanswered question a record was offered for
    prefilled: dict[str, Any] = field(default_factory=dict)  # from the lead, still as given

    @property
    def in_request(self) -> bool:
        """True once the caller made a request (or accepted to leave details)."""
        return bool(self.request)


@dataclass
class Markers:
    """How the flow recognises its own lines: ``fields`` maps each wording of a question
    to its field key; ``phrases`` maps a phrase key (``read_back``...) to patterns of its
    wordings in every language."""

    fields: dict[str, str]
    phrases: dict[str, list[re.Pattern[str]]]

    def asked(self, text: str) -> str | None:
        """What an agent line asks: the marker (field key or phrase key) that ends last
        in ``text``, or None."""
        best: tuple[int, str] | None = None
        for wording, key in self.fields.items():
            at = text.rfind(wording)
            if at >= 0 and (best is None or at + len(wording) > best[0]):
                best = (at + len(wording), key)
        for key, patterns in self.phrases.items():
            for pattern in patterns:
                for match in pattern.finditer(text):
                    if best is None or match.end() > best[0]:
                        best = (match.end(), key)
        return best[1] if best else None


def phrase_regex(template: str) -> re.Pattern[str]:
    """A pattern for a phrase template, ``{...}`` fields matching anything."""
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile(".*?".join(re.escape(p) for p in parts), re.S)


@dataclass
class Reader:
    """Reads caller lines for one call: the fields, the emergency rules, the languages,
    the caller's number and the region phone numbers are read in."""

    fields: list[IntakeField]
    rules: list[EmergencyRule]
    languages: list[str]
    region: str
    caller_id: str
    now: datetime
    markers: Markers
    request_field: str

    def field(self, key: str) -> IntakeField | None:
        return next((f for f in self.fields if f.key == key), None)

    # -- single values --------------------------------------------------------------
    def parse_answer(self, spec: IntakeField, text: str) -> Any:
        """The value of ``spec`` in an answer to its question, or None."""
        kind = spec.parse
        if kind == "name":
            return contact.parse_name(text)
        if kind == "phone":
            return contact.parse_phone(text, self.region, self.caller_id)
        if kind == "address":
            return contact.parse_address(text)
        if kind == "unit":
            return contact.parse_unit(text)
        if kind == "yes_no":
            return parse.parse_yes_no(text)
        if kind == "enum":
            return parse.parse_enum(text, spec.values, spec.synonyms)
        return parse.parse_text(text)

    def find(self, spec: IntakeField, text: str, *, request: bool) -> Any:
        """A value of ``spec`` said in passing (with a clear marker: "this is Maria",
        "unit 4B", a full phone number, a street address; enum words only in the
        request line); None when there is none."""
        kind = spec.parse
        if kind == "name":
            return contact.find_name(text)
        if kind == "phone":
            return contact.find_phone(text, self.region)
        if kind == "address":
            return contact.find_address(text)
        if kind == "unit":
            return contact.find_unit(text)
        if kind == "enum" and request:
            return parse.parse_enum(text, spec.values, spec.synonyms)
        return None

    def emergency(self, text: str) -> Emergency | None:
        """The first emergency rule ``text`` matches (in season), or None."""
        for rule in self.rules:
            if rule.months and self.now.month not in rule.months:
                continue
            phrase = parse.contains_phrase(text, rule.match)
            if phrase is not None:
                return Emergency(rule.name, text, parse.sentence_with(text, phrase))
        return None


def _fill_in_passing(
    reader: Reader, state: IntakeState, text: str, *, request: bool, skip: str = ""
) -> None:
    for spec in reader.fields:
        if spec.key == skip or state.values.get(spec.key) not in (None, ""):
            continue
        value = reader.find(spec, text, request=request)
        if value not in (None, ""):
            state.values[spec.key] = value


def _corrections(reader: Reader, state: IntakeState, text: str) -> list[str]:
    """Fields a correction line changes: values said with a marker, else the read-back
    field the line names ("the unit is..."), parsed with its own parser."""
    changed = []
    clean = parse.without_negated(text)
    for spec in reader.fields:
        value = reader.find(spec, clean, request=False)
        if value not in (None, "") and state.values.get(spec.key) != value:
            state.values[spec.key] = value
            changed.append(spec.key)
    if changed:
        return changed
    lowered = parse.fold(text)
    for spec in reader.fields:
        names = {spec.key.replace("_", " "), *spec.key.split("_")[-1:]}
        names |= {parse.fold(v) for v in spec.label.values()}
        if any(n and re.search(rf"\b{re.escape(n)}\b", lowered) for n in names):
            value = reader.parse_answer(spec, _after_mention(text, names))
            if value not in (None, "") and state.values.get(spec.key) != value:
                state.values[spec.key] = value
                changed.append(spec.key)
    return changed


def _after_mention(text: str, names: set[str]) -> str:
    """The part of ``text`` after "the name is" / "my unit is" (what follows the field's
    name and "is"), or ``text``."""
    lowered = parse.fold(text)
    for name in sorted(names, key=len, reverse=True):
        match = re.search(
            rf"\b{re.escape(name)}\b(?:\s+(?:is|es|should be|debe ser))?\s*:?\s*", lowered
        )
        if match:
            return text[match.end() :]
    return text


def _caller_line(reader: Reader, state: IntakeState, text: str) -> None:
    state.language = parse.detect_language(text, reader.languages, state.language)
    state.corrected = []
    awaiting = state.awaiting
    if state.emergency is None:
        hit = reader.emergency(text)
        if hit is not None:
            state.emergency = hit
            state.event = "emergency"
            if text not in state.request:
                state.request.append(text)
            _fill_in_passing(reader, state, text, request=True)
            return
    spec = reader.field(awaiting) if awaiting else None
    if awaiting == "confirm":
        changed = _corrections(reader, state, text)
        answer = parse.parse_yes_no(text)
        if changed:
            state.corrected = changed
            state.event = "corrected"
        elif answer is True:
            state.event = "confirm_yes"
        elif parse.is_question(text):
            state.event = "question"
        else:
            state.event = "confirm_no"
        return
    if awaiting == "correction":
        changed = _corrections(reader, state, text)
        if changed:
            state.corrected = changed
            state.event = "corrected"
        elif parse.parse_yes_no(text) is True or parse.is_done(text):
            state.event = "confirm_yes"
        else:
            state.misses["correction"] = state.misses.get("correction", 0) + 1
            state.event = "confirm_yes" if state.misses["correction"] >= MAX_MISSES else "miss"
        return
    if awaiting == "offer":
        if parse.parse_yes_no(text) is True:
            state.event = "offer_yes"
            state.request.append(state.offered_for)
            _fill_in_passing(reader, state, state.offered_for, request=True)
            _fill_in_passing(reader, state, text, request=False)
        elif parse.is_question(text):
            state.event = "question"
        elif parse.mentions_problem(text):
            _request(reader, state, text)
        else:
            state.event = "offer_no"
        return
    if spec is not None:
        if parse.is_question(text) and reader.find(spec, text, request=False) in (None, ""):
            state.event = "question"  # "wait, how much is the pet deposit?"
            return
        value = reader.parse_answer(spec, text)
        if value is None:
            state.misses[spec.key] = state.misses.get(spec.key, 0) + 1
            if state.misses[spec.key] >= MAX_MISSES:
                state.skipped.add(spec.key)
            state.event = "miss"
        else:
            state.values[spec.key] = value
            state.invalid.discard(spec.key)
            state.event = "answer"
        _fill_in_passing(reader, state, text, request=False, skip=spec.key)
        return
    # after the greeting, an answer, or "anything else?"
    if parse.is_done(text) and not parse.mentions_problem(text):
        state.event = "done"
    elif parse.is_question(text):
        state.event = "question"
    elif state.in_request:
        state.event = "answer"  # more words about the request: keep them
        _fill_in_passing(reader, state, text, request=False)
    elif (
        awaiting == "anything_else"
        and parse.parse_yes_no(text) is True
        and not parse.mentions_problem(text)
    ):
        state.event = "more"
    elif parse.is_small_talk(text):
        state.event = "small_talk"
    else:
        _request(reader, state, text)


def _request(reader: Reader, state: IntakeState, text: str) -> None:
    state.event = "request"
    state.request.append(text)
    _fill_in_passing(reader, state, text, request=True)


def _tool_result(
    reader: Reader, state: IntakeState, call: Turn | None, result: Turn, tools: dict[str, str]
) -> None:
    arguments = dict(call.arguments) if call else {}
    if result.name == tools["record"]:
        state.record_calls += 1
        confirmed_flag = bool(arguments.pop("confirmed", False))
        refused: set[str] = set()
        if result.is_error:
            # "Not recorded: unit: '12345' is 5 characters long...; Recorded: kind, ..."
            state.record_error = result.output
            refused = {
                key
                for key in arguments
                if re.search(rf"(?:^|[\s;]){re.escape(key)}:", result.output)
            }
            for key in refused:
                state.invalid.add(key)
                state.values.pop(key, None)
        else:
            state.record_error = ""
        # the tool keeps the valid fields of a call, even one that reports an error
        state.sent.update(
            {k: v for k, v in arguments.items() if v not in (None, "") and k not in refused}
        )
        if confirmed_flag and not result.is_error:
            # confirmed=true confirms what was read back and did not change in this call
            state.confirmed.update(
                {
                    f.key: state.sent[f.key]
                    for f in reader.fields
                    if f.confirm and f.key in state.sent and f.key not in arguments
                }
            )
        if state.emergency is not None:
            state.escalation_recorded = True
    elif result.name == tools["transfer"]:
        state.transfer = "failed" if result.is_error else "ok"
    elif result.name == tools["knowledge"]:
        found = not result.is_error and read_chunks(result.output)
        state.answers += 1 if found else 0


def read_state(
    reader: Reader, turns: list[Turn], language: str, prefill: dict[str, Any], tools: dict[str, str]
) -> IntakeState:
    """The state after ``turns`` (see the module docstring). ``prefill`` holds values
    known before the call (from the lead); ``tools`` maps ``record`` / ``transfer`` /
    ``knowledge`` to the tool names."""
    state = IntakeState(language=language, values=dict(prefill), prefilled=dict(prefill))
    calls: list[Turn] = []
    for turn in turns:
        if turn.kind == "message" and turn.role == "assistant":
            asked = reader.markers.asked(turn.text)
            if asked in ("escalate",):
                state.escalation_said = True
                asked = None
            elif asked == "read_back":
                state.read_back_count += 1
                asked = "confirm"
            elif asked == "ask_correction":
                asked = "correction"
            elif asked == "no_answer":
                asked = "offer"
                state.offered_for = state.last_question
            elif asked in ("greeting", "how_can_i_help", "goodbye", "recorded", "connecting"):
                asked = None
            if reader.markers.phrases.get("escalate") and any(
                p.search(turn.text) for p in reader.markers.phrases["escalate"]
            ):
                state.escalation_said = True
            state.awaiting = asked
        elif turn.kind == "message" and turn.role == "user":
            _caller_line(reader, state, turn.text)
            state.prefilled = {k: v for k, v in state.prefilled.items() if state.values.get(k) == v}
            if state.event == "question":
                state.last_question = turn.text
        elif turn.kind == "function_call":
            calls.append(turn)
        elif turn.kind == "function_call_output":
            call = next((c for c in calls if c.name == turn.name), None)
            if call is not None:
                calls.remove(call)
            _tool_result(reader, state, call, turn, tools)
    return state


__all__ = [
    "EVENTS",
    "MAX_MISSES",
    "Emergency",
    "IntakeState",
    "Markers",
    "Reader",
    "phrase_regex",
    "read_state",
]
