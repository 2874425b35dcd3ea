"""Pretty terminal output of a call (rich)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from .calls import CallReport

if TYPE_CHECKING:
    from .deployment import Deployment

_ROLE_STYLE = {"assistant": "bold cyan", "user": "bold green"}


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_call(console: Console, report: CallReport, deployment: Deployment | None = None) -> None:
    """Lead, transcript with tool calls in order, outcome, deliveries and journal id."""
    lead = report.lead or {}
    who = lead.get("name") or "unknown caller"
    source = lead.get("source") or "?"
    console.print(
        Panel.fit(
            f"[bold]{who}[/] {lead.get('job_title', '')} @ {lead.get('company', '')}\n"
            f"{report.phone} · {lead.get('timezone', 'timezone unknown')} · lead source: {source}",
            title=f"{report.direction} call · {report.agent_name}",
        )
    )
    events = [(e.at, "say", e) for e in report.transcript] + [
        (t.at, "tool", t) for t in report.tool_calls
    ]
    events.sort(key=lambda item: item[0])
    for _, kind, event in events:
        if kind == "say":
            label = "Agent" if event.role == "assistant" else "Caller"
            console.print(f"[{_ROLE_STYLE.get(event.role, '')}]{label}:[/] {event.text}")
        else:
            style = "red" if event.is_error else "magenta"
            console.print(
                f"  [{style}]↳ tool {event.name}[/]({json.dumps(event.arguments, ensure_ascii=False)})"
            )
            console.print(f"  [{style}]  → {_short(event.output)}[/]", markup=True)
    table = Table(show_header=False, box=None)
    table.add_row("disposition", f"[bold]{report.disposition.value}[/]")
    if report.disposition_reason:
        table.add_row("reason", _short(report.disposition_reason))
    if report.qualification:
        q = report.qualification
        table.add_row("qualification", f"{q.get('status')}: " + "; ".join(q.get("reasons", [])))
    if report.models:
        table.add_row("models", report.models.get("reason", ""))
    metrics = report.metrics
    if metrics:
        latency = [
            f"{name.removeprefix('median_')} {metrics[name] * 1000:.0f} ms"
            for name in (
                "median_e2e_latency",
                "median_llm_ttft",
                "median_tts_ttfb",
                "median_end_of_turn_delay",
            )
            if name in metrics
        ]
        if latency:
            table.add_row("latency (median)", ", ".join(latency))
        for usage in metrics.get("usage", []):
            counts = ", ".join(
                f"{k}={v}" for k, v in usage.items() if k not in ("type", "provider", "model")
            )
            table.add_row("usage", f"{usage.get('provider')}:{usage.get('model')} {counts}".strip())
        table.add_row("estimated cost", f"${metrics.get('estimated_cost_usd', 0):.4f}")
    for note in report.notes:
        table.add_row("note", note)
    for delivery in report.post_call:
        status = delivery.status + (f" ({_short(delivery.error, 80)})" if delivery.error else "")
        table.add_row(f"post-call {delivery.plugin}", status)
    table.add_row("duration", f"{report.duration_seconds:.1f} s")
    table.add_row("journal id", report.call_id)
    if deployment is not None:
        table.add_row("journal", str(deployment.journal.path))
    console.print(Panel(table, title="outcome"))
