"""The scripted model's callback flow: "call me back tomorrow afternoon", "I'm busy, try
me Tuesday at 3".

* A caller who asks for a later call (or says they are busy) and names a time: the model
  calls ``schedule_callback`` with the caller's words, as they said them.
* Without a time: it asks "When would be a good time to call you back?" and passes the
  next answer to the tool.
* When the tool succeeds it confirms the local time and says goodbye (``end_call``; the
  tool has already set ``callback_requested`` and asked for the end).
* When the tool refuses the time it says why (the tool's sentence, in English; a
  localized retry line otherwise) and tries the next answer; after
  :data:`MAX_FAILED_TRIES` refusals it closes with ``callback_requested`` and no time
  (the dialer then uses its default delay).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voicekit_core.spoken_time import mentions_time, spoken

from .conversation import Turn

if TYPE_CHECKING:
    from voicekit_core.scripted_llm import Reply

    from .sdr import CallFlowPolicy

#: The core tool (built-in ``call_control``).
CALLBACK_TOOL = "schedule_callback"
#: Refused times before the model gives up asking and closes without one.
MAX_FAILED_TRIES = 2

# The caller asks for a later call: a callback with or without a time.
_ASKED = (
    r"\bcall(?:ing)? (?:me |us )?back\b",
    r"\b(?:call|try|ring|phone|reach|catch) (?:me |us )?(?:again )?"
    r"(?:later|another time|some ?other time|another day|some other day)\b",
    r"\bcallback\b",
    r"\bvuelv[ae]n? a llamar",
    r"\bll[áa]m(?:e|ame|eme|enme|enos)(?: de nuevo| otra vez)? "
    r"(?:m[áa]s tarde|luego|otro d[ií]a|en otro momento)\b",
    r"\bdevu[eé]lva(?:me|nme)? la llamada\b",
)
# The caller cannot talk now: a callback with or without a time.
_BUSY = (
    r"\b(?:i'?m|i am|we'?re|we are) (?:a bit |a little |really |kind of |pretty |super |very )?"
    r"(?:busy|in a meeting|driving|tied up|swamped|in the middle of something)\b",
    r"\b(?:(?:this|it|now)(?:'s| is) (?:a bad|not a good|not the best) time|not a good time|"
    r"bad time to talk)\b",
    r"\bcan'?t talk (?:right now|now|at the moment)\b",
    r"\bestoy (?:muy |un poco )?(?:ocupad[oa]|en una reuni[óo]n|conduciendo|manejando)\b",
    r"\bno (?:es|me viene) (?:un )?buen momento\b",
    r"\bahora no puedo\b",
)
# "Call me" / "try me": a callback only when a time is named ("try me Tuesday at 3").
_CALL_ME = (
    r"\b(?:call|try|ring|phone|reach|catch) (?:me|us)\b",
    r"\bll[áa]m(?:ame|eme|enme|enos)\b",
)
# The tool's confirmation ends with "(<local ISO 8601>, <IANA zone>)."
_CONFIRMED = re.compile(r"\((?P<local>\d{4}-\d{2}-\d{2}T[0-9:.+-]+), (?P<zone>[A-Za-z0-9_+/-]+)\)")


def detect_callback(text: str) -> Literal["with_time", "ask_time"] | None:
    """``with_time`` when the caller asks for a later call and names a day or time,
    ``ask_time`` when they ask (or say they are busy) without one, else None."""
    lowered = text.lower().replace("’", "'")
    asked = any(re.search(p, lowered) for p in _ASKED + _BUSY)
    if asked:
        return "with_time" if mentions_time(text) else "ask_time"
    if any(re.search(p, lowered) for p in _CALL_ME) and mentions_time(text):
        return "with_time"
    return None


def confirmed_time(output: str) -> datetime | None:
    """The local time (aware, in its IANA zone) in the tool's confirmation, or None."""
    match = _CONFIRMED.search(output)
    if match is None:
        return None
    try:
        local = datetime.fromisoformat(match.group("local"))
        return local.astimezone(ZoneInfo(match.group("zone")))
    except (ValueError, ZoneInfoNotFoundError):
        return None


def _failures(turns: list[Turn]) -> int:
    return sum(
        1
        for t in turns
        if t.kind == "function_call_output" and t.name == CALLBACK_TOOL and t.is_error
    )


def awaiting_time(policy: CallFlowPolicy, turns: list[Turn]) -> bool:
    """True when the agent's last line (before the caller's current one) asked for a
    callback time, or said why the previous time could not be scheduled."""
    before = turns[:-1]
    for index in range(len(before) - 1, -1, -1):
        turn = before[index]
        if turn.kind == "message" and turn.role == "user":
            return False
        if turn.kind == "message" and turn.role == "assistant":
            if turn.text == policy.say("ask_callback_time"):
                return True
            previous = before[index - 1] if index else None
            return (
                previous is not None
                and previous.kind == "function_call_output"
                and previous.name == CALLBACK_TOOL
                and previous.is_error
            )
    return False


def after_user(
    policy: CallFlowPolicy, text: str, turns: list[Turn], tools: list[str]
) -> Reply | str | None:
    """The reply to the caller's ``text`` when it is about a callback, else None."""
    from voicekit_core.scripted_llm import Reply, ToolCall

    if CALLBACK_TOOL not in tools:
        return None
    kind = "with_time" if awaiting_time(policy, turns) else detect_callback(text)
    if kind == "with_time":
        return Reply(tool_calls=[ToolCall(CALLBACK_TOOL, {"when": text})])
    if kind == "ask_time":
        return policy.say("ask_callback_time")
    return None


def after_tool(
    policy: CallFlowPolicy, result: Turn, turns: list[Turn], tools: list[str]
) -> Reply | str:
    """The reply to a ``schedule_callback`` result: confirm and say goodbye, or ask again."""
    from voicekit_core.scripted_llm import Reply, ToolCall

    end = [ToolCall("end_call")] if "end_call" in tools else []
    if result.is_error:
        if _failures(turns) >= MAX_FAILED_TRIES:
            for call in end:
                call.arguments.update(
                    disposition="callback_requested", reason="asked for a callback; no time agreed"
                )
            return Reply(policy.say("callback_later"), end)
        return result.output if policy.language == "en" else policy.say("callback_retry")
    local = confirmed_time(result.output)
    if local is None:
        return Reply(policy.say("callback_booked_plain"), end)
    text = policy.say("callback_booked", when=spoken(local, policy.language))
    if "timezone is unknown" in result.output:
        text += " " + policy.say("callback_utc")
    return Reply(text, end)
