"""The Reports page's figures per campaign and date range, computed in SQL.

Everything is counted over campaign ``attempts`` whose start lies in the date range (UTC),
with each attempt's journaled call (``attempts.call_id`` = ``calls.call_id``) for what
only the report knows. The definitions are those of
:mod:`voicekit_core.campaigns.summary`, so a campaign's figures over all dates equal
``voicekit campaign status``'s, except *qualified*, which also counts calls the report
says are BANT-qualified whatever their disposition:

* **dialed**: ended attempts that reached the carrier (not ``vetoed``; attempts still in
  flight are counted apart as ``open_attempts``);
* **connected**: dialed attempts a person answered, i.e. not busy, no answer, declined,
  invalid number, failed or voicemail
  (:data:`~voicekit_core.campaigns.summary.NOT_CONNECTED`);
* **qualified**: connected attempts whose report says the prospect is BANT-qualified
  (``qualification.status == "qualified"``) or that ended ``qualified`` /
  ``meeting_booked`` (a booked meeting counts as qualified, so the funnel narrows);
* **booked**: attempts that ended ``meeting_booked``;
* **pick-up rate** = connected / dialed, **voicemail rate** = voicemail / dialed,
  **qualified rate** = qualified / connected, **booking rate** = booked / dialed;
* **cost**: the sum of the reports' ``metrics.estimated_cost_usd`` (USD, from
  ``[models.prices]``); per call = cost / journaled calls, per dial = cost / dialed;
* **latency**: medians over every agent turn of the calls (``metrics.turns``, seconds):
  ``e2e_latency`` is the voice latency (caller stops speaking → agent audio starts);
  text-only simulated calls have only ``llm_ttft``.

Counts and cost are aggregate queries; only the per-turn latencies are read row by row
(just ``metrics.turns`` of each call, streamed), because medians need every value.
"""

from __future__ import annotations

import csv
import statistics
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import case, func, or_, select

from voicekit_core.calls import Disposition
from voicekit_core.campaigns.export import safe_cell
from voicekit_core.campaigns.summary import NOT_CONNECTED, QUALIFIED, CampaignSummary
from voicekit_core.store import Store
from voicekit_core.store.tables import attempts, calls, campaigns

from .filters import DateRange
from .jsonsql import json_node, json_number, json_text, loaded

LATENCY_KEYS = ("e2e_latency", "llm_ttft", "tts_ttfb", "end_of_turn_delay", "transcription_delay")
_VETOED = Disposition.VETOED.value
# the figures' counts, rates and costs, in the order of the JSON and the CSV
_COUNTS = ("attempts", "open_attempts", "dialed", "connected", "voicemail", "qualified", "booked")
_RATES = ("pickup_rate", "voicemail_rate", "qualified_rate", "booking_rate")
_COSTS = ("total_cost_usd", "cost_per_call_usd", "cost_per_dial_usd")


@dataclass
class Figures:
    """The figures of one campaign (or of all of them) over the date range. Rates 0..1,
    costs USD, latencies seconds (None when no call measured them)."""

    campaign_id: str | None
    campaign_name: str
    attempts: int = 0
    open_attempts: int = 0
    dialed: int = 0
    connected: int = 0
    voicemail: int = 0
    qualified: int = 0
    booked: int = 0
    calls: int = 0
    total_cost_usd: float = 0.0
    dispositions: dict[str, int] = field(default_factory=dict)
    turns: dict[str, list[float]] = field(default_factory=dict, repr=False)

    # the rates of `voicekit campaign status`, over the same-named counts: the summary's
    # own properties, so both always divide the same way (qualified_rate is its conversion)
    pickup_rate = CampaignSummary.pickup_rate
    voicemail_rate = CampaignSummary.voicemail_rate
    qualified_rate = CampaignSummary.conversion
    booking_rate = CampaignSummary.booking_rate
    cost_per_dial_usd = CampaignSummary.cost_per_dial_usd

    @property
    def cost_per_call_usd(self) -> float:
        return self.total_cost_usd / self.calls if self.calls else 0.0

    @property
    def median_latency(self) -> dict[str, float | None]:
        """Median seconds per :data:`LATENCY_KEYS` name, over every measured turn."""
        return {
            key: round(statistics.median(self.turns[key]), 4) if self.turns.get(key) else None
            for key in LATENCY_KEYS
        }

    def add(self, other: Figures) -> None:
        """Add ``other``'s counts, cost and turns to these (for the all-campaigns total)."""
        for name in (*_COUNTS, "calls", "total_cost_usd"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for key, count in other.dispositions.items():
            self.dispositions[key] = self.dispositions.get(key, 0) + count
        for key, values in other.turns.items():
            self.turns.setdefault(key, []).extend(values)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: rates rounded to 4 places, costs to 6, latencies in seconds."""
        return {
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            **{name: getattr(self, name) for name in _COUNTS},
            **{name: round(getattr(self, name), 4) for name in _RATES},
            "calls": self.calls,
            **{name: round(getattr(self, name), 6) for name in _COSTS},
            "median_latency_seconds": self.median_latency,
            "dispositions": dict(sorted(self.dispositions.items(), key=lambda kv: -kv[1])),
        }


@dataclass
class Report:
    """Figures per campaign (``by_campaign``, by name) and over all of them (``total``);
    ``other_calls``: calls in the range outside any campaign (test and inbound calls),
    not counted in the figures."""

    dates: DateRange
    campaign_id: str | None
    total: Figures
    by_campaign: list[Figures]
    other_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.dates.as_dict(),
            "campaign_id": self.campaign_id,
            "total": self.total.as_dict(),
            "by_campaign": [figures.as_dict() for figures in self.by_campaign],
            "other_calls": self.other_calls,
        }


def _in_range(dates: DateRange, campaign_id: str | None) -> list[Any]:
    where = []
    if campaign_id:
        where.append(attempts.c.campaign_id == campaign_id)
    if dates.start is not None:
        where.append(attempts.c.started_at >= dates.start)
    if dates.end is not None:
        where.append(attempts.c.started_at < dates.end)
    return where


def build_report(
    store: Store, *, campaign_id: str | None = None, dates: DateRange | None = None
) -> Report:
    """The figures of ``campaign_id`` (all campaigns when None) for attempts started in
    ``dates`` (UTC; open bounds when None), in one read transaction."""
    dates = dates or DateRange()
    dialect = store.dialect
    where = _in_range(dates, campaign_id)
    joined = attempts.outerjoin(calls, calls.c.call_id == attempts.c.call_id)
    bant = json_text(dialect, calls.c.report_json, "qualification", "status") == "qualified"
    qualified = or_(attempts.c.disposition.in_(sorted(QUALIFIED)), bant)
    cost = func.coalesce(
        json_number(dialect, calls.c.report_json, "metrics", "estimated_cost_usd"), 0
    )
    counts = (
        select(
            attempts.c.campaign_id,
            attempts.c.disposition,
            func.count().label("attempts"),
            func.count(calls.c.call_id).label("calls"),
            func.sum(case((qualified, 1), else_=0)).label("qualified"),
            func.sum(cost).label("cost"),
        )
        .select_from(joined)
        .where(*where)
        .group_by(attempts.c.campaign_id, attempts.c.disposition)
    )
    turns = (
        select(
            attempts.c.campaign_id,
            json_node(dialect, calls.c.report_json, "metrics", "turns").label("turns"),
        )
        .select_from(attempts.join(calls, calls.c.call_id == attempts.c.call_id))
        .where(*where, attempts.c.disposition.is_not(None))
    )
    figures: dict[str, Figures] = {}
    with store.read() as db:
        names = dict(db.execute(select(campaigns.c.id, campaigns.c.name)).all())
        for row in db.execute(counts):
            entry = figures.setdefault(
                row.campaign_id, Figures(row.campaign_id, names.get(row.campaign_id, ""))
            )
            _count(entry, row)
        result = db.execution_options(stream_results=True, yield_per=500).execute(turns)
        for campaign, value in result:
            if campaign in figures:
                _add_turns(figures[campaign], loaded(value))
        other = 0
        if campaign_id is None:
            other = _other_calls(db, dates)
    by_campaign = sorted(figures.values(), key=lambda f: (f.campaign_name.lower(), f.campaign_id))
    total = Figures(campaign_id, names.get(campaign_id, "") if campaign_id else "all campaigns")
    for entry in by_campaign:
        total.add(entry)
    return Report(dates, campaign_id, total, by_campaign, other)


def _count(entry: Figures, row: Any) -> None:
    entry.attempts += row.attempts
    disposition = row.disposition
    if disposition is None:
        entry.open_attempts += row.attempts
        return
    entry.dispositions[disposition] = entry.dispositions.get(disposition, 0) + row.attempts
    entry.calls += row.calls
    entry.total_cost_usd += float(row.cost or 0.0)
    if disposition == _VETOED:
        return
    entry.dialed += row.attempts
    if disposition not in NOT_CONNECTED:
        entry.connected += row.attempts
        entry.qualified += int(row.qualified or 0)
    if disposition == Disposition.VOICEMAIL.value:
        entry.voicemail += row.attempts
    if disposition == Disposition.MEETING_BOOKED.value:
        entry.booked += row.attempts


def _add_turns(entry: Figures, turns: Any) -> None:
    if not isinstance(turns, list):
        return
    for turn in turns:
        if not isinstance(turn, dict):
            continue
        for key in LATENCY_KEYS:
            value = turn.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                entry.turns.setdefault(key, []).append(float(value))


def _other_calls(db: Any, dates: DateRange) -> int:
    where = [calls.c.campaign_id.is_(None)]
    if dates.start is not None:
        where.append(calls.c.started_at >= dates.start)
    if dates.end is not None:
        where.append(calls.c.started_at < dates.end)
    return int(db.execute(select(func.count()).select_from(calls).where(*where)).scalar_one())


# -- CSV -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "campaign",
    "campaign_id",
    "since",
    "until",
    *_COUNTS,
    *_RATES,
    "calls",
    *_COSTS,
    *(f"median_{key}_ms" for key in LATENCY_KEYS),
    *(f"disposition_{d.value}" for d in Disposition),
)


def csv_rows(report: Report) -> Iterator[dict[str, str]]:
    """One row per campaign, then (all campaigns) the total; every cell through
    :func:`~voicekit_core.campaigns.export.safe_cell` (campaign names are user text)."""
    rows = list(report.by_campaign)
    if report.campaign_id is None:
        rows.append(report.total)
    bounds = report.dates.as_dict()
    for figures in rows:
        data = figures.as_dict()
        latency = data.pop("median_latency_seconds")
        dispositions = data.pop("dispositions")
        values: dict[str, Any] = {
            **data,
            "campaign": figures.campaign_name,
            "campaign_id": figures.campaign_id or "",
            "since": bounds["since"] or "",
            "until": bounds["until"] or "",
        }
        for key in LATENCY_KEYS:
            seconds = latency[key]
            values[f"median_{key}_ms"] = "" if seconds is None else round(seconds * 1000, 1)
        for disposition in Disposition:
            values[f"disposition_{disposition.value}"] = dispositions.get(disposition.value, 0)
        yield {column: safe_cell(values[column]) for column in CSV_COLUMNS}


def write_csv(report: Report, out: TextIO) -> int:
    """Write the report as CSV (header + rows) to ``out``; returns the number of rows."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in csv_rows(report):
        writer.writerow(row)
        count += 1
    return count
