"""`voicekit campaign list|show|run|pause|resume|cancel`: output, state changes, bad input
(exit 2 naming the value), Ctrl-C while calls are in flight."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from click.testing import CliRunner
from dialer_kit import create_campaign, voicekit_process, wait_for, write_deployment, write_leads
from sqlalchemy import select

from voicekit_core.campaigns import repo
from voicekit_core.cli import build_cli
from voicekit_core.deployment import load_deployment
from voicekit_core.store.tables import campaign_leads


def invoke(*args: str):
    return CliRunner().invoke(build_cli(), [str(a) for a in args])


def setup(tmp_path: Path, count: int = 3, *, scripts=None, **config):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    folder = write_deployment(tmp_path / "deployment", url, **config)
    write_leads(tmp_path / "leads.csv", count, scripts=scripts)
    deployment = load_deployment(folder)
    return folder, deployment, create_campaign(deployment, "spring [promo]", tmp_path / "leads.csv")


def test_run_simulate_shows_progress_and_ends_with_the_summary(tmp_path: Path):
    folder, deployment, campaign_id = setup(tmp_path, 3, scripts={0: "yes", 1: "busy", 2: "yes"})
    (folder / "scripts").mkdir()
    (folder / "scripts" / "yes.yaml").write_text('turns: ["Not interested, sorry."]\n')
    (folder / "scripts" / "busy.yaml").write_text("answer: busy\n")
    result = invoke("campaign", "run", folder, "spring [promo]", "--simulate", "--speed", "1000")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "spring [promo]" in out  # markup in the name is shown, not interpreted
    assert "completed" in out and "attempt_ended" in out
    assert "connected" in out and "pick-up rate" in out and "conversion" in out
    assert "cost" in out
    counts = repo.lead_counts(deployment.store, campaign_id)
    assert counts["done"] == 3 and counts["done:busy"] == 1


def test_list_show_pause_resume_cancel(tmp_path: Path):
    folder, deployment, campaign_id = setup(tmp_path)
    listed = invoke("campaign", "list", folder)
    assert listed.exit_code == 0 and "spring [promo]" in listed.output and "draft" in listed.output

    assert invoke("campaign", "pause", folder, campaign_id).exit_code == 2  # a draft: not running
    with deployment.store.write() as db:
        repo.set_state(db, campaign_id, "running", "test")
    paused = invoke("campaign", "pause", folder, campaign_id, "--reason", "carrier maintenance")
    assert paused.exit_code == 0 and "running -> paused" in paused.output
    shown = invoke("campaign", "show", folder, "spring [promo]", "--json")
    payload = json.loads(shown.output)
    assert (payload["state"], payload["reason"]) == ("paused", "carrier maintenance")
    assert payload["summary"]["leads"] == 3 and payload["summary"]["dialed"] == 0
    assert [e["kind"] for e in payload["events"]][:2] == ["paused", "running"]

    again = invoke("campaign", "pause", folder, campaign_id)
    assert again.exit_code == 2 and "already paused" in again.output
    assert invoke("campaign", "resume", folder, campaign_id).exit_code == 0
    canceled = invoke("campaign", "cancel", folder, campaign_id)
    assert canceled.exit_code == 0 and "3 leads canceled" in canceled.output
    text = invoke("campaign", "show", folder, campaign_id)
    assert text.exit_code == 0 and "canceled" in text.output and "activity" in text.output
    resumed = invoke("campaign", "resume", folder, campaign_id)
    assert resumed.exit_code == 2 and "cannot become running" in resumed.output


def test_bad_input_exits_2_naming_it(tmp_path: Path):
    folder, _, campaign_id = setup(tmp_path)
    unknown = invoke("campaign", "run", folder, "nope", "--simulate")
    assert unknown.exit_code == 2 and "no campaign named or with id 'nope'" in unknown.output
    speed = invoke("campaign", "run", folder, campaign_id, "--simulate", "--speed", "0")
    assert speed.exit_code == 2 and "--speed" in speed.output
    live = invoke("campaign", "run", folder, campaign_id)  # no [plugins.telephony] trunk
    assert live.exit_code == 2 and "no outbound trunk" in live.output
    no_scripts = invoke("campaign", "run", folder, campaign_id, "--simulate")
    assert no_scripts.exit_code == 2 and "no caller scripts" in no_scripts.output
    (folder / "scripts").mkdir()
    (folder / "scripts" / "bad.yaml").write_text("answer: maybe\n")
    bad = invoke("campaign", "run", folder, campaign_id, "--simulate")
    assert bad.exit_code == 2 and "bad.yaml" in bad.output and "answer" in bad.output
    outputs = unknown.output + speed.output + live.output + no_scripts.output + bad.output
    assert "Traceback" not in outputs
    assert repo.lead_counts(load_deployment(folder).store, campaign_id) == {"pending": 3}


def test_ctrl_c_stops_dialing_and_lets_calls_in_flight_finish(tmp_path: Path, fake_livekit):
    """A real `voicekit campaign run` process: SIGINT while three slow calls ring."""
    fake = fake_livekit
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    folder = write_deployment(tmp_path / "deployment", url, livekit=fake, campaign_concurrency=3)
    phones = write_leads(tmp_path / "leads.csv", 10)
    for phone in phones:
        fake.dial_delays[phone] = 1.5
        fake.dial_failures[phone] = (486, "Busy Here")
    deployment = load_deployment(folder)
    campaign_id = create_campaign(deployment, "ctrl-c", tmp_path / "leads.csv")
    with voicekit_process("campaign", "run", folder, campaign_id) as process:
        wait_for(lambda: len(fake.calls("CreateSIPParticipant")) >= 3, 30, "three calls ringing")
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    assert process.returncode == 0, out
    assert "stopping: no new calls; waiting for 3 call(s) in flight" in out
    assert "(stopped)" in out
    time.sleep(0.1)
    assert len(fake.calls("CreateSIPParticipant")) == 3
    with deployment.store.read() as db:
        states = [r.state for r in db.execute(select(campaign_leads.c.state))]
    assert states.count("retry_wait") == 3 and states.count("pending") == 7  # busy: retried later
