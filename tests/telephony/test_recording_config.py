"""``[recording]`` in the deployment file: defaults, destinations, placeholders, secrets."""

from __future__ import annotations

import logging

import pytest

from voicekit_core.errors import ConfigError
from voicekit_core.redaction import REDACTED, redact

# realistic-looking values: every ${VAR} value becomes a process-wide redacted secret
ACCESS_KEY = "AKIA3F9K2LQ7X8MZ0P4T"
SECRET_KEY = "q8Zr2LwV7nX4pT9sK1mB6yH3cJ5dF0gA2eR7uW4i"
AZURE_KEY = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3A="


def _load(voicekit, telephony_config: str, recording: str, **kwargs):
    return voicekit.load(voicekit.write(telephony_config + "\n" + recording), **kwargs)


def _problems(exc: pytest.ExceptionInfo[ConfigError]) -> dict[str, tuple[str, str]]:
    return {p.key: (p.value, p.reason) for p in exc.value.problems}


def test_recording_is_off_by_default_with_an_ogg_path(voicekit, telephony_config):
    recording = voicekit.load(voicekit.write(telephony_config)).config.recording
    assert not recording.enabled
    assert (recording.destination, recording.format) == ("file", "ogg")
    assert recording.path == "recordings/{call_id}.ogg"
    assert recording.notice == "" and recording.start_timeout_seconds == 10


def test_mp4_changes_the_default_path_suffix(voicekit, telephony_config):
    config = _load(voicekit, telephony_config, '[recording]\nenabled = true\nformat = "mp4"\n')
    assert config.config.recording.path == "recordings/{call_id}.mp4"


def test_s3_with_credentials_from_the_environment(voicekit, telephony_config, monkeypatch):
    monkeypatch.setenv("RECORDING_S3_ACCESS_KEY", ACCESS_KEY)
    monkeypatch.setenv("RECORDING_S3_SECRET", SECRET_KEY)
    deployment = _load(
        voicekit,
        telephony_config,
        """\
        [recording]
        enabled = true
        destination = "s3"
        path = "calls/{date}/{room}-{call_id}.ogg"
        notice = {en = "This call is recorded for quality.", es = "Esta llamada se graba."}

        [recording.s3]
        bucket = "acme-call-recordings"
        region = "us-east-1"
        access_key = "${RECORDING_S3_ACCESS_KEY}"
        secret = "${RECORDING_S3_SECRET}"
        force_path_style = true
        """,
    )
    recording = deployment.config.recording
    assert recording.s3.bucket == "acme-call-recordings" and recording.s3.force_path_style
    assert recording.s3.secret.get_secret_value() == SECRET_KEY
    assert deployment.config.localized(recording.notice) == "This call is recorded for quality."
    assert deployment.warnings == []  # written as ${VAR}: nothing to warn about
    shown = deployment.config.redacted()["recording"]["s3"]
    assert shown["access_key"] == f"{REDACTED} (${{RECORDING_S3_ACCESS_KEY}})"
    assert shown["secret"] == f"{REDACTED} (${{RECORDING_S3_SECRET}})"
    assert shown["bucket"] == "acme-call-recordings"
    assert redact(f"key={ACCESS_KEY} secret={SECRET_KEY}") == f"key={REDACTED} secret={REDACTED}"


def test_s3_without_a_bucket_names_the_key(voicekit, telephony_config):
    with pytest.raises(ConfigError) as raised:
        _load(
            voicekit,
            telephony_config,
            '[recording]\nenabled = true\ndestination = "s3"\n[recording.s3]\nregion = "eu-west-1"\n',
        )
    problems = _problems(raised)
    assert problems == {"recording.s3.bucket": ("", "required when recording.destination = 's3'")}
    assert "recording.s3.bucket" in str(raised.value)


def test_every_destination_names_its_missing_settings(voicekit, telephony_config):
    with pytest.raises(ConfigError) as raised:
        _load(voicekit, telephony_config, '[recording]\ndestination = "azure"\n')
    assert set(_problems(raised)) == {
        "recording.azure.account_name",
        "recording.azure.account_key",
        "recording.azure.container_name",
    }
    with pytest.raises(ConfigError) as raised:
        _load(voicekit, telephony_config, '[recording]\ndestination = "gcs"\n')
    assert set(_problems(raised)) == {"recording.gcs.bucket"}


def test_an_access_key_without_its_secret_is_refused(voicekit, telephony_config, monkeypatch):
    monkeypatch.setenv("RECORDING_S3_ACCESS_KEY", ACCESS_KEY)
    with pytest.raises(ConfigError) as raised:
        _load(
            voicekit,
            telephony_config,
            '[recording]\ndestination = "s3"\n[recording.s3]\nbucket = "b-recordings"\n'
            'access_key = "${RECORDING_S3_ACCESS_KEY}"\n',
        )
    value, reason = _problems(raised)["recording.s3.secret"]
    assert value == "" and "access_key and secret go together" in reason
    assert ACCESS_KEY not in str(raised.value)


def test_a_table_for_another_destination_is_a_mistake(voicekit, telephony_config):
    with pytest.raises(ConfigError) as raised:
        _load(voicekit, telephony_config, '[recording]\n[recording.s3]\nbucket = "b-recordings"\n')
    _, reason = _problems(raised)["recording.s3"]
    assert "recording.destination = 'file'" in reason and "destination = 's3'" in reason


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("recordings/{lead}.ogg", "unknown placeholder {lead}: use {call_id}, {room}, {date}"),
        ("recordings/{lead.phone}.ogg", "unknown placeholder {lead.phone}"),
        ("recordings/{call_id.ogg", "unbalanced { or }"),
        ("recordings/{date:%Y}/{call_id}.ogg", "placeholders take no format: write {date}"),
        ("  ", "must not be empty"),
    ],
)
def test_a_bad_path_template_names_the_key_and_value(voicekit, telephony_config, path, reason):
    with pytest.raises(ConfigError) as raised:
        _load(voicekit, telephony_config, f'[recording]\nenabled = true\npath = "{path}"\n')
    value, said = _problems(raised)["recording.path"]
    assert reason in said
    assert value == repr(path)
    assert f"recording.path = {path!r}" in str(raised.value)


def test_a_suffix_that_contradicts_the_format_is_refused(voicekit, telephony_config):
    with pytest.raises(ConfigError) as raised:
        _load(voicekit, telephony_config, '[recording]\npath = "r/{call_id}.mp4"\n')
    value, reason = _problems(raised)["recording.path"]
    assert value == "r/{call_id}.mp4"
    assert reason.startswith("ends in .mp4 but recording.format = 'ogg'")


def test_unknown_keys_and_formats_are_errors(voicekit, telephony_config):
    with pytest.raises(ConfigError) as raised:
        _load(
            voicekit,
            telephony_config,
            '[recording]\nformat = "wav"\nbucket = "x"\n[recording.s3]\nsecret_key = "x"\n',
        )
    problems = _problems(raised)
    assert problems["recording.bucket"][1] == "unknown key"
    assert problems["recording.s3.secret_key"][1] == "unknown key"
    assert "'ogg' or 'mp4'" in problems["recording.format"][1]


def test_a_literal_secret_warns_and_is_redacted(voicekit, telephony_config, caplog):
    deployment = _load(
        voicekit,
        telephony_config,
        f"""\
        [recording]
        enabled = true
        destination = "azure"

        [recording.azure]
        account_name = "acmerecordings"
        account_key = "{AZURE_KEY}"
        container_name = "calls"
        """,
    )
    assert deployment.warnings == [
        f"{deployment.config.path}: recording.azure.account_key is a secret written in the "
        'file; write account_key = "${RECORDING_AZURE_ACCOUNT_KEY}" and set '
        "RECORDING_AZURE_ACCOUNT_KEY in the environment or a .env file beside it"
    ]
    assert AZURE_KEY not in str(deployment.config.redacted())
    assert AZURE_KEY not in repr(deployment.config.recording)
    with caplog.at_level(logging.INFO):
        logging.getLogger("voicekit.test").info("key is %s", AZURE_KEY)
    assert AZURE_KEY not in caplog.text and REDACTED in caplog.text


def test_a_broken_recording_table_is_reported_even_when_off(voicekit, telephony_config):
    # switching recording on later must not reveal a problem that was there all along
    with pytest.raises(ConfigError) as raised:
        _load(voicekit, telephony_config, '[recording]\nenabled = false\ndestination = "gcs"\n')
    assert "recording.gcs.bucket" in _problems(raised)
