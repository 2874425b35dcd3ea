"""CLI: ``voicekit campaign edit|redial``.

``edit`` sets a campaign's overrides (:mod:`.overrides`): its own instructions and
greeting, and parts of ``[dialer]``. ``redial`` reopens the leads nobody answered
(:mod:`.redial`). ``CAMPAIGN`` is a name or an id. Exit status: 0 done, 2 bad input (an
unknown campaign, a placeholder or ``[dialer]`` value that does not fit, a key a campaign
cannot override, a file that cannot be read), with each key and value named; nothing is
written then. Untrusted text (names, prompts, reasons) is printed escaped.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .commands_run import _consoles, _load, _shown, campaign_argument, config_argument

if TYPE_CHECKING:
    from rich.console import Console

    from .overrides import CampaignOverrides
    from .repo import Campaign

#: Characters of the rendered instructions ``edit --preview`` prints.
PREVIEW_CHARS = 1_500


def add_commands(*groups: click.Group) -> None:
    """Add ``edit`` and ``redial`` to the ``campaign`` group (``add_commands(campaign)``)."""
    (campaign,) = groups
    campaign.add_command(edit)
    campaign.add_command(redial)


# -- edit -----------------------------------------------------------------------------------


@click.command()
@config_argument
@campaign_argument
@click.option(
    "--instructions",
    metavar="FILE|TEXT",
    help="The campaign's prompt: a file (read now; its text is stored with the campaign) "
    "or the text itself. {lead.*} placeholders as in [agent] instructions.",
)
@click.option(
    "--greeting",
    metavar="TEXT",
    help='The campaign\'s opening line ("" for none: the model opens).',
)
@click.option(
    "--set",
    "assignments",
    metavar="dialer.KEY=VALUE",
    multiple=True,
    help="Override one [dialer] value (a TOML value): dialer.pacing.max_concurrency=2, "
    'dialer.retry.max_attempts=2, dialer.calling_hours.daily=["09:00-17:00"]. Repeatable.',
)
@click.option(
    "--unset",
    "unsets",
    metavar="KEY",
    multiple=True,
    help="Back to the deployment's value: instructions, greeting, dialer (all of it) or "
    "dialer.KEY. Repeatable.",
)
@click.option("--clear", is_flag=True, help="Remove every override of the campaign.")
@click.option(
    "--preview",
    is_flag=True,
    help="Print the greeting and instructions as rendered for a lead (--lead, else the "
    "campaign's first).",
)
@click.option("--lead", "lead_id", type=int, help="The lead (its id) --preview renders for.")
@click.option("--dry-run", is_flag=True, help="Check the changes and show them; write nothing.")
def edit(
    config: Path,
    campaign: str,
    instructions: str | None,
    greeting: str | None,
    assignments: tuple[str, ...],
    unsets: tuple[str, ...],
    clear: bool,
    preview: bool,
    lead_id: int | None,
    dry_run: bool,
) -> None:
    """Set CAMPAIGN's own script and dialer settings (overrides of the deployment's).

    Without changes, prints the campaign's overrides. Every change is checked before
    anything is written: unknown {lead.*} placeholders, [dialer] values out of range, and
    keys only the deployment sets (trunk limits, the daily cap, lifting the legal calling
    window) exit 2 naming the key and value. A running campaign applies new [dialer]
    values within a second and the new script from its next call. The edit is logged in
    the campaign's activity log.
    """
    from . import overrides as ov
    from . import repo

    deployment = _load(config)
    store = deployment.store
    current = repo.find_campaign(store, campaign)
    before = ov.campaign_overrides(current)
    after = ov.CampaignOverrides() if clear else before
    for key in unsets:
        after = after.without(key.strip())
    if instructions is not None:
        after = after.with_value("instructions", _instructions_text(instructions))
    if greeting is not None:
        after = after.with_value("greeting", greeting)
    for text in assignments:
        key, value = ov.parse_assignment(text)
        after = after.with_value(key, value)
    changing = (
        clear or bool(unsets or assignments) or instructions is not None or greeting is not None
    )
    console, _ = _consoles()
    if changing:
        problems = ov.check_overrides(deployment.config, after, where=f"campaign {current.name!r}")
        if problems:
            raise ov.OverrideError(problems)
        change = ov.describe_changes(before, after)
        if dry_run:
            console.print(
                f"campaign [bold]{_shown(current.name)}[/] ({current.id}): would change: "
                f"{_shown(change)} (dry run: nothing written)"
            )
        else:
            with store.write() as db:
                current = ov.set_overrides(db, current.id, after, deployment.config, by="cli")
            console.print(
                f"campaign [bold]{_shown(current.name)}[/] ({current.id}) edited: {_shown(change)}"
            )
    _print_overrides(console, current, after)
    if preview:
        lead = ov.campaign_lead(store, current.id, lead_id)
        if lead is None and lead_id is not None:
            raise repo.CampaignError(f"campaign {current.name!r} has no lead with id {lead_id}")
        shown = ov.preview(deployment.config, after, lead)
        who = f"lead {lead_id}" if lead_id is not None else "the first lead"
        console.print(f"preview for {who if lead is not None else 'no lead'}:")
        console.print(f"  greeting: {_shown(shown.greeting) or '(none: the model opens)'}")
        text = shown.instructions
        clipped = text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")
        console.print("  instructions:")
        for line in clipped.splitlines():
            console.print(f"    {_shown(line)}")


def _instructions_text(value: str) -> str:
    """``--instructions``: an existing file's text, else the value itself; a value that
    names a missing ``.md`` / ``.txt`` file is an error, not a prompt."""
    from ..errors import Problem
    from .overrides import OverrideError

    if "\n" not in value and len(value) < 4096:
        path = Path(value).expanduser()
        if path.is_file():
            try:
                return path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError) as exc:
                reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else str(exc)
                raise OverrideError(
                    [Problem(str(path), "--instructions", "", f"cannot read: {reason}")]
                ) from None
        if value.strip().endswith((".md", ".txt")):
            raise OverrideError(
                [
                    Problem(
                        "--instructions",
                        "",
                        value[:200],
                        "no such file (give an existing file, or the instructions text)",
                    )
                ]
            )
    return value


def _print_overrides(console: Console, campaign: Campaign, overrides: CampaignOverrides) -> None:
    """The overrides, one line per key (``none`` when there are none)."""
    lines = override_lines(overrides)
    if not lines:
        console.print(
            f"overrides of {_shown(campaign.name)}: none (the deployment's agent and [dialer])"
        )
        return
    console.print(f"overrides of {_shown(campaign.name)}:")
    for line in lines:
        console.print(f"  {_shown(line)}")


def override_lines(overrides: CampaignOverrides) -> list[str]:
    """``["greeting = 'Hi {lead.first_name}'", "dialer.pacing.max_concurrency = 2", ...]``
    (instructions shown by length and first line)."""
    import json

    from .overrides import dialer_items

    lines = []
    if overrides.instructions is not None:
        first = overrides.instructions.strip().splitlines()[0][:80]
        lines.append(f"instructions = {len(overrides.instructions):,} characters: {first!r}")
    if overrides.greeting is not None:
        lines.append(f"greeting = {overrides.greeting!r}")
    for dotted, value in dialer_items(overrides.dialer):
        lines.append(f"dialer.{dotted} = {json.dumps(value, default=str)}")
    return lines


# -- redial ---------------------------------------------------------------------------------


@click.command()
@config_argument
@campaign_argument
@click.option(
    "--disposition",
    "dispositions",
    multiple=True,
    metavar="DISPOSITION",
    help="Reopen final leads with this disposition (repeatable; default no_answer, busy, "
    "voicemail).",
)
def redial(config: Path, campaign: str, dispositions: tuple[str, ...]) -> None:
    """Give CAMPAIGN's unanswered leads another attempt: final leads that ended no_answer,
    busy or voicemail go back to ready, and a completed campaign runs again.

    Attempt counts are kept (a lead that used up its retries gets one more attempt); leads
    now on a do-not-call list stay closed. A `voicekit campaign serve` process dials them
    (or `voicekit campaign run`).
    """
    from .redial import UNANSWERED
    from .redial import redial as redial_leads

    deployment = _load(config)
    result = redial_leads(deployment.store, campaign, dispositions or UNANSWERED, by="cli")
    from . import repo

    row = repo.find_campaign(deployment.store, result.campaign_id)
    console, _ = _consoles()
    text = f"campaign [bold]{_shown(row.name)}[/] ({row.id}): {result.reopened} lead(s) reopened"
    if result.kept_dnc:
        text += f"; {result.kept_dnc} on a do-not-call list kept closed"
    if result.reopened_campaign:
        text += "; completed -> running"
    console.print(text)
    if result.reopened and result.state == "running":
        console.print(
            "a `voicekit campaign serve` process dials them (or run `voicekit campaign run`)"
        )
    elif result.reopened and result.state != "running":
        console.print(f"the campaign is {result.state}: they are dialed once it runs")


__all__ = ["add_commands", "override_lines"]
