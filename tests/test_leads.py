"""Unit tests for voicekit_core.leads: phone normalisation, Lead validation, the CSV book."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from voicekit_core import lead_csv
from voicekit_core.errors import LeadFileError, Problem
from voicekit_core.lead_check import default_workers
from voicekit_core.lead_csv import FIELD_LIMIT, LeadBook
from voicekit_core.leads import (
    Lead,
    _fast_email,
    lead_as_context,
    national_forms,
    read_leads_csv,
    split_name,
    to_e164,
)
from voicekit_core.phones import PhonePolicy
from voicekit_core.testing import MINIMAL_CONFIG

HEADER = "prospect_name,company_name,job_title,phone,email,timezone,resource_name"


def write_csv(tmp_path: Path, text: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- to_e164 / national_forms ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    ["+14155550123", "(415) 555-0123", "415-555-0123", "415.555.0123", "+1 415 555 0123"],
)
def test_to_e164_us_forms(raw):
    assert to_e164(raw) == "+14155550123"


def test_to_e164_national_form_read_in_default_region():
    assert to_e164("020 7946 0958", "GB") == "+442079460958"
    assert to_e164("+44 20 7946 0958") == "+442079460958"  # explicit +CC ignores region


def test_to_e164_national_form_of_another_region_is_invalid_in_us():
    with pytest.raises(ValueError, match="not a valid phone number"):
        to_e164("020 7946 0958")  # a London number read as American


@pytest.mark.parametrize("raw", ["12345", "+1 555 0123", "+1 415 555 01234"])
def test_to_e164_invalid_numbers(raw):
    with pytest.raises(ValueError, match="not a valid phone number"):
        to_e164(raw)


@pytest.mark.parametrize("raw", ["", "abc", "call me maybe"])
def test_to_e164_not_a_number(raw):
    with pytest.raises(ValueError, match="not a phone number"):
        to_e164(raw)


def test_national_forms_us():
    assert national_forms("+14155550123") == [
        "+14155550123",
        "(415) 555-0123",
        "+1 415-555-0123",
        "4155550123",
        "14155550123",
    ]


def test_national_forms_gb_keeps_trunk_zero_in_digits():
    forms = national_forms("+442079460958")
    assert forms == [
        "+442079460958",
        "020 7946 0958",
        "+44 20 7946 0958",
        "02079460958",
        "442079460958",
    ]
    assert len(forms) == len(set(forms))


# -- Lead ---------------------------------------------------------------------------


def test_lead_normalises_phone_and_builds_name():
    lead = Lead(first_name="Ada", last_name="Lovelace", phone="(415) 555-0123")
    assert lead.phone == "+14155550123"
    assert lead.name == "Ada Lovelace"
    assert Lead(first_name="Ada", phone="+14155550123").name == "Ada"


def test_lead_rejects_bad_phone():
    with pytest.raises(ValidationError) as info:
        Lead(phone="12345")
    assert info.value.errors()[0]["loc"] == ("phone",)


def test_lead_bad_timezone():
    with pytest.raises(ValidationError) as info:
        Lead(phone="+14155550123", timezone="Mars/Olympus_Mons")
    error = info.value.errors()[0]
    assert error["loc"] == ("timezone",)
    assert "unknown IANA timezone 'Mars/Olympus_Mons'" in error["msg"]


def test_lead_timezone_empty_is_none_and_valid_zone_kept():
    assert Lead(phone="+14155550123", timezone="").timezone is None
    lead = Lead(phone="+14155550123", timezone="Europe/Madrid")
    assert lead.timezone == "Europe/Madrid"
    assert lead.zone is not None and lead.zone.key == "Europe/Madrid"
    assert Lead(phone="+14155550123").zone is None


@pytest.mark.parametrize("email", ["ada", "ada@", "ada at example.com", "@example.com"])
def test_lead_bad_email(email):
    with pytest.raises(ValidationError) as info:
        Lead(phone="+14155550123", email=email)
    assert info.value.errors()[0]["loc"] == ("email",)


def test_lead_good_email_and_unknown_fields_forbidden():
    assert Lead(phone="+14155550123", email="ada@example.com").email == "ada@example.com"
    with pytest.raises(ValidationError) as info:
        Lead(phone="+14155550123", nickname="Ada")
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_lead_unknown_and_context():
    lead = Lead.unknown("+14155550123")
    assert (lead.source, lead.name, lead.phone) == ("unknown", "", "+14155550123")
    context = lead_as_context(
        Lead(first_name="Ada", last_name="Lovelace", phone="+14155550123", company="AE")
    )
    assert context == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company": "AE",
        "phone": "+14155550123",
        "name": "Ada Lovelace",
    }


@pytest.mark.parametrize(
    ("full", "expected"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("  Ada  ", ("Ada", "")),
        ("María José de la Cruz", ("María", "José de la Cruz")),
        ("", ("", "")),
    ],
)
def test_split_name(full, expected):
    assert split_name(full) == expected


# -- read_leads_csv -----------------------------------------------------------------


def test_read_dialer_format_with_extra_columns(tmp_path):
    path = write_csv(
        tmp_path,
        f"{HEADER},plan,seats\n"
        "Ada Lovelace,Analytical Engines,CTO,(415) 555-0123,ada@example.com,America/New_York,"
        "Rep One,enterprise,40\n"
        "Grace Hopper,Navy,Admiral,+12125550199,,,,,\n",
    )
    book = read_leads_csv(path)
    assert book.problems == []
    assert [lead.phone for lead in book.leads] == ["+14155550123", "+12125550199"]
    ada = book.get("+14155550123")
    assert ada is not None
    assert (ada.first_name, ada.last_name) == ("Ada", "Lovelace")
    assert (ada.company, ada.job_title) == ("Analytical Engines", "CTO")
    assert ada.email == "ada@example.com"
    assert ada.timezone == "America/New_York"
    assert ada.source == "csv"
    assert ada.extra == {"plan": "enterprise", "seats": "40", "resource_name": "Rep One"}
    grace = book.get("+12125550199")
    assert grace is not None
    assert grace.email is None and grace.timezone is None
    assert grace.extra == {}  # empty extra cells are dropped
    assert book.get("+19995550000") is None


def test_read_strips_whitespace_and_bom(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(
        " prospect_name , phone ,email\n  Ada Lovelace , 415 555 0123 , ada@example.com \n",
        encoding="utf-8-sig",
    )
    book = read_leads_csv(path)
    assert book.problems == []
    assert book.leads[0].phone == "+14155550123"
    assert book.leads[0].first_name == "Ada"
    assert book.leads[0].email == "ada@example.com"


def test_read_default_region(tmp_path):
    path = write_csv(tmp_path, "prospect_name,phone\nAlan Turing,020 7946 0958\n")
    assert read_leads_csv(path).problems[0].key == "row 2"  # not a US number
    book = read_leads_csv(path, default_region="GB")
    assert book.problems == []
    assert book.leads[0].phone == "+442079460958"


def test_bad_rows_reported_with_row_numbers_and_good_rows_kept(tmp_path):
    path = write_csv(
        tmp_path,
        f"{HEADER}\n"
        "Ada Lovelace,AE,CTO,+14155550123,ada@example.com,America/New_York,\n"
        "Bad Phone,Acme,CEO,12345,bad@example.com,America/New_York,\n"
        "Bad Zone,Acme,CFO,+12125550199,zone@example.com,Mars/Base,\n"
        "Bad Email,Acme,COO,+13125550142,not-an-email,,\n"
        "No Phone,Acme,CMO,,nophone@example.com,,\n"
        "Grace Hopper,Navy,Admiral,+16175550100,,Europe/Madrid,\n",
    )
    book = read_leads_csv(path)
    assert [lead.name for lead in book.leads] == ["Ada Lovelace", "Grace Hopper"]
    assert [p.key for p in book.problems] == ["row 3", "row 4", "row 5", "row 6"]
    assert all(p.file == str(path) for p in book.problems)
    phone, zone, email, missing = book.problems
    assert phone.reason.startswith("phone '12345': ")
    assert "not a valid phone number" in phone.reason
    assert zone.reason == "timezone 'Mars/Base': unknown IANA timezone 'Mars/Base'"
    assert email.reason.startswith("email 'not-an-email': ")
    assert missing.reason == "phone: missing"
    assert str(zone) == f"{path}: row 4: timezone 'Mars/Base': unknown IANA timezone 'Mars/Base'"


def test_duplicate_phones_reported_first_row_kept(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,phone\n"
        "Ada Lovelace,+14155550123\n"
        "Grace Hopper,+12125550199\n"
        "Ada Again,(415) 555-0123\n",
    )
    book = read_leads_csv(path)
    assert [lead.name for lead in book.leads] == ["Ada Lovelace", "Grace Hopper"]
    assert book.problems == [
        Problem(str(path), "row 4", "+14155550123", "same phone as row 2"),
    ]


def test_row_numbers_are_file_lines_when_blank_lines_are_present(tmp_path):
    path = write_csv(tmp_path, "prospect_name,phone\nAda,+14155550123\n\nBob,12345\n")
    book = read_leads_csv(path)
    assert [p.key for p in book.problems] == ["row 4"]


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(LeadFileError) as info:
        read_leads_csv(missing)
    (problem,) = info.value.problems
    assert problem.file == str(missing)
    assert problem.reason.startswith("cannot read: ")
    assert str(missing) in str(info.value)


def test_missing_phone_column(tmp_path):
    path = write_csv(tmp_path, "prospect_name,mobile\nAda,+14155550123\n")
    with pytest.raises(LeadFileError) as info:
        read_leads_csv(path)
    assert info.value.problems == [
        Problem(str(path), "header", "prospect_name,mobile", "no 'phone' column")
    ]


def test_empty_file_has_no_phone_column(tmp_path):
    path = write_csv(tmp_path, "")
    with pytest.raises(LeadFileError, match="no 'phone' column"):
        read_leads_csv(path)


def test_non_utf8_file_is_a_lead_file_error(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes("prospect_name,phone\nJosé Núñez,+14155550123\n".encode("latin-1"))
    with pytest.raises(LeadFileError, match="not UTF-8"):
        read_leads_csv(path)


def test_raise_for_problems(tmp_path):
    good = read_leads_csv(write_csv(tmp_path, "phone\n+14155550123\n", "good.csv"))
    good.raise_for_problems()  # no problems: no error
    bad = read_leads_csv(write_csv(tmp_path, "phone\n+14155550123\nnope\n", "bad.csv"))
    assert len(bad.leads) == 1
    with pytest.raises(LeadFileError) as info:
        bad.raise_for_problems()
    assert info.value.problems == bad.problems
    assert "row 3" in str(info.value)


# -- issue 9: phones are never silently changed (task 10) ----------------------------


def test_extensions_and_vanity_numbers_are_bad_rows_by_default(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,phone\nAda,+1 415 555 0101 ext. 23\nBob,(212) 555-CALL\nCy,+13125550103\n",
    )
    book = read_leads_csv(path)
    assert [lead.phone for lead in book.leads] == ["+13125550103"]
    extension, vanity = book.problems
    assert extension.key == "row 2"
    assert extension.reason.startswith("phone '+1 415 555 0101 ext. 23': has an extension (23)")
    assert vanity.key == "row 3"
    assert "has letters (CALL)" in vanity.reason


def test_allowed_extensions_are_kept_on_the_lead(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,phone\n"
        "Ada,+1 415 555 0101 ext. 23\n"
        "Bob,+1 415 555 0101 x24\n"  # same switchboard, another person: not a duplicate
        "Ada Again,415-555-0101 #23\n"  # the same number and extension: a duplicate
        "Cy,(212) 555-CALL\n",
    )
    book = read_leads_csv(path, policy=PhonePolicy(allow_extensions=True, allow_vanity=True))
    assert [(lead.phone, lead.extension) for lead in book.leads] == [
        ("+14155550101", "23"),
        ("+14155550101", "24"),
        ("+12125552255", ""),
    ]
    assert book.problems == [Problem(str(path), "row 4", "+14155550101", "same phone as row 2")]
    assert lead_as_context(book.leads[0])["extension"] == "23"


def test_lead_phone_is_strict_and_extension_is_digits():
    with pytest.raises(ValidationError, match="extension"):
        Lead(phone="+1 415 555 0101 ext. 23")
    with pytest.raises(ValidationError) as info:
        Lead(phone="+14155550101", extension="23a")
    assert info.value.errors()[0]["loc"] == ("extension",)
    assert Lead(phone="+14155550101", extension="23").extension == "23"


# -- issue 9: malformed files are one clear error (tasks 11, 12) ----------------------


def test_latin1_file_names_the_row_and_byte(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes("prospect_name,phone\nAda,+14155550123\nJosé,+12125550199\n".encode("latin-1"))
    with pytest.raises(LeadFileError) as info:
        read_leads_csv(path)
    assert str(info.value) == (f"{path}: row 3: not UTF-8 text (byte 0xE9); save it as 'CSV UTF-8'")


def test_utf16_file_is_named_as_such(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_bytes("prospect_name,phone\nAda,+14155550123\n".encode("utf-16"))
    with pytest.raises(LeadFileError, match=r"row 1: UTF-16 text, not UTF-8"):
        read_leads_csv(path)
    path.write_bytes("prospect_name,phone\nAda,+14155550123\n".encode("utf-16-le"))  # no BOM
    with pytest.raises(LeadFileError, match=r"row 1: NUL bytes in the header: UTF-16 text\?"):
        read_leads_csv(path)


def test_nul_byte_in_a_field_is_a_bad_row_naming_the_column(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,company_name,phone\nAda,AE,+14155550123\nBob,Ac\x00me,+12125550199\n",
    )
    book = read_leads_csv(path)
    assert [lead.name for lead in book.leads] == ["Ada"]
    assert book.problems == [
        Problem(
            str(path),
            "row 3",
            "",
            "column 'company_name' has a NUL byte (a corrupt or binary file?)",
        )
    ]


def test_field_over_the_csv_limit_names_its_row(tmp_path):
    huge = "x" * (FIELD_LIMIT + 1)
    path = write_csv(tmp_path, f'prospect_name,phone\nAda,+14155550123\n"{huge}",+12125550199\n')
    with pytest.raises(LeadFileError) as info:
        read_leads_csv(path)
    (problem,) = info.value.problems
    assert problem.key == "row 3"
    assert problem.reason.startswith("a field is longer than 131,072 characters")
    assert len(str(info.value)) < 200  # the field itself is never echoed


def test_duplicate_header_column_is_a_file_error(tmp_path):
    path = write_csv(tmp_path, "prospect_name,phone,email,phone\nAda,+14155550123,,\n")
    with pytest.raises(LeadFileError) as info:
        read_leads_csv(path)
    assert info.value.problems == [
        Problem(
            str(path),
            "header",
            "prospect_name,phone,email,phone",
            "column 'phone' appears twice (columns 2 and 4); rename or remove one",
        )
    ]


def test_more_cells_than_columns_is_a_bad_row(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,company_name,phone\n"
        "Ada,Analytical Engines, Ltd,+14155550123\n"  # unquoted comma
        "Bob,Acme,+12125550199,,\n",  # trailing empty cells are fine
    )
    book = read_leads_csv(path)
    assert [lead.name for lead in book.leads] == ["Bob"]
    assert book.problems[0].key == "row 2"
    assert book.problems[0].reason.startswith("4 cells but the header has 3 columns")


def test_long_values_are_shortened_in_messages(tmp_path):
    path = write_csv(tmp_path, f"prospect_name,phone,email\nAda,+14155550123,{'a' * 5000}\n")
    (problem,) = read_leads_csv(path).problems
    assert "(5,000 characters)" in problem.reason
    assert len(problem.reason) < 300


# -- issue 9: spreadsheet row numbers, unterminated quotes (task 13) ------------------


def test_row_numbers_are_spreadsheet_rows_after_a_multiline_field(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,company_name,phone\n"
        'Ada,"Analytical\nEngines\nLtd",+14155550123\n'  # row 2, lines 2-4
        "Bob,Acme,12345\n",  # row 3, line 5
    )
    book = read_leads_csv(path)
    assert [lead.company for lead in book.leads] == ["Analytical\nEngines\nLtd"]
    assert [p.key for p in book.problems] == ["row 3 (line 5)"]


def test_unterminated_quote_is_reported_where_it_starts(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,company_name,phone\n"
        "Ada,AE,+14155550123\n"
        'Bob,"Acme,+12125550199\n'  # never closed: would swallow every row below
        "Cy,Corp,+13125550103\n",
    )
    with pytest.raises(LeadFileError) as info:
        read_leads_csv(path)
    assert (
        str(info.value)
        == f'{path}: row 3 (lines 3-4): a quote " opened in this row is never closed'
    )


def test_unterminated_quote_closed_by_a_later_quote(tmp_path):
    path = write_csv(
        tmp_path,
        'prospect_name,company_name,phone\nBob,"Acme,+12125550199\nCy,"Corp",+13125550103\n',
    )
    with pytest.raises(LeadFileError, match=r"row 2 \(lines 2-3\): a quote \" inside a quoted"):
        read_leads_csv(path)


def test_a_quote_that_swallows_the_next_lead_is_a_bad_row(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,company_name,phone\n"
        'Bob,"Acme,+12125550199\n'
        'Cy",Corp,+13125550103\n',  # the quote closes here: Cy's row was swallowed
    )
    book = read_leads_csv(path)
    assert book.leads == []
    assert book.problems[0].key == "row 2 (lines 2-3)"
    assert "a quote left open?" in book.problems[0].reason


# -- issue 9: streaming (task 14) ---------------------------------------------------


def _many(tmp_path: Path, rows: int, *, bad_every: int = 0) -> Path:
    lines = ["prospect_name,phone,email"]
    for index in range(rows):
        phone = f"+1 212 {200 + index // 10_000} {index % 10_000:04d}"
        if bad_every and index % bad_every == 0:
            phone = "12345"
        lines.append(f"P{index},{phone},p{index}@example.com")
    lines.append("Dup,+1 212 200 0001,dup@example.com")
    return write_csv(tmp_path, "\n".join(lines) + "\n", "many.csv")


def test_find_parses_only_candidate_rows(tmp_path, monkeypatch):
    path = _many(tmp_path, 500)
    parsed: list[str] = []
    real = lead_csv.lead_from_row

    def counting(values, **kwargs):
        parsed.append(values["phone"])
        return real(values, **kwargs)

    monkeypatch.setattr(lead_csv, "lead_from_row", counting)
    book = LeadBook(path)
    lead = book.get("+12122000499")
    assert lead is not None and lead.first_name == "P499"
    assert parsed == ["+1 212 200 0499"]
    assert book.get("+19995550100") is None


def test_find_returns_the_first_valid_row_or_the_bad_row(tmp_path):
    path = write_csv(
        tmp_path,
        "prospect_name,phone,email\n"
        "Ada,+14155550123,not-an-email\n"
        "Ada Again,(415) 555-0123,ada@example.com\n"
        "Bob,+12125550199,bad\n",
    )
    book = LeadBook(path)
    found = book.find("+14155550123")
    assert found is not None and found.row == 3 and found.lead.first_name == "Ada"
    rejected = book.find("+12125550199")
    assert rejected is not None and rejected.lead is None
    assert rejected.problem.key == "row 4" and rejected.problem.reason.startswith("email 'bad'")


def test_first_reads_only_up_to_the_first_lead(tmp_path):
    path = write_csv(
        tmp_path, 'prospect_name,phone\nAda,nope\nBob,+14155550123\nCy,"never closed\n'
    )
    assert LeadBook(path).first().first_name == "Bob"  # the broken row 4 is never reached
    with pytest.raises(LeadFileError, match="row 4"):
        list(LeadBook(path))


def test_summary_counts_everything_and_keeps_the_first_problems(tmp_path):
    path = _many(tmp_path, 300, bad_every=10)
    summary = LeadBook(path).summarize(max_leads=5, max_problems=3)
    assert (summary.rows, summary.valid, summary.problem_count) == (301, 270, 31)
    assert [lead.first_name for lead in summary.leads] == ["P1", "P2", "P3", "P4", "P5"]
    assert [p.key for p in summary.problems] == ["row 2", "row 12", "row 22"]
    with pytest.raises(LeadFileError) as info:
        summary.raise_for_problems()
    assert str(info.value).splitlines()[-1] == f"{path}: ... and 28 more bad rows"


def test_summary_in_worker_processes_equals_one_process(tmp_path):
    path = _many(tmp_path, 4500, bad_every=7)
    book = LeadBook(path)
    one = book.summarize(max_leads=3, max_problems=-1, workers=1)
    many = book.summarize(max_leads=3, max_problems=-1, workers=2)
    assert (many.rows, many.valid, many.problem_count) == (one.rows, one.valid, one.problem_count)
    assert many.problems == one.problems and many.leads == one.leads
    assert one.problems[-1].reason == "same phone as row 3"


def test_summary_in_workers_reports_a_broken_file(tmp_path):
    path = _many(tmp_path, 4500)
    path.write_text(path.read_text() + 'Eve,"+14155550123\n')
    with pytest.raises(LeadFileError, match="row 4503"):
        LeadBook(path).summarize(workers=2)


def test_small_files_are_checked_in_one_process(tmp_path):
    assert default_workers(LeadBook(_many(tmp_path, 10))) == 1
    assert default_workers(LeadBook(tmp_path / "missing.csv")) == 1


# -- email fast path ----------------------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        "ada@example.com",
        "Ada.Lovelace+crm@Example.COM",
        "a@b.co",
        "x" * 64 + "@example.com",
        "ada@localhost",
        "ada@exa_mple.com",
        "Ada <ada@example.com>",
        "ada@@example.com",
        "ada@123.456",
    ],
)
def test_email_fast_path_agrees_with_emailstr(email):
    from pydantic import validate_email

    try:
        expected = validate_email(email)[1]
    except ValueError:
        expected = None
    fast = _fast_email(email)
    assert fast is None or fast == expected
    try:
        got = Lead(phone="+14155550123", email=email).email
    except ValidationError:
        got = None
    assert got == expected


# -- the CLI: `voicekit leads` pages, `voicekit check` counts ---------------------------


def _cli(*args: str):
    from click.testing import CliRunner

    from voicekit_core.cli import build_cli

    return CliRunner().invoke(build_cli(), list(args))


def _deployment_with(voicekit, leads: str) -> Path:
    return voicekit.write(files={"leads.csv": leads}).parent


def test_leads_command_shows_the_first_rows_and_counts(voicekit):
    rows = "".join(f"P{i},+1 212 200 {i:04d}\n" for i in range(60))
    folder = _deployment_with(voicekit, f"prospect_name,phone\n{rows}")
    result = _cli("leads", str(folder), "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "+12122000000" in result.output and "+12122000001" in result.output
    assert "+12122000002" not in result.output
    assert "60 leads, 0 bad rows in" in result.output
    assert "showing 2 (--limit N or --all to see more)" in result.output
    everything = _cli("leads", str(folder), "--all")
    assert "+12122000059" in everything.output and "showing 60" in everything.output


def test_leads_command_exits_2_listing_bad_rows(voicekit):
    folder = _deployment_with(
        voicekit, "prospect_name,phone\nAda,+14155550123\nBob,12345\nCy,(212) 555-CALL\n"
    )
    result = _cli("leads", str(folder), "--limit", "1")
    assert result.exit_code == 2
    assert "1 leads, 2 bad rows" in result.output
    assert "row 3: phone '12345'" in result.output
    assert "... and 1 more bad rows" in result.output  # --limit applies to bad rows too


def test_leads_command_shows_extensions(voicekit):
    config = voicekit.write(
        MINIMAL_CONFIG.replace("[leads]\n", "[leads]\nallow_extensions = true\n"),
        files={"leads.csv": "prospect_name,phone\nAda,+1 415 555 0101 x23\n"},
    )
    result = _cli("leads", str(config))
    assert result.exit_code == 0, result.output
    assert "+14155550101 ext. 23" in result.output


def test_check_counts_leads_and_reports_a_broken_file(voicekit):
    folder = _deployment_with(voicekit, "prospect_name,phone\nAda,+14155550123\n")
    result = _cli("check", str(folder))
    assert "1 leads in" in result.output
    (folder / "leads.csv").write_text("prospect_name,phone\nAda,+14155550123\nBob,12345\n")
    bad = _cli("check", str(folder))
    assert bad.exit_code == 2
    assert "row 3: phone '12345'" in bad.output
