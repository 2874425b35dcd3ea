"""``/test-call``: a real agent session driven from the browser, with the offline
``scripted`` model of the TDX example when no provider key is set."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import pytest
import yaml
from dashboard_kit import ADMIN
from dashboard_sse import events, named, read_until
from fastapi.testclient import TestClient

from voicekit_core.calls import Disposition

FAST = {"live_poll_seconds": 0.02, "sse_keepalive_seconds": 0.2}
ROOT = Path(__file__).resolve().parents[3]
QUALIFIED = yaml.safe_load((ROOT / "examples/tdx_sdr/scripts/qualified.yaml").read_text())["turns"]


@pytest.fixture
def app_options() -> dict:
    from voicekit_dashboard.settings import DashboardSettings

    return {"dialer": "external", "settings": DashboardSettings(**FAST)}


def start(client: TestClient, **fields: str) -> dict:
    response = client.post("/api/test-calls", data=fields)
    assert response.status_code == 201, response.text
    return response.json()


def say(client: TestClient, call_id: str, text: str) -> None:
    response = client.post(f"/api/test-calls/{call_id}/say", data={"text": text})
    assert response.status_code == 202, response.text


def test_test_call_routes_need_a_login(anonymous: TestClient):
    for method, path in [
        ("GET", "/api/test-calls"),
        ("POST", "/api/test-calls"),
        ("GET", "/api/test-calls/x"),
        ("POST", "/api/test-calls/x/say"),
        ("POST", "/api/test-calls/x/hangup"),
        ("GET", "/api/test-calls/x/stream"),
    ]:
        assert anonymous.request(method, path).status_code == 401, (method, path)
    assert anonymous.get("/test-call", follow_redirects=False).status_code == 303


def test_starting_needs_the_csrf_token(client: TestClient):
    del client.headers["X-CSRF-Token"]
    response = client.post("/api/test-calls", data={"name": "Ann Lee"})
    assert response.status_code == 403
    assert client.get("/api/test-calls").json() == []


def test_the_page_says_which_model_runs(client: TestClient):
    page = client.get("/test-call")
    assert page.status_code == 200
    model = re.search(r'data-testid="test-call-expected-model">Model: <strong>([^<]+)<', page.text)
    assert model.group(1) == "scripted"
    assert "missing OPENAI_API_KEY" in page.text  # the reason the offline model runs
    assert 'data-testid="start-test-call-form"' in page.text


def test_a_full_test_call_books_a_meeting(client: TestClient, deployment):
    test = start(client, name="Ann Lee", company="Brightline Logistics", phone="(415) 555-0199")
    call_id = test["call_id"]
    assert test["state"] == "running"
    assert test["model"] == "scripted"
    assert (test["lead_name"], test["company"], test["phone"]) == (
        "Ann Lee",
        "Brightline Logistics",
        "+14155550199",
    )
    assert [t["call_id"] for t in client.get("/api/test-calls").json()] == [call_id]
    (live,) = client.get("/api/live").json()
    assert (live["call_id"], live["test_call"]) == (call_id, True)

    with client.stream("GET", f"/api/test-calls/{call_id}/stream?format=json") as stream:
        seen = events(stream)
        greeting = next(seen)
        assert greeting.event == "line"
        assert greeting.json()["role"] == "assistant"
        assert greeting.json()["text"].startswith("Hi Ann, this is Sofía from TDX")
        assert "Brightline Logistics" in greeting.json()["text"]

        for turn in QUALIFIED[:5]:
            say(client, call_id, turn)
        tool = next(e for e in seen if e.event == "tool")
        assert tool.json()["name"] == "qualify_prospect"
        assert tool.json()["arguments"]["budget_usd"] == 60000
        assert tool.json()["is_error"] is False

        say(client, call_id, QUALIFIED[5])  # "The first one works for me."
        say(client, call_id, "ann.lee@brightline.example")
        rest = read_until(seen, lambda e: e.event == "ended")
    end = rest[-1].json()
    assert end["disposition"] == "meeting_booked"
    tools = [e.json()["name"] for e in named(rest, "tool")]
    assert tools == ["check_availability", "schedule_meeting", "end_call"]
    caller = [e.json()["text"] for e in named(rest, "line") if e.json()["role"] == "user"]
    assert caller[-1] == "ann.lee@brightline.example"

    view = client.get(f"/api/test-calls/{call_id}").json()
    assert (view["state"], view["disposition"], view["turns"]) == ("ended", "meeting_booked", 7)
    journaled = deployment.journal.get(call_id)
    assert journaled.disposition is Disposition.MEETING_BOOKED
    assert journaled.data["test_call"] == {"by": ADMIN[0], "source": "dashboard"}
    said = [e.text for e in journaled.transcript if e.role == "user"]
    assert said == [*QUALIFIED[:6], "ann.lee@brightline.example"]
    assert client.get("/api/live").json() == []

    response = client.post(f"/api/test-calls/{call_id}/say", data={"text": "hello?"})
    assert response.status_code == 409
    assert "ended" in response.json()["detail"]
    page = client.get("/test-call")
    assert f'data-call-id="{call_id}"' in page.text  # listed among recent test calls


def test_lines_are_escaped_in_the_page_stream(client: TestClient):
    test = start(client, name="Eve", company="<script>alert(1)</script>")
    call_id = test["call_id"]
    with client.stream("GET", f"/api/test-calls/{call_id}/stream") as stream:
        seen = events(stream)
        greeting = next(seen)
        assert greeting.event == "line"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in greeting.data
        say(client, call_id, "<script>document.cookie</script>")
        line = next(e for e in seen if e.event == "line" and 'data-role="user"' in e.data)
        assert "&lt;script&gt;document.cookie&lt;/script&gt;" in line.data
        assert "<script>" not in greeting.data + line.data
        hangup = client.post(f"/api/test-calls/{call_id}/hangup")
        assert hangup.status_code == 200
        assert hangup.json()["state"] == "ended"
        ended = next(e for e in seen if e.event == "ended")
    assert f'href="/calls/{call_id}"' in ended.data


def test_an_htmx_start_gets_the_chat_panel(client: TestClient):
    response = client.post("/api/test-calls", data={"name": "Ann Lee"}, headers={"HX-Request": "1"})
    assert response.status_code == 201
    assert response.headers["content-type"].startswith("text/html")
    call_id = re.search(r'data-call-id="([^"]+)"', response.text).group(1)
    assert f'sse-connect="/api/test-calls/{call_id}/stream"' in response.text
    assert f'hx-post="/api/test-calls/{call_id}/say"' in response.text
    assert client.get("/test-call").text.count('data-testid="test-call-panel"') == 1


def test_at_most_four_test_calls_run_at_once(client: TestClient):
    calls = [start(client)["call_id"] for _ in range(4)]
    refused = client.post("/api/test-calls", data={})
    assert refused.status_code == 429
    assert "4 test calls are already running" in refused.json()["detail"]
    assert client.post(f"/api/test-calls/{calls[0]}/hangup").json()["state"] == "ended"
    start(client)  # a slot is free again


def test_unknown_test_calls_are_404(client: TestClient):
    assert client.get("/api/test-calls/nope").status_code == 404
    assert client.get("/api/test-calls/nope/stream").status_code == 404
    assert client.post("/api/test-calls/nope/hangup").status_code == 404
    response = client.post("/api/test-calls/nope/say", data={"text": "hi"})
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


def test_bad_input_is_refused(client: TestClient):
    response = client.post("/api/test-calls", data={"phone": "12345"})
    assert response.status_code == 422
    assert "phone '12345'" in response.json()["detail"]
    call_id = start(client)["call_id"]
    assert client.post(f"/api/test-calls/{call_id}/say", data={"text": "   "}).status_code == 422
    too_long = client.post(f"/api/test-calls/{call_id}/say", data={"text": "x" * 2001})
    assert too_long.status_code == 422
    assert "text" in too_long.json()["detail"]
    assert client.get("/api/test-calls").json()[0]["turns"] == 0


def test_an_idle_test_call_ends_by_itself(deployment):
    from dashboard_kit import logged_in
    from voicekit_dashboard.app import create_app
    from voicekit_dashboard.settings import DashboardSettings

    app = create_app(deployment, settings=DashboardSettings(**FAST, test_call_idle_seconds=0.3))
    with logged_in(app) as client:
        call_id = start(client)["call_id"]
        with client.stream("GET", f"/api/test-calls/{call_id}/stream?format=json") as stream:
            end = read_until(stream, lambda e: e.event == "ended")[-1].json()
    assert end["status"] == "finished"
    report = deployment.journal.get(call_id)
    assert any("without a turn" in note for note in report.notes)


def test_a_model_failure_ends_the_call_with_the_reason(example_dir, monkeypatch):
    import livekit.plugins.openai  # noqa: F401  # on the main thread, as the server's startup does
    from dashboard_kit import logged_in
    from voicekit_dashboard.accounts import set_admin
    from voicekit_dashboard.app import create_app
    from voicekit_dashboard.settings import DashboardSettings

    from voicekit_core.deployment import load_deployment
    from voicekit_core.testing_openai import FakeOpenAI

    canary = "sk-canary-dashboard-0f9e8d7c6b5a"
    loop = asyncio.new_event_loop()
    fake = FakeOpenAI(fail_first=1000, fail_status=401)
    loop.run_until_complete(fake.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        config = example_dir / "voicekit.toml"
        text = config.read_text(encoding="utf-8")
        model = f'llm = {{ use = "openai:gpt-4o-mini", base_url = "{fake.base_url}" }}'
        config.write_text(re.sub(r"(?m)^realtime = .*$", model, text), encoding="utf-8")
        monkeypatch.setenv("OPENAI_API_KEY", canary)
        deployment = load_deployment(example_dir)
        set_admin(deployment.store, *ADMIN)
        with logged_in(create_app(deployment, settings=DashboardSettings(**FAST))) as client:
            test = start(client, name="Ann Lee")
            assert test["model"] == "openai:gpt-4o-mini"
            with client.stream("GET", f"/api/test-calls/{test['call_id']}/stream") as stream:
                say(client, test["call_id"], "Hello?")
                seen = read_until(stream, lambda e: e.event == "ended")
            view = client.get(f"/api/test-calls/{test['call_id']}").json()
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    ended = seen[-1].data
    assert 'data-disposition="failed"' in ended
    assert "authentication failed (HTTP 401)" in ended
    assert (view["disposition"], view["state"]) == ("failed", "ended")
    assert "authentication failed" in view["reason"]
    assert canary not in ended + str(view)
