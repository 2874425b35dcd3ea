"""Prompt templates reach declared data only (issue 9, items 1 and 15).

Each class of hole has a test: attribute walks and indexing into objects, conversions,
format specs that crash or blow up at call time, missing fields with a fallback, and
every rendered text (greeting and voicemail in every language) being checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voicekit_core.config import DeploymentConfig, parse_config
from voicekit_core.leads import Lead
from voicekit_core.prompts import MAX_SPEC_NUMBER, render, template_problems
from voicekit_core.redaction import REDACTED, register_secret
from voicekit_core.testing import MINIMAL_CONFIG

CANARY = "canary-4f9d2c71e0b84a55"


@pytest.fixture
def config() -> DeploymentConfig:
    data = {
        "agent": {"name": "ava", "instructions": "inline"},
        "campaign": {"name": "Q4", "seats": 12, "offer": {"discount": "20%"}, "tags": ["a"]},
    }
    return parse_config(data, path=Path("/nowhere/voicekit.toml"), environ={})


@pytest.fixture
def lead() -> Lead:
    return Lead(first_name="Ada", phone="+14155550123", extra={"plan": "pro", "plan type": "x"})


# -- attribute walks and indexing into objects ---------------------------------------------

ESCAPES = [
    "{lead.extra[x].__class__.__getattr__.__globals__[os].environ[CANARY_ENV]}",
    "{lead.first_name.__class__.__mro__[1].__subclasses__}",
    "{lead.__class__}",
    "{lead.__dict__}",
    "{lead.model_config}",
    "{lead.zone}",
    "{campaign.__class__.__init__.__globals__}",
    "{campaign.name.__len__}",
    "{agent.name.upper}",
    "{lead.extra.__class__}",
    "{lead.extra[plan][0]}",
    "{campaign.offer.discount.__doc__}",
]


@pytest.mark.parametrize("text", ESCAPES)
def test_attribute_walks_fail_the_check_and_render_nothing(config, lead, text, monkeypatch):
    monkeypatch.setenv("CANARY_ENV", CANARY)
    assert template_problems(text, config), "the check must reject it"
    rendered = render(text, lead=lead, config=config)
    assert rendered == ""
    assert CANARY not in rendered


def test_extra_columns_by_key_only(config, lead):
    assert template_problems("{lead.extra[plan]} {lead.extra[plan type]}", config) == []
    assert render("{lead.extra[plan]}/{lead.extra[plan type]}", lead=lead, config=config) == (
        "pro/x"
    )
    (problem,) = template_problems("{lead.extra}", config)
    assert "lead.extra[COLUMN]" in problem


def test_campaign_tables_and_lists_are_not_values(config):
    (table,) = template_problems("{campaign.offer}", config)
    assert "is a table" in table and "discount" in table
    (listed,) = template_problems("{campaign.tags}", config)
    assert "is a list" in listed
    (value,) = template_problems("{campaign.seats.x}", config)
    assert "has no keys" in value


# -- conversions and format specs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{lead.first_name:d}", "does not suit {lead.first_name} (text)"),
        ("{agent.name:.2f}", "does not suit {agent.name} (text)"),
        ("{campaign.name:d}", "does not suit {campaign.name} (text)"),
        ("{campaign.seats:s}", "does not suit {campaign.seats} (int)"),
        ("{lead.first_name:=5}", "does not suit"),
        ("{lead.first_name:{lead.last_name}}", "cannot contain placeholders"),
        (f"{{lead.first_name:>{MAX_SPEC_NUMBER + 1}}}", f"over {MAX_SPEC_NUMBER}"),
        ("{lead.first_name:.999999999}", f"over {MAX_SPEC_NUMBER}"),
        ("{lead.first_name:xyz}", "is not valid"),
        ("{lead.first_name|n/a:d}", "does not suit"),
    ],
)
def test_bad_format_specs_are_check_errors_not_call_time_crashes(config, lead, text, fragment):
    (problem,) = template_problems(text, config)
    assert fragment in problem
    render(text, lead=lead, config=config)  # never raises, never allocates a huge string


def test_format_specs_that_suit_the_value(config, lead):
    text = "[{lead.first_name:>5}] [{campaign.seats:03d}] [{campaign.seats:.1f}]"
    assert template_problems(text, config) == []
    assert render(text, lead=lead, config=config) == "[  Ada] [012] [12.0]"


def test_conversion_is_a_check_error(config, lead):
    (problem,) = template_problems("{lead.first_name!r}", config)
    assert problem.startswith("conversion !r in {lead.first_name} is not allowed")
    assert render("{lead.first_name!r}", lead=lead, config=config) == "Ada"


# -- fallbacks for missing fields (item 15) ----------------------------------------------------


def test_fallback_for_unknown_callers(config):
    text = "Hi {lead.first_name|there}, {agent.name} at {lead.company|your company} here."
    assert template_problems(text, config) == []
    assert render(text, lead=None, config=config) == "Hi there, ava at your company here."
    stranger = Lead.unknown("+14155550123")
    assert render(text, lead=stranger, config=config) == "Hi there, ava at your company here."


def test_fallback_not_used_when_the_value_is_present(config, lead):
    assert render("{lead.first_name|there}|{lead.extra[plan]|basic}", lead=lead, config=config) == (
        "Ada|pro"
    )
    assert render("{lead.extra[seats]|one}", lead=lead, config=config) == "one"


def test_fallback_with_a_format_spec(config):
    assert template_problems("[{lead.first_name|you:>5}]", config) == []
    assert render("[{lead.first_name|you:>5}]", lead=None, config=config) == "[  you]"


def test_fallback_cannot_hold_brackets(config):
    (problem,) = template_problems("{lead.extra[a|b]}", config)
    assert problem.startswith("malformed placeholder {lead.extra[a|b]}")


# -- the check covers every rendered text; check passes -> render never raises ---------------


def test_voicemail_message_and_every_greeting_language_are_checked(voicekit):
    text = MINIMAL_CONFIG.replace(
        'greeting = "Hello {lead.first_name}!"',
        'greeting = {en = "Hi {lead.first_name:d}", es = "Hola {lead.nombre}"}\n'
        'voicemail_message = "Call {lead.extra[x].__class__} back"',
    )
    path = voicekit.write(text)
    from voicekit_core import ConfigError

    with pytest.raises(ConfigError) as info:
        voicekit.load(path, environ={})
    assert sorted(p.key for p in info.value.problems) == [
        "agent.greeting.en",
        "agent.greeting.es",
        "agent.voicemail_message",
    ]


def test_secret_values_never_reach_a_prompt(config, lead):
    register_secret(CANARY)
    weird = Lead(first_name=CANARY, phone="+14155550123")
    assert render("{lead.first_name}", lead=weird, config=config) == REDACTED
    assert CANARY not in render(f"literal {CANARY}", lead=lead, config=config)


@pytest.mark.parametrize(
    "text",
    ["{", "}", "{lead.first_name", "{lead.first_name!}", "{:}", "{0[}", "{lead.first_name:{}}"],
)
def test_render_never_raises_even_unchecked(config, lead, text):
    assert template_problems(text, config)
    assert isinstance(render(text, lead=lead, config=config), str)
