"""One call's record while it runs: merging ``record_details`` calls, the read-back
protocol and the post-call fill (:class:`ExtractionState`, ``call.extraction``).

The schema and field validation are :mod:`voicekit_core.extraction`. Nothing here
imports livekit: :meth:`ExtractionState.apply` returns an :class:`Outcome` (text and
whether it is an error) and the built-in plugin raises ``ToolError`` for an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .extraction import CONFIRMED, TOOL_NAME, YES_WORDS, ExtractionSchema, FieldError
from .phones import PhonePolicy


@dataclass
class Outcome:
    """What one ``record_details`` call answers: ``text`` for the model, and whether it is
    an ``error`` (raised as ``ToolError``)."""

    text: str
    error: bool = False


@dataclass
class ExtractionState:
    """The record of one call while it runs (``call.extraction``).

    ``values`` are stored values by field; ``read_back`` the values the agent was asked
    to read back; ``confirmed`` the values the caller confirmed; ``filled_after_call`` the
    fields the post-call pass filled from the transcript.
    """

    schema: ExtractionSchema
    policy: PhonePolicy = field(default_factory=PhonePolicy)
    values: dict[str, Any] = field(default_factory=dict)
    read_back: dict[str, Any] = field(default_factory=dict)
    confirmed: dict[str, Any] = field(default_factory=dict)
    filled_after_call: list[str] = field(default_factory=list)

    def apply(self, arguments: dict[str, Any]) -> Outcome:
        """Merge one ``record_details`` call (its parsed JSON arguments).

        A ``None`` or ``""`` argument counts as not given. Invalid values and unknown
        names make an error outcome naming each field and why; the valid fields of the
        same call are still recorded. ``confirmed=true`` confirms every read-back field
        whose value did not change in this call.
        """
        arguments = dict(arguments)
        confirm_flag = arguments.pop(CONFIRMED, False)
        errors: list[str] = []
        changed: list[str] = []
        for name, raw in arguments.items():
            if raw is None or raw == "":
                continue
            spec = self.schema.field(name)
            if spec is None:
                known = ", ".join(f.name for f in self.schema.fields)
                errors.append(f"{str(name)[:40]}: no such field (fields: {known})")
                continue
            try:
                value = spec.parse(raw, self.policy)
            except FieldError as exc:
                errors.append(f"{name}: {_shown(raw)} {exc}")
                continue
            if self.values.get(name) != value:
                changed.append(name)
            self.values[name] = value
        recorded = [n for n in self._in_order(changed)]
        if errors:
            text = "Not recorded: " + "; ".join(errors) + "."
            if recorded:
                text += f" Recorded: {', '.join(recorded)}."
            return Outcome(text + " Ask the caller again for what was not recorded.", error=True)
        newly_confirmed: list[str] = []
        if _truthy(confirm_flag):
            for name, value in self.read_back.items():
                if name not in changed and self.values.get(name) == value:
                    if self.confirmed.get(name) != value:
                        newly_confirmed.append(name)
                    self.confirmed[name] = value
        parts = []
        if recorded:
            parts.append(f"Recorded: {', '.join(recorded)}.")
        if newly_confirmed:
            parts.append(f"Confirmed: {', '.join(self._in_order(newly_confirmed))}.")
        pending = self.unconfirmed()
        if pending:
            for name in pending:
                self.read_back[name] = self.values[name]
            items = [self._read_back_item(n) for n in pending]
            parts.append(
                f"Read back {_and(items)} to the caller, then call {TOOL_NAME} again with "
                "confirmed=true, or with the corrected values."
            )
        missing = self.missing()
        if missing:
            parts.append(f"Still needed: {', '.join(self._labels(missing))}.")
        elif not pending:
            parts.append("All required details are recorded.")
        return Outcome(" ".join(parts) or "Nothing new to record.")

    def _read_back_item(self, name: str) -> str:
        spec = self.schema.field(name)
        assert spec is not None
        return f"the {spec.label} {spec.spoken(self.values[name])}"

    def _in_order(self, names: list[str]) -> list[str]:
        return [f.name for f in self.schema.fields if f.name in names]

    def _labels(self, names: list[str]) -> list[str]:
        return [f.label for f in self.schema.fields if f.name in names]

    def missing(self) -> list[str]:
        """Required fields without a value, in schema order."""
        return [f.name for f in self.schema.fields if f.required and f.name not in self.values]

    def unconfirmed(self) -> list[str]:
        """``confirm`` fields whose value the caller has not confirmed, in schema order."""
        return [
            f.name
            for f in self.schema.fields
            if f.confirm
            and f.name in self.values
            and self.confirmed.get(f.name) != self.values[f.name]
        ]

    def record(self) -> dict[str, Any]:
        """``{field: value}`` for the fields that have a value, in schema order."""
        return {f.name: self.values[f.name] for f in self.schema.fields if f.name in self.values}

    def fill(self, arguments: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Fill fields that have no value yet (the post-call pass): returns ``(filled,
        rejected)`` where rejected are ``"field: reason"`` lines. Values the caller gave
        during the call are never replaced."""
        filled, rejected = [], []
        for name, raw in arguments.items():
            spec = self.schema.field(name)
            if spec is None or raw is None or raw == "" or name in self.values:
                continue
            try:
                self.values[name] = spec.parse(raw, self.policy)
            except FieldError as exc:
                rejected.append(f"{name}: {exc}")
                continue
            filled.append(name)
        filled = self._in_order(filled)
        self.filled_after_call += filled
        return filled, rejected

    def summary(self) -> dict[str, Any]:
        """``report.data["extraction"]``: ``schema`` (name), ``complete`` (every required
        field has a value and every ``confirm`` field is confirmed), ``missing``,
        ``unconfirmed`` and ``filled_after_call`` (field names)."""
        missing, unconfirmed = self.missing(), self.unconfirmed()
        return {
            "schema": self.schema.name,
            "complete": not missing and not unconfirmed,
            "missing": missing,
            "unconfirmed": unconfirmed,
            "filled_after_call": list(self.filled_after_call),
        }


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in YES_WORDS)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


__all__ = ["ExtractionState", "Outcome"]
