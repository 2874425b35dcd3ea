"""``/live``: calls in flight read from the store and pushed over server-sent events, and
one call's transcript followed as it is journaled."""

from __future__ import annotations

import asyncio
import csv
import threading
from datetime import timedelta

import pytest
from dashboard_sse import events, named, read_until
from fastapi.testclient import TestClient

from voicekit_core.calls import CallReport, Disposition, ToolCallRecord, TranscriptEntry, utcnow

FAST = {"live_poll_seconds": 0.02, "sse_keepalive_seconds": 0.2}


@pytest.fixture
def app_options() -> dict:
    from voicekit_dashboard.settings import DashboardSettings

    return {"dialer": "external", "settings": DashboardSettings(**FAST)}


def report(call_id: str, *, name: str = "Dana Whitfield", lines=(), tools=(), **fields):
    """A report so far of an outbound call to a TDX lead."""
    now = utcnow()
    first, _, last = name.partition(" ")
    values = {
        "call_id": call_id,
        "agent_name": "tdx-sdr",
        "direction": "outbound",
        "mode": "live",
        "phone": "+14155550101",
        "lead": {"first_name": first, "last_name": last, "company": "Brightline Logistics"},
        "started_at": now - timedelta(seconds=5),
        "ended_at": now,
        "duration_seconds": 5.0,
        "transcript": [
            TranscriptEntry(role=role, text=text, at=now + timedelta(milliseconds=i))
            for i, (role, text) in enumerate(lines)
        ],
        "tool_calls": list(tools),
        "disposition": Disposition.COMPLETED,
    }
    values.update(fields)
    return CallReport(**values)


def test_live_routes_need_a_login(anonymous: TestClient):
    for path in ("/api/live", "/api/live/stream", "/api/live/x", "/api/live/x/stream"):
        response = anonymous.get(path)
        assert response.status_code == 401, path
    response = anonymous.get("/live", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_nothing_in_flight(client: TestClient):
    assert client.get("/api/live").json() == []
    page = client.get("/live")
    assert page.status_code == 200
    assert 'data-testid="live-empty"' in page.text
    assert 'sse-connect="/api/live/stream"' in page.text


def test_a_journaled_call_is_live_until_it_finishes(client: TestClient, deployment):
    journal = deployment.journal
    journal.start_call(report("call-live-1"))
    calls = client.get("/api/live").json()
    assert [(c["call_id"], c["state"], c["lead_name"]) for c in calls] == [
        ("call-live-1", "in_call", "Dana Whitfield")
    ]
    assert calls[0]["elapsed_seconds"] >= 0
    assert calls[0]["test_call"] is False
    page = client.get("/live")
    assert 'data-call-id="call-live-1"' in page.text
    assert 'href="/live/call-live-1"' in page.text

    journal.finish_call(report("call-live-1", disposition=Disposition.QUALIFIED), [])
    assert client.get("/api/live").json() == []


def test_a_call_whose_process_died_is_not_live(client: TestClient, deployment):
    from sqlalchemy import update

    from voicekit_core.store.tables import calls

    deployment.journal.start_call(report("call-dead"))
    with deployment.store.write() as db:
        db.execute(
            update(calls).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )  # its lease ran out: nobody renews it
    assert client.get("/api/live").json() == []


def test_the_board_stream_pushes_changes_only(client: TestClient, deployment):
    journal = deployment.journal
    with client.stream("GET", "/api/live/stream?format=json") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        seen = events(stream)
        first = next(seen)
        assert (first.event, first.json()) == ("calls", [])

        journal.start_call(report("call-sse-1", name="Marcus Chen"))
        started = next(e for e in seen if e.event == "calls")
        assert [(c["call_id"], c["lead_name"]) for c in started.json()] == [
            ("call-sse-1", "Marcus Chen")
        ]

        # a new transcript line changes nothing the board shows: only keep-alives follow
        update = report("call-sse-1", name="Marcus Chen", lines=[("assistant", "Hi Marcus")])
        journal.update_call(update, disposition=None)
        quiet = [next(seen) for _ in range(2)]
        assert all(e.comment == "keep-alive" and e.event is None for e in quiet), quiet

        journal.finish_call(report("call-sse-1"), [])
        ended = next(e for e in seen if e.event == "calls")
        assert ended.json() == []


def test_the_board_stream_renders_escaped_rows(client: TestClient, deployment):
    deployment.journal.start_call(report("call-xss", name="<script>alert(1)</script> Lee"))
    with client.stream("GET", "/api/live/stream") as stream:
        event = read_until(stream, lambda e: e.event == "calls")[-1]
    assert 'data-call-id="call-xss"' in event.data
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in event.data
    assert "<script>" not in event.data
    assert 'data-state="in_call"' in event.data


def test_following_one_call_until_it_ends(client: TestClient, deployment):
    journal = deployment.journal
    journal.start_call(report("call-follow", lines=[("assistant", "Hi Dana, this is Sofía.")]))

    page = client.get("/live/call-follow")
    assert page.status_code == 200
    assert "Hi Dana, this is Sofía." in page.text
    assert 'sse-connect="/api/live/call-follow/stream?lines=1&amp;tools=0"' in page.text

    with client.stream("GET", "/api/live/call-follow/stream") as stream:
        seen = events(stream)
        greeting = next(e for e in seen if e.event == "line")
        assert "Hi Dana, this is Sofía." in greeting.data
        assert greeting.id == "1.0"

        tool = ToolCallRecord(
            name="qualify_prospect",
            arguments={"budget_usd": 60000},
            output="budget <b>unknown</b>",
            is_error=True,
            at=utcnow() + timedelta(seconds=1),
        )
        later = report(
            "call-follow",
            lines=[
                ("assistant", "Hi Dana, this is Sofía."),
                ("user", "<script>alert('x')</script> sure"),
            ],
            tools=[tool],
        )
        journal.update_call(later, disposition=None)
        line = next(e for e in seen if e.event == "line")
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; sure" in line.data
        assert "<script>" not in line.data
        assert 'data-role="user"' in line.data
        failed = next(e for e in seen if e.event == "tool")
        assert 'data-tool="qualify_prospect"' in failed.data
        assert 'data-failed="true"' in failed.data
        assert "budget &lt;b&gt;unknown&lt;/b&gt;" in failed.data
        assert failed.id == "2.1"

        journal.finish_call(report("call-follow", disposition=Disposition.NOT_INTERESTED), [])
        ended = next(e for e in seen if e.event == "ended")
        assert 'data-disposition="not_interested"' in ended.data
        assert 'href="/calls/call-follow"' in ended.data
        assert list(seen) == []  # the server closed the stream after `ended`

    page = client.get("/live/call-follow")
    assert 'data-testid="call-ended"' in page.text
    assert "sse-connect" not in page.text  # nothing left to follow


def test_the_call_stream_in_json_resumes_after_last_event_id(client: TestClient, deployment):
    lines = [("assistant", "One"), ("user", "Two"), ("assistant", "Three")]
    deployment.journal.start_call(report("call-resume", lines=lines))
    deployment.journal.finish_call(
        report("call-resume", lines=lines, disposition=Disposition.VOICEMAIL), []
    )
    with client.stream(
        "GET", "/api/live/call-resume/stream?format=json", headers={"Last-Event-ID": "2.0"}
    ) as stream:
        seen = read_until(stream, lambda e: e.event == "ended")
    assert [e.json()["text"] for e in named(seen, "line")] == ["Three"]
    assert named(seen, "ended")[0].json() == {
        "call_id": "call-resume",
        "status": "finished",
        "disposition": "voicemail",
        "reason": "",
        "duration_seconds": 5.0,
    }
    detail = client.get("/api/live/call-resume").json()
    assert [item["text"] for item in detail["items"]] == ["One", "Two", "Three"]
    assert detail["ended"]["disposition"] == "voicemail"


def test_unknown_calls_are_404(client: TestClient):
    for path in ("/api/live/nope", "/api/live/nope/stream", "/live/nope"):
        response = client.get(path, headers={"accept": "application/json"})
        assert response.status_code == 404, path
        assert "nope" in response.json()["detail"]
    assert client.get("/live/nope").status_code == 404  # the HTML error page


# -- a campaign attempt: dialing, ringing, in call --------------------------------------


class HeldBackend:
    """A simulated attempt backend a test steps through: the attempt waits after being
    placed, then the "worker" journals the call (ringing), then it speaks (in call)."""

    mode = "simulated"
    trunk_id = "held-trunk"

    def __init__(self, deployment):
        self.journal = deployment.journal
        self.placed = threading.Event()
        self.steps = {name: threading.Event() for name in ("ring", "answer", "hangup")}
        self.done = {name: threading.Event() for name in ("ring", "answer")}

    async def _step(self, name: str) -> None:
        assert await asyncio.to_thread(self.steps[name].wait, 20), name

    async def place(self, job):
        from voicekit_core.campaigns.runner import AttemptOutcome

        self.placed.set()
        call_id = job.attempt.call_id
        await self._step("ring")
        link = {"id": job.campaign_id, "attempt_id": str(job.attempt.id)}
        self.journal.start_call(
            report(call_id, data={"campaign": link}),
            campaign_id=job.campaign_id,
            attempt_id=str(job.attempt.id),
        )
        self.done["ring"].set()
        await self._step("answer")
        await job.mark_in_call()
        self.journal.update_call(
            report(call_id, lines=[("assistant", "Hi Dana")]), disposition=None
        )
        self.done["answer"].set()
        await self._step("hangup")
        final = report(call_id, lines=[("assistant", "Hi Dana")], disposition=Disposition.NURTURE)
        self.journal.finish_call(final, [], claim=False)
        return AttemptOutcome(Disposition.NURTURE, "", answered=True, report=final)

    async def adopt(self, job):
        raise AssertionError("nothing to adopt")

    async def room_exists(self, room_name):
        return False

    async def aclose(self):
        return None


def test_a_campaign_attempt_goes_dialing_ringing_in_call(client, deployment, example_dir):
    from voicekit_core.campaigns.importer import import_csv
    from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions

    source = example_dir / "leads.csv"
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    one = example_dir / "one_lead.csv"
    with one.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[:2])  # header + Dana Whitfield
    campaign = import_csv(deployment.store, deployment.config, name="Live test", path=one).campaign

    backend = HeldBackend(deployment)
    runner = CampaignRunner(
        deployment,
        campaign.id,
        mode="simulated",
        backend=backend,
        options=RunnerOptions(lease_seconds=30, tick_seconds=0.05, poll_seconds=0.02),
    )
    thread = threading.Thread(target=lambda: asyncio.run(runner.run()), daemon=True)
    thread.start()
    try:
        assert backend.placed.wait(20)
        (dialing,) = client.get("/api/live").json()
        assert dialing["state"] == "dialing"
        assert dialing["lead_name"] == "Dana Whitfield"
        assert (dialing["campaign_id"], dialing["campaign_name"]) == (campaign.id, "Live test")
        call_id = dialing["call_id"]
        assert client.get(f"/live/{call_id}").status_code == 200  # no call row yet

        backend.steps["ring"].set()
        assert backend.done["ring"].wait(20)
        (ringing,) = client.get("/api/live").json()
        assert (ringing["call_id"], ringing["state"]) == (call_id, "ringing")

        backend.steps["answer"].set()
        assert backend.done["answer"].wait(20)
        (in_call,) = client.get("/api/live").json()
        assert (in_call["call_id"], in_call["state"]) == (call_id, "in_call")
        rows = client.get("/live").text
        assert 'data-state="in_call"' in rows
        assert f'href="/campaigns/{campaign.id}"' in rows
    finally:
        for step in backend.steps.values():
            step.set()
        thread.join(30)
    assert client.get("/api/live").json() == []


def test_streams_stop_when_the_client_goes_away(deployment):
    from voicekit_dashboard.live_feed import CallFollower
    from voicekit_dashboard.live_stream import StreamTiming, board_stream, call_stream

    class GoneClient:
        """A request whose client disconnected after the first event."""

        async def is_disconnected(self) -> bool:
            return True

    async def drain(stream) -> list:
        return [event async for event in stream]

    deployment.journal.start_call(report("call-gone", lines=[("assistant", "Hi")]))
    timing = StreamTiming(poll=0.01, keepalive=60)
    board = asyncio.run(drain(board_stream(GoneClient(), deployment.store, timing, "json")))
    assert [event.event for event in board] == ["calls"]
    follower = CallFollower(deployment.store, "call-gone")
    followed = asyncio.run(drain(call_stream(GoneClient(), follower, timing, "json")))
    assert [event.event for event in followed] == ["line"]  # still in progress: no `ended`
