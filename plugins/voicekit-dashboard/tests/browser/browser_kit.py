"""Helpers of the dashboard's browser journey: the lead file it uploads (good rows and one
of each problem), a talkative caller script that keeps a simulated call on the line long
enough to be watched, and small page helpers (errors, dialogs, downloads, screenshots).

Imported by the test modules as ``browser_kit`` (pytest puts this folder on the path).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

#: How long an element may take to show up (ms): the machine is slow and shared.
WAIT = 20_000
#: How long a simulated campaign may take to play out (ms).
CAMPAIGN_WAIT = 120_000

CAMPAIGN_NAME = "Browser journey"
LEAD_FILE = "browser-leads.csv"
#: On the DNC list before the upload: the lead file's "Blocked Prospect" row.
DNC_PHONE = "+1 646 555 0199"
#: Added, found and removed again on the DNC page.
PASSING_DNC_PHONE = "+1 303 555 0177"
#: Caller scripts the leads play (``scripts/<name>.yaml`` of the deployment).
TALKATIVE = "browser_talkative"

#: Every lead's timezone: the sales rep's, so the meeting slots the agent offers suit both.
#: When it is outside the calling hours there (08:00-21:00), the simulated campaign clock
#: jumps to the next opening, which is always on the same UTC day.
LEAD_ZONE = "America/New_York"

#: A qualified prospect who talks at length: about 70 campaign seconds of caller speech
#: (14 s at --speed 5), so the call is still on the line when the browser opens it.
TALKATIVE_SCRIPT = """\
description: A qualified prospect who takes their time (browser tests watch this call live).
turns:
  - "Sure, I have a couple of minutes. I just finished my morning coffee and the team stand-up, so go ahead and tell me what this is about."
  - "Our support team is drowning in repetitive tickets every single day, and our sales reps waste hours each week on CRM updates instead of selling to customers."
  - "We've set aside about $60k for automation this year, and finance put most of it aside for the second half already."
  - "Yes, I own that budget and I make the call on tools like this one, and our board trusts my judgement on operations spending."
  - "Ideally within the next 2 months, because our peak season starts right after that and we want everything ready well before it."
  - "The first one works for me, thank you very much. I will put it in my calendar right away and forward the invite to my assistant."
expect:
  disposition: meeting_booked
"""


def lead_rows() -> list[dict[str, str]]:
    """The uploaded leads: four good ones (each with the caller script it plays), then a
    bad phone, an unknown timezone, a duplicate of the first phone and a number on the
    DNC list (spreadsheet rows 2-9)."""

    def lead(name, company, title, phone, email, script, tz=LEAD_ZONE):
        return {
            "prospect_name": name,
            "company_name": company,
            "job_title": title,
            "phone": phone,
            "email": email,
            "timezone": tz,
            "script": script,
        }

    return [
        lead(
            "Dana Whitfield",
            "Brightline Logistics",
            "VP of Operations",
            "+1 415 555 0101",
            "dana.whitfield@brightline.example",
            TALKATIVE,
        ),
        lead(
            "Marcus Chen",
            "Northwind Health",
            "Director of Patient Support",
            "(212) 555-0102",
            "marcus.chen@northwind.example",
            "not_interested",
        ),
        lead(
            "Priya Raman",
            "Cobalt Retail Group",
            "Head of Customer Experience",
            "+1 312 555 0103",
            "priya.raman@cobalt.example",
            "qualified",
        ),
        lead(
            "Oliver Grant",
            "Harbourside Insurance",
            "Head of Claims Operations",
            "+44 20 7946 0107",
            "oliver.grant@harbourside.example",
            "voicemail",
        ),
        lead("Ivy Typo", "Typo Traders", "Buyer", "555-01", "ivy@typo.example", "qualified"),
        lead(
            "Zed Orbit",
            "Mars Mining",
            "CTO",
            "+1 720 555 0104",
            "zed@mars.example",
            "qualified",
            tz="Mars/Olympus_Mons",
        ),
        lead(
            "Dana Again",
            "Brightline Logistics",
            "VP of Operations",
            "+1 (415) 555-0101",
            "dana.again@brightline.example",
            "qualified",
        ),
        lead(
            "Blocked Prospect",
            "Quiet Corp",
            "CEO",
            DNC_PHONE,
            "blocked@quiet.example",
            "qualified",
        ),
    ]


#: Spreadsheet row numbers (the header is row 1) of the bad rows of :func:`lead_rows`.
BAD_PHONE_ROW, BAD_ZONE_ROW, DUPLICATE_ROW, DNC_ROW = 6, 7, 8, 9
GOOD_LEADS = 4


def lead_csv() -> bytes:
    rows = lead_rows()
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def install_talkative_script(deployment: Path) -> None:
    """Put the talkative caller script in the deployment's ``scripts/`` folder."""
    (deployment / "scripts" / f"{TALKATIVE}.yaml").write_text(TALKATIVE_SCRIPT)


#: What htmx logs as a console error when it aborts a request on purpose: ``hx-sync``
#: ``replace`` (the campaign form's preview) drops a stale request when a newer one starts.
HTMX_ABORT_EVENTS = ("htmx:sendAbort", "htmx:afterRequest")


def collect_errors(page) -> list[str]:
    """The page's uncaught exceptions and console errors, as they happen (the list grows);
    htmx's notes about requests it aborted on purpose are left out (a failed request
    still shows as ``htmx:sendError``, ``htmx:responseError`` or ``htmx:timeout``)."""
    errors: list[str] = []

    def console(msg) -> None:
        if msg.type == "error" and not msg.text.startswith(HTMX_ABORT_EVENTS):
            errors.append(msg.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", console)
    return errors


def watch(page) -> list[str]:
    """:func:`collect_errors` for a second tab of a test's context (no fixture watches
    it), with confirm dialogs (htmx's ``hx-confirm``) accepted."""
    errors = collect_errors(page)
    page.on("dialog", lambda dialog: dialog.accept())
    page.set_default_timeout(WAIT)
    return errors


def accept_dialogs(page) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def shoot(page, shots_dir: Path, name: str) -> None:
    """Save ``dashboard-<name>.png`` (the whole page)."""
    page.screenshot(path=str(shots_dir / f"dashboard-{name}.png"), full_page=True)


def download_csv(page, locator) -> tuple[str, list[dict[str, str]], list[str]]:
    """Click ``locator`` (a download link): the file's suggested name, its rows as dicts
    and its header."""
    with page.expect_download(timeout=WAIT) as info:
        locator.click()
    download = info.value
    text = Path(download.path()).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return download.suggested_filename, rows, list(reader.fieldnames or [])
