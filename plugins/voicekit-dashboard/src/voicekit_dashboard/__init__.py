"""voicekit-dashboard: the web UI for campaigns, live calls, results and test calls.

``voicekit dashboard CONFIG`` serves it (FastAPI + Jinja2, vendored htmx and Chart.js,
server-sent events for live updates) on 127.0.0.1:4100 by default, reading and writing the
deployment's store, the same rows the dialer and the journal use. ``voicekit dashboard
CONFIG --create-user`` sets the admin login. Settings: ``[plugins.dashboard]``
(:class:`voicekit_dashboard.settings.DashboardSettings`). The JSON API is under ``/api/``
(OpenAPI at ``/api/docs``); ``/widget.js`` embeds a voice widget on any allowed site.
"""

from __future__ import annotations

from voicekit_core import hookimpl

from .settings import DashboardSettings

NAME = "dashboard"
__all__ = ["NAME", "DashboardSettings"]


@hookimpl
def register_settings(register):
    register(DashboardSettings)


@hookimpl
def register_commands(cli):
    from .command import dashboard

    cli.add_command(dashboard)
