"""The do-not-call list in the store (table ``dnc``): global and per campaign.

Legal source: 47 CFR 64.1200(c)(2) (the national do-not-call registry) and 64.1200(d)
(a caller's own company-specific do-not-call list: a request not to be called must be
recorded and honoured within a reasonable time, at most 10 business days, and for five
years). voicekit keeps the company list here;
scrub your leads against the national registry before importing them, or import the
registry extract you licence with ``voicekit dnc import``.

Each entry is an E.164 ``phone`` with a ``scope``: ``""`` (:data:`GLOBAL_SCOPE`) applies to
every call of the deployment; a campaign id applies to that campaign only. An entry also
keeps a ``reason`` and where it came from (``source``: ``cli``, ``import:<file>``,
``call:<call id>``), and when it was added (UTC).

Numbers are compared in E.164 only: an entry for ``+14155550123`` blocks every extension of
that number too.

Reading a DNC file (:func:`read_dnc_file`) streams it: a CSV with a ``phone`` column (and
optionally ``reason``), or plain text with one number per line (``#`` starts a comment,
whose text becomes the reason). Rows are numbered as a spreadsheet shows them (the
header, if any, is row 1; blank lines count).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from ..calls import utcnow
from ..errors import InputError, Problem
from ..phones import InvalidPhone, PhonePolicy, is_e164
from ..store import Store
from ..store.tables import dnc

#: The scope of an entry that applies to every campaign and every call.
GLOBAL_SCOPE = ""
#: Rows written per statement when importing a file.
BATCH_ROWS = 1000
#: Longest line of a DNC file, in characters (a binary file or a runaway line).
MAX_LINE_CHARS = 1 << 20
#: Longest reason kept, in characters.
MAX_REASON_CHARS = 500


class DncFileError(InputError):
    """A DNC file cannot be read (missing, not UTF-8, no ``phone`` column, a ``;``
    separated file...), or has bad rows in ``--strict`` mode. Each problem names the
    file and the row."""


@dataclass(frozen=True)
class DncEntry:
    """One entry: E.164 ``phone``, ``scope`` (``""`` global, else a campaign id),
    ``reason``, ``source`` and ``created_at`` (UTC)."""

    phone: str
    scope: str
    reason: str
    source: str
    created_at: datetime

    @property
    def is_global(self) -> bool:
        return self.scope == GLOBAL_SCOPE


def scopes_for(campaign_id: str | None) -> tuple[str, ...]:
    """The scopes that apply to a call of ``campaign_id``: global, plus the campaign's own."""
    return (GLOBAL_SCOPE, campaign_id) if campaign_id else (GLOBAL_SCOPE,)


def dnc_reason(entry: DncEntry) -> str:
    """The veto/skip reason for a number on the list, e.g.
    ``"do_not_call: on the global do-not-call list since 2026-11-23 (opted out on a call)"``.
    ``entry.reason`` is user text: print it escaped."""
    where = "the global" if entry.is_global else "this campaign's"
    text = f"do_not_call: on {where} do-not-call list since {entry.created_at:%Y-%m-%d}"
    if entry.reason:
        text += f" ({_clip(entry.reason, 120)})"
    return text


def _require_e164(phone: str) -> str:
    if not isinstance(phone, str) or not is_e164(phone):
        raise ValueError(f"not an E.164 number: {phone!r} (read it with PhonePolicy first)")
    return phone


def _insert(db: Connection):
    """An INSERT ... ON CONFLICT DO NOTHING for ``dnc`` on this connection's dialect."""
    dialect = sqlite if db.dialect.name == "sqlite" else postgresql
    return dialect.insert(dnc).on_conflict_do_nothing(index_elements=["phone", "scope"])


def add_dnc(
    db: Connection,
    phone: str,
    *,
    scope: str = GLOBAL_SCOPE,
    reason: str = "",
    source: str = "",
    now: datetime | None = None,
) -> bool:
    """Put E.164 ``phone`` on the list for ``scope`` inside the caller's transaction.

    Returns True if it was added, False if it was already there (the first entry, its
    reason and date, are kept). Raises ``ValueError`` if ``phone`` is not E.164.
    """
    _require_e164(phone)
    exists = db.execute(select(dnc.c.id).where(dnc.c.phone == phone, dnc.c.scope == scope)).first()
    if exists is not None:
        return False
    result = db.execute(
        _insert(db).values(
            phone=phone,
            scope=scope,
            reason=_clip(reason, MAX_REASON_CHARS),
            source=_clip(source, 200),
            created_at=now or utcnow(),
        )
    )
    return bool(result.rowcount)


def remove_dnc(db: Connection, phone: str, *, scope: str = GLOBAL_SCOPE) -> bool:
    """Take E.164 ``phone`` off the list for ``scope`` (only that scope). Returns True if
    an entry was removed. Raises ``ValueError`` if ``phone`` is not E.164."""
    _require_e164(phone)
    result = db.execute(delete(dnc).where(dnc.c.phone == phone, dnc.c.scope == scope))
    return bool(result.rowcount)


def find_dnc(
    db: Connection, phones: Iterable[str], campaign_id: str | None = None
) -> dict[str, DncEntry]:
    """``{phone: entry}`` for the ``phones`` (E.164) on the list for a call of
    ``campaign_id`` (global entries win over the campaign's own). One query per 500
    numbers; give a batch, not a whole file."""
    wanted = list(dict.fromkeys(phones))
    found: dict[str, DncEntry] = {}
    scopes = scopes_for(campaign_id)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = db.execute(select(dnc).where(dnc.c.phone.in_(chunk), dnc.c.scope.in_(scopes))).all()
        for row in rows:
            entry = _entry(row)
            if entry.phone not in found or entry.is_global:
                found[entry.phone] = entry
    return found


def dnc_entry(db: Connection, phone: str, campaign_id: str | None = None) -> DncEntry | None:
    """The entry that blocks E.164 ``phone`` for a call of ``campaign_id`` (global first),
    or None."""
    return find_dnc(db, [phone], campaign_id).get(phone)


def iter_dnc(store: Store, scope: str | None = None) -> Iterator[DncEntry]:
    """Every entry of ``scope`` (None: all scopes), ordered by scope then phone, streamed."""
    query = select(dnc).order_by(dnc.c.scope, dnc.c.phone)
    if scope is not None:
        query = query.where(dnc.c.scope == scope)
    with store.read() as db:
        for row in db.execution_options(stream_results=True, yield_per=1000).execute(query):
            yield _entry(row)


def _entry(row) -> DncEntry:
    return DncEntry(row.phone, row.scope, row.reason, row.source, row.created_at)


# -- files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DncRow:
    """One non-blank row of a DNC file: its spreadsheet ``row``, the E.164 ``phone`` (None
    when unreadable: then ``problem`` says why), the ``raw`` cell and the ``reason``."""

    row: int
    phone: str | None
    raw: str
    reason: str = ""
    problem: str = ""


def read_dnc_file(path: Path, policy: PhonePolicy) -> Iterator[DncRow]:
    """Stream the numbers of a DNC file (see the module docstring), one row at a time.

    Numbers are read with ``policy`` except that an extension is accepted and dropped
    (blocking the main number blocks its extensions). Raises :class:`DncFileError` naming
    the file and row when the file as a whole cannot be read: missing, not UTF-8 text, a
    header without a ``phone`` column, columns separated by ``;``, a line over
    :data:`MAX_LINE_CHARS` characters, a quote never closed.
    """
    lenient = PhonePolicy(
        default_region=policy.default_region,
        allow_extensions=True,
        allow_vanity=policy.allow_vanity,
    )
    shown = str(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DncFileError([Problem(shown, "", "", f"cannot read: {exc.strerror}")]) from None
    with handle:
        lines = _Lines(handle, shown)
        first = lines.peek_first()
        if first is None:
            return
        header = next(csv.reader([first]))
        names = [cell.strip().lower() for cell in header]
        if "phone" in names:
            yield from _csv_rows(lines, names, shown, lenient)
            return
        if ";" in first and "phone" in [c.strip().lower() for c in first.split(";")]:
            raise DncFileError(
                [
                    Problem(
                        shown,
                        "row 1",
                        _clip(first.strip(), 80),
                        "columns are separated by ';': save the file as comma-separated "
                        "CSV (or as text, one number per line)",
                    )
                ]
            )
        if _looks_like_header(first, lenient):
            raise DncFileError(
                [
                    Problem(
                        shown,
                        "row 1",
                        _clip(first.strip(), 80),
                        "no 'phone' column: a DNC file is a CSV with a 'phone' column, or "
                        "text with one number per line",
                    )
                ]
            )
        yield from _text_rows(lines, lenient)


class _Lines:
    """A binary file read line by line, each decoded as UTF-8 (a BOM is skipped) with
    errors that name the file and row."""

    def __init__(self, handle: IO[bytes], shown: str):
        self._handle = handle
        self.shown = shown
        self.number = 0  # lines read
        self._pending: str | None = None

    def _read(self) -> str | None:
        raw = self._handle.readline(MAX_LINE_CHARS + 1)
        if not raw:
            return None
        self.number += 1
        where = f"row {self.number}"
        if len(raw) > MAX_LINE_CHARS:
            raise DncFileError(
                [
                    Problem(
                        self.shown,
                        where,
                        "",
                        f"a line is longer than {MAX_LINE_CHARS:,} bytes (not a DNC file?)",
                    )
                ]
            )
        if self.number == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise DncFileError(
                    [Problem(self.shown, where, "", "UTF-16 text, not UTF-8 (save it as UTF-8)")]
                )
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            byte = raw[exc.start]
            raise DncFileError(
                [
                    Problem(
                        self.shown,
                        where,
                        "",
                        f"not UTF-8 text (byte 0x{byte:02X}; Latin-1 or Windows-1252?): "
                        "save it as UTF-8",
                    )
                ]
            ) from None
        if "\x00" in text:
            raise DncFileError(
                [Problem(self.shown, where, "", "NUL bytes: a binary or UTF-16 file?")]
            )
        return text

    def peek_first(self) -> str | None:
        """The first non-blank line, kept to be read again (blank lines before it count)."""
        while True:
            line = self._read()
            if line is None:
                return None
            if line.strip():
                self._pending = line
                return line

    def __iter__(self) -> Iterator[str]:
        if self._pending is not None:
            line, self._pending = self._pending, None
            yield line
        while True:
            line = self._read()
            if line is None:
                return
            yield line


def _looks_like_header(line: str, policy: PhonePolicy) -> bool:
    text = line.split("#", 1)[0].strip()
    if not text:
        return False
    try:
        policy.parse(text)
    except InvalidPhone:
        return not any(ch.isdigit() for ch in text)  # words only: a header
    return False


def _csv_rows(lines: _Lines, names: list[str], shown: str, policy: PhonePolicy) -> Iterator[DncRow]:
    phone_at = names.index("phone")
    reason_at = names.index("reason") if "reason" in names else None
    reader = csv.reader(iter(lines), strict=True)
    row = lines.number - 1  # blank lines before the header
    try:
        next(reader)  # the header
        row += 1
        for cells in reader:
            row += 1  # one record is one row, as a spreadsheet shows it
            if not any(cell.strip() for cell in cells):
                continue
            raw = cells[phone_at].strip() if phone_at < len(cells) else ""
            reason = (
                cells[reason_at].strip() if reason_at is not None and reason_at < len(cells) else ""
            )
            yield _dnc_row(row, raw, reason, policy)
    except csv.Error as exc:
        raise DncFileError(
            [Problem(shown, f"row {row + 1}", "", f"malformed CSV ({exc})")]
        ) from None


def _text_rows(lines: _Lines, policy: PhonePolicy) -> Iterator[DncRow]:
    for line in lines:
        text, _, comment = line.partition("#")
        raw = text.strip()
        if not raw:
            continue
        yield _dnc_row(lines.number, raw, comment.strip(), policy)


def _dnc_row(row: int, raw: str, reason: str, policy: PhonePolicy) -> DncRow:
    if not raw:
        return DncRow(row, None, raw, reason, "phone: missing")
    try:
        phone = policy.parse(raw).e164
    except InvalidPhone as exc:
        return DncRow(row, None, _clip(raw, 60), reason, f"phone {_clip(raw, 60)!r}: {exc}")
    return DncRow(row, phone, raw, reason)


@dataclass
class DncImportResult:
    """What :func:`import_dnc` did: ``rows`` non-blank rows read, ``added`` new entries,
    ``already`` numbers that were on the list, ``problems`` (the first ones kept) and
    ``problem_count`` bad rows in all."""

    path: Path
    scope: str
    rows: int = 0
    added: int = 0
    already: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0


def import_dnc(
    store: Store,
    path: Path,
    *,
    policy: PhonePolicy,
    scope: str = GLOBAL_SCOPE,
    source: str | None = None,
    strict: bool = False,
    max_problems: int = 50,
    on_problem: Callable[[Problem], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> DncImportResult:
    """Add every number of the DNC file at ``path`` to ``scope``, in one transaction.

    Streams the file and writes in batches of :data:`BATCH_ROWS`. Rows that are not
    numbers are reported (``problems``; each also passed to ``on_problem``) and the others
    imported: an opt-out must not wait for a typo elsewhere in the file. With ``strict``, any
    bad row raises :class:`DncFileError` and nothing is imported. A file that cannot be
    read raises :class:`DncFileError` and nothing is imported. ``progress(rows)`` is called
    after each batch.
    """
    result = DncImportResult(Path(path), scope)
    label = source or f"import:{Path(path).name}"
    shown = str(path)
    now = utcnow()
    with store.write() as db:
        batch: dict[str, str] = {}
        for item in read_dnc_file(Path(path), policy):
            result.rows += 1
            if item.phone is None:
                problem = Problem(shown, f"row {item.row}", "", item.problem)
                result.problem_count += 1
                if len(result.problems) < max_problems:
                    result.problems.append(problem)
                if on_problem is not None:
                    on_problem(problem)
                continue
            if item.phone in batch:
                result.already += 1
                continue
            batch[item.phone] = item.reason
            if len(batch) >= BATCH_ROWS:
                _write_batch(db, batch, scope, label, now, result)
                batch = {}
                if progress is not None:
                    progress(result.rows)
        _write_batch(db, batch, scope, label, now, result)
        if progress is not None:
            progress(result.rows)
        if strict and result.problem_count:
            more = result.problem_count - len(result.problems)
            problems = list(result.problems)
            if more:
                problems.append(Problem(shown, "", "", f"... and {more:,} more bad rows"))
            problems.append(Problem(shown, "", "", "--strict: nothing was imported"))
            raise DncFileError(problems)
    return result


def _write_batch(
    db: Connection,
    batch: dict[str, str],
    scope: str,
    source: str,
    now: datetime,
    result: DncImportResult,
) -> None:
    if not batch:
        return
    existing = {
        row.phone
        for row in db.execute(
            select(dnc.c.phone).where(dnc.c.phone.in_(list(batch)), dnc.c.scope == scope)
        )
    }
    fresh = [
        {
            "phone": phone,
            "scope": scope,
            "reason": _clip(reason, MAX_REASON_CHARS),
            "source": _clip(source, 200),
            "created_at": now,
        }
        for phone, reason in batch.items()
        if phone not in existing
    ]
    if fresh:
        db.execute(_insert(db), fresh)
    result.added += len(fresh)
    result.already += len(batch) - len(fresh)


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = [
    "BATCH_ROWS",
    "GLOBAL_SCOPE",
    "DncEntry",
    "DncFileError",
    "DncImportResult",
    "DncRow",
    "add_dnc",
    "dnc_entry",
    "dnc_reason",
    "find_dnc",
    "import_dnc",
    "iter_dnc",
    "read_dnc_file",
    "remove_dnc",
    "scopes_for",
]
