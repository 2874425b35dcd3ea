"""What inbound callers say, read into ticket values: yes/no, enum values from synonyms,
free text, and the kind of line it is (a question, a request, "that's all", which
language); the text helpers the other readers share. Names, phone numbers, addresses and
units are :mod:`.contact`. Pure functions of the text, English and Spanish, used by the
scripted intake flow (:mod:`.intake`).

Every parser returns ``None`` when the text does not hold a value of its kind: the flow
then asks again rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

# -- small helpers ------------------------------------------------------------------------


def words(text: str) -> frozenset[str]:
    """The space-separated words of ``text``, as a set (word lists read as one string)."""
    return frozenset(text.split())


def fold(text: str) -> str:
    """``text`` lower-cased, accents removed and curly quotes straightened, for matching
    (``"¿Está?"`` -> ``"¿esta?"``)."""
    text = text.replace("’", "'").replace("‘", "'").lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A word-bounded, accent- and case-insensitive pattern for ``phrase`` (``"no heat"``
    matches "No heat!" but not "no heater")."""
    words = [re.escape(w) for w in fold(phrase).split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")


def sentence_with(text: str, phrase: str) -> str:
    """The sentence of ``text`` in which ``phrase`` is said (without a leading greeting),
    or ``text`` when it is not found."""
    pattern = phrase_pattern(phrase)
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if pattern.search(fold(sentence)):
            return sentence.strip()
    return text.strip()


def contains_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first of ``phrases`` said in ``text`` (word-bounded, accents and case
    ignored), or None."""
    plain = fold(text)
    for phrase in phrases:
        if phrase.strip() and phrase_pattern(phrase).search(plain):
            return phrase
    return None


def without_negated(text: str) -> str:
    """``text`` without "not X" / "no es X" corrections (``"unit 4C, not 4B"`` ->
    ``"unit 4C"``), so a parser picks the value the caller meant."""
    return re.sub(
        r"(?i),?\s*\b(?:not|no es|no era|y no)\s+[\w#-]+(?:[\s().-]+\d[\d().-]*)*", "", text
    )


# -- language -----------------------------------------------------------------------------

_ES_WORDS = words(
    "hola buenos buenas dias tardes noches gracias por favor tengo tiene hay mi mis el la "
    "los las de del que y en un una es esta estoy soy llamo me se no si con para pero muy "
    "como donde cuando cuanto cual quiero necesito puedo pueden ustedes usted "
    "departamento apartamento casa cocina bano agua fuga calefaccion renta alquiler pago "
    "pagar mascota perro gato llamar numero telefono unidad calle avenida nombre aqui "
    "ahora"
)
_EN_WORDS = words(
    "hi hello hey thanks thank you please i i'm im my the a an is it's its there have has "
    "to and in of on at for with this that what when where how can could would do does "
    "don't is isn't need want calling name number phone unit apartment kitchen water leak "
    "rent pay pet dog cat yes no yeah sure okay ok"
)


def language_scores(text: str) -> dict[str, int]:
    """Spanish and English evidence in ``text``: function words of each, plus 2 for
    Spanish-only characters (``¿ ¡ ñ`` and accented vowels)."""
    lowered = text.lower()
    words = re.findall(r"[\w']+", fold(text))
    scores = {
        "es": sum(w in _ES_WORDS for w in words),
        "en": sum(w in _EN_WORDS for w in words),
    }
    if re.search(r"[¿¡ñáéíóú]", lowered):
        scores["es"] += 2
    return scores


def detect_language(text: str, allowed: Iterable[str], current: str) -> str:
    """The language ``text`` is in, among ``allowed`` (``"en"`` / ``"es"``), when the
    evidence is clear (a margin of 2); else ``current``."""
    allowed = list(allowed)
    scores = language_scores(text)
    ranked = sorted((lang for lang in allowed if lang in scores), key=lambda k: -scores[k])
    if len(ranked) < 2:
        return current
    best, second = ranked[0], ranked[1]
    if scores[best] - scores[second] >= 2:
        return best
    return current


# -- what kind of line ---------------------------------------------------------------------

_GREETING_ONLY = re.compile(
    r"^(?:(?:hi|hello|hey|good (?:morning|afternoon|evening)|yes|yeah|hola|buenos dias|"
    r"buenas(?: tardes| noches)?|si|ok|okay|um+|uh+|hm+)[\s,.!?]*)+(?:(?:is this|this is|es)\s"
    r"[\w\s]+)?[\s,.!?]*$"
)
_QUESTION_START = re.compile(
    r"^(?:(?:hi|hello|hey|hola|yes|yeah|so|and|also|ok|okay|oh|um|uh|sorry|quick question|"
    r"one more thing|por cierto|otra cosa|tambien|y)[\s,.!]+)*"
    r"(?:what|when|where|how|why|which|who|whom|is|are|am|do|does|did|can|could|may|"
    r"should|will|would|que|cuando|donde|como|cuanto|cuanta|cuantos|cuantas|cual|cuales|"
    r"quien|puedo|se puede|hay|tienen|aceptan|permiten)\b"
)
_ASKING = re.compile(
    r"\b(?:i (?:have|had|got) a (?:quick )?question|i (?:want|wanted|would like|'d like) to "
    r"(?:ask|know)|i was wondering|wondering (?:if|whether|about)|tell me (?:about|how|what|"
    r"when|where)|do you know|quisiera saber|queria saber|quiero saber|tengo una pregunta|"
    r"una pregunta|me puede decir|me podria decir)\b"
)
_SERVICE_REQUEST = re.compile(
    r"\b(?:(?:can|could|would|will) (?:someone|somebody|you|u|a technician|maintenance) "
    r"(?:come|send|fix|repair|look|check|take a look|help me with)|"
    r"(?:need|want|like) (?:someone|somebody|a repair|maintenance|a technician|a plumber|"
    r"to report|to file|to submit|to put in|to request)|report(?:ing)? (?:a|an|the)|"
    r"work order|maintenance request|service request|"
    r"necesito que|pueden (?:venir|arreglar|mandar|enviar|revisar)|quiero reportar|"
    r"reportar (?:un|una)|solicitud de mantenimiento)\b"
)
_PROBLEM = re.compile(
    r"\b(?:broken|broke|leak(?:s|ing|y)?|not working|doesn'?t work|isn'?t working|"
    r"won'?t (?:work|turn on|start|drain|flush|close|open|lock)|stopped working|clogged|"
    r"blocked|backed up|overflow(?:ing)?|dripping|no hot water|mold|mould|pests?|roach(?:es)?|"
    r"mice|rats?|bugs|locked out|noise complaint|too loud|damaged?|cracked|"
    r"no funciona|dejo de funcionar|roto|rota|gotea|gotera|fuga|atascad[oa]|tapad[oa]|"
    r"sin agua caliente|moho|plaga|cucarachas|ratones|ruido)\b"
)


def is_small_talk(text: str) -> bool:
    """True for a line with no request in it: a greeting, "yes", "um"."""
    return bool(_GREETING_ONLY.match(fold(text).strip())) or not re.search(r"\w", text)


def is_question(text: str) -> bool:
    """True when the caller asks for information ("When is rent due?", "I have a question
    about pets"), not for a service ("Can someone fix my sink?")."""
    plain = fold(text).strip()
    if _SERVICE_REQUEST.search(plain) or _PROBLEM.search(plain):
        return False
    return bool("?" in text or "¿" in text or _QUESTION_START.match(plain) or _ASKING.search(plain))


def mentions_problem(text: str) -> bool:
    """True when the line reports something broken or asks for a service."""
    plain = fold(text)
    return bool(_SERVICE_REQUEST.search(plain) or _PROBLEM.search(plain))


_DONE = re.compile(
    r"\b(?:no(?:pe)?,? (?:that'?s|thats|that is) (?:all|it|everything)|that'?s (?:all|it|"
    r"everything)|nothing (?:else|more)|no,? thanks?|no thank you|i'?m (?:good|all set|done)|"
    r"all set|bye|goodbye|no,? (?:eso es todo|es todo|nada mas|gracias)|eso es todo|es todo|"
    r"nada mas|adios|hasta luego)\b"
)


def is_done(text: str) -> bool:
    """True when the caller says they need nothing more ("No, that's all, thanks")."""
    plain = fold(text).strip()
    return bool(_DONE.search(plain)) or plain.rstrip(".!") in ("no", "nope", "nah")


# -- yes / no -------------------------------------------------------------------------------

_YES = re.compile(
    r"^(?:(?:oh|well|um|uh|ah)[\s,]+)?(?:yes|yeah|yep|yup|sure|of course|ok|okay|correct|"
    r"right|that'?s (?:right|correct|fine|ok|okay)|absolutely|definitely|please do|go ahead|"
    r"sounds good|fine|no problem|not a problem|that works|perfect|exactly|"
    r"si|claro|por supuesto|correcto|exacto|vale|de acuerdo|esta bien|perfecto|adelante|"
    r"con gusto|sin problema|asi es|eso es)\b"
)
_NO = re.compile(
    r"^(?:(?:oh|well|um|uh|ah|actually)[\s,]+)?(?:no|nope|nah|not really|negative|"
    r"i'?d rather not|rather not|please don'?t|don'?t|do not|that'?s (?:wrong|not right|"
    r"incorrect)|wrong|incorrect|not quite|de ninguna manera|prefiero que no|mejor no|"
    r"ninguno|ninguna|nada|esta mal|incorrecto)\b"
)
_NO_ANYWHERE = re.compile(
    r"\b(?:no (?:pets|animals|mascotas|animales)|(?:we|i) don'?t have (?:any )?(?:pets|"
    r"animals)|there are no|there aren'?t any|none|no tenemos|no tengo|no hay|nobody|"
    r"don'?t (?:enter|come in|go in)|not without me|only when i'?m (?:home|there)|"
    r"solo (?:cuando|si) (?:estoy|este))\b"
)
_YES_ANYWHERE = re.compile(
    r"\b(?:(?:we|i) (?:have|got|own) (?:a|an|two|three|\d+)|you (?:can|may) (?:enter|come in|go in)|"
    r"(?:it'?s|that'?s) (?:fine|ok|okay) (?:to|if)|tenemos (?:un|una|dos)|tengo (?:un|una|dos)|"
    r"pueden (?:entrar|pasar))\b"
)


def parse_yes_no(text: str) -> bool | None:
    """``True`` for yes ("Yes, a cat", "Sure, go ahead", "Sí, claro"), ``False`` for no
    ("No pets", "Only when I'm home"), None when unclear."""
    plain = fold(text).strip().lstrip("¿¡")
    if _NO_ANYWHERE.search(plain) and not _YES.match(plain):
        return False
    if _YES.match(plain):
        return True
    if _NO.match(plain):
        return False
    if _YES_ANYWHERE.search(plain):
        return True
    return None


# -- enums from synonyms --------------------------------------------------------------------


def parse_enum(
    text: str, values: Iterable[str], synonyms: Mapping[str, Iterable[str]]
) -> str | None:
    """The enum value ``text`` names: the value itself (``move_out`` also as "move out")
    or one of its ``synonyms``; the match said earliest in ``text`` wins, a longer one on
    a tie (so a synonym "not urgent" wins over "urgent"). None when no value is named."""
    plain = fold(text)
    best: tuple[int, int, str] | None = None
    for value in values:
        words = [value, value.replace("_", " "), *synonyms.get(value, ())]
        for phrase in words:
            if not phrase.strip():
                continue
            match = phrase_pattern(phrase).search(plain)
            if match:
                key = (match.start(), -len(phrase), value)
                if best is None or key < best:
                    best = key
    return best[2] if best else None


# -- free text ----------------------------------------------------------------------------

_TEXT_FILLER = re.compile(
    r"^(?:(?:sure|yes|yeah|ok|okay|um+|uh+|well|so|hmm|si|claro|bueno|pues)[\s,.!]+)*", re.I
)


def parse_text(text: str) -> str | None:
    """A free-text answer without leading fillers and the closing full stop ("Um,
    weekday mornings." -> "weekday mornings"); None when nothing is left."""
    rest = _TEXT_FILLER.sub("", text.strip()).strip().rstrip(".")
    return rest or None


_OPENING = re.compile(
    r"^(?:(?:hi|hello|hey|good (?:morning|afternoon|evening)|yes|yeah|so|um+|uh+|well|oh|"
    r"hola|buenos dias|buenas(?: tardes| noches)?|si|bueno|pues|mire|oiga)\b[\s,.!]*)+",
    re.I,
)


def without_opening(text: str) -> str:
    """``text`` without a leading greeting or filler ("Hi, my sink leaks" -> "My sink
    leaks"), its first letter upper-cased."""
    rest = _OPENING.sub("", fold_keep_case(text)).strip()
    start = len(text) - len(rest)
    rest = text[start:].strip() if rest else text.strip()
    return rest[:1].upper() + rest[1:]


def fold_keep_case(text: str) -> str:
    """``text`` with accents removed (same length for Latin text), case kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded if len(folded) == len(text) else text


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters
    (ending in "…" when cut)."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.-") + "…"


__all__ = [
    "clip",
    "contains_phrase",
    "detect_language",
    "fold",
    "is_done",
    "is_question",
    "is_small_talk",
    "language_scores",
    "mentions_problem",
    "parse_enum",
    "parse_text",
    "parse_yes_no",
    "phrase_pattern",
    "sentence_with",
    "without_negated",
    "without_opening",
]
