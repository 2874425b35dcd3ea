"""Read one source's bytes into a :class:`~.documents.Document`.

Formats: Markdown (``.md``), plain text (``.txt``), PDF (pypdf), Word (``.docx``,
python-docx) and HTML (trafilatura, main content only: menus and footers go). Each reader
raises :class:`~.documents.SourceError` with a one-line reason for a file it cannot read
(corrupt, encrypted, empty, scanned without text); nothing is guessed.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import PurePosixPath

from .documents import Document, Section, SourceError, first_line_title, parse_markdown, sha256

SUFFIXES = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
}
CONTENT_TYPES = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}


def kind_for_name(name: str) -> str | None:
    """The format of a file or URL path by its suffix (``None`` if unsupported)."""
    return SUFFIXES.get(PurePosixPath(name.split("?", 1)[0]).suffix.lower())


def load(data: bytes, *, uri: str, kind: str, stem: str = "") -> Document:
    """``data`` (the whole file or page) read as ``kind``. ``stem`` is the title used
    when the document has none (the file name without suffix).

    Raises SourceError for an empty, unreadable or text-less source.
    """
    if not data.strip():
        raise SourceError(uri, "the file is empty")
    reader = {
        "markdown": _markdown,
        "text": _text,
        "pdf": _pdf,
        "docx": _docx,
        "html": _html,
    }.get(kind)
    if reader is None:
        raise SourceError(uri, f"unsupported format {kind!r}")
    document = reader(data, uri, stem or uri)
    document.content_hash = sha256(data)
    if not document.has_text:
        raise SourceError(uri, f"no text found in this {kind} source")
    return document


def _decode(data: bytes, uri: str) -> str:
    """UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252; binary data
    (NUL bytes) is refused."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise SourceError(uri, "binary data, not text (wrong file extension?)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise SourceError(uri, "not UTF-8 text (and not Windows-1252 either)") from None


def _markdown(data: bytes, uri: str, stem: str) -> Document:
    title, sections = parse_markdown(_decode(data, uri))
    return Document(uri, "markdown", title or stem, sections)


def _text(data: bytes, uri: str, stem: str) -> Document:
    text = _decode(data, uri).replace("\r\n", "\n").strip()
    return Document(uri, "text", first_line_title(text, stem), [Section((), text)])


def _html(data: bytes, uri: str, stem: str) -> Document:
    import trafilatura

    html = data.decode("utf-8", errors="replace")
    markdown = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_tables=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,
    )
    if not markdown or not markdown.strip():
        raise SourceError(uri, "no readable text in this page (only menus, scripts or images?)")
    title, sections = parse_markdown(markdown)
    metadata = trafilatura.extract_metadata(html)
    page_title = (metadata.title or "").strip() if metadata is not None else ""
    return Document(uri, "html", page_title or title or stem, sections)


# -- PDF ---------------------------------------------------------------------------------

_TERMINAL = re.compile(r"[.,;:!?…)\]\"'”’]$")
_BULLET = re.compile(r"^([-•*·▪●]|\d+[.)])\s")


def _looks_like_heading(line: str, previous: str) -> bool:
    """A short line with no closing punctuation, after a blank or a finished sentence."""
    words = line.split()
    return (
        0 < len(words) <= 8
        and len(line) <= 70
        and not _TERMINAL.search(line)
        and not _BULLET.match(line)
        and line[0].isupper()
        and any(c.isalpha() for c in line)
        and (not previous or bool(_TERMINAL.search(previous)))
    )


def _pdf(data: bytes, uri: str, stem: str) -> Document:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    if b"%PDF-" not in data[:1024]:
        raise SourceError(uri, "not a PDF (no %PDF- header): wrong file extension?")
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.ERROR)  # its warnings repeat what the SourceError says
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SourceError(uri, "the PDF is password-protected")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = ""
        if reader.metadata is not None and reader.metadata.title:
            meta_title = str(reader.metadata.title).strip()
    except SourceError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SourceError(uri, f"not a readable PDF ({type(exc).__name__}: {exc})") from None
    finally:
        pypdf_log.setLevel(level)
    if not any(p.strip() for p in pages):
        raise SourceError(uri, "the PDF has no text layer (a scanned PDF needs OCR first)")
    sections: list[Section] = []
    path: tuple[str, ...] = ()
    body: list[str] = []
    previous = ""

    def flush() -> None:
        text = re.sub(r"-\n(\w)", r"\1", "\n".join(body)).strip()
        if text:
            sections.append(Section(path, _rejoin(text)))
        body.clear()

    for page in pages:
        for raw in page.splitlines():
            line = raw.strip()
            if line and _looks_like_heading(line, previous):
                flush()
                path = (line,)
            else:
                body.append(line)
            previous = line
        previous = ""
    flush()
    title = meta_title or (sections[0].path[0] if sections and sections[0].path else stem)
    return Document(uri, "pdf", title, sections)


def _rejoin(text: str) -> str:
    """Lines wrapped by the PDF layout joined back into paragraphs (blank lines and
    bullets keep their breaks)."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        if _BULLET.match(line) and current:
            paragraphs.append(" ".join(current))
            current = []
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


# -- DOCX --------------------------------------------------------------------------------


def _docx(data: bytes, uri: str, stem: str) -> Document:
    import zipfile

    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:  # pragma: no cover - a dependency of this distribution
        raise SourceError(uri, "reading .docx needs python-docx") from None
    try:
        word = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SourceError(uri, f"not a readable .docx ({type(exc).__name__})") from None
    sections: list[Section] = []
    trail: list[tuple[int, str]] = []
    body: list[str] = []
    title = (word.core_properties.title or "").strip()

    def flush() -> None:
        text = "\n\n".join(b for b in body if b.strip()).strip()
        if text:
            sections.append(Section(tuple(h for _, h in trail), text))
        body.clear()

    for block in _docx_blocks(word):
        if isinstance(block, tuple):  # a heading: (level, text)
            level, text = block
            flush()
            while trail and trail[-1][0] >= level:
                trail.pop()
            trail.append((level, text))
            if not title and level <= 1:
                title = text
        else:
            body.append(block)
    flush()
    return Document(uri, "docx", title or stem, sections)


def _docx_blocks(word):  # type: ignore[no-untyped-def]
    """Paragraph texts and ``(level, heading)`` tuples, tables as ``a | b`` rows, in
    document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for item in word.iter_inner_content():
        if isinstance(item, Paragraph):
            text = item.text.strip()
            if not text:
                continue
            style = (item.style.name if item.style is not None else "") or ""
            match = re.match(r"Heading (\d)", style)
            if style == "Title":
                yield (0, text)
            elif match:
                yield (int(match.group(1)), text)
            else:
                yield text
        elif isinstance(item, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in item.rows]
            yield "\n".join(r for r in rows if r.strip(" |"))
