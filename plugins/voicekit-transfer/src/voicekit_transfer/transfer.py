"""Transfers through LiveKit (``livekit-api`` for cold, livekit-agents for warm).

* Cold: Twirp ``SIP/TransferSIPParticipant`` (a SIP REFER): the caller's SIP leg is handed
  to the target and leaves the room. Works on self-hosted LiveKit SIP and LiveKit Cloud;
  the caller's trunk provider must accept REFER (Twilio: enable "Call Transfer (SIP REFER)"
  on the Elastic SIP trunk).
* Warm: ``livekit.agents.beta.workflows.WarmTransferTask`` dials the target into a side
  room over the outbound trunk, briefs them, then moves them into the caller's room with
  ``RoomService/MoveParticipant`` - a LiveKit Cloud feature. Live calls only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voicekit_core.telephony.credentials import LiveKitCredentials, livekit_api
from voicekit_core.telephony.dispositions import describe_sip_error

from .settings import Target, TransferSettings

if TYPE_CHECKING:
    from voicekit_core import CallContext


class TransferFailed(Exception):
    """The target did not take the call; ``str()`` is a sentence for the model."""

    def __init__(self, detail: str, *, sip_status_code: int | None = None):
        super().__init__(detail)
        self.detail = detail
        self.sip_status_code = sip_status_code


async def cold_transfer(
    call: CallContext, target: Target, settings: TransferSettings, creds: LiveKitCredentials
) -> str:
    """Transfer the call's SIP participant to ``target`` (``SIP/TransferSIPParticipant``).

    Returns the transfer id. Raises :class:`TransferFailed` when the target is busy, does
    not answer, refuses (``SipCallError``) or the server reports ``STS_TRANSFER_FAILED``.
    """
    from livekit import api

    if not call.room_name or not call.participant_identity:
        raise TransferFailed("this call has no SIP participant to transfer")
    request = api.TransferSIPParticipantRequest(
        room_name=call.room_name,
        participant_identity=call.participant_identity,
        transfer_to=target.to,
        play_dialtone=settings.play_dialtone,
    )
    request.ringing_timeout.seconds = settings.ring_timeout_seconds
    async with livekit_api(creds) as lk:
        try:
            response = await lk.sip.transfer_sip_participant(request)
        except api.SipCallError as exc:
            raise TransferFailed(
                describe_sip_error(exc), sip_status_code=exc.sip_status_code
            ) from None
        except api.ServerError as exc:
            raise TransferFailed(
                f"LiveKit refused the transfer ({exc.status}: {exc.message})"
            ) from None
    if response.status == api.SIPTransferStatus.STS_TRANSFER_FAILED:
        detail = response.reason or "the transfer failed"
        raise TransferFailed(
            f"{detail} (SIP {response.sip_status})" if response.sip_status else detail
        )
    return response.transfer_id


async def warm_transfer(
    context: Any, call: CallContext, target: Target, settings: TransferSettings
) -> str:
    """Run livekit's ``WarmTransferTask`` from inside the tool (live, room-bound calls).

    Returns the human agent's participant identity. Raises :class:`TransferFailed` when
    the installed livekit-agents has no warm transfer, no outbound trunk is configured,
    or the target does not answer / declines.
    """
    from voicekit_core.telephony.settings import telephony_settings

    try:
        from livekit.agents.beta.workflows import WarmTransferTask
    except ImportError:
        raise TransferFailed("warm transfer is not available in this livekit-agents") from None
    telephony = telephony_settings(call.config)
    if not telephony.outbound_trunk_id:
        raise TransferFailed("warm transfer needs outbound_trunk_id in [plugins.telephony]")
    sip_call_to = target.to.removeprefix("tel:")
    task = WarmTransferTask(
        sip_call_to=sip_call_to,
        sip_trunk_id=telephony.outbound_trunk_id,
        sip_number=telephony.caller_id or "",
        ringing_timeout=float(settings.ring_timeout_seconds),
        chat_ctx=context.session.history,
    )
    try:
        result = await task
    except Exception as exc:  # ToolError from the task: no answer, declined, voicemail
        raise TransferFailed(str(exc) or "the colleague could not be reached") from None
    return result.human_agent_identity
