"""The LiveKit worker: ``voicekit start|dev CONFIG [CONFIG ...]`` and ``voicekit console CONFIG``.

The worker registers with LiveKit under ``[agent].name`` (explicit dispatch). Each job
is one call:

* outbound: ``voicekit dial`` dispatched the job with
  :class:`~voicekit_core.telephony.metadata.JobMetadata` (phone, call id, deployment) and
  placed the SIP call; the before-dial veto already ran there. The job waits for the SIP
  participant, runs answering-machine detection, and talks or leaves the voicemail message;
* inbound: a SIP dispatch rule created the room; the caller's number comes from the SIP
  participant's ``sip.phoneNumber`` attribute, the dialed number from
  ``sip.trunkPhoneNumber``.

A worker may serve several deployment folders (one agent name for all): each job is routed
to one of them by its metadata's ``deployment`` or the dialed number
(:mod:`voicekit_core.routing`), and runs with that deployment's plugins, models, store and
journal. A job whose metadata names a deployment this worker does not serve is rejected
(LiveKit offers it to another worker); a call to a number no served deployment owns hears
the first deployment's ``not_in_service_message`` and is hung up (logged, not journaled).

A job of a campaign (metadata with a campaign id) runs with that campaign's instructions
and greeting overrides (:func:`deployment_for_campaign`).

The session is the one :mod:`voicekit_core.builder` makes for simulated calls, bound to
the room with ``session.start(agent, room=ctx.room)``. The config paths travel to job
processes in ``VOICEKIT_CONFIG`` (job processes are separate interpreters), joined by
``os.pathsep`` when there are several.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .errors import VoicekitError
from .routing import DIALED_NUMBER_ATTRIBUTE, normalize_number

if TYPE_CHECKING:
    from livekit.agents import AgentSession, JobContext, JobProcess, JobRequest

    from .deployment import Deployment
    from .routing import ServedDeployments
    from .runner import CallRun
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


def config_paths(raw: str | None = None) -> list[str]:
    """The deployment paths in ``VOICEKIT_CONFIG`` (or ``raw``): one, or several joined by
    ``os.pathsep``. Raises VoicekitError when there is none."""
    raw = os.environ.get(CONFIG_ENV, "") if raw is None else raw
    paths = [part for part in raw.split(os.pathsep) if part.strip()]
    if not paths:
        raise VoicekitError(
            f"{CONFIG_ENV} is not set: start the worker with `voicekit start CONFIG`"
        )
    return paths


_served: dict[str, ServedDeployments] = {}


def served_deployments() -> ServedDeployments:
    """The deployments named by ``VOICEKIT_CONFIG``, loaded and checked
    (:func:`voicekit_core.routing.serve`) once per process and value of the variable.
    Raises ConfigError / VoicekitError as loading and checking do."""
    raw = os.environ.get(CONFIG_ENV, "")
    served = _served.get(raw)
    if served is None:
        from .deployment import load_deployment
        from .routing import serve

        served = serve([load_deployment(path) for path in config_paths(raw)])
        _served.clear()
        _served[raw] = served
    return served


@lru_cache(maxsize=1)
def current_deployment() -> Deployment:
    """The first deployment named by ``VOICEKIT_CONFIG`` (the only one of a worker serving
    one), loaded once per process."""
    return served_deployments().default


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
    """Job-process setup: load the served deployments, import their provider plugins on
    the main thread, and let each deployment's plugins warm heavy SDKs
    (``worker_prewarm``)."""
    for deployment in served_deployments().by_name.values():
        import_provider_plugins(deployment)
        deployment.pm.hook.worker_prewarm(config=deployment.config)


async def accept_job(request: JobRequest) -> None:
    """Accept a job request, unless its metadata names a deployment this worker does not
    serve (a worker serving several): then reject it without terminating, so LiveKit
    offers it to another worker registered under the same agent name, and log why."""
    from .telephony.metadata import parse_job_metadata

    served = served_deployments()
    meta = parse_job_metadata(request.job.metadata)
    decision = served.route(requested=meta.deployment, dialed=None)
    if decision.by == "not_served":
        logger.warning(
            "job %s (room %s): %s; rejected for another worker",
            request.id,
            request.room.name,
            decision.detail,
        )
        await request.reject(terminate=False)
        return
    await request.accept()


async def entrypoint(ctx: JobContext) -> None:
    """One job = one call, from room connection to journal and post-call delivery."""
    await serve_job(ctx)


async def serve_job(
    ctx: Any, served: ServedDeployments | None = None, *, voice: bool = True
) -> CallRun | None:
    """Run the job of ``ctx`` (a livekit ``JobContext``, or an object with the same
    ``job.metadata``, ``connect``, ``wait_for_participant``, ``room.name``,
    ``add_shutdown_callback``, ``shutdown`` and ``delete_room``) for the deployment it is
    routed to among ``served`` (default: :func:`served_deployments`).

    ``voice=False`` (tests) runs the call as a text session outside the room, in mode
    ``simulated``: routing, lead lookup, greeting, journal and deliveries are the live
    path's. A call with a person on the line is recorded as ``[recording]`` says
    (:class:`~voicekit_core.telephony.recording.CallRecording`: the notice before the
    greeting, the egress in the background, stopped before the report is built).
    Returns the started :class:`~voicekit_core.runner.CallRun` (it finishes in
    the job's shutdown callbacks), or None when no call was started (not answered,
    voicemail, a number no served deployment owns).

    Raises VoicekitError when a phone call has no caller number.
    """
    from .runner import create_call
    from .telephony.metadata import parse_job_metadata
    from .telephony.recording import CallRecording
    from .telephony.voicemail import run_amd

    served = served or served_deployments()
    meta = parse_job_metadata(ctx.job.metadata)
    await ctx.connect()
    if meta.direction == "outbound" and meta.phone:
        identity = f"sip_{meta.phone}"  # the identity `voicekit dial` gave the SIP participant
        try:
            participant = await asyncio.wait_for(
                ctx.wait_for_participant(identity=identity), ANSWER_TIMEOUT
            )
        except asyncio.TimeoutError:
            # `voicekit dial` journals unanswered calls under the same call id
            logger.info("call %s was not answered; leaving the room", meta.call_id)
            ctx.shutdown(reason="not answered")
            return None
        phone = meta.phone
    else:
        participant = await ctx.wait_for_participant()
        phone = phone_from_participant(dict(participant.attributes)) or meta.phone
        identity = participant.identity
    dialed = dict(participant.attributes).get(DIALED_NUMBER_ATTRIBUTE) or None
    decision = served.route(requested=meta.deployment, dialed=dialed)
    room = ctx.room.name
    if decision.deployment is None:
        logger.warning("call in room %s: %s; saying it is not in service", room, decision.detail)
        await say_not_in_service(ctx, served.default, phone, voice=voice)
        return None
    logger.info("call in room %s: %s", room, decision.detail)
    deployment = served.by_name[decision.deployment]
    if meta.campaign_id:  # the campaign's script: its instructions and greeting
        deployment = await asyncio.to_thread(deployment_for_campaign, deployment, meta.campaign_id)
    channel = "web" if meta.extra.get("channel") == "web" else "phone"
    if not phone and channel != "web":
        raise VoicekitError("no caller number: neither job metadata nor sip.phoneNumber has one")
    run = await create_call(
        deployment,
        phone or None,
        channel=channel,
        direction=meta.direction,
        mode="live" if voice else "simulated",
        text_only=not voice,
        call_id=meta.call_id or None,
        check_veto=False,  # `voicekit dial` ran before_dial before placing the call
        campaign=campaign_link(meta),
    )
    run.call.room_name = room
    run.call.participant_identity = identity
    run.call.data["routing"] = {
        "deployment": decision.deployment,
        "by": decision.by,
        "dialed": normalize_number(dialed),
    }
    recording = CallRecording(run)  # [recording]: an egress of the room, after the notice
    ctx.add_shutdown_callback(recording.finish)  # stops the egress, then run.finish

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

    await run.start(room=ctx.room if voice else None, greet=False)
    outbound_voice = meta.direction == "outbound" and voice
    if outbound_voice and await run_amd(run.session, run.call) != "talk":
        ctx.shutdown(reason="voicemail")
        return None
    await recording.begin()  # says the notice; the egress starts without delaying the greeting
    await run.greet()
    return run


async def say_not_in_service(
    ctx: Any, deployment: Deployment, phone: str | None, *, voice: bool = True
) -> AgentSession:
    """Tell a caller whose dialed number no served deployment owns that it is not in
    service, with ``deployment``'s models and its ``[plugins.telephony]
    not_in_service_message`` (in its language), then hang up (``ctx.delete_room()``, when
    ``hangup_on_end``) and end the job. No hooks run (no lead lookup, no CRM), nothing is
    journaled. Returns the session it spoke with (closed by the job's shutdown callbacks).
    ``voice=False``: a text session outside the room (tests)."""
    from livekit.agents import Agent

    from .builder import build_session, room_options
    from .calls import CallContext
    from .telephony.settings import telephony_settings

    settings = telephony_settings(deployment.config)
    text = deployment.config.localized(settings.not_in_service_message)
    call = CallContext(
        deployment=deployment,
        phone=phone or "",
        direction="inbound",
        mode="live" if voice else "simulated",
    )
    call.room_name = ctx.room.name
    agent = Agent(instructions=f"Say only this to the caller, word for word: {text}")
    session = build_session(call, text_only=not voice)

    async def close() -> None:
        await session.aclose()
        for model in (session.llm, session.stt, session.tts):
            aclose = getattr(model, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:
                    logger.debug("closing %r failed", model, exc_info=True)

    ctx.add_shutdown_callback(close)
    options: dict[str, Any] = {}
    if voice:
        options = {"room": ctx.room, "room_options": room_options(deployment.config.models)}
    await session.start(agent, **options)
    if session.tts is not None or not voice:
        handle = session.say(text, allow_interruptions=False)
    else:  # a realtime model without a TTS speaks for itself
        handle = session.generate_reply(
            instructions=f"Say exactly: {text}", allow_interruptions=False
        )
    await handle.wait_for_playout()
    if settings.hangup_on_end:
        await ctx.delete_room()
    ctx.shutdown(reason="number not in service")
    return session


def make_server() -> Any:
    """An ``AgentServer`` for the deployments in ``VOICEKIT_CONFIG`` (explicit dispatch
    under their shared agent name; job requests pass :func:`accept_job`)."""
    from livekit.agents import AgentServer

    served = served_deployments()
    for deployment in served.by_name.values():
        import_provider_plugins(deployment)
    server = AgentServer(setup_fnc=prewarm)
    server.rtc_session(entrypoint, agent_name=served.agent_name, on_request=accept_job)
    return server


def missing_portaudio() -> bool:
    """True when PortAudio, which `voicekit console` needs (through sounddevice) for the
    microphone and speaker, cannot be loaded."""
    try:
        _load_portaudio()
    except (OSError, ImportError):  # sounddevice: OSError("PortAudio library not found")
        return True
    return False


def _load_portaudio() -> None:
    """Import sounddevice, which loads the PortAudio library (a system library on Linux,
    bundled in the wheel on macOS and Windows)."""
    import sounddevice  # noqa: F401


def run_worker(
    deployment: Deployment | list[Deployment], mode: str, livekit_args: list[str]
) -> None:
    """Hand over to livekit's CLI (``start`` / ``dev`` / ``console``) for ``deployment``
    (or several: ``start`` and ``dev`` only), after checking they can share a worker
    (:func:`voicekit_core.routing.serve`).

    Raises VoicekitError when ``console`` gets several deployments or lacks PortAudio,
    ``start``/``dev`` lack the LIVEKIT_URL / LIVEKIT_API_KEY / LIVEKIT_API_SECRET
    variables, and ConfigError when the deployments cannot share a worker.
    """
    from .routing import serve

    deployments = deployment if isinstance(deployment, list) else [deployment]
    if mode == "console" and len(deployments) > 1:
        raise VoicekitError(
            "`voicekit console` talks to one deployment; give one CONFIG "
            "(`voicekit start` and `voicekit dev` serve several)"
        )
    served = serve(deployments)
    if mode == "console" and missing_portaudio():
        raise VoicekitError(
            "`voicekit console` needs the PortAudio library (apt-get install libportaudio2, "
            "brew install portaudio), even in text mode; without it, talk to the agent "
            f"offline with `voicekit simulate {shlex.quote(str(deployments[0].config.path))} --voice`"
        )
    if mode in ("start", "dev"):
        missing = [
            v
            for v in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET")
            if not os.environ.get(v)
        ]
        if missing:
            raise VoicekitError(f"`voicekit {mode}` needs {', '.join(missing)} in the environment")
    raw = os.pathsep.join(str(d.config.path) for d in deployments)
    os.environ[CONFIG_ENV] = raw
    _served.clear()
    _served[raw] = served  # this process loaded them already
    current_deployment.cache_clear()
    from livekit.agents import cli

    sys.argv = ["voicekit", mode, *livekit_args]
    cli.run_app(make_server())
