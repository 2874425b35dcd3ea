"""Outbound calls: ``voicekit dial CONFIG +E164``.

Order of operations (nothing reaches LiveKit before the veto and the checks):

1. the number is validated (``to_e164``), the lead looked up, ``before_dial`` run
   (:class:`voicekit_core.CallVetoed` is raised; nothing is journaled for a veto);
2. credentials and ``outbound_trunk_id`` are checked (:class:`TelephonyConfigError`);
3. Twirp ``RoomService/CreateRoom`` (``call-<call_id>``), ``AgentDispatchService/
   CreateDispatch`` (agent ``[agent].name``, :class:`JobMetadata` JSON), then
   ``SIP/CreateSIPParticipant`` with ``wait_until_answered`` and the ring timeout.

An answered call belongs to the dispatched agent (the worker journals it). A call that is
not answered (``SipCallError``) is journaled here with the mapped disposition, post-call
deliveries run, and the room is deleted (``RoomService/DeleteRoom``) so the agent leaves.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..builder import check_before_dial, prepare_call
from ..calls import CallContext, CallReport, Disposition, utcnow
from ..leads import Lead, lead_as_context
from .credentials import LiveKitCredentials, bounded, livekit_api, resolve_credentials
from .dispositions import describe_sip_error, disposition_for_sip_status
from .errors import TelephonyConfigError
from .metadata import JobMetadata
from .settings import TelephonySettings, deployment_name, telephony_settings

if TYPE_CHECKING:
    from ..deployment import Deployment

logger = logging.getLogger("voicekit.telephony.dial")


@dataclass
class DialOutcome:
    """The result of :func:`dial`. ``answered`` is True when the callee picked up;
    otherwise ``report`` is the journaled CallReport of the failed attempt."""

    call: CallContext
    answered: bool
    disposition: Disposition | None
    detail: str
    sip_call_id: str = ""
    report: CallReport | None = None


async def dial(
    deployment: Deployment,
    phone: str,
    *,
    creds: LiveKitCredentials | None = None,
    settings: TelephonySettings | None = None,
    extension: str = "",
    lead: Lead | None = None,
    call_id: str | None = None,
    room_name: str | None = None,
    campaign: dict[str, str] | None = None,
    check_veto: bool = True,
) -> DialOutcome:
    """Place an outbound call to ``phone`` (E.164 or a national form without extension or
    letters; dialed as E.164). ``extension`` (digits; default: the lead's
    ``extension``) is sent as DTMF after a 1 s pause once the callee answers
    (``CreateSIPParticipantRequest.dtmf``).

    The campaign dialer passes the ``lead`` it holds (no lookup), a deterministic
    ``call_id`` and ``room_name`` (``vk-<campaign>-<lead>-<n>``), the ``campaign`` link
    (``{"id": campaign id, "attempt_id"}``, sent in the job metadata) and
    ``check_veto=False`` only when it ran the ``before_dial`` hooks itself.

    Raises ``ValueError`` (invalid number), ``CallVetoed`` (a ``before_dial`` hook said no),
    :class:`TelephonyConfigError` (no credentials / trunk / bad URL) - all before any
    request - and :class:`~.errors.LiveKitRequestError` (a :class:`TelephonyError`) when
    LiveKit is unreachable or refuses a request for a non-SIP reason (e.g. 401), with the
    cause in one line (:mod:`.failures`).
    """
    call = await prepare_call(
        deployment, phone, direction="outbound", mode="live", lead=lead, call_id=call_id
    )
    if room_name:
        call.room_name = room_name
    if campaign:
        call.data["campaign"] = dict(campaign)
    if check_veto:
        check_before_dial(call)
    settings = settings or telephony_settings(deployment.config)
    if not settings.outbound_trunk_id:
        raise TelephonyConfigError(
            "no outbound trunk: set outbound_trunk_id in [plugins.telephony] "
            "(see `voicekit sip list`)"
        )
    creds = creds or resolve_credentials(deployment.config)
    extension = extension or getattr(call.lead, "extension", "")
    return await _place_call(call, settings, creds, extension=extension)


async def _place_call(
    call: CallContext,
    settings: TelephonySettings,
    creds: LiveKitCredentials,
    *,
    extension: str = "",
) -> DialOutcome:
    from livekit import api

    config = call.config
    metadata = JobMetadata(
        phone=call.phone,
        call_id=call.call_id,
        direction="outbound",
        lead=lead_as_context(call.lead) if call.lead else None,
        campaign_id=(call.data.get("campaign") or {}).get("id"),
        attempt_id=(call.data.get("campaign") or {}).get("attempt_id"),
        deployment=deployment_name(config),
    ).to_json()
    assert call.room_name is not None and call.participant_identity is not None
    async with livekit_api(creds) as lk:
        try:
            await bounded(
                lk.room.create_room(
                    api.CreateRoomRequest(name=call.room_name, empty_timeout=60, metadata=metadata)
                )
            )
            await bounded(
                lk.agent_dispatch.create_dispatch(
                    api.CreateAgentDispatchRequest(
                        agent_name=config.agent.name, room=call.room_name, metadata=metadata
                    )
                )
            )
            request = api.CreateSIPParticipantRequest(
                sip_trunk_id=settings.outbound_trunk_id,
                sip_call_to=call.phone,
                sip_number=settings.caller_id,
                room_name=call.room_name,
                participant_identity=call.participant_identity,
                participant_name=(call.lead.name if call.lead else "") or call.phone,
                krisp_enabled=settings.krisp,
                wait_until_answered=True,
                dtmf=f"ww{extension}" if extension else "",  # "w": a 0.5 s pause
            )
            request.ringing_timeout.seconds = settings.ring_timeout_seconds
            # livekit-api gives this request its own deadline: the ring window + 2 s
            info = await lk.sip.create_sip_participant(request)
        except api.SipCallError as exc:
            detail = describe_sip_error(exc)
            disposition = disposition_for_sip_status(exc.sip_status_code)
            call.set_disposition(disposition, detail)
            call.data["telephony"] = {
                "sip_status_code": exc.sip_status_code,
                "room": call.room_name,
            }
            await _delete_room(lk, call.room_name)
            report = await journal_unanswered(call)
            return DialOutcome(call, False, disposition, detail, report=report)
        # anything else LiveKit or the network does wrong leaves `livekit_api` as one
        # LiveKitRequestError sentence (failures.translate_failure)
    call.data["telephony"] = {"sip_call_id": info.sip_call_id, "room": call.room_name}
    return DialOutcome(call, True, None, "answered", sip_call_id=info.sip_call_id)


async def _delete_room(lk: object, room_name: str) -> None:
    import aiohttp
    from livekit import api

    try:
        await bounded(lk.room.delete_room(api.DeleteRoomRequest(room=room_name)))  # type: ignore[attr-defined]
    except api.ServerError as exc:  # the room may already be gone
        logger.info("could not delete room %s: %s", room_name, exc.message)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # the call is journaled anyway
        logger.warning("could not delete room %s: %s", room_name, type(exc).__name__)


async def journal_unanswered(call: CallContext) -> CallReport:
    """Journal a call that never connected (busy, no answer...) and run deliveries."""
    from ..delivery import journal_and_deliver
    from ..runner import build_report

    report = build_report(call, [], utcnow())
    report.post_call = await journal_and_deliver(call.deployment, report)
    return report


def explain_server_error(exc: object, creds: LiveKitCredentials) -> str:
    """One line for a non-SIP ``api.ServerError`` (no secret, no server probe). Kept for
    callers outside :func:`.credentials.livekit_api`, which translates by itself."""
    from .failures import server_failure

    return str(
        server_failure(
            getattr(exc, "status", 0), getattr(exc, "code", ""), getattr(exc, "message", ""), creds
        )
    )


def unreachable(creds: LiveKitCredentials, exc: BaseException) -> str:
    """One line for a transport failure (DNS, refused connection, timeout, TLS)."""
    from .credentials import safe_url
    from .failures import transport_failure

    failure = transport_failure(exc, creds)
    if failure is None:
        return f"cannot reach LiveKit at {safe_url(creds.url)} ({type(exc).__name__})"
    return str(failure)
