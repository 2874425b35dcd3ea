"""Topic mode: a small FAQ as a fixed list of topics, no index and no embeddings.

The configured ``sources`` (local files and folders) are read with the same loaders as
``ingest``; each document's sections at the first heading level under its title become
topics (a document without such headings is one topic, named by its title). The
``lookup_topic`` tool lists every topic key in its JSON schema ``enum`` so the model picks
one; the tool returns that topic's text. At most :data:`~.settings.MAX_TOPICS` topics:
beyond that, use ``mode = "search"``. Files are re-read when one changes.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .crawl import is_web
from .documents import Document, SourceError
from .loaders import kind_for_name, load
from .settings import MAX_TOPICS, KnowledgeSettings


class TopicsError(Exception):
    """The topic list cannot be built (a URL source, an unreadable file, too many topics)."""


@dataclass
class Topic:
    """``key`` (``office_hours``), ``title`` (``Office hours``), ``text``, ``source``."""

    key: str
    title: str
    text: str
    source: str


def slug(text: str) -> str:
    """``"Rent & Payments!"`` -> ``"rent_payments"`` (ASCII, lower case)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_") or "topic"


def _files(settings: KnowledgeSettings, base_dir: Path) -> list[Path]:
    files: list[Path] = []
    for source in settings.sources:
        if is_web(source):
            raise TopicsError(
                f"sources: {source!r} is a website; topics mode reads local files only "
                "(ingest the site and use mode = 'search')"
            )
        path = Path(source).expanduser()
        path = path if path.is_absolute() else base_dir / path
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and kind_for_name(p.name)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            files.append(path)
        else:
            raise TopicsError(f"sources: {source!r}: no such file or folder")
    if not files:
        raise TopicsError("topics mode needs sources: files or folders with the FAQ")
    return files


def document_topics(document: Document, source: str) -> list[tuple[str, str]]:
    """``(title, text)`` topics of one document (see the module docstring)."""
    sections = [s for s in document.sections if s.text.strip()]
    if not sections:
        return []
    prefix = 0  # headings shared by every section (the document's title) are not topics
    while (
        all(len(s.path) > prefix for s in sections) and len({s.path[prefix] for s in sections}) == 1
    ):
        prefix += 1
    grouped: dict[str, list[str]] = {}
    for section in sections:
        name = section.path[prefix] if len(section.path) > prefix else document.title
        lines = [" > ".join(section.path[prefix + 1 :])] if len(section.path) > prefix + 1 else []
        grouped.setdefault(name, []).append("\n".join([*lines, section.text]))
    return [(name, "\n\n".join(parts)) for name, parts in grouped.items()]


_cache_lock = threading.Lock()
_cache: dict[tuple, list[Topic]] = {}


def load_topics(settings: KnowledgeSettings, base_dir: Path) -> list[Topic]:
    """The topics of ``settings.sources`` (cached until a file changes).

    Raises TopicsError naming the file or the count.
    """
    files = _files(settings, base_dir)
    stamp = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    with _cache_lock:
        if stamp in _cache:
            return _cache[stamp]
    topics: list[Topic] = []
    keys: set[str] = set()
    for path in files:
        try:
            relative = path.resolve().relative_to(base_dir.resolve()).as_posix()
        except ValueError:
            relative = str(path)
        kind = kind_for_name(path.name)
        if kind is None:
            raise TopicsError(f"{relative}: unsupported file type {path.suffix!r}")
        try:
            document = load(path.read_bytes(), uri=relative, kind=kind, stem=path.stem)
        except SourceError as exc:
            raise TopicsError(str(exc)) from None
        except OSError as exc:
            raise TopicsError(f"{relative}: {exc.strerror}") from None
        for title, text in document_topics(document, relative):
            key = base = slug(title)[:60]
            number = 2
            while key in keys:
                key, number = f"{base}_{number}", number + 1
            keys.add(key)
            topics.append(Topic(key, title, text, relative))
    if len(topics) > MAX_TOPICS:
        raise TopicsError(
            f"{len(topics)} topics in sources; topics mode takes at most {MAX_TOPICS}: "
            "use mode = 'search'"
        )
    with _cache_lock:
        _cache[stamp] = topics
    return topics
