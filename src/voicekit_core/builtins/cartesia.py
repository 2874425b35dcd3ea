"""Built-in ``cartesia`` provider: text-to-speech from livekit-plugins-cartesia.

Install with ``pip install 'voicekit-core[cartesia]'``; the livekit plugin is imported only
when the model is instantiated. The key comes from ``CARTESIA_API_KEY`` (or the variable
named by ``api_key_env``) and is never logged.

Config (``[models]`` in ``voicekit.toml``)::

    tts = { use = "cartesia:sonic-3", voice = "f786b574-daa5-4673-aa0c-cbe3e8534c02",
            speed = 1.0 }

``voice`` is a Cartesia voice id; ``language`` defaults to the agent's ``[agent].language``;
an empty model name takes the plugin's default. Unknown options and bad values are
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

NAME = "cartesia"
EXTRA = "cartesia"
LIVEKIT_MODULE = "livekit.plugins.cartesia"
API_KEY_ENV = "CARTESIA_API_KEY"


class TTSOptions(ProviderOptions):
    """``tts = {use = "cartesia:MODEL", ...}``."""

    api_key_env: str = Field(default=API_KEY_ENV, description="variable holding the key")
    base_url: str | None = Field(default=None, description="default: https://api.cartesia.ai")
    voice: str | None = Field(default=None, description="a Cartesia voice id")
    language: str | None = None
    speed: float | None = Field(default=None, gt=0, le=2)
    emotion: str | None = None
    volume: float | None = Field(default=None, gt=0, le=2)
    sample_rate: int | None = Field(default=None, ge=8000, le=48000, description="Hz")


def create_tts(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.cartesia.TTS``. Raises PluginError for unknown options, a missing
    key or a missing extra. Nothing connects until speech is synthesized."""
    options = parse_options(TTSOptions, ref, "tts")
    key = read_api_key(options.api_key_env, ref)
    cartesia = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env"})
    kwargs.setdefault("language", call.config.agent.language)
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, cartesia.TTS, api_key=key, **kwargs)


@hookimpl
def register_providers(register: Any) -> None:
    register(
        Provider(
            name=NAME,
            env_keys=(API_KEY_ENV,),
            tts=create_tts,
            options={"tts": TTSOptions},
            description="Cartesia text-to-speech (sonic-3 by default)",
        )
    )
