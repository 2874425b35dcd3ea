"""Config + hooks -> a livekit ``Agent`` and ``AgentSession`` for one call.

Construction never touches a room: the same objects run in ``voicekit simulate`` (text,
no room), in tests, and in the worker, where ``session.start(agent, room=ctx.room)``
binds them to LiveKit.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

from .calls import CallContext
from .config import ModelsSection, TurnSection
from .errors import CallVetoed, PluginError
from .leads import Lead, to_e164
from .prompts import render
from .providers import ModelSelection

if TYPE_CHECKING:
    from livekit.agents import Agent, AgentSession
    from livekit.agents import llm as lk_llm

    from .deployment import Deployment

logger = logging.getLogger("voicekit.builder")


async def prepare_call(
    deployment: Deployment,
    phone: str | None,
    *,
    direction: Literal["outbound", "inbound"] = "outbound",
    mode: Literal["simulated", "live"] = "simulated",
    lead: Lead | None = None,
    call_id: str | None = None,
    channel: Literal["phone", "web"] = "phone",
) -> CallContext:
    """A CallContext for ``phone`` (any format; stored as E.164) with its lead looked up
    through ``lookup_lead`` (an unknown number gets ``Lead.unknown``).

    ``channel="web"``: a visitor talking through the web widget, who has no number
    (``phone`` None or empty): the call's phone is ``""``, no lead is looked up, and
    ``call.data["channel"]`` says ``"web"``.

    Raises ``ValueError`` if ``phone`` is not a valid number (or missing on a phone call).
    """
    if channel == "web" and not phone:
        call = CallContext(deployment=deployment, phone="", direction="inbound", mode=mode)
        if call_id:
            call.call_id = call_id
        call.room_name = f"web-{call.call_id}"
        call.data["channel"] = "web"
        call.lead = lead
        if lead is None:
            call.note("web caller: no phone number, no lead looked up")
        return call
    if not phone:
        raise ValueError("no phone number for the call")
    e164 = to_e164(phone, deployment.config.leads.default_region)
    call = CallContext(deployment=deployment, phone=e164, direction=direction, mode=mode)
    if call_id:
        call.call_id = call_id
    # The names a live call would have (room prefix "call-", SIP participant identity);
    # simulated calls use them too, so telephony plugins can be tested against a fake server.
    call.room_name = f"call-{call.call_id}"
    call.participant_identity = f"sip_{e164}"
    if channel == "web":
        call.data["channel"] = "web"
    if lead is None:
        lead = await deployment.pm.acall_first("lookup_lead", phone=e164, call=call)
    if lead is None:
        call.note(f"no lead source knows {e164}")
        lead = Lead.unknown(e164)
    call.lead = lead
    return call


def check_before_dial(call: CallContext) -> None:
    """Run the ``before_dial`` veto hook. Raises :class:`CallVetoed` with the first reason."""
    for impl in call.deployment.pm.impls_in_call_order("before_dial"):
        reason = call.deployment.pm.call_impl(impl, lead=call.lead, call=call)
        if reason:
            raise CallVetoed(impl.plugin_name, str(reason))


def collect_tools(call: CallContext) -> list[Any]:
    """Every tool registered through ``register_tools`` for this call.

    Raises PluginError when two plugins register the same name without ``fallback``.
    """
    chosen: dict[str, tuple[str, Any, bool]] = {}
    for plugin, registrations in call.deployment.pm.collect("register_tools", call=call):
        for args, kwargs in registrations:
            tool = args[0]
            fallback = bool(kwargs.get("fallback", False))
            name = _tool_name(tool)
            if name in chosen:
                other_plugin, _, other_fallback = chosen[name]
                if fallback:
                    continue  # a fallback never displaces anything
                if not other_fallback:
                    raise PluginError(
                        f"tool {name!r} is registered by both {other_plugin!r} and {plugin!r}; "
                        "disable one, or register one of them with fallback=True"
                    )
            chosen[name] = (plugin, tool, fallback)
    # which plugin provides each tool, kept in the report (precedence is visible there)
    call.data["tools"] = {name: plugin for name, (plugin, _, _) in chosen.items()}
    return [tool for _, tool, _ in chosen.values()]


def _tool_name(tool: Any) -> str:
    from livekit.agents.llm import tool_context

    if tool_context.is_function_tool(tool) or tool_context.is_raw_function_tool(tool):
        return tool.id
    raise PluginError(f"register_tools got {tool!r}, which is not a livekit function tool")


def build_instructions(call: CallContext) -> str:
    """The rendered deployment instructions plus every ``call_instructions`` section."""
    config = call.config
    parts = [render(config.instructions_text(), lead=call.lead, config=config).strip()]
    for impl in call.deployment.pm.impls_in_call_order("call_instructions"):
        section = call.deployment.pm.call_impl(impl, call=call)
        if section:
            parts.append(str(section).strip())
    return "\n\n".join(p for p in parts if p)


def greeting_text(call: CallContext) -> str:
    """The configured greeting rendered for this lead ('' when none is configured)."""
    config = call.config
    return render(config.localized(config.agent.greeting), lead=call.lead, config=config).strip()


def build_agent(call: CallContext) -> Agent:
    """A livekit ``Agent`` with the call's instructions and tools; when a plugin
    implements ``before_reply``, one that calls it before each reply
    (:mod:`voicekit_core.reply_hook`)."""
    from livekit.agents import Agent

    instructions, tools = build_instructions(call), collect_tools(call)
    if call.deployment.pm.impls_in_call_order("before_reply"):
        from .reply_hook import HookedAgent

        return HookedAgent(call, instructions=instructions, tools=tools)
    return Agent(instructions=instructions, tools=tools)


def select_models(call: CallContext) -> ModelSelection:
    """Ask ``select_models`` (first answer wins); stores and returns the selection."""
    pm = call.deployment.pm
    for impl in pm.impls_in_call_order("select_models"):
        selection = pm.call_impl(impl, call=call, config=call.config)
        if selection is not None:
            pm.trace("select_models: %s chose %s", impl.plugin_name, selection.describe())
            call.selection = selection
            if impl.plugin_name != "default_models":
                selection.reason = f"{impl.plugin_name}: {selection.reason}"
            return selection
    raise PluginError("no plugin answered select_models")


def instantiate_models(
    call: CallContext, selection: ModelSelection, *, text_only: bool = False
) -> dict[str, Any]:
    """livekit objects for a selection: ``{"llm": ..., "stt": ..., "tts": ...}``
    (``text_only``: the LLM or realtime model alone; speech models are not built).

    A chain of several models becomes livekit's ``FallbackAdapter`` for that kind.
    """
    providers = call.deployment.providers
    built: dict[str, Any] = {}
    if selection.realtime:
        models = [providers.create("realtime", ref, call) for ref in selection.realtime]
        built["llm"] = models[0] if len(models) == 1 else _realtime_fallback(models)
    for kind in ("llm",) if text_only else ("stt", "llm", "tts"):
        chain = getattr(selection, kind)
        if not chain or kind in built:
            continue
        models = [providers.create(kind, ref, call) for ref in chain]
        built[kind] = models[0] if len(models) == 1 else _fallback(kind, models)
    return built


def _fallback(kind: str, models: list[Any]) -> Any:
    from livekit.agents import llm, stt, tts

    adapter = {"llm": llm.FallbackAdapter, "stt": stt.FallbackAdapter, "tts": tts.FallbackAdapter}[
        kind
    ]
    return adapter(models)


def _realtime_fallback(models: list[Any]) -> Any:
    from livekit.agents import llm

    return llm.RealtimeModelFallbackAdapter(models)


OFFLINE_STT = "local:whisper-tiny.en"
OFFLINE_TTS = "local:piper"


def offline_selection(models: ModelsSection, *, voice: bool) -> ModelSelection:
    """``[models].fallback`` (the scripted model by default); a voice call adds the
    local speech models (``voicekit-core[local]``), which need no network or key."""
    from .config import ModelRef

    fallback = models.fallback
    if not voice:
        return ModelSelection(llm=[fallback], reason=f"offline run: {fallback}")
    return ModelSelection(
        stt=[ModelRef.model_validate(OFFLINE_STT)],
        llm=[fallback],
        tts=[ModelRef.model_validate(OFFLINE_TTS)],
        reason=f"offline run: {fallback} with {OFFLINE_STT} and {OFFLINE_TTS}",
    )


def build_session(
    call: CallContext,
    *,
    text_only: bool = True,
    llm: lk_llm.LLM | None = None,
    offline: bool = False,
    **session_options: Any,
) -> AgentSession:
    """An ``AgentSession`` for ``call`` (its ``userdata``) with the selected models.

    ``text_only`` sessions get no VAD and no turn detector (they are driven with
    ``session.run(user_input=...)``). ``llm`` overrides model selection (tests);
    ``offline`` skips selection and uses ``[models].fallback`` (the demo, CI).
    """
    from livekit.agents import AgentSession

    call.audio = not text_only
    if llm is not None:
        call.selection = ModelSelection(reason="LLM given by the caller of build_session")
        models: dict[str, Any] = {"llm": llm}
    elif offline:
        call.selection = offline_selection(call.config.models, voice=not text_only)
        models = instantiate_models(call, call.selection, text_only=text_only)
    else:
        models = instantiate_models(call, select_models(call), text_only=text_only)
    options: dict[str, Any] = {
        "userdata": call,
        "max_tool_steps": call.config.agent.max_tool_steps,
        **models,
    }
    if text_only:
        options["vad"] = None
        options["turn_handling"] = {"turn_detection": None}
        options.pop("stt", None)
        options.pop("tts", None)
    else:
        options.update(voice_options(call.config.models.turn))
    options.update(session_options)
    return AgentSession(**options)


def voice_options(turn: TurnSection) -> dict[str, Any]:
    """``AgentSession`` options for a voice call from ``[models.turn]``.

    Silero's model ships in livekit-plugins-silero (loads offline); ``detection =
    "default"`` keeps livekit's local turn detector. Raises PluginError when
    ``vad = "silero"`` but the plugin is not installed.
    """
    options: dict[str, Any] = {}
    if turn.vad == "silero":
        try:
            import livekit.plugins.silero  # noqa: F401
        except ImportError:
            raise PluginError(
                "[models.turn] vad = 'silero' needs livekit-plugins-silero: "
                "pip install 'voicekit-core[silero]'"
            ) from None
        from .builtins.local_models import silero_vad

        # one ONNX model per process: every call's VAD stream keeps its own state
        options["vad"] = silero_vad()
    else:
        options["vad"] = None
    handling: dict[str, Any] = {
        "endpointing": {
            "min_delay": turn.min_endpointing_delay,
            "max_delay": turn.max_endpointing_delay,
        },
        "interruption": {"enabled": turn.allow_interruptions},
    }
    if turn.detection != "default":
        handling["turn_detection"] = turn.detection
    options["turn_handling"] = handling
    return options


def room_options(models: ModelsSection) -> Any:
    """livekit ``RoomOptions`` for a live call: noise cancellation on the caller's audio.

    BVC / BVC-telephony run only on LiveKit Cloud and need
    ``livekit-plugins-noise-cancellation``; raises PluginError when it is missing.
    """
    from livekit.agents import room_io

    if models.noise_cancellation == "none":
        return room_io.RoomOptions()
    try:
        from livekit.plugins import noise_cancellation
    except ImportError:
        raise PluginError(
            f"[models] noise_cancellation = {models.noise_cancellation!r} needs "
            "livekit-plugins-noise-cancellation (LiveKit Cloud only)"
        ) from None
    filter_ = (
        noise_cancellation.BVCTelephony()
        if models.noise_cancellation == "bvc_telephony"
        else noise_cancellation.BVC()
    )
    return room_io.RoomOptions(audio_input=room_io.AudioInputOptions(noise_cancellation=filter_))
