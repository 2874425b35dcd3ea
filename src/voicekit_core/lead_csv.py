"""The leads CSV (dialer format), streamed: one row in memory at a time.

File shape: UTF-8 (a BOM is fine), a header row naming the columns
(``prospect_name,company_name,job_title,phone,email,timezone,resource_name`` plus any
others, kept in ``Lead.extra``), then one lead per row. Only ``phone`` is required.

Rows are numbered as a spreadsheet shows them: the header is row 1, blank lines count,
and a quoted field spanning several lines is one row. Where a row does not start on the
line of the same number (after a multi-line field), problems name the line too:
``row 7 (line 9)``.

Two kinds of trouble:

* the file cannot be read as a whole (missing, not UTF-8, no ``phone`` column, a
  duplicate column, a quote never closed, a field over :data:`FIELD_LIMIT` characters,
  a line over :data:`MAX_LINE_CHARS`): :class:`~voicekit_core.errors.LeadFileError` naming
  the file and the row, raised when reading reaches it;
* a row is not a valid lead (bad phone, email or timezone, a NUL byte, more cells than
  columns, the same phone as an earlier row): a :class:`Problem` for that row; the row
  is skipped and the other rows are read.

:class:`LeadBook` reads the file again for each question (``rows()``, ``get(phone)``,
``summarize()``) and never holds all leads, except through :attr:`LeadBook.leads` /
:func:`read_leads_csv`, kept for small files and tests.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple

from .errors import LeadFileError, Problem
from .leads import Lead, lead_from_row
from .phones import InvalidPhone, PhonePolicy, match_key, may_match

#: Longest field, in characters: the ``csv`` module's limit (128 KiB unless changed).
FIELD_LIMIT = csv.field_size_limit()
#: Longest physical line, in characters (a binary file or a runaway line).
MAX_LINE_CHARS = 1 << 20

# NUL, or a byte that is not UTF-8 (kept by errors="surrogateescape" as U+DC80..U+DCFF)
_SUSPECT = re.compile("[\x00\udc80-\udcff]")
_UTF16_BOMS = ("\udcff\udcfe", "\udcfe\udcff")


class LeadRow(NamedTuple):
    """One non-blank data row: its spreadsheet ``row`` number, the ``line`` it starts
    on, and either the ``lead`` it holds or the ``problem`` that kept it out."""

    row: int
    line: int
    lead: Lead | None = None
    problem: Problem | None = None


@dataclass
class LeadSummary:
    """A whole-file pass: ``rows`` non-blank data rows, ``valid`` of them leads; the
    first leads and problems kept (``leads``, ``problems``) and ``problem_count`` in all."""

    path: Path
    rows: int = 0
    valid: int = 0
    leads: list[Lead] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0

    def add(self, result: LeadRow, *, max_leads: int = 0, max_problems: int = 50) -> None:
        """Count one row, keeping its lead or problem while under the limits (negative:
        no limit)."""
        self.rows += 1
        if result.lead is not None:
            self.valid += 1
            if max_leads < 0 or len(self.leads) < max_leads:
                self.leads.append(result.lead)
        elif result.problem is not None:
            self.problem_count += 1
            if max_problems < 0 or len(self.problems) < max_problems:
                self.problems.append(result.problem)

    def raise_for_problems(self) -> None:
        """Raise :class:`LeadFileError` listing the kept problems (and how many more)."""
        if not self.problem_count:
            return
        problems = list(self.problems)
        more = self.problem_count - len(problems)
        if more:
            problems.append(Problem(str(self.path), "", "", f"... and {more:,} more bad rows"))
        raise LeadFileError(problems)


class LeadBook:
    """The leads CSV at ``path``, read on demand with a :class:`PhonePolicy`.

    Nothing is read when the book is made; each question streams the file. Errors that
    stop reading raise :class:`LeadFileError` (see the module docstring).
    """

    def __init__(self, path: Path, *, policy: PhonePolicy | None = None):
        self.path = Path(path)
        self.policy = policy or PhonePolicy()
        self._all: tuple[list[Lead], list[Problem]] | None = None

    def __repr__(self) -> str:
        return f"LeadBook({str(self.path)!r}, {self.policy})"

    # -- streaming -----------------------------------------------------------------
    def rows(self) -> Iterator[LeadRow]:
        """Every non-blank data row in file order, as a lead or a problem. A row with the
        same phone (and extension) as an earlier lead is a problem; the first one wins."""
        seen: dict[tuple[str, str], int] = {}
        with _CsvFile(self.path) as csv_file:
            for record in csv_file.records():
                result = csv_file.check(record, self.policy)
                lead = result.lead
                if lead is not None:
                    problem = duplicate(
                        seen, record.row, record.line, lead.phone, lead.extension, csv_file.shown
                    )
                    if problem is not None:
                        result = LeadRow(record.row, record.line, problem=problem)
                yield result

    def __iter__(self) -> Iterator[Lead]:
        """The valid leads, in file order."""
        for result in self.rows():
            if result.lead is not None:
                yield result.lead

    def first(self) -> Lead | None:
        """The first valid lead (reads only up to it), or None."""
        return next(iter(self), None)

    def find(self, phone: str) -> LeadRow | None:
        """The row of the lead with E.164 ``phone``: the first valid row with that number,
        else the first bad row with it (its problem says why it is not a lead), else None.

        Only rows whose phone cell contains the number's last digits are parsed, so a
        lookup costs about a plain CSV read of the file.
        """
        try:
            key = match_key(phone)
        except InvalidPhone:
            return None
        vanity = self.policy.allow_vanity
        rejected: LeadRow | None = None
        with _CsvFile(self.path) as csv_file:
            index = csv_file.phone_index
            for record in csv_file.records():
                cells = record.cells
                if index >= len(cells) or not may_match(cells[index], key, allow_vanity=vanity):
                    continue
                result = csv_file.check(record, self.policy)
                if result.lead is not None and result.lead.phone == phone:
                    return result
                if (
                    result.lead is None
                    and rejected is None
                    and _phone_of(cells[index], self.policy) == phone
                ):
                    rejected = result
        return rejected

    def get(self, phone: str) -> Lead | None:
        """The lead with E.164 ``phone``, or None (see :meth:`find`)."""
        result = self.find(phone)
        return result.lead if result is not None else None

    def summarize(
        self, *, max_leads: int = 0, max_problems: int = 50, workers: int | None = None
    ) -> LeadSummary:
        """Check the whole file once, keeping the first ``max_leads`` leads and
        ``max_problems`` problems (negative: keep all) and counting every row.

        Large files are checked by ``workers`` processes (None: one per CPU, up to 8,
        for files over :data:`~voicekit_core.lead_check.PARALLEL_MIN_BYTES`; 1: in this
        process); the summary is the same either way. See :mod:`voicekit_core.lead_check`.
        """
        from .lead_check import summarize

        return summarize(self, max_leads=max_leads, max_problems=max_problems, workers=workers)

    # -- whole file in memory (small files, tests) -------------------------------
    def _load(self) -> tuple[list[Lead], list[Problem]]:
        if self._all is None:
            summary = self.summarize(max_leads=-1, max_problems=-1)
            self._all = (summary.leads, summary.problems)
        return self._all

    @property
    def leads(self) -> list[Lead]:
        """Every valid lead (reads the whole file into memory once; prefer iterating)."""
        return self._load()[0]

    @property
    def problems(self) -> list[Problem]:
        """Every bad row's problem (reads the whole file once; prefer :meth:`summarize`)."""
        return self._load()[1]

    def raise_for_problems(self) -> None:
        """Raise :class:`LeadFileError` listing every bad row, if there is one."""
        if self.problems:
            raise LeadFileError(self.problems)


def read_leads_csv(
    path: Path, *, default_region: str = "US", policy: PhonePolicy | None = None
) -> LeadBook:
    """Read a dialer-format CSV into memory (small files; a :class:`LeadBook` streams).

    Bad rows are kept out of the book and listed in ``LeadBook.problems`` with their row
    number and reason. Raises :class:`LeadFileError` if the file cannot be read as a whole
    (see the module docstring).
    """
    book = LeadBook(path, policy=policy or PhonePolicy(default_region=default_region))
    book._load()
    return book


def duplicate(
    seen: dict[tuple[str, str], int], row: int, line: int, phone: str, extension: str, file: str
) -> Problem | None:
    """None if ``phone`` (with ``extension``) is new in ``seen`` (number -> first row;
    recorded), else the problem "same phone as row N" for ``row``."""
    first = seen.setdefault((phone, extension), row)
    if first == row:
        return None
    return Problem(file, _row_key(row, line), phone, f"same phone as row {first}")


def _row_key(row: int, line: int) -> str:
    return f"row {row}" if row == line else f"row {row} (line {line})"


def _phone_of(raw: str, policy: PhonePolicy) -> str | None:
    try:
        return policy.parse(raw).e164
    except InvalidPhone:
        return None


# -- the file ---------------------------------------------------------------------------


class _Record(NamedTuple):
    row: int
    line: int
    end_line: int
    cells: list[str]
    has_nul: bool

    @property
    def where(self) -> str:
        if self.end_line > self.line:
            return f"row {self.row} (lines {self.line}-{self.end_line})"
        return f"row {self.row}" if self.line == self.row else f"row {self.row} (line {self.line})"

    def problem(self, file: str, reason: str, value: str = "") -> LeadRow:
        return LeadRow(self.row, self.line, problem=Problem(file, self.where, value, reason))


class _CsvFile:
    """An open leads CSV: the checked header, then :meth:`records` one at a time."""

    def __init__(self, path: Path):
        self.path = path
        self.shown = str(path)
        self.columns: list[str] = []
        self.phone_index = -1
        self._handle: IO[str] | None = None
        self._lines_read = 0
        self._rows_read = 0
        self._nul = False

    def __enter__(self) -> _CsvFile:
        try:
            # surrogateescape: a byte that is not UTF-8 is found (and placed) by _lines
            self._handle = self.path.open(
                newline="", encoding="utf-8-sig", errors="surrogateescape"
            )
        except OSError as exc:
            raise self._error("", f"cannot read: {exc.strerror}") from None
        try:
            self._reader = csv.reader(self._lines(), strict=True)
            self._read_header()
        except BaseException:
            self._handle.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def _error(self, where: str, reason: str, value: str = "") -> LeadFileError:
        return LeadFileError([Problem(self.shown, where, value, reason)])

    def _where(self, line: int, end_line: int | None = None) -> str:
        row = self._rows_read + 1
        if end_line is not None and end_line > line:
            return f"row {row} (lines {line}-{end_line})"
        return f"row {row}" if row == line else f"row {row} (line {line})"

    def _lines(self) -> Iterator[str]:
        assert self._handle is not None
        readline = self._handle.readline
        while True:
            try:
                line = readline(MAX_LINE_CHARS + 1)
            except OSError as exc:
                raise self._error("", f"cannot read: {exc.strerror}") from None
            if not line:
                return
            self._lines_read += 1
            if len(line) > MAX_LINE_CHARS:
                raise self._error(
                    self._where(self._lines_read),
                    f"a line is longer than {MAX_LINE_CHARS:,} characters (not a CSV file?)",
                )
            suspect = _SUSPECT.search(line)
            if suspect is not None:
                self._suspect(line, suspect.group())
            yield line

    def _suspect(self, line: str, char: str) -> None:
        where = self._where(self._lines_read)
        if self._lines_read == 1 and line.startswith(_UTF16_BOMS):
            raise self._error(where, "UTF-16 text, not UTF-8 (save it as 'CSV UTF-8')")
        if char != "\x00":
            byte = ord(char) - 0xDC00
            raise self._error(where, f"not UTF-8 text (byte 0x{byte:02X}); save it as 'CSV UTF-8'")
        if self._lines_read == 1:
            raise self._error(
                where, "NUL bytes in the header: UTF-16 text? (save it as 'CSV UTF-8')"
            )
        self._nul = True

    def _next(self) -> tuple[list[str], int, int] | None:
        """The next record with the lines it spans, or None at the end."""
        start = self._lines_read + 1
        try:
            cells = next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise self._error(self._where(start, self._lines_read), _csv_reason(str(exc))) from None
        return cells, start, self._lines_read

    def _read_header(self) -> None:
        first = self._next()
        header = first[0] if first else []
        self._rows_read = 1
        self.columns = [name.strip() for name in header]
        shown_header = _one_line(",".join(self.columns))
        if "phone" not in self.columns:
            raise self._error("header", "no 'phone' column", shown_header)
        positions: dict[str, int] = {}
        for index, name in enumerate(self.columns, start=1):
            if name and positions.setdefault(name, index) != index:
                raise self._error(
                    "header",
                    f"column {name!r} appears twice (columns {positions[name]} and {index}); "
                    "rename or remove one",
                    shown_header,
                )
        self.phone_index = self.columns.index("phone")

    def records(self) -> Iterator[_Record]:
        """The non-blank data rows (blank ones are counted, not yielded)."""
        while True:
            self._nul = False
            found = self._next()
            if found is None:
                return
            cells, start, end = found
            self._rows_read += 1
            if not any(cell.strip() for cell in cells):
                continue
            yield _Record(self._rows_read, start, end, cells, self._nul)

    def check(self, record: _Record, policy: PhonePolicy) -> LeadRow:
        """The record as a lead, or the problem with it."""
        return check_record(record, self.columns, self.shown, policy)


def check_record(record: _Record, columns: list[str], file: str, policy: PhonePolicy) -> LeadRow:
    """One record of ``file`` (header ``columns``) as a lead, or the problem with it.
    Duplicates are not seen here (see :func:`duplicate`)."""
    cells = record.cells
    if record.has_nul:
        bad = next(
            (columns[i] if i < len(columns) else f"#{i + 1}")
            for i, cell in enumerate(cells)
            if "\x00" in cell
        )
        return record.problem(
            file, f"column {_one_line(bad, 40)!r} has a NUL byte (a corrupt or binary file?)"
        )
    if len(cells) > len(columns) and any(cell.strip() for cell in cells[len(columns) :]):
        return record.problem(
            file,
            f"{len(cells)} cells but the header has {len(columns)} columns "
            "(an unquoted comma, or a quote left open?)",
        )
    values = {name: cell for name, cell in zip(columns, cells, strict=False) if name}
    try:
        lead = lead_from_row(values, policy=policy)
    except ValueError as exc:
        return record.problem(file, str(exc))
    return LeadRow(record.row, record.line, lead=lead)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _one_line(text: str, limit: int = 120) -> str:
    """``text`` for a message: control characters escaped, cut to ``limit`` characters."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


def _csv_reason(message: str) -> str:
    """A csv.Error message as the reason a person can act on."""
    if message.startswith("field larger than field limit"):
        return (
            f"a field is longer than {FIELD_LIMIT:,} characters "
            '(a quote " left open swallows the rows after it)'
        )
    if message == "unexpected end of data":
        return 'a quote " opened in this row is never closed'
    if "expected after" in message:
        return (
            'a quote " inside a quoted field must be doubled (""), '
            "or a quote opened in this row is never closed"
        )
    return f"malformed CSV ({message})"
