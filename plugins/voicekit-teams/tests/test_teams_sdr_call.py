"""The TDX SDR example with voicekit-teams enabled: a simulated call books through Graph."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from teams_fake_graph import ORGANIZER, SECRET_ENV, lower_keys, teams_table

import voicekit_core
from voicekit_core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tdx_sdr"
# GUIDs, as Entra ids are: ids from the environment are registered as secrets for the
# whole process, so a plain word ("tenant") would be redacted from later tests' text
TENANT_ID = "0c5e7f7e-3d6a-4c39-9a55-7b1f0e2f4a11"
CLIENT_ID = "5a0e2d44-9b1c-4f0e-8d3e-2c6b9f1a7e20"
ENV = {**SECRET_ENV, "TEAMS_TENANT_ID": TENANT_ID, "TEAMS_CLIENT_ID": CLIENT_ID}


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    target = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    return target


async def test_qualified_sdr_call_books_a_teams_meeting(example_copy, fake_graph):
    from voicekit_core.simulate import load_script, run_script

    config = (example_copy / "voicekit.toml").read_text(encoding="utf-8")
    config = config.replace('enable = ["tdx_sdr_local"]', 'enable = ["tdx_sdr_local", "teams"]')
    config += "\n" + teams_table(fake_graph.base_url, fixed_now="2026-03-06T14:00:00Z")
    (example_copy / "voicekit.toml").write_text(config, encoding="utf-8")
    deployment = voicekit_core.load_deployment(example_copy, environ=ENV)

    script = load_script(example_copy / "scripts" / "qualified.yaml")
    run = await run_script(deployment, script)
    report = run.report

    assert script.unmet(report) == []
    assert report.disposition.value == "meeting_booked"
    assert report.data["tools"]["schedule_meeting"] == "teams"  # precedence over the fallback
    meeting = report.data["meeting"]
    assert meeting["join_url"].startswith("https://teams.microsoft.com/l/meetup-join/")
    assert meeting["event_id"] in fake_graph.events
    assert meeting["label"] == "Friday, March 6 at 8:00 AM PST"  # Dana is in Los Angeles
    body = lower_keys(fake_graph.calls("createEvent")[0].json)
    assert body["attendees"][0]["emailaddress"]["address"] == "dana.whitfield@brightline.example"
    assert "Qualification: qualified" in body["body"]["content"]
    assert "$60,000" in body["body"]["content"]
    assert not (example_copy / ".voicekit" / "local_calendar.sqlite3").exists()
    spoken = report.transcript_text()
    assert "8:00 AM PST" in spoken and ORGANIZER not in spoken


def test_example_teams_config_validates(example_copy):
    deployment = voicekit_core.load_deployment(example_copy / "voicekit.teams.toml", environ=ENV)
    settings = deployment.config.plugin_settings("teams")
    assert settings.assignment == "round_robin"
    assert settings.client_secret.get_secret_value() == SECRET_ENV["TEAMS_CLIENT_SECRET"]
    shown = json.dumps(deployment.config.redacted(), default=str)
    assert SECRET_ENV["TEAMS_CLIENT_SECRET"] not in shown


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"graph_base_url": "http://graph.example.com/v1.0"}, "https"),
        ({"graph_base_url": "https://graph.microsoft.com/v1.0"}, "local_token"),
        ({"assignment": "random"}, "assignment"),
        ({"rep_timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_settings_reject_bad_values(voicekit, override, message):
    from voicekit_core.testing import MINIMAL_CONFIG

    config = (
        MINIMAL_CONFIG
        + '\n[plugins]\nenable = ["teams"]\n\n'
        + teams_table("http://127.0.0.1:9/v1.0", **override)
    )
    with pytest.raises(ConfigError) as caught:
        voicekit.load(voicekit.write(config), environ=SECRET_ENV)
    assert message in str(caught.value)
    assert SECRET_ENV["TEAMS_CLIENT_SECRET"] not in str(caught.value)


def test_plugin_import_stays_light():
    code = (
        "import sys, voicekit_teams, voicekit_teams.settings, voicekit_teams.graph;"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('msgraph', 'azure', 'livekit')];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
