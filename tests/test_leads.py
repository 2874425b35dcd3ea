"""Unit tests for voicekit_core.leads: phone normalisation, Lead validation, the CSV book."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from voicekit_core.errors import LeadFileError, Problem
from voicekit_core.leads import (
    Lead,
    lead_as_context,
    national_forms,
    read_leads_csv,
    split_name,
    to_e164,
)

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
