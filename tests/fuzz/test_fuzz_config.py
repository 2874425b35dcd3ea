"""Property tests over deployment files and prompt templates (issue 9).

Random templates and random TOML values give either a clean ConfigError (the file named,
one line per problem, no traceback, no secret) or a deployment whose templates render
without raising and never contain a canary secret that is set in the environment.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicekit_core import ConfigError
from voicekit_core.cli import build_cli
from voicekit_core.leads import Lead
from voicekit_core.prompts import render, template_problems
from voicekit_core.testing import MINIMAL_CONFIG, Harness

CANARY = "canary-fuzz-7c2e9b40d1a34f86"
CANARY_ENV = "VK_FUZZ_CANARY"
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(autouse=True)
def canary(monkeypatch):
    monkeypatch.setenv(CANARY_ENV, CANARY)
    monkeypatch.setenv("OPENAI_API_KEY", CANARY + "-openai")


# -- templates ---------------------------------------------------------------------------------

FIELDS = [
    "lead.first_name", "lead.name", "lead.phone", "lead.email", "lead.extra[plan]",
    "lead.extra[x].__class__.__init__.__globals__", "lead.__class__", "lead.extra",
    "lead.first_name.__class__", "campaign.name", "campaign.secret", "campaign.seats",
    "campaign.offer", "campaign.offer.discount", "agent.name", "agent.language", "foo",
    "", "0", "lead", "lead.extra[plan][0]", "campaign.offer[discount]",
]  # fmt: skip
SUFFIXES = ["", "|there", "|", "|a b", "!r", "!s", ":>8", ":d", ":.2f", ":{lead.name}", ":x"]
LITERALS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)


@st.composite
def templates(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["literal", "field", "brace"]))
        if kind == "literal":
            parts.append(draw(LITERALS))
        elif kind == "brace":
            parts.append(draw(st.sampled_from(["{", "}", "{{", "}}", "[/]"])))
        else:
            field = draw(st.sampled_from(FIELDS)) + draw(st.sampled_from(SUFFIXES))
            parts.append("{" + field + "}")
    return "".join(parts)


def template_config(harness: Harness):
    text = MINIMAL_CONFIG + (
        "\n[campaign]\nname = 'Q4'\nseats = 12\nsecret = '${VK_FUZZ_CANARY}'\n"
        "[campaign.offer]\ndiscount = '20%'\n"
    )
    return harness.load(harness.write(text)).config


LEADS = [
    None,
    Lead.unknown("+14155550123"),
    Lead(first_name="Ada", phone="+14155550123", extra={"plan": "pro"}),
    Lead(first_name=CANARY, phone="+14155550123"),  # a secret that landed in lead data
]


@FUZZ
@given(text=templates())
def test_templates_render_without_raising_or_leaking(text):
    with tempfile.TemporaryDirectory() as folder:
        config = template_config(Harness(Path(folder)))
    problems = template_problems(text, config)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    for lead in LEADS:
        rendered = render(text, lead=lead, config=config)  # must never raise
        assert CANARY not in rendered


# -- TOML values ----------------------------------------------------------------------------------

KEYS = [
    ("agent", "name"), ("agent", "greeting"), ("agent", "voicemail_message"),
    ("agent", "max_tool_steps"), ("agent", "language"), ("agent", "nmae"),
    ("campaign", "name"), ("campaign", "product"), ("models", "llm"), ("models", "stt"),
    ("models", "tts"), ("models", "realtime"), ("models", "fallback"),
    ("models", "noise_cancellation"), ("leads", "default_region"), ("leads", "source"),
    ("journal", "retry_attempts"), ("plugins", "enable"), ("flow", "questions"),
    ("plugins.telephony", "ring_timeout_seconds"), ("bogus", "key"),
]  # fmt: skip
SCALARS = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=20),
    st.sampled_from(
        [
            "${VK_FUZZ_CANARY}",
            "x ${VK_FUZZ_CANARY} y",
            "${VK_FUZZ_UNSET}",
            "openai:gpt-4o-mini",
            "cartesia:sonic-2",
            "deepgram:nova-3",
            "XX",
            "Hi {lead.first_name|there}",
            "{lead.extra[x].__class__}",
            "{lead.first_name:d}",
            "[/] [bold]x",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["use", "temperature", "temprature", "base_url", "voice", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)


def toml_value(value) -> str:
    """``value`` as a TOML inline value (strings as JSON strings, a subset of TOML's)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def toml_document(assignments: dict[tuple[str, str], object]) -> str:
    tables: dict[str, dict[str, object]] = {
        "agent": {"name": "test-agent", "instructions": "Talk to {lead.name|someone}."},
        "leads": {"path": "leads.csv"},
    }
    for (table, key), value in assignments.items():
        tables.setdefault(table, {})[key] = value
    return "\n".join(
        f"[{table}]\n" + "\n".join(f"{k} = {toml_value(v)}" for k, v in body.items())
        for table, body in tables.items()
    )


def assert_clean(error: ConfigError, path: Path) -> None:
    text = str(error)
    assert CANARY not in text
    assert error.problems
    for problem in error.problems:
        assert problem.file, problem
        assert "\n" not in str(problem)
        assert "Traceback" not in str(problem)


@FUZZ
@given(assignments=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=4))
def test_random_toml_loads_cleanly_or_fails_cleanly(assignments):
    with tempfile.TemporaryDirectory() as folder:
        harness = Harness(Path(folder))
        path = harness.write(toml_document(assignments))
        try:
            deployment = harness.load(path)
        except ConfigError as error:
            assert_clean(error, path)
            return
        config = deployment.config
        assert CANARY not in json.dumps(config.redacted())
        texts = [
            config.localized(config.agent.greeting),
            config.localized(config.agent.voicemail_message),
            config.instructions_text(),
        ]
        for text in texts:
            for lead in LEADS:
                assert CANARY not in render(text, lead=lead, config=config)


@settings(FUZZ, max_examples=40)
@given(
    assignments=st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=3),
    noise=st.binary(max_size=8),
    at=st.integers(0, 400),
)
def test_check_command_never_tracebacks(assignments, noise, at):
    with tempfile.TemporaryDirectory() as folder:
        harness = Harness(Path(folder))
        path = harness.write(toml_document(assignments))
        data = path.read_bytes()
        path.write_bytes(data[:at] + noise + data[at:])  # random bytes: encodings, syntax
        result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code in (0, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    assert CANARY not in result.output
