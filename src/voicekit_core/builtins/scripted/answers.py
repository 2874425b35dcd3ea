"""Reading a knowledge lookup's result and saying its answer briefly.

The knowledge tool (``search_knowledge`` of voicekit-knowledge) returns the top chunks
with their sources; the scripted model says the sentences of the *top* chunk that share
the most words with the caller's question (one, or two when the second is on topic
too), stripped of Markdown. Deterministic: ties go to the earlier sentence.

Accepted result shapes (text or JSON): ``{"results": [{"text", "title", "source"}...]}``
(also ``chunks`` / ``matches`` / ``excerpts``, and ``content`` / ``chunk`` / ``answer``
for the text), a bare list of those, or plain text (its paragraphs are the chunks).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from .fields import fold, words

#: Longest answer said, in characters (a phone answer is a sentence or two).
MAX_ANSWER_CHARS = 320

_STOPWORDS = words(
    "a an the is are am was were be been do does did can could would should will may i "
    "you we they he she it my your our their me us them to of in on at for from with "
    "about and or but if so what when where how why which who whom there here this that "
    "these those have has had any some get got just please tell know want like el la los "
    "las un una de del que y en es son por para con como cuando donde cual mi su sus se "
    "lo le les me puedo pueden hay tienen"
)


@dataclass(frozen=True)
class Chunk:
    """One excerpt of a lookup result: ``text``, and its ``title`` and ``source`` if given."""

    text: str
    title: str = ""
    source: str = ""


def _chunk(item: Any) -> Chunk | None:
    if isinstance(item, str):
        return Chunk(item) if item.strip() else None
    if not isinstance(item, dict):
        return None
    text = next(
        (
            item[k]
            for k in ("text", "content", "chunk", "answer", "excerpt")
            if isinstance(item.get(k), str)
        ),
        "",
    )
    if not text.strip():
        return None
    return Chunk(
        text, str(item.get("title") or ""), str(item.get("source") or item.get("url") or "")
    )


def read_chunks(output: str) -> list[Chunk]:
    """The chunks of a knowledge tool's ``output``, best first (see the module docstring);
    ``[]`` when it holds none."""
    try:
        data = json.loads(output)
    except (json.JSONDecodeError, TypeError):
        data = None
    if isinstance(data, dict):
        for key in ("results", "chunks", "matches", "excerpts", "hits"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            single = _chunk(data)
            return [single] if single else []
    if isinstance(data, list):
        return [c for c in (_chunk(item) for item in data) if c is not None]
    if data is not None or not isinstance(output, str):
        return []
    blocks = [b for b in re.split(r"\n\s*\n", output) if b.strip()]
    return [Chunk(b) for b in blocks]


def _is_heading(line: str, following: str) -> bool:
    """A title line: Markdown ``#``, or a short line without closing punctuation that is
    followed by a capitalised line or by nothing (ingested Markdown keeps titles as plain
    lines)."""
    if line.startswith("#"):
        return True
    if re.search(r"[.!?:;,]$", line) or len(line.split()) > 8:
        return False
    following = re.sub(r"^(?:[-*+]|\d+[.)])\s+", "", following)
    return not following or following[:1].isupper()


def _plain_blocks(text: str) -> list[tuple[str, str]]:
    """The prose of ``text`` as ``(item, title)`` pairs: lines joined into paragraphs and
    list items (each ending with a full stop), with the title they are under; titles
    themselves dropped, links reduced to their text, emphasis removed."""
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links -> their text
    out: list[tuple[str, str]] = []
    title = ""
    for block in re.split(r"\n\s*\n", text):
        lines = [line.rstrip() for line in block.splitlines() if line.strip()]
        lines = [line for line in lines if not re.fullmatch(r"[|:\-\s]+", line.strip())]
        items: list[str] = []
        for index, line in enumerate(lines):
            stripped = line.strip()
            following = lines[index + 1].strip() if index + 1 < len(lines) else ""
            if not items and _is_heading(stripped, following):
                title = stripped.lstrip("#").strip()
                continue
            item = re.match(r"^(?:[-*+]|\d+[.)])\s+", stripped)
            if item or not items or stripped.startswith("|"):
                items.append(stripped[item.end() :] if item else stripped)
            else:
                items[-1] += " " + stripped
        for item in items:
            item = re.sub(r"[*_`]+", "", item.strip("|").replace("|", ",")).strip()
            if item and not re.search(r"[.!?:;]$", item):
                item += "."
            if item:
                out.append((item, title))
    return out


def _sentences(text: str) -> list[tuple[str, str]]:
    """``(sentence, title)`` pairs of ``text`` (see :func:`_plain_blocks`)."""
    sentences = []
    for block, title in _plain_blocks(text):
        parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9¿¡ÁÉÍÓÚÑ\"'(])", block)
        sentences += [(p.strip(), title) for p in parts if len(p.strip()) > 2]
    return sentences


def _stem(word: str) -> str:
    for suffix in ("ing", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry meaning (stop words dropped, crude stems)."""
    words = re.findall(r"[a-z0-9ñ]+", fold(text))
    return {_stem(w) for w in words if w not in _STOPWORDS and len(w) > 1}


def brief_answer(query: str, chunks: list[Chunk], limit: int = MAX_ANSWER_CHARS) -> str:
    """One or two sentences of the top chunk answering ``query``, in their order in the
    document; ``""`` when the result has no chunk with a sentence in it.

    Each query word found in a sentence counts by its rarity among the chunk's sentences
    (``log(1 + n / df)``: "due" outweighs "rent" in a page about rent), plus half of that
    for query words in the title the sentence is under ("When rent is due"). The best
    sentence is taken, then the one adding the most query words it lacks (a question
    asking two things gets both answers) when that adds at least half as much and both
    fit in ``limit`` characters."""
    if not chunks:
        return ""
    pairs = _sentences(chunks[0].text)
    if not pairs:
        return ""
    wanted = content_words(query)
    found = [wanted & content_words(sentence) for sentence, _ in pairs]
    titled = [wanted & content_words(title) for _, title in pairs]
    df = {w: sum(w in f for f in found) for w in wanted}
    weight = {w: math.log(1 + len(pairs) / df[w]) for w in wanted if df[w]}

    def score(words: set[str]) -> float:
        return sum(weight.get(w, 0.0) for w in words)

    def bonus(index: int) -> float:
        return 0.5 * sum(math.log(1 + len(pairs) / max(df.get(w, 0), 1)) for w in titled[index])

    best = max(range(len(pairs)), key=lambda i: (score(found[i]) + bonus(i), -i))
    covered = found[best]
    gain = {i: score(found[i] - covered) for i in range(len(pairs)) if i != best}
    extra = max(
        (i for i in gain if gain[i] > 0),
        key=lambda i: (gain[i] + bonus(i), -abs(i - best), -i),
        default=None,
    )
    chosen = [best]
    if (
        extra is not None
        and gain[extra] >= 0.5 * score(found[best])
        and len(pairs[best][0]) + 1 + len(pairs[extra][0]) <= limit
    ):
        chosen.append(extra)
    answer = " ".join(pairs[i][0] for i in sorted(chosen))
    if len(answer) > limit:
        answer = answer[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return answer


__all__ = ["Chunk", "brief_answer", "content_words", "read_chunks"]
