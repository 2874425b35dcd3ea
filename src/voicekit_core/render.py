"""Pretty terminal output of a call (rich).

Everything a call carries (lead fields, caller and agent lines, tool arguments and outputs,
notes, delivery errors) is untrusted text: it goes through :func:`shown`, which escapes
rich markup (``[/]``, ``[bold]``, ``[link=...]`` print as written) and masks phones and
emails when masking is on (:mod:`voicekit_core.masking`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from .masking import display_phone, display_text
from .redaction import redact

if TYPE_CHECKING:
    from .calls import CallReport, ToolCallRecord
    from .deployment import Deployment

_ROLE_STYLE = {"assistant": "bold cyan", "user": "bold green"}


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int | None = None) -> str:
    """Untrusted ``value`` as rich markup that prints it literally: secrets redacted,
    phones and emails masked when masking is on, cut to ``limit`` characters, escaped."""
    text = display_text(redact("" if value is None else str(value)))
    return escape(_short(text, limit) if limit else text)


def print_tool_call(console: Console, event: ToolCallRecord) -> None:
    """One tool call under the line that made it: ``↳ tool name(args)`` and ``→ output``
    when it succeeded; ``✗ tool name(args) FAILED`` and ``✗ error`` when it raised (a
    ``ToolError`` or bad arguments), so a failure reads as one without colours too."""
    arguments = shown(json.dumps(event.arguments, ensure_ascii=False))
    if event.is_error:
        console.print(f"  [bold red]✗ tool {shown(event.name)}[/]({arguments}) [bold red]FAILED[/]")
        console.print(f"  [red]  ✗ {shown(event.output, 160)}[/]")
    else:
        console.print(f"  [magenta]↳ tool {shown(event.name)}[/]({arguments})")
        console.print(f"  [magenta]  → {shown(event.output, 160)}[/]")


def print_extracted(console: Console, report: CallReport) -> None:
    """The record ``record_details`` collected (``report.extracted``): one row per field
    with a value, marked ``unconfirmed`` (never read back and confirmed) or ``filled after
    the call`` (from the transcript), then the required fields still missing."""
    meta = report.data.get("extraction") or {}
    unconfirmed = set(meta.get("unconfirmed") or [])
    filled = set(meta.get("filled_after_call") or [])
    table = Table(show_header=False, box=None)
    for name, value in (report.extracted or {}).items():
        text = shown(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
        tags = []
        if name in unconfirmed:
            tags.append("[yellow]unconfirmed[/]")
        if name in filled:
            tags.append("[dim]filled after the call[/]")
        table.add_row(shown(name), text + (f"  {' '.join(tags)}" if tags else ""))
    for name in meta.get("missing") or []:
        table.add_row(shown(name), "[red]missing (required)[/]")
    if not report.extracted and not meta.get("missing"):
        table.add_row("", "[dim]nothing recorded[/]")
    state = "complete" if meta.get("complete") else "incomplete"
    title = f"extracted · {shown(meta.get('schema', 'record'))} · {state}"
    console.print(Panel(table, title=title))


def print_call(console: Console, report: CallReport, deployment: Deployment | None = None) -> None:
    """Lead, transcript with tool calls in order, outcome, deliveries and journal id."""
    lead = report.lead or {}
    who = shown(lead.get("name") or "unknown caller")
    source = shown(lead.get("source") or "?")
    console.print(
        Panel.fit(
            f"[bold]{who}[/] {shown(lead.get('job_title', ''))} @ {shown(lead.get('company', ''))}\n"
            f"{escape(display_phone(report.phone))} · "
            f"{shown(lead.get('timezone', 'timezone unknown'))} · lead source: {source}",
            title=f"{shown(report.direction)} call · {shown(report.agent_name)}",
        )
    )
    events = [(e.at, "say", e) for e in report.transcript] + [
        (t.at, "tool", t) for t in report.tool_calls
    ]
    events.sort(key=lambda item: item[0])
    for _, kind, event in events:
        if kind == "say":
            label = "Agent" if event.role == "assistant" else "Caller"
            style = _ROLE_STYLE.get(event.role, "")
            cut = " [dim](interrupted)[/]" if event.interrupted else ""
            console.print(
                f"[{style}]{label}:[/] {shown(event.text)}{cut}"
                if style
                else f"{label}: {shown(event.text)}{cut}"
            )
        else:
            print_tool_call(console, event)
    if report.extracted is not None:
        print_extracted(console, report)
    table = Table(show_header=False, box=None)
    disposition = report.disposition.value
    label = deployment.dispositions.label(disposition) if deployment is not None else ""
    if label and label.lower() != disposition.replace("_", " "):
        table.add_row("disposition", f"[bold]{shown(disposition)}[/] ({shown(label)})")
    else:
        table.add_row("disposition", f"[bold]{shown(disposition)}[/]")
    if report.disposition_reason:
        table.add_row("reason", shown(report.disposition_reason, 160))
    if report.qualification:
        q = report.qualification
        reasons = "; ".join(str(r) for r in q.get("reasons", []))
        table.add_row("qualification", shown(f"{q.get('status')}: {reasons}"))
    if report.models:
        table.add_row("models", shown(report.models.get("reason", "")))
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
            table.add_row(
                "usage", shown(f"{usage.get('provider')}:{usage.get('model')} {counts}".strip())
            )
        table.add_row("estimated cost", f"${metrics.get('estimated_cost_usd', 0):.4f}")
    for note in report.notes:
        table.add_row("note", shown(note))
    for delivery in report.post_call:
        status = delivery.status + (f" ({_short(delivery.error, 80)})" if delivery.error else "")
        table.add_row(f"post-call {shown(delivery.plugin)}", shown(status))
    table.add_row("duration", f"{report.duration_seconds:.1f} s")
    table.add_row("journal id", shown(report.call_id))
    if deployment is not None:
        table.add_row("journal", shown(deployment.journal.path))
    console.print(Panel(table, title="outcome"))
