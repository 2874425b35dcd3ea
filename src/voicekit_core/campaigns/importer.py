"""Lead import: a CSV file or a plugin's lead source -> a new ``draft`` campaign.

One transaction creates the campaign and stores its leads, so a fatal error (a file that
stops being readable halfway, a CRM that refuses the token on page 40, a bad row with
``strict``) leaves no campaign and no lead behind.

The file is streamed (:class:`voicekit_core.lead_csv.LeadBook`, one row in memory at a
time) and leads are written in batches of :data:`BATCH_ROWS` with one ``executemany``
each, so a 100,000-row file never sits in memory. Duplicates and DNC hits are found with
one indexed query per batch, not with an in-memory set of every number.

What happens to each row (the report names it by spreadsheet row: the header is row 1):

=====================  ==========================================================  =====================
row                    stored as                                                    reported as
=====================  ==========================================================  =====================
a valid lead           ``pending`` (the runner checks hours and makes it ``ready``)  -
not a lead             not stored (bad phone, email, timezone, a NUL byte...)        ``invalid``
same E.164 as before   not stored; the first row wins                               ``duplicate``
on a DNC list          ``skipped`` with the reason ``do_not_call: ...``             ``do_not_call``
timezone unknown       ``skipped`` with the reason ``timezone_unknown: ...``        ``timezone_unknown``
source's own opt-out   ``skipped`` with the reason ``do_not_call: ...``             ``do_not_call``
=====================  ==========================================================  =====================

DNC hits are kept (as ``skipped``) rather than dropped so the campaign's counts, its
export and the dashboard show every lead of the list and why it was not called.

A stored lead keeps ``lead_json`` (the :class:`~voicekit_core.leads.Lead`, dumped), its
``row_number``, ``phone`` (E.164), ``timezone`` (the lead's own, else the one zone its
number maps to; NULL when several zones are candidates) and ``script`` (an optional
``script`` column naming the caller script of offline campaigns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import Connection, insert, select

from ..calls import utcnow
from ..errors import LeadFileError, Problem
from ..lead_csv import LeadBook, LeadRow
from ..leads import Lead
from ..phones import PhonePolicy
from ..store import Store
from ..store.tables import campaign_leads
from .dnc import dnc_reason, find_dnc
from .lead_sources import LeadSourceError, SourceItem, open_source
from .repo import Campaign, create_campaign, get_campaign, log_event
from .windows import lead_timezones

if TYPE_CHECKING:
    from ..config import DeploymentConfig
    from ..plugins import VoicekitPluginManager

#: Leads written per ``executemany``.
BATCH_ROWS = 1000
#: Longest caller-script name (the ``script`` column), in characters.
MAX_SCRIPT_CHARS = 200

IssueKind = Literal["invalid", "duplicate", "do_not_call", "timezone_unknown"]


class StrictImportError(LeadFileError):
    """``strict`` import refused: some rows are invalid or duplicates (each listed with its
    row); nothing was stored."""


@dataclass(frozen=True)
class RowIssue:
    """One row the import reports: ``row`` (spreadsheet row, or item number of a source),
    ``where`` as printed (``"row 7"``, ``"row 7 (line 9)"``, ``"item 3 (contact 1201)"``),
    ``kind``, the ``phone`` (E.164 when it was read, else the cell as given, shortened)
    and the ``reason``. ``stored`` says whether the lead was kept (as ``skipped``)."""

    row: int
    where: str
    kind: IssueKind
    phone: str
    reason: str
    stored: bool = False


@dataclass
class ImportResult:
    """What an import did. Counts are rows (non-blank data rows, or source items):
    ``rows`` read = ``pending`` + ``skipped`` + ``invalid`` + ``duplicates``; ``issues``
    keeps the first ``max_issues`` reported rows, ``issue_count`` counts them all."""

    campaign: Campaign
    source: str
    rows: int = 0
    pending: int = 0
    skipped: int = 0
    invalid: int = 0
    duplicates: int = 0
    do_not_call: int = 0
    timezone_unknown: int = 0
    issues: list[RowIssue] = field(default_factory=list)
    issue_count: int = 0

    @property
    def stored(self) -> int:
        """Leads stored in the campaign (pending and skipped)."""
        return self.pending + self.skipped


@dataclass(frozen=True)
class _Item:
    row: int
    where: str
    lead: Lead | None
    problem: str = ""
    phone: str = ""
    opt_out: str = ""


def import_csv(
    store: Store,
    config: DeploymentConfig,
    *,
    name: str,
    path: Path,
    strict: bool = False,
    max_issues: int = 50,
    on_issue: Callable[[RowIssue], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create campaign ``name`` from the dialer-format CSV at ``path`` (see
    :mod:`voicekit_core.lead_csv`; extra columns are kept in ``Lead.extra``), reading
    numbers with the deployment's ``[leads]`` phone policy.

    ``on_issue`` gets every reported row as it is found (a full report file);
    ``progress(rows_read)`` is called after each batch. With ``strict``, an ``invalid`` or
    ``duplicate`` row fails the import.

    Raises :class:`~voicekit_core.errors.LeadFileError` (the file cannot be read: missing,
    not UTF-8, ``;``-separated, no ``phone`` column, a quote never closed...; or bad rows
    with ``strict``), :class:`~voicekit_core.campaigns.repo.CampaignError` (the name is
    taken) or :class:`~voicekit_core.store.StoreError`. Nothing is stored then.
    """
    path = Path(path)
    _check_header(path)
    book = LeadBook(path, policy=PhonePolicy.from_config(config))
    return _import(
        store,
        config,
        name=name,
        label=str(path),
        items=_csv_items(book),
        strict=strict,
        max_issues=max_issues,
        on_issue=on_issue,
        progress=progress,
        shown=str(path),
        unit="row",
    )


def import_from_source(
    store: Store,
    config: DeploymentConfig,
    pm: VoicekitPluginManager,
    *,
    name: str,
    spec: str,
    strict: bool = False,
    max_issues: int = 50,
    on_issue: Callable[[RowIssue], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Create campaign ``name`` from the lead source ``spec`` (``NAME[:REF]``, see
    :mod:`voicekit_core.campaigns.lead_sources`), with the same dedupe, DNC scrub, row
    report and single transaction as :func:`import_csv`. Items are numbered from 1.

    Raises :class:`~voicekit_core.campaigns.lead_sources.LeadSourceError` (unknown source,
    or the source failed: nothing is stored), :class:`LeadFileError` (bad items with
    ``strict``), :class:`~voicekit_core.campaigns.repo.CampaignError` or
    :class:`~voicekit_core.store.StoreError`.
    """
    label, source_items = open_source(pm, config, spec)
    return _import(
        store,
        config,
        name=name,
        label=label,
        items=_source_items(source_items),
        strict=strict,
        max_issues=max_issues,
        on_issue=on_issue,
        progress=progress,
        shown=label,
        unit="item",
    )


# -- inputs -----------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    """Explain a ``;``-separated file before the CSV reader calls it "no phone column"."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(64 * 1024)
    except OSError:
        return  # LeadBook reports it, naming the file
    header = first.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").strip()
    names = [cell.strip().strip('"').lower() for cell in header.split(",")]
    if "phone" in names:
        return
    if "phone" in [cell.strip().strip('"').lower() for cell in header.split(";")]:
        raise LeadFileError(
            [
                Problem(
                    str(path),
                    "header",
                    _clip(header, 80),
                    "columns are separated by ';' (a spreadsheet saved with a European "
                    "locale?): save it as comma-separated 'CSV UTF-8'",
                )
            ]
        )
    if "\t" in header and "phone" in [c.strip().lower() for c in header.split("\t")]:
        raise LeadFileError(
            [
                Problem(
                    str(path),
                    "header",
                    _clip(header, 80),
                    "columns are separated by tabs: save it as comma-separated 'CSV UTF-8'",
                )
            ]
        )


def _csv_items(book: LeadBook) -> Iterator[_Item]:
    for result in book.rows():
        yield _csv_item(result)


def _csv_item(result: LeadRow) -> _Item:
    if result.lead is not None:
        where = (
            f"row {result.row}"
            if result.line == result.row
            else (f"row {result.row} (line {result.line})")
        )
        return _Item(result.row, where, result.lead)
    problem = result.problem
    assert problem is not None
    return _Item(result.row, problem.key, None, problem.reason, problem.value)


def _source_items(items: Iterable[Lead | SourceItem]) -> Iterator[_Item]:
    for number, item in enumerate(items, start=1):
        if isinstance(item, Lead):
            yield _Item(number, f"item {number}", item)
            continue
        where = f"item {number} ({_clip(item.ref, 60)})" if item.ref else f"item {number}"
        if item.lead is None:
            yield _Item(number, where, None, item.problem, _clip(item.phone, 40))
        else:
            yield _Item(number, where, item.lead, opt_out=item.opt_out)


# -- the import -------------------------------------------------------------------------


def _import(
    store: Store,
    config: DeploymentConfig,
    *,
    name: str,
    label: str,
    items: Iterator[_Item],
    strict: bool,
    max_issues: int,
    on_issue: Callable[[RowIssue], None] | None,
    progress: Callable[[int], None] | None,
    shown: str,
    unit: str,
) -> ImportResult:
    settings = config.dialer.model_dump(mode="json")
    with store.write() as db:
        campaign = create_campaign(
            db, name=name, agent_name=config.agent.name, source=label, settings=settings
        )
        state = _Batcher(db, campaign, label, unit, max_issues, on_issue)
        for item in items:
            state.add(item)
            if len(state.batch) >= BATCH_ROWS:
                state.flush()
                if progress is not None:
                    progress(state.result.rows)
        state.flush()
        if progress is not None:
            progress(state.result.rows)
        result = state.result
        if strict and (result.invalid or result.duplicates):
            raise StrictImportError(_strict_problems(result, shown))
        log_event(
            db,
            campaign.id,
            "imported",
            f"{result.rows} rows: {result.pending} pending, {result.skipped} skipped "
            f"({result.do_not_call} do-not-call, {result.timezone_unknown} timezone unknown), "
            f"{result.invalid} invalid, {result.duplicates} duplicates",
        )
        result.campaign = get_campaign(db, campaign.id)
    return result


def _strict_problems(result: ImportResult, shown: str) -> list[Problem]:
    bad = [i for i in result.issues if i.kind in ("invalid", "duplicate")]
    problems = [Problem(shown, i.where, i.phone, i.reason) for i in bad]
    more = result.invalid + result.duplicates - len(bad)
    if more > 0:
        problems.append(Problem(shown, "", "", f"... and {more:,} more bad rows"))
    problems.append(
        Problem(shown, "", "", "--strict: nothing was imported (the campaign was not created)")
    )
    return problems


class _Batcher:
    """Collects up to BATCH_ROWS leads, then dedupes, scrubs and writes them at once."""

    def __init__(
        self,
        db: Connection,
        campaign: Campaign,
        label: str,
        unit: str,
        max_issues: int,
        on_issue: Callable[[RowIssue], None] | None,
    ):
        self.db = db
        self.campaign = campaign
        self.result = ImportResult(campaign, label)
        self.batch: list[_Item] = []
        self._unit = unit
        self._max_issues = max_issues
        self._on_issue = on_issue

    def report(self, issue: RowIssue) -> None:
        self.result.issue_count += 1
        if len(self.result.issues) < self._max_issues:
            self.result.issues.append(issue)
        if self._on_issue is not None:
            self._on_issue(issue)

    def add(self, item: _Item) -> None:
        self.result.rows += 1
        lead = item.lead
        if lead is None:
            self.result.invalid += 1
            kind: IssueKind = "invalid"
            if item.problem.startswith("same phone as row"):
                self.result.invalid -= 1
                self.result.duplicates += 1
                kind = "duplicate"
            self.report(RowIssue(item.row, item.where, kind, item.phone, item.problem))
            return
        script = lead.extra.get("script", "").strip()
        if len(script) > MAX_SCRIPT_CHARS:
            self.result.invalid += 1
            self.report(
                RowIssue(
                    item.row,
                    item.where,
                    "invalid",
                    lead.phone,
                    f"script: longer than {MAX_SCRIPT_CHARS} characters",
                )
            )
            return
        self.batch.append(item)

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        phones = [item.lead.phone for item in batch if item.lead is not None]
        earlier = self._stored_rows(phones)
        blocked = find_dnc(self.db, phones, self.campaign.id)
        now = utcnow()
        rows: list[dict[str, object]] = []
        for item in batch:
            lead = item.lead
            assert lead is not None
            first = earlier.get(lead.phone)
            if first is not None:
                self.result.duplicates += 1
                self.report(
                    RowIssue(
                        item.row,
                        item.where,
                        "duplicate",
                        lead.phone,
                        f"same phone as {self._unit} {first}",
                    )
                )
                continue
            earlier[lead.phone] = item.row
            state, reason, kind = "pending", "", None
            zone = lead.timezone
            entry = blocked.get(lead.phone)
            if entry is not None:
                state, reason, kind = "skipped", dnc_reason(entry), "do_not_call"
            elif item.opt_out:
                state, kind = "skipped", "do_not_call"
                reason = f"do_not_call: {_clip(item.opt_out, 200)}"
            else:
                zone, problem = _zone_of(lead)
                if problem:
                    state, reason, kind = "skipped", problem, "timezone_unknown"
            if kind is not None:
                self.result.skipped += 1
                if kind == "do_not_call":
                    self.result.do_not_call += 1
                else:
                    self.result.timezone_unknown += 1
                self.report(RowIssue(item.row, item.where, kind, lead.phone, reason, stored=True))
            else:
                self.result.pending += 1
            rows.append(
                {
                    "campaign_id": self.campaign.id,
                    "row_number": item.row,
                    "phone": lead.phone,
                    "timezone": zone,
                    "lead_json": lead.model_dump_json(),
                    "state": state,
                    "state_reason": reason,
                    "attempts": 0,
                    "capacity_requeues": 0,
                    "script": lead.extra.get("script", "").strip() or None,
                    "updated_at": now,
                }
            )
        if rows:
            self.db.execute(insert(campaign_leads), rows)

    def _stored_rows(self, phones: list[str]) -> dict[str, int]:
        """``{phone: row_number}`` of the ``phones`` already stored in this campaign."""
        found: dict[str, int] = {}
        unique = list(dict.fromkeys(phones))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            query = select(campaign_leads.c.phone, campaign_leads.c.row_number).where(
                campaign_leads.c.campaign_id == self.campaign.id,
                campaign_leads.c.phone.in_(chunk),
            )
            for phone, row in self.db.execute(query):
                found[phone] = row
        return found


def _zone_of(lead: Lead) -> tuple[str | None, str]:
    """``(timezone to store, problem)``: the lead's own zone, else the single zone of its
    number (None when several are candidates); the problem when none is known."""
    try:
        zones = lead_timezones(lead.timezone, lead.phone)
    except ValueError as exc:
        return None, f"timezone_unknown: {exc}; not dialed (fail closed)"
    if not zones:
        return None, (
            "timezone_unknown: no timezone is known for this number; add a 'timezone' "
            "column (IANA name, e.g. America/Chicago); not dialed (fail closed)"
        )
    if lead.timezone:
        return lead.timezone, ""
    return (zones[0].key if len(zones) == 1 else None), ""


def _clip(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def issue_csv_row(issue: RowIssue) -> dict[str, str]:
    """A row of the ``--report`` CSV: ``row, where, kind, phone, stored, reason``."""
    return {
        "row": str(issue.row),
        "where": issue.where,
        "kind": issue.kind,
        "phone": issue.phone,
        "stored": "skipped" if issue.stored else "no",
        "reason": issue.reason,
    }


ISSUE_COLUMNS = ("row", "where", "kind", "phone", "stored", "reason")

__all__ = [
    "BATCH_ROWS",
    "ISSUE_COLUMNS",
    "ImportResult",
    "LeadSourceError",
    "RowIssue",
    "StrictImportError",
    "import_csv",
    "import_from_source",
    "issue_csv_row",
]
