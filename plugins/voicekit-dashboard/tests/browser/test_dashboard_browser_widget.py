"""The voice widget in a real browser, embedded by a page of another origin.

The dashboard runs in this process (uvicorn in a thread) with the page's origin allowed;
LIVEKIT_URL points at a stand-in LiveKit server that refuses every token the way
livekit-server does (401, plain-text reason), so the widget goes all the way from the
click to the join attempt: token over CORS, vendored livekit-client, connect, refusal.

A call's states (waiting, listening, agent speaking, the agent's audio, hang-up, the agent
leaving, a refused microphone) are driven through a stand-in ``LivekitClient`` the page
defines before the widget loads (the widget uses a page's own copy when there is one):
no WebRTC server runs offline.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "browser-widget-secret-0123456789abcdefghij"
PAGE = """<!doctype html>
<html><head><title>Shop</title>
<style>button { background: red !important; font-size: 40px !important; }</style>
</head><body><h1>A shop</h1>
<script src="{dashboard}/widget.js" data-label="Ask the shop" data-color="#2f5bea"
        data-position="bottom-left" defer></script>
</body></html>"""
#: a microphone for headless Chromium (it has no capture device): a tone from WebAudio
FAKE_MICROPHONE = """
navigator.mediaDevices.getUserMedia = async (constraints) => {
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  const sink = audio.createMediaStreamDestination();
  tone.connect(sink);
  tone.start();
  return sink.stream;
};
"""
#: a stand-in for livekit-client's Room: the same event names and the calls the widget makes
FAKE_LIVEKIT = """<script>
window.fakeRooms = [];
class FakeRoom {
  constructor(options) {
    this.handlers = {};
    this.remoteParticipants = new Map();
    this.canPlaybackAudio = true;
    this.disconnected = false;
    const room = this;
    this.localParticipant = {
      identity: "visitor",
      async publishTrack(track) { room.published = track; },
    };
    window.fakeRooms.push(this);
  }
  on(event, handler) { (this.handlers[event] = this.handlers[event] || []).push(handler); return this; }
  emit(event, ...args) { (this.handlers[event] || []).forEach((h) => h(...args)); }
  async connect(url, token) { this.url = url; this.token = token; }
  async disconnect() { this.disconnected = true; this.emit("disconnected", 1); }
  async startAudio() {}
}
window.microphones = [];
window.LivekitClient = {
  Room: FakeRoom,
  async createLocalAudioTrack(options) {
    if (window.fakeMicError) {
      const error = new Error("Permission denied");
      error.name = window.fakeMicError;
      throw error;
    }
    const track = { kind: "audio", options, stopped: false, stop() { this.stopped = true; } };
    window.microphones.push(track);
    return track;
  },
  RoomEvent: {
    TrackSubscribed: "trackSubscribed", TrackUnsubscribed: "trackUnsubscribed",
    ParticipantConnected: "participantConnected",
    ParticipantDisconnected: "participantDisconnected",
    ParticipantAttributesChanged: "participantAttributesChanged",
    ActiveSpeakersChanged: "activeSpeakersChanged",
    AudioPlaybackStatusChanged: "audioPlaybackChanged", Disconnected: "disconnected",
  },
};
window.agentJoins = (state) => {
  const room = window.fakeRooms[window.fakeRooms.length - 1];
  const agent = { identity: "agent-1", isAgent: true, attributes: { "lk.agent.state": state } };
  room.remoteParticipants.set(agent.identity, agent);
  room.emit("participantConnected", agent);
  return agent;
};
window.agentState = (state) => {
  const room = window.fakeRooms[window.fakeRooms.length - 1];
  const agent = room.remoteParticipants.get("agent-1");
  agent.attributes = { "lk.agent.state": state };
  room.emit("participantAttributesChanged", { "lk.agent.state": state }, agent);
};
window.agentSpeaks = () => {
  const room = window.fakeRooms[window.fakeRooms.length - 1];
  const track = {
    kind: "audio",
    elements: [],
    attach() { const a = document.createElement("audio"); this.elements.push(a); return a; },
    detach() { return this.elements.splice(0); },
  };
  room.emit("trackSubscribed", track, {}, room.remoteParticipants.get("agent-1"));
};
window.agentLeaves = () => {
  const room = window.fakeRooms[window.fakeRooms.length - 1];
  const agent = room.remoteParticipants.get("agent-1");
  room.remoteParticipants.delete("agent-1");
  room.emit("participantDisconnected", agent);
};
</script>"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Quiet(BaseHTTPRequestHandler):
    """A handler that logs nothing and answers with :meth:`reply`."""

    def reply(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class RefusingLiveKit(_Quiet):
    """Every request (the signal WebSocket, then livekit-client's ``/rtc/validate``)
    answers as livekit-server does for a key it does not know."""

    def do_GET(self):
        self.reply(401, "text/plain", b"invalid API key", {"Access-Control-Allow-Origin": "*"})


def _page_handler(pages: dict[str, str]) -> type[BaseHTTPRequestHandler]:
    class Page(_Quiet):
        def do_GET(self):
            self.reply(200, "text/html; charset=utf-8", pages.get(self.path, "").encode())

    return Page


@pytest.fixture
def embedded(deployment, monkeypatch):
    """``{"page": URL of the shop page, "dashboard": its base URL}``; the shop's origin is
    ``http://127.0.0.1:<port>`` (``http://localhost:<port>`` is another, refused, origin)."""
    import uvicorn
    from voicekit_dashboard.app import create_app
    from voicekit_dashboard.settings import DashboardSettings

    livekit = _serve(RefusingLiveKit)
    monkeypatch.setenv("LIVEKIT_URL", f"http://127.0.0.1:{livekit.server_port}")
    monkeypatch.setenv("LIVEKIT_API_KEY", "APIbrowserWidget")
    monkeypatch.setenv("LIVEKIT_API_SECRET", SECRET)
    dash_port = _free_port()
    dashboard = f"http://127.0.0.1:{dash_port}"
    page_port = _free_port()
    settings = DashboardSettings(widget_allowed_origins=[f"http://127.0.0.1:{page_port}"])
    app = create_app(deployment, settings=settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=dash_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.05)
    page = PAGE.replace("{dashboard}", dashboard)
    pages = {"/": page, "/fake": page.replace("</title>", "</title>" + FAKE_LIVEKIT)}
    shop = ThreadingHTTPServer(("127.0.0.1", page_port), _page_handler(pages))
    threading.Thread(target=shop.serve_forever, daemon=True).start()
    yield {"page": f"http://127.0.0.1:{page_port}/", "port": page_port, "dashboard": dashboard}
    shop.shutdown()
    server.should_exit = True
    thread.join(timeout=10)
    livekit.shutdown()


def _open(browser, url: str):
    context = browser.new_context()
    context.add_init_script(script=FAKE_MICROPHONE)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(url)
    return context, page, errors, requests


def test_widget_renders_isolated_then_reports_a_refused_join(browser, embedded, shots_dir):
    context, page, errors, requests = _open(browser, embedded["page"])
    launch = page.get_by_test_id("voicekit-widget-button")
    assert launch.inner_text() == "Ask the shop"
    # the page's `button { ... !important }` does not reach into the shadow root
    style = launch.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).fontSize]"
    )
    assert style == ["rgb(47, 91, 234)", "14px"]
    assert page.locator("voicekit-widget").get_attribute("data-position") == "bottom-left"
    box = launch.bounding_box()
    assert box["x"] < 100  # bottom-left
    assert page.evaluate("document.querySelector('voicekit-widget').shadowRoot !== null")

    launch.click()
    page.wait_for_function("document.querySelector('voicekit-widget').dataset.state === 'error'")
    status = page.get_by_test_id("voicekit-widget-status").inner_text()
    assert "refused the call (HTTP 401: invalid API key)" in status
    assert "voicekit doctor" in status
    assert page.evaluate("typeof window.LivekitClient.Room") == "function"
    page.screenshot(path=str(shots_dir / "widget-error.png"))
    assert SECRET not in page.content()
    token_calls = [url for url in requests if url.endswith("/api/widget/token")]
    assert token_calls == [embedded["dashboard"] + "/api/widget/token"]
    assert f"{embedded['dashboard']}/static/vendor/livekit-client-2.23.0.umd.js" in requests
    hosts = {url.split("/")[2] for url in requests}
    assert all(host.startswith("127.0.0.1:") for host in hosts), hosts  # nothing external

    page.get_by_test_id("voicekit-widget-close").click()
    assert page.get_by_test_id("voicekit-widget-panel").is_hidden()
    assert not errors, errors
    context.close()


def test_a_page_of_another_origin_gets_no_token(browser, embedded):
    # same page, reached as localhost: an origin that is not in widget_allowed_origins
    url = f"http://localhost:{embedded['port']}/"
    context, page, errors, requests = _open(browser, url)
    page.get_by_test_id("voicekit-widget-button").click()
    page.wait_for_function("document.querySelector('voicekit-widget').dataset.state === 'error'")
    status = page.get_by_test_id("voicekit-widget-status").inner_text()
    assert status.startswith("Could not reach the voice service")
    assert sum(url.endswith("/api/widget/token") for url in requests) == 1  # asked, refused
    assert not errors, errors
    context.close()


def _state(page) -> str:
    return page.evaluate("document.querySelector('voicekit-widget').dataset.state")


def _wait_state(page, state: str) -> str:
    page.wait_for_function(f"document.querySelector('voicekit-widget').dataset.state === {state!r}")
    return page.get_by_test_id("voicekit-widget-status").inner_text()


def test_a_call_shows_the_agents_state_plays_its_audio_and_hangs_up(browser, embedded):
    context, page, errors, requests = _open(browser, embedded["page"] + "fake")
    page.get_by_test_id("voicekit-widget-button").click()
    assert _wait_state(page, "waiting") == "Waiting for the agent\u2026"
    room = page.evaluate(
        "({url: fakeRooms[0].url, token: fakeRooms[0].token,"
        " published: fakeRooms[0].published === microphones[0],"
        " options: microphones[0].options})"
    )
    assert room["url"].startswith("http://127.0.0.1:")  # LIVEKIT_URL, from the token endpoint
    assert room["token"].count(".") == 2
    assert room["published"] is True  # the visitor's microphone is in the room
    assert room["options"]["echoCancellation"] is True
    assert page.get_by_test_id("voicekit-widget-button").is_hidden()
    assert page.get_by_test_id("voicekit-widget-hangup").is_visible()

    page.evaluate("agentJoins('listening')")
    assert _wait_state(page, "listening") == "Listening"
    page.evaluate("agentState('thinking')")
    assert _wait_state(page, "thinking") == "Thinking\u2026"
    page.evaluate("agentState('speaking')")
    assert _wait_state(page, "speaking") == "Agent speaking"
    page.evaluate("agentSpeaks()")
    in_shadow = (
        "document.querySelector('voicekit-widget').shadowRoot.querySelectorAll('audio').length"
    )
    assert page.evaluate(in_shadow) == 1  # the agent's audio plays inside the widget

    page.get_by_test_id("voicekit-widget-hangup").click()
    assert _wait_state(page, "ended") == "Call ended"
    assert page.evaluate("fakeRooms[0].disconnected") is True
    assert page.evaluate("microphones[0].stopped") is True  # the mic indicator goes off
    assert page.evaluate(in_shadow) == 0
    assert page.get_by_test_id("voicekit-widget-button").is_visible()

    # a second call; this time the agent ends it
    page.get_by_test_id("voicekit-widget-button").click()
    _wait_state(page, "waiting")
    page.evaluate("agentJoins('initializing')")
    page.evaluate("agentState('listening')")
    _wait_state(page, "listening")
    page.evaluate("agentLeaves()")
    assert _wait_state(page, "ended") == "The agent ended the call."
    assert page.evaluate("fakeRooms.length") == 2 and page.evaluate("fakeRooms[1].disconnected")
    # the page's own LivekitClient was used: the vendored copy was not loaded
    assert not any("livekit-client" in url for url in requests)
    assert sum(url.endswith("/api/widget/token") for url in requests) == 2
    assert not errors, errors
    context.close()


def test_a_refused_microphone_ends_before_any_token_or_agent(browser, embedded):
    context, page, errors, requests = _open(browser, embedded["page"] + "fake")
    page.evaluate("window.fakeMicError = 'NotAllowedError'")
    page.get_by_test_id("voicekit-widget-button").click()
    status = _wait_state(page, "error")
    assert status == "Microphone access was denied; allow it in the browser to talk."
    # asked before the token: no token, no room, so no agent dispatched for nothing
    assert not any(url.endswith("/api/widget/token") for url in requests)
    assert page.evaluate("fakeRooms.length") == 0
    page.evaluate("window.fakeMicError = 'NotFoundError'")
    page.get_by_test_id("voicekit-widget-button").click()
    assert _wait_state(page, "error") == "No microphone was found."
    assert not errors, errors
    context.close()
