"""Starting and stopping a call's egress against the fake LiveKit (``Egress`` Twirp)."""

from __future__ import annotations

import logging
import socket

import pytest
from livekit import api

from voicekit_core.calls import CallContext
from voicekit_core.telephony import recording
from voicekit_core.telephony.credentials import LiveKitCredentials
from voicekit_core.telephony.recording import (
    RecordingInfo,
    render_path,
    start_recording,
    stop_recording,
)

ACCESS_KEY = "AKIA7TQ2M9XK4LZ8P3WD"
SECRET_KEY = "hT4rV9wQ2zL7mX1cN8bK5jP3sD6fG0aY4eU2iO9q"
GCP_JSON = '{"type": "service_account", "private_key_id": "8f2c91d4e7a35b06c1f9"}'

S3_RECORDING = """
[recording]
enabled = true
destination = "s3"
path = "calls/{date}/{room}/{call_id}.ogg"

[recording.s3]
bucket = "acme-call-recordings"
region = "eu-west-1"
endpoint = "https://s3.eu-west-1.amazonaws.com"
access_key = "${RECORDING_S3_ACCESS_KEY}"
secret = "${RECORDING_S3_SECRET}"
"""


@pytest.fixture
def s3_keys(monkeypatch):
    monkeypatch.setenv("RECORDING_S3_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("RECORDING_S3_SECRET", SECRET_KEY)


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(recording, "RETRY_WAIT_SECONDS", 0.01)


def _call(deployment, room: str = "call-rec-1") -> CallContext:
    call = CallContext(deployment=deployment, phone="+14155550123", mode="live")
    call.room_name = room
    return call


async def test_start_sends_an_audio_only_room_composite_to_s3(
    voicekit, telephony_config, fake_livekit, livekit_env, s3_keys, caplog
):
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    call = _call(deployment)
    with caplog.at_level(logging.DEBUG):
        info = await start_recording(call)

    date = call.started_at.date().isoformat()
    key = f"calls/{date}/call-rec-1/{call.call_id}.ogg"
    assert info.status == "recording" and info.egress_id == "EG_0001"
    assert info.location == f"s3://acme-call-recordings/{key}"
    assert info.started_at and not info.reason
    [sent] = fake_livekit.calls("StartRoomCompositeEgress")
    assert sent.service == "Egress" and sent.claims.video.room_record
    request = sent.request
    assert request.room_name == "call-rec-1" and request.audio_only
    [output] = request.file_outputs
    assert output.file_type == api.EncodedFileType.OGG and output.filepath == key
    assert output.WhichOneof("output") == "s3"
    assert (output.s3.bucket, output.s3.region) == ("acme-call-recordings", "eu-west-1")
    assert output.s3.endpoint == "https://s3.eu-west-1.amazonaws.com"
    # the credentials travel in the request only: never in logs or the report's data
    assert (output.s3.access_key, output.s3.secret) == (ACCESS_KEY, SECRET_KEY)
    assert ACCESS_KEY not in caplog.text and SECRET_KEY not in caplog.text
    assert "EG_0001" in caplog.text
    assert ACCESS_KEY not in str(info.as_data()) and SECRET_KEY not in str(info.as_data())


@pytest.mark.parametrize(
    ("recording_toml", "oneof", "location"),
    [
        (
            '[recording]\nenabled = true\nformat = "mp4"\npath = "/out/{call_id}.mp4"\n',
            None,
            "/out/CALL.mp4",
        ),
        (
            '[recording]\nenabled = true\ndestination = "gcs"\n'
            '[recording.gcs]\nbucket = "acme-gcs-calls"\ncredentials = "${RECORDING_GCS_JSON}"\n',
            "gcp",
            "gs://acme-gcs-calls/recordings/CALL.ogg",
        ),
        (
            '[recording]\nenabled = true\ndestination = "azure"\n[recording.azure]\n'
            'account_name = "acmerec"\naccount_key = "${RECORDING_AZURE_KEY}"\n'
            'container_name = "calls"\n',
            "azure",
            "https://acmerec.blob.core.windows.net/calls/recordings/CALL.ogg",
        ),
    ],
)
async def test_each_destination_fills_its_upload(
    voicekit,
    telephony_config,
    fake_livekit,
    livekit_env,
    monkeypatch,
    recording_toml,
    oneof,
    location,
):
    monkeypatch.setenv("RECORDING_GCS_JSON", GCP_JSON)
    monkeypatch.setenv("RECORDING_AZURE_KEY", SECRET_KEY)
    deployment = voicekit.load(voicekit.write(telephony_config + recording_toml))
    call = _call(deployment)
    info = await start_recording(call)

    assert info.status == "recording"
    assert info.location == location.replace("CALL", call.call_id)
    [output] = fake_livekit.calls("StartRoomCompositeEgress")[0].request.file_outputs
    assert output.WhichOneof("output") == oneof
    if oneof is None:  # the egress server's own disk
        assert output.file_type == api.EncodedFileType.MP4
        assert output.filepath == f"/out/{call.call_id}.mp4"
    elif oneof == "gcp":
        assert (output.gcp.bucket, output.gcp.credentials) == ("acme-gcs-calls", GCP_JSON)
    else:
        assert output.azure.account_key == SECRET_KEY
        assert (output.azure.account_name, output.azure.container_name) == ("acmerec", "calls")


async def test_a_server_error_is_retried_then_reported_as_failed(
    voicekit, telephony_config, fake_livekit, livekit_env, s3_keys, quick_retries, caplog
):
    fake_livekit.egress_failures = [(500, "egress service unavailable")] * 3
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    with caplog.at_level(logging.INFO, logger="voicekit"):
        info = await start_recording(_call(deployment))

    assert info.status == "failed" and not info.egress_id
    assert "failed with HTTP 500: egress service unavailable" in info.reason
    assert "\n" not in info.reason
    assert info.location.startswith("s3://acme-call-recordings/calls/")
    assert fake_livekit.methods().count("StartRoomCompositeEgress") == 3
    # before each retry: did the lost answer start one? (no: nothing to adopt)
    assert fake_livekit.methods().count("ListEgress") == 2
    assert "recording not started" in caplog.text and SECRET_KEY not in caplog.text


async def test_one_server_error_then_success_records(
    voicekit, telephony_config, fake_livekit, livekit_env, s3_keys, quick_retries
):
    fake_livekit.egress_failures = [(503, "upstream busy")]
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    info = await start_recording(_call(deployment))
    assert info.status == "recording" and info.egress_id
    assert fake_livekit.methods().count("StartRoomCompositeEgress") == 2


async def test_a_slow_answer_that_started_the_egress_is_not_started_twice(
    voicekit, telephony_config, fake_livekit, livekit_env, s3_keys, quick_retries
):
    fake_livekit.egress_delay = 1.0  # the egress starts, the answer comes too late
    deployment = voicekit.load(
        voicekit.write(
            telephony_config
            + S3_RECORDING.replace("[recording]\n", "[recording]\nstart_timeout_seconds = 0.2\n")
        )
    )
    info = await start_recording(_call(deployment))

    assert info.status == "recording"
    assert fake_livekit.methods().count("StartRoomCompositeEgress") == 1
    assert list(fake_livekit.egresses) == [info.egress_id]  # adopted from ListEgress


async def test_no_answer_at_all_fails_with_a_timeout(
    voicekit, telephony_config, s3_keys, quick_retries
):
    deployment = voicekit.load(
        voicekit.write(
            telephony_config
            + S3_RECORDING.replace("[recording]\n", "[recording]\nstart_timeout_seconds = 0.2\n")
        )
    )
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        creds = LiveKitCredentials(
            f"http://127.0.0.1:{silent.getsockname()[1]}", "APIkey", "k" * 40
        )
        info = await start_recording(_call(deployment), creds=creds, attempts=2)
    assert info.status == "failed"
    assert "did not answer within 0.2 s" in info.reason


async def test_refused_credentials_fail_at_once(voicekit, telephony_config, fake_livekit, s3_keys):
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    creds = LiveKitCredentials(fake_livekit.url, fake_livekit.api_key, "w" * 44)
    info = await start_recording(_call(deployment), creds=creds)
    assert info.status == "failed" and "secret" in info.reason.lower()
    assert fake_livekit.calls("StartRoomCompositeEgress") == []  # refused before the handler


async def test_missing_livekit_credentials_fail_without_raising(
    voicekit, telephony_config, s3_keys, monkeypatch
):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    info = await start_recording(_call(deployment))
    assert info.status == "failed" and "LiveKit credentials missing" in info.reason


async def test_stop_ends_the_egress(voicekit, telephony_config, fake_livekit, livekit_env, s3_keys):
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    call = _call(deployment)
    info = await stop_recording(call, await start_recording(call))

    assert info.status == "ended" and not info.reason and info.egress_id == "EG_0001"
    assert fake_livekit.calls("StopEgress")[0].request.egress_id == "EG_0001"
    assert fake_livekit.egresses["EG_0001"].status == api.EgressStatus.EGRESS_ENDING


async def test_an_egress_that_ended_with_the_room_is_just_ended(
    voicekit, telephony_config, fake_livekit, livekit_env, s3_keys
):
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    call = _call(deployment)
    info = await start_recording(call)
    fake_livekit.egresses[info.egress_id].status = api.EgressStatus.EGRESS_COMPLETE

    ended = await stop_recording(call, info)
    assert ended.status == "ended" and not ended.reason
    assert fake_livekit.rejected[-1][:2] == ("StopEgress", 412)


async def test_a_stop_that_cannot_reach_livekit_still_ends(voicekit, telephony_config, s3_keys):
    deployment = voicekit.load(voicekit.write(telephony_config + S3_RECORDING))
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nothing listens there once closed
    creds = LiveKitCredentials(f"http://127.0.0.1:{port}", "APIkey", "k" * 40)
    info = RecordingInfo("recording", egress_id="EG_0042", location="s3://b/k.ogg")

    ended = await stop_recording(_call(deployment), info, creds=creds)
    assert ended.status == "ended" and ended.egress_id == "EG_0042"
    assert ended.reason.startswith("not stopped, LiveKit ends it with the room: ")
    assert "connection refused" in ended.reason


def test_paths_render_the_call_id_room_and_utc_date(voicekit, telephony_config):
    from datetime import datetime, timedelta, timezone

    call = _call(voicekit.load(voicekit.write(telephony_config)), room="vk-c1-l2-3")
    call.started_at = datetime(2025, 3, 1, 23, 30, tzinfo=timezone(timedelta(hours=-8)))
    rendered = render_path("{date}/{room}/{call_id}.ogg", call)
    assert rendered == f"2025-03-02/vk-c1-l2-3/{call.call_id}.ogg"
