"""`extends = "voicekit.toml"`: tables merged, lists replaced, the extending file wins, and
errors name the file that wrote the bad value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voicekit_core import ConfigError, load_deployment
from voicekit_core.cli import build_cli
from voicekit_core.config import merge_tables, read_deployment, read_toml
from voicekit_core.harness import MINIMAL_CONFIG

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tdx_sdr"
VARIANTS = ["openai", "hubspot", "salesforce", "teams", "transfer"]


def test_merge_tables_merges_tables_and_replaces_the_rest():
    base = {"a": {"x": 1, "y": {"z": 2}}, "l": [1, 2], "s": "base", "t": {"k": 1}}
    override = {"a": {"y": {"w": 3}}, "l": [3], "t": "now a string"}
    provenance: dict[str, Path] = {}
    merged = merge_tables(base, override, file=Path("v.toml"), provenance=provenance)
    assert merged == {
        "a": {"x": 1, "y": {"z": 2, "w": 3}},
        "l": [3],
        "s": "base",
        "t": "now a string",
    }
    assert base["l"] == [1, 2]  # inputs are left alone
    assert provenance == {"a": Path("v.toml"), "a.y": Path("v.toml"), "a.y.w": Path("v.toml"),
                          "l": Path("v.toml"), "t": Path("v.toml")}  # fmt: skip


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def base(voicekit) -> Path:
    text = MINIMAL_CONFIG + '\n[models]\nllm = ["openai:gpt-4o-mini", "google:gemini-2.5-flash"]\n'
    return voicekit.write(text + '\n[campaign]\nname = "base"\nproduct = "Copilot"\n')


def test_a_variant_states_only_its_differences(base):
    variant = write(
        base.parent,
        "voicekit.es.toml",
        'extends = "voicekit.toml"\n[agent]\nlanguage = "es"\n'
        '[models]\nllm = ["google:gemini-2.5-flash"]\n[campaign]\nname = "variant"\n',
    )
    data, sources, _ = read_deployment(variant)
    assert sources == [variant.resolve(), base.resolve()]
    assert "extends" not in data
    config = load_deployment(variant, environ={}).config
    assert config.agent.language == "es" and config.agent.name == "test-agent"
    assert [str(m) for m in config.models.llm] == ["google:gemini-2.5-flash"]  # replaced
    assert config.campaign.name == "variant"
    assert config.campaign.model_extra["product"] == "Copilot"  # merged
    assert config.path == variant.resolve() and config.leads.path == base.parent / "leads.csv"
    assert config.source_of("campaign.product") == base.resolve()
    assert config.source_of("campaign.name") == variant.resolve()


def test_errors_name_the_file_that_wrote_the_value(base):
    base.write_text(base.read_text() + "\n[journal]\nretry_attempts = 99\n", encoding="utf-8")
    variant = write(
        base.parent, "voicekit.v.toml", 'extends = "voicekit.toml"\n[agent]\nlangauge = "es"\n'
    )
    with pytest.raises(ConfigError) as caught:
        load_deployment(variant, environ={})
    where = {p.key: p.file for p in caught.value.problems}
    assert where["journal.retry_attempts"] == str(base.resolve())
    assert where["agent.langauge"] == str(variant.resolve())


@pytest.mark.parametrize(
    ("extends", "reason"),
    [
        ('"missing.toml"', "no such file"),
        ("3", "must be a file path"),
        ('"voicekit.loop.toml"', "a cycle: voicekit.loop.toml -> voicekit.loop.toml"),
        ('"voicekit.toml"', "a cycle: voicekit.loop.toml -> voicekit.toml -> voicekit.loop.toml"),
    ],
)
def test_bad_extends(base, extends, reason):
    if extends == '"voicekit.toml"':  # the base extends the variant back
        base.write_text('extends = "voicekit.loop.toml"\n' + base.read_text(), encoding="utf-8")
    variant = write(base.parent, "voicekit.loop.toml", f"extends = {extends}\n")
    with pytest.raises(ConfigError, match=reason):
        load_deployment(variant, environ={})


def test_check_prints_the_merged_result_and_the_chain(base):
    variant = write(
        base.parent, "voicekit.es.toml", 'extends = "voicekit.toml"\n[agent]\nlanguage = "es"\n'
    )
    result = CliRunner().invoke(build_cli(), ["check", str(variant)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"ok {variant.resolve()} (extends {base.resolve()})" in result.output
    assert '"language": "es"' in result.output and '"name": "test-agent"' in result.output


@pytest.mark.parametrize("name", VARIANTS)
def test_example_variants_extend_the_base_and_stay_small(name):
    path = EXAMPLE / f"voicekit.{name}.toml"
    data = read_toml(path)
    assert data["extends"] == "voicekit.toml"
    assert "agent" not in data and "flow" not in data and "store" not in data
    lines = [
        line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert len(lines) <= 30, len(lines)
    merged, sources, _ = read_deployment(path)
    assert sources[-1] == (EXAMPLE / "voicekit.toml").resolve()
    assert merged["agent"]["name"] == "tdx-sdr" and merged["flow"]["questions"]
    assert merged["plugins"]["telephony"]["outbound_trunk_id"]  # the base's table is kept
