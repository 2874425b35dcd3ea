"""`voicekit doctor`: one authenticated call, a 401 explained in plain words."""

from __future__ import annotations

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
    assert fake_livekit.methods() == ["ListRooms", "ListSIPOutboundTrunk"]
    assert fake_livekit.api_secret not in result.output


def test_doctor_explains_a_wrong_secret(voicekit, telephony_config, fake_livekit):
    path = voicekit.write(telephony_config)
    env = {**fake_livekit.env(), "LIVEKIT_API_SECRET": WRONG_SECRET}
    result = CliRunner().invoke(build_cli(), ["doctor", str(path)], env=env)
    assert result.exit_code == 1
    assert "FAIL authentication" in result.output
    assert "401" in result.output and "different projects" in result.output
    assert fake_livekit.api_key in result.output  # the key id may be shown
    assert WRONG_SECRET not in result.output


def test_doctor_explains_an_unknown_key(voicekit, telephony_config, fake_livekit):
    path = voicekit.write(telephony_config)
    env = {**fake_livekit.env(), "LIVEKIT_API_KEY": "APIotherProject"}
    result = CliRunner().invoke(build_cli(), ["doctor", str(path)], env=env)
    assert result.exit_code == 1
    assert "another project" in result.output


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


def test_explanations_for_clock_skew_and_grants():
    creds = LiveKitCredentials("https://x.livekit.cloud", "APIkey", "s3cret-value")
    skew = explain_auth_failure(401, "invalid token: token is not valid yet (nbf)", creds)
    assert "clock" in skew and "NTP" in skew
    grants = explain_auth_failure(403, "missing permissions: sip admin", creds)
    assert "lacks a grant" in grants
    unknown = explain_auth_failure(401, "", creds)
    assert "different projects" in unknown and "another project" in unknown
    assert "s3cret-value" not in unknown + skew + grants
