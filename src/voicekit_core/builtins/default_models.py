"""Built-in model selection (runs last; any plugin may override per call).

Order: the configured realtime chain if its provider keys are present, else the
STT/LLM/TTS pipeline if its LLM keys are present, else ``[models].fallback`` (the offline
``scripted`` model by default). Models whose keys are missing are dropped from a chain
and named in the reason.

Outside a realtime selection, an STT or TTS chain left empty (none configured, or no
configured model has its key) becomes the offline ``local:whisper-tiny.en`` /
``local:piper`` when the ``[local]`` extra is installed and the agent speaks English; the
reason says so. Only for calls with audio (``call.audio``): a text session is not
offered speech models it would not use.
"""

from __future__ import annotations

import logging

from voicekit_core import hookimpl
from voicekit_core.config import ModelRef
from voicekit_core.providers import ModelSelection

logger = logging.getLogger("voicekit.models")

LOCAL_SPEECH = {
    "stt": ModelRef(provider="local", model="whisper-tiny.en"),
    "tts": ModelRef(provider="local", model="piper"),
}


@hookimpl(trylast=True)
def select_models(call, config) -> ModelSelection:
    providers = call.deployment.providers
    models = config.models
    skipped: list[str] = []

    def usable(chain):
        kept = []
        for ref in chain or []:
            missing = (
                providers.get(ref.provider).missing_keys(ref=ref)
                if ref.provider in providers
                else ["?"]
            )
            if missing:
                skipped.append(f"{ref} (missing {', '.join(missing)})")
            else:
                kept.append(ref)
        return kept

    realtime = usable(models.realtime)
    if realtime:
        selection = ModelSelection(realtime=realtime, reason=f"realtime {realtime[0]}: key present")
    else:
        llm = usable(models.llm)
        if llm and models.llm:
            selection = ModelSelection(llm=llm, reason=f"pipeline with LLM {llm[0]}: key present")
        else:
            selection = ModelSelection(
                llm=[models.fallback],
                reason=f"offline fallback {models.fallback}: no configured model has its key",
            )
        local = call.audio and _local_speech_available(call, providers)
        for kind in ("stt", "tts"):
            chain = usable(getattr(models, kind))
            if not chain and local:
                chain = [LOCAL_SPEECH[kind]]
                why = (
                    "no configured {} has its key" if getattr(models, kind) else "no {} configured"
                )
                selection.reason += f"; {kind} {chain[0]}: {why.format(kind.upper())}, the [local] extra is installed"
            setattr(selection, kind, chain)
    if skipped:
        selection.reason += "; skipped " + ", ".join(skipped)
    logger.info("models for call %s: %s", call.call_id, selection.reason)
    return selection


def _local_speech_available(call, providers) -> bool:
    """The ``local`` provider is registered, its extra installed (checked without importing
    it) and the agent speaks English."""
    from voicekit_core.builtins import local_models

    return (
        "local" in providers
        and call.config.agent.language.lower().startswith("en")
        and not local_models.missing_modules()
    )
