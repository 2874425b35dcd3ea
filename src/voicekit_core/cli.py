"""The ``voicekit`` command.

Exit status: 0 success, 1 a check that ran and failed (e.g. a simulated call missed its
expectations), 2 bad input (config, leads, script, plugins). CONFIG is a deployment file
or a folder holding ``voicekit.toml``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from .errors import VoicekitError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class VoicekitGroup(click.Group):
    """Turns VoicekitError into a clear message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoicekitError as exc:
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}")
            for line in str(exc).splitlines():
                err_console.print(f"  {line}", markup=False, soft_wrap=True)
            ctx.exit(2)


@click.group(cls=VoicekitGroup)
@click.option("-v", "--verbose", count=True, help="-v info logs, -vv debug logs")
@click.version_option(package_name="voicekit-core")
def cli(verbose: int) -> None:
    """voicekit: AI phone agents from a config file and plugins."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _table(*headers: str) -> Table:
    # fold instead of truncating: ids and phones must stay whole in narrow terminals and logs
    table = Table()
    for header in headers:
        table.add_column(header, overflow="fold")
    return table


config_argument = click.argument("config", type=click.Path(path_type=Path), default=".")


def _load(config: Path):
    from .deployment import load_deployment

    return load_deployment(config)


# -- check / plugins / leads ------------------------------------------------------


@cli.command()
@config_argument
def check(config: Path) -> None:
    """Validate CONFIG and print it resolved, with secrets redacted."""
    deployment = _load(config)
    data = deployment.config.redacted()
    console.print(f"[green]ok[/] {deployment.config.path}")
    console.print_json(json.dumps(data, default=str))
    for warning in deployment.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", markup=True)
    book = deployment.leads
    if book is not None:
        book.raise_for_problems()
        console.print(f"{len(book.leads)} leads in {book.path}")


@cli.command()
@click.option("--hooks", is_flag=True, help="Load each plugin and list the hooks it implements.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(hooks: bool, as_json: bool) -> None:
    """List built-in and installed plugins (entry point group 'voicekit').

    Imports no vendor SDK and not livekit, even with --hooks.
    """
    from .plugins import BUILTIN_PLUGINS, installed_plugins

    hook_map: dict[str, list[str]] = {}
    installed = installed_plugins()
    if hooks:
        from .plugins import build_plugin_manager, plugin_hooks

        hook_map = plugin_hooks(build_plugin_manager(list(installed)))
    rows = [
        {"name": name, "kind": "built-in", "distribution": "voicekit-core", "module": module}
        for name, module in BUILTIN_PLUGINS.items()
    ]
    for name, plugin in sorted(installed.items()):
        dist = f"{plugin.distribution} {plugin.version}" if plugin.distribution else "?"
        rows.append(
            {"name": name, "kind": "installed", "distribution": dist, "module": plugin.value}
        )
    if hooks:
        for row in rows:
            row["hooks"] = hook_map.get(row["name"], [])
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = _table(*rows[0].keys())
    for row in rows:
        table.add_row(*(", ".join(v) if isinstance(v, list) else v for v in row.values()))
    console.print(table)


@cli.command()
@config_argument
def leads(config: Path) -> None:
    """List the leads of CONFIG's CSV and report bad rows (exit 2 if any)."""
    deployment = _load(config)
    book = deployment.leads
    if book is None:
        console.print("leads.source is 'none'")
        return
    table = _table("phone", "name", "company", "title", "timezone", "email")
    for lead in book.leads:
        table.add_row(
            lead.phone,
            lead.name,
            lead.company,
            lead.job_title,
            lead.timezone or "",
            lead.email or "",
        )
    console.print(table)
    book.raise_for_problems()


# -- simulate ------------------------------------------------------------------------


@cli.command()
@config_argument
@click.option(
    "--script", "script_path", type=click.Path(path_type=Path), help="Caller script (YAML)."
)
@click.option("--lead-phone", help="The lead to call, E.164 (+14155550123).")
@click.option(
    "--report", "report_path", type=click.Path(path_type=Path), help="Write the CallReport as JSON."
)
@click.option(
    "--offline",
    is_flag=True,
    help="Use [models].fallback (the scripted model) even if keys are set.",
)
def simulate(
    config: Path,
    script_path: Path | None,
    lead_phone: str | None,
    report_path: Path | None,
    offline: bool,
) -> None:
    """Run an offline call: scripted caller turns through a real AgentSession."""
    from .render import print_call
    from .simulate import load_script, run_script

    deployment = _load(config)
    if script_path is None:
        script_path = deployment.config.base_dir / "scripts" / "qualified.yaml"
    script = load_script(script_path)
    book = deployment.leads
    if book is not None and book.problems:
        for problem in book.problems:
            err_console.print(f"[yellow]warning:[/] skipped {problem}", markup=True)
    for warning in deployment.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", markup=True)
    try:
        run = asyncio.run(run_script(deployment, script, lead_phone=lead_phone, offline=offline))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--lead-phone") from None
    report = run.report
    assert report is not None
    print_call(console, report, deployment)
    if report_path is not None:
        report_path.parent.mkdir(parents=True, exist_ok=True)
        report_path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
        console.print(f"report written to {report_path}")
    unmet = script.unmet(report)
    if unmet:
        for problem in unmet:
            err_console.print(f"[red]expectation failed:[/] {problem}")
        sys.exit(1)


# -- journal ---------------------------------------------------------------------------


@cli.group()
def journal() -> None:
    """The call journal: list, show and re-deliver post-call actions."""


@journal.command("list")
@config_argument
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def journal_list(config: Path, limit: int, as_json: bool) -> None:
    """The newest calls."""
    deployment = _load(config)
    if as_json:
        click.echo(json.dumps([dict(row) for row in deployment.journal.list(limit)], indent=2))
        return
    table = _table("call id", "phone", "disposition", "started (UTC)", "post-call")
    for row in deployment.journal.list(limit):
        pending = row["undelivered"] or 0
        status = f"{row['deliveries'] - pending}/{row['deliveries']} delivered"
        table.add_row(
            row["call_id"], row["phone"], row["disposition"], row["started_at"][:19], status
        )
    console.print(table)


@journal.command("show")
@click.argument("call_id")
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def journal_show(call_id: str, config: Path, as_json: bool) -> None:
    """One call's report (CALL_ID may be a unique prefix)."""
    from .render import print_call

    deployment = _load(config)
    report = deployment.journal.get(call_id)
    if report is None:
        raise click.BadParameter(f"no single call matches {call_id!r}", param_hint="CALL_ID")
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        print_call(console, report, deployment)


@journal.command("retry")
@config_argument
@click.option(
    "--attempts", type=int, help="Attempts per delivery (default [journal].retry_attempts)."
)
@click.option("--backoff", type=float, help="First backoff in seconds (default from [journal]).")
def journal_retry(config: Path, attempts: int | None, backoff: float | None) -> None:
    """Re-deliver every pending or failed post-call action, with backoff."""
    from .delivery import retry_undelivered

    deployment = _load(config)
    outcomes = asyncio.run(
        retry_undelivered(deployment, attempts=attempts, backoff_seconds=backoff)
    )
    if not outcomes:
        console.print("nothing to deliver")
    failed = 0
    for call_id, plugin, delivered in outcomes:
        console.print(
            f"{call_id} {plugin}: {'[green]delivered[/]' if delivered else '[red]failed[/]'}"
        )
        failed += not delivered
    if failed:
        sys.exit(1)


@cli.command()
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def report(config: Path, as_json: bool) -> None:
    """Summarise the journaled calls: dispositions, conversion, latency, cost."""
    from .summary import summarize

    deployment = _load(config)
    summary = summarize(deployment.journal.reports())
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    table = _table("metric", "value")
    table.add_row("calls", str(summary["calls"]))
    for disposition, count in summary["dispositions"].items():
        table.add_row(f"  {disposition}", str(count))
    table.add_row("qualified", f"{summary['qualified']} ({summary['conversion']:.0%} of calls)")
    table.add_row("meetings booked", str(summary["meetings"]))
    latency = summary["median_latency_seconds"]
    table.add_row("median latency", "n/a" if latency is None else f"{latency * 1000:.0f} ms")
    table.add_row("cost per call", f"${summary['cost_per_call_usd']:.4f}")
    table.add_row("total cost", f"${summary['total_cost_usd']:.4f}")
    console.print(table)


# -- worker ------------------------------------------------------------------------------


def _worker_command(mode: str):
    @config_argument
    @click.argument("livekit_args", nargs=-1, type=click.UNPROCESSED)
    def command(config: Path, livekit_args: tuple[str, ...]) -> None:
        from .worker import run_worker

        run_worker(_load(config), mode, list(livekit_args))

    command.__doc__ = {
        "start": "Run the LiveKit worker for CONFIG (production). Needs LIVEKIT_URL/API_KEY/API_SECRET.",
        "dev": "Run the LiveKit worker for CONFIG in development mode (reloads, debug logs).",
        "console": "Talk to the agent of CONFIG in this terminal (needs PortAudio).",
    }[mode]
    return command


for _mode in ("start", "dev", "console"):
    cli.command(_mode, context_settings={"ignore_unknown_options": True})(_worker_command(_mode))


_plugin_commands_added = False


def build_cli() -> click.Group:
    """The ``voicekit`` group with every plugin's subcommands added (once). Tests use this
    with ``click.testing.CliRunner``."""
    global _plugin_commands_added
    if not _plugin_commands_added:
        _plugin_commands_added = True
        _add_plugin_commands()
    return cli


def _add_plugin_commands() -> None:
    """Let built-in and installed plugins add subcommands (``register_commands``)."""
    from .plugins import (
        BUILTIN_PLUGINS,
        VoicekitPluginManager,
        _import,
        _load_entry_point,
        installed_plugins,
    )

    pm = VoicekitPluginManager()
    for name, module_path in BUILTIN_PLUGINS.items():
        pm.register_plugin(_import(module_path, what=f"built-in plugin {name!r}"), name)
    for name in installed_plugins():
        try:
            pm.register_plugin(_load_entry_point(name), name)
        except VoicekitError as exc:
            err_console.print(f"[yellow]warning:[/] {exc}")
    pm.hook.register_commands(cli=cli)


def main() -> None:
    """Console-script entry point."""
    build_cli()(prog_name="voicekit")
