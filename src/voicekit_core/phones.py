"""Phone numbers: what people type, read into E.164 without silently changing it.

:func:`parse_phone` turns ``"(415) 555-0123"`` (read in a default region, ISO 3166
alpha-2) or ``"+1 415 555 0123"`` into ``Phone(e164="+14155550123")`` with
``phonenumbers``. It refuses, with a one-line reason, anything a dialer would get wrong:

* an extension (``"+1 415 555 0101 ext. 23"``, ``x23``, ``#23``): dialling only the main
  number reaches a switchboard. Allowed with ``allow_extension=True`` (``[leads]
  allow_extensions = true``); the digits are then kept in :attr:`Phone.extension`, to be
  sent as DTMF after the callee answers;
* letters (``"(212) 555-CALL"``): a vanity number is only converted to digits with
  ``allow_vanity=True`` (``[leads] allow_vanity = true``);
* any other character than ASCII digits, a leading ``+``, spaces and ``( ) - . /``
  (``phonenumbers`` alone would drop them, e.g. ``"call 415-555-0123 now"``);
* a number that is not valid for its region.

A valid E.164 number (``"+14155550123"``) always comes back unchanged.

:func:`parse_deployment_phone` applies a deployment's ``[leads]`` policy; use it for any
number a user gives on the command line (``voicekit dial``, ``simulate --lead-phone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import phonenumbers

if TYPE_CHECKING:
    from .config import DeploymentConfig

MAX_PHONE_CHARS = 64  # longer text is not a phone number (and is not shown whole)
MAX_EXTENSION_DIGITS = 10

_SPACES = " \t\u00a0\u2007\u202f"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_SEPARATORS = re.escape(_SPACES + _DASHES + "()./")  # may surround the digits of a number
_NUMBER = re.compile(rf"\+?[0-9{_SEPARATORS}]*[0-9][0-9{_SEPARATORS}]*")
_VANITY = re.compile(rf"\+?[0-9A-Za-z{_SEPARATORS}]*[0-9][0-9A-Za-z{_SEPARATORS}]*")
# "..., ext. 23", "... extension 23", "...x23", "... #23" (the marker not inside a word)
_EXTENSION = re.compile(
    rf"(?P<number>.*?)[{_SPACES},;]*(?<![A-Za-z])(?:ext(?:ension|n)?\.?|x|\#)[{_SPACES}]*:?"
    rf"[{_SPACES}]*(?P<extension>[0-9]+)[{_SPACES}]*",
    re.IGNORECASE | re.DOTALL,
)
_LETTERS = re.compile(r"[A-Za-z]+")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


class InvalidPhone(ValueError):
    """``raw`` is not a number voicekit will dial; ``str()`` is the one-line reason.

    A ``ValueError``, so callers that catch ``ValueError`` (pydantic validators, the
    ``to_e164`` contract) keep working; wrap it in an error naming the file, key or
    option the number came from.
    """

    def __init__(self, raw: str, reason: str):
        self.raw = raw
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Phone:
    """A dialable number: ``e164`` (``"+14155550123"``) and an optional ``extension``
    (ASCII digits, ``""`` for none) to send as DTMF once the callee answers."""

    e164: str
    extension: str = ""

    def __str__(self) -> str:
        return f"{self.e164} ext. {self.extension}" if self.extension else self.e164


@dataclass(frozen=True)
class PhonePolicy:
    """How strictly to read numbers: the region for national forms and whether
    extensions and vanity letters are accepted (both refused by default)."""

    default_region: str = "US"
    allow_extensions: bool = False
    allow_vanity: bool = False

    @classmethod
    def from_config(cls, config: DeploymentConfig) -> PhonePolicy:
        """The policy of a deployment's ``[leads]`` table."""
        leads = config.leads
        return cls(
            default_region=leads.default_region,
            allow_extensions=leads.allow_extensions,
            allow_vanity=leads.allow_vanity,
        )

    def parse(self, raw: str) -> Phone:
        """:func:`parse_phone` with this policy."""
        return parse_phone(
            raw,
            self.default_region,
            allow_extension=self.allow_extensions,
            allow_vanity=self.allow_vanity,
        )


def parse_phone(
    raw: str,
    default_region: str = "US",
    *,
    allow_extension: bool = False,
    allow_vanity: bool = False,
) -> Phone:
    """Read ``raw`` (E.164, or a national form in ``default_region``) as a :class:`Phone`.

    Raises :class:`InvalidPhone` (a ``ValueError``) with the reason: not a phone number
    (empty, unexpected characters, unparseable), not a valid number for its region, an
    extension when ``allow_extension`` is False, letters when ``allow_vanity`` is False.
    """
    if not isinstance(raw, str):
        raise InvalidPhone(str(raw), f"not a phone number (a {type(raw).__name__}, not text)")
    text = raw.strip(_SPACES)
    if not text:
        raise InvalidPhone(raw, "not a phone number (empty)")
    if len(text) > MAX_PHONE_CHARS:
        raise InvalidPhone(raw, f"not a phone number (longer than {MAX_PHONE_CHARS} characters)")
    if _NUMBER.fullmatch(text):  # the common case: digits and separators only
        number, extension = _plus_digits(text), ""
    else:
        number, extension = _split_extension(text)
        if extension and not allow_extension:
            raise InvalidPhone(
                raw,
                f"has an extension ({extension}): dialling the main number alone would "
                "reach a switchboard; remove it, or allow extensions "
                "([leads] allow_extensions = true)",
            )
        if len(extension) > MAX_EXTENSION_DIGITS:
            raise InvalidPhone(
                raw, f"extension {extension} is longer than {MAX_EXTENSION_DIGITS} digits"
            )
        if not any("0" <= ch <= "9" for ch in number):
            bad = _unexpected(number, letters=True)
            reason = f"unexpected character {bad!r}" if bad else "no digits"
            raise InvalidPhone(raw, f"not a phone number ({reason})")
        number = _digits_only(raw, number, allow_vanity)
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(raw, f"not a phone number ({exc})") from None
    if parsed.extension:  # cannot happen after the checks above; never drop one silently
        raise InvalidPhone(raw, "not a phone number (an extension voicekit cannot place)")
    if not _is_valid(parsed):
        raise InvalidPhone(raw, "not a valid phone number for its region")
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Phone(e164=e164, extension=extension)


def to_e164(raw: str, default_region: str = "US") -> str:
    """Normalise a phone number to E.164 (``"+14155550123"``).

    ``raw`` may be E.164 or a national form (``(415) 555-0123``) read in
    ``default_region`` (ISO 3166 alpha-2). Extensions and vanity letters are refused.
    Raises :class:`InvalidPhone` (a ``ValueError``) if it is not a valid number.
    """
    return parse_phone(raw, default_region).e164


def parse_deployment_phone(raw: str, config: DeploymentConfig) -> Phone:
    """Read a number given for a deployment (``voicekit dial``, ``--lead-phone``) with
    its ``[leads]`` policy: region, ``allow_extensions``, ``allow_vanity``.

    Raises :class:`InvalidPhone` with the reason; say which option it came from.
    """
    return PhonePolicy.from_config(config).parse(raw)


def national_forms(e164: str) -> list[str]:
    """The ways people store ``e164`` in CRMs: E.164, national, international, digits only."""
    parsed = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = "".join(ch for ch in national if ch.isdigit())
    forms = [e164, national, international, digits, e164.lstrip("+")]
    return list(dict.fromkeys(forms))


def is_e164(text: str) -> bool:
    """True if ``text`` has the E.164 shape (``+`` and 2 to 15 digits); not a validity check."""
    return _E164.fullmatch(text) is not None


def match_key(e164: str) -> str:
    """The last digits (at most 7) of the national number of ``e164``: every written
    form of the number that :func:`parse_phone` accepts contains them, in order (a cheap
    pre-filter when scanning many rows for one number). Raises :class:`InvalidPhone`."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(e164, f"not a phone number ({exc})") from None
    return phonenumbers.national_significant_number(parsed)[-7:]


def may_match(raw: str, key: str, *, allow_vanity: bool = False) -> bool:
    """Cheap test: could ``raw`` be a written form of the number with :func:`match_key`
    ``key``? False means it certainly is not; True needs :func:`parse_phone` to confirm."""
    if allow_vanity and _LETTERS.search(raw):
        raw = phonenumbers.convert_alpha_characters_in_number(raw)
    return key in _NON_DIGITS.sub("", raw)


_NON_DIGITS = re.compile(r"[^0-9]+")


def _plus_digits(number: str) -> str:
    return ("+" if number.startswith("+") else "") + _NON_DIGITS.sub("", number)


def _split_extension(text: str) -> tuple[str, str]:
    match = _EXTENSION.fullmatch(text)
    if match is None or not match.group("number").strip(_SPACES):
        return text, ""
    return match.group("number").strip(_SPACES), match.group("extension")


def _digits_only(raw: str, number: str, allow_vanity: bool) -> str:
    """``number`` checked for characters phonenumbers would drop or convert silently,
    then as phonenumbers reads it: a leading ``+`` and the digits (separators carry no
    meaning for ``phonenumbers.parse``; fewer characters parse faster)."""
    if _NUMBER.fullmatch(number):
        return _plus_digits(number)
    letters = _LETTERS.findall(number)
    if letters and _VANITY.fullmatch(number):
        if allow_vanity:
            return _plus_digits(phonenumbers.convert_alpha_characters_in_number(number))
        raise InvalidPhone(
            raw,
            f"has letters ({' '.join(letters)}): vanity numbers are not converted to digits; "
            "write the digits, or allow them ([leads] allow_vanity = true)",
        )
    bad = _unexpected(number, letters=bool(letters))
    # only allowed characters left: a "+" that is not in front
    reason = f"unexpected character {bad!r}" if bad else "a '+' goes only in front"
    raise InvalidPhone(raw, f"not a phone number ({reason})")


_ALLOWED = frozenset(f"0123456789+{_SPACES}{_DASHES}()./")
_ALLOWED_WITH_LETTERS = _ALLOWED | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _unexpected(number: str, *, letters: bool) -> str | None:
    """The first character that has no place in a written number, if any."""
    allowed = _ALLOWED_WITH_LETTERS if letters else _ALLOWED
    return next((ch for ch in number if ch not in allowed), None)


def _is_valid(parsed: Any) -> bool:
    """``phonenumbers.is_valid_number``, answered for the common case at a fifth of the
    cost: a number valid for the main region of its country code, when that region has
    no ``leading_digits``, is what ``is_valid_number`` finds first (same result)."""
    main = phonenumbers.region_code_for_country_code(parsed.country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(main, None)
    if (
        metadata is not None
        and metadata.leading_digits is None
        and phonenumbers.is_valid_number_for_region(parsed, main)
    ):
        return True
    return phonenumbers.is_valid_number(parsed)
