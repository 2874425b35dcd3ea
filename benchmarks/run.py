"""voicekit benchmarks: ratios against a baseline measured in the same run.

1. Per-turn time: a voicekit-built session (config, hooks, tools, journal-ready userdata)
   vs a hand-written livekit ``AgentSession`` + ``Agent`` with the same ScriptedLLM policy
   and the same tool. Median of N text turns each; ratio = voicekit / livekit.
2. Start-up: ``voicekit plugins`` wall time vs ``python -c "import livekit.agents"``
   (median of R runs each); ratio = voicekit / livekit import. Listing plugins should not
   import livekit at all, so the ratio is expected to be well below 1.
3. Leads at scale (``benchmarks/leads.py``, in its own process): ``check``, ``leads`` and
   ``simulate`` with N leads vs 1 lead, and their peak memory.

Usage: ``nox -s bench`` or ``python benchmarks/run.py [--turns N] [--runs R] [--leads-rows N]``
(``--leads-rows 0`` skips 3).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tdx_sdr"


def echo_policy(chat_ctx, tools):
    """The same deterministic policy for both sessions: call the tool, then answer."""
    from voicekit_core.scripted_llm import Reply, ToolCall

    last = chat_ctx.items[-1]
    if last.type == "function_call_output":
        return Reply(text=f"Noted: {last.output}")
    return Reply(tool_calls=[ToolCall("take_message", {"message": "benchmark turn"})])


async def time_turns(session, turns: int) -> list[float]:
    durations = []
    for index in range(turns):
        start = time.perf_counter()
        await session.run(user_input=f"turn {index}")
        durations.append(time.perf_counter() - start)
    return durations


async def livekit_baseline(turns: int) -> list[float]:
    from livekit.agents import Agent, AgentSession, function_tool

    from voicekit_core.scripted_llm import ScriptedLLM

    @function_tool
    async def take_message(message: str, callback_number: str = "") -> str:
        """Record a message.

        Args:
            message: the message.
            callback_number: a number to call back.
        """
        return "message recorded; the team will call back"

    session = AgentSession(
        llm=ScriptedLLM(echo_policy), vad=None, turn_handling={"turn_detection": None}
    )
    async with session:
        await session.start(Agent(instructions="You take messages.", tools=[take_message]))
        return await time_turns(session, turns)


async def voicekit_session(turns: int, folder: Path) -> list[float]:
    from voicekit_core import load_deployment
    from voicekit_core.runner import create_call
    from voicekit_core.scripted_llm import ScriptedLLM

    deployment = load_deployment(folder)
    run = await create_call(deployment, "+14155550101", llm=ScriptedLLM(echo_policy))
    await run.start(greet=False)
    try:
        return await time_turns(run.session, turns)
    finally:
        await run.finish()


def wall(cmd: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--leads-rows", type=int, default=100_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tdx_sdr"
        shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".voicekit"))
        # warm both paths once (first AgentSession start in a process costs ~0.4 s)
        asyncio.run(livekit_baseline(3))
        asyncio.run(voicekit_session(3, folder))
        base = statistics.median(asyncio.run(livekit_baseline(args.turns)))
        ours = statistics.median(asyncio.run(voicekit_session(args.turns, folder)))

    beside = Path(sys.executable).with_name("voicekit")
    voicekit_bin = str(beside) if beside.exists() else shutil.which("voicekit") or "voicekit"
    import_time = wall([sys.executable, "-c", "import livekit.agents"], args.runs)
    plugins_time = wall([voicekit_bin, "plugins"], args.runs)

    print(f"per-turn median, hand-written livekit session: {base * 1000:8.3f} ms")
    print(f"per-turn median, voicekit-built session:       {ours * 1000:8.3f} ms")
    print(f"per-turn ratio voicekit / livekit:             {ours / base:8.3f}")
    print(f"`python -c 'import livekit.agents'` median:    {import_time * 1000:8.1f} ms")
    print(f"`voicekit plugins` median:                     {plugins_time * 1000:8.1f} ms")
    print(f"start-up ratio voicekit plugins / import:      {plugins_time / import_time:8.3f}")
    if args.leads_rows > 0:
        leads = Path(__file__).with_name("leads.py")
        subprocess.run([sys.executable, str(leads), "--rows", str(args.leads_rows)], check=True)


if __name__ == "__main__":
    main()
