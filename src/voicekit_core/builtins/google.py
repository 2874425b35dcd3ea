"""Built-in ``google`` provider: Gemini LLM and Gemini Live realtime models.

Install with ``pip install 'voicekit-core[google]'``; livekit-plugins-google is imported only
when a model of this provider is instantiated. Uses the Gemini API key from
``GOOGLE_API_KEY`` (or the variable named by ``api_key_env``), never logged; Vertex AI is
not configured here.

Config (``[models]`` in ``voicekit.toml``)::

    realtime = { use = "google:gemini-2.5-flash-native-audio-preview-12-2025", voice = "Leda",
                 temperature = 0.7 }
    llm = { use = "google:gemini-2.5-flash", temperature = 0.4 }

An empty model name (``"google"``) takes the livekit plugin's default. Unknown options and bad values are
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

NAME = "google"
EXTRA = "google"
LIVEKIT_MODULE = "livekit.plugins.google"
API_KEY_ENV = "GOOGLE_API_KEY"


class _GeminiBase(ProviderOptions):
    api_key_env: str = Field(default=API_KEY_ENV, description="variable holding the key")
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    max_output_tokens: int | None = Field(default=None, ge=1)


class LLMOptions(_GeminiBase):
    """``llm = {use = "google:MODEL", ...}``."""


class RealtimeOptions(_GeminiBase):
    """``realtime = {use = "google:MODEL", ...}``: ``voice`` is a Gemini voice name
    (``"Leda"``, ``"Puck"``...); ``language`` a BCP-47 code (default: the plugin's)."""

    voice: str | None = None
    language: str | None = None


def create_llm(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.google.LLM`` (Gemini API). Raises PluginError for unknown
    options, a missing key or a missing extra."""
    options = parse_options(LLMOptions, ref, "llm")
    key = read_api_key(options.api_key_env, ref)
    google = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env"})
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, google.LLM, api_key=key, vertexai=False, **kwargs)


def create_realtime(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.google.realtime.RealtimeModel`` (Gemini Live API) with ``voice``
    and ``temperature``. Nothing connects until a session starts."""
    options = parse_options(RealtimeOptions, ref, "realtime")
    key = read_api_key(options.api_key_env, ref)
    google = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env"})
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(
        ref, google.realtime.RealtimeModel, api_key=key, vertexai=False, **kwargs
    )


@hookimpl
def register_providers(register: Any) -> None:
    register(
        Provider(
            name=NAME,
            env_keys=(API_KEY_ENV,),
            llm=create_llm,
            realtime=create_realtime,
            options={"llm": LLMOptions, "realtime": RealtimeOptions},
            description="Google Gemini: LLM and Gemini Live realtime (voice, temperature)",
        )
    )
