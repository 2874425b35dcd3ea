"""The do-not-call list: store functions, DNC files, and `voicekit dnc add|remove|list|import`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from voicekit_core.campaigns import dnc as dnc_module
from voicekit_core.campaigns.dnc import (
    DncFileError,
    add_dnc,
    dnc_entry,
    dnc_reason,
    find_dnc,
    import_dnc,
    iter_dnc,
    read_dnc_file,
    remove_dnc,
)
from voicekit_core.campaigns.importer import import_csv
from voicekit_core.cli import build_cli
from voicekit_core.phones import PhonePolicy
from voicekit_core.store import Store
from voicekit_core.store.tables import dnc
from voicekit_core.testing import MINIMAL_CONFIG

POLICY = PhonePolicy()


def entries(store: Store) -> list[tuple[str, str]]:
    return [(e.phone, e.scope) for e in iter_dnc(store)]


def count(store: Store) -> int:
    with store.read() as db:
        return db.execute(select(func.count()).select_from(dnc)).scalar_one()


# -- the store ---------------------------------------------------------------------------


def test_add_is_idempotent_and_keeps_the_first_entry(store_url):
    store = Store(store_url)
    with store.write() as db:
        assert add_dnc(db, "+14155550123", reason="asked", source="cli")
        assert not add_dnc(db, "+14155550123", reason="again")
        assert add_dnc(db, "+14155550123", scope="c1")  # another scope is another entry
    with store.read() as db:
        entry = dnc_entry(db, "+14155550123")
    assert entry is not None and (entry.reason, entry.source, entry.scope) == ("asked", "cli", "")
    assert entry.created_at.tzinfo is not None
    assert entries(store) == [("+14155550123", ""), ("+14155550123", "c1")]


def test_scopes_global_applies_everywhere_campaign_only_to_its_campaign(store_url):
    store = Store(store_url)
    with store.write() as db:
        add_dnc(db, "+14155550123")
        add_dnc(db, "+12125550199", scope="c1")
    with store.read() as db:
        assert set(find_dnc(db, ["+14155550123", "+12125550199"])) == {"+14155550123"}
        hits = find_dnc(db, ["+14155550123", "+12125550199"], "c1")
        assert set(hits) == {"+14155550123", "+12125550199"}
        assert dnc_entry(db, "+12125550199", "c2") is None
    assert dnc_reason(hits["+12125550199"]).startswith(
        "do_not_call: on this campaign's do-not-call list since "
    )


def test_remove_takes_off_one_scope_only(store_url):
    store = Store(store_url)
    with store.write() as db:
        add_dnc(db, "+14155550123")
        add_dnc(db, "+14155550123", scope="c1")
        assert remove_dnc(db, "+14155550123", scope="c1")
        assert not remove_dnc(db, "+14155550123", scope="c1")
    assert entries(store) == [("+14155550123", "")]


def test_numbers_must_be_e164(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with pytest.raises(ValueError, match=r"E\.164"), store.write() as db:
        add_dnc(db, "(415) 555-0123")
    assert count(store) == 0


def test_find_many_numbers_at_once(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    phones = [f"+1415555{i:04d}" for i in range(1200)]
    with store.write() as db:
        for phone in phones[::3]:
            add_dnc(db, phone)
    with store.read() as db:
        assert set(find_dnc(db, phones)) == set(phones[::3])


# -- files -------------------------------------------------------------------------------


def write(tmp_path: Path, text: str | bytes, name: str = "dnc.txt") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_text_file_one_number_per_line_with_comments(tmp_path):
    path = write(
        tmp_path,
        "# opt-outs from the old dialer\n(415) 555-0123  # asked 2026-01-02\n\n+1 212 555 0199\n"
        "not a number\n+1 312 555 0142 ext. 7\n",
    )
    rows = list(read_dnc_file(path, POLICY))
    assert [(r.row, r.phone, r.reason) for r in rows] == [
        (2, "+14155550123", "asked 2026-01-02"),
        (4, "+12125550199", ""),
        (5, None, ""),
        (6, "+13125550142", ""),  # an extension blocks the main number
    ]
    assert rows[2].problem.startswith("phone 'not a number': not a phone number")


def test_csv_file_with_phone_and_reason_columns(tmp_path):
    path = write(
        tmp_path,
        'name,Phone,reason\nAda,+14155550123,asked\n"Bob\nBrown",212-555-0199,\nEve,,x\n',
        name="dnc.csv",
    )
    rows = list(read_dnc_file(path, POLICY))
    assert [(r.row, r.phone, r.reason) for r in rows] == [
        (2, "+14155550123", "asked"),
        (3, "+12125550199", ""),
        (4, None, "x"),
    ]
    assert rows[2].problem == "phone: missing"


@pytest.mark.parametrize(
    ("content", "where", "reason"),
    [
        (b"phone\n+14155550123\nJos\xe9\n", "row 3", "not UTF-8"),
        (b"\xff\xfe+\x001\x00", "row 1", "UTF-16"),
        (b"name;phone\nAda;+14155550123\n", "row 1", "separated by ';'"),
        (b"name,email\nAda,ada@example.com\n", "row 1", "no 'phone' column"),
        (b'phone\n"+14155550123\n', "row 2", "malformed CSV"),
        (b"+14155550123\n" + b"9" * (2 << 20) + b"\n", "row 2", "longer than"),
    ],
)
def test_unreadable_files_are_clear_errors(tmp_path, content, where, reason):
    path = write(tmp_path, content)
    with pytest.raises(DncFileError) as raised:
        list(read_dnc_file(path, POLICY))
    [problem] = raised.value.problems
    assert (problem.file, problem.key) == (str(path), where)
    assert reason in problem.reason


def test_bom_and_empty_files_are_fine(tmp_path):
    assert [
        r.phone for r in read_dnc_file(write(tmp_path, "\ufeffphone\n4155550123\n"), POLICY)
    ] == ["+14155550123"]
    assert list(read_dnc_file(write(tmp_path, "", name="empty.txt"), POLICY)) == []


def test_import_adds_in_batches_reports_bad_rows_and_counts_known_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(dnc_module, "BATCH_ROWS", 3)
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with store.write() as db:
        add_dnc(db, "+14155550100")
    numbers = [f"+1415555{i:04d}" for i in range(100, 110)]
    path = write(tmp_path, "\n".join([*numbers, "oops", numbers[0]]) + "\n")
    progress: list[int] = []
    result = import_dnc(store, path, policy=POLICY, progress=progress.append)
    assert (result.rows, result.added, result.already, result.problem_count) == (12, 9, 2, 1)
    assert result.problems[0].key == "row 11" and str(path) in str(result.problems[0])
    assert progress[-1] == 12 and progress == sorted(progress)
    assert count(store) == 10
    assert {e.source for e in iter_dnc(store)} == {"", "import:dnc.txt"}


def test_import_is_one_transaction(store_url, tmp_path, monkeypatch):
    monkeypatch.setattr(dnc_module, "BATCH_ROWS", 5)
    store = Store(store_url)
    numbers = "\n".join(f"+1415555{i:04d}" for i in range(100, 150))
    bad_late = write(tmp_path, (numbers + "\n").encode() + b"Jos\xe9\n")
    with pytest.raises(DncFileError, match="row 51"):
        import_dnc(store, bad_late, policy=POLICY)
    typo = write(tmp_path, numbers + "\noops\n", name="typo.txt")
    with pytest.raises(DncFileError, match="--strict: nothing was imported"):
        import_dnc(store, typo, policy=POLICY, strict=True)
    assert count(store) == 0


# -- CLI -----------------------------------------------------------------------------------


@pytest.fixture
def cli_config(voicekit, tmp_path) -> tuple[Path, Store]:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    path = voicekit.write(f'{MINIMAL_CONFIG}\n[store]\nurl = "{url}"\n')
    return path, Store(url)


def run(*args: str):
    return CliRunner().invoke(build_cli(), [str(a) for a in args])


def test_cli_add_list_remove(cli_config):
    path, store = cli_config
    added = run("dnc", "add", path, "(415) 555-0123", "+12125550199", "--reason", "[red]asked[/]")
    assert added.exit_code == 0, added.output
    assert "+14155550123 added to the global do-not-call list" in added.output
    again = run("dnc", "add", path, "+14155550123")
    assert "already on the global" in again.output

    listed = run("dnc", "list", path)
    assert listed.exit_code == 0 and "[red]asked[/]" in listed.output  # escaped, not styled
    as_json = run("dnc", "list", path, "--json")
    records = [json.loads(line) for line in as_json.output.splitlines()]
    assert [r["phone"] for r in records] == ["+12125550199", "+14155550123"]
    assert records[0]["reason"] == "[red]asked[/]" and records[0]["source"] == "cli"

    removed = run("dnc", "remove", path, "415.555.0123")
    assert "+14155550123 removed from the global" in removed.output
    assert entries(store) == [("+12125550199", "")]


def test_cli_campaign_scope_and_unknown_campaign(cli_config, tmp_path):
    path, store = cli_config
    deployment_leads = path.parent / "leads.csv"
    from voicekit_core.deployment import load_deployment

    deployment = load_deployment(path)
    campaign = import_csv(store, deployment.config, name="Q4", path=deployment_leads).campaign
    ok = run("dnc", "add", path, "+14155550123", "--campaign", "Q4")
    assert ok.exit_code == 0 and "the do-not-call list of campaign 'Q4'" in ok.output
    assert entries(store) == [("+14155550123", campaign.id)]
    assert "is empty" in run("dnc", "list", path).output
    assert "+14155550123" in run("dnc", "list", path, "--campaign", campaign.id).output
    assert "+14155550123" in run("dnc", "list", path, "--all").output

    unknown = run("dnc", "add", path, "+12125550199", "--campaign", "nope")
    assert unknown.exit_code == 2 and "no campaign named or with id 'nope'" in unknown.output
    assert len(entries(store)) == 1


def test_cli_bad_number_exits_2_and_writes_nothing(cli_config):
    path, store = cli_config
    result = run("dnc", "add", path, "+14155550123", "12345")
    assert result.exit_code == 2 and "'12345'" in result.output
    assert count(store) == 0


def test_cli_import_reports_rows(cli_config, tmp_path):
    path, store = cli_config
    file = write(tmp_path, "phone,reason\n+14155550123,asked\nbad,\n", name="list.csv")
    result = run("dnc", "import", path, file)
    assert result.exit_code == 0, result.output
    assert "1 added to the global do-not-call list" in result.output
    assert "1 bad rows" in result.output and "row 3" in result.output
    strict = run("dnc", "import", path, file, "--strict")
    assert strict.exit_code == 2 and "row 3" in strict.output
    broken = write(tmp_path, b"phone\n\xe9\n", name="latin.csv")
    failed = run("dnc", "import", path, broken)
    assert failed.exit_code == 2 and f"{broken}: row 2" in failed.output
    assert count(store) == 1
