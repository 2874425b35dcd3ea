"""A whole simulated call with the plugin enabled: a copy of the TDX SDR example with
``enable = ["tdx_sdr_local", "webhook"]``, run by `voicekit simulate`."""

from __future__ import annotations

import asyncio
import json
import shutil

from click.testing import CliRunner
from webhook_support import ROOT, SECRET, documented_verifier

from voicekit_core import load_deployment
from voicekit_core.cli import cli

EXAMPLE = ROOT / "examples" / "tdx_sdr"

VARIANT = """\
extends = "voicekit.toml"

[plugins]
enable = ["tdx_sdr_local", "webhook"]

[plugins.webhook]
file = "calls/{{call_id}}.json"

[[plugins.webhook.targets]]
name = "crm"
url = "{url}"
secret = "${{TDX_WEBHOOK_SECRET}}"
"""


async def test_simulated_call_is_delivered_signed_and_written(tmp_path, http_receiver, monkeypatch):
    copy = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    config = copy / "voicekit.webhook.toml"
    config.write_text(VARIANT.format(url=http_receiver.url_for("/calls")), encoding="utf-8")
    monkeypatch.setenv("TDX_WEBHOOK_SECRET", SECRET)
    report_file = tmp_path / "report.json"

    result = await asyncio.to_thread(
        CliRunner().invoke,
        cli,
        [
            "simulate",
            str(config),
            "--script",
            str(copy / "scripts" / "qualified.yaml"),
            "--offline",
            "--report",
            str(report_file),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "webhook" in result.output and SECRET not in result.output
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert report["disposition"] == "meeting_booked"

    [(request, _)] = http_receiver.server.log
    body = request.get_data()
    assert documented_verifier()(body, request.headers, SECRET)
    assert request.headers["Idempotency-Key"] == report["call_id"]
    sent = json.loads(body)
    assert sent["call_id"] == report["call_id"] and sent["disposition"] == "meeting_booked"
    tools = [t["name"] for t in sent["tool_calls"]]
    assert tools[:3] == ["qualify_prospect", "check_availability", "schedule_meeting"]

    ticket = copy / "calls" / f"{report['call_id']}.json"
    assert json.loads(ticket.read_text(encoding="utf-8")) == sent

    deployment = load_deployment(config)
    [record] = deployment.journal.deliveries(report["call_id"])
    assert record.status == "delivered", record.error
    assert record.result == {
        "file": {"path": f"calls/{report['call_id']}.json", "written": True},
        "targets": {"crm": {"status": 200, "attempts": 1}},
    }
