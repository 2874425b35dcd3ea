"""Unit tests for the pure parsing functions of the built-in ``scripted`` model."""

from __future__ import annotations

import pytest

from voicekit_core.builtins.scripted import (
    _match_slot,
    detect_callback,
    detect_intent,
    parse_authority,
    parse_budget_usd,
    parse_timeline_months,
    qualification_arguments,
)

# -- parse_budget_usd -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("about $50k", 50_000.0),
        ("50k", 50_000.0),
        ("we have 50,000 dollars", 50_000.0),
        ("we have $50,000", 50_000.0),
        ("$1.5 million", 1_500_000.0),
        ("around 2 million", 2_000_000.0),
        ("maybe 20 thousand", 20_000.0),
        ("€30k", 30_000.0),
        ("$500", 500.0),
        ("I think 1,200", 1_200.0),
        ("50 mil dólares", 50_000.0),
        ("unos 3 millones", 3_000_000.0),
        ("between $10k and $25k", 25_000.0),  # the top of a range
        ("I have 2 kids and $5k", 5_000.0),
    ],
)
def test_parse_budget_amounts(text, expected):
    assert parse_budget_usd(text) == expected


@pytest.mark.parametrize("text", ["no budget", "zero", "none yet", "sin presupuesto"])
def test_parse_budget_none_is_zero(text):
    assert parse_budget_usd(text) == 0.0


@pytest.mark.parametrize("text", ["not sure yet", "we are 5 people", "depends on the quote", ""])
def test_parse_budget_unstated(text):
    assert parse_budget_usd(text) is None


def test_parse_budget_amount_wins_over_incidental_nothing():
    assert parse_budget_usd("Nothing decided yet, but around $20k") == 20_000.0


def test_parse_budget_year_is_not_money():
    assert parse_budget_usd("$500 a month for 2026") == 500.0


# -- parse_authority ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes, I decide", "decision_maker"),
        ("It's my call", "decision_maker"),
        ("I sign off on these", "decision_maker"),
        ("I'm the decision maker", "decision_maker"),
        ("Sí, yo decido", "decision_maker"),
        ("I need to check with my boss", "influencer"),
        ("Needs approval from the CFO", "influencer"),
        ("my manager decides", "influencer"),
        ("the committee decides", "influencer"),
        ("yes, but with the committee", "influencer"),  # influencer checked first
        ("tengo que consultar con mi jefe", "influencer"),
        ("No, not me", "none"),
        ("no authority at all", "none"),
        ("no idea", "unknown"),
        ("", "unknown"),
    ],
)
def test_parse_authority(text, expected):
    assert parse_authority(text) == expected


@pytest.mark.parametrize("text", ["I don't decide", "Not me, I don't decide that"])
def test_parse_authority_negated(text):
    assert parse_authority(text) == "none"


# -- parse_timeline_months ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ASAP", 1),
        ("right away", 1),
        ("next month", 1),
        ("this quarter", 2),
        ("next quarter", 3),
        ("by the end of the year", 6),
        ("next year", 12),
        ("no rush", 24),
        ("in 6 months", 6),
        ("a couple of months", 2),
        ("two weeks", 1),
        ("in 10 weeks", 2),
        ("2 years", 24),
        ("in one month", 1),
        ("en tres meses", 3),
        ("6 semanas", 2),
        ("dos años", 24),
        ("el año que viene", 12),
        ("el próximo trimestre", 3),
        ("cuanto antes", 1),
    ],
)
def test_parse_timeline_months(text, expected):
    assert parse_timeline_months(text) == expected


@pytest.mark.parametrize("text", ["dunno", "I know what we need", "soon-ish", ""])
def test_parse_timeline_vague(text):
    assert parse_timeline_months(text) is None


def test_parse_timeline_not_right_now():
    assert parse_timeline_months("Not right now, maybe next year") == 12


# -- detect_intent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sorry, wrong number", "wrong_number"),
        ("There's nobody here by that name", "wrong_number"),
        ("You have the wrong person", "wrong_number"),
        ("This is not Ada", "wrong_number"),
        ("Número equivocado", "wrong_number"),
        ("Se equivocó de número", "wrong_number"),
        ("No hay nadie con ese nombre", "wrong_number"),
        ("No thanks", "not_interested"),
        ("Please stop calling me", "not_interested"),
        ("Take me off your list", "not_interested"),
        ("Don't call again", "not_interested"),
        ("No me interesa", "not_interested"),
        ("No estoy interesada", "not_interested"),
        ("Can I talk to a human?", "wants_human"),
        ("I want to speak with a real person", "wants_human"),
        ("Transfer me please", "wants_human"),
        ("Get me a representative", "wants_human"),
        ("Quiero hablar con una persona", "wants_human"),
        ("¿Es una persona real?", "wants_human"),
        ("Sounds good", None),
        ("Yes, thanks", None),
        ("We have about 50k", None),
    ],
)
def test_detect_intent(text, expected):
    assert detect_intent(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm not interested", "not_interested"),
        ("Im not interested, thanks", "not_interested"),
        ("I'm not sure", None),
        ("I'm not available right now", None),
    ],
)
def test_detect_intent_im_not(text, expected):
    assert detect_intent(text) == expected


# -- qualification_arguments ------------------------------------------------------------


def test_qualification_arguments_parses_bant():
    answers = {
        "budget": "about $50k",
        "authority": "I decide",
        "need": "faster onboarding",
        "timeline": "next quarter",
    }
    assert qualification_arguments(answers) == {
        "budget_usd": 50_000.0,
        "authority": "decision_maker",
        "need": "faster onboarding",
        "timeline_months": 3,
    }


def test_qualification_arguments_other_keys_become_notes():
    args = qualification_arguments({"team": "5 reps", "crm": "HubSpot", "budget": "no idea"})
    assert args == {"budget_usd": None, "notes": "team: 5 reps. crm: HubSpot. "}


def test_qualification_arguments_empty():
    assert qualification_arguments({}) == {}


# -- _match_slot ---------------------------------------------------------------------------

SLOTS = [
    {"start": "2026-11-23T18:00:00+00:00", "label": "Monday, November 23 at 10:00 AM PST"},
    {"start": "2026-11-24T22:30:00+00:00", "label": "Tuesday, November 24 at 2:30 PM PST"},
    {"start": "2026-11-25T17:00:00+00:00", "label": "Wednesday, November 25 at 9:00 AM PST"},
]
ES_SLOTS = [
    {"start": "2026-11-23T09:00:00+00:00", "label": "lunes 23 de noviembre a las 10:00 (CET)"},
    {"start": "2026-11-24T15:00:00+00:00", "label": "martes 24 de noviembre a las 16:00 (CET)"},
]


@pytest.mark.parametrize(
    ("text", "index"),
    [
        ("the first one", 0),
        ("the earliest please", 0),
        ("the second one", 1),
        ("the third", 2),
        ("the last one", 2),
        ("el segundo", 1),
        ("la primera", 0),
        ("Tuesday works", 1),
        ("wednesday is best", 2),
        ("el martes", 1),
        ("10 am", 0),
        ("10:00", 0),
        ("2:30 pm", 1),
        ("at 2", 1),  # 2 -> 2 PM: the only afternoon slot
        ("9 works", 2),
        ("Monday at 10am", 0),
    ],
)
def test_match_slot(text, index):
    assert _match_slot(text, SLOTS) == SLOTS[index]


@pytest.mark.parametrize("text", ["", "sounds good", "Friday", "at 11", "11 am please", "whatever"])
def test_match_slot_no_match(text):
    assert _match_slot(text, SLOTS) is None


def test_match_slot_ordinal_beyond_the_offer():
    two = SLOTS[:2]
    assert _match_slot("the third one", two) is None


def test_match_slot_weekday_wins_when_hour_does_not_fit():
    # "Tuesday at 10": no Tuesday 10:00 slot; the caller named the day, offer that day's slot.
    assert _match_slot("Tuesday at 10", SLOTS) == SLOTS[1]


def test_match_slot_spanish_24h_labels():
    assert _match_slot("a las 16:00", ES_SLOTS) == ES_SLOTS[1]
    assert _match_slot("4 pm", ES_SLOTS) == ES_SLOTS[1]
    assert _match_slot("el segundo", ES_SLOTS) == ES_SLOTS[1]


@pytest.mark.parametrize(("text", "index"), [("el lunes", 0), ("el martes me va bien", 1)])
def test_match_slot_spanish_weekday_in_spanish_labels(text, index):
    assert _match_slot(text, ES_SLOTS) == ES_SLOTS[index]


# -- detect_callback -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call me back tomorrow afternoon", "with_time"),
        (
            "Sorry, I'm in a meeting right now. Can you call me back tomorrow afternoon?",
            "with_time",
        ),
        ("I'm busy, try me Tuesday at 3", "with_time"),
        ("Can you try me again in two hours?", "with_time"),
        ("Call me Friday at noon", "with_time"),  # "call me" counts with a time
        ("Could we do a callback next week?", "with_time"),
        ("Estoy ocupado, llámeme mañana por la tarde", "with_time"),
        ("Can you call me back?", "ask_time"),
        ("Call me later", "ask_time"),
        ("I'm driving, can't talk right now", "ask_time"),
        ("It's not a good time", "ask_time"),
        ("Ahora no puedo", "ask_time"),
        ("Vuelva a llamar otro día", "ask_time"),
        ("You can call me Dana", None),  # "call me" without a time
        ("It's my call", None),
        ("Not right now, maybe next year", None),
        ("I'm not available right now", None),
        ("Ideally within the next 2 months.", None),
        ("Sure, I have a couple of minutes.", None),
    ],
)
def test_detect_callback(text, expected):
    assert detect_callback(text) == expected
