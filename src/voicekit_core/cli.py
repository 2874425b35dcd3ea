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

from . import masking
from .errors import VoicekitError
from .redaction import redact
from .render import shown as untrusted

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class VoicekitGroup(click.Group):
    """Turns VoicekitError into a clear message and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VoicekitError as exc:
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}")
            for line in masking.display_text(redact(str(exc))).splitlines():
                err_console.print(f"  {line}", markup=False, soft_wrap=True)
            ctx.exit(2)


@click.group(cls=VoicekitGroup)
@click.option("-v", "--verbose", count=True, help="-v info logs, -vv debug logs")
@click.option(
    "--mask-pii/--no-mask-pii",
    default=None,
    help="Mask phones and emails in output (default: VOICEKIT_MASK_PII, else off).",
)
@click.version_option(package_name="voicekit-core")
def cli(verbose: int, mask_pii: bool | None) -> None:
    """voicekit: AI phone agents from a config file and plugins."""
    masking.set_enabled(mask_pii)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:  # tracebacks from livekit or an SDK are for -vv, not for users
        for handler in logging.getLogger().handlers:
            handler.setFormatter(_OneLineFormatter("%(levelname)s %(name)s: %(message)s"))


class _OneLineFormatter(logging.Formatter):
    """Log records without their traceback (the message already says what failed)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


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
    """Validate CONFIG and print it resolved, with secrets redacted.

    A file that ``extends`` another is printed merged; an error names the file that wrote
    the bad value.
    """
    deployment = _load(config)
    data = deployment.config.redacted()
    sources = deployment.config.sources
    chain = f" (extends {', '.join(untrusted(p) for p in sources[1:])})" if sources[1:] else ""
    console.print(f"[green]ok[/] {untrusted(deployment.config.path)}{chain}")
    console.print_json(json.dumps(data, default=str))
    for warning in deployment.warnings:
        err_console.print(f"[yellow]warning:[/] {untrusted(warning)}")
    declared = deployment.dispositions.custom()
    if declared:
        names = ", ".join(f"{d.name}{' (success)' if d.success else ''}" for d in declared)
        console.print(f"declared dispositions: {untrusted(names)}")
    schema = deployment.extraction
    if schema is not None:
        required = sum(f.required for f in schema.fields)
        confirm = sum(f.confirm for f in schema.fields)
        console.print(
            f"record_details collects {untrusted(schema.name)}: {len(schema.fields)} "
            f"field{'s' if len(schema.fields) != 1 else ''} "
            f"({required} required, {confirm} read back), from {untrusted(schema.source)}"
        )
    book = deployment.leads
    if book is not None:
        summary = book.summarize(max_problems=50)  # one streamed pass, never all leads
        summary.raise_for_problems()
        console.print(f"{summary.valid} leads in {untrusted(book.path)}")


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
        table.add_row(
            *(untrusted(", ".join(v) if isinstance(v, list) else v) for v in row.values())
        )
    console.print(table)


@cli.group("plugin")
def plugin_group() -> None:
    """Write plugins: scaffold a publishable distribution."""


@plugin_group.command("new")
@click.argument("name")
@click.option(
    "--hooks",
    default="tools,post_call",
    show_default=True,
    help="Comma-separated examples to include: tools, post_call, lead_lookup, instructions, "
    "before_dial, lifecycle, commands.",
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder to create voicekit-NAME in (default: here).",
)
@click.option("--description", default="", help="One line for pyproject.toml and the README.")
@click.option("--author", default="", help="Author name for pyproject.toml.")
def plugin_new(name: str, hooks: str, output_dir: Path, description: str, author: str) -> None:
    """Create voicekit-NAME/: a plugin distribution ready to install, test and publish.

    src layout, pyproject.toml (version, entry point in group 'voicekit'), a settings
    model, one example per hook, a README, tests on voicekit's harness, a demo deployment
    for `voicekit simulate`, and a noxfile for CI. It installs, passes its tests and is
    listed by `voicekit plugins` as generated.
    """
    from .plugin_kit import new_plugin

    target = new_plugin(
        name, hooks=hooks, output_dir=output_dir, description=description, author=author
    )
    console.print(f"[green]created[/] {untrusted(target)}")
    console.print(f"next: cd {untrusted(target)}")
    console.print("  pip install -e '.[test]' && pytest", markup=False)
    console.print("  voicekit simulate demo --script demo/call.yaml", markup=False)


@cli.group("docs")
def docs_group() -> None:
    """Reference documentation generated from the code."""


@docs_group.command("reference")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("docs") / "reference",
    show_default=True,
    help="Folder to write the pages to.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a page is stale.")
def docs_reference(out: Path, check: bool) -> None:
    """Write the object and caller-script reference pages (from the pydantic models)."""
    from .docs_gen import stale, write_all

    if check:
        names = stale(out)
        for name in names:
            err_console.print(f"[red]stale:[/] {untrusted(out / name)}")
        if names:
            sys.exit(1)
        console.print("reference pages are up to date")
        return
    changed = write_all(out)
    for path in changed:
        console.print(f"wrote {untrusted(path)}")
    if not changed:
        console.print("reference pages are up to date")


_LEADS_PAGE = 1000  # leads per table with --all (a table is held whole to size its columns)


@cli.command()
@config_argument
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Show at most this many leads and bad rows (all are counted).",
)
@click.option("--all", "show_all", is_flag=True, help="Show every lead and every bad row.")
def leads(config: Path, limit: int, show_all: bool) -> None:
    """List the leads of CONFIG's CSV and report bad rows (exit 2 if any).

    The file is streamed once: the first --limit leads are shown, then the counts and
    the bad rows with their row numbers.
    """
    from .lead_csv import LeadSummary

    deployment = _load(config)
    book = deployment.leads
    if book is None:
        console.print("leads.source is 'none'")
        return
    if show_all:
        summary = LeadSummary(book.path)
        page: list[Any] = []
        for result in book.rows():
            summary.add(result, max_problems=-1)
            if result.lead is not None:
                page.append(result.lead)
                if len(page) == _LEADS_PAGE:
                    _print_leads(page)
                    page = []
        if page or not summary.valid:
            _print_leads(page)
    else:  # one pass, in worker processes for large files
        summary = book.summarize(max_leads=limit, max_problems=limit)
        _print_leads(summary.leads)
    shown = summary.valid if show_all else min(limit, summary.valid)
    more = "" if shown == summary.valid else " (--limit N or --all to see more)"
    console.print(
        f"{summary.valid:,} leads, {summary.problem_count:,} bad rows in {untrusted(book.path)}; "
        f"showing {shown:,}{more}"
    )
    summary.raise_for_problems()


def _print_leads(leads: list[Any]) -> None:
    table = _table("phone", "name", "company", "title", "timezone", "email")
    for lead in leads:
        phone = masking.display_phone(lead.phone)
        table.add_row(
            untrusted(f"{phone} ext. {lead.extension}" if lead.extension else phone),
            untrusted(lead.name),
            untrusted(lead.company),
            untrusted(lead.job_title),
            untrusted(lead.timezone),
            untrusted(masking.display_email(lead.email)),
        )
    console.print(table)


# -- journal ---------------------------------------------------------------------------


@cli.group()
def journal() -> None:
    """The call journal: list, show and re-deliver post-call actions."""


@journal.command("list")
@config_argument
@click.option("--limit", default=20, show_default=True)
@click.option(
    "--disposition",
    help="Only calls that ended with this disposition (built-in or declared in [dispositions]).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def journal_list(config: Path, limit: int, disposition: str | None, as_json: bool) -> None:
    """The newest calls."""
    deployment = _load(config)
    if disposition is not None:
        try:
            disposition = deployment.dispositions.require(disposition.strip()).value
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--disposition") from None
    if as_json:
        rows = [dict(row) for row in deployment.journal.list(limit, disposition=disposition)]
        for row in rows:
            if row.get("phone"):
                row["phone"] = masking.display_phone(row["phone"])
        click.echo(json.dumps(rows, indent=2))
        return
    table = _table("call id", "phone", "disposition", "started (UTC)", "post-call")
    for row in deployment.journal.list(limit, disposition=disposition):
        pending = row["undelivered"] or 0
        status = f"{row['deliveries'] - pending}/{row['deliveries']} delivered"
        table.add_row(
            untrusted(row["call_id"]),
            untrusted(masking.display_phone(row["phone"])),
            untrusted(row["disposition"]),
            untrusted(row["started_at"][:19]),
            status,
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
    """Re-deliver every pending or failed post-call action nobody else is running.

    First imports reports saved in spill files and marks calls whose process died as
    interrupted. Each delivery is claimed with a lease, so several retries (or a retry
    and a live worker) can run at once without delivering anything twice. Exit 1 if a
    delivery still fails.
    """
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .delivery import import_spills, retry_undelivered

    deployment = _load(config)
    spilled = import_spills(deployment)
    if spilled:
        console.print(f"imported {len(spilled)} report(s) from spill files")
    recovered = deployment.journal.recover_interrupted(deployment.post_call_plugins())
    if recovered:
        console.print(f"recovered {len(recovered)} interrupted call(s) (marked interrupted)")
    pending = len(deployment.journal.undelivered())
    with Progress(
        TextColumn("delivering"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=pending or None)

        def progress(outcome, done: int, total: int) -> None:
            state = "delivered" if outcome.delivered else "failed"
            bar.update(task, completed=done, total=total, description=f"{outcome.plugin} {state}")

        outcomes = asyncio.run(
            retry_undelivered(
                deployment, attempts=attempts, backoff_seconds=backoff, progress=progress
            )
        )
    if not outcomes:
        console.print("nothing to deliver")
        return
    failed = 0
    table = _table("call id", "plugin", "outcome")
    for call_id, plugin, delivered in outcomes:
        record = next(
            (d for d in deployment.journal.deliveries(call_id) if d.plugin == plugin), None
        )
        detail = "[green]delivered[/]" if delivered else "[red]failed[/]"
        if not delivered and record is not None and record.error:
            detail += " " + escape(record.error[:120])
        table.add_row(untrusted(call_id), escape(plugin), detail)
        failed += not delivered
    console.print(table)
    console.print(f"{len(outcomes) - failed} delivered, {failed} failed")
    if failed:
        sys.exit(1)


@cli.command()
@config_argument
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def report(config: Path, as_json: bool) -> None:
    """Summarise the journaled calls: dispositions, conversion, latency, cost."""
    from .summary import summarize

    deployment = _load(config)
    summary = summarize(deployment.journal.reports(), deployment.dispositions)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    table = _table("metric", "value")
    table.add_row("calls", str(summary["calls"]))
    for disposition, count in summary["dispositions"].items():
        label = summary["labels"].get(disposition, "")
        shown = untrusted(disposition)
        if label and label.lower() != disposition.replace("_", " "):
            shown += f" ({untrusted(label)})"
        table.add_row(f"  {shown}", str(count))
    table.add_row("successes", f"{summary['successes']} ({summary['success_rate']:.0%} of calls)")
    table.add_row("qualified", f"{summary['qualified']} ({summary['conversion']:.0%} of calls)")
    table.add_row("meetings booked", str(summary["meetings"]))
    latency = summary["median_latency_seconds"]
    table.add_row("median latency", "n/a" if latency is None else f"{latency * 1000:.0f} ms")
    table.add_row("cost per call", f"${summary['cost_per_call_usd']:.4f}")
    table.add_row("total cost", f"${summary['total_cost_usd']:.4f}")
    console.print(table)


# -- worker ------------------------------------------------------------------------------


def split_worker_args(args: tuple[str, ...]) -> tuple[list[Path], list[str]]:
    """``voicekit start|dev|console`` arguments: the leading ones up to the first option
    (``-...``) or ``--`` are deployment paths (default ``.``), the rest go to livekit's CLI."""
    configs: list[Path] = []
    rest = list(args)
    while rest and not rest[0].startswith("-"):
        configs.append(Path(rest.pop(0)))
    if rest[:1] == ["--"]:
        rest.pop(0)
    return configs or [Path(".")], rest


def _worker_command(mode: str):
    @click.argument(
        "args", nargs=-1, type=click.UNPROCESSED, metavar="[CONFIG]... [LIVEKIT_OPTIONS]..."
    )
    def command(args: tuple[str, ...]) -> None:
        from .routing import serve
        from .worker import run_worker

        configs, livekit_args = split_worker_args(args)
        deployments = [_load(config) for config in configs]
        if len(deployments) > 1 and mode != "console":
            served = serve(deployments)  # every problem before livekit starts
            err_console.print(
                f"serving {len(deployments)} deployments as agent {untrusted(served.agent_name)}:"
            )
            for line in served.describe():
                err_console.print(f"  {untrusted(line)}", soft_wrap=True)
            for warning in served.warnings:
                err_console.print(f"[yellow]warning:[/] {untrusted(warning)}")
        run_worker(deployments, mode, livekit_args)

    command.__doc__ = {
        "start": "Run the LiveKit worker for CONFIG [CONFIG ...] (production). Needs "
        "LIVEKIT_URL/API_KEY/API_SECRET.\n\nSeveral deployment folders share one worker "
        "when they share [agent].name: each call goes to the deployment its job metadata "
        "names or that owns the dialed number (docs/telephony.md). Options after the "
        "folders go to livekit's CLI.",
        "dev": "Run the LiveKit worker for CONFIG [CONFIG ...] in development mode (reloads, "
        "debug logs). Several folders: as for `start`.",
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
            err_console.print(f"[yellow]warning:[/] {untrusted(exc)}")
    pm.hook.register_commands(cli=cli)


from .commands_simulate import simulate  # noqa: E402 - registers on ``cli``, needs it defined

cli.add_command(simulate)


def main() -> None:
    """Console-script entry point."""
    build_cli()(prog_name="voicekit")
