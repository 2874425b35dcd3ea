"""Unit tests for the deployment file (config.py) and load_deployment (deployment.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from voicekit_core import ConfigError, hookimpl, load_deployment
from voicekit_core.cli import build_cli
from voicekit_core.config import REDACTED, ModelRef, find_config, parse_config
from voicekit_core.providers import Provider
from voicekit_core.testing import MINIMAL_CONFIG

SECRET = "sk-live-0123456789abcdef"


def with_(*tables: str) -> str:
    """MINIMAL_CONFIG plus extra TOML tables."""
    return MINIMAL_CONFIG + "\n" + "\n".join(tables) + "\n"


def load_error(voicekit, text: str, *, environ=None, files=None) -> ConfigError:
    path = voicekit.write(text, files=files)
    with pytest.raises(ConfigError) as info:
        voicekit.load(path, environ={} if environ is None else environ)
    return info.value


def keys(error: ConfigError) -> list[str]:
    return [problem.key for problem in error.problems]


def parse(data: dict) -> object:
    base = {"agent": {"name": "a", "instructions": "hi"}}
    return parse_config({**base, **data}, path=Path("/x/voicekit.toml"), environ={})


class MySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    api_token: SecretStr
    region: str = "us"
    ports: list[int] = []
    a: str = ""
    b: str = ""

    @model_validator(mode="after")
    def _a_or_b(self):
        if self.a and self.b:
            raise ValueError("set a or b, not both")
        return self


class MyPlugin:
    @hookimpl
    def register_settings(self, register):
        register(MySettings)


class NoSettingsPlugin:
    @hookimpl
    def register_providers(self, register):
        register(Provider(name="fakeprov", env_keys=("FAKEPROV_KEY",), llm=lambda ref, call: None))


# -- the minimal deployment -----------------------------------------------------------


def test_minimal_deployment_loads(voicekit):
    deployment = voicekit.load(environ={})
    config = deployment.config
    assert config.agent.name == "test-agent"
    assert config.path == voicekit.tmp_path / "deployment" / "voicekit.toml"
    assert config.leads.path == config.base_dir / "leads.csv"  # made absolute
    assert config.journal.path == config.base_dir / ".voicekit" / "journal.sqlite3"
    assert config.models.fallback == ModelRef(provider="scripted")
    assert deployment.leads is not None and len(deployment.leads.leads) == 1


def test_find_config_accepts_folder_and_reports_missing(voicekit, tmp_path):
    path = voicekit.write()
    assert find_config(path.parent) == path.resolve()
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path / "nowhere")
    assert str(info.value) == f"{tmp_path / 'nowhere'}: no such deployment file"
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError) as info:
        find_config(tmp_path / "empty")
    assert str(info.value) == f"{tmp_path / 'empty' / 'voicekit.toml'}: no such deployment file"


# -- TOML and keys ----------------------------------------------------------------------


def test_malformed_toml_names_file_and_line(voicekit):
    error = load_error(voicekit, '[agent]\nname = "x"\ninstructions = "hi"\nbad = = 3\n')
    (problem,) = error.problems
    assert problem.file == str(voicekit.tmp_path / "deployment" / "voicekit.toml")
    assert problem.reason.startswith("malformed TOML: ")
    assert "line 4" in problem.reason
    assert str(error).startswith(problem.file)


def test_unknown_keys_are_dotted(voicekit):
    text = MINIMAL_CONFIG.replace('name = "test-agent"', 'nmae = "test-agent"')
    error = load_error(voicekit, text + "\n[models.turn]\nfoo = 1\n")
    assert "agent.nmae" in keys(error)
    assert "models.turn.foo" in keys(error)
    assert "agent.name" in keys(error)  # and the real key is now missing
    by_key = {p.key: p for p in error.problems}
    assert by_key["agent.nmae"].reason == "unknown key"
    assert by_key["models.turn.foo"].reason == "unknown key"
    assert by_key["agent.name"].reason == "Field required"
    assert "agent.nmae = 'test-agent': unknown key" in str(error)


def test_unknown_top_level_table(voicekit):
    error = load_error(voicekit, with_("[telephony]\ntrunk = 'x'"))
    assert keys(error) == ["telephony"]


def test_bad_values_report_key_and_reason(voicekit):
    error = load_error(
        voicekit, with_("[models.turn]\nvad = 'webrtc'", "[journal]\nretry_attempts = 0")
    )
    assert keys(error) == ["models.turn.vad", "journal.retry_attempts"]
    assert "'silero' or 'none'" in error.problems[0].reason


def test_all_problems_reported_at_once(voicekit):
    error = load_error(
        voicekit,
        with_("[campaign]\nname = '${VK_UNSET_A}'", "[journal]\nretry_attempts = 99"),
    )
    assert sorted(keys(error)) == ["campaign.name", "journal.retry_attempts"]


# -- environment variables ------------------------------------------------------------------


def test_missing_variable_names_variable_and_key_not_values(voicekit):
    environ = {"VK_OTHER": SECRET}
    text = with_("[campaign]\nname = 'Q4'\ncompany = '${VK_MISSING}'\nrep = '${VK_OTHER}'")
    error = load_error(voicekit, text, environ=environ)
    (problem,) = error.problems
    assert problem.key == "campaign.company"
    assert problem.value == "${VK_MISSING}"
    assert problem.reason == "environment variable VK_MISSING is not set"
    assert SECRET not in str(error)


def test_secret_never_in_error_when_its_field_is_invalid(voicekit):
    error = load_error(
        voicekit,
        with_("[journal]\nretry_attempts = '${VK_RETRIES}'"),
        environ={"VK_RETRIES": SECRET},
    )
    (problem,) = error.problems
    assert problem.key == "journal.retry_attempts"
    assert problem.value == "${VK_RETRIES}"
    assert SECRET not in str(error)
    assert "${VK_RETRIES}" in str(error)


def test_secret_inside_a_longer_string(voicekit):
    deployment = voicekit.load(
        voicekit.write(with_("[campaign]\nwebhook = 'https://bot:${VK_PW}@hooks.example.com/x'")),
        environ={"VK_PW": SECRET},
    )
    config = deployment.config
    assert config.campaign.model_extra["webhook"] == f"https://bot:{SECRET}@hooks.example.com/x"
    assert config.secret_refs == {"campaign.webhook": "${VK_PW}"}
    redacted = config.redacted()
    assert redacted["campaign"]["webhook"] == f"{REDACTED} (${{VK_PW}})"
    assert SECRET not in json.dumps(redacted)


def test_default_value_used_when_unset_and_env_wins_when_set(voicekit):
    text = with_("[campaign]\nname = '${VK_CAMPAIGN:-Q4 push}'\ncompany = '${VK_CO:-}'")
    config = voicekit.load(voicekit.write(text), environ={}).config
    assert config.campaign.name == "Q4 push"
    assert config.campaign.model_extra["company"] == ""
    assert config.secret_refs == {}  # defaults are not secrets
    config = voicekit.load(voicekit.write(text), environ={"VK_CAMPAIGN": "Winter"}).config
    assert config.campaign.name == "Winter"
    assert config.secret_refs == {"campaign.name": "${VK_CAMPAIGN:-Q4 push}"}


def test_empty_variable_takes_the_default_as_in_the_shell(voicekit):
    text = with_("[campaign]\nname = '${VK_CAMPAIGN:-Q4 push}'\ncompany = '${VK_CO}'")
    config = voicekit.load(voicekit.write(text), environ={"VK_CAMPAIGN": "", "VK_CO": ""}).config
    assert config.campaign.name == "Q4 push"  # set but empty: the default
    assert config.campaign.model_extra["company"] == ""  # no default: the empty value


def test_secretish_keys_redacted_even_when_inline(voicekit):
    text = with_("[campaign]\nname = 'Q4'\napi_token = 'inline-value'")
    redacted = voicekit.load(voicekit.write(text), environ={}).config.redacted()
    assert redacted["campaign"] == {"name": "Q4", "api_token": REDACTED}


def test_dotenv_beside_the_file_is_read_and_existing_env_wins(voicekit, monkeypatch):
    # Mark both variables for restoration by monkeypatch, whatever load_dotenv does.
    monkeypatch.setenv("VK_TEST_DOTENV_ONLY", "placeholder")
    monkeypatch.delenv("VK_TEST_DOTENV_ONLY")
    monkeypatch.setenv("VK_TEST_BOTH", "from-process")
    text = with_("[campaign]\nname = '${VK_TEST_DOTENV_ONLY}'\ncompany = '${VK_TEST_BOTH}'")
    path = voicekit.write(
        text, files={".env": "VK_TEST_DOTENV_ONLY=from-dotenv\nVK_TEST_BOTH=from-dotenv\n"}
    )
    config = voicekit.load(path).config  # environ=None: process env + .env
    assert config.campaign.name == "from-dotenv"
    assert config.campaign.model_extra["company"] == "from-process"


def test_dotenv_ignored_when_environ_is_given(voicekit, monkeypatch):
    monkeypatch.setenv("VK_TEST_DOTENV_ONLY", "placeholder")
    monkeypatch.delenv("VK_TEST_DOTENV_ONLY")
    path = voicekit.write(
        with_("[campaign]\nname = '${VK_TEST_DOTENV_ONLY}'"),
        files={".env": "VK_TEST_DOTENV_ONLY=from-dotenv\n"},
    )
    with pytest.raises(ConfigError, match="VK_TEST_DOTENV_ONLY is not set"):
        voicekit.load(path, environ={})


# -- plugin tables ----------------------------------------------------------------------


def test_table_for_plugin_not_enabled(voicekit):
    error = load_error(voicekit, with_("[plugins.hubspot]\naccess_token = 'x'"))
    (problem,) = error.problems
    assert (problem.key, problem.reason) == (
        "plugins.hubspot",
        "table for a plugin that is not enabled",
    )


def test_table_for_plugin_without_settings(voicekit):
    voicekit.register(NoSettingsPlugin(), name="nosettings")
    error = load_error(voicekit, with_("[plugins.nosettings]\nx = 1"))
    assert [(p.key, p.reason) for p in error.problems] == [
        ("plugins.nosettings", "plugin 'nosettings' takes no settings")
    ]


def test_plugin_settings_validated_and_secret_redacted(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    path = voicekit.write(with_("[plugins.myplug]\napi_token = '${VK_TOK}'\nregion = 'eu'"))
    config = voicekit.load(path, environ={"VK_TOK": SECRET}).config
    settings = config.plugin_settings("myplug")
    assert isinstance(settings, MySettings)
    assert settings.api_token.get_secret_value() == SECRET
    assert settings.region == "eu"
    plugins = config.redacted()["plugins"]
    assert plugins["myplug"]["api_token"] == f"{REDACTED} (${{VK_TOK}})"
    assert plugins["myplug"]["region"] == "eu"
    assert SECRET not in json.dumps(config.redacted())
    with pytest.raises(KeyError):
        config.plugin_settings("hubspot")


def test_plugin_table_unknown_key(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    error = load_error(
        voicekit,
        with_("[plugins.myplug]\napi_token = '${VK_TOK}'\nregoin = 'eu'"),
        environ={"VK_TOK": SECRET},
    )
    assert [(p.key, p.reason) for p in error.problems] == [("plugins.myplug.regoin", "unknown key")]


def test_plugin_table_bad_value_hides_env_secret(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    error = load_error(
        voicekit,
        with_("[plugins.myplug]\napi_token = 'x'\nregion = '${VK_REGION}'\nports = 'nope'"),
        environ={"VK_REGION": SECRET},
    )
    assert keys(error) == ["plugins.myplug.ports"]
    error = load_error(voicekit, with_("[plugins.myplug]\nregion = 5"))
    assert sorted(keys(error)) == ["plugins.myplug.api_token", "plugins.myplug.region"]


def test_plugin_required_setting_without_table(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    error = load_error(voicekit, MINIMAL_CONFIG)
    (problem,) = error.problems
    assert problem.key == "plugins.myplug.api_token"
    assert problem.reason.startswith("Field required (there is no [plugins.myplug] table")


def test_plugin_table_must_be_a_table(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    error = load_error(
        voicekit, MINIMAL_CONFIG.replace("[leads]", "[plugins]\nmyplug = 3\n\n[leads]")
    )
    assert [(p.key, p.reason) for p in error.problems] == [("plugins.myplug", "must be a table")]


def test_unknown_plugin_in_enable(voicekit):
    error = load_error(voicekit, with_("[plugins]\nenable = ['no_such_plugin_xyz']"))
    (problem,) = error.problems
    assert problem.key == "plugins.enable"
    assert "unknown plugin 'no_such_plugin_xyz'" in problem.reason


# -- secrets in messages: known leaks (config.py / deployment.py) ------------------------


def test_secret_in_list_item_hidden(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    error = load_error(
        voicekit,
        with_("[plugins.myplug]\napi_token = 'x'\nports = ['${VK_PORT}']"),
        environ={"VK_PORT": SECRET},
    )
    assert keys(error)  # the list item is invalid
    assert SECRET not in str(error)


def test_secret_hidden_when_error_is_on_the_enclosing_table(voicekit):
    voicekit.register(MyPlugin(), name="myplug")
    error = load_error(
        voicekit,
        with_("[plugins.myplug]\napi_token = 'x'\na = '${VK_A}'\nb = 'y'"),
        environ={"VK_A": SECRET},
    )
    assert "set a or b, not both" in str(error)
    assert SECRET not in str(error)


def test_secret_hidden_in_localized_union_error(voicekit):
    text = MINIMAL_CONFIG.replace(
        'greeting = "Hello {lead.first_name}!"', "greeting = {en = '${VK_G}', es = 5}"
    )
    error = load_error(voicekit, text, environ={"VK_G": SECRET})
    assert SECRET not in str(error)


def test_secret_hidden_in_unknown_provider_error(voicekit):
    error = load_error(voicekit, with_("[models]\nllm = '${VK_LLM}'"), environ={"VK_LLM": SECRET})
    assert keys(error) == ["models.llm"]
    assert SECRET not in str(error)


# -- templates and files -------------------------------------------------------------------


def test_placeholder_error_in_greeting(voicekit):
    text = MINIMAL_CONFIG.replace("{lead.first_name}", "{lead.nickname}")
    error = load_error(voicekit, text)
    (problem,) = error.problems
    assert problem.key == "agent.greeting"
    assert problem.reason.startswith("unknown placeholder {lead.nickname}: lead has ")


def test_placeholder_error_in_localized_greeting(voicekit):
    text = MINIMAL_CONFIG.replace(
        'greeting = "Hello {lead.first_name}!"',
        'language = "es"\ngreeting = {en = "Hi {lead.first_name}", es = "Hola {foo.bar}"}',
    )
    error = load_error(voicekit, text)
    # every language is checked (not only the agent's), each under its own key
    assert [(p.key, p.reason) for p in error.problems] == [
        ("agent.greeting.es", "unknown placeholder {foo.bar}: use lead.*, campaign.* or agent.*")
    ]


def test_malformed_inline_instructions(voicekit):
    text = MINIMAL_CONFIG.replace("{lead.name}.", "{lead.name")
    error = load_error(voicekit, text)
    (problem,) = error.problems
    assert problem.key == "agent.instructions"
    assert problem.reason.startswith("malformed template: ")


def test_placeholder_error_in_instructions_file(voicekit):
    text = MINIMAL_CONFIG.replace(
        '"You are a test agent talking to {lead.name}."', '"prompts/{language}.md"'
    )
    error = load_error(voicekit, text, files={"prompts/en.md": "Talk to {lead.nick}.\n"})
    (problem,) = error.problems
    assert problem.key == "agent.instructions"
    assert problem.value == str(voicekit.tmp_path / "deployment" / "prompts" / "en.md")
    assert problem.reason.startswith("unknown placeholder {lead.nick}")


def test_instructions_file_with_campaign_fields_loads(voicekit):
    text = (
        MINIMAL_CONFIG.replace('"You are a test agent talking to {lead.name}."', '"prompt.md"')
        + "\n[campaign]\ncompany = 'TDX'\n"
    )
    path = voicekit.write(text, files={"prompt.md": "You sell for {campaign.company}."})
    config = voicekit.load(path, environ={}).config
    assert config.instructions_text() == "You sell for {campaign.company}."


def test_missing_instructions_file(voicekit):
    text = MINIMAL_CONFIG.replace('"You are a test agent talking to {lead.name}."', '"prompt.md"')
    error = load_error(voicekit, text)
    (problem,) = error.problems
    assert problem.key == "agent.instructions"
    assert problem.reason == f"no such file: {voicekit.tmp_path / 'deployment' / 'prompt.md'}"


def test_missing_leads_file(voicekit):
    error = load_error(voicekit, MINIMAL_CONFIG.replace("leads.csv", "nope.csv"))
    (problem,) = error.problems
    assert problem.key == "leads.path"
    assert problem.value == str(voicekit.tmp_path / "deployment" / "nope.csv")
    assert problem.reason == "no such file"


def test_leads_path_required_for_csv_source(voicekit):
    error = load_error(voicekit, MINIMAL_CONFIG.replace('path = "leads.csv"', ""))
    assert [(p.key, p.reason) for p in error.problems] == [
        ("leads.path", "required when leads.source = 'csv'")
    ]


def test_leads_source_none(voicekit):
    text = MINIMAL_CONFIG.replace('path = "leads.csv"', 'source = "none"')
    assert voicekit.load(voicekit.write(text), environ={}).leads is None


# -- models ------------------------------------------------------------------------------


def test_unknown_provider(voicekit):
    error = load_error(voicekit, with_("[models]\nllm = 'nope:model'"))
    (problem,) = error.problems
    assert (problem.key, problem.value) == ("models.llm", "nope:model")
    assert problem.reason.startswith("unknown provider; known: ")
    assert "scripted" in problem.reason


def test_unknown_provider_in_a_chain_and_fallback(voicekit):
    error = load_error(voicekit, with_("[models]\nllm = ['scripted', 'nope:x']\nfallback = 'gone'"))
    assert [(p.key, p.value) for p in error.problems] == [
        ("models.llm[1]", "nope:x"),  # the list entry, as written
        ("models.fallback", "gone"),
    ]


def test_provider_missing_key_is_a_warning_not_an_error(voicekit):
    voicekit.register(NoSettingsPlugin(), name="nosettings")
    path = voicekit.write(with_("[models]\nllm = 'fakeprov:big'"))
    deployment = voicekit.load(path, environ={})
    assert deployment.warnings == [
        "models.llm = fakeprov:big: FAKEPROV_KEY not set; "
        "the call falls back to the next model choice"
    ]
    assert voicekit.load(path, environ={"FAKEPROV_KEY": "k"}).warnings == []


def test_model_ref_from_string():
    ref = ModelRef.model_validate("openai:gpt-4o-mini")
    assert (ref.provider, ref.model, ref.options) == ("openai", "gpt-4o-mini", {})
    assert str(ref) == "openai:gpt-4o-mini"
    bare = ModelRef.model_validate(" scripted ")
    assert (bare.provider, bare.model, str(bare)) == ("scripted", "", "scripted")
    # only the first colon splits: model names may contain colons
    assert ModelRef.model_validate("ollama:llama3:8b").model == "llama3:8b"


def test_model_ref_from_table():
    ref = ModelRef.model_validate({"use": "openai:gpt-4o-mini-tts", "voice": "x", "speed": 1.2})
    assert (ref.provider, ref.model) == ("openai", "gpt-4o-mini-tts")
    assert ref.options == {"voice": "x", "speed": 1.2}


def test_models_lists_are_fallback_chains():
    config = parse(
        {
            "models": {
                "llm": ["openai:gpt-4o-mini", {"use": "google:gemini-2.0-flash", "temperature": 0}],
                "tts": {"use": "cartesia:sonic-2", "voice": "x"},
                "stt": "deepgram:nova-3",
            }
        }
    )
    models = config.models
    assert [str(r) for r in models.llm] == ["openai:gpt-4o-mini", "google:gemini-2.0-flash"]
    assert models.llm[1].options == {"temperature": 0}
    assert [str(r) for r in models.tts] == ["cartesia:sonic-2"]
    assert models.tts[0].options == {"voice": "x"}
    assert [str(r) for r in models.stt] == ["deepgram:nova-3"]
    assert models.realtime is None
    assert str(models.fallback) == "scripted"


def test_model_table_without_use_is_an_error():
    with pytest.raises(ConfigError) as info:
        parse({"models": {"llm": {"voice": "x"}}})
    assert set(keys(info.value)) == {"models.llm[0].provider", "models.llm[0].voice"}


def test_localized_text_falls_back_to_english():
    config = parse({})
    config.agent.language = "fr"
    assert config.localized({"en": "Hello", "es": "Hola"}) == "Hello"
    config.agent.language = "es"
    assert config.localized({"en": "Hello", "es": "Hola"}) == "Hola"
    assert config.localized("plain") == "plain"
    assert config.localized({}) == ""


# -- voicekit check ---------------------------------------------------------------------


def test_check_exits_2_with_the_problems(voicekit):
    path = voicekit.write(MINIMAL_CONFIG.replace('name = "test-agent"', 'nmae = "test-agent"'))
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 2
    text = "".join(result.stderr.split())  # rich may wrap long lines
    assert "error:ConfigError" in text
    assert "agent.nmae='test-agent':unknownkey" in text
    assert "agent.name:Fieldrequired" in text
    assert "ok" not in result.stdout


def test_check_hides_env_secret_on_error(voicekit, monkeypatch):
    monkeypatch.setenv("VK_TEST_RETRIES", SECRET)
    path = voicekit.write(with_("[journal]\nretry_attempts = '${VK_TEST_RETRIES}'"))
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 2
    assert SECRET not in result.output
    assert "${VK_TEST_RETRIES}" in result.output


def test_check_success_prints_redacted_config(voicekit, monkeypatch):
    monkeypatch.setenv("VK_TEST_CO", SECRET)
    path = voicekit.write(with_("[campaign]\nname = 'Q4'\ncompany = '${VK_TEST_CO}'"))
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert f"{REDACTED} (${{VK_TEST_CO}})" in result.stdout
    assert result.stdout.startswith("ok ")
    body = result.stdout[result.stdout.index("{") : result.stdout.rindex("}") + 1]
    data = json.loads(body)
    assert data["campaign"] == {"name": "Q4", "company": f"{REDACTED} (${{VK_TEST_CO}})"}
    assert data["agent"]["name"] == "test-agent"
    assert "1 leads in" in result.stdout


def test_check_exits_2_on_bad_lead_rows(voicekit):
    path = voicekit.write(
        files={"leads.csv": "prospect_name,phone,timezone\nAda,+14155550123,Mars/Base\n"}
    )
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 2
    text = "".join(result.stderr.split())
    assert "LeadFileError" in text
    assert "row2:timezone'Mars/Base'" in text


def test_load_deployment_direct_call(voicekit):
    path = voicekit.write()
    deployment = load_deployment(path.parent, environ={})
    assert deployment.config.path == path.resolve()
    assert "scripted" in deployment.providers


def test_check_problem_lines_are_not_wrapped(voicekit):
    path = voicekit.write(
        MINIMAL_CONFIG.replace('name = "test-agent"', 'nmae = "test-agent"'), folder="d" * 150
    )
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 2
    assert f"  {path}: agent.nmae = 'test-agent': unknown key" in result.stderr.splitlines()
