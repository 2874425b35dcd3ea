"""Voice latency benchmarks (issue 12): voicekit's voice path vs a hand-written livekit session.

1. Voice-to-voice (end of the caller's speech on the line -> the agent's first audio) over
   ``--runs`` plays of ``examples/tdx_sdr`` ``scripts/qualified.yaml`` (6 caller turns each)
   through ``run_voice_script(..., offline=True)``: the scripted LLM, local Whisper STT and
   Piper TTS on this machine, the line at ``--speed`` (1.0 = real time; published figures
   are at 1.0). p50 / p90, and the median of each livekit component figure (endpointing =
   ``end_of_turn_delay``, STT, transcription delay, LLM TTFT, TTS first audio).
2. The same turns through a hand-written livekit ``AgentSession`` + ``Agent``: the same STT
   (``StreamAdapter(WhisperSTT, SileroOnDemand)``) and TTS (``PiperTTS``) classes the
   ``local`` provider builds, the same session VAD and turn handling (``[models.turn]``
   through ``voicekit_core.builder.voice_options``, with the simulated line's two changes),
   a ``ScriptedLLM`` that says exactly the lines the voicekit agent said in the matching
   run, the greeting via ``session.say``; driven by the same line, speaker and latency log.
   Runs alternate (voicekit, baseline, voicekit, ...) so machine drift hits both; ratio =
   voicekit / baseline for p50 and p90 (goal <= 1.05). voicekit's agent calls tools on
   some turns (qualify, availability, booking) before it answers; the baseline has no tools,
   so the ratio is also given over the turns on which voicekit called no tool first.
3. Resident memory per additional concurrent voice session in one process, in a fresh
   interpreter: models loaded and no session (and after one inference each); one voicekit
   voice session (greeted; it also loads livekit's local turn detector, about 240 MB once
   per process); then ``--sessions`` more started at once (each greeted); per session =
   delta / sessions (goal <= 60 MB with the models shared).

Prints a table and writes the figures to ``.voicekit/bench-voice.json``.

Usage: ``nox -s bench -- voice [--runs N] [--sessions N] [--speed X]`` or
``python benchmarks/voice.py ...``. At real time each run (a voicekit call and its
baseline) takes about 3 minutes, plus about a minute for the warm-up and the memory part:
about 13 minutes with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tdx_sdr"
SCRIPT = "qualified.yaml"
OUTPUT = ROOT / ".voicekit" / "bench-voice.json"
LINE_RATE = 16_000

# the caller's pacing, as voicekit's simulated call does it (voice/call.py)
REACTION_SECONDS = 0.4  # line seconds the caller waits after the agent went quiet
SETTLE_SECONDS = 0.3  # line seconds the agent must stay quiet to count as done
ANSWER_TIMEOUT = 12.0  # wall seconds to wait for the agent's first audio
REPLY_TIMEOUT = 90.0  # wall seconds a reply may take to play out

COMPONENTS = {
    "endpointing": "end_of_turn_delay",
    "stt": "stt",
    "transcription_delay": "transcription_delay",
    "llm_ttft": "llm_ttft",
    "tts_first_audio": "tts_ttfb",
}
MEMORY_MARK = "VOICE_BENCH_MEMORY "


# -- shared ---------------------------------------------------------------------------


def copy_example(tmp: Path) -> Path:
    folder = tmp / "tdx_sdr"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".voicekit"))
    return folder


def session_options(turn: Any) -> dict[str, Any]:
    """``AgentSession`` options from ``[models.turn]`` exactly as ``simulate --voice`` sets
    them: ``voice_options`` plus a VAD even when ``vad = "none"`` and no resuming after a
    false interruption (the simulated line cannot pause)."""
    from voicekit_core.builder import voice_options

    options = voice_options(turn)
    options["turn_handling"]["interruption"]["resume_false_interruption"] = False
    if turn.vad != "silero":
        from livekit.plugins import silero

        options["vad"] = silero.VAD.load()
    return options


def pooled(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """p50 / p90 voice-to-voice and each component's median over answered turns (s)."""
    from voicekit_core.voice.latency import percentile

    answered = [t for t in turns if t["voice_to_voice"] is not None]
    v2v = [t["voice_to_voice"] for t in answered]
    figures: dict[str, Any] = {
        "turns": len(turns),
        "answered": len(answered),
        "voice_to_voice_p50": percentile(v2v, 50),
        "voice_to_voice_p90": percentile(v2v, 90),
    }
    for name, key in COMPONENTS.items():
        values = [t["components"][key] for t in answered if key in t["components"]]
        figures[f"median_{name}"] = round(statistics.median(values), 3) if values else None
    return figures


def ratio(ours: float | None, base: float | None) -> float | None:
    return round(ours / base, 3) if ours is not None and base else None


def rss_mb() -> float:
    """This process's resident set size in MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    import resource  # not Linux: the peak is the best there is

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- 1. voicekit ------------------------------------------------------------------------


async def voicekit_run(folder: Path, script: Any, speed: float) -> dict[str, Any]:
    """One voice call through voicekit; its turns, the agent's lines and tool timing."""
    from voicekit_core import load_deployment
    from voicekit_core.builder import greeting_text
    from voicekit_core.voice.call import VoiceOptions, run_voice_script

    deployment = load_deployment(folder)
    call = await run_voice_script(
        deployment, script, offline=True, options=VoiceOptions(speed=speed, line_rate=LINE_RATE)
    )
    report = call.run.report
    greeting = greeting_text(call.run.call)
    said = [e.text for e in report.transcript if e.role == "assistant"]
    if said and said[0] == greeting:
        said = said[1:]
    turns = []
    for turn in call.log.turns:
        data = turn.as_dict()
        data["tools_before_first_audio"] = tools_before_first_audio(turn, report.tool_calls)
        turns.append(data)
    return {
        "greeting": greeting,
        "lines": said,
        "turns": turns,
        "disposition": report.disposition.value,
        "notes": list(report.notes),
    }


def tools_before_first_audio(turn: Any, tool_calls: list[Any]) -> list[str]:
    """Tools whose result came between the end of the caller's speech and the agent's first
    audio (a tool called together with the reply's text, such as ``end_call``, counts too)."""
    if turn.speech_end_epoch is None or turn.first_audio is None or turn.speech_end is None:
        return []
    start = turn.speech_end_epoch
    end = start + (turn.first_audio - turn.speech_end)
    return [c.name for c in tool_calls if start <= c.at.timestamp() <= end]


# -- 2. hand-written livekit baseline ----------------------------------------------------


def line_policy(lines: list[str]):
    """Say ``lines`` in order: the reply after the k-th agent message is ``lines[k - 1]``
    (the greeting is the first), so a re-asked request (preemptive generation) gets the
    same line again."""
    from voicekit_core.scripted_llm import Reply

    def policy(chat_ctx: Any, tools: list[str]) -> Any:
        spoken = sum(
            1 for item in chat_ctx.items if item.type == "message" and item.role == "assistant"
        )
        index = spoken - 1
        return Reply(text=lines[index]) if 0 <= index < len(lines) else None

    return policy


async def agent_quiet(session: Any, speaker: Any, speed: float) -> bool:
    """Until the agent has been quiet (not speaking, not thinking) for 0.3 line seconds."""
    settle = SETTLE_SECONDS / speed
    quiet_since: float | None = None
    deadline = time.perf_counter() + REPLY_TIMEOUT
    while time.perf_counter() < deadline:
        if not speaker.playing and session.agent_state in ("listening", "idle"):
            quiet_since = quiet_since or time.perf_counter()
            if time.perf_counter() - quiet_since >= settle:
                return True
        else:
            quiet_since = None
        await asyncio.sleep(0.02)
    return False


async def baseline_run(
    turn_config: Any, greeting: str, lines: list[str], script: Any, audio: list, speed: float
) -> dict[str, Any]:
    """The script's caller turns through a hand-written ``AgentSession`` + ``Agent``."""
    from livekit.agents import Agent, AgentSession
    from livekit.agents import stt as lk_stt

    from voicekit_core.builtins.local_stt import SileroOnDemand, WhisperSTT
    from voicekit_core.builtins.local_tts import PiperTTS
    from voicekit_core.scripted_llm import ScriptedLLM
    from voicekit_core.voice.call import wire_session
    from voicekit_core.voice.latency import LatencyLog
    from voicekit_core.voice.line import AgentSpeaker, CallerLine
    from voicekit_core.voice.tape import Tape

    llm = ScriptedLLM(line_policy(lines))
    session = AgentSession(
        stt=lk_stt.StreamAdapter(stt=WhisperSTT(), vad=SileroOnDemand()),
        llm=llm,
        tts=PiperTTS(),
        **session_options(turn_config),
    )
    tape = Tape(LINE_RATE)
    line = CallerLine(tape, speed=speed)
    log = LatencyLog()
    speaker = AgentSpeaker(line, on_first_audio=log.first_audio)
    wire_session(session, line, speaker, log)
    notes: list[str] = []
    await session.start(Agent(instructions="You are a sales development representative."))
    try:
        await session.say(greeting)
        for turn, samples in zip(script.steps(), audio, strict=True):
            if samples is None:
                continue
            if not await agent_quiet(session, speaker, speed):
                notes.append(f"the agent was still busy after {REPLY_TIMEOUT:g} s")
            await asyncio.sleep(REACTION_SECONDS / speed)
            entry = log.begin(turn.caller or "", turn.sound)
            utterance = line.say(samples, label=f"turn {entry.index}")
            await utterance.done
            entry.speech_end = utterance.ended_at
            entry.speech_end_epoch = time.time()
            deadline = time.perf_counter() + ANSWER_TIMEOUT
            while entry.first_audio is None and time.perf_counter() < deadline:
                await asyncio.sleep(0.02)
            if entry.first_audio is None:
                notes.append(f"voice turn {entry.index}: the agent did not answer")
        await agent_quiet(session, speaker, speed)
    finally:
        line.close()
        await session.aclose()
    requests = len(llm.requests)
    if requests != len(lines):
        notes.append(f"the LLM was asked {requests} times for {len(lines)} lines")
    return {"turns": [t.as_dict() for t in log.turns], "notes": notes}


# -- 3. memory per session ----------------------------------------------------------------


async def start_voice_session(deployment: Any, phone: str, speed: float) -> tuple[Any, Any]:
    """A voicekit voice session on its own simulated line, started and greeted."""
    from voicekit_core.runner import create_call
    from voicekit_core.voice.call import wire_session
    from voicekit_core.voice.latency import LatencyLog
    from voicekit_core.voice.line import AgentSpeaker, CallerLine
    from voicekit_core.voice.tape import Tape

    run = await create_call(
        deployment,
        phone,
        text_only=False,
        offline=True,
        **session_options(deployment.config.models.turn),
    )
    line = CallerLine(Tape(LINE_RATE), speed=speed)
    log = LatencyLog()
    wire_session(run.session, line, AgentSpeaker(line, on_first_audio=log.first_audio), log)
    await run.start(greet=True)  # returns once the greeting has played out
    return run, line


def measured_rss() -> float:
    gc.collect()
    return round(rss_mb(), 1)


async def memory_child(folder: Path, sessions: int, speed: float) -> dict[str, Any]:
    from voicekit_core import load_deployment
    from voicekit_core.builtins.local_models import preload
    from voicekit_core.provider_kit import load_livekit_plugin

    load_livekit_plugin("livekit.plugins.silero", "local")  # main thread, as the worker does
    deployment = load_deployment(folder)
    imported = measured_rss()
    preload()
    models = measured_rss()
    # one inference each: onnxruntime and CTranslate2 allocate their arenas on first use
    from voicekit_core.builtins.local_models import whisper_model
    from voicekit_core.builtins.local_stt import transcribe
    from voicekit_core.voice.caller import speech

    sample = speech("Sure, I have a couple of minutes.", LINE_RATE)
    transcribe(whisper_model(), sample.astype("float32") / 32768.0)
    warm = measured_rss()
    with (folder / "leads.csv").open(newline="", encoding="utf-8") as handle:
        phones = [row["phone"] for row in csv.DictReader(handle)]
    phones = [phones[i % len(phones)] for i in range(sessions + 1)]
    started = [await start_voice_session(deployment, phones[0], speed)]
    one = measured_rss()
    began = time.perf_counter()
    started += await asyncio.gather(
        *(start_voice_session(deployment, phone, speed) for phone in phones[1:])
    )
    concurrent_start = time.perf_counter() - began
    more = measured_rss()
    for _run, line in started:
        line.close()
    for run, _line in started:
        await run.finish()
    return {
        "rss_imported_mb": imported,
        "rss_models_loaded_mb": models,
        "rss_models_warm_mb": warm,
        "rss_one_session_mb": one,
        "first_session_mb": round(one - warm, 1),
        "additional_sessions": sessions,
        "rss_after_additional_mb": more,
        "per_additional_session_mb": round((more - one) / sessions, 1) if sessions else None,
        "additional_sessions_greeted_in_s": round(concurrent_start, 1),
    }


def measure_memory(sessions: int, speed: float) -> dict[str, Any]:
    """Part 3 in a fresh interpreter (the earlier parts' allocations stay out of its RSS)."""
    options = ["--sessions", str(sessions), "--speed", str(speed)]
    proc = subprocess.run(
        [sys.executable, __file__, "--memory-child", *options],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MEMORY_MARK):
            return json.loads(line[len(MEMORY_MARK) :])
    raise RuntimeError(f"the memory run printed no figures:\n{proc.stdout}")


# -- main ---------------------------------------------------------------------------------


async def latency(folder: Path, runs: int, speed: float) -> dict[str, Any]:
    from voicekit_core import load_deployment
    from voicekit_core.simulate import CallerScript, load_script
    from voicekit_core.voice.call import synthesize_turns

    script = load_script(folder / "scripts" / SCRIPT)
    turn_config = load_deployment(folder).config.models.turn
    # warm-up (not measured): a one-turn call loads the models, the turn detector and the
    # first inferences, which would otherwise land on voicekit's first turn only
    warm = CallerScript.model_validate(
        {"lead_phone": script.lead_phone, "turns": [script.steps()[0].caller]}
    )
    print("warm-up call (not measured)...", flush=True)
    await voicekit_run(folder, warm, max(speed, 4.0))
    audio = await asyncio.to_thread(synthesize_turns, script, LINE_RATE)
    ours: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []
    for index in range(runs):
        started = time.perf_counter()
        run = await voicekit_run(folder, script, speed)
        ours.append(run)
        print(
            f"run {index + 1}/{runs} voicekit: {time.perf_counter() - started:.0f} s, "
            f"{run['disposition']}",
            flush=True,
        )
        started = time.perf_counter()
        base.append(
            await baseline_run(turn_config, run["greeting"], run["lines"], script, audio, speed)
        )
        print(f"run {index + 1}/{runs} baseline: {time.perf_counter() - started:.0f} s", flush=True)
    return {"voicekit": ours, "baseline": base}


def summarize(runs: dict[str, Any]) -> dict[str, Any]:
    ours_turns = [t for run in runs["voicekit"] for t in run["turns"]]
    base_turns = [t for run in runs["baseline"] for t in run["turns"]]
    with_tools = sorted({t["index"] for t in ours_turns if t["tools_before_first_audio"]})
    ours, base = pooled(ours_turns), pooled(base_turns)
    ours_plain = pooled([t for t in ours_turns if t["index"] not in with_tools])
    base_plain = pooled([t for t in base_turns if t["index"] not in with_tools])
    return {
        "voicekit": ours,
        "baseline": base,
        "ratio_p50": ratio(ours["voice_to_voice_p50"], base["voice_to_voice_p50"]),
        "ratio_p90": ratio(ours["voice_to_voice_p90"], base["voice_to_voice_p90"]),
        "turns_with_tools_in_voicekit": with_tools,
        "tools_by_turn": {
            str(i): sorted(
                {n for t in ours_turns if t["index"] == i for n in t["tools_before_first_audio"]}
            )
            for i in with_tools
        },
        "without_tool_turns": {
            "voicekit": ours_plain,
            "baseline": base_plain,
            "ratio_p50": ratio(ours_plain["voice_to_voice_p50"], base_plain["voice_to_voice_p50"]),
            "ratio_p90": ratio(ours_plain["voice_to_voice_p90"], base_plain["voice_to_voice_p90"]),
        },
    }


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "livekit_agents": importlib.metadata.version("livekit-agents"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def print_table(summary: dict[str, Any], memory: dict[str, Any]) -> None:
    header = (
        f"{'voice-to-voice (ms)':<26}{'turns':>6}{'p50':>7}{'p90':>7}{'endpt':>7}"
        f"{'STT':>7}{'trans':>7}{'LLM':>7}{'TTS':>7}"
    )
    print(header)
    print("-" * len(header))

    def row(name: str, figures: dict[str, Any]) -> None:
        print(
            f"{name:<26}{figures['answered']:>6}{ms(figures['voice_to_voice_p50']):>7}"
            f"{ms(figures['voice_to_voice_p90']):>7}{ms(figures['median_endpointing']):>7}"
            f"{ms(figures['median_stt']):>7}{ms(figures['median_transcription_delay']):>7}"
            f"{ms(figures['median_llm_ttft']):>7}{ms(figures['median_tts_first_audio']):>7}"
        )

    plain = summary["without_tool_turns"]
    row("voicekit, all turns", summary["voicekit"])
    row("livekit by hand, all", summary["baseline"])
    row("voicekit, no-tool turns", plain["voicekit"])
    row("livekit by hand, same", plain["baseline"])
    print("(components are medians; endpt = end_of_turn_delay, trans = transcription delay)")
    print(
        f"ratio voicekit / livekit, all turns:     p50 {summary['ratio_p50']}  "
        f"p90 {summary['ratio_p90']}  (goal <= 1.05)"
    )
    print(
        f"ratio voicekit / livekit, no-tool turns: p50 {plain['ratio_p50']}  "
        f"p90 {plain['ratio_p90']}"
    )
    if summary["tools_by_turn"]:
        called = "; ".join(f"turn {i}: {', '.join(n)}" for i, n in summary["tools_by_turn"].items())
        print(f"voicekit ran tools before its first audio ({called}); the baseline has no tools")
    if memory:
        print(
            f"RSS: models loaded, no session {memory['rss_models_loaded_mb']} MB "
            f"({memory['rss_models_warm_mb']} MB after one inference each); "
            f"first session +{memory['first_session_mb']} MB (livekit's turn detector); "
            f"{memory['additional_sessions']} more: {memory['per_additional_session_mb']} MB "
            "each (goal <= 60)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="plays of the script per side")
    parser.add_argument("--sessions", type=int, default=4, help="additional sessions (memory)")
    parser.add_argument("--speed", type=float, default=1.0, help="line speed (1.0 real time)")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 0 or args.sessions < 0 or args.speed <= 0:
        parser.error("--runs and --sessions must be >= 0 and --speed > 0")

    with tempfile.TemporaryDirectory() as tmp:
        folder = copy_example(Path(tmp))
        if args.memory_child:
            figures = asyncio.run(memory_child(folder, args.sessions, args.speed))
            print(MEMORY_MARK + json.dumps(figures), flush=True)
            return
        began = time.perf_counter()
        runs = asyncio.run(latency(folder, args.runs, args.speed)) if args.runs else None
    summary = summarize(runs) if runs else {}
    memory = measure_memory(args.sessions, args.speed) if args.sessions else {}
    elapsed = round(time.perf_counter() - began, 1)

    if summary:
        print_table(summary, memory)
    elif memory:
        print(json.dumps(memory, indent=2))
    if args.speed != 1.0:
        print(f"the line ran at {args.speed}x real time: not the published figures")
    result = {
        "machine": machine(),
        "options": {"runs": args.runs, "sessions": args.sessions, "speed": args.speed},
        "script": f"examples/tdx_sdr/scripts/{SCRIPT}",
        "elapsed_seconds": elapsed,
        "latency": summary,
        "memory": memory,
        "runs": runs,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"figures written to {OUTPUT.relative_to(ROOT)} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
