"""Built-in telephony: LiveKit SIP commands, the voicemail tool, hang-up on end.

Commands (``register_commands``): ``dial``, ``sip setup-inbound``, ``sip list``,
``token``, ``doctor``. Settings: ``[plugins.telephony]``
(:class:`voicekit_core.telephony.settings.TelephonySettings`; every field has a default).
livekit is imported only inside functions.
"""

# No `from __future__ import annotations`: livekit reads tool annotations at call time,
# and RunContext is imported inside register_tools to keep livekit out of plugin listing.

import asyncio
import logging
from pathlib import Path

import click

from voicekit_core import hookimpl
from voicekit_core.telephony.settings import TelephonySettings, telephony_settings

NAME = "telephony"
logger = logging.getLogger("voicekit.telephony")


@hookimpl
def register_settings(register):
    register(TelephonySettings)


@hookimpl
def register_tools(register, call):
    if not telephony_settings(call.config).voicemail_tool:
        return
    from livekit.agents import RunContext, function_tool

    from voicekit_core.telephony.voicemail import record_voicemail, voicemail_text

    @function_tool
    async def leave_voicemail(context: RunContext) -> str:
        """Call this when an answering machine or voicemail greeting picked up instead of
        a person, after the beep. It returns the message to leave; say it, then the call
        ends."""
        current = context.userdata
        text = voicemail_text(current)
        record_voicemail(current, category="model", left_message=bool(text))
        if not text:
            return "no voicemail message is configured: end the call without speaking"
        return f"Say exactly this message, then stop: {text}"

    register(leave_voicemail)


@hookimpl
async def call_ended(call, report):
    """Hang up a live call the agent ended: delete its room (``RoomService/DeleteRoom``)."""
    if call.mode != "live" or not call.room_name or not call.end_requested:
        return
    if not telephony_settings(call.config).hangup_on_end:
        return
    from voicekit_core.telephony.credentials import resolve_credentials
    from voicekit_core.telephony.errors import TelephonyConfigError
    from voicekit_core.telephony.hangup import hang_up

    try:
        creds = resolve_credentials(call.config)
    except TelephonyConfigError as exc:
        logger.info("not hanging up %s: %s", call.room_name, exc)
        return
    await hang_up(creds, call.room_name)


# -- commands ----------------------------------------------------------------------------

config_argument = click.argument("config", type=click.Path(path_type=Path), default=".")


def _echo_table(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        click.echo("  (none)")
        return
    for row in rows:
        click.echo("  " + "  ".join(f"{c}={_cell(row.get(c))}" for c in columns))


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value) if value not in (None, "") else "-"


@hookimpl
def register_commands(cli):
    @cli.command("dial")
    @config_argument
    @click.argument("phone")
    def dial_command(config: Path, phone: str) -> None:
        """Call PHONE from CONFIG's agent over the outbound SIP trunk.

        PHONE is E.164 or a national form in [leads].default_region, read strictly
        (voicekit_core.phones): letters and extensions are refused unless [leads]
        allow_vanity / allow_extensions say otherwise; an allowed extension is sent as
        DTMF once answered. Runs the before-dial veto first (exit 2 if refused), then
        creates the room, dispatches the agent and dials. Exit 0 when answered, 1 when
        not (busy, no answer, declined, invalid number: journaled), 2 for bad input,
        credentials, or LiveKit unreachable / refusing (one line saying why).
        """
        from voicekit_core.deployment import load_deployment
        from voicekit_core.phones import parse_deployment_phone
        from voicekit_core.telephony.dial import dial

        deployment = load_deployment(config)
        try:
            number = parse_deployment_phone(phone, deployment.config)
        except ValueError as exc:  # phones.InvalidPhone: the one-line reason
            raise click.BadParameter(f"{phone!r}: {exc}", param_hint="PHONE") from None
        outcome = asyncio.run(dial(deployment, number.e164, extension=number.extension))
        call = outcome.call
        if outcome.answered:
            click.echo(
                f"answered: {call.phone} in room {call.room_name} "
                f"(agent {deployment.config.agent.name}, call {call.call_id})"
            )
            return
        disposition = outcome.disposition.value if outcome.disposition else "failed"
        click.echo(f"{disposition}: {outcome.detail}; journaled as {call.call_id}")
        raise SystemExit(1)

    @cli.group("sip")
    def sip_group() -> None:
        """LiveKit SIP trunks and dispatch rules."""

    @sip_group.command("setup-inbound")
    @config_argument
    def setup_inbound_command(config: Path) -> None:
        """Create (or reuse) the inbound trunk and a dispatch rule (room prefix from
        [plugins.telephony].room_prefix, default 'call-') that dispatches CONFIG's agent.

        Exit 2 with one line saying why when LiveKit is unreachable or refuses."""
        from voicekit_core.deployment import load_deployment
        from voicekit_core.telephony.credentials import resolve_credentials
        from voicekit_core.telephony.inbound import setup_inbound

        deployment = load_deployment(config)
        settings = telephony_settings(deployment.config)
        if not settings.numbers:
            from voicekit_core.telephony.errors import TelephonyConfigError

            raise TelephonyConfigError(
                'no inbound numbers: set numbers = ["+1..."] in [plugins.telephony]'
            )
        creds = resolve_credentials(deployment.config)
        result = asyncio.run(setup_inbound(deployment.config, settings, creds))
        verb = {True: "created", False: "reused"}
        click.echo(f"inbound trunk {result.trunk_id}: {verb[result.created_trunk]}")
        click.echo(f"dispatch rule {result.rule_id}: {verb[result.created_rule]}")
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)

    @sip_group.command("list")
    @config_argument
    def list_command(config: Path) -> None:
        """Show the project's SIP trunks and dispatch rules.

        Exit 2 with one line saying why when LiveKit is unreachable or refuses."""
        from voicekit_core.deployment import load_deployment
        from voicekit_core.telephony.credentials import resolve_credentials
        from voicekit_core.telephony.inbound import list_sip

        deployment = load_deployment(config)
        inventory = asyncio.run(list_sip(resolve_credentials(deployment.config)))
        click.echo("inbound trunks:")
        _echo_table(inventory.inbound_trunks, ["id", "name", "numbers"])
        click.echo("outbound trunks:")
        _echo_table(inventory.outbound_trunks, ["id", "name", "numbers", "address"])
        click.echo("dispatch rules:")
        _echo_table(inventory.dispatch_rules, ["id", "name", "rule", "trunks", "agents"])

    @cli.command("token")
    @config_argument
    @click.option("--room", required=True, help="Room to join (created on join).")
    @click.option("--identity", required=True, help="Participant identity.")
    @click.option("--ttl", default="1h", show_default=True, help="Validity: 90s, 15m, 1h, 2d.")
    def token_command(config: Path, room: str, identity: str, ttl: str) -> None:
        """Print a join token for ROOM that dispatches CONFIG's agent (signed locally)."""
        from voicekit_core.deployment import load_deployment
        from voicekit_core.telephony.credentials import resolve_credentials
        from voicekit_core.telephony.metadata import JobMetadata
        from voicekit_core.telephony.settings import deployment_name
        from voicekit_core.telephony.tokens import mint_join_token, parse_ttl

        try:
            lifetime = parse_ttl(ttl)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--ttl") from None
        deployment = load_deployment(config)
        creds = resolve_credentials(deployment.config)
        try:
            jwt = mint_join_token(
                creds,
                room=room,
                identity=identity,
                agent_name=deployment.config.agent.name,
                ttl=lifetime,
                agent_metadata=JobMetadata(
                    direction="inbound", deployment=deployment_name(deployment.config)
                ).to_json(),
            )
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
        click.echo(jwt)

    @cli.command("doctor")
    @config_argument
    def doctor_command(config: Path) -> None:
        """Check LiveKit credentials (URL, a locally verified token, one authenticated
        call, the clock against the server's, SIP trunks) and every enabled plugin's
        settings. A 401 names its cause: unknown key, wrong secret, clock skew or a
        missing permission. Exit 1 if a check fails."""
        from voicekit_core.deployment import load_deployment
        from voicekit_core.telephony.doctor import run_doctor

        deployment = load_deployment(config)
        checks = asyncio.run(run_doctor(deployment))
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}
        for check in checks:
            click.echo(f"{marks[check.status]} {check.name}: {check.detail}")
        if any(check.status == "fail" for check in checks):
            raise SystemExit(1)
