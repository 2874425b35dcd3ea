"""Whole-file checks of a leads CSV (``voicekit check``, ``voicekit leads``), spread over
worker processes for large files.

Checking a row costs about 50 µs of CPython, most of it ``phonenumbers``; 100,000 rows
take seconds in one process. For files over :data:`PARALLEL_MIN_BYTES` this process
reads the CSV (one row in memory at a time, in batches of :data:`BATCH_ROWS`) while
worker processes check the batches; results come back in file order, so duplicate
phones, counts and the kept problems are exactly those of the one-process pass. At most
``2 x workers`` batches are in flight: memory stays flat whatever the file size.
Workers start from a clean process (``forkserver``, or ``spawn``), never a fork of this
one, so the check is safe in a process that runs threads (a worker, a test run).

Leads themselves are kept only for the first ``max_leads`` rows (checked here); workers
return the phone of each valid row and the problem of each bad one.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from .errors import Problem
from .lead_csv import LeadRow, LeadSummary, _CsvFile, _Record, check_record, duplicate
from .phones import PhonePolicy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from .lead_csv import LeadBook

#: Files smaller than this (about 40,000 rows) are checked in one process.
PARALLEL_MIN_BYTES = 4 << 20
#: Rows per batch sent to a worker.
BATCH_ROWS = 2_000
#: Most worker processes used by default.
MAX_WORKERS = 8

# (row, line, phone, extension, problem): a valid row has a phone, a bad one a problem
_Checked = tuple[int, int, str | None, str, Problem | None]


def default_workers(book: LeadBook) -> int:
    """1 for small files, else one worker per usable CPU (at most :data:`MAX_WORKERS`)."""
    try:
        size = book.path.stat().st_size
    except OSError:
        return 1  # reading reports the error
    if size < PARALLEL_MIN_BYTES:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def summarize(
    book: LeadBook, *, max_leads: int = 0, max_problems: int = 50, workers: int | None = None
) -> LeadSummary:
    """The :class:`LeadSummary` of ``book`` (see :meth:`LeadBook.summarize`).

    Raises :class:`~voicekit_core.errors.LeadFileError` when the file cannot be read.
    """
    workers = default_workers(book) if workers is None else max(1, workers)
    summary = LeadSummary(book.path)
    seen: dict[tuple[str, str], int] = {}
    with _CsvFile(book.path) as csv_file:
        records = csv_file.records()
        # the first max_leads leads are wanted whole: check those rows here
        for record in records:
            result = check_record(record, csv_file.columns, csv_file.shown, book.policy)
            lead = result.lead
            if lead is not None:
                problem = duplicate(
                    seen, record.row, record.line, lead.phone, lead.extension, csv_file.shown
                )
                if problem is not None:
                    result = LeadRow(record.row, record.line, problem=problem)
            summary.add(result, max_leads=max_leads, max_problems=max_problems)
            if 0 <= max_leads <= summary.valid:
                break
        if workers == 1:
            checked: Iterator[_Checked] = (
                _compact(check_record(record, csv_file.columns, csv_file.shown, book.policy))
                for record in records
            )
        else:
            checked = _in_workers(records, csv_file, book.policy, workers)
        for row, line, phone, extension, problem in checked:
            if phone is not None:
                problem = duplicate(seen, row, line, phone, extension, csv_file.shown)
            if problem is None:
                summary.rows += 1
                summary.valid += 1
            else:
                summary.add(LeadRow(row, line, problem=problem), max_problems=max_problems)
    return summary


def _compact(result: LeadRow) -> _Checked:
    lead = result.lead
    if lead is not None:
        return result.row, result.line, lead.phone, lead.extension, None
    return result.row, result.line, None, "", result.problem


def _batches(records: Iterator[_Record]) -> Iterator[list[_Record]]:
    batch: list[_Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _in_workers(
    records: Iterator[_Record], csv_file: _CsvFile, policy: PhonePolicy, workers: int
) -> Iterator[_Checked]:
    """Checked rows in file order, batches checked by ``workers`` processes."""
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_context(),
        initializer=_start_worker,
        initargs=(csv_file.columns, csv_file.shown, policy),
    ) as pool:
        pending: deque[Future[list[_Checked]]] = deque()
        try:
            for batch in _batches(records):
                pending.append(pool.submit(_check_batch, batch))
                if len(pending) >= 2 * workers:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _context() -> multiprocessing.context.BaseContext:
    """Workers start from a clean process ("forkserver", else "spawn"), never by forking
    this one: a fork copies locks other threads may hold (a hang)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # imported once, in the server
    return context


_worker: tuple[list[str], str, PhonePolicy] | None = None


def _start_worker(columns: list[str], file: str, policy: PhonePolicy) -> None:
    global _worker
    _worker = (columns, file, policy)


def _check_batch(batch: list[_Record]) -> list[_Checked]:
    assert _worker is not None, "worker not initialised"
    columns, file, policy = _worker
    return [_compact(check_record(record, columns, file, policy)) for record in batch]
