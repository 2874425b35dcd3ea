"""The Leads page and ``/api/leads``: upload with its limits, list, preview with problems
on the right rows, select, delete, download."""

from __future__ import annotations

import re

import pytest
from dashboard_kit import assert_login_required, logged_in
from fastapi.testclient import TestClient

HEADER = "prospect_name,company_name,phone,email,timezone\n"
CSV = (
    HEADER
    + "Ada Good,Acme,+1 415 555 0101,ada@acme.example,America/Los_Angeles\n"  # row 2: ok
    + "Bad Phone,Acme,12345,,America/New_York\n"  # row 3: invalid phone
    + "Bad Zone,Acme,+1 212 555 0102,,Mars/Olympus\n"  # row 4: invalid timezone
    + "Ada Again,Acme,(415) 555-0101,,America/Los_Angeles\n"  # row 5: duplicate of row 2
    + "Blocked,Acme,+1 312 555 0103,,America/Chicago\n"  # row 6: on the global DNC list
    + "<script>alert(1)</script>,Acme,+1 720 555 0104,,America/Denver\n"  # row 7: ok
).encode()


def upload(client: TestClient, data: bytes = CSV, filename: str = "november.csv", **fields):
    return client.post(
        "/api/leads", files={"file": (filename, data, "text/csv")}, data=fields or None
    )


def stored_lists(deployment) -> list:
    from voicekit_core.lead_lists import list_lead_lists

    return list_lead_lists(deployment.store)


@pytest.fixture
def limited(deployment):
    """A client of an app with small upload limits (2 KB, 3 rows, 3 uploads a minute)."""
    from voicekit_dashboard.app import create_app
    from voicekit_dashboard.settings import DashboardSettings

    settings = DashboardSettings(upload_max_bytes=2048, upload_max_rows=3, upload_rate="3/minute")
    with logged_in(create_app(deployment, settings=settings)) as client:
        yield client


def test_upload_then_listed(client: TestClient, deployment):
    response = upload(client)
    assert response.status_code == 201, response.text
    saved = response.json()
    assert saved["name"] == "november"
    assert (saved["rows"], saved["size_bytes"], saved["selected"]) == (6, len(CSV), True)
    assert client.get("/api/leads").json() == [saved]
    assert client.get(f"/api/leads/{saved['id']}").json() == saved
    page = client.get("/leads")
    assert 'data-testid="lead-list-row"' in page.text
    assert "november.csv" in page.text


def test_preview_flags_each_problem_on_its_row(client: TestClient, deployment):
    from voicekit_core.campaigns.dnc import add_dnc

    with deployment.store.write() as db:
        add_dnc(db, "+13125550103", reason="asked on a call")
    list_id = upload(client).json()["id"]

    preview = client.get(f"/api/leads/{list_id}/preview").json()
    assert preview["columns"] == ["prospect_name", "company_name", "phone", "email", "timezone"]
    problems = {row["row"]: [p["kind"] for p in row["problems"]] for row in preview["rows"]}
    assert problems == {
        2: [],
        3: ["invalid"],
        4: ["invalid"],
        5: ["duplicate"],
        6: ["do_not_call"],
        7: [],
    }
    reasons = {
        row["row"]: " ".join(p["reason"] for p in row["problems"]) for row in preview["rows"]
    }
    assert "phone '12345'" in reasons[3]
    assert "Mars/Olympus" in reasons[4]
    assert "same phone as row 2" in reasons[5]
    assert "asked on a call" in reasons[6]
    assert preview["totals"] == {
        "rows": 6,
        "valid": 3,
        "invalid": 2,
        "duplicates": 1,
        "do_not_call": 1,
    }

    html = client.get(f"/leads/{list_id}").text
    row_classes = {
        row: css
        for css, row in re.findall(
            r'<tr class="([a-z]*)" data-testid="lead-row" data-row="(\d+)"', html
        )
    }
    assert row_classes == {
        "2": "",
        "3": "problem",
        "4": "problem",
        "5": "problem",
        "6": "problem",
        "7": "",
    }
    assert 'data-kind="do_not_call"' in html and 'data-testid="total-dnc">1<' in html


def test_preview_checks_a_campaign_dnc_list(client: TestClient, deployment):
    from voicekit_core.campaigns.dnc import add_dnc
    from voicekit_core.campaigns.importer import import_csv

    campaign = import_csv(
        deployment.store,
        deployment.config,
        name="october",
        path=deployment.config.path.parent / "leads.csv",
    ).campaign
    with deployment.store.write() as db:
        add_dnc(db, "+17205550104", scope=campaign.id)
    list_id = upload(client).json()["id"]
    assert client.get(f"/api/leads/{list_id}/preview").json()["totals"]["do_not_call"] == 0
    scoped = client.get(f"/api/leads/{list_id}/preview?campaign=october").json()
    assert scoped["campaign_id"] == campaign.id
    assert [p["kind"] for p in scoped["rows"][-1]["problems"]] == ["do_not_call"]
    fragment = client.get(
        f"/leads/{list_id}?campaign={campaign.id}", headers={"HX-Request": "true"}
    )
    assert fragment.text.lstrip().startswith('<section id="lead-preview"')
    missing = client.get(f"/api/leads/{list_id}/preview?campaign=nope")
    assert missing.status_code == 404 and "campaign" in missing.json()["detail"]


def test_preview_escapes_lead_names(client: TestClient):
    list_id = upload(client).json()["id"]
    html = client.get(f"/leads/{list_id}").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    named = upload(client, name="<img src=x onerror=alert(2)>").json()
    listing = client.get("/leads").text
    assert "<img src=x" not in listing and "&lt;img src=x onerror=alert(2)&gt;" in listing
    assert named["name"] == "<img src=x onerror=alert(2)>"


def test_oversized_upload_is_413_and_nothing_stored(limited: TestClient, deployment):
    big = HEADER.encode() + b"A,B,+14155550101,,\n" * 200  # about 4 KB > 2 KB
    response = upload(limited, big)
    assert response.status_code == 413
    assert "2,048 bytes" in response.json()["detail"]
    # a file just over the limit, in a body that Content-Length lets through
    response = upload(limited, HEADER.encode() + b"x" * 2048)
    assert response.status_code == 413
    assert stored_lists(deployment) == []


def test_oversized_streamed_upload_is_refused_while_reading(limited: TestClient, deployment):
    boundary = "vkboundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    sent = []

    def body():  # no Content-Length: chunked, counted as it arrives
        yield head
        for _ in range(200):
            sent.append(1)
            yield b"A,B,+14155550101,,\n" * 50
        yield f"\r\n--{boundary}--\r\n".encode()

    response = limited.post(
        "/api/leads",
        content=body(),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert stored_lists(deployment) == []


def test_too_many_rows_is_400_and_nothing_stored(limited: TestClient, deployment):
    data = HEADER.encode() + b"".join(
        f"Lead {n},Acme,+1 415 555 01{n:02d},,\n".encode() for n in range(4)
    )
    response = upload(limited, data)
    assert response.status_code == 400
    assert "november.csv" in response.json()["detail"]
    assert "more than 3 rows" in response.json()["detail"]
    assert stored_lists(deployment) == []


@pytest.mark.parametrize(
    "data, reason",
    [
        (HEADER.encode() + "José,Acme,+14155550101,,\n".encode("latin-1"), "not UTF-8"),
        (b"name,email\nAda,ada@x.example\n", "no 'phone' column"),
        (b"name;phone\nAda;+14155550101\n", "separated by ';'"),
    ],
)
def test_bad_files_are_400_and_nothing_stored(client: TestClient, deployment, data, reason):
    response = upload(client, data, filename="bad.csv")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert reason in detail and detail.startswith("bad.csv")
    assert stored_lists(deployment) == []


def test_upload_is_rate_limited(limited: TestClient):
    small = HEADER.encode() + b"Ada,Acme,+14155550101,,\n"
    codes = [upload(limited, small, name=f"list {n}").status_code for n in range(4)]
    assert codes == [201, 201, 201, 429]


def test_names_default_to_the_file_and_stay_unique(client: TestClient):
    first = upload(client, filename="C:\\fakepath\\Q4 leads.csv").json()
    second = upload(client, filename="Q4 leads.csv").json()
    assert (first["name"], second["name"]) == ("Q4 leads", "Q4 leads (2)")
    assert first["filename"] == "Q4 leads.csv"
    taken = upload(client, name="Q4 leads")
    assert taken.status_code == 400 and "already exists" in taken.json()["detail"]


def test_select_keeps_one_default(client: TestClient):
    first = upload(client, name="first").json()
    second = upload(client, name="second").json()
    assert first["selected"] and not second["selected"]
    assert client.post(f"/api/leads/{second['id']}/select").json()["selected"]
    selected = [item["name"] for item in client.get("/api/leads").json() if item["selected"]]
    assert selected == ["second"]
    panel = client.post(f"/leads/{first['id']}/select", headers={"HX-Request": "true"})
    assert "now the default list" in panel.text
    selected = [item["name"] for item in client.get("/api/leads").json() if item["selected"]]
    assert selected == ["first"]


def test_delete(client: TestClient, deployment):
    first = upload(client, name="first").json()
    second = upload(client, name="second").json()
    assert client.delete(f"/api/leads/{first['id']}").status_code == 204
    assert client.get(f"/api/leads/{first['id']}").status_code == 404
    panel = client.post(f"/leads/{second['id']}/delete", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "Deleted" in panel.text
    assert 'data-testid="lead-lists-empty"' in panel.text
    assert stored_lists(deployment) == []


def test_download_returns_the_same_bytes(client: TestClient):
    data = CSV.replace(b"Acme", b"=HYPERLINK(1)")  # given back as uploaded, not rewritten
    saved = upload(client, data, filename="nov;ember é.csv").json()
    for path in (f"/api/leads/{saved['id']}/download", f"/leads/{saved['id']}/download"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.content == data
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="nov_ember _.csv"')
        assert "filename*=UTF-8''nov%3Bember%20%C3%A9.csv" in disposition


def test_form_upload_without_htmx(client: TestClient):
    del client.headers["X-CSRF-Token"]  # a plain form posts its csrf_token field instead
    response = client.post(
        "/leads",
        files={"file": ("plain.csv", CSV, "text/csv")},
        data={"csrf_token": client.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    list_id = response.headers["location"].rsplit("/", 1)[1]
    assert client.get(f"/leads/{list_id}").status_code == 200


def test_htmx_upload_returns_the_panel(client: TestClient):
    response = client.post(
        "/leads", files={"file": ("hx.csv", CSV, "text/csv")}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="leads-panel"')
    assert "Uploaded &#39;hx&#39;: 6 rows." in response.text


def test_unknown_ids_are_404(client: TestClient):
    for method, path in [
        ("GET", "/api/leads/nope"),
        ("GET", "/api/leads/nope/preview"),
        ("POST", "/api/leads/nope/select"),
        ("DELETE", "/api/leads/nope"),
        ("GET", "/api/leads/nope/download"),
        ("GET", "/leads/nope"),
        ("POST", "/leads/nope/select"),
        ("POST", "/leads/nope/delete"),
    ]:
        response = client.request(method, path, headers={"accept": "application/json"})
        assert response.status_code == 404, (method, path)
        assert "no lead list with id 'nope'" in response.json()["detail"]


def test_anonymous_and_forged_requests_are_refused(anonymous: TestClient, client: TestClient):
    assert upload(anonymous).status_code == 401
    assert anonymous.get("/api/leads").status_code == 401
    assert anonymous.get("/leads", follow_redirects=False).status_code == 303
    del client.headers["X-CSRF-Token"]
    assert upload(client).status_code == 403
    assert client.get("/api/leads").json() == []


def test_upload_needs_a_file(client: TestClient):
    response = client.post("/api/leads", data={"name": "x"})
    assert response.status_code == 400
    response = client.post("/api/leads", files={"other": ("a.csv", CSV, "text/csv")})
    assert response.status_code == 400 and "file" in response.json()["detail"]


def test_api_is_documented(client: TestClient):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/leads", "/api/leads/{list_id}", "/api/leads/{list_id}/preview"):
        assert path in paths
    assert "multipart/form-data" in paths["/api/leads"]["post"]["requestBody"]["content"]


def test_every_leads_route_requires_login(anonymous: TestClient):
    from voicekit_dashboard.routes.leads import router

    assert assert_login_required(anonymous, router.routes) >= 8
