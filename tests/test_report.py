"""`voicekit report` and `journal show`: dispositions, conversion, latency, cost."""

from __future__ import annotations

import asyncio
import json

from click.testing import CliRunner

from voicekit_core import load_deployment
from voicekit_core.cli import build_cli
from voicekit_core.simulate import load_script, run_script


def _run(deployment, folder, name):
    script = load_script(folder / "scripts" / f"{name}.yaml")
    return asyncio.run(run_script(deployment, script))


def test_report_summarises_journaled_calls(example_copy):
    deployment = load_deployment(example_copy)
    for name in ("qualified", "not_interested", "wrong_number", "wants_human"):
        _run(deployment, example_copy, name)
    result = CliRunner().invoke(build_cli(), ["report", str(example_copy), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["calls"] == 4
    assert summary["dispositions"] == {
        "meeting_booked": 1,
        "not_interested": 1,
        "wrong_number": 1,
        "message_taken": 1,
    }
    assert (summary["qualified"], summary["conversion"], summary["meetings"]) == (1, 0.25, 1)
    assert 0 < summary["median_latency_seconds"] < 1.0
    assert summary["cost_per_call_usd"] == 0.0

    table = CliRunner().invoke(build_cli(), ["report", str(example_copy)])
    assert "1 (25% of calls)" in table.output


def test_journal_show_prints_usage_latency_and_outcome(example_copy):
    run = _run(load_deployment(example_copy), example_copy, "qualified")
    result = CliRunner().invoke(
        build_cli(), ["journal", "show", run.report.call_id, str(example_copy)]
    )
    assert result.exit_code == 0, result.output
    for text in ("meeting_booked", "latency (median)", "voicekit:call-flow", "qualify_prospect"):
        assert text in result.output
