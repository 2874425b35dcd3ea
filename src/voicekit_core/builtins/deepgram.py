"""Built-in ``deepgram`` provider: streaming speech-to-text from livekit-plugins-deepgram.

Install with ``pip install 'voicekit-core[deepgram]'``; the livekit plugin is imported only
when the model is instantiated. The key comes from ``DEEPGRAM_API_KEY`` (or the variable
named by ``api_key_env``) and is never logged.

Config (``[models]`` in ``voicekit.toml``)::

    stt = { use = "deepgram:nova-3", language = "en-US", keyterms = ["TDX", "Copilot"] }

``language`` defaults to the agent's ``[agent].language``; an empty model name takes the
plugin's default (``nova-3``). Unknown options and bad values are
``voicekit check`` errors (the ``options`` the provider declares) and raise
:class:`~voicekit_core.errors.PluginError` listing the allowed ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from voicekit_core import hookimpl
from voicekit_core.provider_kit import (
    ProviderOptions,
    construct_model,
    given,
    load_livekit_plugin,
    parse_options,
    read_api_key,
)
from voicekit_core.providers import Provider

if TYPE_CHECKING:
    from voicekit_core.calls import CallContext
    from voicekit_core.config import ModelRef

NAME = "deepgram"
EXTRA = "deepgram"
LIVEKIT_MODULE = "livekit.plugins.deepgram"
API_KEY_ENV = "DEEPGRAM_API_KEY"


class STTOptions(ProviderOptions):
    """``stt = {use = "deepgram:MODEL", ...}``."""

    api_key_env: str = Field(default=API_KEY_ENV, description="variable holding the key")
    base_url: str | None = Field(default=None, description="default: Deepgram's /v1/listen")
    language: str | None = None
    detect_language: bool | None = None
    interim_results: bool | None = None
    punctuate: bool | None = None
    smart_format: bool | None = None
    numerals: bool | None = None
    filler_words: bool | None = None
    profanity_filter: bool | None = None
    endpointing_ms: int | None = Field(default=None, ge=0, description="milliseconds")
    keyterms: list[str] | None = Field(default=None, description="words to boost (nova-3)")


def create_stt(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.deepgram.STT``. Raises PluginError for unknown options, a missing
    key or a missing extra. Nothing connects until a stream starts."""
    options = parse_options(STTOptions, ref, "stt")
    key = read_api_key(options.api_key_env, ref)
    deepgram = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env", "keyterms"})
    kwargs.setdefault("language", call.config.agent.language)
    if options.keyterms is not None:
        kwargs["keyterm"] = options.keyterms
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, deepgram.STT, api_key=key, **kwargs)


@hookimpl
def register_providers(register: Any) -> None:
    register(
        Provider(
            name=NAME,
            env_keys=(API_KEY_ENV,),
            stt=create_stt,
            options={"stt": STTOptions},
            description="Deepgram streaming speech-to-text (nova-3 by default)",
        )
    )
