"""`voicekit doctor` against a fake LiveKit that answers auth failures as livekit-server does
(plain-text 401 bodies the SDK discards): each cause is named, the secret never shown."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from voicekit_core.cli import build_cli
from voicekit_core.telephony.credentials import LiveKitCredentials
from voicekit_core.telephony.doctor import explain_auth_failure

WRONG_SECRET = "wrong-secret-from-another-project-000000"


def test_doctor_ok(voicekit, telephony_config, fake_livekit):
    path = voicekit.write(telephony_config)
    result = CliRunner().invoke(build_cli(), ["doctor", str(path)], env=fake_livekit.env())
    assert result.exit_code == 0, result.output
    assert "ok   authentication" in result.output
    assert "ok   outbound trunk: ST_outbound" in result.output
    assert "ok   token: signs and verifies locally (HS256, issuer APIfakeKey0123" in result.output
    assert "ok   clock: within" in result.output
    assert fake_livekit.methods() == ["ListRooms", "ListSIPOutboundTrunk"]
    assert fake_livekit.api_secret not in result.output


def _doctor(path, env):
    return CliRunner().invoke(build_cli(), ["doctor", str(path)], env=env)


def test_doctor_names_a_wrong_secret(voicekit, telephony_config, fake_livekit):
    """livekit-server's plain-text reason, read by the doctor's own request, decides."""
    path = voicekit.write(telephony_config)
    result = _doctor(path, {**fake_livekit.env(), "LIVEKIT_API_SECRET": WRONG_SECRET})
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if x.startswith("FAIL")]
    assert line.startswith("FAIL authentication: LiveKit at http://127.0.0.1:")
    assert "knows key APIfakeKey0123 but the API secret is wrong" in line
    assert "token signature is invalid: signature is invalid" in line  # the server's words
    assert "different projects" in line
    assert "does not know" not in line and "clock" not in line  # one cause, not four
    assert "ok   token: signs and verifies locally" in result.output
    assert WRONG_SECRET not in result.output and fake_livekit.api_secret not in result.output


def test_doctor_names_an_unknown_key(voicekit, telephony_config, fake_livekit):
    path = voicekit.write(telephony_config)
    result = _doctor(path, {**fake_livekit.env(), "LIVEKIT_API_KEY": "APIotherProject"})
    assert result.exit_code == 1
    assert 'does not know API key APIotherProject (LiveKit said "invalid API key")' in (
        result.output
    )
    line = next(x for x in result.output.splitlines() if x.startswith("FAIL authentication"))
    assert "another project's URL" in line
    assert "secret is wrong" not in line and "clock" not in line


@pytest.mark.parametrize(
    ("offset", "words"),
    [
        (-600, ["as not valid yet", "10 min ahead of the server's", "NTP"]),
        (7 * 3600, ["as expired", "7 h behind the server's", "NTP"]),
    ],
)
def test_doctor_names_clock_skew_measured_from_the_server_date(
    voicekit, telephony_config, fake_livekit, offset, words
):
    fake_livekit.clock_offset = offset  # the server's clock; tokens are judged by it
    result = _doctor(voicekit.write(telephony_config), fake_livekit.env())
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if x.startswith("FAIL authentication"))
    for word in words:
        assert word in line
    assert "secret is wrong" not in line and "does not know" not in line


def test_doctor_warns_about_a_small_skew_that_still_passes(
    voicekit, telephony_config, fake_livekit
):
    fake_livekit.clock_offset = -45  # within livekit-server's 60 s leeway
    result = _doctor(voicekit.write(telephony_config), fake_livekit.env())
    assert result.exit_code == 0, result.output
    assert "ok   authentication" in result.output
    assert re.search(r"warn clock: this machine's clock is 4[4-6] s ahead", result.output)


def test_doctor_reports_an_unreachable_url(voicekit, telephony_config, fake_livekit):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**fake_livekit.env(), "LIVEKIT_URL": f"http://127.0.0.1:{port}"}
    result = _doctor(voicekit.write(telephony_config), env)
    assert result.exit_code == 1
    assert (
        f"FAIL connection: cannot reach LiveKit at http://127.0.0.1:{port}: connection refused"
        in result.output
    )
    assert "Traceback" not in result.output


def test_doctor_reports_a_server_error(voicekit, telephony_config, fake_livekit):
    fake_livekit.http_failure = (503, "upstream connect error")
    result = _doctor(voicekit.write(telephony_config), fake_livekit.env())
    assert result.exit_code == 1
    assert "FAIL connection: LiveKit at http://127.0.0.1:" in result.output
    assert "failed with HTTP 503" in result.output and "retry later" in result.output
    assert "FAIL authentication" not in result.output


LK_CLI_CONFIG = """\
default_project: prod
projects:
  - name: prod
    url: {url}
    api_key: {key}
    api_secret: {secret}
"""


def test_doctor_uses_the_livekit_cli_config_when_the_server_gives_no_reason(
    voicekit, telephony_config, fake_livekit, _private_home
):
    """A 401 without a reason (a proxy, an old server) is narrowed by local evidence: the
    LiveKit CLI saved another secret for this key. Neither secret is printed."""
    saved = "saved-secret-in-lk-cli-config-000000000000"
    (_private_home / ".livekit").mkdir()
    (_private_home / ".livekit" / "cli-config.yaml").write_text(
        LK_CLI_CONFIG.format(url=fake_livekit.url, key=fake_livekit.api_key, secret=saved)
    )
    fake_livekit.http_failure = (401, "")
    result = _doctor(voicekit.write(telephony_config), fake_livekit.env())
    assert result.exit_code == 1
    assert "the API secret is wrong" in result.output
    assert "the LiveKit CLI config has a different secret for key APIfakeKey0123" in (result.output)
    assert saved not in result.output and fake_livekit.api_secret not in result.output


def test_doctor_flags_a_key_the_livekit_cli_has_under_another_url(
    voicekit, telephony_config, fake_livekit, _private_home
):
    (_private_home / ".livekit").mkdir()
    (_private_home / ".livekit" / "cli-config.yaml").write_text(
        LK_CLI_CONFIG.format(
            url="wss://staging-abc.livekit.cloud", key="APIstaging", secret="s" * 40
        )
    )
    env = {**fake_livekit.env(), "LIVEKIT_API_KEY": "APIstaging", "LIVEKIT_API_SECRET": "s" * 40}
    result = _doctor(voicekit.write(telephony_config), env)
    assert result.exit_code == 1
    assert "does not know API key APIstaging" in result.output
    assert "project 'prod' at wss://staging-abc.livekit.cloud, not at this URL" in result.output


def test_doctor_notes_credentials_from_mixed_sources(voicekit, telephony_config, fake_livekit):
    config = telephony_config.replace(
        "[plugins.telephony]\n", '[plugins.telephony]\napi_key = "APIfakeKey0123"\n'
    )
    env = {**fake_livekit.env(), "LIVEKIT_API_SECRET": WRONG_SECRET}
    result = _doctor(voicekit.write(config), env)
    assert result.exit_code == 1
    assert "mixed sources (URL from LIVEKIT_URL, key from [plugins.telephony], secret from" in (
        result.output
    )


def test_doctor_rejects_a_url_without_scheme_before_any_request(
    voicekit, telephony_config, fake_livekit
):
    env = {**fake_livekit.env(), "LIVEKIT_URL": "my-project.livekit.cloud"}
    result = _doctor(voicekit.write(telephony_config), env)
    assert result.exit_code == 1
    assert "FAIL url: LiveKit URL 'my-project.livekit.cloud' (from LIVEKIT_URL)" in result.output
    assert fake_livekit.requests == [] and fake_livekit.rejected == []


def test_doctor_flags_unknown_trunk_and_missing_credentials(
    voicekit, telephony_config, fake_livekit
):
    path = voicekit.write(telephony_config.replace("ST_outbound", "ST_gone"))
    result = CliRunner().invoke(build_cli(), ["doctor", str(path)], env=fake_livekit.env())
    assert result.exit_code == 1
    assert "FAIL outbound trunk: ST_gone is not a trunk of this project" in result.output

    unset = {name: None for name in fake_livekit.env()}
    missing = CliRunner().invoke(build_cli(), ["doctor", str(path)], env=unset)
    assert missing.exit_code == 1
    assert "FAIL credentials" in missing.output and "LIVEKIT_URL" in missing.output


def test_explanations_from_the_servers_words_alone():
    """Without a probe: the real server's messages each name one cause."""
    creds = LiveKitCredentials("https://x.livekit.cloud", "APIkey", "s3cret-value")
    prefix = "invalid authorization token: "
    skew = explain_auth_failure(
        401, prefix + "token has invalid claims: token is not valid yet", creds
    )
    assert "clock is ahead" in skew and "NTP" in skew
    grants = explain_auth_failure(401, "permissions denied", creds)
    assert "lacks a permission" in grants
    secret = explain_auth_failure(
        401, prefix + "token signature is invalid: signature is invalid", creds
    )
    assert "secret is wrong" in secret
    assert "does not know" in explain_auth_failure(401, "invalid API key", creds)
    unknown = explain_auth_failure(401, "", creds)
    assert "no reason given" in unknown and "wrong secret" in unknown and "clock" in unknown
    assert "s3cret-value" not in unknown + skew + grants + secret


def test_a_reasonless_401_lists_only_the_causes_local_checks_leave_open():
    from datetime import datetime, timedelta, timezone

    from voicekit_core.telephony.auth_check import AuthProbe, LocalFindings, diagnose

    creds = LiveKitCredentials("wss://x.livekit.cloud", "APIkey", "s3cret-value-" * 3)
    now = datetime.now(timezone.utc)
    in_step = AuthProbe(401, "", now.replace(microsecond=0) - timedelta(seconds=2), now)
    text = diagnose(
        creds, status=401, message="", answer=in_step, findings=LocalFindings(True, "")
    ).explanation
    assert "no reason given" in text and "wrong secret" in text
    assert "not the clock (within 2 s" in text or "not the clock (within 1 s" in text
    assert "s3cret-value" not in text
