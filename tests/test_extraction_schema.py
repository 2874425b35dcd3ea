"""The record schema: [extraction] / a pydantic model -> the record_details JSON schema,
field validation, merging and read-back (no livekit session here)."""

from __future__ import annotations

import enum
from datetime import date
from typing import Literal

import pytest
from pydantic import BaseModel, Field, ValidationError

from voicekit_core import hookimpl
from voicekit_core.errors import ConfigError
from voicekit_core.extraction import ExtractionField, ExtractionSchema, ExtractionSection
from voicekit_core.extraction_state import ExtractionState
from voicekit_core.harness import MINIMAL_CONFIG
from voicekit_core.phones import PhonePolicy

TICKET = """
[extraction]
name = "ticket"
description = "A maintenance ticket for the property office"

[extraction.fields.caller_name]
type = "string"
required = true
description = "the caller's full name"

[extraction.fields.phone]
type = "phone"
required = true
confirm = true

[extraction.fields.unit]
type = "string"
max_length = 10
confirm = true

[extraction.fields.urgency]
type = "enum"
values = ["emergency", "urgent", "normal", "low"]

[extraction.fields.adults]
type = "integer"
minimum = 1
maximum = 12

[extraction.fields.entry_permitted]
type = "boolean"

[extraction.fields.email]
type = "email"

[extraction.fields.move_out]
type = "date"

[extraction.fields.rent]
type = "number"
"""


def ticket_schema() -> ExtractionSchema:
    import tomllib

    section = ExtractionSection.model_validate(tomllib.loads(TICKET)["extraction"])
    return ExtractionSchema.from_section(section)


def state() -> ExtractionState:
    return ExtractionState(ticket_schema(), PhonePolicy(default_region="US"))


def test_schema_becomes_the_tool_json_schema():
    tool = ticket_schema().tool_schema()
    assert tool["name"] == "record_details"
    params = tool["parameters"]
    assert params["type"] == "object"
    assert params["required"] == []  # partial calls merge
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert list(props) == [
        "caller_name",
        "phone",
        "unit",
        "urgency",
        "adults",
        "entry_permitted",
        "email",
        "move_out",
        "rent",
        "confirmed",
    ]
    assert props["caller_name"] == {"type": "string", "description": "the caller's full name"}
    assert props["urgency"]["enum"] == ["emergency", "urgent", "normal", "low"]
    assert props["unit"]["maxLength"] == 10
    assert (props["adults"]["type"], props["adults"]["minimum"], props["adults"]["maximum"]) == (
        "integer",
        1,
        12,
    )
    assert props["entry_permitted"]["type"] == "boolean"
    assert props["rent"]["type"] == "number"
    assert "YYYY-MM-DD" in props["move_out"]["description"]
    assert "read back" in props["phone"]["description"]
    assert props["confirmed"]["type"] == "boolean"
    description = tool["description"]
    assert "ticket" in description and "maintenance ticket" in description
    assert "Required: caller name, phone." in description
    assert "confirmed=true" in description


def test_no_confirmed_argument_without_confirm_fields():
    schema = ExtractionSchema.from_section(
        ExtractionSection(fields={"reason": ExtractionField(type="string")})
    )
    assert list(schema.parameters()["properties"]) == ["reason"]
    assert "confirmed" not in ticket_schema().parameters(confirmation=False)["properties"]


@pytest.mark.parametrize(
    ("field", "reason"),
    [
        ({"type": "enum"}, "an enum field needs at least one value"),
        ({"type": "string", "values": ["a"]}, "only an enum field has values"),
        ({"type": "integer", "max_length": 3}, "max_length: only for string fields"),
        ({"type": "string", "minimum": 1}, "only for integer and number fields"),
        ({"type": "number", "minimum": 5, "maximum": 1}, "minimum is greater than maximum"),
        ({"type": "enum", "values": ["Low", "low"]}, "each value must differ"),
        ({"type": "colour"}, "Input should be"),
    ],
)
def test_bad_field_tables_are_rejected(field, reason):
    with pytest.raises(ValidationError, match=reason):
        ExtractionSection.model_validate({"fields": {"x": field}})


@pytest.mark.parametrize("name", ["confirmed", "Unit", "2nd_phone", "caller-name"])
def test_bad_field_names_are_rejected(name):
    with pytest.raises(ValidationError, match="field name"):
        ExtractionSection.model_validate({"fields": {name: {"type": "string"}}})


@pytest.mark.parametrize(
    ("name", "raw", "stored"),
    [
        ("caller_name", "  Ana   María  López ", "Ana María López"),
        ("unit", 4, "4"),
        ("phone", "(415) 555-0199", "+14155550199"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("urgency", "Urgent", "urgent"),
        ("adults", "3", 3),
        ("adults", 2.0, 2),
        ("entry_permitted", "yes", True),
        ("entry_permitted", False, False),
        ("email", "Ana@Example.COM", "Ana@example.com"),
        ("move_out", "2026-12-31", "2026-12-31"),
        ("move_out", "2026-12-31T10:00:00", "2026-12-31"),
        ("rent", "1,850.50", 1850.5),
    ],
)
def test_values_are_normalised(name, raw, stored):
    record = state()
    outcome = record.apply({name: raw})
    assert not outcome.error, outcome.text
    assert record.record()[name] == stored


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"phone": "555"}, "phone: '555' is not a phone number we can use"),
        ({"phone": "+1 415 555 0101 ext. 23"}, "has an extension"),
        ({"urgency": "critical"}, "urgency: 'critical' is not one of emergency, urgent"),
        ({"unit": "apartment 4B north"}, "unit: 'apartment 4B north' is 18 characters long"),
        ({"adults": 0}, "adults: 0 is below the minimum 1"),
        ({"adults": "two"}, "adults: 'two' is not a whole number"),
        ({"entry_permitted": "maybe"}, "is not yes or no"),
        ({"email": "ana at example"}, "is not an email address"),
        ({"move_out": "next Tuesday"}, "is not a date: use YYYY-MM-DD"),
        ({"caller_name": {"first": "Ana"}}, "caller_name: {'first': 'Ana'} is a table, not text"),
        ({"colour": "blue"}, "colour: no such field (fields: caller_name, phone"),
    ],
)
def test_invalid_values_are_errors_naming_the_field(arguments, expected):
    record = state()
    outcome = record.apply(arguments)
    assert outcome.error
    assert expected in outcome.text
    assert record.record() == {}


def test_valid_fields_of_a_bad_call_are_kept_and_said():
    record = state()
    outcome = record.apply({"caller_name": "Ana", "phone": "555", "urgency": "critical"})
    assert outcome.error
    assert outcome.text.startswith("Not recorded: phone:")
    assert "urgency: 'critical'" in outcome.text
    assert "Recorded: caller_name." in outcome.text
    assert record.record() == {"caller_name": "Ana"}


def test_calls_merge_and_a_new_value_replaces_the_old():
    record = state()
    assert (
        record.apply({"caller_name": "Ana"}).text == "Recorded: caller_name. Still needed: phone."
    )
    record.apply({"urgency": "low", "caller_name": None, "adults": ""})  # null / "" = not given
    record.apply({"urgency": "normal"})
    assert record.record() == {"caller_name": "Ana", "urgency": "normal"}
    assert record.missing() == ["phone"]


def test_confirm_fields_are_read_back_then_confirmed():
    record = state()
    first = record.apply({"caller_name": "Ana", "phone": "415 555 0199", "unit": "4B"})
    assert not first.error
    assert (
        "Read back the phone +1 415 555 0199 and the unit 4B to the caller, then call "
        "record_details again with confirmed=true" in first.text
    )
    assert record.unconfirmed() == ["phone", "unit"]
    assert record.summary()["complete"] is False
    second = record.apply({"confirmed": True})
    assert second.text == "Confirmed: phone, unit. All required details are recorded."
    assert record.unconfirmed() == []
    assert record.summary() == {
        "schema": "ticket",
        "complete": True,
        "missing": [],
        "unconfirmed": [],
        "filled_after_call": [],
    }


def test_confirmed_before_any_read_back_confirms_nothing():
    record = state()
    outcome = record.apply({"phone": "415 555 0199", "confirmed": True})
    assert "Read back the phone" in outcome.text
    assert record.unconfirmed() == ["phone"]


def test_a_corrected_value_is_read_back_again():
    record = state()
    record.apply({"caller_name": "Ana", "phone": "415 555 0199", "unit": "4B"})
    record.apply({"confirmed": True})
    # the caller corrects the unit later in the call: only the unit is read back again
    corrected = record.apply({"unit": "4D", "confirmed": True})
    assert "Read back the unit 4D" in corrected.text and "phone" not in corrected.text
    assert record.unconfirmed() == ["unit"]
    assert record.apply({"confirmed": True}).text.startswith("Confirmed: unit.")
    assert record.record()["unit"] == "4D"


def test_the_phone_policy_of_the_deployment_applies():
    schema = ticket_schema()
    uk = ExtractionState(schema, PhonePolicy(default_region="GB"))
    assert not uk.apply({"phone": "020 7946 0958"}).error
    assert uk.record()["phone"] == "+442079460958"
    with_ext = ExtractionState(schema, PhonePolicy(allow_extensions=True))
    assert not with_ext.apply({"phone": "+1 415 555 0101 ext. 23"}).error
    assert with_ext.record()["phone"] == "+14155550101 ext. 23"
    assert "extension 23" in with_ext.apply({}).text


def test_post_call_fill_never_replaces_what_the_caller_gave():
    record = state()
    record.apply({"caller_name": "Ana"})
    filled, rejected = record.fill(
        {"caller_name": "Someone else", "urgency": "urgent", "adults": 99, "colour": "red"}
    )
    assert filled == ["urgency"]
    assert rejected == ["adults: is above the maximum 12"]
    assert record.record() == {"caller_name": "Ana", "urgency": "urgent"}
    assert record.summary()["filled_after_call"] == ["urgency"]


class Urgency(enum.Enum):
    EMERGENCY = "emergency"
    NORMAL = "normal"


class Ticket(BaseModel):
    """A ticket for the office."""

    caller_name: str = Field(description="full name", max_length=80)
    phone: str = Field(json_schema_extra={"voicekit_type": "phone", "confirm": True})
    kind: Literal["maintenance", "question"] = "question"
    urgency: Urgency | None = None
    pets: bool | None = None
    adults: int | None = Field(default=None, ge=1, le=12)
    move_out: date | None = None


def test_a_pydantic_model_gives_the_same_schema_shape():
    schema = ExtractionSchema.from_model(Ticket, source="office")
    assert schema.name == "ticket" and schema.description == "A ticket for the office."
    fields = {f.name: f for f in schema.fields}
    assert fields["caller_name"].required and fields["caller_name"].max_length == 80
    assert fields["phone"].type == "phone" and fields["phone"].confirm
    assert fields["kind"].values == ("maintenance", "question") and not fields["kind"].required
    assert fields["urgency"].type == "enum" and fields["urgency"].values == ("emergency", "normal")
    assert fields["pets"].type == "boolean"
    assert (fields["adults"].type, fields["adults"].minimum, fields["adults"].maximum) == (
        "integer",
        1,
        12,
    )
    assert fields["move_out"].type == "date"
    assert schema.parameters()["properties"]["kind"]["enum"] == ["maintenance", "question"]


def test_a_model_field_without_an_extraction_type_is_an_error():
    class Bad(BaseModel):
        tags: list[str]

    with pytest.raises(ValueError, match=r"tags: .* has no extraction type"):
        ExtractionSchema.from_model(Bad)


class TicketPlugin:
    @hookimpl
    def register_extraction(self, register):
        register(Ticket, name="office_ticket")


def test_a_plugin_names_the_record_model(voicekit):
    voicekit.register(TicketPlugin(), name="ticket_model")
    deployment = voicekit.load(voicekit.write(MINIMAL_CONFIG + '[extraction]\ndescription = "x"\n'))
    schema = deployment.extraction
    assert schema is not None and schema.name == "office_ticket" and schema.source == "ticket_model"
    assert schema.description == "x"
    assert [f.name for f in schema.fields][:2] == ["caller_name", "phone"]


def test_a_plugin_model_and_toml_fields_together_are_a_check_error(voicekit):
    voicekit.register(TicketPlugin(), name="ticket_model")
    with pytest.raises(ConfigError) as caught:
        voicekit.load(voicekit.write(MINIMAL_CONFIG + TICKET))
    assert "extraction.fields: plugin 'ticket_model' registers the record model" in str(
        caught.value
    )


def test_extraction_without_fields_is_a_check_error(voicekit):
    with pytest.raises(ConfigError, match=r"extraction\.fields: declare at least one field"):
        voicekit.load(voicekit.write(MINIMAL_CONFIG + '[extraction]\nname = "ticket"\n'))


def test_a_bad_field_in_the_file_names_its_key(voicekit):
    config = MINIMAL_CONFIG + '[extraction.fields.urgency]\ntype = "enum"\n'
    with pytest.raises(ConfigError) as caught:
        voicekit.load(voicekit.write(config))
    assert "extraction.fields.urgency" in str(caught.value)
    assert "an enum field needs at least one value" in str(caught.value)


def test_no_extraction_no_tool(voicekit):
    deployment = voicekit.load()
    assert deployment.extraction is None
