"""CLI: ``voicekit campaign start|serve``.

``start`` marks a draft campaign ``running`` without dialing anything; ``serve`` is the
long-running dialer (:class:`~.supervisor.CampaignSupervisor`) that dials every running
campaign — the ``dialer`` service of a deployment. Together they split "what should be
dialed" (a person, the dashboard) from "the process that dials".

Exit status: 0 done (``serve``: stopped by Ctrl-C / SIGTERM), 2 bad input (config, an
unknown campaign, a state that cannot be started, a live ``serve`` without an outbound
trunk). The first Ctrl-C (or SIGTERM) stops ``serve`` gracefully — no new calls, calls in
flight finish — and a second one cancels the calls in flight.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .commands_run import (
    _consoles,
    _load,
    _print_warnings,
    _shown,
    campaign_argument,
    config_argument,
    dialing_options,
    lease_seconds_option,
    runner_options,
    stop_on_signals,
)

if TYPE_CHECKING:
    from rich.console import Console

    from .runner import CampaignEvent
    from .supervisor import CampaignSupervisor

#: Event kinds ``serve --quiet`` still prints (campaign-level, not per lead).
CAMPAIGN_EVENTS = frozenset({"started", "paused", "resumed", "completed", "canceled"})


def add_commands(*groups: click.Group) -> None:
    """Add ``start`` and ``serve`` to the ``campaign`` group (``add_commands(campaign)``)."""
    (campaign,) = groups
    campaign.add_command(start)
    campaign.add_command(serve)


# -- start ----------------------------------------------------------------------------------


@click.command()
@config_argument
@campaign_argument
def start(config: Path, campaign: str) -> None:
    """Mark a draft (or scheduled) CAMPAIGN running, without dialing here: a `voicekit
    campaign serve` process (or `voicekit campaign run`) dials it."""
    from . import repo

    deployment = _load(config)
    with deployment.store.write() as db:
        current = repo.get_campaign(db, campaign)
        hint = {
            "running": "it is already running",
            "paused": "it is paused: use `voicekit campaign resume`",
            "completed": "it is completed: use `voicekit campaign redial` to call the "
            "unanswered leads again",
            "canceled": "it is canceled for good",
        }.get(current.state)
        if hint is not None:
            raise repo.CampaignError(f"campaign {current.name!r} cannot be started: {hint}")
        updated = repo.set_state(db, current.id, "running", "started by hand")
    console, _ = _consoles()
    console.print(
        f"campaign [bold]{_shown(updated.name)}[/] ({updated.id}): {current.state} -> running"
    )
    console.print("a `voicekit campaign serve` process dials it (or `voicekit campaign run`)")


# -- serve ----------------------------------------------------------------------------------


@click.command()
@config_argument
@dialing_options(speed_help="With --simulate: simulated seconds per real second.")
@click.option(
    "--poll-seconds",
    type=click.FloatRange(min=0.05, max=3600),
    default=2.0,
    show_default=True,
    help="How often the store is read for campaigns to run.",
)
@lease_seconds_option
@click.option("--quiet", is_flag=True, help="Print campaign events only, not every attempt.")
def serve(
    config: Path,
    simulate: bool,
    speed: float,
    seed: int,
    poll_seconds: float,
    lease_seconds: float,
    quiet: bool,
) -> None:
    """Dial every running campaign of CONFIG, until Ctrl-C or SIGTERM.

    Watches the store: a campaign started, resumed or redialed anywhere (`voicekit
    campaign start`, the dashboard) is dialed within --poll-seconds. Campaigns another
    dialer is running are left to it (its runner lease); if it dies, this one takes over.
    Run one per machine (or several: they share the work per campaign). Live (default)
    needs `[plugins.telephony] outbound_trunk_id` and LIVEKIT_* credentials, and
    `voicekit start` workers to run the calls.
    """
    from .supervisor import CampaignSupervisor

    deployment = _load(config)
    options = runner_options(lease_seconds, seed)
    if not simulate:
        from .live import LiveAttempts

        LiveAttempts(deployment, deployment.store, options)  # the trunk and credentials, now
    supervisor = CampaignSupervisor(
        deployment,
        mode="simulated" if simulate else "live",
        options=options,
        speed=speed,
        poll_seconds=poll_seconds,
    )
    console, _ = _consoles()
    _print_warnings(deployment)
    console.print(
        f"serving campaigns of {_shown(str(config))} ({supervisor.mode}; owner "
        f"{_shown(supervisor.owner)}); Ctrl-C stops"
    )
    asyncio.run(_serve(supervisor, console, quiet=quiet))
    console.print("stopped")


async def _serve(supervisor: CampaignSupervisor, console: Console, *, quiet: bool) -> None:
    """Run the supervisor, printing its events; Ctrl-C / SIGTERM stops, twice aborts."""

    def on_event(event: CampaignEvent) -> None:
        if quiet and event.kind not in CAMPAIGN_EVENTS:
            return
        runner = supervisor.campaigns.get(event.campaign_id)
        name = runner.campaign.name if runner is not None else event.campaign_id
        lead = f" lead {event.lead_id}" if event.lead_id else ""
        console.print(
            f"{_shown(name)}: {_shown(event.kind)}{lead}"
            f"{': ' + _shown(event.detail) if event.detail else ''}"
        )

    supervisor.on_event(on_event)
    with stop_on_signals(supervisor, console):
        await supervisor.run()


__all__ = ["CAMPAIGN_EVENTS", "add_commands"]
