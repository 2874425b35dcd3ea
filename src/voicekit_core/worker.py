"""The LiveKit worker: ``voicekit start|dev|console CONFIG``.

The worker registers with LiveKit under ``[agent].name`` (explicit dispatch). Each job
is one call:

* outbound: ``voicekit dial`` dispatched the job with
  :class:`~voicekit_core.telephony.metadata.JobMetadata` (phone, call id) and placed the SIP
  call; the before-dial veto already ran there. The job waits for the SIP participant,
  runs answering-machine detection, and talks or leaves the voicemail message;
* inbound: a SIP dispatch rule created the room; the caller's number comes from the SIP
  participant's ``sip.phoneNumber`` attribute.

A job of a campaign (metadata with a campaign id) runs with that campaign's instructions
and greeting overrides (:func:`deployment_for_campaign`).

The session is the one :mod:`voicekit_core.builder` makes for simulated calls, bound to
the room with ``session.start(agent, room=ctx.room)``. The config path travels to job
processes in ``VOICEKIT_CONFIG`` (job processes are separate interpreters).
"""

from __future__ import annotations

import asyncio
import ctypes.util
import logging
import os
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import VoicekitError

if TYPE_CHECKING:
    from livekit.agents import JobContext, JobProcess

    from .deployment import Deployment
    from .telephony.metadata import JobMetadata

logger = logging.getLogger("voicekit.worker")
CONFIG_ENV = "VOICEKIT_CONFIG"
ANSWER_TIMEOUT = 60.0  # seconds to wait for the dialed SIP participant to join
SIP_PHONE_ATTRIBUTE = "sip.phoneNumber"


def campaign_link(meta: JobMetadata) -> dict[str, str] | None:
    """``{"id": campaign id, "attempt_id"}`` when a campaign dialed this job (the report and
    its journal row are then linked to the attempt), else None."""
    if not meta.campaign_id:
        return None
    return {"id": meta.campaign_id, "attempt_id": meta.attempt_id or ""}


def deployment_for_campaign(deployment: Deployment, campaign_id: str) -> Deployment:
    """``deployment`` as the calls of campaign ``campaign_id`` see it: the campaign's
    instructions, greeting and ``[dialer]`` overrides applied
    (:func:`voicekit_core.campaigns.overrides.campaign_deployment`), read from the
    deployment's store. A campaign that cannot be found or whose overrides do not apply is
    logged (a warning naming it and why) and the deployment's own agent is used: the
    call still runs."""
    try:
        from .campaigns import repo
        from .campaigns.overrides import campaign_deployment

        return campaign_deployment(deployment, repo.find_campaign(deployment.store, campaign_id))
    except Exception as exc:
        logger.warning(
            "campaign %s: its overrides are not applied to this call (%s); "
            "using the deployment's agent",
            campaign_id,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return deployment


def phone_from_participant(attributes: dict[str, str]) -> str | None:
    """The caller's number from a SIP participant's attributes (``sip.phoneNumber``)."""
    return attributes.get(SIP_PHONE_ATTRIBUTE) or None


@lru_cache(maxsize=1)
def current_deployment() -> Deployment:
    """The deployment named by ``VOICEKIT_CONFIG``, loaded once per process."""
    from .deployment import load_deployment

    path = os.environ.get(CONFIG_ENV)
    if not path:
        raise VoicekitError(
            f"{CONFIG_ENV} is not set: start the worker with `voicekit start CONFIG`"
        )
    return load_deployment(path)


def import_provider_plugins(deployment: Deployment) -> list[str]:
    """Import the livekit plugin of every provider the config names, on this thread.

    livekit plugins register themselves on import and refuse any thread but the main
    one, so this runs at worker start and in each job process's setup. Returns the
    modules imported; a provider that is not installed is skipped (selection will fall
    back and say why).
    """
    import importlib

    from .plugins import BUILTIN_PLUGINS

    imported = []
    models = deployment.config.models
    refs = [*(models.realtime or []), *(models.stt or []), *(models.llm or []), *(models.tts or [])]
    for provider in sorted({ref.provider for ref in refs}):
        module_path = BUILTIN_PLUGINS.get(provider)
        module = importlib.import_module(module_path) if module_path else None
        livekit_module = getattr(module, "LIVEKIT_MODULE", None)
        if livekit_module:
            try:
                importlib.import_module(livekit_module)
            except ImportError:
                logger.warning(
                    "%s is not installed; %s models are unavailable", livekit_module, provider
                )
                continue
            imported.append(livekit_module)
    if models.turn.vad == "silero":
        try:
            importlib.import_module("livekit.plugins.silero")
            imported.append("livekit.plugins.silero")
        except ImportError:
            logger.warning("livekit-plugins-silero is not installed; voice calls need it")
    return imported


def prewarm(proc: JobProcess) -> None:
    """Job-process setup: load the deployment, import provider plugins on the main
    thread, and let plugins warm heavy SDKs (``worker_prewarm``)."""
    deployment = current_deployment()
    import_provider_plugins(deployment)
    deployment.pm.hook.worker_prewarm(config=deployment.config)


async def entrypoint(ctx: JobContext) -> None:
    """One job = one call, from room connection to journal and post-call delivery."""
    from .runner import create_call
    from .telephony.metadata import parse_job_metadata
    from .telephony.voicemail import run_amd

    deployment = current_deployment()
    meta = parse_job_metadata(ctx.job.metadata)
    if meta.campaign_id:  # the campaign's script: its instructions and greeting
        deployment = await asyncio.to_thread(deployment_for_campaign, deployment, meta.campaign_id)
    await ctx.connect()
    if meta.direction == "outbound" and meta.phone:
        identity = f"sip_{meta.phone}"  # the identity `voicekit dial` gave the SIP participant
        try:
            await asyncio.wait_for(ctx.wait_for_participant(identity=identity), ANSWER_TIMEOUT)
        except asyncio.TimeoutError:
            # `voicekit dial` journals unanswered calls under the same call id
            logger.info("call %s was not answered; leaving the room", meta.call_id)
            ctx.shutdown(reason="not answered")
            return
        phone = meta.phone
    else:
        participant = await ctx.wait_for_participant()
        phone = phone_from_participant(dict(participant.attributes)) or meta.phone
        identity = participant.identity
    channel = "web" if meta.extra.get("channel") == "web" else "phone"
    if not phone and channel != "web":
        raise VoicekitError("no caller number: neither job metadata nor sip.phoneNumber has one")
    run = await create_call(
        deployment,
        phone or None,
        channel=channel,
        direction=meta.direction,
        mode="live",
        text_only=False,
        call_id=meta.call_id or None,
        check_veto=False,  # `voicekit dial` ran before_dial before placing the call
        campaign=campaign_link(meta),
    )
    run.call.room_name = ctx.room.name
    run.call.participant_identity = identity
    ctx.add_shutdown_callback(run.finish)

    @run.session.on("agent_state_changed")
    def _hang_up_when_done(event: Any) -> None:
        # end_call only flags the request, so the goodbye is spoken before we hang up;
        # shutting down runs run.finish, whose call_ended hook deletes the room.
        if run.ended and event.new_state == "listening":
            ctx.shutdown(reason="end_call")

    @run.session.on("close")
    def _end_job_on_failure(event: Any) -> None:
        # a model that failed for good closes the session: the call is over (journaled
        # as failed with the reason by run.finish), so leave the room instead of idling
        if run.failure is not None or getattr(event, "error", None) is not None:
            ctx.shutdown(reason=run.failure or "session closed on an error")

    greet = meta.direction == "inbound"
    await run.start(room=ctx.room, greet=greet)
    if meta.direction == "outbound":
        if await run_amd(run.session, run.call) != "talk":
            ctx.shutdown(reason="voicemail")
            return
        await run.greet()


def make_server() -> Any:
    """An ``AgentServer`` for the deployment in ``VOICEKIT_CONFIG`` (explicit dispatch)."""
    from livekit.agents import AgentServer

    deployment = current_deployment()
    import_provider_plugins(deployment)
    server = AgentServer(setup_fnc=prewarm)
    server.rtc_session(entrypoint, agent_name=deployment.config.agent.name)
    return server


def missing_portaudio() -> bool:
    """True when the PortAudio shared library (needed by `voicekit console`) is not installed."""
    return ctypes.util.find_library("portaudio") is None


def run_worker(deployment: Deployment, mode: str, livekit_args: list[str]) -> None:
    """Hand over to livekit's CLI (``start`` / ``dev`` / ``console``) for ``deployment``.

    Raises VoicekitError when ``console`` lacks PortAudio or ``start``/``dev`` lack the
    LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET variables.
    """
    if mode == "console" and missing_portaudio():
        raise VoicekitError(
            "`voicekit console` needs the PortAudio library for the microphone and speaker, "
            "even in text mode. Install it (Debian/Ubuntu: apt-get install libportaudio2; "
            "macOS: brew install portaudio) or use `voicekit simulate` for an offline call."
        )
    if mode in ("start", "dev"):
        missing = [
            v
            for v in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
            if not os.environ.get(v)
        ]
        if missing:
            raise VoicekitError(f"`voicekit {mode}` needs {', '.join(missing)} in the environment")
    os.environ[CONFIG_ENV] = str(deployment.config.path)
    current_deployment.cache_clear()
    from livekit.agents import cli

    sys.argv = ["voicekit", mode, *livekit_args]
    cli.run_app(make_server())
