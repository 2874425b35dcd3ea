"""CLI: ``voicekit campaign list|show|run|pause|resume|cancel``.

(``edit`` / ``redial`` are in :mod:`.commands_edit`, ``start`` / ``serve`` in
:mod:`.commands_serve`; the options and the Ctrl-C handling ``run`` and ``serve`` share are
here.)

``CAMPAIGN`` is a campaign's name or id. Exit status: 0 done, 2 bad input (config, an
unknown campaign, a state change that is not allowed, a bad option value), with the
campaign and the reason named. Untrusted text (reasons, lead fields, activity-log
details) is printed escaped; phones are masked with ``--mask-pii`` /
``VOICEKIT_MASK_PII``.

``run`` dials until the campaign completes or is canceled. The first Ctrl-C (or SIGTERM)
stops dialing and lets the calls in flight finish; a second one cancels them (their leads
are released for the next runner to reconcile). ``pause`` / ``resume`` / ``cancel`` from
another terminal are noticed by a running ``run`` within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import click

if TYPE_CHECKING:
    from rich.console import Console

    from ..deployment import Deployment
    from .runner import CampaignEvent, CampaignRunner, RunnerOptions
    from .summary import CampaignSummary

F = TypeVar("F", bound=Callable[..., Any])

config_argument = click.argument("config", type=click.Path(path_type=Path))
campaign_argument = click.argument("campaign")
#: Campaigns with at most this many leads print one line per attempt while running.
ATTEMPT_LINES_UP_TO = 200
#: Seconds between refreshes of the live counters.
REFRESH_SECONDS = 0.5


def add_commands(*groups: click.Group) -> None:
    """Add ``list``, ``show``, ``run``, ``pause``, ``resume``, ``cancel`` to the
    ``campaign`` group (``add_commands(campaign)``)."""
    (campaign,) = groups
    for command in (list_campaigns, show, run, pause, resume, cancel):
        campaign.add_command(command)


def _consoles() -> tuple[Console, Console]:
    from ..cli import console, err_console

    return console, err_console


def _load(config: Path) -> Deployment:
    from ..deployment import load_deployment

    return load_deployment(config)


def _shown(text: str | None) -> str:
    """Untrusted text for rich markup: PII masked when on, markup escaped."""
    from rich.markup import escape

    from ..masking import display_text

    return escape(display_text(text or ""))


def _print_warnings(deployment: Deployment) -> None:
    """The deployment's config warnings, on stderr."""
    _, err_console = _consoles()
    for warning in deployment.warnings:
        err_console.print(f"[yellow]warning:[/] {_shown(warning)}")


# -- dialing (``run`` and ``serve``) ---------------------------------------------------------


def dialing_options(speed_help: str) -> Callable[[F], F]:
    """``--simulate``, ``--speed`` (with help ``speed_help``) and ``--seed``: the options
    of the commands that dial (``run``, ``serve``)."""
    options = (
        click.option(
            "--simulate",
            is_flag=True,
            help="Offline: each attempt is a simulated call (caller scripts, offline model), "
            "on a sped-up clock. Nothing is dialed.",
        ),
        click.option(
            "--speed",
            type=click.FloatRange(min=0, min_open=True, max=1_000_000),
            default=60.0,
            show_default=True,
            help=speed_help,
        ),
        click.option(
            "--seed",
            type=int,
            default=0,
            show_default=True,
            help="Seed of the retry jitter and of the caller-script pick (--simulate).",
        ),
    )

    def decorate(command: F) -> F:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


lease_seconds_option = click.option(
    "--lease-seconds",
    type=click.FloatRange(min=1, max=3600),
    default=30.0,
    show_default=True,
    help="Runner and lead leases: another dialer takes over this long after this one dies.",
)


def runner_options(lease_seconds: float, seed: int, **more: Any) -> RunnerOptions:
    """:class:`~.runner.RunnerOptions` of ``--lease-seconds`` and ``--seed``: the state is
    re-read six times a lease (at most every half second); ``more`` are other fields."""
    from .runner import RunnerOptions

    return RunnerOptions(
        lease_seconds=lease_seconds, tick_seconds=min(0.5, lease_seconds / 6), seed=seed, **more
    )


class Dialing(Protocol):
    """What :func:`stop_on_signals` stops: a runner or a supervisor."""

    @property
    def in_flight(self) -> int: ...

    def stop(self) -> None: ...

    def abort(self) -> None: ...


@contextlib.contextmanager
def stop_on_signals(dialing: Dialing, console: Console) -> Iterator[None]:
    """Within the block (in a running loop), the first Ctrl-C / SIGTERM stops ``dialing``
    (no new calls; calls in flight finish) and the next ones abort it (cancel those
    calls)."""
    loop = asyncio.get_running_loop()
    presses = 0

    def interrupt() -> None:
        nonlocal presses
        presses += 1
        if presses == 1:
            console.print(
                f"stopping: no new calls; waiting for {dialing.in_flight} call(s) in flight "
                "(Ctrl-C again to cancel them)"
            )
            dialing.stop()
        else:
            console.print("canceling the calls in flight")
            dialing.abort()

    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, interrupt)
    try:
        yield
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


# -- list / show ----------------------------------------------------------------------------


@click.command("list")
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_campaigns(config: Path, as_json: bool) -> None:
    """Every campaign of CONFIG, newest first, with its state and lead counts."""
    from ..cli import _table
    from . import repo

    deployment = _load(config)
    console, _ = _consoles()
    rows = []
    for campaign in repo.list_campaigns(deployment.store):
        counts = repo.lead_counts(deployment.store, campaign.id)
        rows.append(
            {
                "id": campaign.id,
                "name": campaign.name,
                "state": campaign.state,
                "reason": campaign.state_reason,
                "leads": sum(counts.get(s, 0) for s in _LEAD_STATES),
                "final": sum(counts.get(s, 0) for s in ("done", "skipped", "canceled")),
                "created_at": campaign.created_at.isoformat(timespec="seconds"),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no campaigns yet: create one with `voicekit campaign create`")
        return
    table = _table("name", "id", "state", "leads", "final", "created (UTC)")
    for row in rows:
        state = row["state"] + (f" ({_shown(row['reason'])})" if row["reason"] else "")
        table.add_row(
            _shown(row["name"]),
            row["id"],
            state,
            str(row["leads"]),
            str(row["final"]),
            row["created_at"][:19],
        )
    console.print(table)


_LEAD_STATES = (
    "pending",
    "ready",
    "dialing",
    "in_call",
    "done",
    "retry_wait",
    "skipped",
    "canceled",
)


@click.command()
@config_argument
@campaign_argument
@click.option(
    "--events",
    "event_limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Activity-log lines to show (newest first).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def show(config: Path, campaign: str, event_limit: int, as_json: bool) -> None:
    """One campaign: state, runner lease, lead counts, results and its activity log."""
    from sqlalchemy import select

    from ..store.tables import campaigns
    from . import repo
    from .summary import campaign_summary

    deployment = _load(config)
    store = deployment.store
    row = repo.find_campaign(store, campaign)
    with store.read() as db:
        lease = db.execute(
            select(
                campaigns.c.runner_owner, campaigns.c.runner_expires_at, campaigns.c.trunk_id
            ).where(campaigns.c.id == row.id)
        ).first()
    summary = campaign_summary(store, row.id)
    log = repo.events(store, row.id, limit=event_limit)
    overrides = row.settings.get("overrides") or {}
    if as_json:
        payload = {
            "id": row.id,
            "name": row.name,
            "state": row.state,
            "reason": row.state_reason,
            "agent_name": row.agent_name,
            "source": row.source,
            "runner": {
                "owner": lease.runner_owner,
                "expires_at": lease.runner_expires_at.isoformat()
                if lease.runner_expires_at
                else None,
                "trunk_id": lease.trunk_id,
            },
            "overrides": overrides,
            "summary": summary.as_dict(),
            "events": [{**e, "at": e["at"].isoformat()} for e in log],
        }
        click.echo(json.dumps(payload, indent=2, default=str))
        return
    console, _ = _consoles()
    console.print(f"[bold]{_shown(row.name)}[/] ({row.id}), agent {_shown(row.agent_name)}")
    reason = f": {_shown(row.state_reason)}" if row.state_reason else ""
    console.print(f"state: [bold]{row.state}[/]{reason}")
    console.print(f"source: {_shown(row.source)}")
    if lease.runner_owner:
        until = f"{lease.runner_expires_at:%Y-%m-%d %H:%M:%S} UTC"
        console.print(f"runner: {_shown(lease.runner_owner)} (lease until {until})")
    else:
        console.print("runner: none")
    if overrides:
        from .commands_edit import override_lines
        from .overrides import campaign_overrides

        console.print("overrides (`voicekit campaign edit`):")
        for line in override_lines(campaign_overrides(row)):
            console.print(f"  {_shown(line)}")
    print_summary(console, summary)
    if log:
        from ..cli import _table

        table = _table("at (UTC)", "event", "lead", "detail")
        for event in log:
            table.add_row(
                f"{event['at']:%Y-%m-%d %H:%M:%S}",
                _shown(event["kind"]),
                str(event["lead_id"] or ""),
                _shown(event["detail"]),
            )
        console.print("activity (newest first):")
        console.print(table)


def print_summary(console: Console, summary: CampaignSummary) -> None:
    """The summary table: leads by state and final disposition, dialing results, rates."""
    from ..cli import _table

    table = _table("metric", "value")
    table.add_row("leads", str(summary.leads))
    for state in _LEAD_STATES:
        if summary.lead_states.get(state):
            table.add_row(f"  {state}", str(summary.lead_states[state]))
    for disposition, count in sorted(summary.final_dispositions.items(), key=lambda kv: -kv[1]):
        table.add_row(f"    done: {disposition}", str(count))
    table.add_row("attempts dialed", str(summary.dialed))
    if summary.requeued:
        table.add_row("  requeued (carrier capacity)", str(summary.requeued))
    if summary.open_attempts:
        table.add_row("  in flight", str(summary.open_attempts))
    table.add_row("connected", f"{summary.connected} (pick-up rate {summary.pickup_rate:.0%})")
    table.add_row("voicemail", f"{summary.voicemail} ({summary.voicemail_rate:.0%} of dialed)")
    table.add_row(
        "qualified", f"{summary.qualified} (conversion {summary.conversion:.0%} of connected)"
    )
    table.add_row("meetings booked", f"{summary.booked} ({summary.booking_rate:.0%} of dialed)")
    table.add_row(
        "cost",
        f"${summary.total_cost_usd:.4f} (${summary.cost_per_dial_usd:.4f} per dial)",
    )
    console.print(table)


# -- run ------------------------------------------------------------------------------------


@click.command()
@config_argument
@campaign_argument
@dialing_options(
    speed_help="With --simulate: simulated seconds per real second (the clock also jumps to "
    "the next due lead when nothing is in flight)."
)
@lease_seconds_option
@click.option(
    "--exit-when-idle",
    is_flag=True,
    help="Return when only future retries remain instead of waiting for them (live).",
)
def run(
    config: Path,
    campaign: str,
    simulate: bool,
    speed: float,
    seed: int,
    lease_seconds: float,
    exit_when_idle: bool,
) -> None:
    """Dial CAMPAIGN's leads with pacing, retries, calling hours and DNC, showing progress.

    Live (default): calls go through LiveKit (`[plugins.telephony] outbound_trunk_id`,
    LIVEKIT_* credentials) and `voicekit start` workers run them. With --simulate every
    attempt is an offline simulated call. Ends with the campaign's summary. Run it again
    (here or on another machine) to resume: a second `run` of the same campaign waits and
    takes over if this one dies.
    """
    from .runner import CampaignRunner

    deployment = _load(config)
    runner = CampaignRunner(
        deployment,
        campaign,
        mode="simulated" if simulate else "live",
        options=runner_options(lease_seconds, seed, exit_when_idle=exit_when_idle),
        speed=speed,
    )
    runner.check()  # telephony settings or caller scripts, before anything runs
    console, err_console = _consoles()
    _print_warnings(deployment)
    result = asyncio.run(_run_with_progress(runner, err_console))
    from .summary import campaign_summary

    console.print(
        f"campaign [bold]{_shown(runner.campaign.name)}[/] ({runner.campaign.id}): "
        f"{result.state}{': ' + _shown(result.reason) if result.reason else ''}"
        f"{' (stopped)' if result.stopped else ''}; {result.attempts} attempts by this run"
    )
    print_summary(console, campaign_summary(deployment.store, runner.campaign.id))


async def _run_with_progress(runner: CampaignRunner, console: Console) -> Any:
    """Run with a progress bar and live counters; Ctrl-C stops, a second Ctrl-C aborts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from . import repo

    counts = repo.lead_counts(runner.store, runner.campaign.id)
    total = sum(counts.get(state, 0) for state in _LEAD_STATES)
    lines = total <= ATTEMPT_LINES_UP_TO
    progress = Progress(
        TextColumn("[bold]{task.fields[state]}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=False,
    )

    def on_event(event: CampaignEvent) -> None:
        if event.kind == "attempt_ended" and not lines:
            return
        if event.kind in ("deferred", "skipped") and not lines:
            return
        stamp = f"{event.at:%a %H:%M} UTC" if runner.clock.simulated else ""
        progress.console.print(
            f"[dim]{stamp}[/] {_shown(event.kind)}"
            f"{' lead ' + str(event.lead_id) if event.lead_id else ''}: {_shown(event.detail)}"
        )

    runner.on_event(on_event)
    with progress:
        task = progress.add_task(_counters(counts), total=total or None, state="starting")

        def show(state: str) -> None:
            counts = repo.lead_counts(runner.store, runner.campaign.id)
            final = sum(counts.get(s, 0) for s in ("done", "skipped", "canceled"))
            progress.update(task, completed=final, description=_counters(counts), state=state)

        async def refresh() -> None:
            while True:
                show(runner.campaign.state if runner.holding_lease else "waiting for lease")
                await asyncio.sleep(REFRESH_SECONDS)

        refresher = asyncio.create_task(refresh())
        with stop_on_signals(runner, console):
            try:
                return await runner.run()
            finally:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
                show(runner.campaign.state)


def _counters(counts: dict[str, int]) -> str:
    """``dialing 2 · in call 3 · done 40 (busy 3, meeting_booked 5) · retry_wait 7 ·
    skipped 1``."""
    done = sorted(
        ((key.split(":", 1)[1], n) for key, n in counts.items() if key.startswith("done:")),
        key=lambda kv: -kv[1],
    )
    done_detail = f" ({', '.join(f'{d} {n}' for d, n in done[:6])})" if done else ""
    parts = [
        f"dialing {counts.get('dialing', 0)}",
        f"in call {counts.get('in_call', 0)}",
        f"done {counts.get('done', 0)}{done_detail}",
        f"retry_wait {counts.get('retry_wait', 0)}",
        f"skipped {counts.get('skipped', 0)}",
    ]
    waiting = counts.get("pending", 0) + counts.get("ready", 0)
    if waiting:
        parts.insert(0, f"waiting {waiting}")
    if counts.get("canceled"):
        parts.append(f"canceled {counts['canceled']}")
    from rich.markup import escape

    return escape(" · ".join(parts))


# -- pause / resume / cancel ----------------------------------------------------------------


@click.command()
@config_argument
@campaign_argument
@click.option("--reason", default="paused by hand", show_default=True, help="Recorded reason.")
def pause(config: Path, campaign: str, reason: str) -> None:
    """Pause CAMPAIGN: no new calls (calls in flight finish); `resume` continues."""
    _transition(config, campaign, "paused", reason, expect={"running", "scheduled"})


@click.command()
@config_argument
@campaign_argument
def resume(config: Path, campaign: str) -> None:
    """Resume a paused CAMPAIGN (a paused breaker closes again)."""
    _transition(config, campaign, "running", "resumed by hand", expect={"paused"})


@click.command()
@config_argument
@campaign_argument
@click.option("--reason", default="canceled by hand", show_default=True, help="Recorded reason.")
def cancel(config: Path, campaign: str, reason: str) -> None:
    """Cancel CAMPAIGN for good: leads not yet final become canceled (calls in flight
    finish first)."""
    _transition(config, campaign, "canceled", reason, expect=None)


def _transition(
    config: Path, campaign: str, state: str, reason: str, *, expect: set[str] | None
) -> None:
    from . import repo
    from .runner import cancel_due_leads

    deployment = _load(config)
    with deployment.store.write() as db:
        current = repo.get_campaign(db, campaign)
        if current.state == state:
            raise repo.CampaignError(f"campaign {current.name!r} is already {state}")
        updated = repo.set_state(db, current.id, state, reason, expect=expect)
        swept = cancel_due_leads(db, current.id) if state == "canceled" else 0
    console, _ = _consoles()
    extra = f"; {swept} leads canceled" if swept else ""
    console.print(
        f"campaign [bold]{_shown(updated.name)}[/] ({updated.id}): {current.state} -> "
        f"{updated.state}{extra}"
    )


__all__ = ["add_commands", "print_summary"]
