"""Built-in lead source: the deployment's ``[leads]`` CSV file (dialer format).

Runs last (``trylast``) so CRM plugins are asked first.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from voicekit_core import hookimpl
from voicekit_core.leads import Lead, LeadBook, read_leads_csv


@lru_cache(maxsize=16)
def _book(path: Path, mtime_ns: int, region: str) -> LeadBook:
    return read_leads_csv(path, default_region=region)


def lead_book(path: Path, region: str) -> LeadBook:
    """The lead book for ``path``, re-read only when the file changes."""
    return _book(path, path.stat().st_mtime_ns, region)


@hookimpl(trylast=True)
def lookup_lead(phone: str, call) -> Lead | None:
    leads = call.config.leads
    if leads.source != "csv" or leads.path is None or not leads.path.is_file():
        return None
    return lead_book(leads.path, leads.default_region).get(phone)
