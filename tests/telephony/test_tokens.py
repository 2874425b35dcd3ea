"""Join tokens verify with TokenVerifier and carry the agent dispatch."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from jwt import exceptions as jwt_errors
from livekit import api

from voicekit_core.cli import build_cli
from voicekit_core.telephony.tokens import parse_ttl
from voicekit_core.testing_livekit import DEFAULT_KEY, DEFAULT_SECRET

ENV = {
    "LIVEKIT_URL": "wss://example.livekit.cloud",
    "LIVEKIT_API_KEY": DEFAULT_KEY,
    "LIVEKIT_API_SECRET": DEFAULT_SECRET,
}


def test_token_verifies_and_dispatches_the_agent(voicekit):
    path = voicekit.write()
    result = CliRunner().invoke(
        build_cli(),
        ["token", str(path), "--room", "call-demo", "--identity", "tester", "--ttl", "15m"],
        env=ENV,
    )
    assert result.exit_code == 0, result.output
    jwt = result.output.strip()
    assert DEFAULT_SECRET not in result.output
    claims = api.TokenVerifier(DEFAULT_KEY, DEFAULT_SECRET).verify(jwt)
    assert claims.identity == "tester"
    assert claims.video.room_join and claims.video.room == "call-demo"
    dispatch = claims.room_config.agents[0]
    assert dispatch.agent_name == "test-agent"
    assert json.loads(dispatch.metadata)["direction"] == "inbound"
    with pytest.raises(jwt_errors.InvalidSignatureError):
        api.TokenVerifier(DEFAULT_KEY, "another-secret-0123456789abcdefghijkl").verify(jwt)


def test_bad_ttl_and_missing_credentials_exit_2(voicekit):
    path = voicekit.write()
    cli = build_cli()
    bad_ttl = CliRunner().invoke(
        cli, ["token", str(path), "--room", "r", "--identity", "i", "--ttl", "soon"], env=ENV
    )
    assert bad_ttl.exit_code == 2 and "--ttl" in bad_ttl.output
    no_env = {name: None for name in ENV}
    missing = CliRunner().invoke(
        cli, ["token", str(path), "--room", "r", "--identity", "i"], env=no_env
    )
    assert missing.exit_code == 2 and "LIVEKIT_API_SECRET" in missing.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("1h", timedelta(hours=1)),
        ("2d", timedelta(days=2)),
    ],
)
def test_parse_ttl(text, expected):
    assert parse_ttl(text) == expected


@pytest.mark.parametrize("text", ["", "0s", "1w", "31d", "-5m"])
def test_parse_ttl_rejects(text):
    with pytest.raises(ValueError):
        parse_ttl(text)
