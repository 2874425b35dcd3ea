"""voicekit-transfer: a ``transfer_call`` tool that hands the caller to a human.

Enable with ``[plugins] enable = ["transfer"]``; settings in ``[plugins.transfer]``
(:class:`voicekit_transfer.settings.TransferSettings`). LiveKit credentials come from the
built-in ``telephony`` plugin (``[plugins.telephony]`` or ``LIVEKIT_*``).

Outcomes: success -> disposition ``transferred`` and ``report.data["transfer"] =
{"target": name, "to": "tel:+...", "mode": "cold"}``; a target that is closed, busy,
does not answer or refuses -> a ``ToolError`` telling the model to say so and offer to
take a message (``data["transfer"]["error"]`` records why).
"""

# No `from __future__ import annotations`: livekit reads tool annotations at call time.

from datetime import datetime, timezone

from voicekit_core import Disposition, hookimpl

from .settings import Target, TransferSettings
from .transfer import TransferFailed, cold_transfer, warm_transfer

NAME = "transfer"
__all__ = ["NAME", "Target", "TransferFailed", "TransferSettings"]


def settings_for(call) -> TransferSettings:
    """The validated ``[plugins.transfer]`` settings of the call's deployment."""
    return call.config.plugin_settings(NAME)


@hookimpl
def register_settings(register):
    register(TransferSettings)


@hookimpl
def call_instructions(call):
    settings = settings_for(call)
    try:
        targets = settings.all_targets()
    except ValueError:
        return None
    listed = "; ".join(
        f"{t.name}" + (f" ({t.description})" if t.description else "") for t in targets
    )
    return (
        "Transfers: when the caller asks for a human, first say a short hand-off line such as "
        f'"{settings.handoff_message}", then call transfer_call. Targets: {listed}. '
        "If the transfer fails, tell the caller and offer to take a message."
    )


@hookimpl
def register_tools(register, call):
    from livekit.agents import RunContext, ToolError, function_tool

    @function_tool
    async def transfer_call(context: RunContext, reason: str = "", target: str = "") -> str:
        """Transfer the caller to a human colleague. Say a short hand-off line first.

        Args:
            reason: why the caller wants a human, in their words.
            target: which colleague or team to transfer to; empty for the default.
        """
        current = context.userdata
        settings = settings_for(current)
        try:
            chosen = settings.pick(target)
        except (LookupError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        record = {"target": chosen.name, "to": chosen.to, "reason": reason}
        if not chosen.is_open(datetime.now(timezone.utc)):
            record["error"] = f"closed (hours {chosen.hours} {chosen.timezone})"
            current.data[NAME] = record
            raise ToolError(
                f"{chosen.name} is not available now (hours {chosen.hours} {chosen.timezone}). "
                "Tell the caller and offer to take a message."
            )
        try:
            how = await _transfer(context, current, chosen, settings)
        except TransferFailed as exc:
            record["error"] = exc.detail
            if exc.sip_status_code is not None:
                record["sip_status_code"] = exc.sip_status_code
            current.data[NAME] = record
            current.note(f"transfer to {chosen.name} failed: {exc.detail}")
            raise ToolError(
                f"The transfer to {chosen.name} failed: {exc.detail}. "
                "Tell the caller and offer to take a message."
            ) from None
        record.update(how)
        current.data[NAME] = record
        current.set_disposition(Disposition.TRANSFERRED, f"to {chosen.name}: {reason}"[:200])
        current.request_end()
        return f"transferred to {chosen.name}"

    register(transfer_call)


async def _transfer(context, call, target: Target, settings: TransferSettings) -> dict:
    """Run the configured transfer; returns what to record. Raises TransferFailed."""
    from voicekit_core.telephony.credentials import resolve_credentials
    from voicekit_core.telephony.errors import TelephonyConfigError

    if call.mode == "live":
        await context.wait_for_playout()  # let the hand-off line finish before the REFER
        if settings.mode == "warm":
            identity = await warm_transfer(context, call, target, settings)
            return {"mode": "warm", "human_identity": identity}
    try:
        creds = resolve_credentials(call.config)
    except TelephonyConfigError as exc:
        if call.mode == "simulated":
            call.note("transfer simulated: no LiveKit credentials, no request made")
            return {"mode": "simulated"}
        raise TransferFailed(str(exc)) from None
    if settings.mode == "warm":
        call.note("warm transfer needs a live room; simulated call used a cold transfer")
    transfer_id = await cold_transfer(call, target, settings, creds)
    return {"mode": "cold", "transfer_id": transfer_id}
