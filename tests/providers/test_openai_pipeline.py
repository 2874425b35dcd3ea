"""A whole SDR call through the real ``livekit.plugins.openai.LLM`` against a local fake
OpenAI-compatible server: what our tools, prompt and tool results look like on the wire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from voicekit_core import load_deployment
from voicekit_core.simulate import load_script, run_script
from voicekit_core.testing_openai import ChatReply, FakeOpenAI, ToolCallReply

QUALIFY_ARGS = {
    "need": "support team drowning in repetitive tickets; reps waste hours on CRM updates",
    "authority": "decision_maker",
    "budget_usd": 60000,
    "timeline_months": 2,
}
OUR_TOOLS = {
    "qualify_prospect",
    "check_availability",
    "schedule_meeting",
    "end_call",
    "take_message",
}


def offer_slots(body: dict[str, Any]) -> ChatReply:
    """Read the slots back from the check_availability result the client sent."""
    slots = json.loads(FakeOpenAI.tool_outputs(body, "check_availability")[-1])["slots"]
    labels = " or ".join(slot["label"] for slot in slots[:2])
    return ChatReply(f"I can offer {labels}. Which works best for you?")


def book_first_slot(body: dict[str, Any]) -> ToolCallReply:
    slots = json.loads(FakeOpenAI.tool_outputs(body, "check_availability")[-1])["slots"]
    return ToolCallReply(
        "schedule_meeting",
        {"start": slots[0]["start"], "attendee_email": "dana.whitfield@brightline.example"},
    )


def sdr_script() -> list[Any]:
    return [
        "Great! What's the biggest challenge your team has with support or sales ops today?",
        "That's a common one. Have you set aside a budget for solving it this year?",
        "Thanks. Would you be the one deciding on a tool like this?",
        "And when would you want something like this up and running?",
        ToolCallReply("qualify_prospect", QUALIFY_ARGS, chunks=5),
        ToolCallReply("check_availability", {}),
        offer_slots,
        book_first_slot,
        ChatReply("You're all set. You'll get a Teams invite by email. Talk soon!"),
    ]


@pytest.fixture
def sdr_with_openai(
    sdr_copy: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, set_models
) -> Path:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    set_models(
        sdr_copy,
        f'llm = {{use = "openai:gpt-4o-mini", base_url = "{fake_openai.base_url}"}}\n'
        'fallback = "scripted"\n',
    )
    return sdr_copy


async def test_sdr_call_through_real_openai_llm(sdr_with_openai: Path, fake_openai: FakeOpenAI):
    fake_openai.script(*sdr_script())
    deployment = load_deployment(sdr_with_openai)
    script = load_script(sdr_with_openai / "scripts" / "qualified.yaml")

    run = await run_script(deployment, script)

    report = run.report
    assert report is not None
    assert report.models["llm"] == ["openai:gpt-4o-mini"]
    assert fake_openai.pending == 0 and fake_openai.unscripted == 0
    requests = [r.body for r in fake_openai.requests]
    # one request per caller turn, plus one follow-up per tool step
    assert len(requests) == 9
    first = requests[0]
    assert first["model"] == "gpt-4o-mini"
    assert first["stream"] is True
    assert all(r.authorized for r in fake_openai.requests)

    # our tools, with the JSON schemas livekit derived from their signatures
    assert set(FakeOpenAI.tool_names(first)) >= OUR_TOOLS
    qualify = FakeOpenAI.tool_schema(first, "qualify_prospect")
    params = qualify["parameters"]
    assert set(params["properties"]) == {
        "need",
        "authority",
        "budget_usd",
        "timeline_months",
        "notes",
    }
    assert "context" not in params["properties"]  # RunContext is injected, not sent
    authority = json.dumps(params["properties"]["authority"])
    for value in ("decision_maker", "influencer", "none", "unknown"):
        assert value in authority
    assert "BANT" in qualify["description"]
    schedule = FakeOpenAI.tool_schema(first, "schedule_meeting")["parameters"]
    assert {"start", "attendee_email"} <= set(schedule["required"])

    # the rendered prompt plus the lead context from the example's call_instructions hook
    system = FakeOpenAI.system_prompt(first)
    assert "Dana Whitfield" in system
    assert "Brightline Logistics" in system
    assert "VP of Operations" in system
    assert "What we know about this prospect" in system
    assert "dana.whitfield@brightline.example" in system

    # the greeting and the caller's words reach the model
    last_user = [m for m in first["messages"] if m["role"] == "user"][-1]
    assert "couple of minutes" in json.dumps(last_user)

    # tool results come back on the follow-up requests
    qualify_out = FakeOpenAI.tool_outputs(requests[5], "qualify_prospect")
    assert json.loads(qualify_out[-1])["status"] == "qualified"
    sent_call = [
        call
        for m in requests[5]["messages"]
        for call in m.get("tool_calls") or []
        if call["function"]["name"] == "qualify_prospect"
    ]
    assert json.loads(sent_call[-1]["function"]["arguments"]) == QUALIFY_ARGS
    slots = json.loads(FakeOpenAI.tool_outputs(requests[6], "check_availability")[-1])["slots"]
    assert slots
    booked = json.loads(FakeOpenAI.tool_outputs(requests[8], "schedule_meeting")[-1])
    assert booked["status"] == "booked"
    assert booked["start"] == slots[0]["start"]

    assert report.disposition.value == "meeting_booked"
    called = [t.name for t in report.tool_calls if not t.is_error]
    assert called == ["qualify_prospect", "check_availability", "schedule_meeting"]
    assert report.qualification["status"] == "qualified"
    assert not script.unmet(report)
    assert report.transcript[-1].text.startswith("You're all set")
    # the usage chunks the fake streamed (100 prompt + 20 completion tokens per request)
    llm_usage = [u for u in report.metrics["usage"] if u.get("type") == "llm_usage"]
    assert sum(u["input_tokens"] for u in llm_usage) == 900
    assert sum(u["output_tokens"] for u in llm_usage) == 180
