"""``voicekit dashboard CONFIG``: serve the dashboard, or set its admin login."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.console import Console

from voicekit_core.render import shown

PASSWORD_ENV = "VOICEKIT_DASHBOARD_PASSWORD"
DIALERS = ("auto", "simulated", "external")


def _dialer_mode(deployment, requested: str) -> str:
    """``auto``: dial in this process with simulated calls when the deployment has no
    outbound SIP trunk (offline), else leave dialing to ``voicekit campaign serve``."""
    if requested != "auto":
        return requested
    from voicekit_core.telephony.settings import telephony_settings

    try:
        trunk = telephony_settings(deployment.config).outbound_trunk_id
    except Exception:
        trunk = None
    return "external" if trunk else "simulated"


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=4100, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--create-user",
    is_flag=True,
    help=f"Set the admin login (asks for a username and password; ${PASSWORD_ENV} "
    "and --username skip the prompts) and exit.",
)
@click.option("--username", default=None, help="Admin username for --create-user.")
@click.option(
    "--dialer",
    type=click.Choice(DIALERS),
    default="auto",
    show_default=True,
    help="Who dials started campaigns: this process with simulated calls, or an external "
    "`voicekit campaign serve` (auto: simulated when no outbound trunk is configured).",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=1, max=100_000),
    default=10.0,
    show_default=True,
    help="Simulated dialer: campaign time runs this many times faster than real time "
    "(calls ring and callers speak in campaign time; idle waits are skipped).",
)
def dashboard(
    config: Path,
    host: str,
    port: int,
    create_user: bool,
    username: str | None,
    dialer: str,
    speed: float,
) -> None:
    """Serve the web dashboard of the deployment CONFIG on http://HOST:PORT.

    Campaigns, leads, live calls (server-sent events), the call journal, reports, the DNC
    list and test calls, all from the deployment's store. Requires the admin login set by
    `voicekit dashboard CONFIG --create-user`. Binds 127.0.0.1 unless --host says
    otherwise; put it behind HTTPS (and set secure_cookies) before exposing it.
    """
    from voicekit_core.deployment import load_deployment

    from .accounts import get_admin, set_admin

    console = Console(stderr=True, highlight=False)
    deployment = load_deployment(config)
    if create_user:
        name = username or click.prompt("Admin username", default="admin")
        password = os.environ.get(PASSWORD_ENV) or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
        admin = set_admin(deployment.store, name, password)
        console.print(f"admin user [bold]{shown(admin.username)}[/] saved in the store")
        return
    if get_admin(deployment.store) is None:
        console.print(
            "[bold red]error:[/] no admin user yet; run "
            f"`voicekit dashboard {shown(str(config))} --create-user` first"
        )
        sys.exit(2)

    import uvicorn

    from .app import create_app
    from .logmask import install_pii_masking

    mode = _dialer_mode(deployment, dialer)
    app = create_app(deployment, dialer=mode, speed=speed)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(
            f"[yellow]warning:[/] listening on {shown(host)}: anyone who reaches this "
            "address sees the login page; serve it over HTTPS"
        )
    console.print(
        f"voicekit dashboard for [bold]{shown(deployment.config.agent.name)}[/] on "
        f"http://{shown(host)}:{port} (store {shown(deployment.store.display_url)}; "
        f"campaigns dialed {'here, simulated' if mode == 'simulated' else 'by voicekit campaign serve'})"
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="info",
            proxy_headers=app.state.dashboard.settings.trust_proxy_headers,
        )
    )
    install_pii_masking()
    server.run()
