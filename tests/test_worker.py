"""The LiveKit worker's offline parts: job metadata, clear errors before livekit starts."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voicekit_core import VoicekitError, worker
from voicekit_core.cli import build_cli


def test_job_metadata_outbound_and_inbound():
    from voicekit_core.telephony.metadata import parse_job_metadata

    meta = parse_job_metadata('{"phone": "+14155550123", "call_id": "c1", "unknown": 1}')
    assert (meta.direction, meta.phone, meta.call_id) == ("outbound", "+14155550123", "c1")
    # a dispatch rule's own metadata (or none) means an inbound call
    assert parse_job_metadata("").direction == "inbound"
    assert parse_job_metadata("{not json").direction == "inbound"


def test_phone_from_sip_participant_attributes():
    assert worker.phone_from_participant({"sip.phoneNumber": "+14155550123"}) == "+14155550123"
    assert worker.phone_from_participant({"sip.trunkID": "ST_1"}) is None


def test_start_without_livekit_credentials_explains_what_is_missing(example_copy, monkeypatch):
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LIVEKIT_URL", "ws://127.0.0.1:7880")
    result = CliRunner().invoke(build_cli(), ["start", str(example_copy)])
    assert result.exit_code == 2
    assert "needs LIVEKIT_API_KEY, LIVEKIT_API_SECRET" in result.output


def test_console_without_portaudio_says_what_to_install(example_copy, monkeypatch):
    if not worker.missing_portaudio():
        pytest.skip("PortAudio is installed here; the error path cannot be shown")
    result = CliRunner().invoke(build_cli(), ["console", str(example_copy)])
    assert result.exit_code == 2
    assert "apt-get install libportaudio2" in result.output
    assert "voicekit simulate" in result.output


def test_current_deployment_requires_the_config_variable(monkeypatch):
    monkeypatch.delenv(worker.CONFIG_ENV, raising=False)
    worker.current_deployment.cache_clear()
    with pytest.raises(VoicekitError, match="VOICEKIT_CONFIG is not set"):
        worker.current_deployment()
    worker.current_deployment.cache_clear()


def test_make_server_registers_the_agent_name_for_explicit_dispatch(example_copy, monkeypatch):
    monkeypatch.setenv(worker.CONFIG_ENV, str(example_copy / "voicekit.toml"))
    worker.current_deployment.cache_clear()
    try:
        server = worker.make_server()
        assert server._agent_name == "tdx-sdr"
        assert server._entrypoint_fnc is worker.entrypoint
    finally:
        worker.current_deployment.cache_clear()


def test_worker_imports_the_configured_provider_plugins_on_the_main_thread(example_copy):
    from voicekit_core import load_deployment

    imported = worker.import_provider_plugins(load_deployment(example_copy))
    # the example names openai (realtime) and uses Silero VAD for voice calls
    assert imported == ["livekit.plugins.openai", "livekit.plugins.silero"]
