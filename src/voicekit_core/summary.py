"""Campaign summary over journaled calls (``voicekit report``)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .calls import CallReport, Disposition

if TYPE_CHECKING:
    from .dispositions import DispositionCatalog

QUALIFIED_OUTCOMES = {Disposition.MEETING_BOOKED, Disposition.QUALIFIED}


def _is_qualified(report: CallReport) -> bool:
    status = (report.qualification or {}).get("status")
    return status == "qualified" or report.disposition in QUALIFIED_OUTCOMES


def summarize(
    reports: Iterable[CallReport], catalog: DispositionCatalog | None = None
) -> dict[str, Any]:
    """Counts and rates over ``reports``.

    Returns ``calls``, ``dispositions`` (count per disposition, built-in or declared),
    ``labels`` (label per counted disposition, from ``catalog``), ``successes`` (calls
    whose disposition the catalog counts as a success) and ``success_rate`` (0..1),
    ``qualified``, ``conversion`` (qualified / calls, 0..1), ``meetings``,
    ``median_latency_seconds`` (median over calls of their median end-to-end latency, else
    LLM time to first token; None when no call measured one), ``cost_per_call_usd`` and
    ``total_cost_usd``. ``catalog`` defaults to the built-in outcomes.
    """
    from .dispositions import DispositionCatalog

    catalog = catalog or DispositionCatalog()
    items = list(reports)
    dispositions = Counter(r.disposition.value for r in items)
    successes = sum(count for name, count in dispositions.items() if catalog.is_success(name))
    qualified = sum(_is_qualified(r) for r in items)
    latencies = [
        r.metrics.get("median_e2e_latency", r.metrics.get("median_llm_ttft"))
        for r in items
        if r.metrics.get("median_e2e_latency", r.metrics.get("median_llm_ttft")) is not None
    ]
    costs = [float(r.metrics.get("estimated_cost_usd", 0.0)) for r in items]
    count = len(items)
    return {
        "calls": count,
        "dispositions": dict(dispositions.most_common()),
        "labels": {name: catalog.label(name) for name in dispositions},
        "successes": successes,
        "success_rate": round(successes / count, 4) if count else 0.0,
        "qualified": qualified,
        "conversion": round(qualified / count, 4) if count else 0.0,
        "meetings": dispositions.get(Disposition.MEETING_BOOKED.value, 0),
        "median_latency_seconds": round(statistics.median(latencies), 4) if latencies else None,
        "total_cost_usd": round(sum(costs), 6),
        "cost_per_call_usd": round(sum(costs) / count, 6) if count else 0.0,
    }
