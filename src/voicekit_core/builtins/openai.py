"""Built-in ``openai`` provider: LLM, STT, TTS and realtime models from livekit-plugins-openai.

Install with ``pip install 'voicekit-core[openai]'``; the livekit plugin is imported only when
a model of this provider is instantiated. The key is read from ``OPENAI_API_KEY`` (or the
variable named by the ``api_key_env`` option) and is never logged.

Config (``[models]`` in ``voicekit.toml``)::

    llm = { use = "openai:gpt-4o-mini", temperature = 0.3 }
    llm = { use = "openai:llama3", base_url = "http://localhost:11434/v1" }  # compatible server
    stt = { use = "openai:gpt-4o-mini-transcribe", language = "es" }
    tts = { use = "openai:gpt-4o-mini-tts", voice = "coral" }
    realtime = { use = "openai:gpt-realtime", voice = "marin", temperature = 0.8 }

An empty model name (``"openai"``) takes the livekit plugin's default. Unknown options and bad values are
``voicekit check`` errors (the ``options`` the provider declares) and raise
:class:`~voicekit_core.errors.PluginError` listing the allowed ones (see the ``*Options``
models below).

The shared helpers (option validation, key reading, lazy plugin import) are in
:mod:`voicekit_core.provider_kit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

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

NAME = "openai"
EXTRA = "openai"
LIVEKIT_MODULE = "livekit.plugins.openai"
API_KEY_ENV = "OPENAI_API_KEY"


# -- options ------------------------------------------------------------------------


class _OpenAIBase(ProviderOptions):
    base_url: str | None = Field(
        default=None, description="an OpenAI-compatible server, e.g. http://localhost:8000/v1"
    )
    api_key_env: str = Field(default=API_KEY_ENV, description="variable holding the key")


class LLMOptions(_OpenAIBase):
    """``llm = {use = "openai:MODEL", ...}`` (chat completions API)."""

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    parallel_tool_calls: bool | None = None
    timeout: float | None = Field(default=None, gt=0, description="HTTP timeout, seconds")
    max_retries: int | None = Field(default=None, ge=0, le=10, description="SDK retries")


class STTOptions(_OpenAIBase):
    """``stt = {use = "openai:MODEL", ...}``; ``language`` defaults to the agent's."""

    language: str | None = None
    detect_language: bool | None = None
    prompt: str | None = None


class TTSOptions(_OpenAIBase):
    """``tts = {use = "openai:MODEL", ...}``."""

    voice: str | None = None
    speed: float | None = Field(default=None, ge=0.25, le=4)
    instructions: str | None = Field(default=None, description="how to speak (gpt-4o-mini-tts)")


class RealtimeOptions(_OpenAIBase):
    """``realtime = {use = "openai:MODEL", ...}`` (OpenAI Realtime API over WebSocket)."""

    voice: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    speed: float | None = Field(default=None, ge=0.25, le=1.5)
    modalities: list[Literal["text", "audio"]] | None = None
    connect_timeout: float | None = Field(default=None, gt=0, description="seconds")
    max_retry: int | None = Field(default=None, ge=0, le=10, description="reconnect attempts")


# -- factories ----------------------------------------------------------------------


def create_llm(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.openai.LLM`` for ``ref`` (model name, ``base_url`` and options).

    Raises PluginError for unknown options, a missing key or a missing extra.
    """
    options = parse_options(LLMOptions, ref, "llm")
    key = read_api_key(options.api_key_env, ref)
    openai = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env", "timeout"})
    if options.timeout is not None:
        import httpx

        kwargs["timeout"] = httpx.Timeout(options.timeout, connect=min(options.timeout, 15.0))
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, openai.LLM, api_key=key, **kwargs)


def create_stt(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.openai.STT``; the language defaults to ``[agent].language``."""
    options = parse_options(STTOptions, ref, "stt")
    key = read_api_key(options.api_key_env, ref)
    openai = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env"})
    kwargs.setdefault("language", call.config.agent.language)
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, openai.STT, api_key=key, **kwargs)


def create_tts(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.openai.TTS`` with ``voice`` / ``speed`` / ``instructions``."""
    options = parse_options(TTSOptions, ref, "tts")
    key = read_api_key(options.api_key_env, ref)
    openai = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env"})
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, openai.TTS, api_key=key, **kwargs)


def create_realtime(ref: ModelRef, call: CallContext) -> Any:
    """``livekit.plugins.openai.realtime.RealtimeModel``.

    ``base_url`` may be ``http(s)://`` or ``ws(s)://`` (livekit switches the scheme and
    appends ``/realtime``). ``connect_timeout`` / ``max_retry`` set the connection options.
    Nothing connects until a session starts.
    """
    options = parse_options(RealtimeOptions, ref, "realtime")
    key = read_api_key(options.api_key_env, ref)
    openai = load_livekit_plugin(LIVEKIT_MODULE, EXTRA)
    kwargs = given(options, exclude={"api_key_env", "connect_timeout", "max_retry"})
    if options.connect_timeout is not None or options.max_retry is not None:
        from livekit.agents import APIConnectOptions

        defaults = APIConnectOptions()
        kwargs["conn_options"] = APIConnectOptions(
            max_retry=defaults.max_retry if options.max_retry is None else options.max_retry,
            retry_interval=defaults.retry_interval,
            timeout=options.connect_timeout or defaults.timeout,
        )
    if ref.model:
        kwargs["model"] = ref.model
    return construct_model(ref, openai.realtime.RealtimeModel, api_key=key, **kwargs)


@hookimpl
def register_providers(register: Any) -> None:
    register(
        Provider(
            name=NAME,
            env_keys=(API_KEY_ENV,),
            llm=create_llm,
            stt=create_stt,
            tts=create_tts,
            realtime=create_realtime,
            options={
                "llm": LLMOptions,
                "stt": STTOptions,
                "tts": TTSOptions,
                "realtime": RealtimeOptions,
            },
            description="OpenAI (or a compatible server via base_url): LLM, STT, TTS, realtime",
        )
    )
