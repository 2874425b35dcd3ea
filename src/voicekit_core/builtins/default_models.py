"""Built-in model selection (runs last; any plugin may override per call).

Order: the configured realtime chain if its provider keys are present, else the
STT/LLM/TTS pipeline if its LLM keys are present, else ``[models].fallback`` (the offline
``scripted`` model by default). Models whose keys are missing are dropped from a chain
and named in the reason.
"""

from __future__ import annotations

import logging

from voicekit_core import hookimpl
from voicekit_core.providers import ModelSelection

logger = logging.getLogger("voicekit.models")


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
            selection = ModelSelection(
                stt=usable(models.stt),
                llm=llm,
                tts=usable(models.tts),
                reason=f"pipeline with LLM {llm[0]}: key present",
            )
        else:
            selection = ModelSelection(
                llm=[models.fallback],
                reason=f"offline fallback {models.fallback}: no configured model has its key",
            )
    if skipped:
        selection.reason += "; skipped " + ", ".join(skipped)
    logger.info("models for call %s: %s", call.call_id, selection.reason)
    return selection
