"""A document as the knowledge base sees it: a title and sections under headings.

Every format is read into a :class:`Document` (:mod:`.loaders`); Markdown is parsed here
because HTML pages are turned into Markdown first (trafilatura) and parsed the same way.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

KINDS = ("markdown", "text", "pdf", "docx", "html")


class SourceError(Exception):
    """One source could not be ingested; ``str()`` names it and says why.

    ``uri`` is the file's absolute path or the page's URL; ``reason`` one line, safe to
    print (never page content or a secret); ``discovered`` is True for a page a crawl
    found by itself (a broken link: reported, but not the user's input).
    """

    def __init__(self, uri: str, reason: str, *, discovered: bool = False):
        self.uri = uri
        self.reason = reason
        self.discovered = discovered
        super().__init__(f"{uri}: {reason}")


@dataclass
class Section:
    """Text under one heading: ``path`` is the heading trail (``("Pets", "Deposits")``,
    empty before the first heading), ``text`` the body, paragraphs split by blank lines."""

    path: tuple[str, ...]
    text: str


@dataclass
class Document:
    """One source read into sections. ``uri``: absolute file path or URL; ``kind``: one
    of :data:`KINDS`; ``content_hash``: SHA-256 (hex) of the bytes read."""

    uri: str
    kind: str
    title: str
    sections: list[Section] = field(default_factory=list)
    content_hash: str = ""

    @property
    def has_text(self) -> bool:
        return any(s.text.strip() for s in self.sections)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_SETEXT = re.compile(r"^(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^[ \t]*(```|~~~)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)(]|\([^)]*\))*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n", re.S)


def _plain(line: str) -> str:
    """Markdown inline syntax that carries no meaning for search removed (links keep
    their text, images their alt text, emphasis markers go)."""
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    return re.sub(r"(\*\*|__|`)", "", line)


def parse_markdown(text: str) -> tuple[str, list[Section]]:
    """``(title, sections)`` of a Markdown text. The title is the front matter's
    ``title:``, else the first level-1 heading, else ``""``. ATX (``## x``) and setext
    headings start sections; ``#`` lines inside fenced code blocks do not."""
    title = ""
    text = _HTML_COMMENT.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    front = _FRONT_MATTER.match(text)
    if front:
        for line in front.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("'\"")
        text = text[front.end() :]
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    body: list[str] = []
    in_fence = False

    def flush() -> None:
        joined = "\n".join(body).strip()
        if joined:
            sections.append(Section(tuple(h for _, h in trail), joined))
        body.clear()

    def heading(level: int, name: str) -> None:
        nonlocal title
        flush()
        name = _plain(name).strip()
        while trail and trail[-1][0] >= level:
            trail.pop()
        trail.append((level, name))
        if level == 1 and not title:
            title = name

    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            match = _ATX.match(line)
            if match:
                heading(len(match.group(1)), match.group(2))
                continue
            setext = _SETEXT.match(line)
            if setext and body and body[-1].strip() and index > 0:
                previous = body.pop()
                heading(1 if setext.group(1)[0] == "=" else 2, previous)
                continue
        body.append(_plain(line))
    flush()
    return title, sections


def first_line_title(text: str, fallback: str) -> str:
    """A short first line of ``text`` (≤ 80 characters), else ``fallback``."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= 80 else fallback
    return fallback
