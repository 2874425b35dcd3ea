"""Built-in campaigns: the ``voicekit campaign`` and ``voicekit dnc`` command groups.

The commands themselves live beside the code they drive: lead import, export and the
DNC list in :mod:`voicekit_core.campaigns.commands_leads`, running and steering campaigns
in :mod:`voicekit_core.campaigns.commands_run`, per-campaign overrides and redial in
:mod:`voicekit_core.campaigns.commands_edit`, ``start`` and the long-running ``serve``
dialer in :mod:`voicekit_core.campaigns.commands_serve`. None imports livekit at CLI
start.
"""

import click

from voicekit_core import hookimpl

NAME = "campaigns"


@hookimpl
def register_commands(cli):
    from voicekit_core.campaigns import (
        commands_edit,
        commands_leads,
        commands_run,
        commands_serve,
    )

    @cli.group()
    def campaign() -> None:
        """Campaigns: call a lead list with pacing, retries, calling hours and DNC."""

    @cli.group()
    def dnc() -> None:
        """The do-not-call list (global, or per campaign with --campaign)."""

    commands_leads.add_commands(campaign, dnc)
    commands_run.add_commands(campaign)
    commands_edit.add_commands(campaign)
    commands_serve.add_commands(campaign)


__all__ = ["NAME", "click", "register_commands"]
