"""The ``hubspot`` lead source: a contact list (Lists API v3) imported into a campaign."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from hubspot_fake import TOKEN, hubspot_config
from hubspot_lists_fake import FakeHubSpotLists
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from voicekit_core.campaigns import importer
from voicekit_core.campaigns.dnc import add_dnc
from voicekit_core.campaigns.importer import import_from_source
from voicekit_core.campaigns.lead_sources import LeadSourceError, SourceItem, lead_sources
from voicekit_core.cli import build_cli
from voicekit_core.leads import Lead
from voicekit_core.store.tables import campaign_leads, campaigns


@pytest.fixture
def lists(hubspot_server: HTTPServer) -> Iterator[FakeHubSpotLists]:
    fake = FakeHubSpotLists(token=TOKEN)
    hubspot_server.clear()
    hubspot_server.expect_request(re.compile(r".*")).respond_with_handler(fake)
    fake.url = hubspot_server.url_for("").rstrip("/")
    yield fake
    hubspot_server.clear()


def deploy(voicekit, fake, tmp_path, token: str = TOKEN):
    config = hubspot_config(fake.url) + f'\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
    path = voicekit.write(config)
    return path, voicekit.load(path, environ={"HUBSPOT_ACCESS_TOKEN": token})


def contact(fake, phone: str | None, **props: str) -> str:
    values = {"firstname": "Ada", "lastname": "King", **props}
    if phone is not None:
        values["phone"] = phone
    return fake.add("contacts", values)


def items(deployment, ref: str) -> list:
    source = lead_sources(deployment.pm)["hubspot"]
    return list(source.function(deployment.config, ref))


def test_the_plugin_registers_the_hubspot_source(voicekit, lists, tmp_path):
    _, deployment = deploy(voicekit, lists, tmp_path)
    source = lead_sources(deployment.pm)["hubspot"]
    assert (source.plugin, source.description) == (
        "hubspot",
        "a HubSpot contact list: hubspot:LIST_ID",
    )


def test_members_are_read_page_by_page_and_mapped(voicekit, lists, tmp_path, monkeypatch):
    from voicekit_hubspot import lead_source

    monkeypatch.setattr(lead_source, "PAGE_SIZE", 2)
    ada = contact(
        lists,
        "(415) 555-0123",
        company="AE",
        jobtitle="CTO",
        email="ada@example.com",
        hs_timezone="america_slash_los_angeles",
        hubspot_owner_id="77",
        hs_lead_status="OPEN",
    )
    bob = contact(lists, None, mobilephone="+1 212 555 0199", firstname="Bob")
    nobody = contact(lists, None, firstname="Nobody")
    bad = contact(lists, "12345", firstname="Bad")
    list_id = lists.add_list("Q4 prospects", [ada, bob, nobody, bad, "9999"])

    got = items(deploy(voicekit, lists, tmp_path)[1], list_id)

    first = got[0]
    assert isinstance(first, Lead)
    assert (first.phone, first.name, first.company, first.job_title) == (
        "+14155550123",
        "Ada King",
        "AE",
        "CTO",
    )
    assert (first.timezone, first.owner, first.status, first.source, first.crm_id) == (
        "America/Los_Angeles",
        "77",
        "OPEN",
        "hubspot",
        ada,
    )
    assert isinstance(got[1], Lead) and got[1].phone == "+12125550199"  # mobilephone
    assert got[2] == SourceItem(f"contact {nobody}", problem="no phone or mobilephone")
    assert got[3].problem.startswith("phone '12345': ") and got[3].ref == f"contact {bad}"
    assert got[4].problem.startswith("in the list but not found by batch read")
    pages = [r for r in lists.requests if r.path.endswith("/memberships")]
    assert [r.query.get("after") for r in pages] == [None, sorted([ada, bob], key=int)[1], bad]
    assert all(r.query["limit"] == "2" for r in pages)
    reads = lists.sent("POST", "/crm/v3/objects/contacts/batch/read")
    assert [len(body["inputs"]) for body in reads] == [2, 2, 1]
    assert "hs_timezone" in reads[0]["properties"]


def test_a_list_can_be_named(voicekit, lists, tmp_path):
    list_id = lists.add_list("Q4 Prospects", [contact(lists, "+14155550123")])
    got = items(deploy(voicekit, lists, tmp_path)[1], "q4 prospects")
    assert [lead.phone for lead in got] == ["+14155550123"]
    assert any(r.path == f"/crm/v3/lists/{list_id}/memberships" for r in lists.requests)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "say which list"),
        ("777", "no list '777'"),
        ("companies", "holds objects of type 0-2, not contacts"),
    ],
)
def test_bad_references_are_clear_errors(voicekit, lists, tmp_path, ref, message):
    companies = lists.add_list("companies", [], object_type_id="0-2")
    _, deployment = deploy(voicekit, lists, tmp_path)
    with pytest.raises(LeadSourceError, match=message):
        items(deployment, companies if ref == "companies" else ref)


def test_a_refused_token_stops_the_import_without_showing_it(voicekit, lists, tmp_path):
    list_id = lists.add_list("Q4", [contact(lists, "+14155550123")])
    _, deployment = deploy(voicekit, lists, tmp_path, token="pat-wrong-token-123")
    with pytest.raises(LeadSourceError) as raised:
        import_from_source(
            deployment.store, deployment.config, deployment.pm, name="q4", spec=f"hubspot:{list_id}"
        )
    assert "HTTP 401" in str(raised.value) and "access_token" in str(raised.value)
    assert "pat-wrong-token-123" not in str(raised.value)
    with deployment.store.read() as db:
        assert db.execute(select(campaigns)).all() == []


def test_an_outage_on_a_later_page_imports_nothing(voicekit, lists, tmp_path, monkeypatch):
    from hubspot_fake import _failure
    from voicekit_hubspot import lead_source

    monkeypatch.setattr(lead_source, "PAGE_SIZE", 2)
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)  # the first page is written already
    ids = [contact(lists, f"+1415555{i:04d}", firstname=f"L{i}") for i in range(6)]
    list_id = lists.add_list("Q4", ids)
    served = lists._memberships

    def second_page_down(list_id_arg, args):
        return _failure(503) if args.get("after") else served(list_id_arg, args)

    monkeypatch.setattr(lists, "_memberships", second_page_down)
    _, deployment = deploy(voicekit, lists, tmp_path)
    with pytest.raises(LeadSourceError, match="HTTP 503"):
        import_from_source(
            deployment.store, deployment.config, deployment.pm, name="q4", spec=f"hubspot:{list_id}"
        )
    with deployment.store.read() as db:
        assert db.execute(select(campaign_leads)).all() == []
        assert db.execute(select(campaigns)).all() == []


def test_cli_create_from_a_hubspot_list_dedupes_and_scrubs(voicekit, lists, tmp_path):
    ada = contact(lists, "+14155550123")
    twin = contact(lists, "415-555-0123", firstname="Twin")
    bob = contact(lists, "+12125550199", firstname="Bob")
    list_id = lists.add_list("Q4", [ada, twin, bob])
    path, deployment = deploy(voicekit, lists, tmp_path)
    with deployment.store.write() as db:
        add_dnc(db, "+12125550199")
    result = CliRunner().invoke(
        build_cli(),
        ["campaign", "create", str(path), "--name", "Q4", "--from-source", f"hubspot:{list_id}"],
        env={"HUBSPOT_ACCESS_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    assert "3 rows: 1 pending, 1 skipped (1 do-not-call" in result.output
    assert "1 duplicates" in result.output and "same phone as item 1" in result.output
    with deployment.store.read() as db:
        rows = db.execute(select(campaign_leads.c.phone, campaign_leads.c.state)).all()
        [source] = db.execute(select(campaigns.c.source)).scalars().all()
    assert sorted(rows) == [("+12125550199", "skipped"), ("+14155550123", "pending")]
    assert source == f"hubspot:{list_id}"
