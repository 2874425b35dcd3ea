"""Built-in lead source: the deployment's ``[leads]`` CSV file (dialer format).

Runs last (``trylast``) so CRM plugins are asked first. A lookup streams the file for the
one number (see :meth:`voicekit_core.lead_csv.LeadBook.find`); answers are cached until
the file changes.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from voicekit_core import hookimpl
from voicekit_core.errors import LeadFileError
from voicekit_core.lead_csv import LeadBook, LeadRow
from voicekit_core.leads import Lead
from voicekit_core.phones import PhonePolicy

logger = logging.getLogger("voicekit.leads")


@lru_cache(maxsize=1024)
def _find(path: Path, mtime_ns: int, size: int, policy: PhonePolicy, phone: str) -> LeadRow | None:
    return LeadBook(path, policy=policy).find(phone)


def find_row(path: Path, policy: PhonePolicy, phone: str) -> LeadRow | None:
    """The CSV row for E.164 ``phone`` (see ``LeadBook.find``), re-read only when the file
    changes. Raises LeadFileError when the file cannot be read up to that row."""
    stat = path.stat()
    return _find(path, stat.st_mtime_ns, stat.st_size, policy, phone)


@hookimpl(trylast=True)
def lookup_lead(phone: str, call) -> Lead | None:
    leads = call.config.leads
    if leads.source != "csv" or leads.path is None or not leads.path.is_file():
        return None
    try:
        row = find_row(leads.path, PhonePolicy.from_config(call.config), phone)
    except LeadFileError as exc:
        if call.mode != "live":
            raise  # simulate and tests: a broken leads file is an input error (exit 2)
        logger.error("leads file unreadable, call goes on without its lead: %s", exc)
        call.note(f"leads file unreadable: {exc}")
        return None
    if row is None:
        return None
    if row.lead is None:
        call.note(f"{row.problem}; that row is skipped, so the lead is unknown")
        return None
    return row.lead.model_copy(deep=True)  # the cached lead stays as read
