"""Structured extraction: a record schema -> the ``record_details`` tool -> ``report.extracted``.

A deployment declares the record its agent collects, in the deployment file::

    [extraction]
    name = "ticket"
    description = "A maintenance or enquiry ticket for the property office"

    [extraction.fields.caller_name]
    type = "string"
    required = true
    description = "the caller's full name"

    [extraction.fields.phone]
    type = "phone"            # read with the [leads] phone policy, stored E.164
    required = true
    confirm = true            # read back to the caller before it counts

    [extraction.fields.urgency]
    type = "enum"
    values = ["emergency", "urgent", "normal", "low"]

or a plugin names a pydantic model with the ``register_extraction`` hook
(:meth:`ExtractionSchema.from_model`). Field types: ``string`` (``max_length``),
``integer`` / ``number`` (``minimum``, ``maximum``), ``boolean``, ``phone``, ``email``,
``date`` (``YYYY-MM-DD``), ``enum`` (``values``).

The built-in ``extraction`` plugin offers the tool ``record_details`` with one optional
argument per field plus ``confirmed`` (:meth:`ExtractionSchema.parameters`). Each call
merges into :class:`~voicekit_core.extraction_state.ExtractionState` (``call.extraction``): a later value replaces an
earlier one; an invalid value is a ``ToolError`` naming the field and why (the valid
fields of the same call are kept, and the call goes on); a ``confirm`` field set or
changed is read back (the tool's answer asks the agent to, then to call again with
``confirmed=true``). The record lands in ``report.extracted``; what is ``missing``,
``unconfirmed`` or ``filled_after_call`` in ``report.data["extraction"]``. With a real LLM
a post-call pass fills missing fields from the transcript (:mod:`.extraction_fill`).

Modules: this one (the tables, field validation, the tool's JSON schema),
:mod:`.extraction_sources` (TOML table or plugin model -> schema, at load),
:mod:`.extraction_state` (one call's record), :mod:`.extraction_fill` (the post-call pass),
and the built-in plugin ``voicekit_core.builtins.extraction`` (the livekit tool). None of
them but the last two imports livekit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator, model_validator

from .phones import InvalidPhone, PhonePolicy
from .strict import StrictModel

if TYPE_CHECKING:
    from pydantic import BaseModel

TOOL_NAME = "record_details"
CONFIRMED = "confirmed"  # the tool's extra argument; no field may be called so
FieldType = Literal["string", "integer", "number", "boolean", "phone", "email", "date", "enum"]
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_TEXT = 2000  # characters of a string field without max_length
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
YES_WORDS = {"yes", "y", "true", "si", "sí", "1"}
_NO = {"no", "n", "false", "0"}


class ExtractionField(StrictModel):
    """One ``[extraction.fields.NAME]`` table."""

    type: FieldType = "string"
    description: str = Field(default="", max_length=500, description="what to put there")
    required: bool = False
    values: list[str] = Field(default_factory=list, description="enum values")
    max_length: int | None = Field(default=None, ge=1, le=10_000, description="string fields")
    minimum: float | None = Field(default=None, description="integer / number fields")
    maximum: float | None = Field(default=None, description="integer / number fields")
    confirm: bool = Field(default=False, description="read back to the caller before it counts")

    @model_validator(mode="after")
    def _consistent(self) -> ExtractionField:
        if self.type == "enum":
            if not self.values:
                raise ValueError("values: an enum field needs at least one value")
            if any(not str(v).strip() or len(str(v)) > 100 for v in self.values):
                raise ValueError("values: each value is 1 to 100 characters")
            if len({_norm(v) for v in self.values}) != len(self.values):
                raise ValueError("values: each value must differ (case and spaces aside)")
        elif self.values:
            raise ValueError(f"values: only an enum field has values (this one is {self.type})")
        if self.max_length is not None and self.type != "string":
            raise ValueError(f"max_length: only for string fields (this one is {self.type})")
        numeric = self.type in ("integer", "number")
        if (self.minimum is not None or self.maximum is not None) and not numeric:
            raise ValueError(f"minimum/maximum: only for integer and number fields ({self.type})")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


class ExtractionSection(StrictModel):
    """``[extraction]``: the record the agent collects with ``record_details``."""

    name: str = Field(default="details", min_length=1, max_length=60, description="record name")
    description: str = Field(default="", max_length=1000, description="what the record is")
    fields: dict[str, ExtractionField] = Field(default_factory=dict)
    fill_after_call: bool = Field(
        default=True, description="with a real LLM, fill missing fields from the transcript"
    )
    fill_timeout_seconds: float = Field(default=20, gt=0, le=300, description="seconds")

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, ExtractionField]) -> dict[str, ExtractionField]:
        for name in value:
            check_field_name(name)
        return value


def check_field_name(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a usable field name."""
    if not FIELD_NAME.fullmatch(name):
        raise ValueError(
            f"field name {name[:60]!r}: use lowercase letters, digits and _ "
            "(starting with a letter), at most 64 characters"
        )
    if name == CONFIRMED:
        raise ValueError(f"field name {CONFIRMED!r} is reserved for the read-back confirmation")


def _norm(value: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


class FieldError(ValueError):
    """A value a field does not accept; ``str()`` is the reason, for the model."""


@dataclass(frozen=True)
class FieldSpec:
    """One field of a resolved schema (the same shape whether from TOML or pydantic)."""

    name: str
    type: str = "string"
    description: str = ""
    required: bool = False
    values: tuple[str, ...] = ()
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    confirm: bool = False

    @property
    def label(self) -> str:
        """The name as words (``caller_name`` -> ``caller name``)."""
        return self.name.replace("_", " ")

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of this field as a tool argument."""
        hint = {
            "phone": "a phone number with its area code, digits as the caller said them",
            "email": "an email address",
            "date": "a date as YYYY-MM-DD",
        }.get(self.type, "")
        description = "; ".join(p for p in (self.description, hint) if p)
        if self.confirm:
            description = f"{description} (read back to the caller)".strip()
        schema: dict[str, Any] = {
            "type": {"integer": "integer", "number": "number", "boolean": "boolean"}.get(
                self.type, "string"
            )
        }
        if description:
            schema["description"] = description
        if self.type == "enum":
            schema["enum"] = list(self.values)
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema

    def parse(self, value: Any, policy: PhonePolicy) -> Any:
        """``value`` as stored (JSON-able): strings stripped, phones E.164, dates
        ``YYYY-MM-DD``, enum values as declared. Raises :class:`FieldError` with the reason."""
        parser = getattr(self, f"_parse_{self.type}")
        return parser(value, policy)

    def _parse_string(self, value: Any, _: PhonePolicy) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FieldError(f"is a {_kind(value)}, not text")
        text = " ".join(str(value).split())
        limit = self.max_length or MAX_TEXT
        if len(text) > limit:
            raise FieldError(f"is {len(text)} characters long; at most {limit}: shorten it")
        return text

    def _parse_integer(self, value: Any, _: PhonePolicy) -> int:
        number = _number(value)
        if number is None or number != int(number):
            raise FieldError("is not a whole number")
        return int(self._in_range(int(number)))

    def _parse_number(self, value: Any, _: PhonePolicy) -> float | int:
        number = _number(value)
        if number is None:
            raise FieldError("is not a number")
        return self._in_range(number)

    def _in_range(self, number: float) -> float:
        if self.minimum is not None and number < self.minimum:
            raise FieldError(f"is below the minimum {self.minimum:g}")
        if self.maximum is not None and number > self.maximum:
            raise FieldError(f"is above the maximum {self.maximum:g}")
        return number

    def _parse_boolean(self, value: Any, _: PhonePolicy) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in YES_WORDS:
            return True
        if text in _NO:
            return False
        raise FieldError("is not yes or no (true or false)")

    def _parse_phone(self, value: Any, policy: PhonePolicy) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise FieldError(f"is a {_kind(value)}, not a phone number")
        try:
            return str(policy.parse(str(value)))
        except InvalidPhone as exc:
            raise FieldError(
                f"is not a phone number we can use ({exc.reason}): ask for the full number "
                "with its area code"
            ) from None

    def _parse_email(self, value: Any, _: PhonePolicy) -> str:
        text = str(value).strip() if isinstance(value, str) else ""
        if not _EMAIL.fullmatch(text) or len(text) > 254:
            raise FieldError("is not an email address: ask the caller to spell it")
        local, _, domain = text.rpartition("@")
        return f"{local}@{domain.lower()}"

    def _parse_date(self, value: Any, _: PhonePolicy) -> str:
        text = str(value).strip() if isinstance(value, str) else ""
        try:
            if len(text) > 10:
                return datetime.fromisoformat(text).date().isoformat()
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise FieldError("is not a date: use YYYY-MM-DD") from None

    def _parse_enum(self, value: Any, _: PhonePolicy) -> str:
        wanted = _norm(value)
        for allowed in self.values:
            if _norm(allowed) == wanted:
                return allowed
        raise FieldError(f"is not one of {', '.join(self.values)}")

    def spoken(self, value: Any) -> str:
        """``value`` as the agent should read it back (a phone in groups of digits)."""
        if self.type == "phone":
            return _spoken_phone(str(value))
        if self.type == "boolean":
            return "yes" if value else "no"
        return str(value)


def _kind(value: Any) -> str:
    return {dict: "table", list: "list", bool: "yes/no value"}.get(type(value), "value")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value.strip().replace(",", ""))
        except ValueError:
            return None
    return None


def _spoken_phone(value: str) -> str:
    import phonenumbers

    number, _, extension = value.partition(" ext. ")
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return value
    text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    text = text.replace("-", " ")
    return f"{text} extension {extension}" if extension else text


@dataclass(frozen=True)
class ExtractionSchema:
    """The record a deployment collects: ``name``, ``description``, ``fields`` in order,
    whether to ``fill_after_call`` (and its timeout in seconds), and its ``source``
    (``"deployment"`` or the plugin that registered a model)."""

    name: str
    description: str
    fields: tuple[FieldSpec, ...]
    fill_after_call: bool = True
    fill_timeout_seconds: float = 20
    source: str = "deployment"

    @classmethod
    def from_section(cls, section: ExtractionSection) -> ExtractionSchema:
        """The schema of an ``[extraction]`` table."""
        fields = tuple(
            FieldSpec(
                name=name,
                type=spec.type,
                description=spec.description,
                required=spec.required,
                values=tuple(spec.values),
                max_length=spec.max_length,
                minimum=spec.minimum,
                maximum=spec.maximum,
                confirm=spec.confirm,
            )
            for name, spec in section.fields.items()
        )
        return cls(
            section.name,
            section.description,
            fields,
            section.fill_after_call,
            section.fill_timeout_seconds,
        )

    @classmethod
    def from_model(
        cls, model: type[BaseModel], *, name: str = "", description: str = "", source: str = ""
    ) -> ExtractionSchema:
        """The schema of a pydantic model: ``str`` (``max_length``), ``int`` / ``float``
        (``ge``/``le``), ``bool``, ``datetime.date``, ``Literal[...]`` or an ``Enum`` (enum
        values); ``Optional`` of those. A field's ``json_schema_extra`` may say
        ``{"voicekit_type": "phone" | "email", "confirm": True}``; ``Field(description=)``
        is the field's description; a field without a default is required. The model's
        docstring is the description unless ``description`` is given.

        Raises ``ValueError`` naming a field whose type has no extraction type.
        """
        from .extraction_sources import schema_from_model

        return schema_from_model(model, name=name, description=description, source=source)

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name``, or None."""
        return next((f for f in self.fields if f.name == name), None)

    def parameters(self, *, confirmation: bool = True) -> dict[str, Any]:
        """The JSON Schema of the tool's arguments: every field optional (calls merge),
        plus ``confirmed`` when ``confirmation`` and some field must be read back."""
        properties = {f.name: f.json_schema() for f in self.fields}
        if confirmation and any(f.confirm for f in self.fields):
            properties[CONFIRMED] = {
                "type": "boolean",
                "description": "true once the caller said the details you read back are right",
            }
        return {
            "type": "object",
            "properties": properties,
            "required": [],
            "additionalProperties": False,
        }

    def tool_description(self) -> str:
        """The ``record_details`` description the model reads."""
        what = f"the {self.name.replace('_', ' ')}"
        parts = [
            f"Record details for {what}"
            + (f" ({self.description.rstrip('.')})." if self.description else "."),
            "Call it as soon as the caller gives any of them, with just those fields; call it "
            "again with more or corrected ones (values merge, a new value replaces the old).",
        ]
        required = [f.label for f in self.fields if f.required]
        if required:
            parts.append(f"Required: {', '.join(required)}.")
        confirm = [f.label for f in self.fields if f.confirm]
        if confirm:
            parts.append(
                f"{', '.join(confirm).capitalize()} must be read back to the caller: the "
                "result tells you when, then call it again with confirmed=true."
            )
        return " ".join(parts)

    def tool_schema(self) -> dict[str, Any]:
        """``raw_schema`` for livekit's ``function_tool``: name, description, parameters."""
        return {
            "name": TOOL_NAME,
            "description": self.tool_description(),
            "parameters": self.parameters(),
        }


__all__ = [
    "TOOL_NAME",
    "ExtractionField",
    "ExtractionSchema",
    "ExtractionSection",
    "FieldError",
    "FieldSpec",
]
