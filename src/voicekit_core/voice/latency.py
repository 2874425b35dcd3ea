"""Per-turn latency of a voice call, measured on the line.

Voice-to-voice is what the caller waits: from the last sample of their speech on the
line to the first sample of the agent's answer playing (both ``time.perf_counter()``,
seconds). Next to it, livekit's own component figures for the same turn, from the chat
messages' ``metrics`` (``end_of_turn_delay``, ``transcription_delay``, ``llm_node_ttft``,
``tts_node_ttfb``) and the STT's ``STTMetrics.duration`` (time to transcribe the
utterance). All in seconds, rounded to milliseconds.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any

COMPONENTS = ("end_of_turn_delay", "stt", "transcription_delay", "llm_ttft", "tts_ttfb")
"""Component figures per turn, in the order the pipeline runs them."""

_USER_KEYS = {
    "end_of_turn_delay": "end_of_turn_delay",
    "transcription_delay": "transcription_delay",
}
_AGENT_KEYS = {"llm_node_ttft": "llm_ttft", "tts_node_ttfb": "tts_ttfb"}


@dataclass
class VoiceTurn:
    """One caller turn as it went over the line."""

    index: int
    said: str
    """What the script had the caller say ('' for silence or noise)."""
    sound: str = "speech"
    """``speech``, ``silence`` or ``noise``."""
    heard: str = ""
    """What the agent's STT transcribed (finals joined)."""
    barge_in: bool = False
    """The caller started while the agent was speaking."""
    interrupted_agent: bool = False
    """The agent stopped talking because of it."""
    answered: bool = False
    """The agent said something after this turn."""
    voice_to_voice: float | None = None
    """Seconds from the end of the caller's speech to the agent's first audio."""
    components: dict[str, float] = field(default_factory=dict)
    speech_end: float | None = field(default=None, repr=False)
    first_audio: float | None = field(default=None, repr=False)
    speech_end_epoch: float | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for mark in ("speech_end", "first_audio", "speech_end_epoch"):
            data.pop(mark)
        return data


class LatencyLog:
    """Collects :class:`VoiceTurn` marks from the line and figures from the session."""

    def __init__(self) -> None:
        self.turns: list[VoiceTurn] = []

    @property
    def current(self) -> VoiceTurn | None:
        return self.turns[-1] if self.turns else None

    def begin(self, said: str, sound: str = "speech", *, barge_in: bool = False) -> VoiceTurn:
        turn = VoiceTurn(index=len(self.turns) + 1, said=said, sound=sound, barge_in=barge_in)
        self.turns.append(turn)
        return turn

    def first_audio(self, at: float) -> None:
        """The agent's reply started playing at ``at`` (perf_counter seconds)."""
        turn = self.current
        if turn is None or turn.speech_end is None or turn.first_audio is not None:
            return
        if at >= turn.speech_end:
            turn.first_audio = at
            turn.answered = True
            turn.voice_to_voice = round(at - turn.speech_end, 3)

    def heard(self, transcript: str) -> None:
        """A final transcript from the agent's STT."""
        turn = self.current
        if turn is not None and transcript.strip():
            turn.heard = f"{turn.heard} {transcript.strip()}".strip()

    def stt_duration(self, seconds: float) -> None:
        turn = self.current
        if turn is not None and turn.speech_end is not None:
            turn.components.setdefault("stt", round(seconds, 3))

    def chat_item(self, item: Any) -> None:
        """A chat message added to the session: livekit's per-turn metrics."""
        turn = self.current
        if turn is None or getattr(item, "type", "") != "message":
            return
        if item.role == "assistant" and (
            turn.speech_end_epoch is None or (item.created_at or 0) < turn.speech_end_epoch
        ):
            return  # a reply to an earlier turn (cut short by this one)
        metrics = getattr(item, "metrics", None) or {}
        keys = (
            _USER_KEYS if item.role == "user" else _AGENT_KEYS if item.role == "assistant" else {}
        )
        for key, name in keys.items():
            value = metrics.get(key)
            if isinstance(value, (int, float)):
                turn.components.setdefault(name, round(float(value), 3))

    def summary(self) -> dict[str, Any]:
        """``turns`` (dicts), ``voice_to_voice_p50`` / ``_p90`` and each component's
        median over the answered turns, in seconds (None when no turn was answered)."""
        answered = [t for t in self.turns if t.voice_to_voice is not None]
        v2v = [t.voice_to_voice for t in answered if t.voice_to_voice is not None]
        summary: dict[str, Any] = {
            "turns": [t.as_dict() for t in self.turns],
            "voice_to_voice_p50": percentile(v2v, 50),
            "voice_to_voice_p90": percentile(v2v, 90),
        }
        for name in COMPONENTS:
            values = [t.components[name] for t in answered if name in t.components]
            summary[f"median_{name}"] = round(statistics.median(values), 3) if values else None
        return summary


def percentile(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile (linear interpolation), rounded to ms; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return round(value, 3)
