"""The TDX SDR example with transfer enabled: a caller who wants a human is transferred."""

from __future__ import annotations

import shutil
from pathlib import Path

from voicekit_core import load_deployment
from voicekit_core.simulate import load_script, run_script

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tdx_sdr"


async def test_wants_human_is_transferred_through_livekit(tmp_path, fake_livekit, livekit_env):
    copy = tmp_path / "tdx_sdr"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".voicekit", "__pycache__"))
    deployment = load_deployment(
        copy / "voicekit.transfer.toml",
        environ={"FORWARD_PHONE_NUMBER": "+14155550100", **livekit_env},
    )
    run = await run_script(deployment, load_script(copy / "scripts" / "wants_human.yaml"))

    report = run.report
    assert report.disposition.value == "transferred"
    assert report.data["transfer"]["to"] == "tel:+14155550100"
    (sent,) = fake_livekit.calls("TransferSIPParticipant")
    assert sent.request.participant_identity == "sip_+13125550103"
    assert sent.request.room_name == f"call-{report.call_id}"
    assert any("1 scripted turn(s) not played" in note for note in report.notes)
