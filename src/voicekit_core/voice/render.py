"""Terminal output of a voice call: what the caller said next to what the STT heard, and
the latency of each turn. Every text shown is escaped (it is the caller's or a model's)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from ..render import shown
from .latency import COMPONENTS, VoiceTurn

_LABELS = {
    "end_of_turn_delay": "end of turn",
    "stt": "STT",
    "transcription_delay": "transcript",
    "llm_ttft": "LLM first token",
    "tts_ttfb": "TTS first audio",
}


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def print_turn(console: Console, turn: VoiceTurn) -> None:
    """One caller turn as it happens: said / heard / voice-to-voice and components."""
    said = shown(turn.said) if turn.sound == "speech" else f"({turn.sound})"
    mark = " [barge-in]" if turn.barge_in else ""
    console.print(f"[bold]turn {turn.index}{mark}[/] said:  {said}")
    console.print(f"        heard: {shown(turn.heard) or '(nothing)'}")
    if turn.voice_to_voice is None:
        console.print("        [yellow]no answer from the agent[/]")
        return
    parts = ", ".join(
        f"{_LABELS[name]} {_seconds(turn.components[name])}"
        for name in COMPONENTS
        if name in turn.components
    )
    cut = "; the agent stopped talking" if turn.interrupted_agent else ""
    console.print(f"        voice-to-voice [bold]{_seconds(turn.voice_to_voice)}[/] ({parts}){cut}")


def print_summary(console: Console, voice: dict[str, Any]) -> None:
    """The latency table of a finished call (``report.metrics["voice"]``)."""
    table = Table(title="voice-to-voice latency (seconds)", title_justify="left")
    for name in ("p50", "p90", *(_LABELS[c] for c in COMPONENTS)):
        table.add_column(name, justify="right")
    table.add_row(
        _seconds(voice.get("voice_to_voice_p50")),
        _seconds(voice.get("voice_to_voice_p90")),
        *(_seconds(voice.get(f"median_{name}")) for name in COMPONENTS),
    )
    console.print(table)
    speed = voice.get("speed", 1.0)
    if speed != 1.0:
        console.print(f"[yellow]the line ran {speed:g}x faster than real time[/]")
