"""Usage, latency and cost of a call, from livekit's own accounting.

* usage: ``AgentSession.usage`` (per provider/model: LLM tokens, STT audio seconds,
  TTS characters, realtime tokens);
* latency: the ``metrics`` livekit stores on each chat message (LLM time to first token,
  TTS time to first byte, end-to-end latency, end-of-turn delay), in seconds;
* cost: usage times ``[models.prices]`` (USD), an estimate.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import Price

_ASSISTANT_KEYS = {
    "llm_node_ttft": "llm_ttft",
    "tts_node_ttfb": "tts_ttfb",
    "e2e_latency": "e2e_latency",
}
_USER_KEYS = {
    "end_of_turn_delay": "end_of_turn_delay",
    "transcription_delay": "transcription_delay",
}


def turn_latencies(items: list[Any]) -> list[dict[str, float]]:
    """One dict per agent reply with the latencies livekit measured (seconds)."""
    turns: list[dict[str, float]] = []
    pending_user: dict[str, float] = {}
    for item in items:
        if item.type != "message":
            continue
        metrics = getattr(item, "metrics", None) or {}
        if item.role == "user":
            pending_user = {
                name: metrics[key] for key, name in _USER_KEYS.items() if key in metrics
            }
        elif item.role == "assistant":
            turn = {
                name: round(float(metrics[key]), 4)
                for key, name in _ASSISTANT_KEYS.items()
                if isinstance(metrics.get(key), (int, float))
            }
            turn.update({k: round(float(v), 4) for k, v in pending_user.items()})
            pending_user = {}
            if turn:
                turns.append(turn)
    return turns


def usage_records(session: Any) -> list[dict[str, Any]]:
    """``session.usage`` as JSON-able dicts (zero fields dropped)."""
    try:
        usage = session.usage.model_usage
    except AttributeError:
        return []
    records = []
    for entry in usage:
        data = entry.model_dump()
        records.append({k: v for k, v in data.items() if v not in (0, 0.0, None, "")})
    return records


def estimate_cost(usage: list[dict[str, Any]], prices: dict[str, Price]) -> tuple[float, list[str]]:
    """Estimated USD cost of ``usage``; also the ``provider:model`` keys with no price."""
    total = 0.0
    unpriced = []
    by_model = _prices_by_model(prices)
    for record in usage:
        key = f"{record.get('provider', '')}:{record.get('model', '')}"
        # livekit labels usage with its own provider names ("api.openai.com", "Deepgram"),
        # so a "provider:model" price key from config also matches on the model name alone.
        price = prices.get(key) or by_model.get(str(record.get("model", "")))
        if price is None:
            if record.get("provider") != "voicekit":
                unpriced.append(key)
            continue
        audio_in = record.get("input_audio_tokens", 0)
        audio_out = record.get("output_audio_tokens", 0)
        total += (record.get("input_tokens", 0) - audio_in) * price.input_tokens_per_million / 1e6
        total += (
            (record.get("output_tokens", 0) - audio_out) * price.output_tokens_per_million / 1e6
        )
        total += audio_in * price.audio_input_tokens_per_million / 1e6
        total += audio_out * price.audio_output_tokens_per_million / 1e6
        total += record.get("audio_duration", 0) / 60 * price.audio_minute
        total += record.get("characters_count", 0) * price.characters_per_million / 1e6
    return round(total, 6), sorted(set(unpriced))


def _prices_by_model(prices: dict[str, Price]) -> dict[str, Price]:
    """Prices keyed by model name, for model names that only one price key uses."""
    grouped: dict[str, list[Price]] = {}
    for key, price in prices.items():
        grouped.setdefault(key.partition(":")[2] or key, []).append(price)
    return {model: items[0] for model, items in grouped.items() if len(items) == 1}


def call_metrics(session: Any, items: list[Any], prices: dict[str, Price]) -> dict[str, Any]:
    """The ``metrics`` block of a CallReport."""
    turns = turn_latencies(items)
    usage = usage_records(session)
    cost, unpriced = estimate_cost(usage, prices)
    summary: dict[str, Any] = {"usage": usage, "turns": turns, "estimated_cost_usd": cost}
    for name in ("llm_ttft", "tts_ttfb", "e2e_latency", "end_of_turn_delay"):
        values = [t[name] for t in turns if name in t]
        if values:
            summary[f"median_{name}"] = round(statistics.median(values), 4)
    if unpriced:
        summary["unpriced_models"] = unpriced
    return summary
