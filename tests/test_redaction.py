"""Secrets are redacted by value at one choke point (issue 9, item 2).

Classes: what gets registered when a deployment loads; every log record (message, args,
traceback, stack, livekit's JSON formatter); `voicekit check` output whatever shape a
`${VAR}` value takes; validator and CLI error texts.
"""

from __future__ import annotations

import json
import logging
import secrets

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, field_validator

from voicekit_core import ConfigError, hookimpl
from voicekit_core.cli import build_cli
from voicekit_core.errors import VoicekitError
from voicekit_core.redaction import (
    REDACTED,
    install_log_redaction,
    redact,
    redact_data,
    register_secret,
)
from voicekit_core.testing import MINIMAL_CONFIG


def fresh() -> str:
    """A unique secret value (registration is process-wide, so never reuse one)."""
    return f"sk-test-{secrets.token_hex(12)}"


def with_(*tables: str) -> str:
    return MINIMAL_CONFIG + "\n" + "\n".join(tables) + "\n"


# -- register / redact ------------------------------------------------------------------------


def test_redact_replaces_every_registered_value_and_ignores_short_ones():
    secret = fresh()
    register_secret(secret)
    register_secret("true")  # too short to be a credential; would redact ordinary words
    text = f"key={secret}; again {secret}; true"
    assert redact(text) == f"key={REDACTED}; again {REDACTED}; true"
    assert redact_data({"a": [secret, 1], secret: None}) == {"a": [REDACTED, 1], REDACTED: None}


# -- registration when a deployment loads -------------------------------------------------------


@pytest.mark.parametrize(
    "variable",
    [
        "OPENAI_API_KEY",
        "GOOGLE_API_KEY",
        "DEEPGRAM_API_KEY",
        "CARTESIA_API_KEY",
        "LIVEKIT_API_SECRET",
        "HUBSPOT_ACCESS_TOKEN",
        "TWILIO_AUTH_TOKEN",
        "SALESFORCE_CLIENT_SECRET",
    ],
)
def test_known_variables_are_registered_on_load(voicekit, monkeypatch, variable):
    secret = fresh()
    monkeypatch.setenv(variable, secret)
    voicekit.load()
    assert redact(f"x {secret} y") == f"x {REDACTED} y"


def test_interpolated_values_provider_keys_and_inline_tokens_are_registered(voicekit, monkeypatch):
    from voicekit_core.providers import Provider

    interpolated, provider_key, custom_key, inline = fresh(), fresh(), fresh(), fresh()
    monkeypatch.setenv("VK_RED_CAMPAIGN", interpolated)
    monkeypatch.setenv("VK_RED_PROVIDER_KEY", provider_key)
    monkeypatch.setenv("VK_RED_CUSTOM_KEY", custom_key)

    class KeyedProvider:
        @hookimpl
        def register_providers(self, register):
            register(Provider(name="keyed", env_keys=("VK_RED_PROVIDER_KEY",), llm=lambda r, c: 0))

    voicekit.register(KeyedProvider(), name="keyed")
    text = with_(
        "[campaign]\ncompany = '${VK_RED_CAMPAIGN}'",
        f"api_token = '{inline}'",
        "[models]\nllm = {use = 'openai:gpt-4o-mini', api_key_env = 'VK_RED_CUSTOM_KEY'}",
    )
    voicekit.load(voicekit.write(text))
    for secret in (interpolated, provider_key, custom_key, inline):
        assert redact(secret) == REDACTED


def test_phone_numbers_from_the_environment_stay_call_data(voicekit, monkeypatch):
    # a transfer target written as ${FORWARD_PHONE_NUMBER} must reach the report intact
    monkeypatch.setenv("VK_RED_FORWARD", "+14155550177")
    path = voicekit.write(with_("[campaign]\nforward = 'tel:${VK_RED_FORWARD}'"))
    config = voicekit.load(path).config
    assert redact("transfer to tel:+14155550177") == "transfer to tel:+14155550177"
    assert config.redacted()["campaign"]["forward"] == f"{REDACTED} (${{VK_RED_FORWARD}})"


# -- the log record choke point -------------------------------------------------------------------


@pytest.fixture
def secret_logger(caplog):
    install_log_redaction()
    secret = fresh()
    register_secret(secret)
    caplog.set_level(logging.DEBUG, logger="voicekit.test_redaction")
    return secret, logging.getLogger("voicekit.test_redaction")


def test_log_message_and_args_are_redacted(secret_logger, caplog):
    secret, log = secret_logger
    log.info("token is %s", secret)
    log.warning(f"inline {secret}")
    assert secret not in caplog.text
    assert caplog.text.count(REDACTED) == 2


def test_log_tracebacks_and_stacks_are_redacted(secret_logger, caplog):
    secret, log = secret_logger
    try:
        raise RuntimeError(f"upstream said: bad key {secret}")
    except RuntimeError:
        log.exception("call failed")
    log.info("here", stack_info=True)
    record = caplog.records[0]
    formatted = logging.Formatter().format(record)
    assert "RuntimeError: upstream said: bad key " + REDACTED in formatted
    assert secret not in formatted and secret not in caplog.text
    assert record.exc_info is None  # no formatter can reach the original exception text


def test_livekit_json_formatter_sees_only_redacted_text(secret_logger, caplog):
    from livekit.agents.cli.log import JsonFormatter

    secret, log = secret_logger
    try:
        raise ValueError(secret)
    except ValueError:
        log.error("failed with %s", secret, exc_info=True)
    line = JsonFormatter().format(caplog.records[0])
    assert secret not in line
    assert REDACTED in json.loads(line)["exc_info"]


def test_records_without_secrets_keep_their_exception(secret_logger, caplog):
    _, log = secret_logger
    try:
        raise KeyError("harmless")
    except KeyError:
        log.exception("no secret here")
    assert caplog.records[0].exc_info is not None


# -- voicekit check output ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "models",
    [
        "llm = {use = 'openai:gpt-4o-mini', base_url = '${VK_RED_URL}'}",
        "llm = [{use = 'openai:gpt-4o-mini', base_url = '${VK_RED_URL}'}, 'scripted']",
        "realtime = {use = 'openai:gpt-realtime', voice = '${VK_RED_URL}'}",
    ],
)
def test_check_with_a_secret_inside_a_models_table(voicekit, monkeypatch, models):
    secret = f"https://{fresh()}.example.com/v1"
    monkeypatch.setenv("VK_RED_URL", secret)
    path = voicekit.write(with_(f"[models]\n{models}"))
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert secret not in result.output
    assert f"{REDACTED} (${{VK_RED_URL}})" in result.stdout


def test_redacted_config_replaces_short_exact_values(voicekit):
    path = voicekit.write(with_("[campaign]\ncode = '${VK_RED_SHORT}'"))
    config = voicekit.load(path, environ={"VK_RED_SHORT": "x1"}).config
    assert config.redacted()["campaign"]["code"] == f"{REDACTED} (${{VK_RED_SHORT}})"


class Zone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known(cls, value: str) -> str:
        raise ValueError(f"unknown timezone {value!r}")  # echoes its input, as many do


class ZonePlugin:
    @hookimpl
    def register_settings(self, register):
        register(Zone)


def test_validator_reasons_are_redacted_by_value(voicekit, monkeypatch):
    secret = fresh()
    monkeypatch.setenv("VK_RED_ZONE", f"Europe/{secret}")
    voicekit.register(ZonePlugin(), name="zone")
    path = voicekit.write(with_("[plugins.zone]\ntimezone = '${VK_RED_ZONE}'"))
    with pytest.raises(ConfigError) as info:
        voicekit.load(path)
    assert secret not in str(info.value)
    (problem,) = info.value.problems
    assert problem.key == "plugins.zone.timezone"
    assert problem.value == "${VK_RED_ZONE}"


def test_cli_error_text_is_redacted(monkeypatch):
    import click

    secret = fresh()
    register_secret(secret)
    cli = build_cli()

    @click.command("vk-test-leaky")
    def leaky() -> None:
        raise VoicekitError(f"vendor rejected key {secret}")

    cli.add_command(leaky)
    try:
        result = CliRunner().invoke(cli, ["vk-test-leaky"])
    finally:
        cli.commands.pop("vk-test-leaky", None)
    assert result.exit_code == 2
    assert secret not in result.output
    assert REDACTED in result.stderr
    assert "Traceback" not in result.output
