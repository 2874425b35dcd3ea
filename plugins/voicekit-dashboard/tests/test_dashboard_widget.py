"""The web voice widget: ``/widget.js`` and the public token endpoint
``POST /api/widget/token`` (origins, CORS, rate limit, credentials, the token itself)."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from voicekit_dashboard.routes.widget import normalize_origin, origin_allowed
from voicekit_dashboard.settings import DashboardSettings

ORIGIN = "https://www.example.com"
URL = "wss://voicekit-test.livekit.cloud"
KEY = "APIwidgetTest01"
SECRET = "widget-test-secret-0123456789abcdefghijklmnop"  # never in a response
TTL = 300
STATIC = Path(__file__).resolve().parents[1] / "src" / "voicekit_dashboard" / "static"
TOKEN = "/api/widget/token"


@pytest.fixture
def app_options() -> dict:
    settings = DashboardSettings(
        widget_allowed_origins=[ORIGIN, "http://localhost:8080/"],
        widget_token_ttl_seconds=TTL,
        widget_rate="3/minute",
    )
    return {"dialer": "external", "settings": settings}


@pytest.fixture
def livekit_env(deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """LiveKit credentials in the environment, set after the deployment fixture cleared
    them (they are read when a token is minted, not when the deployment loads)."""
    monkeypatch.setenv("LIVEKIT_URL", URL)
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)


def _token(client: TestClient, origin: str | None = ORIGIN, **kwargs):
    headers = {"Origin": origin} if origin else {}
    return client.post(TOKEN, headers=headers, **kwargs)


def _claims(token: str) -> dict:
    """The JWT's claims, signature checked with the deployment's secret."""
    return jwt.decode(token, SECRET, algorithms=["HS256"], issuer=KEY)


def _no_secret(response) -> None:
    assert SECRET not in response.text
    assert all(SECRET not in value for value in response.headers.values())


# -- the token ------------------------------------------------------------------------


def test_allowed_origin_gets_a_token_that_dispatches_the_deployments_agent(
    anonymous: TestClient, livekit_env, deployment
):
    from livekit import api

    response = _token(anonymous)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "server_url",
        "participant_token",
        "room_name",
        "participant_identity",
        "expires_at",
    }
    assert body["server_url"] == URL
    assert re.fullmatch(r"web-[0-9a-f]{16}", body["room_name"])
    assert re.fullmatch(r"web-[0-9a-f]{12}", body["participant_identity"])
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Origin" in response.headers["vary"]
    assert response.headers["cache-control"] == "no-store"

    raw = _claims(body["participant_token"])
    assert raw["sub"] == body["participant_identity"]
    assert raw["video"] == {
        "roomJoin": True,
        "room": body["room_name"],
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }
    assert raw["exp"] - raw["nbf"] == TTL
    assert (
        datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
        == (raw["exp"])
    )

    claims = api.TokenVerifier(KEY, SECRET).verify(body["participant_token"])
    agents = list(claims.room_config.agents)
    assert [a.agent_name for a in agents] == [deployment.config.agent.name] == ["tdx-sdr"]
    metadata = json.loads(agents[0].metadata)
    assert metadata["direction"] == "inbound"
    assert metadata["call_id"] == body["room_name"]
    assert metadata["extra"] == {"channel": "web", "origin": ORIGIN}
    _no_secret(response)


def test_the_client_chooses_neither_agent_nor_room_nor_identity(anonymous: TestClient, livekit_env):
    wishes = {"agent_name": "other-agent", "room": "my-room", "identity": "admin"}
    first = anonymous.post(TOKEN, headers={"Origin": ORIGIN}, json=wishes, params=wishes)
    second = _token(anonymous)
    assert first.status_code == second.status_code == 200
    a, b = first.json(), second.json()
    assert (
        a["room_name"] != b["room_name"] and a["participant_identity"] != b["participant_identity"]
    )
    claims = _claims(a["participant_token"])
    assert claims["video"]["room"] == a["room_name"] != "my-room"
    assert claims["sub"] != "admin"
    assert [agent["agentName"] for agent in claims["roomConfig"]["agents"]] == ["tdx-sdr"]
    assert "other-agent" not in json.dumps(claims)


def test_token_lifetime_is_capped_at_15_minutes(deployment, livekit_env):
    from voicekit_dashboard.app import create_app

    app = create_app(
        deployment,
        settings=DashboardSettings(widget_allowed_origins=["*"], widget_token_ttl_seconds=900),
    )
    with TestClient(app) as anonymous:
        claims = _claims(_token(anonymous).json()["participant_token"])
    assert claims["exp"] - claims["nbf"] == 900
    with pytest.raises(ValidationError, match="widget_token_ttl_seconds"):
        DashboardSettings(widget_token_ttl_seconds=901)


def test_widget_endpoints_are_public_and_documented(anonymous: TestClient, client, livekit_env):
    assert _token(anonymous).status_code == 200  # no login
    assert anonymous.get("/widget.js").status_code == 200
    spec = client.get("/api/openapi.json").json()
    operation = spec["paths"][TOKEN]["post"]
    assert operation["tags"] == ["widget"]
    assert {"200", "403", "429", "503"} <= set(operation["responses"])
    assert "options" not in spec["paths"][TOKEN]


# -- origins and CORS ----------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.org",
        "http://www.example.com",  # another scheme is another origin
        "https://www.example.com.evil.org",
        "https://www.example.com:8443",
        "null",  # sandboxed iframes and file:// pages
    ],
)
def test_other_origins_are_refused_without_cors_headers(anonymous: TestClient, livekit_env, origin):
    response = _token(anonymous, origin)
    assert response.status_code == 403
    assert "widget_allowed_origins" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    _no_secret(response)


def test_a_request_without_origin_is_refused(anonymous: TestClient, livekit_env):
    response = _token(anonymous, origin=None)
    assert response.status_code == 403
    assert "Origin" in response.json()["detail"]


def test_listed_origins_match_as_browsers_send_them(anonymous: TestClient, livekit_env):
    # listed as "http://localhost:8080/": the trailing slash is dropped when settings load
    response = _token(anonymous, "http://localhost:8080")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:8080"


def test_origin_normalization():
    assert normalize_origin("HTTPS://WWW.Example.com:443/") == "https://www.example.com"
    assert normalize_origin("http://example.com:80") == "http://example.com"
    assert normalize_origin("http://example.com:8080") == "http://example.com:8080"
    assert normalize_origin("http://[::1]:3000") == "http://[::1]:3000"
    assert normalize_origin("null") == normalize_origin("ftp://example.com") == ""
    listed = DashboardSettings(widget_allowed_origins=["https://Shop.Example.com"])
    assert origin_allowed("https://shop.example.com", listed)
    assert not origin_allowed("https://example.com", listed)
    assert not origin_allowed("", DashboardSettings(widget_allowed_origins=["*"]))
    with pytest.raises(ValidationError, match="not an origin"):
        DashboardSettings(widget_allowed_origins=["www.example.com"])


def test_the_widget_is_disabled_by_default(deployment, livekit_env):
    from voicekit_dashboard.app import create_app

    assert DashboardSettings().widget_allowed_origins == []
    with TestClient(create_app(deployment)) as anonymous:
        response = _token(anonymous)
        preflight = anonymous.options(TOKEN, headers={"Origin": ORIGIN})
        script = anonymous.get("/widget.js")
    assert response.status_code == preflight.status_code == 403
    assert "disabled" in response.json()["detail"]
    assert "widget_allowed_origins" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers
    assert script.status_code == 200  # the script is static; only tokens are refused


def test_a_star_allows_every_origin(deployment, livekit_env):
    from voicekit_dashboard.app import create_app

    app = create_app(deployment, settings=DashboardSettings(widget_allowed_origins=["*"]))
    with TestClient(app) as anonymous:
        response = _token(anonymous, "https://anything.example.net")
        missing = _token(anonymous, origin=None)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://anything.example.net"
    assert missing.status_code == 403


def test_preflight_answers_allowed_origins_only(anonymous: TestClient):
    request = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = anonymous.options(TOKEN, headers={"Origin": ORIGIN, **request})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "Content-Type" in allowed.headers["access-control-allow-headers"]
    assert int(allowed.headers["access-control-max-age"]) > 0
    assert allowed.content == b""
    refused = anonymous.options(TOKEN, headers={"Origin": "https://evil.example.org", **request})
    assert refused.status_code == 403
    assert "access-control-allow-origin" not in refused.headers


# -- limits and failures -------------------------------------------------------------


def test_per_ip_rate_limit_answers_429_with_retry_after(anonymous: TestClient, livekit_env):
    assert [_token(anonymous).status_code for _ in range(3)] == [200, 200, 200]
    response = _token(anonymous)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    # the widget must be able to read the answer: CORS headers on the refusal too
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "Retry-After" in response.headers["access-control-expose-headers"]
    assert "too many widget requests" in response.json()["detail"]


def test_refused_origins_do_not_get_tokens_when_rate_limited_either(
    anonymous: TestClient, livekit_env
):
    for _ in range(3):
        assert _token(anonymous, "https://evil.example.org").status_code == 403
    assert _token(anonymous).status_code == 200  # refusals are not counted against the IP


def test_missing_credentials_answer_503_naming_the_variables(
    anonymous: TestClient, monkeypatch: pytest.MonkeyPatch
):
    response = _token(anonymous)
    assert response.status_code == 503
    detail = response.json()["detail"]
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "voicekit doctor"):
        assert name in detail
    assert response.headers["access-control-allow-origin"] == ORIGIN

    monkeypatch.setenv("LIVEKIT_URL", URL)
    monkeypatch.setenv("LIVEKIT_API_KEY", KEY)
    response = _token(anonymous)
    assert response.status_code == 503
    assert "LIVEKIT_API_SECRET" in response.json()["detail"]
    assert "LIVEKIT_URL" not in response.json()["detail"]


def test_a_malformed_livekit_url_answers_503(anonymous: TestClient, livekit_env, monkeypatch):
    monkeypatch.setenv("LIVEKIT_URL", "ftp://livekit.example.com")
    response = _token(anonymous)
    assert response.status_code == 503
    assert "voicekit doctor" in response.json()["detail"]
    _no_secret(response)


def test_the_api_secret_never_leaves_the_server(
    anonymous: TestClient, livekit_env, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    responses = [
        _token(anonymous),
        _token(anonymous, "https://evil.example.org"),
        _token(anonymous, origin=None),
        anonymous.options(TOKEN, headers={"Origin": ORIGIN}),
        _token(anonymous),
        _token(anonymous),
        _token(anonymous),  # 429
        anonymous.get("/widget.js"),
    ]
    assert {r.status_code for r in responses} >= {200, 204, 403, 429}
    for response in responses:
        _no_secret(response)
    assert SECRET not in caplog.text
    assert "widget token for https://www.example.com" in caplog.text  # it does log the grant


# -- the script ----------------------------------------------------------------------


def test_widget_js_is_served_as_javascript_with_cache_headers(anonymous: TestClient):
    response = anonymous.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/javascript")
    assert re.fullmatch(r"public, max-age=\d+", response.headers["cache-control"])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.text == (STATIC / "widget.js").read_text(encoding="utf-8")
    etag = response.headers["etag"]
    again = anonymous.get("/widget.js", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert anonymous.get("/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200


def test_widget_js_loads_nothing_from_another_host():
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    urls = set(re.findall(r"(?:https?:)?//[\w-]+(?:\.[\w-]+)+[^\s\"']*", js))
    # the SVG namespace is an XML name given to createElementNS, never fetched
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    for cdn in ("cdn", "unpkg", "jsdelivr", "googleapis", "cloudflare"):
        assert cdn not in js.lower()
    # the library comes from the vendored file, next to widget.js on the same server
    vendored = re.search(r'"(static/vendor/livekit-client-[\d.]+\.umd\.js)"', js).group(1)
    assert (STATIC.parent / vendored).is_file()
    assert '"api/widget/token"' in js
    assert "document.currentScript" in js
    # untrusted text only through textContent
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in js, sink
    assert "attachShadow" in js
    # plain ES2017: no optional chaining or nullish coalescing, no modules
    assert "?." not in js and "??" not in js
    assert not re.search(r"^\s*(import|export)\s", js, re.M)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_widget_js_parses():
    result = subprocess.run(
        ["node", "--check", str(STATIC / "widget.js")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_vendored_livekit_client_matches_its_checksum(anonymous: TestClient):
    sums = {}
    for line in (STATIC / "vendor" / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        sums[name] = digest
    name = next(n for n in sums if n.startswith("livekit-client-"))
    data = (STATIC / "vendor" / name).read_bytes()
    assert hashlib.sha256(data).hexdigest() == sums[name]
    js = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert f"static/vendor/{name}" in js  # widget.js loads exactly the checked file
    served = anonymous.get(f"/static/vendor/{name}")  # public: pages of other sites load it
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == sums[name]
