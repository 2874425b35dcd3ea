"""Unit tests for voicekit_core.metrics: cost estimate and per-turn latencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from voicekit_core.config import Price
from voicekit_core.metrics import call_metrics, estimate_cost, turn_latencies, usage_records

PRICES = {
    "openai:gpt-4o-mini": Price(input_tokens_per_million=0.15, output_tokens_per_million=0.60),
    "openai:gpt-realtime": Price(
        input_tokens_per_million=4.0,
        output_tokens_per_million=16.0,
        audio_input_tokens_per_million=32.0,
        audio_output_tokens_per_million=64.0,
    ),
    "deepgram:nova-3": Price(audio_minute=0.0043),
    "cartesia:sonic-2": Price(characters_per_million=50.0),
}


# -- estimate_cost ---------------------------------------------------------------------


def test_token_cost():
    usage = [
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "input_tokens": 2_000_000,
            "output_tokens": 500_000,
        }
    ]
    cost, unpriced = estimate_cost(usage, PRICES)
    assert cost == pytest.approx(2 * 0.15 + 0.5 * 0.60)
    assert unpriced == []


def test_audio_tokens_priced_separately_from_text_tokens():
    usage = [
        {
            "provider": "openai",
            "model": "gpt-realtime",
            "input_tokens": 1_000_000,
            "input_audio_tokens": 250_000,
            "output_tokens": 500_000,
            "output_audio_tokens": 400_000,
        }
    ]
    cost, _ = estimate_cost(usage, PRICES)
    expected = 0.75 * 4.0 + 0.1 * 16.0 + 0.25 * 32.0 + 0.4 * 64.0
    assert cost == pytest.approx(expected)


def test_audio_minute_cost():
    usage = [{"provider": "deepgram", "model": "nova-3", "audio_duration": 90.0}]
    cost, _ = estimate_cost(usage, PRICES)
    assert cost == pytest.approx(1.5 * 0.0043)


def test_characters_cost():
    usage = [{"provider": "cartesia", "model": "sonic-2", "characters_count": 20_000}]
    cost, _ = estimate_cost(usage, PRICES)
    assert cost == pytest.approx(20_000 * 50.0 / 1e6)  # 1.0


def test_costs_add_up_and_round_to_micro_dollars():
    usage = [
        {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1234, "output_tokens": 567},
        {"provider": "deepgram", "model": "nova-3", "audio_duration": 61.0},
        {"provider": "cartesia", "model": "sonic-2", "characters_count": 321},
    ]
    cost, unpriced = estimate_cost(usage, PRICES)
    exact = 1234 * 0.15 / 1e6 + 567 * 0.60 / 1e6 + 61 / 60 * 0.0043 + 321 * 50 / 1e6
    assert cost == round(exact, 6)
    assert unpriced == []


def test_unpriced_models_listed_sorted_and_unique():
    usage = [
        {"provider": "google", "model": "gemini-2.0-flash", "input_tokens": 10},
        {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1_000_000},
        {"provider": "anthropic", "model": "claude", "input_tokens": 10},
        {"provider": "google", "model": "gemini-2.0-flash", "output_tokens": 10},
    ]
    cost, unpriced = estimate_cost(usage, PRICES)
    assert cost == pytest.approx(0.15)  # unpriced models add nothing
    assert unpriced == ["anthropic:claude", "google:gemini-2.0-flash"]


def test_voicekit_provider_not_listed_as_unpriced():
    usage = [{"provider": "voicekit", "model": "scripted", "input_tokens": 100}]
    assert estimate_cost(usage, PRICES) == (0.0, [])


def test_missing_provider_or_model_keys():
    cost, unpriced = estimate_cost([{"input_tokens": 5}, {"provider": "x"}], PRICES)
    assert (cost, unpriced) == (0.0, [":", "x:"])


def test_no_usage():
    assert estimate_cost([], PRICES) == (0.0, [])
    assert estimate_cost([{"provider": "openai", "model": "gpt-4o-mini"}], {}) == (
        0.0,
        ["openai:gpt-4o-mini"],
    )


# -- turn_latencies ----------------------------------------------------------------------


@dataclass
class Item:
    type: str
    role: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


def user(**metrics: Any) -> Item:
    return Item("message", "user", metrics)


def assistant(**metrics: Any) -> Item:
    return Item("message", "assistant", metrics)


def test_turn_latencies_pairs_user_and_assistant_metrics():
    items = [
        assistant(tts_node_ttfb=0.2),  # greeting: no user turn before it
        user(end_of_turn_delay=0.51234, transcription_delay=0.1, started_speaking_at=1.0),
        Item("function_call"),
        Item("function_call_output"),
        assistant(llm_node_ttft=0.456789, tts_node_ttfb=0.3, e2e_latency=1.23456),
    ]
    assert turn_latencies(items) == [
        {"tts_ttfb": 0.2},
        {
            "llm_ttft": 0.4568,
            "tts_ttfb": 0.3,
            "e2e_latency": 1.2346,
            "end_of_turn_delay": 0.5123,
            "transcription_delay": 0.1,
        },
    ]


def test_turn_latencies_user_metrics_used_once():
    items = [
        user(end_of_turn_delay=0.4),
        assistant(e2e_latency=1.0),
        assistant(e2e_latency=2.0),  # a second reply to the same user turn
    ]
    assert turn_latencies(items) == [
        {"e2e_latency": 1.0, "end_of_turn_delay": 0.4},
        {"e2e_latency": 2.0},
    ]


def test_turn_latencies_latest_user_turn_wins():
    items = [user(end_of_turn_delay=0.9), user(end_of_turn_delay=0.3), assistant(llm_node_ttft=0.5)]
    assert turn_latencies(items) == [{"llm_ttft": 0.5, "end_of_turn_delay": 0.3}]


def test_turn_latencies_skips_replies_without_metrics_and_non_numbers():
    items = [
        assistant(),
        Item("message", "assistant", None),  # type: ignore[arg-type]
        SimpleNamespace(type="message", role="assistant"),  # no metrics attribute at all
        assistant(llm_node_ttft=None, e2e_latency="fast"),
        Item("message", "system", {"e2e_latency": 9.0}),
        assistant(e2e_latency=2),
    ]
    assert turn_latencies(items) == [{"e2e_latency": 2.0}]


def test_turn_latencies_empty():
    assert turn_latencies([]) == []


# -- usage_records / call_metrics ---------------------------------------------------------


class _Usage:
    def __init__(self, **data: Any):
        self._data = data

    def model_dump(self) -> dict[str, Any]:
        return dict(self._data)


def test_usage_records_drop_zero_fields_and_tolerate_missing_usage():
    session = SimpleNamespace(
        usage=SimpleNamespace(
            model_usage=[
                _Usage(
                    provider="openai",
                    model="gpt-4o-mini",
                    input_tokens=10,
                    output_tokens=0,
                    input_audio_tokens=0,
                    audio_duration=0.0,
                )
            ]
        )
    )
    assert usage_records(session) == [
        {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 10}
    ]
    assert usage_records(SimpleNamespace()) == []


def test_call_metrics_summary():
    session = SimpleNamespace(
        usage=SimpleNamespace(
            model_usage=[
                _Usage(provider="openai", model="gpt-4o-mini", input_tokens=1_000_000),
                _Usage(provider="acme", model="tts-1", characters_count=10),
            ]
        )
    )
    items = [
        user(end_of_turn_delay=0.2),
        assistant(e2e_latency=1.0, llm_node_ttft=0.4),
        user(end_of_turn_delay=0.4),
        assistant(e2e_latency=2.0),
        user(end_of_turn_delay=0.6),
        assistant(e2e_latency=4.0),
    ]
    summary = call_metrics(session, items, PRICES)
    assert summary["estimated_cost_usd"] == pytest.approx(0.15)
    assert summary["unpriced_models"] == ["acme:tts-1"]
    assert summary["median_e2e_latency"] == 2.0
    assert summary["median_end_of_turn_delay"] == 0.4
    assert summary["median_llm_ttft"] == 0.4
    assert "median_tts_ttfb" not in summary
    assert len(summary["turns"]) == 3


def test_call_metrics_without_unpriced_models_has_no_key():
    session = SimpleNamespace(usage=SimpleNamespace(model_usage=[]))
    summary = call_metrics(session, [], PRICES)
    assert summary == {"usage": [], "turns": [], "estimated_cost_usd": 0.0}
