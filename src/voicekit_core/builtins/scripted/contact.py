"""Who and where, from what callers say: names, phone numbers (``phonenumbers``), street
addresses and unit numbers, English and Spanish. Pure functions of the text, used by the
scripted intake flow (:mod:`.intake`).

Every parser returns ``None`` when the text does not hold a value of its kind: the flow
then asks again rather than guessing. ``find_*`` look for a value said in passing, with a
clear marker ("this is Maria", "unit 4B"); ``parse_*`` read an answer to the question
about that very value.
"""

from __future__ import annotations

import re

import phonenumbers

from .fields import fold, parse_yes_no, without_negated, words

# -- names ------------------------------------------------------------------------------------

_NAME_INTRO = re.compile(
    r"(?:\bmy name is|\bmy name's|\bname is|\bthis is|\bit'?s|\bi am|\bi'?m|\bspeaking,? it'?s|"
    r"\bme llamo|\bmi nombre es|\bsoy|\bhabla|\bles habla|\bcon)\s+"
    r"(?P<name>[A-ZÁÉÍÓÚÑ][\w'’.-]+(?:\s+(?:de la|de los|del|de|van|von|da|di|le|la|y)?\s*"
    r"[A-ZÁÉÍÓÚÑ][\w'’.-]+){0,3})",
)
_FILLER = re.compile(
    r"^(?:(?:sure|yes|yeah|yep|ok|okay|of course|hi|hello|um+|uh+|well|so|oh|si|claro|"
    r"por supuesto|hola|bueno|pues)[\s,.!]+)*"
    r"(?:(?:my name is|my name's|name is|name's|this is|it'?s|it is|i am|i'?m|call me|"
    r"me llamo|mi nombre es|soy|es|habla)\s+)?",
    re.I,
)
_NOT_NAMES = words(
    "calling a an the just here tenant renter owner landlord resident looking interested "
    "trying wondering sorry fine good okay ok not in at from with about having llamando "
    "inquilino inquilina propietario propietaria dueno duena el la un una de maintenance "
    "mantenimiento unit apartment apt no yes yeah si sure actually"
)


def _title(name: str) -> str:
    parts = []
    for word in name.split():
        if word.lower() in ("de", "la", "del", "los", "van", "von", "da", "di", "y"):
            parts.append(word.lower())
        elif word.isupper() or word.islower():
            parts.append(word[:1].upper() + word[1:].lower())
        else:
            parts.append(word)
    return " ".join(parts)


def find_name(text: str) -> str | None:
    """A name the caller introduces themselves with anywhere in a line ("Hi, this is
    Maria Lopez at 12 Oak Street", "Me llamo José García"), or None. Needs a capitalised
    name after the introduction, so "I'm calling about..." is not a name."""
    for match in _NAME_INTRO.finditer(text):
        name = match.group("name").strip(" .,'’")
        words = name.split()
        if words and words[0].lower() not in _NOT_NAMES:
            kept = []
            for word in words:
                if word.lower() in _NOT_NAMES and kept:
                    break
                kept.append(word)
            return _title(" ".join(kept).strip(" .,"))
    return None


def parse_name(text: str) -> str | None:
    """The name in an answer to "what's your name?": ``"It's maria lopez."`` -> ``"Maria
    Lopez"``, ``"Sure, my name is José García"`` -> ``"José García"``; None when the answer
    holds no name-like words (digits, more than five words after the fillers)."""
    found = find_name(text)
    if found:
        return found
    rest = _FILLER.sub("", text.strip()).strip(" .,!?")
    rest = re.split(r"[,.;!?]|\b(?:and|y|from|de la unidad|in unit|at)\b", rest, maxsplit=1)[0]
    words = rest.split()
    if not words or len(words) > 5 or any(re.search(r"\d", w) for w in words):
        return None
    if words[0].lower() in _NOT_NAMES:
        return None
    return _title(" ".join(words))


# -- phone numbers ----------------------------------------------------------------------------

_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "cero": "0",
    "uno": "1",
    "dos": "2",
    "tres": "3",
    "cuatro": "4",
    "cinco": "5",
    "seis": "6",
    "siete": "7",
    "ocho": "8",
    "nueve": "9",
}
_SAME_NUMBER = re.compile(
    r"\b(?:this (?:one|number)|the (?:one|number) i'?m calling (?:from|on)|(?:the )?same "
    r"(?:one|number)?|the one you (?:have|see)|my cell|you can use (?:this|it|that)|"
    r"this is (?:fine|good)|este (?:mismo|numero)?|el mismo|del que (?:llamo|estoy llamando)|"
    r"desde el que llamo)\b"
)


def spoken_digits(text: str) -> str:
    """Digit words read as digits (``"four one five"`` -> ``"4 1 5"``), English and Spanish."""
    return re.sub(
        r"\b(" + "|".join(_DIGIT_WORDS) + r")\b",
        lambda m: _DIGIT_WORDS[m.group(1).lower()],
        text,
        flags=re.I,
    )


def find_phone(text: str, region: str) -> str | None:
    """The first valid phone number said in ``text``, as E.164, read with ``phonenumbers``
    in ``region`` (ISO 3166 alpha-2); None if there is none."""
    spoken = spoken_digits(without_negated(text))
    for match in phonenumbers.PhoneNumberMatcher(
        spoken, region, leniency=phonenumbers.Leniency.VALID
    ):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    digits = re.sub(r"[^\d+]", "", spoken)
    if len(digits.lstrip("+")) >= 7:
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def parse_phone(text: str, region: str, caller_id: str = "") -> str | None:
    """The number in an answer to "what's the best number to reach you?": a number said
    (E.164), or ``caller_id`` for "this one" / "yes" / "el mismo"; None otherwise."""
    found = find_phone(text, region)
    if found:
        return found
    plain = fold(text)
    if caller_id and (_SAME_NUMBER.search(plain) or parse_yes_no(text) is True):
        return caller_id
    return None


def spoken_phone(e164: str) -> str:
    """``"+14155550123"`` as read back: ``"(415) 555-0123"`` for a national number of its
    region, the international form otherwise."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


# -- addresses and units ----------------------------------------------------------------------

_STREET_TYPES = (
    r"street|st|avenue|ave|av|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|way|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|loop|row|alley"
)
_ADDRESS = re.compile(
    rf"\b(?P<address>\d{{1,6}}(?:\s+[NSEW]\.?)?(?:\s+[A-ZÁÉÍÓÚÑ0-9][\w'’.-]*){{1,4}}?\s+"
    rf"(?:{_STREET_TYPES})\b\.?)",
    re.I,
)
_ADDRESS_ES = re.compile(
    r"\b(?P<address>(?:calle|avenida|av\.|paseo|camino|carrera|plaza|bulevar)\s+"
    r"(?:[\wÁÉÍÓÚÑáéíóúñ'.-]+\s+){1,4}?(?:n[uú]mero\s+|#\s*|no\.?\s*)?\d{1,6})\b",
    re.I,
)
_ADDRESS_FILLER = re.compile(
    r"^(?:(?:sure|yes|yeah|ok|okay|um+|uh+|it'?s|it is|that'?s|the address is|address is|i live at|"
    r"we(?:'re| are) at|i'?m at|at|the property is|the building is|si|claro|es|vivo en|"
    r"la direccion es|estoy en|en)[\s,:]+)*",
    re.I,
)


_NOT_PLACES = frozenset(
    {"I", "I'm", "I’m", "I'd", "I'll", "Im", "Um", "Uh", "Yes", "No", "Sure", "It's", "Ok", "OK"}
)


def find_address(text: str) -> str | None:
    """A street address said anywhere in ``text`` (``"12 Oak Street"``, ``"450 Birch
    Ave"``, ``"Calle Mayor 5"``), as said, or None."""
    for pattern in (_ADDRESS, _ADDRESS_ES):
        match = pattern.search(text)
        if match:
            address = match.group("address").strip(" .,")
            words = address.split()
            # "I have 2 kids on Oak Street" is not an address: the number must lead the name
            if pattern is _ADDRESS and any(w.lower() in ("and", "but", "or", "on") for w in words):
                continue
            return " ".join(w[:1].upper() + w[1:] if not w[:1].isdigit() else w for w in words)
    return None


def parse_address(text: str) -> str | None:
    """The property in an answer to "what's the address?": a street address, else the
    answer without fillers when it names a place (a capitalised word or a number);
    None otherwise."""
    found = find_address(text)
    if found:
        return found
    rest = _ADDRESS_FILLER.sub("", without_negated(text).strip()).strip(" .,!")
    rest = re.split(
        r",?\s*\b(?:unit|apartment|apt|suite|departamento|apartamento|unidad)\b", rest, flags=re.I
    )[0]
    if not rest or len(rest.split()) > 8:
        return None
    named = [w for w in re.findall(r"\b[A-ZÁÉÍÓÚÑ][\w'’]*", rest) if w not in _NOT_PLACES]
    if re.search(r"\d", rest) or named:
        rest = rest.strip(" .,")
        return rest[:1].upper() + rest[1:]
    return None


_UNIT_WORDS = r"unit|apartment|apt\.?|suite|ste\.?|flat|#|departamento|depto\.?|apartamento|unidad"
_UNIT_VALUE = r"(?P<unit>[A-Z]?\s?\d{1,5}(?:\s?-?\s?[A-Z](?![a-z]))?|[A-Z](?=\b))"
_UNIT = re.compile(
    rf"(?:{_UNIT_WORDS})(?:\s+(?:is|es|number|numero|n[uú]mero))?\s*[#:]?\s*{_UNIT_VALUE}", re.I
)
_BARE_UNIT = re.compile(r"^\s*#?\s*(?P<unit>[A-Z]?\s?\d{1,5}\s?-?\s?[A-Z]?|[A-Z])\s*$", re.I)
_NO_UNIT = re.compile(
    r"\b(?:no unit|there'?s no unit|(?:it'?s )?a (?:house|single[- ]family)|not an apartment|"
    r"none|no tiene|es una casa|no hay)\b"
)


def _clean_unit(raw: str) -> str:
    return re.sub(r"[\s-]+", "", raw).upper()


def find_unit(text: str) -> str | None:
    """A unit said with its marker anywhere in ``text`` (``"unit 4B"``, ``"apartment
    12"``, ``"apt 3-C"``, ``"departamento 7"``) as ``"4B"``; None if there is none."""
    match = _UNIT.search(spoken_digits(without_negated(text)))
    return _clean_unit(match.group("unit")) if match else None


def parse_unit(text: str) -> str | None:
    """The unit in an answer to "which unit?": with or without a marker (``"4B"``,
    ``"It's 4 B"``, ``"unit four B"``), as ``"4B"``; ``""`` for "no unit, it's a house";
    None otherwise."""
    found = find_unit(text)
    if found:
        return found
    if _NO_UNIT.search(fold(text)):
        return ""
    rest = _ADDRESS_FILLER.sub("", spoken_digits(without_negated(text)).strip()).strip(" .,!")
    match = _BARE_UNIT.match(rest)
    if match and re.search(r"\d", match.group("unit")):
        return _clean_unit(match.group("unit"))
    return None


__all__ = [
    "find_address",
    "find_name",
    "find_phone",
    "find_unit",
    "parse_address",
    "parse_name",
    "parse_phone",
    "parse_unit",
    "spoken_digits",
    "spoken_phone",
]
