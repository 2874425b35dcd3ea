"""A caller script played through a real voice ``AgentSession`` over the simulated line.

The caller's lines are synthesized (Piper) before the call starts and streamed as 20 ms
frames at real-time pace; the agent hears them through VAD, turn detection and STT,
answers through the LLM (the offline scripted model, or a real one with keys) and TTS,
and its audio is played back on the line at the same pace. Outbound calls open as a real
one does: the callee (or their voicemail) speaks first and answering-machine detection
(:mod:`.amd`) decides whether the agent greets or leaves the voicemail message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..calls import Disposition
from . import caller as sounds
from .amd import AmdVerdict, GreetingDetector
from .latency import LatencyLog, VoiceTurn
from .line import AgentSpeaker, CallerLine
from .tape import Tape

if TYPE_CHECKING:
    from ..deployment import Deployment
    from ..runner import CallRun
    from ..simulate import CallerScript, ScriptTurn

logger = logging.getLogger("voicekit.voice")

REACTION_SECONDS = 0.4
"""Line seconds the caller waits after the agent stops before answering."""
ANSWER_TIMEOUT = 12.0
"""Wall seconds to wait for the agent's first audio after a caller turn."""
REPLY_TIMEOUT = 90.0
"""Wall seconds an agent's reply (tools included) may take to play out."""


@dataclass
class VoiceOptions:
    """How the line runs: ``speed`` (1.0 real time; tests use more), ``line_rate`` in Hz
    (16,000 wideband; 8,000 a narrowband telephone line), ``save_audio`` a WAV path."""

    speed: float = 1.0
    line_rate: int = 16_000
    save_audio: Path | None = None


@dataclass
class VoiceCall:
    """A finished voice call: the run (``run.report``), each turn's figures, the line
    tape, and the answering-machine verdict (outbound calls)."""

    run: CallRun
    log: LatencyLog
    tape: Tape
    amd: AmdVerdict | None = None
    saved_audio: Path | None = None
    notes: list[str] = field(default_factory=list)


def synthesize_turns(script: CallerScript, rate: int) -> list[np.ndarray | None]:
    """The caller's audio for each turn (None for a turn the caller does not speak)."""
    audio: list[np.ndarray | None] = []
    for turn in script.steps():
        if turn.sound == "silence":
            audio.append(sounds.silence(turn.seconds, rate))
        elif turn.sound == "noise":
            audio.append(sounds.clipped_noise(turn.seconds, rate))
        elif turn.caller is not None:
            audio.append(sounds.speech(turn.caller, rate))
        else:
            audio.append(None)
    return audio


async def run_voice_script(
    deployment: Deployment,
    script: CallerScript,
    *,
    lead_phone: str | None = None,
    offline: bool = False,
    options: VoiceOptions | None = None,
    on_turn: Callable[[VoiceTurn], None] | None = None,
) -> VoiceCall:
    """Play ``script`` as a voice call; returns it finished, journaled and delivered.

    The script and number are checked before anything is synthesized or journaled
    (:class:`~voicekit_core.errors.ScriptError`, ``InvalidPhone``, ``LeadNotFound``).
    Raises :class:`~voicekit_core.errors.PluginError` when the ``local`` extra is missing
    (the caller's voice and the offline speech models come from it). ``on_turn`` gets
    each :class:`VoiceTurn` once the agent has answered it. ``--save-audio`` failing to
    write is noted in the report, never raised.
    """
    from ..builtins.local_models import preload
    from ..provider_kit import load_livekit_plugin
    from ..runner import run_started
    from ..simulate import create_script_call

    options = options or VoiceOptions()
    rate = options.line_rate
    # livekit plugins register themselves on import, on the main thread only
    load_livekit_plugin("livekit.plugins.silero", "local")
    await asyncio.to_thread(preload)  # load once, before the clock starts
    run, phone = await create_script_call(
        deployment,
        script,
        lead_phone,
        offline=offline,
        text_only=False,
        **_session_overrides(deployment),
    )
    turn_audio = await asyncio.to_thread(synthesize_turns, script, rate)
    tape = Tape(rate)
    line = CallerLine(tape, speed=options.speed)
    log = LatencyLog()
    speaker = AgentSpeaker(line, on_first_audio=log.first_audio)
    call = VoiceCall(run=run, log=log, tape=tape)
    wire_session(run.session, line, speaker, log)
    async with run_started(run, greet=False) as run:
        lead = run.call.lead
        if phone.extension and lead is not None and lead.extension != phone.extension:
            run.call.lead = lead.model_copy(update={"extension": phone.extension})
        player = _Player(run, script, line, speaker, log, options, on_turn)
        talk = await player.open(call)
        if talk:
            await player.play(turn_audio)
        await player.settle()
        line.close()
        run.extra_metrics["voice"] = {
            **log.summary(),
            "speed": options.speed,
            "line_rate_hz": rate,
            "agent_interruptions": speaker.interruptions,
        }
        if options.save_audio is not None:
            call.saved_audio = _save(run, tape, options.save_audio)
    return call


def _session_overrides(deployment: Deployment) -> dict[str, Any]:
    """The deployment's ``[models.turn]`` with two changes for the simulated line: a VAD
    even when ``vad = "none"`` (the local STT is not streaming, so the session needs one
    to cut utterances), and no resuming after a false interruption (the line cannot pause
    playback; livekit would warn and ignore it)."""
    from ..builder import voice_options

    turn = deployment.config.models.turn
    overrides = voice_options(turn)
    overrides["turn_handling"]["interruption"]["resume_false_interruption"] = False
    if turn.vad != "silero":
        from ..builtins.local_models import silero_vad

        overrides["vad"] = silero_vad()
    return overrides


def wire_session(session: Any, line: CallerLine, speaker: AgentSpeaker, log: LatencyLog) -> None:
    """Plug the line into a not yet started ``AgentSession`` (input ``line``, output
    ``speaker``) and feed ``log`` from its events: final transcripts, chat messages'
    metrics and the STT's ``STTMetrics``. Used for voicekit calls and, in the benchmark,
    for a hand-written session measured the same way."""
    session.input.audio = line
    session.output.audio = speaker

    def on_transcript(event: Any) -> None:
        if event.is_final:
            log.heard(event.transcript)

    def on_metrics(metrics: Any) -> None:
        if getattr(metrics, "type", "") == "stt_metrics":
            log.stt_duration(metrics.duration)

    session.on("user_input_transcribed", on_transcript)
    session.on("conversation_item_added", lambda event: log.chat_item(event.item))
    if session.stt is not None:  # the STT's own metrics (the session's event is deprecated)
        session.stt.on("metrics_collected", on_metrics)


def _save(run: CallRun, tape: Tape, path: Path) -> Path | None:
    seconds = round(tape.seconds, 2)
    try:
        tape.write_wav(path)
    except OSError as exc:
        run.call.note(f"--save-audio {path}: not written ({exc.strerror or exc})")
        run.call.data["recording"] = {"status": "failed", "location": str(path)}
        return None
    run.call.data["recording"] = {
        "status": "saved",
        "location": str(path),
        "channels": "left caller, right agent",
        "seconds": seconds,
    }
    return path


class _Player:
    """Drives one call: the answer, the caller's turns, waiting for the agent."""

    def __init__(
        self,
        run: CallRun,
        script: CallerScript,
        line: CallerLine,
        speaker: AgentSpeaker,
        log: LatencyLog,
        options: VoiceOptions,
        on_turn: Callable[[VoiceTurn], None] | None,
    ):
        self.run = run
        self.script = script
        self.line = line
        self.speaker = speaker
        self.log = log
        self.options = options
        self.on_turn = on_turn
        self.session = run.session
        self._pending: tuple[VoiceTurn, int] | None = None

    def _line_seconds(self, seconds: float) -> float:
        return seconds / self.options.speed

    # -- answering ------------------------------------------------------------------

    async def open(self, call: VoiceCall) -> bool:
        """Answer the call; True when the conversation goes on (False: voicemail left
        or the call is over)."""
        from ..telephony.settings import telephony_settings

        script, run = self.script, self.run
        if script.direction == "inbound":
            await self._greet()
            return True
        if not telephony_settings(run.call.config).amd:
            if script.answer == "voicemail":
                run.call.note("answering-machine detection is off ([plugins.telephony] amd)")
            await self._greet()
            return script.answer != "voicemail"
        verdict = await self._detect(call)
        if verdict.category != "machine-vm":
            await self._greet()
            return script.answer != "voicemail"
        return False

    async def _detect(self, call: VoiceCall) -> AmdVerdict:
        """Answering-machine detection on what the callee's end says on picking up."""
        from ..prompts import render
        from ..telephony.voicemail import apply_verdict

        run = self.run
        rate = self.line.rate
        if self.script.answer == "voicemail":
            text = render(
                self.script.voicemail_greeting, lead=run.call.lead, config=run.call.config
            )
            audio = await asyncio.to_thread(sounds.voicemail_greeting, text, rate)
        else:
            audio = await asyncio.to_thread(sounds.speech, self.script.hello, rate)
        detector = GreetingDetector(rate)
        self.line.listening = False  # the agent does not answer a machine's greeting
        self.line.taps.append(detector.push)
        self.line.say(audio, label="answer")
        try:
            verdict = await detector.verdict
            cue = await detector.message_cue
        finally:
            self.line.taps.remove(detector.push)
            self.line.listening = True
        call.amd = verdict
        run.call.data.setdefault("telephony", {})["amd"] = {
            "category": verdict.category,
            "reason": verdict.reason,
            "detector": "voicekit line timing (livekit AMD needs a room)",
            **({"message_cue": cue} if cue else {}),
        }
        logger.info("call %s: AMD %s (%s)", run.call.call_id, verdict.category, verdict.reason)
        if verdict.category == "machine-vm":
            await apply_verdict(self.session, run.call, verdict.category)
            await self._agent_done()
        return verdict

    async def _greet(self) -> None:
        await self.run.greet()
        await self._agent_done()

    # -- turns ----------------------------------------------------------------------

    async def play(self, turn_audio: list[np.ndarray | None]) -> None:
        from ..simulate import _agent_replies, _scripted_llm

        turns = self.script.steps()
        llm = _scripted_llm(self.run)
        ignored = False
        for index, (turn, audio) in enumerate(zip(turns, turn_audio, strict=True)):
            if self.run.ended:
                self.run.call.note(
                    f"agent hung up; {len(turns) - index} scripted turn(s) not played"
                )
                break
            if turn.agent and llm is None:
                ignored = True
            elif turn.agent:
                llm.push(*_agent_replies(turn.agent))
            if audio is not None:
                await self._caller_turn(turn, audio)
            elif turn.agent and llm is not None:
                await self.session.generate_reply()
                await self._agent_done()
            if llm is not None and llm.drop_pushed():
                self.run.call.note(f"turn {index + 1}: agent step(s) not taken")
        if ignored:
            self.run.call.note(
                "the caller script's agent steps were ignored: the model is not scripted"
            )

    async def _caller_turn(self, turn: ScriptTurn, audio: np.ndarray) -> None:
        """Speak one turn and wait for the agent's first audio. The agent's reply plays
        on; the next turn waits for it to finish, or interrupts it (barge-in)."""
        if turn.interrupt_after_ms is not None:
            await self._agent_speaking_for(turn.interrupt_after_ms / 1000)
        else:
            await self._agent_done()
            await asyncio.sleep(self._line_seconds(REACTION_SECONDS))
        self._report_pending()
        entry = self.log.begin(turn.caller or "", turn.sound, barge_in=self.speaker.playing)
        self._pending = (entry, self.speaker.interruptions)
        utterance = self.line.say(audio, label=f"turn {entry.index}")
        await utterance.done
        entry.speech_end = utterance.ended_at
        entry.speech_end_epoch = time.time()
        # silence or noise may well get no answer: wait less for one
        timeout = ANSWER_TIMEOUT if turn.sound == "speech" else ANSWER_TIMEOUT / 3
        await self._wait(lambda: entry.first_audio is not None or self.run.ended, timeout)
        if entry.first_audio is None and not self.run.ended:
            self.run.call.note(f"voice turn {entry.index}: the agent did not answer")

    def _report_pending(self) -> None:
        """Close the previous turn: whether it interrupted the agent; ``on_turn``."""
        if self._pending is None:
            return
        entry, interruptions = self._pending
        self._pending = None
        entry.interrupted_agent = self.speaker.interruptions > interruptions
        if self.on_turn is not None:
            self.on_turn(entry)

    # -- waiting on the agent -------------------------------------------------------

    async def _wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def _agent_quiet(self) -> bool:
        return not self.speaker.playing and self.session.agent_state in ("listening", "idle")

    async def _agent_done(self) -> None:
        """Until the agent has been quiet (not speaking, not thinking) for 0.3 line s."""
        settle = self._line_seconds(0.3)
        quiet_since: float | None = None
        deadline = time.perf_counter() + REPLY_TIMEOUT
        while time.perf_counter() < deadline:
            if self._agent_quiet():
                quiet_since = quiet_since or time.perf_counter()
                if time.perf_counter() - quiet_since >= settle:
                    return
            else:
                quiet_since = None
            await asyncio.sleep(0.02)
        self.run.call.note(f"the agent was still busy after {REPLY_TIMEOUT:g} s; moving on")

    async def _agent_speaking_for(self, seconds: float) -> None:
        """Until the agent's current reply has played ``seconds`` (or it stopped)."""
        await self._wait(lambda: self.speaker.playing, ANSWER_TIMEOUT)
        await self._wait(
            lambda: not self.speaker.playing or self.speaker.played_seconds() >= seconds,
            REPLY_TIMEOUT,
        )

    async def settle(self) -> None:
        """Let the last reply (the goodbye) play out before hanging up."""
        await self._agent_done()
        self._report_pending()
        call = self.run.call
        unsettled = call.disposition is None and self.run.failure is None
        if unsettled and self.script.answer == "voicemail":  # AMD off, or it took a person
            call.set_disposition(Disposition.VOICEMAIL, "answering machine")
