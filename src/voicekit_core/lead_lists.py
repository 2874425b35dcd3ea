"""Lead lists: uploaded lead CSVs kept in the store (table ``lead_lists``).

A lead list is one dialer-format CSV (see :mod:`voicekit_core.lead_csv`) saved whole, with
its ``name`` (unique), the ``filename`` it was uploaded as, its size and its number of
non-blank data rows. The bytes are kept unchanged: a download gives back the file as
uploaded. One list may be *selected*: the default list of a new campaign.

:func:`save_lead_list` checks the file before storing it (size, UTF-8, header, rows) and
stores nothing when it fails. Bad rows do not stop a save: :func:`preview_lead_list` shows
them, and the campaign import reports them (a campaign is created from a list with
:func:`materialize` and :func:`voicekit_core.campaigns.importer.import_csv`)::

    with materialize(store, lead_list.id) as path:
        import_csv(store, config, name="november", path=path)

Reading a list streams it from a private temporary file, one row in memory at a time.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, delete, insert, select, update

from .calls import utcnow
from .errors import InputError, LeadFileError, Problem, VoicekitError
from .lead_csv import LeadRow, _CsvFile, check_record, duplicate
from .phones import PhonePolicy
from .store.tables import lead_lists

if TYPE_CHECKING:
    from .config import DeploymentConfig
    from .store import Store

#: Longest list name, in characters.
MAX_NAME_CHARS = 200
#: Longest file name kept, in characters.
MAX_FILENAME_CHARS = 255
#: Longest cell shown in a preview, in characters (the rest is cut with "…").
MAX_CELL_CHARS = 300
#: Valid phones looked up on the DNC lists per query during a preview.
DNC_BATCH = 500

ProblemKind = Literal["invalid", "duplicate", "do_not_call", "timezone_unknown"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._ ()+-]")


class LeadListError(VoicekitError):
    """An unknown lead list, a name that is taken, or a name that is not allowed."""


class LeadListNotFound(LeadListError):
    """No lead list has this id."""


@dataclass(frozen=True)
class LeadList:
    """One stored list: ``id``, ``name``, the ``filename`` it was uploaded as,
    ``size_bytes``, ``rows`` (non-blank data rows), ``uploaded_at`` (UTC) and whether it
    is the ``selected`` list."""

    id: str
    name: str
    filename: str
    size_bytes: int
    rows: int
    uploaded_at: datetime
    selected: bool


@dataclass(frozen=True)
class RowProblem:
    """Why a row will not be dialed: ``kind`` as the campaign import reports it
    (``invalid``: bad phone, email or timezone...; ``duplicate``; ``do_not_call``;
    ``timezone_unknown``) and the ``reason`` as text (user data inside: escape it)."""

    kind: ProblemKind
    reason: str


@dataclass(frozen=True)
class PreviewRow:
    """One previewed row: its spreadsheet ``row`` number, its ``cells`` (one per header
    column, cut to :data:`MAX_CELL_CHARS`), the lead's E.164 ``phone`` (``""`` when the
    row is not a lead) and its ``problems`` (empty: the row would be dialed)."""

    row: int
    cells: tuple[str, ...]
    phone: str
    problems: tuple[RowProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class PreviewTotals:
    """The whole file: ``rows`` non-blank data rows = ``valid`` + ``invalid`` +
    ``duplicates``; ``do_not_call`` of the valid ones are on a DNC list."""

    rows: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    do_not_call: int = 0


@dataclass
class LeadPreview:
    """The first rows of a list with their problems, and the whole file's totals. DNC
    hits count the global list plus, when ``campaign_id`` is set, that campaign's."""

    lead_list: LeadList
    columns: list[str]
    rows: list[PreviewRow] = field(default_factory=list)
    totals: PreviewTotals = field(default_factory=PreviewTotals)
    campaign_id: str | None = None


# -- storing ------------------------------------------------------------------------------


def save_lead_list(
    store: Store,
    config: DeploymentConfig,
    *,
    name: str,
    filename: str,
    data: bytes,
    max_bytes: int,
    max_rows: int,
) -> LeadList:
    """Check the CSV ``data`` uploaded as ``filename`` and store it as list ``name``.

    The first list saved is selected. Raises :class:`~voicekit_core.errors.LeadFileError`
    naming ``filename`` and the reason when the file is over ``max_bytes`` bytes, has more
    than ``max_rows`` non-blank data rows or none, is not UTF-8 text, has no ``phone``
    column (or a ``;``-separated header, a column twice), or cannot be read as CSV (a
    quote never closed...); :class:`LeadListError` when ``name`` is empty, too long or
    taken. Nothing is stored then. Rows that are not valid leads do not fail the save
    (they depend on ``config``'s phone policy, applied when the list is read).
    """
    name = _check_name(name)
    shown = clean_filename(filename)
    if len(data) > max_bytes:
        raise _file_error(shown, f"is {len(data):,} bytes; the upload limit is {max_bytes:,} bytes")
    row_count = _count_rows(data, shown, max_rows)
    with store.write() as db:
        _refuse_taken(db, name)
        first = db.execute(select(lead_lists.c.id).limit(1)).first() is None
        list_id = secrets.token_hex(6)
        db.execute(
            insert(lead_lists).values(
                id=list_id,
                name=name,
                filename=shown,
                size_bytes=len(data),
                row_count=row_count,
                data=data,
                uploaded_at=utcnow(),
                selected=first,
            )
        )
        return _get(db, list_id)


def list_lead_lists(store: Store) -> list[LeadList]:
    """Every stored list, newest first (without their bytes)."""
    with store.read() as db:
        rows = db.execute(
            select(*_COLUMNS).order_by(lead_lists.c.uploaded_at.desc(), lead_lists.c.name)
        ).all()
    return [_lead_list(row) for row in rows]


def get_lead_list(store: Store, list_id: str) -> LeadList:
    """The list with ``list_id``. Raises :class:`LeadListNotFound` (a
    :class:`LeadListError`) when there is none."""
    with store.read() as db:
        return _get(db, list_id)


def selected_lead_list(store: Store) -> LeadList | None:
    """The selected list (the default of a new campaign), or None."""
    with store.read() as db:
        row = db.execute(select(*_COLUMNS).where(lead_lists.c.selected.is_(True))).first()
    return _lead_list(row) if row is not None else None


def lead_list_bytes(store: Store, list_id: str) -> bytes:
    """The file exactly as uploaded. Raises :class:`LeadListNotFound`."""
    with store.read() as db:
        data = db.execute(select(lead_lists.c.data).where(lead_lists.c.id == list_id)).scalar()
    if data is None:
        raise _not_found(list_id)
    return bytes(data)


def delete_lead_list(store: Store, list_id: str) -> None:
    """Delete the list (campaigns created from it keep their leads). Raises
    :class:`LeadListNotFound`."""
    with store.write() as db:
        result = db.execute(delete(lead_lists).where(lead_lists.c.id == list_id))
        if not result.rowcount:
            raise _not_found(list_id)


def select_lead_list(store: Store, list_id: str) -> LeadList:
    """Make this list the selected one (and no other). Raises :class:`LeadListNotFound`."""
    with store.write() as db:
        _get(db, list_id)
        db.execute(update(lead_lists).where(lead_lists.c.id != list_id).values(selected=False))
        db.execute(update(lead_lists).where(lead_lists.c.id == list_id).values(selected=True))
        return _get(db, list_id)


@contextmanager
def materialize(store: Store, list_id: str) -> Iterator[Path]:
    """The list's bytes in a private temporary file (0600, in a 0700 folder, named as
    uploaded so messages about it read well), removed on exit. Raises
    :class:`LeadListNotFound`."""
    with store.read() as db:
        lead_list = _get(db, list_id)
        data = db.execute(select(lead_lists.c.data).where(lead_lists.c.id == list_id)).scalar()
    with _private_file(bytes(data or b""), lead_list.filename) as path:
        yield path


# -- preview ------------------------------------------------------------------------------


def preview_lead_list(
    store: Store,
    config: DeploymentConfig,
    list_id: str,
    *,
    rows: int = 20,
    campaign_id: str | None = None,
) -> LeadPreview:
    """The first ``rows`` rows of the list with their problems, and whole-file totals.

    Rows are read with the deployment's ``[leads]`` phone policy, exactly as the campaign
    import reads them: a bad phone, email or timezone, a duplicate phone (the first row
    wins), a number on the global DNC list or on ``campaign_id``'s (a campaign id or
    name), a lead whose timezone cannot be known. The file is streamed (large files are
    checked by worker processes, see :mod:`voicekit_core.lead_check`); DNC lists are
    queried in batches of :data:`DNC_BATCH` numbers.

    Raises :class:`LeadListNotFound`, :class:`~voicekit_core.campaigns.repo.CampaignError`
    (unknown campaign) or :class:`~voicekit_core.errors.LeadFileError` (the stored file
    cannot be read; a saved list always can).
    """
    from .campaigns.dnc import dnc_reason, find_dnc
    from .campaigns.importer import _zone_of
    from .campaigns.repo import get_campaign
    from .lead_check import _compact, _in_workers, default_workers
    from .lead_csv import LeadBook

    policy = PhonePolicy.from_config(config)
    with store.read() as db:
        lead_list = _get(db, list_id)
        if campaign_id:
            campaign_id = get_campaign(db, campaign_id).id
    totals = PreviewTotals()
    with materialize(store, list_id) as path, _renamed_errors(lead_list.filename):
        seen: dict[tuple[str, str], int] = {}
        with _CsvFile(path) as csv_file, store.read() as db:
            columns = list(csv_file.columns)
            records = csv_file.records()
            shown: list[tuple[LeadRow, list[str]]] = []
            for record in records:
                result = check_record(record, columns, csv_file.shown, policy)
                result = _deduped(result, seen, csv_file.shown)
                _count(totals, result.problem)
                shown.append((result, record.cells))
                if len(shown) >= rows:
                    break
            blocked = find_dnc(
                db, [r.lead.phone for r, _ in shown if r.lead is not None], campaign_id
            )
            totals.do_not_call += len(blocked)
            preview_rows = []
            for result, cells in shown:
                problems: list[RowProblem] = []
                if result.problem is not None:
                    problems.append(RowProblem(_kind(result.problem), result.problem.reason))
                elif result.lead is not None:
                    entry = blocked.get(result.lead.phone)
                    if entry is not None:
                        problems.append(RowProblem("do_not_call", dnc_reason(entry)))
                    _zone, zone_problem = _zone_of(result.lead)
                    if zone_problem:
                        problems.append(RowProblem("timezone_unknown", zone_problem))
                preview_rows.append(
                    PreviewRow(
                        result.row,
                        _cells(cells, len(columns)),
                        result.lead.phone if result.lead is not None else "",
                        tuple(problems),
                    )
                )
            # the rest of the file: counted, not kept
            workers = default_workers(LeadBook(path, policy=policy))
            checked = (
                (_compact(check_record(r, columns, csv_file.shown, policy)) for r in records)
                if workers == 1
                else _in_workers(records, csv_file, policy, workers)
            )
            phones: list[str] = []
            for row, line, phone, extension, problem in checked:
                if phone is not None:
                    problem = duplicate(seen, row, line, phone, extension, csv_file.shown)
                _count(totals, problem)
                if problem is None and phone is not None:
                    phones.append(phone)
                    if len(phones) >= DNC_BATCH:
                        totals.do_not_call += len(find_dnc(db, phones, campaign_id))
                        phones = []
            if phones:
                totals.do_not_call += len(find_dnc(db, phones, campaign_id))
    return LeadPreview(lead_list, columns, preview_rows, totals, campaign_id)


def _deduped(result: LeadRow, seen: dict[tuple[str, str], int], file: str) -> LeadRow:
    lead = result.lead
    if lead is None:
        return result
    problem = duplicate(seen, result.row, result.line, lead.phone, lead.extension, file)
    return result if problem is None else LeadRow(result.row, result.line, problem=problem)


def _kind(problem: Problem) -> ProblemKind:
    # lead_csv.duplicate words it so; the campaign import tells duplicates apart the same way
    return "duplicate" if problem.reason.startswith("same phone as row") else "invalid"


def _count(totals: PreviewTotals, problem: Problem | None) -> None:
    totals.rows += 1
    if problem is None:
        totals.valid += 1
    elif _kind(problem) == "duplicate":
        totals.duplicates += 1
    else:
        totals.invalid += 1


def _cells(cells: list[str], width: int) -> tuple[str, ...]:
    padded = [*cells[:width], *([""] * (width - len(cells)))]
    return tuple(
        cell if len(cell) <= MAX_CELL_CHARS else cell[: MAX_CELL_CHARS - 1] + "…" for cell in padded
    )


# -- helpers ------------------------------------------------------------------------------

_COLUMNS = (
    lead_lists.c.id,
    lead_lists.c.name,
    lead_lists.c.filename,
    lead_lists.c.size_bytes,
    lead_lists.c.row_count,
    lead_lists.c.uploaded_at,
    lead_lists.c.selected,
)


def _lead_list(row) -> LeadList:
    return LeadList(
        id=row.id,
        name=row.name,
        filename=row.filename,
        size_bytes=row.size_bytes,
        rows=row.row_count,
        uploaded_at=row.uploaded_at,
        selected=bool(row.selected),
    )


def _get(db: Connection, list_id: str) -> LeadList:
    row = db.execute(select(*_COLUMNS).where(lead_lists.c.id == list_id)).first()
    if row is None:
        raise _not_found(list_id)
    return _lead_list(row)


def _not_found(list_id: str) -> LeadListNotFound:
    return LeadListNotFound(f"no lead list with id {_clip(str(list_id), 80)!r}")


def _check_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise LeadListError("name: a lead list needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise LeadListError(f"name: longer than {MAX_NAME_CHARS} characters")
    return name


def _refuse_taken(db: Connection, name: str) -> None:
    taken = db.execute(select(lead_lists.c.id).where(lead_lists.c.name == name)).first()
    if taken is not None:
        raise LeadListError(f"name: a lead list named {name!r} already exists (id {taken.id})")


def clean_filename(filename: str) -> str:
    """The name an uploaded file is kept and shown under: its last path part (browsers
    may send ``C:\\fakepath\\leads.csv``), control characters removed, cut to
    :data:`MAX_FILENAME_CHARS`; ``"leads.csv"`` when nothing is left."""
    base = re.split(r"[\\/]", str(filename or ""))[-1]
    base = _CONTROL.sub("", base).strip().lstrip(".")
    return _clip(base, MAX_FILENAME_CHARS) or "leads.csv"


def download_filename(filename: str) -> str:
    """An ASCII file name safe in a ``Content-Disposition`` header (letters, digits,
    ``. _ - + ( )`` and spaces; anything else becomes ``_``), ending in ``.csv``."""
    safe = _UNSAFE_FILENAME.sub("_", clean_filename(filename)).strip(" .") or "leads"
    return safe if safe.lower().endswith(".csv") else f"{safe}.csv"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _file_error(shown: str, reason: str, where: str = "") -> LeadFileError:
    return LeadFileError([Problem(shown, where, "", reason)])


def _count_rows(data: bytes, shown: str, max_rows: int) -> int:
    """The number of non-blank data rows of ``data``; raises LeadFileError (naming
    ``shown``) when the file cannot be read as a leads CSV, has no rows or too many."""
    from .campaigns.importer import _check_header

    count = 0
    with _private_file(data, shown) as path, _renamed_errors(shown):
        _check_header(path)
        with _CsvFile(path) as csv_file:
            for _record in csv_file.records():
                count += 1
                if count > max_rows:
                    raise _file_error(
                        shown, f"has more than {max_rows:,} rows; the upload limit is {max_rows:,}"
                    )
    if not count:
        raise _file_error(shown, "has a header but no lead rows")
    return count


@contextmanager
def _renamed_errors(shown: str) -> Iterator[None]:
    """Errors about the temporary copy name the uploaded file instead."""
    try:
        yield
    except InputError as exc:
        problems = [replace(problem, file=shown) for problem in exc.problems]
        raise type(exc)(problems) from None


@contextmanager
def _private_file(data: bytes, filename: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="voicekit-leads-"))  # 0700
    try:
        path = folder / download_filename(filename)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


__all__ = [
    "LeadList",
    "LeadListError",
    "LeadListNotFound",
    "LeadPreview",
    "PreviewRow",
    "PreviewTotals",
    "RowProblem",
    "clean_filename",
    "delete_lead_list",
    "download_filename",
    "get_lead_list",
    "lead_list_bytes",
    "list_lead_lists",
    "materialize",
    "preview_lead_list",
    "save_lead_list",
    "select_lead_list",
    "selected_lead_list",
]
