"""Unit tests for what the intake flow reads from callers (``builtins/scripted/fields.py``,
``contact.py``)
and how it picks the answer to say from a knowledge lookup (``answers.py``)."""

from __future__ import annotations

import json

import pytest

from voicekit_core.builtins.scripted.answers import Chunk, brief_answer, read_chunks
from voicekit_core.builtins.scripted.contact import (
    find_address,
    find_name,
    find_phone,
    find_unit,
    parse_address,
    parse_name,
    parse_phone,
    parse_unit,
    spoken_phone,
)
from voicekit_core.builtins.scripted.fields import (
    clip,
    contains_phrase,
    detect_language,
    is_done,
    is_question,
    is_small_talk,
    parse_enum,
    parse_text,
    parse_yes_no,
    sentence_with,
    without_opening,
)

CALLER_ID = "+15125550101"

# -- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It's dana whitfield.", "Dana Whitfield"),
        ("Sure, my name is José García", "José García"),
        ("Maria Lopez", "Maria Lopez"),
        ("This is Sam Rivera, calling from unit 4", "Sam Rivera"),
        ("Me llamo Lucía Fernández de la Torre", "Lucía Fernández de la Torre"),
        ("uh, Priya", "Priya"),
    ],
)
def test_parse_name(text, expected):
    assert parse_name(text) == expected


@pytest.mark.parametrize(
    "text", ["415 555 0123", "No, the unit is 4C", "I'm calling about my rent", "apt 12", ""]
)
def test_parse_name_refuses_what_is_not_a_name(text):
    assert parse_name(text) is None


def test_find_name_needs_an_introduction_and_a_capital():
    assert find_name("Hi, this is Maria Lopez at 12 Oak Street.") == "Maria Lopez"
    assert find_name("I'm calling about the heater") is None
    assert find_name("my sink is leaking") is None


# -- phones -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("415 555 0123", "+14155550123"),
        ("Actually the number is (512) 555-0188", "+15125550188"),
        ("four one five, five five five, zero one eight eight", "+14155550188"),
        ("mi número es 512 555 0177", "+15125550177"),
        ("+34 612 345 678", "+34612345678"),
        ("this one is fine", CALLER_ID),
        ("Yes", CALLER_ID),
        ("el mismo, por favor", CALLER_ID),
    ],
)
def test_parse_phone(text, expected):
    assert parse_phone(text, "US", CALLER_ID) == expected


def test_parse_phone_without_number_or_caller_id_is_none():
    assert parse_phone("yes", "US", "") is None
    assert parse_phone("I don't know it by heart", "US", CALLER_ID) is None
    assert parse_phone("555 12", "US", CALLER_ID) is None


def test_find_phone_skips_a_number_the_caller_takes_back():
    assert find_phone("call 512 555 0190, not 512 555 0111", "US") == "+15125550190"


def test_spoken_phone_reads_a_national_number_in_its_own_format():
    assert spoken_phone("+15125550123") == "(512) 555-0123"


# -- addresses and units ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("450 Birch Avenue, apartment 12", "450 Birch Avenue"),
        ("I live at 12 oak street", "12 Oak Street"),
        ("It's 88 Cedar Ln.", "88 Cedar Ln"),
        ("vivo en la calle Mayor 5, departamento 3", "Calle Mayor 5"),
    ],
)
def test_find_address(text, expected):
    assert find_address(text) == expected


def test_parse_address_takes_a_named_place_without_a_street_type():
    assert parse_address("It's the Birch Court building") == "The Birch Court building"
    assert parse_address("um, I'm not sure") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Unit 12B.", "12B"),
        ("It's 4 B", "4B"),
        ("unit four B", "4B"),
        ("apt. 3-c", "3C"),
        ("departamento número 7", "7"),
        ("No, the unit is 12A, not 12.", "12A"),
        ("There's no unit, it's a house", ""),
    ],
)
def test_parse_unit(text, expected):
    assert parse_unit(text) == expected


def test_find_unit_needs_a_marker_and_ignores_phone_numbers():
    assert find_unit("my number is 415 555 0101") is None
    assert find_unit("450 Birch Avenue, apartment 12") == "12"


# -- yes / no and enums -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, a cat", True),
        ("Sure, go ahead.", True),
        ("Sí, claro", True),
        ("We have a dog", True),
        ("no problem", True),
        ("No pets", False),
        ("Only when I'm home", False),
        ("No, gracias", False),
        ("No, prefiero estar en casa.", False),
        ("nope", False),
        ("maybe, I'll think about it", None),
    ],
)
def test_parse_yes_no(text, expected):
    assert parse_yes_no(text) is expected


ROLES = ["tenant", "owner", "prospective_tenant"]
ROLE_WORDS = {"tenant": ["renter", "inquilina"], "prospective_tenant": ["looking to rent"]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm a renter there", "tenant"),
        ("Soy inquilina", "tenant"),
        ("the owner", "owner"),
        ("I'm looking to rent", "prospective_tenant"),
        ("prospective tenant", "prospective_tenant"),  # the value's own words
        ("no idea", None),
    ],
)
def test_parse_enum_by_value_and_synonyms(text, expected):
    assert parse_enum(text, ROLES, ROLE_WORDS) == expected


def test_parse_enum_the_earlier_and_longer_synonym_wins():
    urgency = {"urgent": ["urgent", "asap"], "low": ["not urgent", "no rush"]}
    assert parse_enum("It's not urgent", ["urgent", "low"], urgency) == "low"
    assert parse_enum("urgent, no rush on the paint", ["urgent", "low"], urgency) == "urgent"


# -- what kind of line ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "When is rent due?",
        "How do I pay rent",
        "I have a question about the pet policy",
        "¿Cuándo se paga la renta?",
        "Do you allow dogs",
    ],
)
def test_questions(text):
    assert is_question(text)


@pytest.mark.parametrize(
    "text", ["Can someone fix my sink?", "My kitchen sink is leaking", "Is my heater broken?"]
)
def test_service_requests_are_not_questions(text):
    assert not is_question(text)


def test_small_talk_and_done():
    assert is_small_talk("Hi") and is_small_talk("Hello, good morning!")
    assert not is_small_talk("Hi, my sink leaks")
    assert is_done("No, that's all, thanks.") and is_done("nope") and is_done("Eso es todo")
    assert not is_done("No pets")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hola, tengo una fuga de agua en el baño", "es"),
        ("Hi, my sink is leaking", "en"),
        ("Sí", "es"),
        ("OK", "en"),  # not enough evidence: stays in the current language
        ("4B", "en"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text, ["en", "es"], "en") == expected


def test_detect_language_only_among_the_allowed():
    assert detect_language("Hola, tengo una fuga", ["en"], "en") == "en"


def test_emergency_phrases_are_word_bounded_and_accent_blind():
    assert contains_phrase("There's NO HEAT in the building!", ["no heat"]) == "no heat"
    assert contains_phrase("no heater noise", ["no heat"]) is None
    assert contains_phrase("Hay humo y huele a gas", ["huele a gas"]) == "huele a gas"
    assert contains_phrase("sin calefaccion", ["sin calefacción"]) == "sin calefacción"
    assert sentence_with("Hi, this is Sam. I smell gas here!", "smell gas") == "I smell gas here!"


def test_text_helpers():
    assert parse_text("Um, weekday mornings.") == "weekday mornings"
    assert without_opening("Hi, my kitchen sink is leaking.") == "My kitchen sink is leaking."
    assert without_opening("Hola, buenos días, tengo una fuga") == "Tengo una fuga"
    clipped = clip("word " * 60, 127)
    assert len(clipped) <= 127 and clipped.endswith("…")


# -- answers from a lookup --------------------------------------------------------------

RENT = """Paying rent

When rent is due
Rent is due on the first day of each month. Payments received by the end of the fifth day
of the month are on time. From the sixth day a late fee of $50 is added to the account.

How to pay
- Online, through the resident portal: bank transfer with no fee, or a credit card with a
  2.9% card fee.
- We do not accept cash at the office.

Payment plans
We can agree a written payment plan for the month's rent, and the late fee is waived."""


def test_read_chunks_of_the_knowledge_plugin_json():
    output = json.dumps(
        {"results": [{"title": "Paying rent", "source": "docs/rent.md", "text": RENT}]}
    )
    chunks = read_chunks(output)
    assert chunks == [Chunk(RENT, "Paying rent", "docs/rent.md")]
    assert read_chunks(json.dumps({"results": [], "note": "nothing"})) == []
    assert read_chunks("first paragraph\n\nsecond") == [Chunk("first paragraph"), Chunk("second")]
    assert read_chunks(json.dumps([{"content": "x y z"}])) == [Chunk("x y z")]


def test_brief_answer_covers_both_halves_of_a_question():
    answer = brief_answer("when is rent due and is there a late fee", [Chunk(RENT)])
    assert answer == (
        "Rent is due on the first day of each month. "
        "From the sixth day a late fee of $50 is added to the account."
    )


def test_brief_answer_joins_wrapped_lines_and_list_items():
    answer = brief_answer("can I pay with a credit card", [Chunk(RENT)])
    assert answer.startswith("Online, through the resident portal: bank transfer with no fee,")
    assert "card fee." in answer and "\n" not in answer


def test_brief_answer_of_nothing_is_empty():
    assert brief_answer("anything", []) == ""
    assert brief_answer("anything", [Chunk("# Title only")]) == ""
