"""Malformed files and silently accepted values become clean `voicekit check` errors
(issue 9, items 11 and 12).

Classes: a deployment file or prompt file that is not UTF-8 text; unknown model options
and bad option values; a provider used for a kind it does not offer; an unknown
`leads.default_region`. Each names the file and the dotted key, exits 2, no traceback.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voicekit_core import ConfigError
from voicekit_core.cli import build_cli
from voicekit_core.testing import MINIMAL_CONFIG


def with_(*tables: str) -> str:
    return MINIMAL_CONFIG + "\n" + "\n".join(tables) + "\n"


def problems(voicekit, text: str, **files: str) -> list[tuple[str, str, str]]:
    path = voicekit.write(text, files=files or None)
    with pytest.raises(ConfigError) as info:
        voicekit.load(path, environ={})
    return [(p.key, p.value, p.reason) for p in info.value.problems]


# -- files that are not UTF-8 text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (MINIMAL_CONFIG.encode("utf-16"), "looks like UTF-16"),
        (b"[agent]\nname = 'x'\n\x89PNG\r\n\x1a\n\x00\xff", "byte 0x89 at offset 19 (line 3)"),
    ],
)
def test_non_utf8_deployment_file_is_one_line(voicekit, data, fragment):
    path = voicekit.write()
    path.write_bytes(data)
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert fragment in "".join(result.stderr.split("\n"))
    assert str(path) in "".join(result.stderr.split())


def test_utf8_bom_is_accepted(voicekit):
    path = voicekit.write()
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL_CONFIG.encode())
    assert voicekit.load(path, environ={}).config.agent.name == "test-agent"


def test_binary_instructions_file_names_the_file(voicekit):
    text = MINIMAL_CONFIG.replace(
        'instructions = "You are a test agent talking to {lead.name}."',
        'instructions = "prompt.md"',
    )
    path = voicekit.write(text)
    (path.parent / "prompt.md").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ConfigError) as info:
        voicekit.load(path, environ={})
    (problem,) = info.value.problems
    assert problem.file.endswith("prompt.md")
    assert "UTF-16" in problem.reason or "not UTF-8" in problem.reason


# -- [models]: options and kinds ------------------------------------------------------------------


def test_unknown_model_option_names_the_dotted_key(voicekit):
    text = with_("[models]\nllm = {use = 'openai:gpt-4o-mini', temprature = 0.3}")
    ((key, value, reason),) = problems(voicekit, text)
    assert key == "models.llm.temprature"
    assert value == ""
    assert reason.startswith("unknown option for openai llm models (allowed: ")
    assert "temperature" in reason


def test_option_in_a_list_entry_and_a_bad_value(voicekit):
    text = with_(
        "[models]\nllm = ['scripted', {use = 'google:gemini-2.5-flash', temperature = 9}]",
        "tts = {use = 'cartesia:sonic-3', speeed = 1.0}",
    )
    found = problems(voicekit, text)
    assert [(k, v) for k, v, _ in found] == [
        ("models.llm[1].temperature", "9"),
        ("models.tts.speeed", ""),
    ]
    assert "less than or equal to 2" in found[0][2]


@pytest.mark.parametrize(
    ("models", "key", "reason"),
    [
        ("stt = 'cartesia:sonic-2'", "models.stt", "provider 'cartesia' has no stt models; it offers: tts"),
        ("realtime = 'deepgram:nova-3'", "models.realtime", "provider 'deepgram' has no realtime models; it offers: stt"),
        ("fallback = 'deepgram:nova-3'", "models.fallback", "provider 'deepgram' has no llm models; it offers: stt"),
        ("tts = ['cartesia', 'google']", "models.tts[1]", "provider 'google' has no tts models; it offers: realtime, llm"),
    ],
)  # fmt: skip
def test_provider_used_for_a_kind_it_does_not_offer(voicekit, models, key, reason):
    ((found_key, _, found_reason),) = problems(voicekit, with_(f"[models]\n{models}"))
    assert (found_key, found_reason) == (key, reason)


def test_secret_option_value_is_never_shown(voicekit, monkeypatch):
    secret = "sk-opt-5b0c1e7d9a2f4e68"
    monkeypatch.setenv("VK_HARD_TEMP", secret)
    path = voicekit.write(
        with_("[models]\nllm = {use = 'openai:x', temperature = '${VK_HARD_TEMP}'}")
    )
    with pytest.raises(ConfigError) as info:
        voicekit.load(path)
    assert secret not in str(info.value)
    (problem,) = info.value.problems
    assert (problem.key, problem.value) == ("models.llm.temperature", "${VK_HARD_TEMP}")


def test_valid_options_still_load(voicekit):
    text = with_(
        "[models]\nllm = {use = 'openai:gpt-4o-mini', temperature = 0.3, base_url = 'http://x/v1'}",
        "stt = {use = 'deepgram:nova-3', keyterms = ['TDX']}",
    )
    deployment = voicekit.load(voicekit.write(text), environ={})
    assert deployment.config.models.llm[0].options["temperature"] == 0.3


# -- [leads].default_region --------------------------------------------------------------------------


def test_unknown_default_region_is_a_config_error(voicekit):
    text = MINIMAL_CONFIG.replace('path = "leads.csv"', 'path = "leads.csv"\ndefault_region = "XX"')
    ((key, value, reason),) = problems(voicekit, text)
    assert (key, value) == ("leads.default_region", "'XX'")
    assert reason.startswith("unknown phone region")


def test_default_region_is_case_insensitive(voicekit):
    text = MINIMAL_CONFIG.replace('path = "leads.csv"', 'path = "leads.csv"\ndefault_region = "gb"')
    assert voicekit.load(voicekit.write(text), environ={}).config.leads.default_region == "GB"
