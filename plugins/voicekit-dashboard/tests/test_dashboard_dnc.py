"""The DNC page and ``/api/dnc``: add, search, paginate, remove and import, on the global
list and a campaign's."""

from __future__ import annotations

import re

import pytest
from dashboard_kit import assert_login_required, logged_in
from fastapi.testclient import TestClient


@pytest.fixture
def campaign(deployment):
    """Campaign ``october``, imported from the example's leads."""
    from voicekit_core.campaigns.importer import import_csv

    return import_csv(
        deployment.store,
        deployment.config,
        name="october",
        path=deployment.config.path.parent / "leads.csv",
    ).campaign


def entries(deployment) -> list[tuple[str, str]]:
    from voicekit_core.campaigns.dnc import iter_dnc

    return [(entry.phone, entry.scope) for entry in iter_dnc(deployment.store)]


def test_add_in_any_form(client: TestClient, deployment):
    response = client.post("/api/dnc", json={"phone": "(415) 555-0123", "reason": "asked"})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "phone": "+14155550123",
        "scope": "",
        "campaign": None,
        "changed": True,
    }
    again = client.post("/api/dnc", json={"phone": "+1 415 555 0123 ext. 9"})
    assert again.json()["changed"] is False  # the extension is dropped: same number
    assert entries(deployment) == [("+14155550123", "")]


def test_add_to_a_campaign_list(client: TestClient, deployment, campaign):
    response = client.post("/api/dnc", json={"phone": "+14155550123", "campaign": "october"})
    assert response.json()["scope"] == campaign.id
    assert response.json()["campaign"] == "october"
    assert entries(deployment) == [("+14155550123", campaign.id)]


def test_add_refuses_bad_input(client: TestClient, deployment):
    bad = client.post("/api/dnc", json={"phone": "call me maybe"})
    assert bad.status_code == 400
    assert bad.json()["detail"].startswith("phone 'call me maybe'")
    unknown = client.post("/api/dnc", json={"phone": "+14155550123", "campaign": "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]
    missing = client.post("/api/dnc", json={"reason": "no phone"})
    assert missing.status_code == 422 and "phone" in missing.json()["detail"]
    assert entries(deployment) == []


def test_search_exact_and_prefix(client: TestClient, campaign):
    for phone in ("+14155550123", "+14155550124", "+12125550100"):
        client.post("/api/dnc", json={"phone": phone})
    client.post("/api/dnc", json={"phone": "+13125550100", "campaign": campaign.id})

    def phones(**params):
        response = client.get("/api/dnc", params=params)
        assert response.status_code == 200, response.text
        return sorted(entry["phone"] for entry in response.json()["entries"])

    assert phones(q="(415) 555-0123") == ["+14155550123"]
    assert phones(q="+1415") == ["+14155550123", "+14155550124"]
    assert phones(q="415 555") == ["+14155550123", "+14155550124"]
    assert phones(q="1212") == ["+12125550100"]
    assert len(phones()) == 4
    assert phones(scope="global") == ["+12125550100", "+14155550123", "+14155550124"]
    assert phones(scope="october") == ["+13125550100"]
    assert phones(scope=campaign.id, q="+1212") == []
    bad = client.get("/api/dnc", params={"q": "abc"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("q 'abc'")
    assert client.get("/api/dnc", params={"scope": "nope"}).status_code == 404


def test_pages(client: TestClient, deployment):
    from voicekit_core.campaigns.dnc import add_dnc

    with deployment.store.write() as db:
        for n in range(60):
            add_dnc(db, f"+1415555{n:04d}")
    first = client.get("/api/dnc").json()
    second = client.get("/api/dnc", params={"page": 2}).json()
    assert (first["total"], first["pages"], len(first["entries"])) == (60, 2, 50)
    assert len(second["entries"]) == 10
    seen = {e["phone"] for e in first["entries"]} | {e["phone"] for e in second["entries"]}
    assert len(seen) == 60
    html = client.get("/dnc").text
    assert 'data-testid="dnc-next"' in html and "page 1 of 2" in html
    assert client.get("/api/dnc", params={"page": 0}).status_code == 422


def test_remove_one_scope_only(client: TestClient, deployment, campaign):
    client.post("/api/dnc", json={"phone": "+14155550123"})
    client.post("/api/dnc", json={"phone": "+14155550123", "campaign": campaign.id})
    removed = client.delete("/api/dnc/(415) 555-0123", params={"scope": "october"})
    assert removed.status_code == 200 and removed.json()["changed"] is True
    assert entries(deployment) == [("+14155550123", "")]
    again = client.delete("/api/dnc/+14155550123", params={"scope": "october"})
    assert again.status_code == 404 and "not on campaign 'october'" in again.json()["detail"]
    assert client.delete("/api/dnc/+14155550123").status_code == 200
    assert entries(deployment) == []
    assert client.delete("/api/dnc/+14155550123").status_code == 404
    assert client.delete("/api/dnc/12").status_code == 400
    assert client.delete("/api/dnc/+14155550123", params={"scope": "nope"}).status_code == 404


DNC_CSV = b"phone,reason\n+1 415 555 0123,asked on a call\nnot a number,\n(212) 555-0100,\n415-555-0123,again\n"


def test_import_reports_rows(client: TestClient, deployment, campaign):
    client.post("/api/dnc", json={"phone": "+12125550100"})
    response = client.post("/api/dnc/import", files={"file": ("optouts.csv", DNC_CSV, "text/csv")})
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["filename"] == "optouts.csv" and summary["scope"] == ""
    assert (summary["rows"], summary["added"], summary["already"]) == (4, 1, 2)
    assert summary["problem_count"] == 1
    assert summary["problems"][0]["row"] == "row 3"
    assert "not a number" in summary["problems"][0]["reason"]
    assert sorted(entries(deployment)) == [("+12125550100", ""), ("+14155550123", "")]

    text = b"# opt-outs\n+1 720 555 0104 # asked twice\n"
    scoped = client.post(
        "/api/dnc/import",
        files={"file": ("list.txt", text, "text/plain")},
        data={"campaign": "october"},
    ).json()
    assert (scoped["scope"], scoped["campaign"], scoped["added"]) == (campaign.id, "october", 1)
    listed = client.get("/api/dnc", params={"scope": campaign.id}).json()["entries"]
    assert [(e["phone"], e["reason"], e["source"]) for e in listed] == [
        ("+17205550104", "asked twice", "import:list.txt")
    ]


def test_import_refuses_unreadable_files(client: TestClient, deployment):
    latin = client.post(
        "/api/dnc/import",
        files={"file": ("latin.csv", "phone\n+14155550123 # José\n".encode("latin-1"))},
    )
    assert latin.status_code == 400
    assert latin.json()["detail"].startswith("latin.csv") and "not UTF-8" in latin.json()["detail"]
    semicolons = client.post(
        "/api/dnc/import", files={"file": ("semi.csv", b"name;phone\nAda;+14155550123\n")}
    )
    assert semicolons.status_code == 400 and "';'" in semicolons.json()["detail"]
    assert entries(deployment) == []


def test_import_size_limit(deployment):
    from voicekit_dashboard.app import create_app
    from voicekit_dashboard.settings import DashboardSettings

    app = create_app(deployment, settings=DashboardSettings(upload_max_bytes=1024))
    with logged_in(app) as client:
        data = b"phone\n" + b"+14155550123\n" * 200
        response = client.post("/api/dnc/import", files={"file": ("big.csv", data)})
    assert response.status_code == 413
    assert entries(deployment) == []


def test_page_add_search_remove(client: TestClient, deployment, campaign):
    hx = {"HX-Request": "true"}
    added = client.post(
        "/dnc",
        data={"phone": "415.555.0123", "reason": "<b>rude</b>", "campaign": ""},
        headers=hx,
    )
    assert added.status_code == 200
    assert "+14155550123 added to the global list." in added.text
    assert "&lt;b&gt;rude&lt;/b&gt;" in added.text and "<b>rude</b>" not in added.text
    client.post("/dnc", data={"phone": "+12125550100", "campaign": campaign.id}, headers=hx)

    found = client.get("/dnc", params={"q": "415"}, headers=hx)
    assert found.text.lstrip().startswith('<section id="dnc-results"')
    assert found.text.count('data-testid="dnc-row"') == 1
    assert "campaign october" in client.get("/dnc").text
    bad = client.get("/dnc", params={"q": "abc"})
    assert bad.status_code == 200 and 'data-testid="dnc-error"' in bad.text

    entry_id = re.search(r'data-testid="dnc-row" data-id="(\d+)"', found.text).group(1)
    removed = client.post("/dnc/remove", data={"entry_id": entry_id, "q": "415"}, headers=hx)
    assert "+14155550123 removed from the global list." in removed.text
    assert entries(deployment) == [("+12125550100", campaign.id)]
    assert client.post("/dnc/remove", data={"entry_id": entry_id}, headers=hx).status_code == 404


def test_page_import_shows_the_summary(client: TestClient):
    response = client.post(
        "/dnc/import",
        files={"file": ("optouts.csv", DNC_CSV, "text/csv")},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="dnc-import-result"')
    assert "2 added to the global list" in response.text
    assert "row 3" in response.text


def test_page_form_posts_without_htmx(client: TestClient, deployment):
    del client.headers["X-CSRF-Token"]
    response = client.post(
        "/dnc",
        data={"phone": "+14155550123", "csrf_token": client.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    page = client.post(
        "/dnc/import",
        files={"file": ("optouts.csv", DNC_CSV, "text/csv")},
        data={"csrf_token": client.csrf},
    )
    assert page.status_code == 200 and 'data-testid="dnc-import-summary"' in page.text
    assert len(entries(deployment)) == 2


def test_masked_numbers_stay_masked(client: TestClient):
    from voicekit_core import masking

    client.post("/api/dnc", json={"phone": "+14155550123"})
    masking.set_enabled(True)
    try:
        html = client.get("/dnc").text
    finally:
        masking.set_enabled(None)
    assert "+14155550123" not in html and "+1415•••0123" in html


def test_anonymous_and_forged_requests_are_refused(anonymous: TestClient, client: TestClient):
    assert anonymous.get("/api/dnc").status_code == 401
    assert anonymous.post("/api/dnc", json={"phone": "+14155550123"}).status_code == 401
    assert anonymous.delete("/api/dnc/+14155550123").status_code == 401
    assert anonymous.get("/dnc", follow_redirects=False).status_code == 303
    del client.headers["X-CSRF-Token"]
    assert client.post("/api/dnc", json={"phone": "+14155550123"}).status_code == 403
    assert client.post("/api/dnc/import", files={"file": ("x.csv", DNC_CSV)}).status_code == 403
    assert client.get("/api/dnc").json()["total"] == 0


def test_api_is_documented(client: TestClient):
    paths = client.get("/api/openapi.json").json()["paths"]
    assert {"/api/dnc", "/api/dnc/{phone}", "/api/dnc/import"} <= set(paths)


def test_every_dnc_route_requires_login(anonymous: TestClient):
    from voicekit_dashboard.routes.dnc import router

    assert assert_login_required(anonymous, router.routes) >= 8
