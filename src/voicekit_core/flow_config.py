"""``[flow]`` of the deployment file: the call flow the offline ``scripted`` model follows.

Two kinds of flow (``kind``), both driven by the same ``questions`` list:

* ``sdr`` (default): an outbound qualification call. ``questions`` are the BANT
  questions asked in order; the answers go to ``qualify_tool``, then slots are offered
  from ``availability_tool`` and booked with ``schedule_tool``.
* ``intake``: an inbound receptionist. It answers questions through ``knowledge_tool``,
  collects ``questions`` one by one (each parsed as ``parse`` says: a name, a phone
  number, an address, a unit, yes/no, an enum value named by its synonyms, or text),
  reads back the fields to confirm, calls ``record_tool``, and escalates emergencies
  (``[flow.emergency]``) through ``transfer_tool``.

A real LLM follows the prompt instead; ``[flow]`` is what the offline model does.
See ``docs/config.md`` and ``docs/extraction.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from .errors import Problem
from .strict import StrictModel

if TYPE_CHECKING:
    from .config import DeploymentConfig
    from .extraction import ExtractionSchema

Localized = str | dict[str, str]
"""A text, or a table of texts by language code (``{en = "...", es = "..."}``)."""

ParseKind = Literal["text", "name", "phone", "address", "unit", "yes_no", "enum"]
"""How the intake flow reads an answer (see ``voicekit_core.builtins.scripted.fields``)."""


#: The parser used for each extraction type when a question names none.
PARSE_FOR_TYPE = {"phone": "phone", "boolean": "yes_no", "enum": "enum"}
#: Parsers that make sense for each extraction type.
PARSERS_FOR_TYPE = {
    "string": {"text", "name", "address", "unit", "enum"},
    "phone": {"phone"},
    "boolean": {"yes_no"},
    "enum": {"enum"},
}


class FlowQuestion(StrictModel):
    """One ``[flow].questions`` entry: the answer's ``key`` and the question, optionally
    per language. The other keys are read by ``kind = "intake"`` flows only."""

    key: str = Field(
        min_length=1,
        description="what the answer fills: budget / authority / need / timeline (sdr), "
        "an [extraction] field (intake)",
    )
    ask: Localized = Field(
        default="",
        description="the question; intake: empty means never asked (filled from what the "
        "caller said, else from default)",
    )
    parse: ParseKind | None = Field(
        default=None,
        description="intake: how to read the answer; default from the [extraction] field "
        "(boolean -> yes_no, enum -> enum, else text)",
    )
    synonyms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="intake enums: value -> words that name it, in any language",
    )
    default: str | bool | None = Field(
        default=None, description="intake: the value when the caller's words give none"
    )
    ask_if: dict[str, list[str]] = Field(
        default_factory=dict,
        description="intake: ask only when these fields hold one of these values "
        '({kind = ["maintenance"]})',
    )
    label: Localized = Field(
        default="", description="intake: how the read-back names the field ('your unit')"
    )


#: The dispositions an intake flow ends with when ``[flow]`` names none.
INTAKE_DISPOSITIONS = {
    "recorded_disposition": "ticket_created",
    "escalated_disposition": "emergency_escalated",
    "answered_disposition": "faq_answered",
}


class EmergencyRule(StrictModel):
    """One ``[[flow.emergency.rules]]`` entry: words that make a call an emergency."""

    name: str = Field(min_length=1, description="short label, kept in the escalation reason")
    match: list[str] = Field(
        min_length=1, description="phrases (any language, case and accents ignored)"
    )
    months: list[int] = Field(
        default_factory=list,
        description="only in these months (1-12, in [flow.emergency].timezone); empty: all year",
    )

    @model_validator(mode="after")
    def _months(self) -> EmergencyRule:
        bad = [m for m in self.months if not 1 <= m <= 12]
        if bad:
            raise ValueError(f"months must be 1-12, got {bad}")
        return self


class EmergencySection(StrictModel):
    """``[flow.emergency]``: what makes an intake call an emergency, and what then."""

    rules: list[EmergencyRule] = Field(default_factory=list)
    say: Localized = Field(
        default="", description="the escalation line (safety advice, 'connecting you now')"
    )
    ask_first: list[str] = Field(
        default_factory=list,
        description="fields to ask before transferring when the caller has not said them",
    )
    transfer_target: str = Field(
        default="", description="target argument of the transfer tool (empty: its default)"
    )
    values: dict[str, str | bool] = Field(
        default_factory=lambda: {"urgency": "emergency"},
        description="fields set on an escalated record",
    )
    flag_field: str = Field(default="escalated", description="boolean field set to true")
    reason_field: str = Field(default="escalation_reason", description="why it was escalated")
    timezone: str = Field(default="UTC", description="IANA zone the months are read in")

    @model_validator(mode="after")
    def _zone(self) -> EmergencySection:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {self.timezone!r} (an IANA name)") from None
        return self


class FlowSection(StrictModel):
    """``[flow]``: the call flow the offline ``scripted`` model follows."""

    kind: Literal["sdr", "intake"] = "sdr"
    questions: list[FlowQuestion] = Field(default_factory=list)
    qualify_tool: str = "qualify_prospect"
    availability_tool: str = "check_availability"
    schedule_tool: str = "schedule_meeting"
    transfer_tool: str = "transfer_call"
    # intake flows
    languages: list[str] = Field(
        default_factory=list,
        description="intake: languages callers may speak (detected per line); "
        "default: [agent].language only",
    )
    knowledge_tool: str = "search_knowledge"
    record_tool: str = "record_details"
    request_field: str = Field(
        default="details", description="the caller's request, in their words"
    )
    summary_field: str = Field(default="summary", description="a one-line summary of the request")
    summary_max_chars: int = Field(default=127, ge=20, le=2000)
    # intake endings; each name must be declared ([dispositions] or a plugin), which
    # `voicekit check` verifies. Empty: the default in INTAKE_DISPOSITIONS (intake flows).
    recorded_disposition: str = Field(
        default="", description="intake: the call made a record (ticket_created)"
    )
    escalated_disposition: str = Field(
        default="", description="intake: an emergency was escalated (emergency_escalated)"
    )
    answered_disposition: str = Field(
        default="", description="intake: questions answered, no record made (faq_answered)"
    )
    emergency: EmergencySection = Field(default_factory=EmergencySection)
    say: dict[str, Localized] = Field(
        default_factory=dict, description="intake: replace the flow's own lines by key"
    )

    @model_validator(mode="after")
    def _consistent(self) -> FlowSection:
        if self.kind == "sdr":
            missing = [q.key for q in self.questions if not q.ask]
            if missing:
                raise ValueError(f"questions {missing} have no 'ask' (an sdr flow asks each one)")
            return self
        from .builtins.scripted.phrases import INTAKE_PHRASES

        for key, default in INTAKE_DISPOSITIONS.items():
            if not getattr(self, key):
                setattr(self, key, default)

        unknown = sorted(set(self.say) - set(INTAKE_PHRASES["en"]))
        if unknown:
            known = ", ".join(sorted(INTAKE_PHRASES["en"]))
            raise ValueError(f"unknown keys in say: {unknown}; known: {known}")
        keys = [q.key for q in self.questions]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise ValueError(f"questions ask {doubled} more than once")
        for question in self.questions:
            for field in question.ask_if:
                if field not in keys:
                    raise ValueError(
                        f"question {question.key!r}: ask_if names {field!r}, which is not a question"
                    )
        return self


def intake_problems(config: DeploymentConfig, schema: ExtractionSchema | None) -> list[Problem]:
    """What in an intake ``[flow]`` does not fit the record schema: a question for a field
    the schema lacks, a parser the field's type cannot take, synonyms for a value that is
    not in the enum, emergency or request fields the schema lacks. Empty for ``sdr``
    flows and for intake flows without a schema (nothing to check against)."""
    flow = config.flow
    if flow.kind != "intake" or schema is None:
        return []
    file = str(config.source_of("flow"))
    problems: list[Problem] = []
    names = [f.name for f in schema.fields]
    known = ", ".join(names)
    for index, question in enumerate(flow.questions):
        where = f"flow.questions[{index}]"
        spec = schema.field(question.key)
        if spec is None:
            problems.append(
                Problem(
                    file,
                    f"{where}.key",
                    repr(question.key),
                    f"no such field in the record ({known})",
                )
            )
            continue
        if question.parse and question.parse not in PARSERS_FOR_TYPE.get(spec.type, {"text"}):
            problems.append(
                Problem(
                    file,
                    f"{where}.parse",
                    repr(question.parse),
                    f"field {spec.name!r} is a {spec.type} field: use one of "
                    + ", ".join(sorted(PARSERS_FOR_TYPE.get(spec.type, {"text"}))),
                )
            )
        if spec.values:
            for value in question.synonyms:
                if value not in spec.values:
                    problems.append(
                        Problem(
                            file,
                            f"{where}.synonyms.{value}",
                            repr(value),
                            f"not a value of {spec.name!r} ({', '.join(spec.values)})",
                        )
                    )
    emergency = flow.emergency
    wanted = [
        ("flow.request_field", flow.request_field),
        ("flow.summary_field", flow.summary_field),
    ]
    if emergency.rules:
        wanted += [
            ("flow.emergency.flag_field", emergency.flag_field),
            ("flow.emergency.reason_field", emergency.reason_field),
        ]
        wanted += [(f"flow.emergency.values.{k}", k) for k in emergency.values]
        wanted += [(f"flow.emergency.ask_first[{i}]", k) for i, k in enumerate(emergency.ask_first)]
    for dotted, name in wanted:
        if name and name not in names:
            problems.append(
                Problem(file, dotted, repr(name), f"no such field in the record ({known})")
            )
    return problems


__all__ = [
    "INTAKE_DISPOSITIONS",
    "EmergencyRule",
    "EmergencySection",
    "FlowQuestion",
    "FlowSection",
    "Localized",
    "ParseKind",
    "intake_problems",
]
