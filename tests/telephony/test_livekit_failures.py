"""LiveKit and network failures said plainly by every telephony command (one shared
translation in `livekit_api`): one line naming the URL and what to check, exit 2, no
traceback, never the secret."""

from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp
import pytest
from click.testing import CliRunner

from voicekit_core.cli import build_cli
from voicekit_core.telephony import credentials
from voicekit_core.telephony.credentials import LiveKitCredentials, resolve_credentials
from voicekit_core.telephony.errors import LiveKitRequestError, TelephonyConfigError
from voicekit_core.telephony.hangup import hang_up
from voicekit_core.telephony.inbound import list_sip

PHONE = "+14155550123"
COMMANDS = {
    "sip list": ["sip", "list"],
    "sip setup-inbound": ["sip", "setup-inbound"],
    "dial": ["dial", "{path}", PHONE],
}


def _args(command: str, path) -> list[str]:
    args = COMMANDS[command]
    if "{path}" in args:
        return [str(path) if a == "{path}" else a for a in args]
    return [*args, str(path)]


def _run(voicekit, telephony_config, command: str, env: dict[str, str]):
    path = voicekit.write(telephony_config)
    return CliRunner().invoke(build_cli(), _args(command, path), env=env)


def _assert_plain_error(result, secret: str, *needles: str) -> str:
    """Exit 2, no traceback, no secret, one message line holding every needle."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and secret not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    assert lines[0] == "error: LiveKitRequestError", result.output
    assert len(lines) == 2, result.output
    for needle in needles:
        assert needle in lines[1], lines[1]
    return lines[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_unreachable_livekit_is_one_line_for_every_command(
    voicekit, telephony_config, fake_livekit, command
):
    port = _free_port()
    env = {**fake_livekit.env(), "LIVEKIT_URL": f"http://127.0.0.1:{port}"}
    result = _run(voicekit, telephony_config, command, env)
    _assert_plain_error(
        result,
        fake_livekit.api_secret,
        f"cannot reach LiveKit at http://127.0.0.1:{port}: connection refused",
        "LIVEKIT_URL",
    )


@pytest.mark.parametrize("command", list(COMMANDS))
def test_wrong_secret_is_diagnosed_for_every_command(
    voicekit, telephony_config, fake_livekit, command
):
    wrong = "wrong-secret-of-another-project-0000000000"
    env = {**fake_livekit.env(), "LIVEKIT_API_SECRET": wrong}
    result = _run(voicekit, telephony_config, command, env)
    _assert_plain_error(result, wrong, "but the API secret is wrong", "signature is invalid")
    assert fake_livekit.api_secret not in result.output


@pytest.mark.parametrize("command", list(COMMANDS))
def test_server_error_is_one_line_for_every_command(
    voicekit, telephony_config, fake_livekit, command
):
    fake_livekit.http_failure = (502, "Bad Gateway")
    result = _run(voicekit, telephony_config, command, fake_livekit.env())
    _assert_plain_error(result, fake_livekit.api_secret, "failed with HTTP 502", "retry later")


def test_unknown_key_and_clock_skew_in_sip_list(voicekit, telephony_config, fake_livekit):
    env = {**fake_livekit.env(), "LIVEKIT_API_KEY": "APIotherProject"}
    unknown = _run(voicekit, telephony_config, "sip list", env)
    _assert_plain_error(
        unknown, fake_livekit.api_secret, "does not know API key", '"invalid API key"'
    )

    fake_livekit.clock_offset = -300
    skewed = _run(voicekit, telephony_config, "sip list", fake_livekit.env())
    _assert_plain_error(skewed, fake_livekit.api_secret, "as not valid yet", "ahead of the server")


def test_dns_failure_names_the_host(voicekit, telephony_config, fake_livekit):
    env = {**fake_livekit.env(), "LIVEKIT_URL": "wss://no-such-project.invalid"}
    result = _run(voicekit, telephony_config, "sip list", env)
    _assert_plain_error(
        result, fake_livekit.api_secret, "'no-such-project.invalid' does not resolve (DNS)"
    )


def test_https_to_a_plain_http_port_is_a_tls_failure(voicekit, telephony_config, fake_livekit):
    env = {**fake_livekit.env(), "LIVEKIT_URL": fake_livekit.url.replace("http:", "https:")}
    result = _run(voicekit, telephony_config, "sip setup-inbound", env)
    _assert_plain_error(result, fake_livekit.api_secret, "TLS handshake", "use ws:// or http://")


def test_a_path_that_is_not_livekit_is_a_404(voicekit, telephony_config, fake_livekit):
    env = {**fake_livekit.env(), "LIVEKIT_URL": fake_livekit.url + "/not-livekit"}
    result = _run(voicekit, telephony_config, "sip list", env)
    _assert_plain_error(result, fake_livekit.api_secret, "no such API endpoint (HTTP 404")


def test_user_info_in_the_url_is_refused_and_never_printed(
    voicekit, telephony_config, fake_livekit
):
    env = {**fake_livekit.env(), "LIVEKIT_URL": f"http://admin:hunter2@127.0.0.1:{_free_port()}"}
    result = _run(voicekit, telephony_config, "sip list", env)
    assert result.exit_code == 2 and "error: TelephonyConfigError" in result.output
    assert "carries a user name or password" in result.output
    assert "hunter2" not in result.output and "admin" not in result.output


def test_a_url_without_scheme_is_a_config_error_before_any_request(
    voicekit, telephony_config, fake_livekit
):
    env = {**fake_livekit.env(), "LIVEKIT_URL": "my-project.livekit.cloud"}
    result = _run(voicekit, telephony_config, "sip list", env)
    assert result.exit_code == 2
    assert "error: TelephonyConfigError" in result.output
    assert "'my-project.livekit.cloud' (from LIVEKIT_URL) is not a wss://" in result.output
    assert fake_livekit.rejected == [] and fake_livekit.requests == []


async def test_a_server_that_never_answers_times_out(monkeypatch):
    """A listening port that accepts and says nothing (a black-holing proxy)."""
    monkeypatch.setattr(credentials, "REQUEST_TIMEOUT_SECONDS", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        creds = LiveKitCredentials(url, "APIkey", "k" * 40)
        with pytest.raises(LiveKitRequestError) as raised:
            await list_sip(creds)
    assert raised.value.kind == "timeout" and raised.value.status == 0
    assert str(raised.value).startswith(f"LiveKit at {url} did not answer within 0.3 s")


async def test_an_untrusted_certificate_is_named(tmp_path):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(close, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        creds = LiveKitCredentials(f"wss://127.0.0.1:{port}", "APIkey", "k" * 40)
        with pytest.raises(LiveKitRequestError) as raised:
            await list_sip(creds)
    finally:
        server.close()
        await server.wait_closed()
    assert raised.value.kind == "certificate"
    assert f"cannot reach LiveKit at wss://127.0.0.1:{port}: its TLS certificate" in str(
        raised.value
    )


async def test_hang_up_never_raises_for_an_unreachable_server():
    creds = LiveKitCredentials(f"http://127.0.0.1:{_free_port()}", "APIkey", "k" * 40)
    assert await hang_up(creds, "call-x") is False


async def test_sip_call_results_still_reach_the_caller(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    """`livekit_api` lets SipCallError through: dial maps it to a disposition."""
    from voicekit_core.telephony.dial import dial

    fake_livekit.dial_failures[PHONE] = (486, "Busy Here")
    deployment = voicekit.load(voicekit.write(telephony_config))
    outcome = await dial(deployment, PHONE)
    assert not outcome.answered and outcome.disposition.value == "busy"


def test_bad_url_is_refused_by_livekit_api(monkeypatch):
    monkeypatch.setenv("LIVEKIT_URL", "ftp://example.com")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIkey")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "k" * 40)
    creds = resolve_credentials()
    with pytest.raises(TelephonyConfigError, match="is not a wss://"):
        asyncio.run(list_sip(creds))


# -- the fake answers like livekit-server --------------------------------------------------


async def test_fake_livekit_answers_auth_failures_in_plain_text_like_livekit_server(
    fake_livekit,
):
    """The bodies of livekit-server's APIKeyAuthMiddleware (pkg/service/auth.go), which
    livekit-api cannot parse: the SDK reports 401 with no message."""
    from livekit import api

    def bearer(key: str, secret: str) -> dict[str, str]:
        token = api.AccessToken(key, secret).with_grants(api.VideoGrants(room_list=True))
        return {"Authorization": f"Bearer {token.to_jwt()}"}

    url = f"{fake_livekit.url}/twirp/livekit.RoomService/ListRooms"
    cases = [
        (bearer("APInope", "x" * 40), "invalid API key"),
        (
            bearer(fake_livekit.api_key, "x" * 40),
            "invalid authorization token: token signature is invalid: signature is invalid",
        ),
        ({"Authorization": "Bearer not-a-jwt"}, "invalid authorization token"),
        (
            {"Authorization": "Basic abc"},
            "invalid authorization header. Must start with Bearer ",
        ),
    ]
    async with aiohttp.ClientSession() as session:
        for headers, body in cases:
            async with session.post(url, headers=headers, data=b"") as resp:
                assert resp.status == 401
                assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
                assert await resp.text() == body
        async with session.get(fake_livekit.url + "/") as health:
            assert await health.text() == "OK" and "Date" in health.headers

    client = api.LiveKitAPI(fake_livekit.url, "APInope", "x" * 40, failover=False)
    try:
        with pytest.raises(api.ServerError) as raised:
            await client.room.list_rooms(api.ListRoomsRequest())
    finally:
        await client.aclose()
    assert (raised.value.status, raised.value.code, raised.value.message) == (401, "unknown", "")


async def test_fake_livekit_judges_token_times_by_its_own_clock(fake_livekit):
    from livekit import api

    fake_livekit.clock_offset = -120  # the server is 2 min behind: our nbf is in its future
    client = api.LiveKitAPI(fake_livekit.url, fake_livekit.api_key, fake_livekit.api_secret)
    try:
        with pytest.raises(api.ServerError):
            await client.room.list_rooms(api.ListRoomsRequest())
    finally:
        await client.aclose()
    assert fake_livekit.rejected[-1] == (
        "ListRooms",
        401,
        "invalid authorization token: token has invalid claims: token is not valid yet",
    )


async def test_fake_livekit_answers_missing_grants_as_twirp_json(fake_livekit):
    """A valid token without the needed grant: Twirp 401 `permissions denied` (JSON, so the
    SDK does see the message)."""
    from livekit import api

    token = api.AccessToken(fake_livekit.api_key, fake_livekit.api_secret).to_jwt()
    url = f"{fake_livekit.url}/twirp/livekit.RoomService/ListRooms"
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session, session.post(url, headers=headers) as resp:
        assert resp.status == 401
        assert await resp.json() == {"code": "unauthenticated", "msg": "permissions denied"}
