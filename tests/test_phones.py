"""voicekit_core.phones: numbers are read into E.164 or refused, never silently changed."""

from __future__ import annotations

import phonenumbers
import pytest

from voicekit_core.phones import (
    InvalidPhone,
    Phone,
    PhonePolicy,
    _is_valid,
    match_key,
    may_match,
    parse_deployment_phone,
    parse_phone,
    to_e164,
)
from voicekit_core.testing import MINIMAL_CONFIG

LENIENT = {"allow_extension": True, "allow_vanity": True}


# -- extensions (issue 9, task 10) ---------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+1 415 555 0101 ext. 23",
        "+1 415 555 0101 ext 23",
        "+1 415 555 0101 extension 23",
        "+1 415 555 0101 extn. 23",
        "415-555-0101x23",
        "415-555-0101 x 23",
        "(415) 555-0101 #23",
        "415-555-0101, ext. 23",
        "415-555-0101 EXT: 23",
    ],
)
def test_an_extension_is_refused_by_default_and_kept_when_allowed(raw):
    with pytest.raises(InvalidPhone, match=r"has an extension \(23\).*switchboard"):
        parse_phone(raw)
    with pytest.raises(ValueError, match="allow_extensions = true"):
        to_e164(raw)  # the strict helper every other caller uses refuses it too
    assert parse_phone(raw, allow_extension=True) == Phone("+14155550101", "23")


def test_phone_str_shows_the_extension():
    assert str(Phone("+14155550101", "23")) == "+14155550101 ext. 23"
    assert str(Phone("+14155550101")) == "+14155550101"


def test_an_overlong_extension_is_refused_even_when_allowed():
    with pytest.raises(InvalidPhone, match="longer than 10 digits"):
        parse_phone("415-555-0101 x12345678901", allow_extension=True)


# -- vanity letters and other characters ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "digits"),
    [("(212) 555-CALL", "+12125552255"), ("1-800-FLOWERS", "+18003569377")],
)
def test_vanity_letters_are_refused_by_default_and_read_when_allowed(raw, digits):
    with pytest.raises(InvalidPhone, match=r"has letters .*allow_vanity = true"):
        parse_phone(raw)
    assert parse_phone(raw, allow_vanity=True).e164 == digits


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("call 4155550101", "has letters (call)"),  # phonenumbers alone drops the word
        ("4155550101a", "has letters (a)"),
        ("415-555-0101,23", "unexpected character ','"),
        ("415*555*0101", "unexpected character '*'"),
        ("\x00+14155550101", "unexpected character '\\x00'"),
        ("415+5550101", "a '+' goes only in front"),
        ("+1 415 555 0101" + " 0" * 40, "longer than 64 characters"),
        ("", "empty"),
        ("  ", "empty"),
        ("abc", "no digits"),
        ("٤١٥٥٥٥٠١٠١", "unexpected character"),  # digits of another script
    ],
)
def test_text_phonenumbers_would_silently_change_is_refused(raw, reason):
    with pytest.raises(InvalidPhone) as info:
        parse_phone(raw)
    assert reason in str(info.value)
    assert info.value.raw == raw
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "raw",
    [
        "+14155550101",
        "+1 415 555 0101",
        "(415) 555-0101",
        "415.555.0101",
        "415/555-0101",
        "1-415-555-0101",
        "+1\u00a0415\u00a0555\u00a00101",  # no-break spaces (spreadsheets)
        "+1 (415) 555\u20110101",  # non-breaking hyphen
        "  +1 415 555 0101  ",
    ],
)
def test_separators_are_accepted(raw):
    assert parse_phone(raw) == Phone("+14155550101")


def test_not_a_string_is_refused():
    with pytest.raises(InvalidPhone, match="not text"):
        parse_phone(14155550101)  # type: ignore[arg-type]


# -- E.164 round trip and validity ---------------------------------------------------


def _example_numbers() -> list[str]:
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                numbers.append(
                    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                )
    return sorted(set(numbers))


EXAMPLES = _example_numbers()


def test_every_regions_valid_e164_example_round_trips_unchanged():
    assert len(EXAMPLES) > 300
    changed = {e164: to_e164(e164) for e164 in EXAMPLES if to_e164(e164) != e164}
    assert changed == {}


def test_national_and_international_forms_read_back_to_the_same_e164():
    for e164 in EXAMPLES:
        number = phonenumbers.parse(e164)
        region = phonenumbers.region_code_for_number(number)
        for form in (
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
        ):
            written = phonenumbers.format_number(number, form)
            try:
                assert parse_phone(written, region).e164 == e164, written
            except InvalidPhone as exc:  # national forms with letters or odd marks
                assert "character" in str(exc) or "letters" in str(exc), (written, exc)


def test_fast_validity_agrees_with_phonenumbers():
    candidates = [phonenumbers.parse(e) for e in EXAMPLES]
    candidates += [phonenumbers.parse(f"+1{n}") for n in ("2125550199", "6045550199", "8095550199")]
    candidates += [phonenumbers.parse(f"+{e[1:-1]}") for e in EXAMPLES]  # one digit short
    for number in candidates:
        assert _is_valid(number) == phonenumbers.is_valid_number(number), number


@pytest.mark.parametrize("raw", ["12345", "+1 555 0123", "+1 415 555 01234", "020 7946 0958"])
def test_invalid_numbers(raw):
    with pytest.raises(InvalidPhone, match="not a valid phone number"):
        parse_phone(raw)


# -- pre-filter for scans --------------------------------------------------------------


def test_match_key_is_in_every_accepted_form():
    cases = {
        "+14155550101": ["(415) 555-0101", "1-415-555-0101 x 23", "+1 415 555 0101"],
        "+442079460958": ["020 7946 0958", "+44 (0)20 7946 0958"],
        "+12125552255": ["(212) 555-CALL"],
    }
    for e164, forms in cases.items():
        key = match_key(e164)
        for form in forms:
            assert may_match(form, key, allow_vanity=True), (e164, form)
    assert not may_match("(415) 555-0199", match_key("+14155550101"))


def test_match_key_of_a_non_number_is_an_error():
    with pytest.raises(InvalidPhone):
        match_key("not a number")


# -- deployment policy ---------------------------------------------------------------


def test_policy_from_config(voicekit):
    lenient = MINIMAL_CONFIG.replace(
        "[leads]\n",
        '[leads]\nallow_extensions = true\nallow_vanity = true\ndefault_region = "gb"\n',
    )
    config = voicekit.load(voicekit.write(lenient, folder="lenient"), environ={}).config
    assert PhonePolicy.from_config(config) == PhonePolicy("GB", True, True)
    assert parse_deployment_phone("020 7946 0958 x7", config) == Phone("+442079460958", "7")
    strict = voicekit.load(voicekit.write(), environ={}).config
    assert PhonePolicy.from_config(strict) == PhonePolicy()
    with pytest.raises(InvalidPhone, match="extension"):
        parse_deployment_phone("+1 415 555 0101 x7", strict)
