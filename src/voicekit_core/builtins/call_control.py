"""Built-in tools every agent has: ``end_call``, ``take_message`` and ``schedule_callback``."""

# No `from __future__ import annotations`: livekit reads tool annotations at call time,
# and RunContext is imported inside register_tools to keep livekit out of plugin listing.

from typing import Any

from voicekit_core import hookimpl
from voicekit_core.calls import Disposition
from voicekit_core.dispositions import MODEL_DISPOSITIONS, DispositionCatalog

__all__ = ["MODEL_DISPOSITIONS"]  # kept importable from here

_END_CALL_DOC = """End the call after your goodbye. Call this once you have said goodbye.

        Args:
            disposition: why the call ends, if no tool has recorded an outcome yet: one of
                {choices}.
            reason: a few words on why, in the caller's words where possible.
        """


@hookimpl
def register_tools(register, call):
    from livekit.agents import RunContext, ToolError, function_tool

    catalog = getattr(call.deployment, "dispositions", None) or DispositionCatalog()
    infos = catalog.model_choices(call.config.agent.end_call_dispositions)
    allowed = [info.name for info in infos]
    choices = ", ".join(
        f"{info.name} ({info.description})" if info.description else info.name for info in infos
    )

    async def end_call(
        context: RunContext, disposition: str | None = None, reason: str = ""
    ) -> None:
        current = context.userdata
        if disposition is not None:
            if disposition not in allowed:
                raise ToolError(f"disposition must be one of {', '.join(allowed)}")
            current.set_disposition(disposition, reason)
        current.request_end()
        return None

    end_call.__doc__ = _END_CALL_DOC.format(choices=choices)
    end_call = function_tool(end_call)

    @function_tool
    async def take_message(context: RunContext, message: str, callback_number: str = "") -> str:
        """Record a message for the team when no one can take the call now.

        Args:
            message: the caller's message, as they said it.
            callback_number: a number to call back, if the caller gave one different from theirs.
        """
        if not message.strip():
            raise ToolError("the message is empty: ask the caller what they would like to pass on")
        current = context.userdata
        data: dict[str, Any] = {"message": message.strip()}
        if callback_number:
            data["callback_number"] = callback_number
        current.data.setdefault("messages", []).append(data)
        current.set_disposition(Disposition.MESSAGE_TAKEN, message.strip()[:200])
        return "message recorded; the team will call back"

    @function_tool
    async def schedule_callback(context: RunContext, when: str) -> str:
        """Schedule a call back when the caller asks to be called at another time
        ("call me back tomorrow afternoon", "I'm busy, try me Tuesday at 3"). Then confirm
        the time it returns, say goodbye, and the call ends.

        Args:
            when: when to call back, in the caller's words ("tomorrow afternoon", "Tuesday
                at 3pm", "in two hours") or an ISO 8601 local time ("2026-11-24T15:00").
        """
        from voicekit_core.callbacks import CallbackTimeError, plan_for_call

        current = context.userdata
        try:
            callback = plan_for_call(current, when)
        except CallbackTimeError as exc:
            raise ToolError(str(exc)) from None
        current.data["callback"] = callback.as_data()
        current.set_disposition(Disposition.CALLBACK_REQUESTED, callback.reason())
        current.request_end()
        return callback.confirmation()

    register(end_call)
    register(take_message)
    register(schedule_callback)
