"""What callers say, read into values: intents (wrong number, not interested, wants a
human), BANT answers (budget in USD, authority, timeline in months) and the slot a caller
picks from an offer. Pure functions of the text (English and Spanish), shared by the
scripted flows.
"""

from __future__ import annotations

import re
from typing import Any

# Checked in this order: a refusal ("I'm not interested") must never read as a wrong number.
INTENTS: dict[str, tuple[str, ...]] = {
    "not_interested": (
        r"not interested",
        r"no(t)? thanks?\b",
        r"stop calling",
        r"take me off",
        r"do not call",
        r"don'?t call",
        r"remove (me|my number)",
        r"no me interesa",
        r"no estoy interesad",
    ),
    "wrong_number": (
        r"wrong (number|person)",
        r"no one (here )?(by|with) that name",
        r"(there'?s )?nobody (here )?(called|named|by that name)",
        r"\bthis is not (?!(a|an|the|really|good|right|what|something|interesting|my)\b)\w+",
        r"\bi'?m not (him|her|that person|the person you)",
        r"you have the wrong",
        r"n[úu]mero equivocado",
        r"se equivoc[óo]",
        r"no (hay|conozco a) nadie",
    ),
    "wants_human": (
        r"\b(real|actual|live) (person|human)",
        r"\b(speak|talk) (to|with) (a |an |some)?(human|person|someone|representative|rep|sales ?person|agent)",
        r"\bhuman\b",
        r"\brepresentative\b",
        r"transfer me",
        r"hablar con (una persona|alguien|un humano)",
        r"\bpersona real\b",
    ),
}
DNC_PATTERNS = (
    r"stop calling",
    r"take me off",
    r"do not call",
    r"don'?t call",
    r"remove (me|my number)",
)


def detect_intent(text: str) -> str | None:
    """``wrong_number`` / ``not_interested`` / ``wants_human`` or None, by keyword patterns."""
    lowered = text.lower()
    for intent, patterns in INTENTS.items():
        if any(re.search(p, lowered) for p in patterns):
            return intent
    return None


_MONEY = re.compile(
    r"(?:\$|usd|€|eur)?\s*(\d+(?:[.,]\d+)?)\s*(k|thousand|mil|m|million|millones)?\b",
    re.I,
)
_NO_BUDGET = re.compile(
    r"\b(no budget|nothing|zero|none|sin presupuesto|no tenemos presupuesto)\b", re.I
)
_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "a couple of": 2,
    "a few": 3,
    "un": 1,
    "uno": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "seis": 6,
}


_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "a hundred": 100,
    "hundred": 100,
    "cinco": 5,
    "diez": 10,
    "veinte": 20,
    "treinta": 30,
    "cincuenta": 50,
    "cien": 100,
}


def _digits_for_words(text: str) -> str:
    for word, value in sorted(_NUMBER_WORDS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"\b{word}\b", str(value), text, flags=re.I)
    return text


def parse_budget_usd(text: str) -> float | None:
    """A budget in USD from free text (``"about $50k"``, ``"fifty thousand"`` -> 50000.0);
    0.0 for "no budget"; None if unstated."""
    text = _digits_for_words(text)
    best = None
    for number, scale in _MONEY.findall(text):
        if not scale and re.fullmatch(r"(19|20)\d\d", number):
            continue  # a year ("for 2026"), not an amount
        value = float(number.replace(",", ""))
        scale = scale.lower()
        if scale in ("k", "thousand", "mil"):
            value *= 1_000
        elif scale in ("m", "million", "millones"):
            value *= 1_000_000
        if "$" in text or scale or value >= 1000:
            best = max(best or 0.0, value)
    if best is None and _NO_BUDGET.search(text):
        return 0.0
    return best


def parse_authority(text: str) -> str:
    """``decision_maker`` / ``influencer`` / ``none`` / ``unknown`` from free text."""
    t = text.lower()
    if re.search(r"\b(not me|no authority|no decido|don'?t decide|not my (call|decision))\b", t):
        return "none"
    if re.search(
        r"(check|run it by|talk to|ask) (with )?(my|our|the) |approv|sign[- ]off from|"
        r"my (boss|manager|cfo|ceo)|committee|consultar|aprobaci",
        t,
    ):
        return "influencer"
    if re.search(
        r"\b(i|me)\b.*\b(decide|sign|approve|own the budget|final say|call the shots)|"
        r"decision[- ]maker|it'?s my call|yo decido|soy quien decide|yes\b|s[ií]\b",
        t,
    ):
        return "decision_maker"
    return "unknown"


def parse_timeline_months(text: str) -> int | None:
    """Months until the prospect wants a solution (``"next quarter"`` -> 3); None if vague."""
    t = re.sub(r"\bnot (right )?now\b", "", text.lower())
    fixed = [
        (r"\b(asap|right away|immediately|this month|now|cuanto antes|este mes)\b", 1),
        (r"\bnext month|pr[óo]ximo mes\b", 1),
        (r"\bthis quarter|este trimestre\b", 2),
        (r"\bnext quarter|pr[óo]ximo trimestre\b", 3),
        (r"\b(this|end of the) year|este a[ñn]o\b", 6),
        (r"\bnext year|pr[óo]ximo a[ñn]o|el a[ñn]o que viene\b", 12),
        (r"\b(no rush|no timeline|someday|not (any time|anytime) soon|sin prisa)\b", 24),
    ]
    match = re.search(
        r"(\d+|"
        + "|".join(_WORD_NUMBERS)
        + r")\s*(weeks?|months?|years?|semanas?|mes(?:es)?|a[ñn]os?)",
        t,
    )
    if match:
        raw = match.group(1)
        count = int(raw) if raw.isdigit() else _WORD_NUMBERS[raw]
        unit = match.group(2)
        if unit.startswith(("week", "semana")):
            return max(1, round(count / 4))
        if unit.startswith(("year", "año", "ano")):
            return count * 12
        return count
    for pattern, months in fixed:
        if re.search(pattern, t):
            return months
    return None


def qualification_arguments(answers: dict[str, str]) -> dict[str, Any]:
    """Arguments for the qualification tool, parsed from the BANT answers (free text)."""
    args: dict[str, Any] = {}
    if "budget" in answers:
        args["budget_usd"] = parse_budget_usd(answers["budget"])
    if "authority" in answers:
        args["authority"] = parse_authority(answers["authority"])
    if "need" in answers:
        args["need"] = answers["need"]
    if "timeline" in answers:
        args["timeline_months"] = parse_timeline_months(answers["timeline"])
    for key, value in answers.items():
        if key not in ("budget", "authority", "need", "timeline"):
            args.setdefault("notes", "")
            args["notes"] += f"{key}: {value}. "
    return args


# -- picking a slot ---------------------------------------------------------------------

ORDINALS = {
    0: (r"\bfirst\b", r"\bprimer[oa]?\b", r"\bthe earliest\b"),
    1: (r"\bsecond\b", r"\bsegund[oa]\b"),
    2: (r"\bthird\b", r"\btercer[oa]?\b", r"\blast (one|option)\b", r"\b[úu]ltim[oa]\b"),
}
#: An email address inside a caller line.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")

WEEKDAY_NAMES = {
    "monday": ("monday", "lunes"),
    "tuesday": ("tuesday", "martes"),
    "wednesday": ("wednesday", "miércoles", "miercoles"),
    "thursday": ("thursday", "jueves"),
    "friday": ("friday", "viernes"),
    "saturday": ("saturday", "sábado"),
    "sunday": ("sunday", "domingo"),
}


def match_slot(text: str, slots: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The slot the caller picked: by ordinal ("the second"), weekday and/or hour."""
    if not text:
        return None
    lowered = text.lower()
    for index, patterns in ORDINALS.items():
        if index < len(slots) and any(re.search(p, lowered) for p in patterns):
            return slots[index]
    candidates = slots
    days = [day for day, names in WEEKDAY_NAMES.items() if any(n in lowered for n in names)]
    if days:
        candidates = [
            s
            for s in candidates
            if any(n in s["label"].lower() for d in days for n in WEEKDAY_NAMES[d])
        ]
    hour = re.search(r"\b(\d{1,2})(?::(\d{2}))?(?!st|nd|rd|th)\s*(am|pm|a\.m\.|p\.m\.)?", lowered)
    if hour:
        wanted = int(hour.group(1)) % 12 + (12 if (hour.group(3) or "").startswith("p") else 0)
        timed = [s for s in candidates if label_hour(s["label"]) in (wanted, wanted + 12)]
        if timed:
            candidates = timed
        elif not days:
            candidates = []
    if candidates and (days or hour) and len(candidates) <= len(slots):
        return candidates[0]
    return None


def label_hour(label: str) -> int | None:
    """The hour (0-23) in a slot label ("10:00 AM PST", "a las 16:00"), or None."""
    match = re.search(r"\b(\d{1,2})(?::\d{2})?\s*(AM|PM)", label, re.I)
    if not match:
        match24 = re.search(r"\b(\d{1,2}):\d{2}\b", label)
        return int(match24.group(1)) if match24 else None
    return int(match.group(1)) % 12 + (12 if match.group(2).upper() == "PM" else 0)


def spoken_list(items: list[str], language: str) -> str:
    """``["a", "b", "c"]`` as said: ``"a, b or c"`` (``"a, b o c"`` in Spanish)."""
    joiner = " or " if language != "es" else " o "
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + joiner + items[-1]
