"""Helpers of the dashboard's campaign tests: a stored lead list, the campaign form as the
page renders it, and polling the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

#: A list with one invalid phone and one duplicate of the first row.
BAD_ROWS_CSV = (
    "prospect_name,company_name,phone,timezone\n"
    "Ada Good,Acme,+1 415 555 0101,America/Los_Angeles\n"
    "Bad Phone,Acme,12345,America/New_York\n"
    "Ada Again,Acme,(415) 555-0101,America/Los_Angeles\n"
    "Bo Fine,Acme,+1 212 555 0102,America/New_York\n"
)
HTMX = {"HX-Request": "true"}


def save_list(deployment: Any, name: str = "example", data: bytes | None = None):
    """Store a lead list (the example's leads.csv unless ``data``); returns it."""
    from voicekit_core.lead_lists import save_lead_list

    if data is None:
        data = (Path(deployment.config.base_dir) / "leads.csv").read_bytes()
    return save_lead_list(
        deployment.store,
        deployment.config,
        name=name,
        filename=f"{name}.csv",
        data=data,
        max_bytes=10_000_000,
        max_rows=10_000,
    )


class _FormReader(HTMLParser):
    """The named fields of ``#campaign-form`` with the values the page shows."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") != "hidden":
            self.fields[name] = a.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value") or ""
                self.fields.setdefault(self._select, self._first_option)
            if "selected" in a:
                self.fields[self._select] = a.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def page_form(client: TestClient, url: str = "/campaigns/new") -> dict[str, str]:
    """The form fields of a campaign form page, as a browser would submit them."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    reader = _FormReader()
    reader.feed(response.text)
    fields = reader.fields
    if fields.get("instructions", "").startswith("\n"):
        fields["instructions"] = fields["instructions"][1:]  # the HTML parser keeps it
    return fields


def wait_for(check: Callable[[], Any], timeout: float = 60.0, every: float = 0.1) -> Any:
    """Call ``check`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {check}")
        time.sleep(every)


def campaign_state(deployment: Any, campaign_id: str) -> str:
    from voicekit_core.campaigns.repo import find_campaign

    return find_campaign(deployment.store, campaign_id).state
