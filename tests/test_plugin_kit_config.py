"""Plugin settings checks found while writing plugins: a missing table for required
settings names the key (never a masked value), and a secret written literally in the
file is a warning to use ${VAR}."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, SecretStr

from voicekit_core import ConfigError, hookimpl
from voicekit_core.cli import build_cli
from voicekit_core.harness import MINIMAL_CONFIG


class Nested(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: SecretStr | None = None


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_key: SecretStr
    region: str = "eu"
    proxy: Nested = Nested()


class Weather:
    @hookimpl
    def register_settings(self, register):
        register(Settings)


def test_missing_table_names_the_required_secret(voicekit):
    voicekit.register(Weather(), name="weather")
    with pytest.raises(ConfigError) as caught:
        voicekit.load(voicekit.write(MINIMAL_CONFIG), environ={})
    (problem,) = caught.value.problems
    assert problem.key == "plugins.weather.api_key"
    assert problem.value == ""  # nothing was written: no "••••••" pretending otherwise
    assert "••" not in str(caught.value)
    assert problem.reason == (
        "Field required (there is no [plugins.weather] table: add one with "
        'api_key = "${WEATHER_API_KEY}")'
    )


def test_missing_key_in_a_table_shows_no_value(voicekit):
    voicekit.register(Weather(), name="weather")
    with pytest.raises(ConfigError) as caught:
        voicekit.load(voicekit.write(MINIMAL_CONFIG + '\n[plugins.weather]\nregion = "us"\n'))
    assert str(caught.value).endswith("plugins.weather.api_key: Field required")


def test_literal_secret_is_a_warning(voicekit):
    voicekit.register(Weather(), name="weather")
    table = '\n[plugins.weather]\napi_key = "sk-live-1234567"\nproxy = { password = "hunter22" }\n'
    path = voicekit.write(MINIMAL_CONFIG + table)
    deployment = voicekit.load(path, environ={})
    assert (
        deployment.config.plugin_settings("weather").api_key.get_secret_value() == "sk-live-1234567"
    )
    warnings = [w for w in deployment.warnings if "secret written in the file" in w]
    assert warnings == [
        f"{path}: plugins.weather.api_key is a secret written in the file; write "
        'api_key = "${WEATHER_API_KEY}" and set WEATHER_API_KEY in the environment or a .env '
        "file beside it",
        f"{path}: plugins.weather.proxy.password is a secret written in the file; write "
        'password = "${WEATHER_PROXY_PASSWORD}" and set WEATHER_PROXY_PASSWORD in the '
        "environment or a .env file beside it",
    ]
    assert not any("sk-live-1234567" in w for w in deployment.warnings)


LOCAL_PLUGIN = """
from pydantic import BaseModel, SecretStr
from voicekit_core import hookimpl


class Settings(BaseModel):
    token: SecretStr


@hookimpl
def register_settings(register):
    register(Settings)
"""


def test_check_prints_the_literal_secret_warning(voicekit):
    config = (
        MINIMAL_CONFIG
        + '\n[plugins]\nenable = ["crm_local"]\n[plugins.crm_local]\ntoken = "tok-12345678"\n'
    )
    path = voicekit.write(config, files={"crm_local.py": LOCAL_PLUGIN})
    result = CliRunner().invoke(build_cli(), ["check", str(path)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output
    assert (
        'plugins.crm_local.token is a secret written in the file; write token = "${CRM_LOCAL_TOKEN}"'
        in result.output
    )
    assert "tok-12345678" not in result.output


@pytest.mark.parametrize("written", ['"${WEATHER_KEY}"', '"${WEATHER_KEY:-fallback-value}"'])
def test_secret_from_the_environment_is_no_warning(voicekit, written):
    voicekit.register(Weather(), name="weather")
    path = voicekit.write(MINIMAL_CONFIG + f"\n[plugins.weather]\napi_key = {written}\n")
    deployment = voicekit.load(path, environ={"WEATHER_KEY": "from-env-123456"})
    assert not [w for w in deployment.warnings if "secret written" in w]
