"""Lead lists in the store: save (with its checks), list, select, delete, materialize,
and the preview's per-row problems and whole-file totals."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from voicekit_core.deployment import load_deployment
from voicekit_core.errors import LeadFileError
from voicekit_core.lead_lists import (
    LeadListError,
    LeadListNotFound,
    clean_filename,
    delete_lead_list,
    download_filename,
    get_lead_list,
    lead_list_bytes,
    list_lead_lists,
    materialize,
    preview_lead_list,
    save_lead_list,
    select_lead_list,
    selected_lead_list,
)

HEADER = "prospect_name,company_name,phone,email,timezone\n"
PROBLEM_CSV = (
    HEADER
    + "Ada Good,Acme,+1 415 555 0101,ada@acme.example,America/Los_Angeles\n"  # row 2: ok
    + "Bad Phone,Acme,12345,,America/New_York\n"  # row 3: invalid phone
    + "Bad Zone,Acme,+1 212 555 0102,,Mars/Olympus\n"  # row 4: invalid timezone
    + "Ada Again,Acme,(415) 555-0101,,America/Los_Angeles\n"  # row 5: duplicate of row 2
    + "Blocked,Acme,+1 312 555 0103,,America/Chicago\n"  # row 6: on the global DNC list
    + "Nowhere,Acme,+800 1234 5678,,\n"  # row 7: no timezone known
    + "Campaign Only,Acme,+1 720 555 0104,,America/Denver\n"  # row 8: campaign's DNC list
).encode()
LIMITS = {"max_bytes": 1 << 20, "max_rows": 1000}


@pytest.fixture
def deployment(example_copy: Path):
    return load_deployment(example_copy)


def save(deployment, data: bytes = PROBLEM_CSV, name: str = "november", **kwargs):
    options = {**LIMITS, **kwargs}
    return save_lead_list(
        deployment.store,
        deployment.config,
        name=name,
        filename=options.pop("filename", "november.csv"),
        data=data,
        **options,
    )


def test_save_list_get_and_bytes(deployment):
    saved = save(deployment)
    assert (saved.name, saved.filename, saved.rows) == ("november", "november.csv", 7)
    assert saved.size_bytes == len(PROBLEM_CSV)
    assert saved.selected  # the first list is the default for a new campaign
    assert list_lead_lists(deployment.store) == [saved]
    assert get_lead_list(deployment.store, saved.id) == saved
    assert lead_list_bytes(deployment.store, saved.id) == PROBLEM_CSV
    assert selected_lead_list(deployment.store) == saved


def test_blank_lines_are_not_rows(deployment):
    saved = save(deployment, (HEADER + "\n,,,,\nA,B,+14155550101,,\n\n").encode())
    assert saved.rows == 1


@pytest.mark.parametrize(
    "data, limits, reason",
    [
        (b"x" * 2000, {"max_bytes": 1024}, "2,000 bytes; the upload limit is 1,024 bytes"),
        (PROBLEM_CSV, {"max_rows": 3}, "more than 3 rows"),
        (HEADER.encode() + b"Jos\xe9,Acme,+14155550101,,\n", {}, "not UTF-8"),
        (b"name,email\nAda,ada@x.example\n", {}, "no 'phone' column"),
        (b"name;phone\nAda;+14155550101\n", {}, "separated by ';'"),
        (b"phone,phone\n+14155550101,+14155550102\n", {}, "appears twice"),
        (HEADER.encode(), {}, "no lead rows"),
        (b"", {}, "no 'phone' column"),
        ('\ufeffphone\n"+14155550101\n'.encode(), {}, "never closed"),
    ],
)
def test_bad_files_are_refused_naming_the_file(deployment, data, limits, reason):
    with pytest.raises(LeadFileError) as caught:
        save(deployment, data, filename="C:\\fakepath\\upload.csv", **limits)
    message = str(caught.value)
    assert reason in message
    assert message.startswith("upload.csv")  # the uploaded name, not a temporary path
    assert list_lead_lists(deployment.store) == []


def test_names_are_unique_and_checked(deployment):
    save(deployment)
    with pytest.raises(LeadListError, match="already exists"):
        save(deployment)
    with pytest.raises(LeadListError, match="needs a name"):
        save(deployment, name="   ")
    assert len(list_lead_lists(deployment.store)) == 1


def test_unknown_ids_raise_not_found(deployment):
    store = deployment.store
    for action in (get_lead_list, lead_list_bytes, delete_lead_list, select_lead_list):
        with pytest.raises(LeadListNotFound, match="no lead list with id 'nope'"):
            action(store, "nope")
    with pytest.raises(LeadListNotFound), materialize(store, "nope"):
        pass


def test_only_one_list_is_selected(deployment):
    first = save(deployment, name="first")
    second = save(deployment, name="second")
    assert not second.selected
    assert select_lead_list(deployment.store, second.id).selected
    selected = [item.name for item in list_lead_lists(deployment.store) if item.selected]
    assert selected == ["second"]
    delete_lead_list(deployment.store, second.id)
    assert [item.id for item in list_lead_lists(deployment.store)] == [first.id]
    assert selected_lead_list(deployment.store) is None


def test_materialize_is_private_and_removed(deployment):
    saved = save(deployment)
    with materialize(deployment.store, saved.id) as path:
        assert path.read_bytes() == PROBLEM_CSV
        assert path.name == "november.csv"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert not path.exists() and not path.parent.exists()


def test_materialized_list_imports_as_a_campaign(deployment):
    from voicekit_core.campaigns.importer import import_csv

    saved = save(deployment)
    with materialize(deployment.store, saved.id) as path:
        result = import_csv(deployment.store, deployment.config, name="c1", path=path)
    assert (result.rows, result.invalid, result.duplicates) == (7, 2, 1)


def test_preview_flags_each_problem_on_its_row(deployment):
    from voicekit_core.campaigns.dnc import add_dnc
    from voicekit_core.campaigns.importer import import_csv

    store = deployment.store
    campaign = import_csv(
        store, deployment.config, name="other", path=deployment.config.path.parent / "leads.csv"
    ).campaign
    with store.write() as db:
        add_dnc(db, "+13125550103", reason="asked on a call")
        add_dnc(db, "+17205550104", scope=campaign.id, reason="campaign opt-out")
    saved = save(deployment)

    preview = preview_lead_list(store, deployment.config, saved.id)
    assert preview.columns == ["prospect_name", "company_name", "phone", "email", "timezone"]
    by_row = {row.row: row for row in preview.rows}
    assert [row.row for row in preview.rows] == [2, 3, 4, 5, 6, 7, 8]
    assert by_row[2].ok and by_row[2].phone == "+14155550101"
    assert by_row[2].cells[0] == "Ada Good"
    kinds = {number: [(p.kind, p.reason) for p in row.problems] for number, row in by_row.items()}
    assert kinds[3][0][0] == "invalid" and "phone '12345'" in kinds[3][0][1]
    assert kinds[4][0][0] == "invalid" and "Mars/Olympus" in kinds[4][0][1]
    assert kinds[5] == [("duplicate", "same phone as row 2")]
    assert kinds[6][0][0] == "do_not_call" and "asked on a call" in kinds[6][0][1]
    assert kinds[7][0][0] == "timezone_unknown"
    assert by_row[8].ok  # the campaign's own list applies to that campaign only
    totals = preview.totals
    assert (totals.rows, totals.valid, totals.invalid, totals.duplicates) == (7, 4, 2, 1)
    assert totals.do_not_call == 1

    scoped = preview_lead_list(store, deployment.config, saved.id, campaign_id="other")
    assert scoped.campaign_id == campaign.id
    assert [p.kind for p in scoped.rows[-1].problems] == ["do_not_call"]
    assert scoped.totals.do_not_call == 2


def test_preview_counts_the_whole_file_beyond_the_shown_rows(deployment):
    from voicekit_core.campaigns.dnc import add_dnc

    lines = [HEADER.rstrip("\n")]
    for n in range(1200):
        lines.append(f"Lead {n},Acme,+1 415 555 {n % 1000:04d},,America/Los_Angeles")
    lines.append("Broken,Acme,not a phone,,")
    with deployment.store.write() as db:
        add_dnc(db, "+14155550999")
    saved = save(deployment, ("\n".join(lines) + "\n").encode(), max_rows=5000)
    preview = preview_lead_list(deployment.store, deployment.config, saved.id, rows=5)
    assert len(preview.rows) == 5
    totals = preview.totals
    assert (totals.rows, totals.valid, totals.duplicates, totals.invalid) == (1201, 1000, 200, 1)
    assert totals.do_not_call == 1


def test_preview_of_an_unknown_campaign_is_an_error(deployment):
    from voicekit_core.campaigns.repo import CampaignError

    saved = save(deployment)
    with pytest.raises(CampaignError):
        preview_lead_list(deployment.store, deployment.config, saved.id, campaign_id="nope")


@pytest.mark.parametrize(
    "given, kept, download",
    [
        ("C:\\fakepath\\Leads Nov.csv", "Leads Nov.csv", "Leads Nov.csv"),
        ("../../etc/passwd", "passwd", "passwd.csv"),
        ('evil"\r\nX-Header: 1.csv', 'evil"X-Header: 1.csv', "evil_X-Header_ 1.csv"),
        ("", "leads.csv", "leads.csv"),
        ("café.csv", "café.csv", "caf_.csv"),
    ],
)
def test_file_names(given, kept, download):
    assert clean_filename(given) == kept
    assert download_filename(given) == download
