"""The Campaigns pages and ``/api/campaigns``: create from a stored lead list with a
rendered preview, duplicate names, edit overrides, the buttons' transitions (409 when
refused), redial, the activity log, export, and a campaign dialed to completion by the
dashboard's own simulated dialer."""

from __future__ import annotations

import csv
import io
import json

import pytest
from dashboard_campaigns_kit import (
    BAD_ROWS_CSV,
    HTMX,
    campaign_state,
    page_form,
    save_list,
    wait_for,
)
from dashboard_kit import logged_in
from fastapi.testclient import TestClient
from sqlalchemy import select

from voicekit_core.campaigns import repo
from voicekit_core.campaigns.overrides import campaign_overrides, effective_dialer
from voicekit_core.store.tables import calls, campaign_leads

FINAL = {"done", "skipped", "canceled"}


@pytest.fixture
def lead_list(deployment):
    return save_list(deployment)


@pytest.fixture
def sim(deployment):
    """A logged-in client of an app that dials started campaigns itself, very fast."""
    from voicekit_dashboard.app import create_app

    with logged_in(create_app(deployment, dialer="simulated", speed=100_000)) as client:
        yield client


def create(client: TestClient, name: str = "q4", **fields) -> dict:
    response = client.post("/api/campaigns", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def lead_rows(deployment, campaign_id: str):
    with deployment.store.read() as db:
        return db.execute(
            select(campaign_leads).where(campaign_leads.c.campaign_id == campaign_id)
        ).all()


# -- create ---------------------------------------------------------------------------------


def test_create_from_the_page_form_stores_only_what_differs(client, deployment, lead_list):
    fields = page_form(client)
    # prefilled from the deployment and the selected list
    assert fields["lead_list"] == lead_list.id
    assert fields["greeting"].startswith("Hi {lead.first_name}, this is Sofía from TDX.")
    assert "You are Sofía" in fields["instructions"]
    assert fields["max_concurrency"] == "5" and fields["max_attempts"] == "4"
    assert fields["delays.busy"] == "10, 30" and fields["delays.voicemail"] == ""
    assert fields["hours.mon"] == "08:00-21:00"

    fields.update(
        {
            "name": "November push",
            "greeting": "Hello {lead.first_name}, Sofía again from TDX.",
            "max_concurrency": "2",
            "delays.busy": "5",
            "hours.sat": "",
            "hours.sun": "",
        }
    )
    response = client.post("/api/campaigns", data=fields, headers=HTMX)
    assert response.status_code == 201, response.text
    assert 'data-testid="campaign-created"' in response.text
    assert '<strong data-testid="import-stored">12</strong>' in response.text

    campaign = repo.find_campaign(deployment.store, "November push")
    assert campaign.state == "draft"
    assert campaign.source == "lead list 'example' (example.csv)"
    assert len(lead_rows(deployment, campaign.id)) == 12
    overrides = campaign_overrides(campaign)
    assert overrides.greeting == "Hello {lead.first_name}, Sofía again from TDX."
    assert overrides.instructions is None  # untouched: it keeps following the deployment
    assert overrides.dialer["pacing"] == {"max_concurrency": 2}
    assert overrides.dialer["retry"] == {"delays": {"busy": [5]}}
    weekly = overrides.dialer["calling_hours"]["weekly"]
    assert weekly["sat"] == [] and weekly["sun"] == [] and weekly["mon"] == ["08:00-21:00"]
    dialer = effective_dialer(deployment.config, campaign)
    assert dialer.pacing.max_concurrency == 2 and dialer.retry.max_attempts == 4
    log = {event["kind"]: event["detail"] for event in repo.events(deployment.store, campaign.id)}
    assert log["created"] == "from lead list 'example' (example.csv) by admin (dashboard)"
    assert log["imported"].startswith("12 rows: 12 pending")
    assert "greeting set" in log["edited"]


def test_import_problems_are_summarized_after_creation(client, deployment):
    bad = save_list(deployment, "bad rows", BAD_ROWS_CSV.encode())
    body = create(client, "with bad rows", lead_list=bad.id)
    imported = body["imported"]
    assert (imported["rows"], imported["stored"]) == (4, 2)
    assert (imported["invalid"], imported["duplicates"]) == (1, 1)
    assert [(i["where"], i["kind"]) for i in imported["issues"]] == [
        ("row 3", "invalid"),
        ("row 4", "duplicate"),
    ]
    assert body["campaign"]["leads"]["total"] == 2

    fields = page_form(client)
    fields.update(name="bad rows again", lead_list=bad.id)
    page = client.post("/api/campaigns", data=fields, headers=HTMX)
    assert 'data-testid="import-bad-rows"' in page.text
    assert page.text.count('data-testid="import-issue"') == 2


def test_preview_renders_the_chosen_lead_and_flags_unknown_placeholders(client, lead_list):
    fields = page_form(client)
    fields.update(greeting="Hi {lead.first_name} at {lead.company}!", preview_lead="2")
    response = client.post("/api/campaigns/preview", data=fields, headers=HTMX)
    assert response.status_code == 200
    assert "Hi Priya at Cobalt Retail Group!" in response.text
    assert 'option value="2" selected' in response.text
    assert "You are on a phone call with Priya Raman" in response.text  # the instructions
    assert 'id="save-campaign"' in response.text and "disabled" not in _save_button(response.text)

    fields.update(greeting="Hi {lead.nope}!")
    response = client.post("/api/campaigns/preview", data=fields, headers=HTMX)
    assert 'data-testid="campaign-preview-problems"' in response.text
    assert "unknown placeholder {lead.nope}" in response.text
    assert "disabled" in _save_button(response.text)  # saving is blocked

    as_json = client.post(
        "/api/campaigns/preview?lead=0",
        json={"greeting": "Hey {lead.first_name}", "instructions": "Talk to {lead.nope}."},
    ).json()
    assert (
        as_json["greeting"] == "Hey Dana"
        and as_json["lead"] == "Dana Whitfield (Brightline Logistics)"
    )
    assert as_json["ok"] is False
    assert [p["field"] for p in as_json["problems"]] == ["instructions"]


def _save_button(html: str) -> str:
    start = html.index('id="save-campaign"')
    return html[html.rindex("<button", 0, start) : html.index(">", start)]


def test_an_unknown_placeholder_blocks_saving(client, deployment, lead_list):
    fields = page_form(client)
    fields.update(name="broken", greeting="Hi {lead.nope}")
    response = client.post("/api/campaigns", data=fields, headers=HTMX)
    assert response.status_code == 200  # the form again, inline
    assert 'data-testid="error-greeting"' in response.text
    assert "unknown placeholder {lead.nope}" in response.text
    response = client.post("/api/campaigns", json={"name": "broken", "greeting": "Hi {lead.nope}"})
    assert response.status_code == 422
    assert "greeting: unknown placeholder {lead.nope}" in response.json()["detail"]
    assert repo.list_campaigns(deployment.store) == []


def test_a_duplicate_name_is_refused_and_nothing_is_created(client, deployment, lead_list):
    create(client, "q4")
    response = client.post("/api/campaigns", json={"name": "q4"})
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]
    fields = page_form(client)
    fields["name"] = "q4"
    response = client.post("/api/campaigns", data=fields, headers=HTMX)
    assert 'data-testid="error-name"' in response.text
    assert "a campaign named &#39;q4&#39; already exists" in response.text
    assert [c.name for c in repo.list_campaigns(deployment.store)] == ["q4"]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"delays": {"busy": [-1]}}, "delays.busy"),
        ({"delays": {"meeting_booked": [5]}}, "delays"),
        ({"hours": {"mon": ["25:00-26:00"]}}, "hours.mon"),
        ({"lead_list": "nope"}, "lead_list"),
        ({"name": "  "}, "name"),
    ],
)
def test_bad_input_names_the_field(client, deployment, lead_list, fields, named):
    response = client.post("/api/campaigns", json={"name": "bad", **fields})
    assert response.status_code == 422, response.text
    assert f"{named}" in response.json()["detail"]
    assert repo.list_campaigns(deployment.store) == []


def test_form_fields_that_are_not_numbers_are_shown_inline(client, lead_list):
    fields = page_form(client)
    fields.update(
        {"name": "typo", "max_attempts": "three", "delays.no_answer": "ten", "holidays": "xmas"}
    )
    response = client.post("/api/campaigns", data=fields, headers=HTMX)
    assert "&#39;three&#39; is not a whole number" in response.text
    assert 'data-testid="error-delays.no_answer"' in response.text
    assert 'data-testid="error-holidays"' in response.text
    assert client.post("/api/campaigns", data=fields).status_code == 422


def test_with_no_lead_list_the_page_says_so(client, deployment):
    page = client.get("/campaigns/new")
    assert "No lead lists yet" in page.text and 'href="/leads"' in page.text
    response = client.post("/api/campaigns", json={"name": "nothing"})
    assert response.status_code == 422
    assert "lead_list: no lead list" in response.json()["detail"]


# -- actions --------------------------------------------------------------------------------


def test_transitions_are_enforced_with_reasons_in_the_activity_log(client, deployment, lead_list):
    campaign_id = create(client)["campaign"]["id"]
    refused = client.post(f"/api/campaigns/{campaign_id}/pause")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "campaign 'q4' is draft; it cannot be paused"

    started = client.post(f"/api/campaigns/{campaign_id}/start").json()
    assert started["campaign"]["state"] == "running"  # external dialer: the state only
    assert started["campaign"]["reason"] == "started by admin (dashboard)"
    assert client.post(f"/api/campaigns/{campaign_id}/start").status_code == 409
    assert client.put(f"/api/campaigns/{campaign_id}", json={"greeting": "Hi"}).status_code == 409

    panel = client.get(f"/campaigns/{campaign_id}/panel")
    assert 'hx-trigger="every 2s"' in panel.text  # refreshes itself while running
    assert "no dialer holds it" in panel.text

    paused = client.post(f"/api/campaigns/{campaign_id}/pause", headers=HTMX)
    assert paused.status_code == 200
    assert (
        'data-testid="action-message"' in paused.text
        and "paused: running -&gt; paused" in paused.text
    )
    assert 'hx-trigger="every 2s"' not in paused.text
    assert (
        'data-testid="action-resume"' in paused.text
        and 'data-testid="action-pause"' not in paused.text
    )
    assert campaign_state(deployment, campaign_id) == "paused"

    assert (
        client.post(f"/api/campaigns/{campaign_id}/resume").json()["campaign"]["state"] == "running"
    )
    canceled = client.post(f"/api/campaigns/{campaign_id}/cancel").json()
    assert canceled["campaign"]["state"] == "canceled"
    assert canceled["message"] == "canceled: running -> canceled; 12 lead(s) canceled"
    assert {row.state for row in lead_rows(deployment, campaign_id)} == {"canceled"}
    for action in ("resume", "start", "cancel", "redial"):
        response = client.post(f"/api/campaigns/{campaign_id}/{action}")
        assert response.status_code == 409, action
        assert "is canceled" in response.json()["detail"]

    events = client.get(f"/api/campaigns/{campaign_id}/events").json()
    changes = [
        (e["kind"], e["detail"])
        for e in reversed(events)
        if e["kind"] in ("running", "paused", "canceled")
    ]
    assert changes == [
        ("running", "started by admin (dashboard)"),
        ("paused", "paused by admin (dashboard)"),
        ("running", "resumed by admin (dashboard)"),
        ("canceled", "canceled by admin (dashboard)"),
    ]
    page = client.get(f"/campaigns/{campaign_id}")
    assert page.text.count('data-testid="activity-row"') == len(events)
    assert "resumed by admin (dashboard)" in page.text
    assert 'data-testid="action-' not in page.text  # nothing left to do


def test_an_unknown_action_is_a_422(client, lead_list):
    campaign_id = create(client)["campaign"]["id"]
    assert client.post(f"/api/campaigns/{campaign_id}/explode").status_code == 422


def test_start_in_simulated_mode_dials_to_completion_then_redial(sim, deployment, lead_list):
    campaign_id = create(sim)["campaign"]["id"]
    page = sim.get(f"/campaigns/{campaign_id}")
    assert "dialed by this dashboard with offline simulated calls" in page.text
    assert sim.post(f"/api/campaigns/{campaign_id}/start").status_code == 200
    wait_for(lambda: campaign_state(deployment, campaign_id) == "completed")

    rows = lead_rows(deployment, campaign_id)
    assert {row.state for row in rows} <= FINAL
    detail = sim.get(f"/api/campaigns/{campaign_id}").json()
    assert detail["leads"]["final"] == detail["leads"]["total"] == 12
    assert detail["summary"]["dialed"] >= 11
    assert detail["actions"] == ["redial"]
    with deployment.store.read() as db:
        journaled = db.execute(
            select(calls.c.call_id).where(calls.c.campaign_id == campaign_id)
        ).all()
    assert len(journaled) == detail["summary"]["dialed"]

    unanswered = [
        r for r in rows if r.state == "done" and r.disposition in ("no_answer", "busy", "voicemail")
    ]
    assert unanswered  # the example's scripts leave a voicemail
    redial = sim.post(f"/api/campaigns/{campaign_id}/redial").json()
    assert redial["message"].startswith(f"{len(unanswered)} unanswered lead(s) reopened")
    assert redial["campaign"]["state"] == "running"
    wait_for(lambda: campaign_state(deployment, campaign_id) == "completed")
    kinds = [e["kind"] for e in sim.get(f"/api/campaigns/{campaign_id}/events?limit=500").json()]
    assert "redial" in kinds and kinds.count("completed") == 2
    redialed = {r.id for r in unanswered}
    with deployment.store.read() as db:
        numbers = (
            db.execute(select(calls.c.call_id).where(calls.c.campaign_id == campaign_id))
            .scalars()
            .all()
        )
    assert any(number.rsplit("-", 2)[1] in {str(i) for i in redialed} for number in numbers)


def test_edited_overrides_are_stored_and_used_by_the_calls(sim, deployment, lead_list):
    campaign_id = create(sim)["campaign"]["id"]
    fields = page_form(sim, f"/campaigns/{campaign_id}/edit")
    assert fields["name"] == "q4" and "lead_list" not in fields
    fields.update(
        greeting="Hello {lead.first_name}, calling from the edited campaign.", max_concurrency="1"
    )
    response = sim.put(f"/api/campaigns/{campaign_id}", data=fields, headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"/campaigns/{campaign_id}?saved=1"
    campaign = repo.find_campaign(deployment.store, campaign_id)
    overrides = campaign_overrides(campaign)
    assert overrides.greeting == "Hello {lead.first_name}, calling from the edited campaign."
    assert overrides.dialer == {"pacing": {"max_concurrency": 1}}
    saved_page = sim.get(f"/campaigns/{campaign_id}?saved=1")
    assert "Calls placed from now on use the new settings" in saved_page.text
    assert "dialer.pacing.max_concurrency = 1" in saved_page.text
    # the edit page shows the campaign's values
    assert page_form(sim, f"/campaigns/{campaign_id}/edit")["max_concurrency"] == "1"

    # a JSON edit back to the deployment's value removes that override, keeps the rest
    detail = sim.put(
        f"/api/campaigns/{campaign_id}", json={"greeting": overrides.greeting, "max_concurrency": 5}
    )
    assert detail.status_code == 200
    assert detail.json()["overrides"] == ["greeting"]

    sim.post(f"/api/campaigns/{campaign_id}/start")
    wait_for(lambda: campaign_state(deployment, campaign_id) == "completed")
    with deployment.store.read() as db:
        reports = [
            json.loads(raw)
            for raw in db.execute(
                select(calls.c.report_json).where(calls.c.campaign_id == campaign_id)
            ).scalars()
        ]
    # every answered call opens with the edited greeting (a voicemail holds the message)
    openings = [
        r["transcript"][0]["text"]
        for r in reports
        if r["transcript"] and r["disposition"] != "voicemail"
    ]
    assert openings
    assert all(text.endswith(", calling from the edited campaign.") for text in openings)
    assert "Hello Priya, calling from the edited campaign." in openings


# -- pages, export, access ------------------------------------------------------------------


def test_list_page_and_api(client, lead_list):
    empty = client.get("/campaigns")
    assert 'data-testid="campaigns-empty"' in empty.text
    first = create(client, "first")["campaign"]["id"]
    create(client, "<b>second</b>")
    rows = client.get("/api/campaigns").json()
    assert [r["name"] for r in rows] == ["<b>second</b>", "first"]
    assert rows[1]["leads"] == {
        "total": 12,
        "final": 0,
        "progress": 0.0,
        "states": {"pending": 12},
        "dispositions": {},
    }
    client.post(f"/api/campaigns/{first}/cancel")
    page = client.get("/campaigns")
    assert page.text.count('data-testid="campaign-row"') == 2
    assert "&lt;b&gt;second&lt;/b&gt;" in page.text and "<b>second</b>" not in page.text
    assert ">12 / 12<" in page.text  # canceled leads are final
    fragment = client.get("/campaigns", headers=HTMX)
    assert "<html" not in fragment.text and 'data-testid="campaigns-table"' in fragment.text


def test_export_csv(client, deployment, lead_list):
    campaign_id = create(client, "Q4: =cmd|x")["campaign"]["id"]
    response = client.get(f"/api/campaigns/{campaign_id}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="Q4-cmd-x-{campaign_id}.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 12
    assert rows[0]["name"] == "Dana Whitfield" and rows[0]["lead_state"] == "pending"


def test_unknown_ids_are_404(client):
    for method, url in [
        ("GET", "/api/campaigns/nope"),
        ("GET", "/api/campaigns/nope/events"),
        ("GET", "/api/campaigns/nope/export.csv"),
        ("POST", "/api/campaigns/nope/start"),
        ("PUT", "/api/campaigns/nope"),
    ]:
        response = client.request(method, url, json={} if method == "PUT" else None)
        assert response.status_code == 404, (method, url)
        assert response.json()["detail"] == "no campaign with id 'nope'"
    page = client.get("/campaigns/nope")
    assert page.status_code == 404 and "no campaign with id" in page.text
    assert client.get("/campaigns/nope/edit").status_code == 404
    assert client.get("/campaigns/nope/panel", headers=HTMX).status_code == 404


def test_anonymous_and_csrf(anonymous, client, deployment, lead_list):
    for method, url in [
        ("GET", "/api/campaigns"),
        ("POST", "/api/campaigns"),
        ("POST", "/api/campaigns/preview"),
        ("POST", "/api/campaigns/x/start"),
        ("GET", "/api/campaigns/x/export.csv"),
    ]:
        assert anonymous.request(method, url).status_code == 401, url
    response = anonymous.get("/campaigns/new", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    no_token = client.post(
        "/api/campaigns", json={"name": "forged"}, headers={"X-CSRF-Token": "wrong"}
    )
    assert no_token.status_code == 403
    assert repo.list_campaigns(deployment.store) == []
