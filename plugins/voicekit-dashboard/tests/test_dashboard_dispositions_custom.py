"""The Calls filter takes the deployment's own dispositions ([dispositions]), not only
voicekit's built-in ones."""

from __future__ import annotations

import pytest
from dashboard_kit import ADMIN, clear_env, logged_in

from voicekit_core.testing import ScriptedLLM, ToolCall, replies

DECLARED = '\n[dispositions]\nticket_created = { label = "Ticket created", success = true }\n'


@pytest.fixture
def deployment(example_dir, monkeypatch):
    from voicekit_dashboard.accounts import set_admin

    from voicekit_core.deployment import load_deployment

    clear_env(monkeypatch)
    config = example_dir / "voicekit.toml"
    config.write_text(config.read_text(encoding="utf-8") + DECLARED, encoding="utf-8")
    loaded = load_deployment(example_dir)
    set_admin(loaded.store, *ADMIN)
    return loaded


async def test_calls_filter_by_a_declared_disposition(deployment, app):
    from voicekit_core.runner import open_call

    for end in ({"disposition": "ticket_created"}, {}):
        llm = ScriptedLLM(replies(ToolCall("end_call", end), "Bye"))
        async with open_call(deployment, "+14155550101", llm=llm, greet=False) as run:
            await run.user_says("Hello")
    with logged_in(app) as client:
        found = client.get("/api/calls", params={"disposition": "ticket_created"})
        assert found.status_code == 200, found.text
        assert [row["disposition"] for row in found.json()["calls"]] == ["ticket_created"]
        page = client.get("/calls")
        assert 'value="ticket_created"' in page.text
        unknown = client.get("/api/calls", params={"disposition": "ticket_creatd"})
        assert unknown.status_code == 400
        assert "ticket_creatd" in unknown.text
