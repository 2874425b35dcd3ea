"""The Calls pages: the journal list with its filters, one call in full, and re-delivery
of a post-call delivery through the core's claims."""

from __future__ import annotations

import re

import pytest
from calls_seed import (
    CRM_SECRET,
    FORMULA_NAME,
    ODD_CALL_ID,
    FlakyCrm,
    journal,
    load,
    odd_report,
)
from dashboard_kit import clear_env
from fastapi.testclient import TestClient
from sqlalchemy import select

from voicekit_core import hookimpl
from voicekit_core.store.tables import attempts, calls, deliveries

# -- on conftest's `seeded` store (two simulated campaigns and one odd call; read only) -----


def store_calls(seeded, *where):
    with seeded.deployment.store.read() as db:
        return db.execute(
            select(calls.c.call_id, calls.c.started_at, calls.c.disposition, calls.c.campaign_id)
            .where(*where)
            .order_by(calls.c.started_at.desc(), calls.c.call_id.desc())
        ).all()


def listed(client: TestClient, **params) -> dict:
    response = client.get("/api/calls", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_list_is_the_journal_newest_first_with_its_deliveries(seeded, seeded_client):
    expected = store_calls(seeded)
    data = listed(seeded_client)
    assert data["total"] == len(expected) == 19
    assert [row["call_id"] for row in data["calls"]] == [row.call_id for row in expected]
    odd = next(row for row in data["calls"] if row["call_id"] == ODD_CALL_ID)
    assert odd["lead_name"] == "Zed <b>Bold</b> Quinn"
    assert (odd["phone"], odd["campaign_id"], odd["duration_seconds"]) == (
        "+14155550142",
        None,
        95.0,
    )
    assert (odd["status"], odd["disposition"]) == ("finished", "callback_requested")
    # every call went through the failing CRM once
    assert all(
        row["deliveries"] == {"total": 1, "delivered": 0, "failed": 1, "pending": 0}
        for row in data["calls"]
    )

    page = seeded_client.get("/calls")
    assert page.status_code == 200
    assert page.text.count('data-testid="call-row"') == 19
    assert "Dates and times are UTC." in page.text
    assert "Zed &lt;b&gt;Bold&lt;/b&gt; Quinn" in page.text and "<b>Bold</b>" not in page.text
    assert "1 failed" in page.text


def test_filter_by_campaign_id_or_name(seeded, seeded_client):
    expected = store_calls(seeded, calls.c.campaign_id == seeded.example_id)
    by_id = listed(seeded_client, campaign=seeded.example_id)
    assert by_id["total"] == len(expected) == 14  # one of the 15 attempts was vetoed
    assert {row["campaign_name"] for row in by_id["calls"]} == {"example"}
    assert listed(seeded_client, campaign="example")["total"] == 14
    formula = listed(seeded_client, campaign=FORMULA_NAME)
    assert formula["total"] == 4 and formula["calls"][0]["campaign_name"] == FORMULA_NAME


def test_filter_by_disposition_and_status(seeded, seeded_client):
    booked = store_calls(seeded, calls.c.disposition == "meeting_booked")
    data = listed(seeded_client, disposition="meeting_booked")
    assert [row["call_id"] for row in data["calls"]] == [row.call_id for row in booked]
    assert len(booked) == 3
    assert listed(seeded_client, status="finished")["total"] == 19
    assert listed(seeded_client, status="interrupted")["total"] == 0
    both = listed(seeded_client, campaign=seeded.example_id, disposition="voicemail")
    assert [row["disposition"] for row in both["calls"]] == ["voicemail"]


def test_filter_by_utc_dates(seeded_client):
    day = listed(seeded_client, since="2020-01-15", until="2020-01-15")
    assert [row["call_id"] for row in day["calls"]] == [ODD_CALL_ID]
    assert day["since"] == "2020-01-15T00:00:00Z" and day["until"] == "2020-01-16T00:00:00Z"
    assert listed(seeded_client, since="2020-01-16", until="2020-01-31")["total"] == 0
    assert listed(seeded_client, until="2020-01-14")["total"] == 0
    # an ISO time is taken as given (the call started at 10:15:00 UTC)
    assert listed(seeded_client, since="2020-01-15T10:15:01Z", until="2020-12-31")["total"] == 0
    assert (
        listed(seeded_client, since="2020-01-15T11:14:00+01:00", until="2020-12-31")["total"] == 1
    )
    assert listed(seeded_client, since="2021-01-01")["total"] == 18  # all but the 2020 call


def test_search_by_name_company_phone_or_call_id(seeded_client):
    assert [r["lead_name"] for r in listed(seeded_client, q="priya")["calls"]] == ["Priya Raman"]
    assert [r["lead_name"] for r in listed(seeded_client, q="(312) 555-0103")["calls"]] == [
        "Priya Raman"
    ]
    assert [r["call_id"] for r in listed(seeded_client, q="acme & sons")["calls"]] == [ODD_CALL_ID]
    assert [r["call_id"] for r in listed(seeded_client, q="0dd0dd")["calls"]] == [ODD_CALL_ID]
    assert listed(seeded_client, q="100%_nobody")["total"] == 0  # LIKE wildcards are literal


def test_pages_of_the_list(seeded, seeded_client):
    from voicekit_dashboard.queries.calls import CallFilters, list_calls

    everything = [row.call_id for row in store_calls(seeded)]
    second = list_calls(seeded.deployment.store, CallFilters(), page=2, per_page=5)
    assert [row["call_id"] for row in second.rows] == everything[5:10]
    assert (second.total, second.pages) == (19, 4)
    beyond = listed(seeded_client, page=2)
    assert (beyond["calls"], beyond["total"], beyond["pages"]) == ([], 19, 1)
    assert seeded_client.get("/api/calls", params={"page": 0}).status_code == 422


def test_htmx_filtering_swaps_only_the_results(seeded_client):
    full = seeded_client.get("/calls", params={"disposition": "voicemail"})
    assert '<form id="calls-filters"' in full.text and 'hx-push-url="true"' in full.text
    assert '<option value="voicemail" selected>' in full.text
    fragment = seeded_client.get(
        "/calls", params={"disposition": "voicemail"}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "calls-filters" not in fragment.text
    assert fragment.text.count('data-testid="call-row"') == 2
    assert "HX-Request" in fragment.headers["vary"]
    # htmx restoring history after a reload asks for the whole page
    restored = seeded_client.get(
        "/calls", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restored.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"disposition": "bogus"}, "disposition: 'bogus'"),
        ({"status": "ringing"}, "status: 'ringing'"),
        ({"since": "yesterday"}, "since: 'yesterday'"),
        ({"since": "2026-11-24", "until": "2026-11-20"}, "until: '2026-11-20' is before since"),
    ],
)
def test_bad_filter_values_are_refused_by_name(seeded_client, params, field):
    response = seeded_client.get("/api/calls", params=params)
    assert response.status_code == 400
    assert response.json()["detail"].startswith(field)
    flashed = seeded_client.get("/calls", params=params, headers={"HX-Request": "true"})
    assert flashed.status_code == 400 and field in flashed.json()["detail"]


def test_unknown_campaign_filter_and_long_search(seeded_client):
    response = seeded_client.get("/api/calls", params={"campaign": "no-such-campaign"})
    assert response.status_code == 404
    assert "no-such-campaign" in response.json()["detail"]
    assert seeded_client.get("/api/calls", params={"q": "x" * 201}).status_code == 422


def test_call_page_shows_the_recorded_details_escaped(seeded_client):
    html = seeded_client.get(f"/calls/{ODD_CALL_ID}").text
    table = html[html.index('data-testid="call-extracted"') :]
    table = table[: table.index("</table>")]
    assert '<tr data-field="unit"><th>unit</th><td>4B</td></tr>' in table
    assert "<th>entry permitted</th><td>true</td>" in table
    assert "Zed &lt;b&gt;Bold&lt;/b&gt; Quinn" in table and "<b>" not in table
    api = seeded_client.get(f"/api/calls/{ODD_CALL_ID}").json()
    assert api["extracted"]["unit"] == "4B"


def test_call_page_shows_transcript_tools_outcome_latency_cost_and_deliveries(seeded_client):
    page = seeded_client.get(f"/calls/{ODD_CALL_ID}")
    assert page.status_code == 200
    html = page.text
    # transcript in order, tool calls inline at their time
    order = re.findall(
        r'data-testid="(transcript-line|tool-call)"[^>]*?data-(?:role|tool)="(\w+)"', html
    )
    assert order == [
        ("transcript-line", "assistant"),
        ("transcript-line", "user"),
        ("tool-call", "qualify_prospect"),
        ("transcript-line", "assistant"),
        ("tool-call", "schedule_meeting"),
    ]
    # caller text is escaped, never markup
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;" in html
    assert "asked to be called back &lt;tomorrow&gt;" in html
    # a tool call's arguments and output; the failed one is marked
    assert "{&#34;budget_usd&#34;: 25000, &#34;authority&#34;: &#34;decision_maker&#34;}" in html
    assert (
        'class="msg tool failed" data-testid="tool-call" data-tool="schedule_meeting" data-failed="true"'
        in html
    )
    assert 'data-tool="qualify_prospect" data-failed="false"' in html
    assert "that slot is not free any more" in html
    # BANT, latency, cost
    assert 'data-testid="qualification-status">qualified<' in html
    assert "$25,000" in html and "fewer tickets" in html
    assert 'data-testid="latency-e2e_latency">820 ms<' in html
    assert 'data-testid="call-cost">$0.0231<' in html
    # the delivery: failed, with its error redacted
    assert 'data-testid="delivery-status">failed<' in html
    assert "503 Service Unavailable" in html and CRM_SECRET not in html
    assert f'hx-post="/api/calls/{ODD_CALL_ID}/deliveries/crm/redeliver"' in html


def test_call_api_gives_the_same_view(seeded_client):
    data = seeded_client.get(f"/api/calls/{ODD_CALL_ID}").json()
    assert [(item["kind"], item["name"] or item["role"]) for item in data["timeline"]] == [
        ("say", "assistant"),
        ("say", "user"),
        ("tool", "qualify_prospect"),
        ("say", "assistant"),
        ("tool", "schedule_meeting"),
    ]
    tool = data["timeline"][2]
    assert tool["arguments"] == {"budget_usd": 25000, "authority": "decision_maker"}
    assert data["timeline"][4]["is_error"] is True
    assert data["latency_seconds"] == {"e2e_latency": 0.82, "llm_ttft": 0.31}
    assert data["estimated_cost_usd"] == 0.0231
    assert data["qualification"]["status"] == "qualified"
    assert data["data"]["crm"] == {"note": "=1+1"}
    assert data["campaign"] is None and data["attempt"] is None
    (delivery,) = data["deliveries"]
    assert (delivery["plugin"], delivery["status"], delivery["attempts"]) == ("crm", "failed", 1)
    assert "••••••" in delivery["error"] and CRM_SECRET not in delivery["error"]


def test_a_campaign_call_links_its_campaign_and_attempt(seeded, seeded_client):
    with seeded.deployment.store.read() as db:
        attempt = db.execute(
            select(attempts).where(
                attempts.c.campaign_id == seeded.example_id, attempts.c.number == 2
            )
        ).first()
    data = seeded_client.get(f"/api/calls/{attempt.call_id}").json()
    assert data["campaign"] == {
        "id": seeded.example_id,
        "name": "example",
        "state": "completed",
        "url": f"/campaigns/{seeded.example_id}",
    }
    assert (data["attempt"]["id"], data["attempt"]["number"]) == (attempt.id, 2)
    assert data["attempt"]["room_name"] == attempt.room_name
    page = seeded_client.get(f"/calls/{attempt.call_id}").text
    assert f'href="/campaigns/{seeded.example_id}"' in page and "attempt 2 of lead row" in page


def test_pii_is_masked_when_masking_is_on(seeded_client):
    from voicekit_core import masking

    masking.set_enabled(True)
    try:
        data = seeded_client.get(f"/api/calls/{ODD_CALL_ID}").json()
        page = seeded_client.get("/calls", params={"q": "0dd0dd"}).text
    finally:
        masking.set_enabled(None)
    assert data["phone"] == "+1415•••0142"
    assert "+1415•••0199" in data["timeline"][1]["text"]
    assert "+14155550199" not in str(data)
    assert "+1415•••0142" in page and "+14155550142" not in page


def test_unknown_calls_are_404(seeded_client):
    response = seeded_client.get("/api/calls/no-such-call")
    assert response.status_code == 404 and "no-such-call" in response.json()["detail"]
    page = seeded_client.get("/calls/no-such-call")
    assert page.status_code == 404 and "no-such-call" in page.text
    # exact ids only: a prefix of a real id is not that call
    assert seeded_client.get(f"/api/calls/{ODD_CALL_ID[:12]}").status_code == 404
    assert seeded_client.post("/api/calls/no-such-call/deliveries/crm/redeliver").status_code == 404
    missing = seeded_client.post(f"/api/calls/{ODD_CALL_ID}/deliveries/nobody/redeliver")
    assert missing.status_code == 404 and "nobody" in missing.json()["detail"]


def test_calls_need_a_login(anonymous: TestClient):
    json_accept = {"accept": "application/json"}
    for path in ("/api/calls", f"/api/calls/{ODD_CALL_ID}"):
        assert anonymous.get(path, headers=json_accept).status_code == 401
    redeliver = f"/api/calls/{ODD_CALL_ID}/deliveries/crm/redeliver"
    assert anonymous.post(redeliver, headers=json_accept).status_code == 401
    page = anonymous.get("/calls", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/calls")


def test_an_empty_journal(client: TestClient):
    data = listed(client)
    assert (data["calls"], data["total"], data["pages"]) == ([], 0, 1)
    assert 'data-testid="calls-empty"' in client.get("/calls").text


# -- re-delivery (a fresh deployment per test) ------------------------------------------------


class DownNotifier:
    """A second post_call plugin that always fails: re-delivering the CRM must not run it."""

    def __init__(self):
        self.calls = 0

    @hookimpl
    def post_call(self, report, config):
        self.calls += 1
        raise RuntimeError("notify.example unreachable")


@pytest.fixture
def crm() -> FlakyCrm:
    return FlakyCrm()


@pytest.fixture
def notifier() -> DownNotifier:
    return DownNotifier()


@pytest.fixture
def deployment(example_dir, crm, notifier, monkeypatch):
    """The example with a flaky CRM and a down notifier (overrides conftest's)."""
    clear_env(monkeypatch)
    return load(example_dir, crm, extra=(("notify", notifier),))


@pytest.fixture
def failed_call(deployment, crm, notifier) -> str:
    journal(deployment, odd_report(deployment))
    assert crm.delivered == [] and notifier.calls == 1
    return ODD_CALL_ID


def delivery_of(deployment, call_id: str, plugin: str):
    with deployment.store.read() as db:
        return db.execute(
            select(deliveries).where(deliveries.c.call_id == call_id, deliveries.c.plugin == plugin)
        ).first()


def test_redeliver_a_failing_delivery_until_it_is_delivered(
    client, deployment, crm, notifier, failed_call
):
    url = f"/api/calls/{failed_call}/deliveries/crm/redeliver"
    still_down = client.post(url)
    assert still_down.status_code == 200, still_down.text
    data = still_down.json()
    assert (data["delivered"], data["delivery"]["status"], data["delivery"]["attempts"]) == (
        False,
        "failed",
        2,
    )
    assert "503" in data["error"] and CRM_SECRET not in still_down.text

    crm.up = True
    delivered = client.post(url).json()
    assert (delivered["delivered"], delivered["error"]) == (True, "")
    assert delivered["delivery"]["status"] == "delivered"
    assert delivered["delivery"]["attempts"] == 3
    assert delivered["delivery"]["result"] == {"engagement_id": "eng-1"}
    assert crm.delivered == [failed_call]
    row = delivery_of(deployment, failed_call, "crm")
    assert (row.status, row.lease_owner, row.error) == ("delivered", None, "")
    # the other plugin's delivery was not run again
    assert notifier.calls == 1
    assert delivery_of(deployment, failed_call, "notify").attempts == 1

    again = client.post(url)
    assert again.status_code == 409
    assert "already delivered" in again.json()["detail"]
    assert crm.delivered == [failed_call]  # nothing created twice
    page = client.get(f"/calls/{failed_call}").text
    assert 'data-testid="delivery-status">delivered<' in page
    assert "eng-1" in page and "already delivered" in page  # the disabled button's title


def test_the_button_gets_the_row_back(client, crm, failed_call):
    crm.up = True
    response = client.post(
        f"/api/calls/{failed_call}/deliveries/crm/redeliver", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<tr data-testid="delivery-row" data-plugin="crm"')
    assert 'data-testid="delivery-status">delivered<' in html
    assert 'data-testid="delivery-retried"' in html and "<html" not in html


def test_redeliver_waits_for_another_process_holding_the_delivery(
    client, deployment, crm, failed_call
):
    from voicekit_core.journal import Journal

    other = Journal(deployment.store, owner="worker-7:4242:abcd")
    (claim,) = other.claim_deliveries(call_ids=[failed_call], limit=1)
    assert claim.plugin == "crm"
    crm.up = True
    response = client.post(f"/api/calls/{failed_call}/deliveries/crm/redeliver")
    assert response.status_code == 409
    assert "another process" in response.json()["detail"]
    assert crm.delivered == []
    assert delivery_of(deployment, failed_call, "crm").lease_owner == claim.owner


def test_redeliver_needs_the_csrf_token(client, deployment, crm, failed_call):
    crm.up = True
    del client.headers["X-CSRF-Token"]
    response = client.post(f"/api/calls/{failed_call}/deliveries/crm/redeliver")
    assert response.status_code == 403
    assert crm.delivered == []
    assert delivery_of(deployment, failed_call, "crm").attempts == 1


def test_redeliver_is_in_the_openapi_spec(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "post" in paths["/api/calls/{call_id}/deliveries/{plugin}/redeliver"]
    assert {"/api/calls", "/api/calls/{call_id}"} <= set(paths)
