"""The fields an intake flow collects: ``[flow].questions`` joined with the deployment's
record schema (``[extraction]`` or a plugin's model, :mod:`voicekit_core.extraction`).

A question names a field (``key``); the schema says its type (``phone``, ``boolean``,
``enum`` values...), whether it is ``required`` and whether it is read back
(``confirm``). :func:`intake_fields` merges the two into :class:`IntakeField` objects;
:func:`~voicekit_core.flow_config.intake_problems` lists what does not fit, for
``voicekit check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from voicekit_core.flow_config import PARSE_FOR_TYPE, intake_problems

if TYPE_CHECKING:
    from voicekit_core.extraction import ExtractionSchema, FieldSpec
    from voicekit_core.flow_config import FlowQuestion, FlowSection


def _by_language(value: str | dict[str, str]) -> dict[str, str]:
    return {"": value} if isinstance(value, str) else dict(value)


@dataclass(frozen=True)
class IntakeField:
    """One field the flow fills: how to read it (``parse``), the question by language
    (``ask``; empty: never asked), enum ``values`` and their ``synonyms``, a ``default``,
    ``ask_if`` conditions, the read-back ``label``, and from the schema ``confirm``,
    ``required`` and ``max_length``."""

    key: str
    parse: str = "text"
    ask: dict[str, str] = field(default_factory=dict)
    values: tuple[str, ...] = ()
    synonyms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default: Any = None
    ask_if: dict[str, tuple[str, ...]] = field(default_factory=dict)
    label: dict[str, str] = field(default_factory=dict)
    confirm: bool = False
    required: bool = False
    max_length: int | None = None

    def question(self, language: str) -> str:
        """The question in ``language`` (else English, else the one text); ``""`` if none."""
        return self.ask.get(language) or self.ask.get("en") or self.ask.get("") or ""

    def questions(self) -> list[str]:
        """Every wording of the question (all languages), for recognising it."""
        return [text for text in self.ask.values() if text]

    def spoken_label(self, language: str) -> str:
        """How the read-back names the field ("your unit"): the label, else the key."""
        return (
            self.label.get(language)
            or self.label.get("en")
            or self.label.get("")
            or self.key.replace("_", " ")
        )

    def needed(self, values: dict[str, Any]) -> bool:
        """Whether to ask it, given the values so far (its ``ask_if`` conditions hold)."""
        return all(values.get(key) in allowed for key, allowed in self.ask_if.items())


def _question_field(question: FlowQuestion, spec: FieldSpec | None) -> IntakeField:
    parse = question.parse or (PARSE_FOR_TYPE.get(spec.type, "text") if spec else "text")
    values = tuple(spec.values) if spec and spec.values else tuple(question.synonyms)
    return IntakeField(
        key=question.key,
        parse=parse,
        ask=_by_language(question.ask) if question.ask else {},
        values=values,
        synonyms={k: tuple(v) for k, v in question.synonyms.items()},
        default=question.default,
        ask_if={k: tuple(v) for k, v in question.ask_if.items()},
        label=_by_language(question.label) if question.label else {},
        confirm=bool(spec and spec.confirm),
        required=bool(spec and spec.required),
        max_length=spec.max_length if spec else None,
    )


def intake_fields(flow: FlowSection, schema: ExtractionSchema | None) -> list[IntakeField]:
    """The fields of ``flow.questions`` in order, typed from ``schema`` when there is one."""
    return [
        _question_field(q, schema.field(q.key) if schema is not None else None)
        for q in flow.questions
    ]


__all__ = ["IntakeField", "intake_fields", "intake_problems"]
