"""The ``salesforce`` lead source: a Campaign's members (SOQL on CampaignMember)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote_plus

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer
from salesforce_fake import SESSION, salesforce_config
from salesforce_members_fake import FakeSalesforceCampaigns
from sqlalchemy import select

from voicekit_core.campaigns import importer
from voicekit_core.campaigns.importer import import_from_source
from voicekit_core.campaigns.lead_sources import LeadSourceError, SourceItem, lead_sources
from voicekit_core.cli import build_cli
from voicekit_core.leads import Lead
from voicekit_core.store.tables import campaign_leads, campaigns


@pytest.fixture
def crm(salesforce_server: HTTPServer, salesforce_ca) -> Iterator[FakeSalesforceCampaigns]:
    fake = FakeSalesforceCampaigns()
    salesforce_server.clear()
    salesforce_server.expect_request(re.compile(r".*")).respond_with_handler(fake)
    fake.url = salesforce_server.url_for("").rstrip("/")
    fake.ca_file = str(salesforce_ca[1])
    yield fake
    salesforce_server.clear()


def deploy(voicekit, fake, tmp_path, session: str = SESSION, **settings):
    config = salesforce_config(fake.url, fake.ca_file, **settings)
    config += f'\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
    path = voicekit.write(config)
    return path, voicekit.load(path, environ={"SALESFORCE_SESSION_ID": session})


def items(deployment, ref: str) -> list:
    return list(lead_sources(deployment.pm)["salesforce"].function(deployment.config, ref))


def person(fake, kind: str, phone: str | None, **fields) -> str:
    values = {"FirstName": "Ada", "LastName": "King", "Phone": phone, "DoNotCall": False, **fields}
    return fake.add(kind, values)


def test_members_become_leads_contacts_first(voicekit, crm, tmp_path):
    campaign = crm.add_campaign("Q4 outreach")
    lead_id = person(
        crm,
        "Lead",
        "(415) 555-0123",
        Company="AE",
        Title="CTO",
        Email="ada@example.com",
        Status="Open",
        Owner={"Name": "Alex Rivera"},
        Timezone__c="America/Chicago",
    )
    converted = person(crm, "Lead", "+1 312 555 0142", FirstName="Old")
    contact_id = person(
        crm, "Contact", None, MobilePhone="212-555-0199", FirstName="Bob", Account={"Name": "Navy"}
    )
    crm.add_member(campaign, lead_id=lead_id, status="Sent")
    crm.add_member(campaign, lead_id=converted, contact_id=contact_id, status="Responded")
    crm.add_member(crm.add_campaign("other"), lead_id=lead_id)

    _, deployment = deploy(voicekit, crm, tmp_path, timezone_field="Timezone__c")
    ada, bob = items(deployment, campaign)

    assert isinstance(ada, Lead) and isinstance(bob, Lead)
    assert (ada.phone, ada.name, ada.company, ada.job_title, ada.status) == (
        "+14155550123",
        "Ada King",
        "AE",
        "CTO",
        "Open",
    )
    assert (ada.owner, ada.timezone, ada.crm_id, ada.source) == (
        "Alex Rivera",
        "America/Chicago",
        lead_id,
        "salesforce",
    )
    assert ada.extra["salesforce_object"] == "Lead"
    assert ada.extra["salesforce_member_status"] == "Sent"
    # a converted Lead's member is its Contact
    assert (bob.phone, bob.company, bob.crm_id) == ("+12125550199", "Navy", contact_id)
    assert bob.extra["salesforce_object"] == "Contact"
    campaign_soql, member_soql = crm.queries()
    assert campaign_soql == f"SELECT Id, Name FROM Campaign WHERE Id = '{campaign}' LIMIT 2"
    assert member_soql.startswith("SELECT Id, Status, LeadId, ContactId, Lead.Id, Lead.FirstName")
    assert "Contact.Account.Name" in member_soql and "Lead.Timezone__c" in member_soql
    assert member_soql.endswith(f"FROM CampaignMember WHERE CampaignId = '{campaign}' ORDER BY Id")


def test_do_not_call_missing_and_bad_numbers(voicekit, crm, tmp_path):
    campaign = crm.add_campaign("Q4")
    opted = person(crm, "Lead", "+14155550123", DoNotCall=True)
    none = person(crm, "Contact", None)
    bad = person(crm, "Lead", "12345")
    for lead_id in (opted, bad):
        crm.add_member(campaign, lead_id=lead_id)
    crm.add_member(campaign, contact_id=none)

    opted_item, bad_item, none_item = items(deploy(voicekit, crm, tmp_path)[1], campaign)
    assert opted_item.opt_out == "Do Not Call is set on the Salesforce Lead"
    assert opted_item.lead.phone == "+14155550123"
    assert bad_item.ref == f"Lead {bad}" and bad_item.problem.startswith("phone '12345': ")
    assert none_item == SourceItem(f"Contact {none}", problem="no Phone or MobilePhone")


def test_members_are_paged_through_next_records_url(voicekit, crm, tmp_path):
    crm.page_size = 2
    campaign = crm.add_campaign("Q4")
    for i in range(5):
        crm.add_member(campaign, lead_id=person(crm, "Lead", f"+1415555{i:04d}", FirstName=f"L{i}"))
    got = items(deploy(voicekit, crm, tmp_path)[1], campaign)
    assert [lead.first_name for lead in got] == [f"L{i}" for i in range(5)]
    pages = [r.path for r in crm.requests if "/query/01g" in r.path]
    assert len(pages) == 2


def test_a_campaign_by_name(voicekit, crm, tmp_path):
    campaign = crm.add_campaign("Spring 'promo'")
    crm.add_member(campaign, lead_id=person(crm, "Lead", "+14155550123"))
    got = items(deploy(voicekit, crm, tmp_path)[1], "Spring 'promo'")
    assert [lead.phone for lead in got] == ["+14155550123"]
    assert "Name = 'Spring \\'promo\\''" in unquote_plus(crm.queries()[0])


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("", "say which Campaign"),
        ("701000000000000999", "no Campaign with Id '701000000000000999'"),
        ("Nope", "no Campaign with Name 'Nope'"),
        ("Twice", "several Campaigns are named 'Twice'"),
    ],
)
def test_bad_references_are_clear_errors(voicekit, crm, tmp_path, ref, message):
    crm.add_campaign("Twice")
    crm.add_campaign("Twice")
    _, deployment = deploy(voicekit, crm, tmp_path)
    with pytest.raises(LeadSourceError, match=re.escape(message)):
        items(deployment, ref)


def test_an_expired_session_stops_the_import_and_names_the_setting(voicekit, crm, tmp_path):
    campaign = crm.add_campaign("Q4")
    _, deployment = deploy(voicekit, crm, tmp_path, session="00Dxx!expired-session-value")
    with pytest.raises(LeadSourceError) as raised:
        import_from_source(
            deployment.store,
            deployment.config,
            deployment.pm,
            name="q4",
            spec=f"salesforce:{campaign}",
        )
    text = str(raised.value)
    assert "HTTP 401" in text and "session_id" in text and "expired-session-value" not in text
    with deployment.store.read() as db:
        assert db.execute(select(campaigns)).all() == []


def test_an_outage_on_a_later_page_imports_nothing(voicekit, crm, tmp_path, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    crm.page_size = 2
    campaign = crm.add_campaign("Q4")
    for i in range(6):
        crm.add_member(campaign, lead_id=person(crm, "Lead", f"+1415555{i:04d}", FirstName=f"L{i}"))
    crm.fail_when("GET", r"/query/01g.*", 500, 500, 500)
    _, deployment = deploy(voicekit, crm, tmp_path)
    with pytest.raises(LeadSourceError, match="HTTP 500"):
        import_from_source(
            deployment.store,
            deployment.config,
            deployment.pm,
            name="q4",
            spec=f"salesforce:{campaign}",
        )
    with deployment.store.read() as db:
        assert db.execute(select(campaign_leads)).all() == []


def test_cli_create_from_a_salesforce_campaign(voicekit, crm, tmp_path):
    campaign = crm.add_campaign("Q4")
    crm.add_member(campaign, lead_id=person(crm, "Lead", "+14155550123"))
    crm.add_member(campaign, lead_id=person(crm, "Lead", "+12125550199", DoNotCall=True))
    path, deployment = deploy(voicekit, crm, tmp_path)
    result = CliRunner().invoke(
        build_cli(),
        [
            "campaign",
            "create",
            str(path),
            "--name",
            "Q4",
            "--from-source",
            f"salesforce:{campaign}",
        ],
        env={"SALESFORCE_SESSION_ID": SESSION},
    )
    assert result.exit_code == 0, result.output
    assert "2 rows: 1 pending, 1 skipped (1 do-not-call" in result.output
    assert "do_not_call" in result.output
    with deployment.store.read() as db:
        rows = db.execute(
            select(campaign_leads.c.phone, campaign_leads.c.state, campaign_leads.c.state_reason)
        ).all()
    assert sorted(rows) == [
        ("+12125550199", "skipped", "do_not_call: Do Not Call is set on the Salesforce Lead"),
        ("+14155550123", "pending", ""),
    ]
