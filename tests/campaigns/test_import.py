"""Lead import (`voicekit campaign create`): CSV and lead sources into a draft campaign.

Each behaviour on SQLite and a real Postgres where the store matters (``store_url``).
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from voicekit_core import hookimpl
from voicekit_core.campaigns import importer
from voicekit_core.campaigns.dnc import add_dnc
from voicekit_core.campaigns.importer import StrictImportError, import_csv, import_from_source
from voicekit_core.campaigns.lead_sources import LeadSourceError, SourceItem
from voicekit_core.campaigns.repo import CampaignError, list_campaigns
from voicekit_core.cli import build_cli
from voicekit_core.errors import LeadFileError
from voicekit_core.leads import Lead
from voicekit_core.store import Store
from voicekit_core.store.tables import campaign_leads, campaigns
from voicekit_core.testing import MINIMAL_CONFIG

HEADER = "prospect_name,company_name,job_title,phone,email,timezone,resource_name"


def deploy(voicekit, store_url: str, extra: str = "", files: dict[str, str] | None = None):
    config = f'{MINIMAL_CONFIG}\n[store]\nurl = "{store_url}"\n{extra}'
    return voicekit.load(voicekit.write(config, files=files))


def write(tmp_path: Path, text: str, name: str = "list.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def stored(store: Store, campaign_id: str) -> list[dict]:
    with store.read() as db:
        rows = db.execute(
            select(campaign_leads)
            .where(campaign_leads.c.campaign_id == campaign_id)
            .order_by(campaign_leads.c.row_number)
        ).all()
    return [row._asdict() for row in rows]


def counts(store: Store) -> tuple[int, int]:
    with store.read() as db:
        return (
            db.execute(select(func.count()).select_from(campaigns)).scalar_one(),
            db.execute(select(func.count()).select_from(campaign_leads)).scalar_one(),
        )


# -- CSV ---------------------------------------------------------------------------------


def test_leads_are_stored_pending_with_lead_json_timezone_row_and_script(
    voicekit, store_url, tmp_path
):
    deployment = deploy(voicekit, store_url)
    path = write(
        tmp_path,
        f"{HEADER},industry,script\n"
        "Ada Lovelace,AE,CTO,(415) 555-0123,ada@example.com,America/New_York,rep,Tech,books\n"
        "Grace Hopper,Navy,Admiral,+1 212 555 0199,,,,,\n",
    )
    result = import_csv(deployment.store, deployment.config, name="Q4", path=path)

    assert (result.rows, result.pending, result.skipped, result.issue_count) == (2, 2, 0, 0)
    campaign = result.campaign
    assert (campaign.name, campaign.state, campaign.agent_name) == ("Q4", "draft", "test-agent")
    assert campaign.source == str(path)
    assert campaign.settings["max_attempts_per_lead_per_day"] == 3  # [dialer] at creation
    ada, grace = stored(deployment.store, campaign.id)
    assert (ada["row_number"], ada["phone"], ada["state"]) == (2, "+14155550123", "pending")
    assert ada["timezone"] == "America/New_York"  # the lead's own zone wins
    assert ada["script"] == "books" and ada["attempts"] == 0
    lead = Lead.model_validate_json(ada["lead_json"])
    assert (lead.name, lead.company, lead.source) == ("Ada Lovelace", "AE", "csv")
    assert lead.extra == {"industry": "Tech", "script": "books", "resource_name": "rep"}
    assert grace["timezone"] == "America/New_York"  # the one zone of a 212 number
    assert grace["script"] is None


def test_same_number_in_another_form_is_a_duplicate_and_the_first_row_wins(
    voicekit, store_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)  # duplicates across batches too
    deployment = deploy(voicekit, store_url)
    path = write(
        tmp_path,
        "prospect_name,phone\n"
        "Ada,+14155550123\n"
        "Bob,+12125550199\n"
        "Ada Again,(415) 555-0123\n"
        "Carol,+13125550142\n"
        "Bob Again,212.555.0199\n",
    )
    result = import_csv(deployment.store, deployment.config, name="dups", path=path)

    assert (result.rows, result.pending, result.duplicates) == (5, 3, 2)
    assert [(i.where, i.kind, i.phone, i.reason) for i in result.issues] == [
        ("row 4", "duplicate", "+14155550123", "same phone as row 2"),
        ("row 6", "duplicate", "+12125550199", "same phone as row 3"),
    ]
    rows = stored(deployment.store, result.campaign.id)
    assert [(r["row_number"], r["phone"]) for r in rows] == [
        (2, "+14155550123"),
        (3, "+12125550199"),
        (5, "+13125550142"),
    ]


def test_one_number_with_two_extensions_is_stored_once(voicekit, tmp_path):
    # E.164 is the campaign's key: a switchboard is dialed once, the first extension wins
    store_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    config = MINIMAL_CONFIG.replace(
        'path = "leads.csv"', 'path = "leads.csv"\nallow_extensions = true'
    )
    deployment = voicekit.load(voicekit.write(f'{config}\n[store]\nurl = "{store_url}"\n'))
    path = write(
        tmp_path,
        "prospect_name,phone\nAda,+1 415 555 0123 ext. 12\nBob,+1 415 555 0123 ext. 34\n",
    )
    result = import_csv(deployment.store, deployment.config, name="ext", path=path)
    assert (result.pending, result.duplicates) == (1, 1)
    [row] = stored(deployment.store, result.campaign.id)
    assert Lead.model_validate_json(row["lead_json"]).extension == "12"
    assert result.issues[0].reason == "same phone as row 2"


def test_dnc_hits_are_stored_skipped_with_the_reason_and_reported(voicekit, store_url, tmp_path):
    deployment = deploy(voicekit, store_url)
    with deployment.store.write() as db:
        add_dnc(db, "+12125550199", reason="asked on 2026-01-02")
        add_dnc(db, "+13125550142", scope="othercampaign")  # another campaign's list
    path = write(
        tmp_path, "prospect_name,phone\nAda,+14155550123\nBob,+12125550199\nCy,+13125550142\n"
    )
    result = import_csv(deployment.store, deployment.config, name="scrub", path=path)

    assert (result.pending, result.skipped, result.do_not_call) == (2, 1, 1)
    [issue] = result.issues
    assert (issue.where, issue.kind, issue.stored) == ("row 3", "do_not_call", True)
    assert issue.reason.startswith("do_not_call: on the global do-not-call list since ")
    assert "(asked on 2026-01-02)" in issue.reason
    rows = {r["phone"]: r for r in stored(deployment.store, result.campaign.id)}
    assert rows["+12125550199"]["state"] == "skipped"
    assert rows["+12125550199"]["state_reason"] == issue.reason
    assert rows["+13125550142"]["state"] == "pending"


def test_unknown_timezone_is_skipped_fail_closed_and_several_zones_store_none(
    voicekit, store_url, tmp_path
):
    deployment = deploy(voicekit, store_url)
    path = write(
        tmp_path,
        "prospect_name,phone,timezone\n"
        "Global,+80012345678,\n"  # a UIFN number: no timezone
        "Placed,+80012345679,Europe/Madrid\n"  # ...unless the lead gives one
        "Tollfree,+18005550199,\n",  # 42 candidate zones: all must be open at dial time
    )
    result = import_csv(deployment.store, deployment.config, name="zones", path=path)

    assert (result.pending, result.skipped, result.timezone_unknown) == (2, 1, 1)
    [issue] = result.issues
    assert (issue.where, issue.kind) == ("row 2", "timezone_unknown")
    assert issue.reason.startswith("timezone_unknown: no timezone is known for this number")
    rows = {r["phone"]: r for r in stored(deployment.store, result.campaign.id)}
    assert rows["+80012345678"]["state"] == "skipped"
    assert rows["+80012345679"]["timezone"] == "Europe/Madrid"
    assert rows["+18005550199"]["timezone"] is None


def test_bad_rows_are_reported_with_spreadsheet_row_numbers(voicekit, store_url, tmp_path):
    deployment = deploy(voicekit, store_url)
    path = write(
        tmp_path,
        f"{HEADER}\n"
        "Ada,AE,CTO,+14155550123,ada@example.com,America/New_York,\n"
        "\n"  # a blank row still counts
        'Bad Phone,"Acme\nInc",CEO,12345,,,\n'  # a quoted field over two lines
        "Bad Zone,Acme,CFO,+12125550199,,Mars/Base,\n"
        "Bad Email,Acme,COO,+13125550142,not-an-email,,\n",
    )
    seen = []
    result = import_csv(
        deployment.store, deployment.config, name="bad", path=path, on_issue=seen.append
    )

    assert (result.rows, result.pending, result.invalid) == (4, 1, 3)
    assert [(i.where, i.kind) for i in result.issues] == [
        ("row 4 (lines 4-5)", "invalid"),
        ("row 5 (line 6)", "invalid"),
        ("row 6 (line 7)", "invalid"),
    ]
    assert "not a valid phone number" in result.issues[0].reason
    assert result.issues[1].reason.startswith("timezone 'Mars/Base'")
    assert result.issues[2].reason.startswith("email 'not-an-email'")
    assert seen == result.issues
    assert len(stored(deployment.store, result.campaign.id)) == 1


def test_a_bom_is_fine(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = write(tmp_path, "phone,prospect_name\n+14155550123,Ada\n", encoding="utf-8-sig")
    result = import_csv(deployment.store, deployment.config, name="bom", path=path)
    assert result.pending == 1


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (b"prospect_name;phone\nAda;+14155550123\n", "header", "separated by ';'"),
        (b"prospect_name\tphone\nAda\t+14155550123\n", "header", "separated by tabs"),
        (b"prospect_name,email\nAda,ada@example.com\n", "header", "no 'phone' column"),
        (b"prospect_name,phone\nAda,+14155550123\nJos\xe9,+12125550199\n", "row 3", "not UTF-8"),
        (b"\xff\xfep\x00h\x00o\x00n\x00e\x00\n\x00", "row 1", "UTF-16"),
        (b'prospect_name,phone\n"Ada,+14155550123\n', "row 2", "never closed"),
    ],
)
def test_malformed_files_are_clear_errors_and_create_nothing(
    voicekit, tmp_path, content, where, reason
):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(LeadFileError) as raised:
        import_csv(deployment.store, deployment.config, name="bad", path=path)
    [problem] = raised.value.problems
    assert problem.file == str(path) and problem.key.startswith(where)
    assert reason in problem.reason
    assert counts(deployment.store) == (0, 0)


def test_missing_file_names_it(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(LeadFileError, match=r"nope\.csv.*cannot read"):
        import_csv(deployment.store, deployment.config, name="x", path=tmp_path / "nope.csv")


def test_a_fatal_error_after_many_batches_leaves_nothing_behind(
    voicekit, store_url, tmp_path, monkeypatch
):
    monkeypatch.setattr(importer, "BATCH_ROWS", 50)
    deployment = deploy(voicekit, store_url)
    lines = [f"Lead {i},+1415555{i:04d}" for i in range(1000)]
    body = "prospect_name,phone\n" + "\n".join(lines) + "\nJos\xe9,+12125550199\n"
    path = tmp_path / "late.csv"
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(LeadFileError, match="row 1002"):
        import_csv(deployment.store, deployment.config, name="late", path=path)
    assert counts(deployment.store) == (0, 0)


def test_ten_megabyte_file_streams(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = tmp_path / "big.csv"
    filler = "x" * 5000  # wide rows: > 10 MB in 2,100 rows
    with path.open("w", encoding="utf-8") as out:
        out.write("prospect_name,phone,notes\n")
        for i in range(2100):
            out.write(f"Lead {i},+1415555{i:04d},{filler}\n")
    assert path.stat().st_size > 10 * 1024 * 1024
    result = import_csv(deployment.store, deployment.config, name="big", path=path)
    assert result.pending == 2100


def test_a_binary_file_is_refused_at_its_first_bad_line(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = tmp_path / "big.bin"
    path.write_bytes(b"prospect_name,phone\n" + b"\x00\x9c" * (6 * 1024 * 1024))
    with pytest.raises(LeadFileError) as raised:
        import_csv(deployment.store, deployment.config, name="bin", path=path)
    assert raised.value.problems[0].key.startswith("row 2")
    assert counts(deployment.store) == (0, 0)


def test_import_does_not_hold_the_file_in_memory(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write(f"{HEADER},notes\n")
        for i in range(10_000):
            out.write(
                f"Lead {i},Company {i % 97},VP,+1415{2000000 + i:07d},l{i}@example.com,"
                f"America/Los_Angeles,rep,{'n' * 200}\n"
            )
    progress: list[int] = []
    tracemalloc.start()
    try:
        result = import_csv(
            deployment.store, deployment.config, name="many", path=path, progress=progress.append
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.pending == 10_000
    # 10,000 leads held at once would take well over 20 MB; batches of 1,000 do not
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    assert progress == sorted(progress) and progress[-1] == 10_000 and len(progress) >= 10


def test_strict_refuses_bad_rows_and_stores_nothing(voicekit, store_url, tmp_path):
    deployment = deploy(voicekit, store_url)
    path = write(tmp_path, "prospect_name,phone\nAda,+14155550123\nBad,12345\nAda,4155550123\n")
    with pytest.raises(StrictImportError) as raised:
        import_csv(deployment.store, deployment.config, name="strict", path=path, strict=True)
    keys = [p.key for p in raised.value.problems]
    assert keys[:2] == ["row 3", "row 4"]
    assert "nothing was imported" in str(raised.value)
    assert counts(deployment.store) == (0, 0)


def test_a_taken_name_is_refused(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = write(tmp_path, "prospect_name,phone\nAda,+14155550123\n")
    import_csv(deployment.store, deployment.config, name="once", path=path)
    with pytest.raises(CampaignError, match="already exists"):
        import_csv(deployment.store, deployment.config, name="once", path=path)
    assert counts(deployment.store) == (1, 1)


# -- property: whatever the list, each number is stored once, first row first -----------------

_POOL = [
    "+14155550123",
    "(415) 555-0123",
    "+12125550199",
    "212 555 0199",
    "+13125550142",
    "12345",
    "",
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cells=st.lists(st.sampled_from(_POOL), min_size=0, max_size=12))
def test_property_each_number_stored_once_and_every_row_accounted_for(voicekit, tmp_path, cells):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'prop.sqlite3'}")
    path = write(
        tmp_path, "prospect_name,phone\n" + "".join(f"P{i},{c}\n" for i, c in enumerate(cells))
    )
    name = f"prop-{len(list_campaigns(deployment.store))}"
    result = import_csv(deployment.store, deployment.config, name=name, path=path)

    rows = stored(deployment.store, result.campaign.id)
    phones = [r["phone"] for r in rows]
    assert len(phones) == len(set(phones))
    assert result.rows == result.pending + result.skipped + result.invalid + result.duplicates
    blank = sum(1 for c in cells if c == "")  # "P3," is a row without a phone: invalid
    assert result.rows == len(cells) and result.invalid >= blank
    first_rows: dict[str, int] = {}
    for row in rows:
        first_rows.setdefault(row["phone"], row["row_number"])
    for issue in result.issues:
        if issue.kind == "duplicate":
            assert first_rows[issue.phone] < issue.row


# -- lead sources ------------------------------------------------------------------------------


class ListSource:
    """A plugin offering ``crm:REF``: items from ``self.items`` (or a failure)."""

    def __init__(self, items, fail_after: int | None = None):
        self.items = items
        self.fail_after = fail_after
        self.refs: list[str] = []

    @hookimpl
    def register_lead_sources(self, register):
        register("crm", self.fetch, description="a test CRM list")

    def fetch(self, config, ref):
        self.refs.append(ref)
        for n, item in enumerate(self.items):
            if self.fail_after is not None and n == self.fail_after:
                raise LeadSourceError("crm: the CRM refused page 2 (HTTP 503)")
            yield item


def _lead(phone: str, name: str = "Ada") -> Lead:
    return Lead(phone=phone, first_name=name, source="crm", crm_id=name)


def test_a_source_is_imported_with_dedupe_dnc_and_row_report(voicekit, store_url):
    source = ListSource(
        [
            _lead("+14155550123"),
            SourceItem("contact 7", problem="no phone"),
            _lead("+14155550123", "Twin"),
            SourceItem(
                "contact 9", lead=_lead("+13125550142", "Opt"), opt_out="DNC flag set in crm"
            ),
            _lead("+12125550199", "Bob"),
        ]
    )
    voicekit.register(source, "crm_plugin")
    deployment = deploy(voicekit, store_url)
    with deployment.store.write() as db:
        add_dnc(db, "+12125550199")
    result = import_from_source(
        deployment.store, deployment.config, deployment.pm, name="crm", spec="crm:list-42"
    )

    assert source.refs == ["list-42"]
    assert result.campaign.source == "crm:list-42"
    assert (result.rows, result.pending, result.skipped, result.invalid, result.duplicates) == (
        5,
        1,
        2,
        1,
        1,
    )
    assert [(i.where, i.kind) for i in result.issues] == [
        ("item 2 (contact 7)", "invalid"),
        ("item 3", "duplicate"),
        ("item 4 (contact 9)", "do_not_call"),
        ("item 5", "do_not_call"),
    ]
    assert result.issues[1].reason == "same phone as item 1"
    assert result.issues[2].reason == "do_not_call: DNC flag set in crm"
    rows = {r["phone"]: r for r in stored(deployment.store, result.campaign.id)}
    assert rows["+13125550142"]["state"] == "skipped"
    assert Lead.model_validate_json(rows["+14155550123"]["lead_json"]).crm_id == "Ada"


def test_a_source_failing_midway_leaves_nothing(voicekit, store_url, monkeypatch):
    monkeypatch.setattr(importer, "BATCH_ROWS", 2)
    items = [_lead(f"+1415555{i:04d}", f"L{i}") for i in range(10)]
    voicekit.register(ListSource(items, fail_after=7), "crm_plugin")
    deployment = deploy(voicekit, store_url)
    with pytest.raises(LeadSourceError, match="page 2"):
        import_from_source(
            deployment.store, deployment.config, deployment.pm, name="c", spec="crm:1"
        )
    assert counts(deployment.store) == (0, 0)


def test_unknown_source_and_bad_items_are_clear_errors(voicekit, tmp_path):
    voicekit.register(ListSource([{"phone": "+14155550123"}]), "crm_plugin")
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(LeadSourceError, match="no lead source named 'hubspot'; known: crm"):
        import_from_source(
            deployment.store, deployment.config, deployment.pm, name="c", spec="hubspot:1"
        )
    with pytest.raises(LeadSourceError, match="yielded a dict, not a Lead or SourceItem"):
        import_from_source(deployment.store, deployment.config, deployment.pm, name="c", spec="crm")
    assert counts(deployment.store) == (0, 0)


def test_two_plugins_registering_one_source_name_is_an_error(voicekit, tmp_path):
    from voicekit_core.errors import PluginError

    voicekit.register(ListSource([]), "one")
    voicekit.register(ListSource([]), "two")
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(PluginError, match="registered by both"):
        import_from_source(deployment.store, deployment.config, deployment.pm, name="c", spec="crm")


# -- CLI ---------------------------------------------------------------------------------------

SOURCE_PLUGIN = """\
from voicekit_core import Lead, hookimpl


@hookimpl
def register_lead_sources(register):
    def fetch(config, ref):
        yield Lead(phone="+14155550123", first_name="[bold]Ada[/]", source="fake")
        yield Lead(phone="+12125550199", first_name="Bob", source="fake")

    register("fake", fetch)
"""


def test_cli_create_prints_counts_and_escaped_issue_rows(voicekit, tmp_path):
    store_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    config = voicekit.write(
        f'{MINIMAL_CONFIG}\n[store]\nurl = "{store_url}"\n',
        files={
            "list.csv": "prospect_name,phone\nAda,+14155550123\n[red]Mallory[/],12345 [x]\n"
            "Ada,415-555-0123\n"
        },
    )
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(
        build_cli(),
        [
            "campaign",
            "create",
            str(config),
            "--name",
            "Q4",
            "--leads",
            str(config.parent / "list.csv"),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "created campaign Q4" in result.output
    assert (
        "3 rows: 1 pending, 0 skipped" in result.output
        and "1 invalid, 1 duplicates" in result.output
    )
    assert "12345 [x]" in result.output  # markup printed literally, not interpreted
    assert "same phone as row 2" in result.output
    lines = report.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "row,where,kind,phone,stored,reason"
    assert lines[1].startswith("3,row 3,invalid,") and lines[2].startswith("4,row 4,duplicate,")
    assert not list(tmp_path.glob(".report.csv.*"))


def test_cli_create_bad_file_exits_2_naming_file_and_row(voicekit, tmp_path):
    config = voicekit.write(
        f'{MINIMAL_CONFIG}\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
    )
    bad = tmp_path / "semi.csv"
    bad.write_text("prospect_name;phone\nAda;+14155550123\n", encoding="utf-8")
    report = tmp_path / "report.csv"
    result = CliRunner().invoke(
        build_cli(),
        [
            "campaign",
            "create",
            str(config),
            "--name",
            "x",
            "--leads",
            str(bad),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 2
    assert f"{bad}: header" in result.output and "separated by ';'" in result.output
    assert not report.exists() and not list(tmp_path.glob(".report.csv.*"))
    assert list_campaigns(Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")) == []


def test_cli_create_needs_exactly_one_input(voicekit, tmp_path):
    config = voicekit.write()
    result = CliRunner().invoke(build_cli(), ["campaign", "create", str(config), "--name", "x"])
    assert result.exit_code == 2 and "exactly one of --leads" in result.output


def test_cli_create_strict_keeps_the_report_of_why(voicekit, tmp_path):
    config = voicekit.write(
        f'{MINIMAL_CONFIG}\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n',
        files={"list.csv": "prospect_name,phone\nAda,+14155550123\nBad,12345\n"},
    )
    report = tmp_path / "why.csv"
    result = CliRunner().invoke(
        build_cli(),
        [
            "campaign",
            "create",
            str(config),
            "--name",
            "s",
            "--strict",
            "--leads",
            str(config.parent / "list.csv"),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 2 and "row 3" in result.output and "--strict" in result.output
    assert "3,row 3,invalid" in report.read_text(encoding="utf-8")


def test_cli_create_from_a_plugin_source(voicekit, tmp_path):
    config = voicekit.write(
        f'{MINIMAL_CONFIG}\n[store]\nurl = "sqlite:///{tmp_path / "db.sqlite3"}"\n'
        '[plugins]\nenable = ["fake_source"]\n',
        files={"fake_source.py": SOURCE_PLUGIN},
    )
    result = CliRunner().invoke(
        build_cli(), ["campaign", "create", str(config), "--name", "crm", "--from-source", "fake"]
    )
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 pending" in result.output and "from fake" in result.output
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    [campaign] = list_campaigns(store)
    [first, _] = stored(store, campaign.id)
    assert json.loads(first["lead_json"])["first_name"] == "[bold]Ada[/]"


def test_created_at_is_utc(voicekit, tmp_path):
    deployment = deploy(voicekit, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    path = write(tmp_path, "prospect_name,phone\nAda,+14155550123\n")
    result = import_csv(deployment.store, deployment.config, name="t", path=path)
    assert result.campaign.created_at.tzinfo is not None
    assert abs(result.campaign.created_at - datetime.now(timezone.utc)).total_seconds() < 60
