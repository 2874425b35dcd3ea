"""Recording wired into the worker's job: notice, egress in the background, stop, report.

The job function (:func:`voicekit_core.worker.serve_job`) is driven with a small fake of
livekit's ``JobContext`` and ``voice=False`` (a text session outside a room, as in
tests/test_worker_routing_calls.py); the egress requests go to the fake LiveKit.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from types import SimpleNamespace

import pytest
from job_context_kit import FakeJobContext

from voicekit_core import Disposition, worker
from voicekit_core.routing import serve
from voicekit_core.runner import CallRun
from voicekit_core.telephony import recording

CALLER = "+14155550123"  # the lead of the harness's leads.csv
NUMBER = "+14155550100"  # the deployment's inbound number
NOTICE = "This call is recorded for quality."
SECRET_KEY = "pX7vB2nM9qL4kJ8hG3fD6sA1zC5xV0bN7mQ2wE9r"

RECORDING = f"""
[recording]
enabled = true
destination = "s3"
notice = "{NOTICE}"

[recording.s3]
bucket = "acme-call-recordings"
region = "us-east-1"
access_key = "AKIA5R8T2Y6U9I3O7P1L"
secret = "${{RECORDING_S3_SECRET}}"
"""


def job(metadata: str = "", *, outbound: bool = False) -> FakeJobContext:
    """A job for a call from (or, ``outbound``, to) CALLER on the deployment's number."""
    attributes = {} if outbound else {"sip.phoneNumber": CALLER}
    attributes["sip.trunkPhoneNumber"] = NUMBER
    return FakeJobContext(metadata, identity=f"sip_{CALLER}", attributes=attributes)


@pytest.fixture
def recorded(voicekit, telephony_config, livekit_env, monkeypatch):
    """A deployment recording to S3 (with a notice), served alone by a worker."""
    monkeypatch.setenv("RECORDING_S3_SECRET", SECRET_KEY)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the offline scripted model
    monkeypatch.setattr(recording, "RETRY_WAIT_SECONDS", 0.01)
    deployment = voicekit.load(voicekit.write(telephony_config + RECORDING))
    return deployment, serve([deployment])


@pytest.fixture
def events(monkeypatch):
    """What happened, in order: the notice said in full, the greeting said."""
    happened: list[str] = []
    say_notice, greet = recording.say_notice, CallRun.greet

    async def noticed(run, text):
        problem = await say_notice(run, text)
        happened.append("notice said")
        return problem

    async def greeted(self):
        await greet(self)
        happened.append("greeting said")

    monkeypatch.setattr(recording, "say_notice", noticed)
    monkeypatch.setattr(CallRun, "greet", greeted)
    return happened


def _said(run) -> list[str]:
    return [
        item.text_content
        for item in run.session.history.items
        if item.type == "message" and item.role == "assistant"
    ]


async def test_the_notice_comes_first_and_the_greeting_does_not_wait_for_the_egress(
    recorded, fake_livekit, events, caplog
):
    deployment, served = recorded
    answer = threading.Event()  # the egress answers only when the test says so

    def egress_received(request):
        events.append("egress requested")
        answer.wait(10)

    fake_livekit.on_egress = egress_received
    ctx = job()
    try:
        with caplog.at_level(logging.DEBUG):
            run = await worker.serve_job(ctx, served, voice=False)
            assert run is not None
            # the greeting was said while LiveKit had not answered the start request yet
            assert events[0] == "notice said" and "greeting said" in events
            assert "recording" not in run.call.data
            assert _said(run)[:2] == [NOTICE, "Hello Ada!"]
            answer.set()
            await ctx.end()
    finally:
        answer.set()
    assert events.index("egress requested") > events.index("notice said")

    request = fake_livekit.calls("StartRoomCompositeEgress")[0].request
    assert request.room_name == ctx.room.name and request.audio_only
    assert request.file_outputs[0].filepath == f"recordings/{run.call.call_id}.ogg"
    assert fake_livekit.calls("StopEgress")[0].request.egress_id == "EG_0001"
    kept = run.report.data["recording"]
    assert kept["status"] == "ended" and kept["egress_id"] == "EG_0001"
    assert kept["location"] == f"s3://acme-call-recordings/recordings/{run.call.call_id}.ogg"
    assert kept["notice"] == NOTICE and kept["started_at"]
    assert run.report.transcript[0].text == NOTICE
    journaled = deployment.journal.get(run.call.call_id)
    assert journaled.data["recording"] == kept
    # the storage credentials went to LiveKit only
    shown = json.dumps(run.report.model_dump(mode="json")) + caplog.text
    assert SECRET_KEY not in shown and "AKIA5R8T2Y6U9I3O7P1L" not in shown


async def test_a_failed_egress_leaves_the_call_going(recorded, fake_livekit):
    _, served = recorded
    fake_livekit.egress_failures = [(500, "no egress instance available")] * 3
    ctx = job()
    run = await worker.serve_job(ctx, served, voice=False)
    assert run is not None
    result = await run.user_says("Sure, go ahead")  # the conversation goes on
    assert result.events
    await ctx.end()

    kept = run.report.data["recording"]
    assert kept["status"] == "failed" and "egress_id" not in kept
    assert "HTTP 500: no egress instance available" in kept["reason"]
    assert run.report.disposition is not Disposition.FAILED
    assert fake_livekit.calls("StopEgress") == []
    assert ctx.shutdowns == []  # the job was not ended for it


async def test_an_unanswered_start_fails_with_a_timeout(recorded, monkeypatch, voicekit):
    deployment, served = recorded
    monkeypatch.setattr(recording, "START_ATTEMPTS", 1)
    config = deployment.config.recording
    monkeypatch.setattr(config, "start_timeout_seconds", 0.2)
    with socket.socket() as silent:  # LiveKit accepts the connection and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setenv("LIVEKIT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        ctx = job()
        run = await worker.serve_job(ctx, served, voice=False)
        await ctx.end()

    kept = run.report.data["recording"]
    assert kept["status"] == "failed" and "did not answer within 0.2 s" in kept["reason"]
    assert _said(run)[:2] == [NOTICE, "Hello Ada!"]


async def test_a_call_that_ends_before_the_egress_answers(recorded, fake_livekit, monkeypatch):
    _, served = recorded
    monkeypatch.setattr(recording, "STOP_GRACE_SECONDS", 0.05)
    answer = threading.Event()
    fake_livekit.on_egress = lambda request: answer.wait(10)
    ctx = job()
    try:
        run = await worker.serve_job(ctx, served, voice=False)
        await ctx.end()
    finally:
        answer.set()
    kept = run.report.data["recording"]
    assert kept == {
        "status": "failed",
        "reason": "the call ended before LiveKit answered the start request",
    }


async def test_outbound_calls_are_recorded_after_the_person_answered(recorded, fake_livekit):
    _, served = recorded
    meta = json.dumps({"phone": CALLER, "direction": "outbound", "call_id": "c-out-1"})
    ctx = job(meta, outbound=True)
    run = await worker.serve_job(ctx, served, voice=False)
    await ctx.end()
    assert run.report.data["recording"]["status"] == "ended"
    assert _said(run)[:2] == [NOTICE, "Hello Ada!"]
    assert fake_livekit.calls("StartRoomCompositeEgress")[0].request.file_outputs[0].filepath == (
        "recordings/c-out-1.ogg"
    )


async def test_recording_off_says_no_notice_and_reports_disabled(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    ctx = job()
    run = await worker.serve_job(ctx, serve([deployment]), voice=False)
    await ctx.end()
    assert run.report.data["recording"] == {"status": "disabled"}
    assert _said(run)[0] == "Hello Ada!"
    assert [m for m in fake_livekit.methods() if "Egress" in m] == []


async def test_a_notice_that_was_not_said_in_full_means_no_recording(recorded, fake_livekit):
    deployment, _ = recorded

    class Handle:
        interrupted = True  # e.g. the session closed while it was being said

        async def wait_for_playout(self):
            return None

    session = SimpleNamespace(tts=object(), say=lambda text, **options: Handle())
    call = SimpleNamespace(config=deployment.config, call_id="c-notice", data={}, mode="live")
    call_recording = recording.CallRecording(SimpleNamespace(session=session, call=call))
    await call_recording.begin()
    await call_recording.end()

    assert call.data["recording"] == {
        "status": "failed",
        "reason": "not started: the recording notice was not said (interrupted)",
    }
    assert fake_livekit.calls("StartRoomCompositeEgress") == []
