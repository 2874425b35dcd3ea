"""Cut a :class:`~.documents.Document` into chunks of about ``min``–``max`` tokens.

Sections are cut at headings first. A section longer than ``max_tokens`` is split at
paragraphs, a paragraph longer than that at sentences, a sentence longer than that at
words. Then neighbouring pieces of the document are merged while one of them is shorter
than ``min_tokens`` and the two fit in ``max_tokens`` (a short FAQ answer joins its
neighbours instead of being a chunk of 30 tokens; each keeps its heading line). Each chunk starts with its
heading trail, so it reads on its own and its words count for search.

Tokens are counted as words and punctuation marks (:func:`count_tokens`), a close proxy
for a model tokenizer: an English word is ~1.3 BPE tokens, so 350 here is ~450 for
OpenAI's tokenizer, well inside every embedding model's input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .documents import Document

CHUNKER_VERSION = 1  # part of each source's index key: a change re-chunks on next ingest

_TOKEN = re.compile(r"\w+|[^\w\s]")
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[\"'“(¿¡]?[A-ZÁÉÍÓÚÑ0-9])")


def count_tokens(text: str) -> int:
    """Words and punctuation marks in ``text``."""
    return len(_TOKEN.findall(text))


@dataclass
class Chunk:
    """One searchable piece: ``position`` in its document (0-based), ``heading`` (the
    heading trail, ``"Pets > Deposits"``, ``""`` before any heading), ``text`` (starting
    with that trail), ``tokens``."""

    position: int
    heading: str
    text: str
    tokens: int


@dataclass
class _Piece:
    path: tuple[str, ...]
    text: str
    tokens: int
    first: bool  # the first piece of its section (starts with the section's heading)


def chunk_document(document: Document, *, max_tokens: int, min_tokens: int) -> list[Chunk]:
    """The document's chunks, in reading order."""
    pieces: list[_Piece] = []
    for section in document.sections:
        for index, text in enumerate(_split(section.text, max_tokens)):
            pieces.append(_Piece(section.path, text, count_tokens(text), index == 0))
    merged = _merge(pieces, max_tokens, min_tokens)
    chunks = []
    for position, group in enumerate(merged):
        heading = " > ".join(_common_path(group))
        parts = []
        for piece in group:
            label = " > ".join(piece.path)
            if piece.first and label and label != heading:
                parts.append(f"{piece.path[-1]}\n{piece.text}")
            else:
                parts.append(piece.text)
        body = "\n\n".join(parts)
        text = f"{heading}\n\n{body}" if heading else body
        chunks.append(Chunk(position, heading, text, count_tokens(text)))
    return chunks


def _split(text: str, max_tokens: int) -> list[str]:
    """``text`` packed into pieces of at most ``max_tokens``, cut at paragraphs, then
    sentences, then words."""
    units: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if count_tokens(paragraph) <= max_tokens:
            units.append(paragraph)
            continue
        for sentence in _SENTENCE.split(paragraph):
            if count_tokens(sentence) <= max_tokens:
                units.append(sentence)
            else:
                units.extend(_by_words(sentence, max_tokens))
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for unit in units:
        tokens = count_tokens(unit)
        if current and size + tokens > max_tokens:
            pieces.append("\n\n".join(current))
            current, size = [], 0
        current.append(unit)
        size += tokens
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _by_words(text: str, max_tokens: int) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    size = 0
    for word in text.split():
        tokens = count_tokens(word)
        if current and size + tokens > max_tokens:
            out.append(" ".join(current))
            current, size = [], 0
        current.append(word)
        size += tokens
    if current:
        out.append(" ".join(current))
    return out


def _merge(pieces: list[_Piece], max_tokens: int, min_tokens: int) -> list[list[_Piece]]:
    groups: list[list[_Piece]] = []
    size = 0
    for piece in pieces:
        if groups:
            group = groups[-1]
            small = size < min_tokens or piece.tokens < min_tokens
            # a merged section's heading line is added to the text: leave room for it
            extra = count_tokens(piece.path[-1]) if piece.path and piece.first else 0
            if small and size + piece.tokens + extra <= max_tokens:
                group.append(piece)
                size += piece.tokens + extra
                continue
        groups.append([piece])
        size = piece.tokens
    return groups


def _common_path(group: list[_Piece]) -> tuple[str, ...]:
    path = group[0].path
    for piece in group[1:]:
        common = 0
        while common < min(len(path), len(piece.path)) and path[common] == piece.path[common]:
            common += 1
        path = path[:common]
    return path
