"""Unit tests for voicekit_core.prompts: rendering and the template check."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicekit_core.config import DeploymentConfig, parse_config
from voicekit_core.leads import Lead
from voicekit_core.prompts import render, template_fields, template_problems


@pytest.fixture
def config() -> DeploymentConfig:
    data = {
        "agent": {"name": "ava", "instructions": "inline", "language": "es"},
        "campaign": {"name": "Q4 push", "company": "TDX", "offer": {"discount": "20%"}},
    }
    return parse_config(data, path=Path("/nowhere/voicekit.toml"), environ={})


@pytest.fixture
def lead() -> Lead:
    return Lead(
        first_name="Ada",
        last_name="Lovelace",
        company="Analytical Engines",
        phone="+14155550123",
        extra={"plan": "enterprise"},
    )


# -- render -----------------------------------------------------------------------------


def test_render_lead_campaign_agent(config, lead):
    text = (
        "Hi {lead.first_name} ({lead.name}) at {lead.company}, {lead.phone}. "
        "{agent.name} [{agent.language}] for {campaign.company} / {campaign.name}."
    )
    assert render(text, lead=lead, config=config) == (
        "Hi Ada (Ada Lovelace) at Analytical Engines, +14155550123. ava [es] for TDX / Q4 push."
    )


def test_render_nested_values(config, lead):
    assert render("{lead.extra[plan]}|{lead.extra.plan}", lead=lead, config=config) == (
        "enterprise|enterprise"
    )
    assert render("{campaign.offer.discount}", lead=lead, config=config) == "20%"


def test_missing_lead_values_render_empty(config):
    sparse = Lead(first_name="Ada", phone="+14155550123")
    text = "[{lead.last_name}][{lead.email}][{lead.timezone}][{lead.crm_id}][{lead.company}]"
    assert render(text, lead=sparse, config=config) == "[][][][][]"
    assert render("Hi {lead.name}!", lead=sparse, config=config) == "Hi Ada!"


def test_no_lead_renders_lead_fields_empty(config):
    text = "Hi {lead.first_name}, {agent.name} here."
    assert render(text, lead=None, config=config) == "Hi , ava here."


def test_missing_extra_key_renders_empty(config, lead):
    assert render("<{lead.extra[seats]}>", lead=lead, config=config) == "<>"
    assert render("<{lead.extra.seats}>", lead=lead, config=config) == "<>"


def test_no_lead_with_nested_lead_field_renders_empty(config):
    # template_problems accepts {lead.extra[...]}, so rendering it must not crash when the
    # caller is unknown (lead=None).
    text = "<{lead.extra[plan]}><{lead.extra.plan}>"
    assert render(text, lead=None, config=config) == "<><>"


def test_missing_campaign_key_renders_empty(config, lead):
    assert render("<{campaign.budget}>", lead=lead, config=config) == "<>"


def test_literal_braces(config, lead):
    text = 'JSON: {{"name": "{lead.first_name}"}}'
    assert render(text, lead=lead, config=config) == 'JSON: {"name": "Ada"}'


def test_format_spec(config, lead):
    assert render("[{lead.first_name:>5}]", lead=lead, config=config) == "[  Ada]"
    assert template_problems("[{lead.first_name:>5}]", config) == []


# -- template_fields / template_problems ------------------------------------------------


def test_template_fields():
    assert template_fields("Hi {lead.first_name}, {{x}} {campaign.name}") == [
        "lead.first_name",
        "campaign.name",
    ]
    with pytest.raises(ValueError):
        template_fields("Hi {lead.first_name")


def test_valid_template_has_no_problems(config):
    text = (
        "{lead.first_name} {lead.name} {lead.extra[plan]} {campaign.name} {campaign.company} "
        "{campaign.offer.discount} {agent.name} {agent.language} {{literal}}"
    )
    assert template_problems(text, config) == []


def test_unknown_lead_field(config):
    (problem,) = template_problems("Hi {lead.nickname}", config)
    assert problem.startswith("unknown placeholder {lead.nickname}: lead has ")
    assert "first_name" in problem and "name" in problem


def test_unknown_root(config):
    assert template_problems("{foo.bar}", config) == [
        "unknown placeholder {foo.bar}: use lead.*, campaign.* or agent.*"
    ]


def test_unknown_campaign_and_agent_fields(config):
    assert template_problems("{campaign.budget} {agent.voice}", config) == [
        "unknown placeholder {campaign.budget}: campaign has company, name, offer",
        "unknown placeholder {agent.voice}: agent has language, name",
    ]


@pytest.mark.parametrize("text", ["{}", "{0}", "{name}", "{lead}"])
def test_positional_and_bare_fields_are_problems(config, text):
    problems = template_problems(text, config)
    assert len(problems) == 1
    assert problems[0].startswith("unknown placeholder {")


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("Hi {lead.first_name", "expected '}' before end of string"),
        ("a } b", "Single '}' encountered"),
        ("a { b", "expected '}' before end of string"),
    ],
)
def test_malformed_templates(config, text, detail):
    (problem,) = template_problems(text, config)
    assert problem.startswith("malformed template: ")
    assert detail in problem
    assert "{{ and }}" in problem


@pytest.mark.parametrize("conversion", ["r", "s", "a", "z"])
def test_conversions_are_problems_and_ignored_at_call_time(config, lead, conversion):
    text = f"{{lead.first_name!{conversion}}}"
    assert template_problems(text, config) == [
        f"conversion !{conversion} in {{lead.first_name}} is not allowed: write {{lead.first_name}}"
    ]
    assert render(text, lead=lead, config=config) == "Ada"  # never raises


def test_several_problems_all_reported(config):
    problems = template_problems("{lead.nick} {foo} {agent.name} {campaign.x}", config)
    assert [p.split(":")[0] for p in problems] == [
        "unknown placeholder {lead.nick}",
        "unknown placeholder {foo}",
        "unknown placeholder {campaign.x}",
    ]
