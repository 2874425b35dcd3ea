"""Web-widget visitors: a call with no phone number (``channel="web"``)."""

from __future__ import annotations

import pytest

from voicekit_core.builder import prepare_call
from voicekit_core.deployment import load_deployment
from voicekit_core.runner import open_call
from voicekit_core.telephony.metadata import parse_job_metadata


async def test_a_web_visitor_talks_to_the_agent_without_a_number(example_copy, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    deployment = load_deployment(example_copy)
    async with open_call(
        deployment, None, channel="web", direction="inbound", call_id="web-3f9a"
    ) as run:
        assert run.call.phone == ""
        assert run.call.lead is None
        await run.user_says("Hi, I saw your website. What do you do?")
    report = run.report
    assert report.phone == "" and report.data["channel"] == "web"
    assert any(entry.role == "assistant" for entry in report.transcript)
    assert "web caller: no phone number" in " ".join(report.notes)
    journaled = deployment.journal.get("web-3f9a")
    assert journaled is not None and journaled.data["channel"] == "web"


async def test_a_phone_call_still_needs_a_number(example_copy):
    deployment = load_deployment(example_copy)
    with pytest.raises(ValueError, match="no phone number"):
        await prepare_call(deployment, None)


async def test_a_web_visitor_with_a_number_gets_the_lead_lookup(example_copy):
    deployment = load_deployment(example_copy)
    call = await prepare_call(deployment, "+14155550101", channel="web")
    assert call.phone == "+14155550101" and call.data["channel"] == "web"
    assert call.lead is not None


def test_widget_token_metadata_marks_the_web_channel():
    meta = parse_job_metadata('{"direction": "inbound", "extra": {"channel": "web"}}')
    assert meta.phone == "" and meta.extra["channel"] == "web"
