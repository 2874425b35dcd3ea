"""CLI: ``voicekit campaign create|export`` and ``voicekit dnc add|remove|list|import``.

Exit status: 0 done (rows that were not imported are listed, and counted, but do not fail
the command unless ``--strict``), 2 bad input (config, file, unknown campaign or source,
an invalid number on the command line, bad rows with ``--strict``): then nothing was
written. Untrusted text (lead fields, reasons, file cells) is printed escaped, phones and
emails masked when ``--mask-pii`` / ``VOICEKIT_MASK_PII`` is on.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.progress import Progress

    from ..deployment import Deployment
    from .importer import ImportResult, RowIssue

config_argument = click.argument("config", type=click.Path(path_type=Path))
campaign_option = click.option(
    "--campaign",
    "campaign_ref",
    metavar="CAMPAIGN",
    help="A campaign name or id: its own list instead of the global one.",
)
MAX_NAME_CHARS = 200


def add_commands(*groups: click.Group) -> None:
    """Add ``create`` and ``export`` to the ``campaign`` group and ``add``, ``remove``,
    ``list``, ``import`` to the ``dnc`` group (``add_commands(campaign, dnc)``)."""
    campaign, dnc = groups
    campaign.add_command(create)
    campaign.add_command(export)
    for command in (dnc_add, dnc_remove, dnc_list, dnc_import):
        dnc.add_command(command)


def _consoles():
    from ..cli import console, err_console

    return console, err_console


def _load(config: Path) -> Deployment:
    from ..deployment import load_deployment

    return load_deployment(config)


# -- campaign create ---------------------------------------------------------------------


@click.command()
@config_argument
@click.option("--name", required=True, help="The campaign's name (unique).")
@click.option(
    "--leads",
    "leads_file",
    type=click.Path(path_type=Path),
    help="A dialer-format CSV (UTF-8, comma-separated, a 'phone' column; extra columns kept).",
)
@click.option(
    "--from-source",
    "source_spec",
    metavar="NAME[:REF]",
    help="A plugin's lead source, e.g. hubspot:LIST_ID or salesforce:CAMPAIGN_ID.",
)
@click.option(
    "--strict", is_flag=True, help="Fail (import nothing) if any row is invalid or a duplicate."
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    help="Write every reported row (invalid, duplicate, do-not-call, timezone) to this CSV.",
)
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Reported rows to print.",
)
def create(
    config: Path,
    name: str,
    leads_file: Path | None,
    source_spec: str | None,
    strict: bool,
    report_path: Path | None,
    show: int,
) -> None:
    """Create a draft campaign named NAME for CONFIG from a leads CSV or a lead source.

    Numbers are deduplicated (E.164; the first row wins), scrubbed against the DNC lists
    (hits are kept as skipped, with the reason) and checked for a known timezone. Rows
    that are not leads are listed with their spreadsheet row numbers. The import is one
    transaction: on any error nothing is created.
    """
    from .importer import import_csv, import_from_source

    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        raise click.BadParameter(f"1 to {MAX_NAME_CHARS} characters", param_hint="--name")
    if (leads_file is None) == (source_spec is None):
        raise click.UsageError("give exactly one of --leads FILE.csv and --from-source NAME")
    deployment = _load(config)
    store = deployment.store
    total = _count_lines(leads_file) if leads_file is not None else None
    with _issue_report(report_path) as on_issue, _progress("importing", total) as advance:
        if leads_file is not None:
            result = import_csv(
                store,
                deployment.config,
                name=name,
                path=leads_file,
                strict=strict,
                max_issues=show,
                on_issue=on_issue,
                progress=advance,
            )
        else:
            assert source_spec is not None
            result = import_from_source(
                store,
                deployment.config,
                deployment.pm,
                name=name,
                spec=source_spec,
                strict=strict,
                max_issues=show,
                on_issue=on_issue,
                progress=advance,
            )
    _print_import(result, report_path, config)


def _count_lines(path: Path) -> int | None:
    """Data lines in ``path`` (a progress total; quoted multi-line fields overcount)."""
    try:
        with path.open("rb") as handle:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return None  # the import names the file and the reason
    return max(lines - 1, 1)


@contextmanager
def _progress(what: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A transient rich progress bar on stderr; yields ``advance(rows_done)``."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    _, err_console = _consoles()
    bar: Progress = Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with bar:
        task = bar.add_task(what, total=total)

        def advance(done: int) -> None:
            new_total = max(total or 0, done) if total is not None else None
            bar.update(task, completed=done, total=new_total)

        yield advance


@contextmanager
def _issue_report(path: Path | None) -> Iterator[Callable[[RowIssue], None] | None]:
    """With ``path``, a CSV of every reported row, written to a temporary file and
    renamed into place when the import finished (also after a ``--strict`` refusal,
    which is when it is most useful); removed after any other failure."""
    from .importer import ISSUE_COLUMNS, StrictImportError, issue_csv_row

    if path is None:
        yield None
        return
    try:
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise click.BadParameter(f"{path}: {exc.strerror}", param_hint="--report") from None
    keep = False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=ISSUE_COLUMNS, lineterminator="\n")
            writer.writeheader()

            def on_issue(issue: RowIssue) -> None:
                from .export import safe_cell

                writer.writerow({k: safe_cell(v) for k, v in issue_csv_row(issue).items()})

            try:
                yield on_issue
            except StrictImportError:
                keep = True
                raise
            keep = True
    finally:
        if keep:
            os.replace(temp, path)
        else:
            with suppress(FileNotFoundError):
                os.unlink(temp)


def _print_import(result: ImportResult, report_path: Path | None, config: Path) -> None:
    from rich.markup import escape

    from ..masking import display_phone
    from ..render import shown

    console, _ = _consoles()
    campaign = result.campaign
    console.print(
        f"[green]created[/] campaign {shown(campaign.name)} (id {escape(campaign.id)}, "
        f"{campaign.state}) from {shown(result.source)}",
        soft_wrap=True,
    )
    console.print(
        f"  {result.rows:,} rows: {result.pending:,} pending, {result.skipped:,} skipped "
        f"({result.do_not_call:,} do-not-call, {result.timezone_unknown:,} timezone unknown), "
        f"{result.invalid:,} invalid, {result.duplicates:,} duplicates",
        soft_wrap=True,
    )
    if result.issues:
        from ..cli import _table

        table = _table("row", "kind", "phone", "reason")
        for issue in result.issues:
            phone = display_phone(issue.phone) if issue.phone.startswith("+") else issue.phone
            table.add_row(
                shown(issue.where),
                issue.kind + (" (skipped)" if issue.stored else ""),
                escape(phone),
                shown(issue.reason),
            )
        console.print(table)
        if result.issue_count > len(result.issues):
            console.print(
                f"  showing {len(result.issues):,} of {result.issue_count:,} reported rows"
                + ("" if report_path else " (--report FILE.csv for all of them)")
            )
    if report_path is not None:
        console.print(f"  every reported row is in {shown(report_path)}")
    console.print(
        f"next: voicekit campaign run {shown(str(config))} {shown(campaign.name)}", soft_wrap=True
    )


# -- campaign export ---------------------------------------------------------------------


@click.command()
@config_argument
@click.argument("campaign_ref", metavar="CAMPAIGN")
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (atomically) instead of standard output.",
)
def export(config: Path, campaign_ref: str, output: Path | None) -> None:
    """Export CAMPAIGN's leads, attempts and results as CSV (one row per attempt).

    Cells that a spreadsheet would run as a formula get a leading quote. With --output,
    the file is written beside the target and renamed into place: never half-written.
    """
    from ..render import shown
    from .export import export_to_path, write_export
    from .repo import find_campaign

    deployment = _load(config)
    store = deployment.store
    campaign = find_campaign(store, campaign_ref)
    console, _ = _consoles()
    if output is None:
        out = click.get_text_stream("stdout")
        write_export(store, campaign, out)
        out.flush()
        return
    if not output.parent.is_dir():
        raise click.BadParameter(f"{output.parent} is not a folder", param_hint="--output")
    with _progress("exporting", None) as advance:
        try:
            count = export_to_path(store, campaign, output, progress=advance)
        except OSError as exc:
            raise click.BadParameter(f"{output}: {exc.strerror}", param_hint="--output") from None
    console.print(f"wrote {count:,} rows of campaign {shown(campaign.name)} to {shown(output)}")


# -- dnc ---------------------------------------------------------------------------------


def _scope(deployment: Deployment, campaign_ref: str | None) -> tuple[str, str]:
    """``(scope, label)`` for ``--campaign`` (the campaign's id) or the global list."""
    from .dnc import GLOBAL_SCOPE
    from .repo import find_campaign

    if not campaign_ref:
        return GLOBAL_SCOPE, "the global do-not-call list"
    campaign = find_campaign(deployment.store, campaign_ref)
    return campaign.id, f"the do-not-call list of campaign {campaign.name!r}"


def _phones(deployment: Deployment, raw: tuple[str, ...]) -> list[str]:
    """Every PHONE argument in E.164 (an extension is accepted and dropped); a bad one is a
    usage error naming it, before anything is written."""
    from ..phones import InvalidPhone, PhonePolicy

    policy = PhonePolicy.from_config(deployment.config)
    lenient = PhonePolicy(policy.default_region, True, policy.allow_vanity)
    phones: list[str] = []
    for value in raw:
        try:
            phones.append(lenient.parse(value).e164)
        except InvalidPhone as exc:
            raise click.BadParameter(f"{value!r}: {exc}", param_hint="PHONE") from None
    return list(dict.fromkeys(phones))


@click.command("add")
@config_argument
@click.argument("numbers", metavar="PHONE...", nargs=-1, required=True)
@campaign_option
@click.option("--reason", default="", help="Why (kept with the entry).")
def dnc_add(config: Path, numbers: tuple[str, ...], campaign_ref: str | None, reason: str) -> None:
    """Put PHONE numbers on CONFIG's do-not-call list (global, or --campaign's)."""
    from rich.markup import escape

    from ..masking import display_phone
    from .dnc import add_dnc

    deployment = _load(config)
    phones = _phones(deployment, numbers)
    scope, label = _scope(deployment, campaign_ref)
    console, _ = _consoles()
    with deployment.store.write() as db:
        added = [p for p in phones if add_dnc(db, p, scope=scope, reason=reason, source="cli")]
    for phone in phones:
        state = "added to" if phone in added else "already on"
        console.print(f"{escape(display_phone(phone))} {state} {escape(label)}")


@click.command("remove")
@config_argument
@click.argument("numbers", metavar="PHONE...", nargs=-1, required=True)
@campaign_option
def dnc_remove(config: Path, numbers: tuple[str, ...], campaign_ref: str | None) -> None:
    """Take PHONE numbers off CONFIG's do-not-call list (global, or --campaign's only)."""
    from rich.markup import escape

    from ..masking import display_phone
    from .dnc import remove_dnc

    deployment = _load(config)
    phones = _phones(deployment, numbers)
    scope, label = _scope(deployment, campaign_ref)
    console, _ = _consoles()
    with deployment.store.write() as db:
        removed = [p for p in phones if remove_dnc(db, p, scope=scope)]
    for phone in phones:
        state = "removed from" if phone in removed else "was not on"
        console.print(f"{escape(display_phone(phone))} {state} {escape(label)}")


@click.command("list")
@config_argument
@campaign_option
@click.option("--all", "every_scope", is_flag=True, help="Every list: global and per campaign.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="Entries to show (0: all).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def dnc_list(
    config: Path, campaign_ref: str | None, every_scope: bool, limit: int, as_json: bool
) -> None:
    """List CONFIG's do-not-call entries (global by default)."""
    from ..masking import display_phone
    from ..render import shown
    from .dnc import iter_dnc

    deployment = _load(config)
    scope: str | None
    if every_scope:
        if campaign_ref:
            raise click.UsageError("give --campaign or --all, not both")
        scope, label = None, "every do-not-call list"
    else:
        scope, label = _scope(deployment, campaign_ref)
    console, _ = _consoles()
    entries = iter_dnc(deployment.store, scope)
    if as_json:
        out = click.get_text_stream("stdout")
        for count, entry in enumerate(entries, start=1):
            if limit and count > limit:
                break
            record = {
                "phone": entry.phone,
                "scope": entry.scope,
                "reason": entry.reason,
                "source": entry.source,
                "created_at": entry.created_at.isoformat(),
            }
            out.write(json.dumps(record) + "\n")
        return
    from ..cli import _table

    table = _table("phone", "scope", "since", "reason", "source")
    shown_count, more = 0, False
    for entry in entries:
        if limit and shown_count >= limit:
            more = True
            break
        shown_count += 1
        table.add_row(
            shown(display_phone(entry.phone)),
            "global" if entry.is_global else shown(entry.scope),
            f"{entry.created_at:%Y-%m-%d}",
            shown(entry.reason),
            shown(entry.source),
        )
    if not shown_count:
        console.print(f"{shown(label)} is empty")
        return
    console.print(table)
    if more:
        console.print(f"showing the first {limit:,} entries (--limit 0 for all)")


@click.command("import")
@config_argument
@click.argument("file", type=click.Path(path_type=Path))
@campaign_option
@click.option("--strict", is_flag=True, help="Fail (import nothing) if any row is not a number.")
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=50,
    show_default=True,
    help="Bad rows to print.",
)
def dnc_import(config: Path, file: Path, campaign_ref: str | None, strict: bool, show: int) -> None:
    """Add every number in FILE to CONFIG's do-not-call list (global, or --campaign's).

    FILE is a CSV with a 'phone' column (and optionally 'reason'), or text with one
    number per line ('#' starts a comment, kept as the reason). One transaction; rows that
    are not numbers are listed with their row numbers (and, with --strict, fail it).
    """
    from ..phones import PhonePolicy
    from ..render import shown
    from .dnc import import_dnc

    deployment = _load(config)
    scope, label = _scope(deployment, campaign_ref)
    console, _ = _consoles()
    with _progress("importing", _count_lines(file)) as advance:
        result = import_dnc(
            deployment.store,
            file,
            policy=PhonePolicy.from_config(deployment.config),
            scope=scope,
            strict=strict,
            max_problems=show,
            progress=advance,
        )
    console.print(
        f"{result.added:,} added to {shown(label)}, {result.already:,} already there, "
        f"{result.problem_count:,} bad rows (of {result.rows:,} rows in {shown(file)})"
    )
    if result.problems:
        from ..cli import _table

        table = _table("row", "reason")
        for problem in result.problems:
            table.add_row(shown(problem.key), shown(problem.reason))
        console.print(table)
        if result.problem_count > len(result.problems):
            console.print(f"showing {len(result.problems):,} of {result.problem_count:,} bad rows")
