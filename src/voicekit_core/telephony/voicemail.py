"""Voicemail: detect an answering machine, leave the configured message, hang up.

Primary path (live outbound calls): livekit's answering-machine detection,
``livekit.agents.voice.amd.AMD`` (present in livekit-agents 1.8.9). The worker calls
:func:`run_amd` right after ``session.start(room=...)``; AMD waits for the SIP participant
to be answered (``sip.callStatus == "active"``), classifies the greeting with an LLM, and
:func:`apply_verdict` leaves the message on a machine. Without LiveKit Cloud inference
credentials AMD uses the session's own STT and LLM (so a text-only session cannot run it).

Fallback path (``voicemail_tool = true`` or AMD unavailable): a ``leave_voicemail`` tool
the model calls when it hears a greeting (see :mod:`voicekit_core.builtins.telephony`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from ..calls import CallContext, Disposition
from ..prompts import render
from .settings import telephony_settings

if TYPE_CHECKING:
    from livekit.agents import AgentSession

logger = logging.getLogger("voicekit.telephony.voicemail")

Action = Literal["talk", "voicemail", "hang_up"]

#: AMD category (``AMDCategory.value``) -> what voicekit does.
VERDICTS: dict[str, Action] = {
    "human": "talk",
    "uncertain": "talk",
    "machine-ivr": "talk",  # livekit starts IVR navigation itself
    "machine-vm": "voicemail",
    "machine-unavailable": "hang_up",  # mailbox full / not set up
}


def amd_available() -> bool:
    """True when the installed livekit-agents ships answering-machine detection."""
    try:
        from livekit.agents.voice.amd import AMD  # noqa: F401
    except ImportError:
        return False
    return True


def voicemail_text(call: CallContext) -> str:
    """The voicemail message for this call: ``[plugins.telephony].voicemail_message`` or
    ``[agent].voicemail_message``, localized and rendered with the lead ('' if none)."""
    config = call.config
    raw = telephony_settings(config).voicemail_message or config.agent.voicemail_message
    text = config.localized(raw)
    return render(text, lead=call.lead, config=config).strip() if text else ""


def record_voicemail(call: CallContext, *, category: str, left_message: bool) -> None:
    """Set disposition ``voicemail``, note what happened in ``data["telephony"]``, and ask
    the runner to hang up."""
    reason = "voicemail message left" if left_message else "answering machine; no message left"
    call.set_disposition(Disposition.VOICEMAIL, reason)
    call.data.setdefault("telephony", {})["voicemail"] = {
        "category": category,
        "message_left": left_message,
    }
    call.request_end()


async def apply_verdict(session: AgentSession, call: CallContext, category: str) -> Action:
    """Act on an AMD category: on ``machine-vm`` say the voicemail message (not
    interruptible) and end the call; on ``machine-unavailable`` end it; else do nothing."""
    action = VERDICTS.get(category, "talk")
    if action == "talk":
        return action
    text = voicemail_text(call) if action == "voicemail" else ""
    if text:
        handle = session.say(text, allow_interruptions=False)
        await handle.wait_for_playout()
    record_voicemail(call, category=category, left_message=bool(text))
    return action


async def run_amd(session: AgentSession, call: CallContext, **amd_options: Any) -> Action:
    """Run livekit AMD on a started, room-bound session and apply the verdict.

    Returns ``"talk"`` without detecting when AMD is off in settings, unavailable, or
    the call is inbound. ``amd_options`` go to ``AMD(...)`` (``llm``, ``stt``,
    ``detection_options``...).
    """
    if call.direction != "outbound" or not telephony_settings(call.config).amd:
        return "talk"
    if not amd_available():
        logger.info("answering-machine detection unavailable in this livekit-agents")
        return "talk"
    from livekit.agents.voice.amd import AMD

    amd_options.setdefault("participant_identity", call.participant_identity)
    async with AMD(session, **amd_options) as detector:
        result = await detector.execute()
    call.data.setdefault("telephony", {})["amd"] = {
        "category": result.category.value,
        "reason": result.reason,
    }
    return await apply_verdict(session, call, result.category.value)
