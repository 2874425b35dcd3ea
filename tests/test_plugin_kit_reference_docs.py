"""docs/reference/ is generated from the pydantic models; this fails when it is stale."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from voicekit_core.cli import build_cli
from voicekit_core.docs_gen import render_all, stale

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference"


def test_committed_reference_pages_are_current():
    assert stale(REFERENCE) == [], (
        "docs/reference is stale: run `python -m voicekit_core.docs_gen` "
        "(or `voicekit docs reference`) and commit the result"
    )


def test_every_field_is_documented():
    from voicekit_core.calls import CallReport, DeliveryRecord
    from voicekit_core.leads import Lead
    from voicekit_core.simulate import CallerScript
    from voicekit_core.telephony.metadata import JobMetadata

    pages = render_all()
    objects, scripts = pages["objects.md"], pages["caller-scripts.md"]
    for model in (CallReport, DeliveryRecord, Lead, JobMetadata):
        for name in model.model_fields:
            row = next(line for line in objects.splitlines() if line.startswith(f"| `{name}` |"))
            assert not row.endswith("|  |"), f"{model.__name__}.{name} has no description"
    for name in CallerScript.model_fields:
        assert f"| `{name}` |" in scripts
    for field in ("deployment", "lead", "data", "clock"):  # CallContext, a dataclass
        assert f"| `{field}` |" in objects
    assert "| `duration_seconds` | float | required | `ended_at - started_at` in seconds" in objects


def test_the_command_writes_and_checks(tmp_path):
    runner = CliRunner()
    result = runner.invoke(build_cli(), ["docs", "reference", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 1 and "stale" in result.output
    result = runner.invoke(build_cli(), ["docs", "reference", "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["caller-scripts.md", "objects.md"]
    result = runner.invoke(build_cli(), ["docs", "reference", "--out", str(tmp_path), "--check"])
    assert result.exit_code == 0, result.output
