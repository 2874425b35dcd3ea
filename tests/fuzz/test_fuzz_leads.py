"""Property tests over leads CSVs, phone strings and caller scripts (issue 9).

Every input either parses or raises a clean voicekit error naming the file and the row
or key, one line per problem; never another exception. A valid E.164 number always
reads back unchanged, and the fast paths (validity, email, the lookup pre-filter, the
one-pass summary) agree with the slow ones they stand in for.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic import validate_email as pydantic_validate_email

from voicekit_core.errors import LeadFileError, ScriptError
from voicekit_core.lead_csv import LeadBook
from voicekit_core.leads import Lead, _fast_email
from voicekit_core.phones import (
    InvalidPhone,
    PhonePolicy,
    _is_valid,
    is_e164,
    match_key,
    may_match,
    parse_phone,
)
from voicekit_core.simulate import load_script, script_phone

FUZZ = settings(
    max_examples=200,
    deadline=None,
    database=None,  # no .hypothesis folder in the working tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROW_KEY = re.compile(r"header|row \d+(?: \(lines? \d+(?:-\d+)?\))?")
POLICIES = st.builds(
    PhonePolicy,
    default_region=st.sampled_from(["US", "GB", "ES", "DE", "MX", "IT", "AR"]),
    allow_extensions=st.booleans(),
    allow_vanity=st.booleans(),
)


def _examples() -> list[str]:
    numbers = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                numbers.add(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    return sorted(numbers)


EXAMPLES = _examples()
PHONE_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789 +()-./xXext#,;:CALLabc\x00\u00a0\u2011", max_size=30),
    st.sampled_from(EXAMPLES),
)


def _one_line_problems(error: LeadFileError | ScriptError, file: Path) -> None:
    assert error.problems
    for problem in error.problems:
        assert problem.file == str(file)
        assert "\n" not in str(problem) and "\r" not in str(problem)


# -- phones ---------------------------------------------------------------------------


@FUZZ
@given(raw=PHONE_TEXT, policy=POLICIES)
def test_a_phone_string_parses_or_is_refused_in_one_line(raw, policy):
    try:
        phone = policy.parse(raw)
    except InvalidPhone as exc:
        assert exc.raw == raw
        assert str(exc) and "\n" not in str(exc)
        return
    assert is_e164(phone.e164)
    assert phone.extension == "" or (policy.allow_extensions and phone.extension.isdigit())
    assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164))
    if not policy.allow_vanity:
        assert not re.search("[A-Za-z]", raw.replace("ext", "").replace("x", ""))
    assert may_match(raw, match_key(phone.e164), allow_vanity=policy.allow_vanity)


@FUZZ
@given(
    e164=st.sampled_from(EXAMPLES),
    separator=st.sampled_from(["", " ", "-", ".", "\u00a0"]),
    extension=st.one_of(st.just(""), st.from_regex(r"[0-9]{1,6}", fullmatch=True)),
)
def test_valid_e164_round_trips_unchanged_in_any_written_form(e164, separator, extension):
    assert parse_phone(e164).e164 == e164
    number = phonenumbers.parse(e164)
    spaced = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    written = spaced.replace(" ", separator)
    assume(re.fullmatch(r"\+[0-9 ().\-\u00a0/]+", written))
    suffix = f" ext. {extension}" if extension else ""
    phone = parse_phone(written + suffix, allow_extension=True)
    assert (phone.e164, phone.extension) == (e164, extension)


@FUZZ
@given(
    country_code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    national=st.integers(min_value=0, max_value=10**13),
)
def test_fast_validity_agrees_with_phonenumbers(country_code, national):
    number = phonenumbers.PhoneNumber(country_code=country_code, national_number=national)
    assert _is_valid(number) == phonenumbers.is_valid_number(number)


@FUZZ
@given(
    local=st.text(alphabet="abcXYZ019.+_-!#'~", min_size=1, max_size=70),
    domain=st.one_of(
        st.sampled_from(["example.com", "Example.COM", "a.b", "localhost", "x.test", "1.2"]),
        st.text(alphabet="abc.-_09", min_size=1, max_size=20),
    ),
)
def test_email_fast_path_agrees_with_emailstr(local, domain):
    email = f"{local}@{domain}"
    try:
        expected = pydantic_validate_email(email)[1]
    except ValueError:
        expected = None
    fast = _fast_email(email)
    assert fast is None or fast == expected
    try:
        assert Lead(phone="+14155550123", email=email).email == expected
    except ValidationError:
        assert expected is None


# -- CSV files ------------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["+14155550123", "(212) 555-0199", "+1 415 555 0101 x23", "12345", ""]),
    st.sampled_from(["ada@example.com", "bad@", "America/New_York", "Mars/Base"]),
    st.sampled_from(['"', '""', ",", "\n", "\r\n", "\x00", "\ufeff"]),
)
HEADERS = st.lists(
    st.sampled_from(["prospect_name", "phone", "email", "timezone", "company_name", "x", ""]),
    min_size=1,
    max_size=6,
)


def _csv_bytes(draw) -> bytes:
    header = draw(HEADERS)
    rows = draw(st.lists(st.lists(CELL, max_size=8), max_size=8))
    joiner = draw(st.sampled_from([",", '","']))
    lines = [",".join(header)] + [joiner.join(row) for row in rows]
    text = draw(st.sampled_from(["\n", "\r\n"])).join(lines)
    data = text.encode("utf-8")
    mangle = draw(st.sampled_from(["none", "latin1", "bytes"]))
    if mangle == "latin1":
        data = text.encode("latin-1", "replace")
    elif mangle == "bytes":
        data += draw(st.binary(max_size=8))
    return data


@FUZZ
@given(data=st.data(), policy=POLICIES)
def test_any_csv_reads_or_fails_cleanly_naming_file_and_row(data, policy):
    raw = _csv_bytes(data.draw)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        path.write_bytes(raw)
        book = LeadBook(path, policy=policy)
        try:
            rows = list(book.rows())
        except LeadFileError as exc:
            _one_line_problems(exc, path)
            assert all(ROW_KEY.fullmatch(p.key) for p in exc.problems), exc.problems
            with pytest.raises(LeadFileError):
                book.summarize(workers=1)
            return
        seen_rows = [result.row for result in rows]
        assert seen_rows == sorted(set(seen_rows))
        for result in rows:
            assert (result.lead is None) != (result.problem is None)
            if result.problem is not None:
                assert result.problem.file == str(path)
                assert ROW_KEY.fullmatch(result.problem.key)
                assert result.problem.key.startswith(f"row {result.row}")
                assert "\n" not in str(result.problem)
            else:
                assert is_e164(result.lead.phone)
                assert book.get(result.lead.phone) is not None
        summary = book.summarize(max_leads=-1, max_problems=-1, workers=1)
        assert summary.rows == len(rows)
        assert summary.leads == [r.lead for r in rows if r.lead is not None]
        assert summary.problems == [r.problem for r in rows if r.problem is not None]


# -- caller scripts ---------------------------------------------------------------------

SCRIPT_TEXT = st.one_of(
    st.text(max_size=60),
    st.builds(
        "lead_phone: {}\nturns: {}\n{}".format,
        st.sampled_from(
            ["'+14155550101'", "'415 555 0101 x9'", "'555-CALL'", "14155550101", "[1]", "''"]
        ),
        st.sampled_from(["[hi]", "[]", "hi", "[1, 2]", "- a", "[{a: b}]"]),
        st.sampled_from(["", "expect: {disposition: booked}", "direction: sideways", "x: 1", "\t"]),
    ),
)


@FUZZ
@given(text=SCRIPT_TEXT, encoding=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_any_script_loads_or_fails_cleanly_naming_file_and_key(text, encoding, voicekit):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "script.yaml"
        path.write_bytes(text.encode(encoding, "replace"))
        try:
            script = load_script(path)
        except ScriptError as exc:
            _one_line_problems(exc, path)
            return
        assert script.source == path
        deployment = voicekit.load(voicekit.write(), environ={})
        try:
            phone = script_phone(deployment, script)
        except ScriptError as exc:
            _one_line_problems(exc, path)
            assert [p.key for p in exc.problems] == ["lead_phone"]
            return
        assert phone is None or is_e164(phone.e164)
