"""The deployment file (TOML): pydantic models, ``${VAR}`` secrets, per-plugin tables.

One file per deployment. Paths inside it are relative to the file. ``${VAR}`` (or
``${VAR:-default}``) anywhere in a string is replaced from the environment, after loading
an optional ``.env`` beside the file (existing variables win). Values that came from the
environment, and values under secret-looking keys (``*token*``, ``*secret*``...), are
secrets: they are registered with :mod:`voicekit_core.redaction` when the file is parsed,
shown as ``•••••• (${VAR})`` by ``voicekit check`` and never appear in error messages.

A file may start from another one: ``extends = "voicekit.toml"`` (a path relative to the
file) merges the two, tables key by key and everything else (lists included) replaced
whole, the extending file winning (:func:`read_deployment`). Errors name the file that
wrote the bad value.

See ``docs/config.md`` for every key.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from .calls import DISPOSITION_NAME, reading_dispositions
from .campaigns.settings import DialerSection
from .dispositions import DispositionDecl
from .errors import ConfigError, Problem
from .extraction import ExtractionSection
from .flow_config import FlowQuestion, FlowSection  # noqa: F401 ([flow] has its own module)
from .recording_config import RecordingSection, recording_problems
from .redaction import REDACTED, redact, redact_data, register_secret
from .strict import StrictModel

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_FILENAME = "voicekit.toml"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-(.*?))?\}")
# keys whose values are secrets; "*_env" keys (api_key_env) name a variable, not a secret
_SECRETISH = re.compile(r"(token|secret|password|api_key|apikey|credential)(?!\w*_env$)", re.I)

Localized = str | dict[str, str]
"""A text, or a table of texts by language code (``{en = "...", es = "..."}``)."""


class AgentSection(StrictModel):
    """``[agent]``: who the agent is."""

    name: str = Field(min_length=1, description="LiveKit agent_name used for explicit dispatch")
    instructions: str = Field(
        description="Prompt file (relative path, may contain {language}) or inline text"
    )
    greeting: Localized = ""
    language: str = "en"
    voicemail_message: Localized = ""
    max_tool_steps: int = Field(default=4, ge=1, le=20)
    end_call_dispositions: list[str] | None = Field(
        default=None,
        description="outcomes the model may end a call with; default: not_interested, "
        "wrong_number, do_not_call, callback_requested, voicemail, completed and every "
        "declared one",
    )


class CampaignSection(BaseModel):
    """``[campaign]``: free-form facts for prompts, as ``{campaign.KEY}``."""

    model_config = ConfigDict(extra="allow")
    name: str = ""


class ModelRef(StrictModel):
    """One model: ``"provider:model"`` or a table ``{use = "provider:model", OPTION = ...}``."""

    provider: str
    model: str = ""
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, str):
            provider, _, model = value.partition(":")
            return {"provider": provider.strip(), "model": model.strip()}
        if isinstance(value, dict) and "use" in value:
            rest = dict(value)
            provider, _, model = str(rest.pop("use")).partition(":")
            return {"provider": provider.strip(), "model": model.strip(), "options": rest}
        return value

    def __str__(self) -> str:
        return f"{self.provider}:{self.model}" if self.model else self.provider


def _as_chain(value: Any) -> Any:
    if value is None or isinstance(value, list):
        return value
    return [value]


class Price(StrictModel):
    """Prices of one ``provider:model`` in USD, for the cost estimate in call reports."""

    input_tokens_per_million: float = Field(default=0, ge=0)
    output_tokens_per_million: float = Field(default=0, ge=0)
    audio_input_tokens_per_million: float = Field(default=0, ge=0)
    audio_output_tokens_per_million: float = Field(default=0, ge=0)
    audio_minute: float = Field(default=0, ge=0, description="STT or TTS audio, per minute")
    characters_per_million: float = Field(default=0, ge=0, description="TTS input characters")


class TurnSection(StrictModel):
    """``[models.turn]``: voice activity and turn detection (voice calls only).

    ``vad = "silero"`` uses the Silero model shipped inside livekit-plugins-silero (no
    download). ``detection = "default"`` keeps livekit's built-in local turn detector;
    never a detector that downloads a model from a hub at run time.
    """

    vad: Literal["silero", "none"] = "silero"
    detection: Literal["default", "vad", "stt", "realtime_llm", "manual"] = "default"
    min_endpointing_delay: float = Field(default=0.5, ge=0, le=10, description="seconds")
    max_endpointing_delay: float = Field(default=3.0, ge=0, le=30, description="seconds")
    allow_interruptions: bool = True


class ModelsSection(StrictModel):
    """``[models]``: a realtime model, or an STT/LLM/TTS pipeline; lists are fallback chains."""

    realtime: list[ModelRef] | None = None
    stt: list[ModelRef] | None = None
    llm: list[ModelRef] | None = None
    tts: list[ModelRef] | None = None
    fallback: ModelRef = Field(default_factory=lambda: ModelRef(provider="scripted"))
    turn: TurnSection = Field(default_factory=TurnSection)
    noise_cancellation: Literal["none", "bvc", "bvc_telephony"] = Field(
        default="none",
        description="LiveKit Cloud only: livekit-plugins-noise-cancellation on the room input",
    )
    prices: dict[str, Price] = Field(
        default_factory=dict, description='keyed "provider:model" as livekit reports usage'
    )

    _chain = field_validator("realtime", "stt", "llm", "tts", mode="before")(_as_chain)


class LeadsSection(StrictModel):
    """``[leads]``: the built-in CSV lead source."""

    source: Literal["csv", "none"] = "csv"
    path: Path | None = None
    default_region: str = Field(
        default="US", description="ISO 3166 alpha-2 region phonenumbers knows, upper-cased"
    )
    allow_extensions: bool = Field(
        default=False,
        description="accept '+1 415 555 0101 ext. 23' (kept in lead.extension for DTMF)",
    )
    allow_vanity: bool = Field(
        default=False, description="accept letters in numbers ('555-CALL'), read as digits"
    )

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                "unknown phone region: use an ISO 3166 alpha-2 country code such as "
                "US, GB, ES, MX or DE"
            )
        return region


class StoreSection(StrictModel):
    """``[store]``: the one database holding the journal and campaigns.

    ``url`` is a SQLAlchemy URL: ``sqlite:///relative/or/absolute.sqlite3`` (relative paths
    are beside the deployment file) or ``postgresql+psycopg://user:pass@host/db`` when
    dialers and workers run on several machines (``pip install 'voicekit-core[postgres]'``).
    """

    url: str = Field(default="sqlite:///.voicekit/voicekit.sqlite3", min_length=1)


class JournalSection(StrictModel):
    """``[journal]``: post-call delivery retries, and the voicekit 0.1 journal file.

    ``path`` is the SQLite journal voicekit 0.1 wrote; if it exists its calls are imported
    into the store once. New calls are journaled in ``[store]``.
    """

    path: Path = Path(".voicekit/journal.sqlite3")
    retry_attempts: int = Field(default=3, ge=1, le=20)
    retry_backoff_seconds: float = Field(default=1.0, ge=0, le=300)


class PluginsSection(BaseModel):
    """``[plugins]``: ``enable`` plus one table per plugin (validated by that plugin)."""

    model_config = ConfigDict(extra="allow")
    enable: list[str] = Field(default_factory=list)

    @property
    def tables(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class DeploymentConfig(StrictModel):
    """A whole deployment file, validated. Paths are absolute after loading."""

    agent: AgentSection
    campaign: CampaignSection = Field(default_factory=CampaignSection)
    models: ModelsSection = Field(default_factory=ModelsSection)
    leads: LeadsSection = Field(default_factory=LeadsSection)
    flow: FlowSection = Field(default_factory=FlowSection)
    store: StoreSection = Field(default_factory=StoreSection)
    dialer: DialerSection = Field(default_factory=DialerSection)
    journal: JournalSection = Field(default_factory=JournalSection)
    recording: RecordingSection = Field(
        default_factory=RecordingSection, description="LiveKit egress of live calls"
    )
    dispositions: dict[str, DispositionDecl] = Field(
        default_factory=dict, description="the deployment's own outcomes (docs/config.md)"
    )
    extraction: ExtractionSection | None = Field(
        default=None, description="the record record_details collects (docs/extraction.md)"
    )
    plugins: PluginsSection = Field(default_factory=PluginsSection)

    _path: Path = PrivateAttr(default=Path(CONFIG_FILENAME))
    _secret_refs: dict[str, str] = PrivateAttr(default_factory=dict)
    _secret_values: dict[str, str] = PrivateAttr(default_factory=dict)  # "${VAR}" -> value
    _chain_lists: frozenset[str] = PrivateAttr(default=frozenset())  # kinds written as lists
    _plugin_settings: dict[str, BaseModel] = PrivateAttr(default_factory=dict)
    _env_written: frozenset[str] = PrivateAttr(default=frozenset())  # keys written with ${...}
    _sources: tuple[Path, ...] = PrivateAttr(default=())
    _provenance: dict[str, Path] = PrivateAttr(default_factory=dict)

    @field_validator("dispositions")
    @classmethod
    def _disposition_names(cls, value: dict[str, DispositionDecl]) -> dict[str, DispositionDecl]:
        for name in value:
            if not DISPOSITION_NAME.fullmatch(name):
                raise ValueError(
                    f"{name[:60]!r} is not a disposition name: use lowercase letters, digits "
                    "and _ (starting with a letter), at most 40 characters"
                )
        return value

    @property
    def path(self) -> Path:
        """The deployment file."""
        return self._path

    @property
    def sources(self) -> tuple[Path, ...]:
        """The file loaded, then each file it ``extends``, in that order."""
        return self._sources or (self._path,)

    def source_of(self, dotted: str) -> Path:
        """The file that wrote the value at ``dotted`` (``plugins.teams.client_id``,
        ``models.llm[1]``): the nearest key written in a file of :attr:`sources`, else
        the loaded file."""
        return nearest_source(self._provenance, dotted) or self._path

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are resolved against."""
        return self._path.parent

    @property
    def secret_refs(self) -> dict[str, str]:
        """``{dotted key: "${VAR}"}`` for every value that came from the environment."""
        return dict(self._secret_refs)

    def model_key(self, kind: str, index: int = 0) -> str:
        """The dotted key of one ``[models]`` entry as written in the file:
        ``models.llm`` for a single model, ``models.llm[1]`` inside a list."""
        return f"models.{kind}[{index}]" if kind in self._chain_lists else f"models.{kind}"

    def plugin_settings(self, name: str) -> Any:
        """The validated settings object of plugin ``name``; raises KeyError if it has none."""
        return self._plugin_settings[name]

    def localized(self, value: Localized) -> str:
        """Pick ``value`` in the agent's language (falling back to ``en``)."""
        if isinstance(value, str):
            return value
        return value.get(self.agent.language) or value.get("en") or ""

    def instructions_text(self) -> str:
        """The raw instructions template (file contents, or the inline text).

        Raises :class:`ConfigError` naming the file when it cannot be read or is not UTF-8.
        """
        path = self.instructions_path()
        if path is None:
            return self.agent.instructions
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            reason = f"{_decode_reason(exc)} (read for agent.instructions)"
        except OSError as exc:
            reason = f"cannot read: {exc.strerror} (read for agent.instructions)"
        raise ConfigError([Problem(str(path), "", "", reason)])

    def instructions_path(self) -> Path | None:
        ref = self.agent.instructions.replace("{language}", self.agent.language)
        if "\n" in ref or not ref.endswith((".md", ".txt")):
            return None
        return self.base_dir / ref

    def redacted(self) -> dict[str, Any]:
        """The resolved config as a dict, secrets replaced by ``•••••• (${VAR})``.

        Redacts by value over the whole dump (whatever shape a value took after
        validation: a model table, a list, a plugin's settings), then every value under a
        secret-looking key, then every other registered secret.
        """
        data = self.model_dump(mode="json", exclude={"plugins"})
        plugins: dict[str, Any] = {"enable": list(self.plugins.enable)}
        for name, table in self.plugins.tables.items():
            settings = self._plugin_settings.get(name)
            plugins[name] = settings.model_dump(mode="json") if settings else table
        data["plugins"] = plugins
        for dotted, ref in self._secret_refs.items():
            _set_dotted(data, dotted, f"{REDACTED} ({ref})")
        data = _replace_values(data, self._secret_values)
        return redact_data(_redact_secretish(data))


# -- loading -----------------------------------------------------------------------


def find_config(path: str | Path) -> Path:
    """``path`` itself if it is a file, else ``path/voicekit.toml``. Raises ConfigError."""
    candidate = Path(path)
    if candidate.is_dir():
        candidate = candidate / CONFIG_FILENAME
    if not candidate.is_file():
        raise ConfigError([Problem(str(candidate), "", "", "no such deployment file")])
    return candidate.resolve()


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file. Raises :class:`ConfigError` naming the file for a syntax error
    (with line and column), text that is not UTF-8 (with the byte offset; UTF-16 and binary
    files) or a file that cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([Problem(str(path), "", "", f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(str(path), "", "", _decode_reason(exc))]) from None
    try:
        return tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([Problem(str(path), "", "", f"malformed TOML: {exc}")]) from None


EXTENDS_KEY = "extends"
_MAX_EXTENDS = 8


def read_deployment(path: Path) -> tuple[dict[str, Any], list[Path], dict[str, Path]]:
    """Read the deployment file at ``path`` and every file it ``extends``, merged.

    Returns ``(data, sources, provenance)``: the merged TOML data (``extends`` removed),
    the files read (``path`` first, then what it extends, and so on), and for every key
    written in a file the file that wrote it (``{dotted key: file}``; the nearest one
    wins). Merging: a table merges key by key; any other value, a list included, replaces
    the one it extends whole; the file loaded wins over what it extends.

    Raises :class:`ConfigError` naming the file for a bad ``extends`` (not a string, no
    such file, a cycle, more than 8 levels) or a file that is not valid TOML.
    """
    chain: list[tuple[Path, dict[str, Any]]] = []
    current = path.resolve()
    while True:
        data = read_toml(current)
        chain.append((current, data))
        parent = data.pop(EXTENDS_KEY, None)
        if parent is None:
            break
        if not isinstance(parent, str) or not parent.strip():
            raise ConfigError(
                [Problem(str(current), EXTENDS_KEY, _short_repr(parent), "must be a file path")]
            )
        target = (current.parent / parent).resolve()
        if target.is_dir():
            target = target / CONFIG_FILENAME
        if any(target == seen for seen, _ in chain):
            cycle = " -> ".join(str(p.name) for p, _ in chain) + f" -> {target.name}"
            raise ConfigError([Problem(str(current), EXTENDS_KEY, parent, f"a cycle: {cycle}")])
        if not target.is_file():
            raise ConfigError(
                [Problem(str(current), EXTENDS_KEY, parent, f"no such file: {target}")]
            )
        if len(chain) > _MAX_EXTENDS:
            raise ConfigError(
                [Problem(str(current), EXTENDS_KEY, parent, "more than 8 levels of extends")]
            )
        current = target
    merged: dict[str, Any] = {}
    provenance: dict[str, Path] = {}
    for file, data in reversed(chain):  # the base first, the loaded file last
        merged = merge_tables(merged, data, file=file, provenance=provenance)
    return merged, [p for p, _ in chain], provenance


def nearest_source(provenance: Mapping[str, Path], dotted: str) -> Path | None:
    """The file of the nearest key of ``dotted`` in ``provenance`` (``models.llm[1].x``
    looks up ``models.llm[1].x``, ``models.llm[1]``, ``models.llm``, ``models``)."""
    key = dotted
    while key:
        if key in provenance:
            return provenance[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[:cut] if cut > 0 else ""
    return None


def merge_tables(
    base: dict[str, Any],
    override: dict[str, Any],
    *,
    file: Path | None = None,
    provenance: dict[str, Path] | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """``base`` with ``override`` merged in: tables key by key, any other value (a list,
    a string, a table replacing a string) replaced whole. Neither input is changed.
    Records ``{dotted key: file}`` in ``provenance`` for every key ``override`` writes."""
    result = dict(base)
    for key, value in override.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        old = result.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            result[key] = merge_tables(old, value, file=file, provenance=provenance, prefix=dotted)
        else:
            result[key] = value
            if provenance is not None:
                for stale in [k for k in provenance if k.startswith((f"{dotted}.", f"{dotted}["))]:
                    del provenance[stale]
        if provenance is not None and file is not None:
            if not isinstance(value, dict) or not isinstance(old, dict):
                provenance[dotted] = file
            else:
                provenance.setdefault(dotted, file)
    return result


def _decode_reason(exc: UnicodeDecodeError) -> str:
    """A one-line reason for a file that is not UTF-8, naming the byte offset."""
    data = exc.object
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "not UTF-8 text: it looks like UTF-16 (save it as UTF-8)"
    line = data[: exc.start].count(b"\n") + 1
    return (
        f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}); "
        "save it as UTF-8"
    )


def load_dotenv_beside(path: Path) -> None:
    """Load ``.env`` next to the deployment file, if any; variables already set win."""
    env_file = path.parent / ".env"
    if env_file.is_file():
        from dotenv import load_dotenv

        load_dotenv(env_file, override=False)


def interpolate_env(
    data: Any,
    *,
    file: str,
    environ: Mapping[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> tuple[Any, dict[str, str], list[Problem]]:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of ``data``.

    ``${VAR:-default}`` takes ``default`` when VAR is unset or empty (as the shell does).
    Returns ``(new_data, {dotted_key: "${VAR}"}, problems)``; a variable that is unset
    and has no default is a problem naming the key and the variable (never a value).
    ``values``, when given, is filled with ``{"${VAR}": value}`` for every variable used.
    """
    env = os.environ if environ is None else environ
    refs: dict[str, str] = {}
    problems: list[Problem] = []

    def walk(node: Any, dotted: str) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, f"{dotted}.{k}" if dotted else k) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{dotted}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, str) or "${" not in node:
            return node

        def substitute(match: re.Match[str]) -> str:
            var, default = match.group(1), match.group(2)
            # as in the shell, ${VAR:-default} takes the default when VAR is unset or empty
            if var in env and (env[var] != "" or default is None):
                refs[dotted] = match.group(0)
                if values is not None:
                    values[f"${{{var}}}"] = env[var]
                return env[var]
            if default is not None:
                return default
            problems.append(
                Problem(file, dotted, match.group(0), f"environment variable {var} is not set")
            )
            return ""

        return _ENV_REF.sub(substitute, node)

    return walk(data, ""), refs, problems


def problems_from_validation(
    exc: ValidationError, *, file: str, prefix: str = "", secret_refs: dict[str, str] | None = None
) -> list[Problem]:
    """Turn pydantic errors into Problems with dotted keys, hiding secret values.

    The shown value and the reason (a validator may echo its input) are redacted by value
    of every registered secret, besides the key-based hiding below.
    """
    refs = secret_refs or {}
    problems = []
    for err in exc.errors():
        dotted = _dotted(prefix, err["loc"])
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        else:
            reason = redact(err["msg"].removeprefix("Value error, "))
        if err["type"] == "missing":
            shown = ""  # nothing was written: no value to show, or to hide
        elif dotted in refs:
            shown = refs[dotted]
        elif any(ref.startswith((f"{dotted}.", f"{dotted}[")) for ref in refs):
            shown = REDACTED  # a table or list holding values from the environment
        elif _SECRETISH.search(dotted):
            shown = REDACTED
        else:
            shown = redact(_short_repr(err.get("input")))
        problems.append(Problem(file, dotted, shown, reason))
    return problems


_UNION_TAGS = re.compile(r"^(str|int|float|bool|list\[.*\]|dict\[.*\]|[A-Z]\w*)$")


def _dotted(prefix: str, loc: tuple[Any, ...]) -> str:
    """A pydantic error location as the key written in TOML: ``plugins.x.ports[0]``.

    Drops pydantic's union-member tags (``str``, ``dict[str,str]``) and validator names.
    """
    dotted = prefix
    for part in loc:
        if isinstance(part, int):
            dotted += f"[{part}]"
            continue
        text = str(part)
        if text.startswith("function-") or _UNION_TAGS.match(text):
            continue
        dotted = f"{dotted}.{text}" if dotted else text
    return dotted


def parse_config(
    data: dict[str, Any], *, path: Path, environ: dict[str, str] | None = None
) -> DeploymentConfig:
    """Validate raw TOML data for the deployment file at ``path`` (plugin tables excluded).

    Raises ConfigError listing every problem (unknown keys, bad values, unset variables).
    """
    file = str(path)
    values: dict[str, str] = {}
    written = frozenset(_env_written(data))
    data, refs, problems = interpolate_env(data, file=file, environ=environ, values=values)
    for value in values.values():
        if not _is_phone_number(value):  # call data (a transfer target), masked, not secret
            register_secret(value)
    _register_secretish(data)
    try:
        # outcomes are checked against the deployment's catalog once plugins are loaded
        with reading_dispositions():
            config = DeploymentConfig.model_validate(data)
    except ValidationError as exc:
        problems += problems_from_validation(exc, file=file, secret_refs=refs)
        raise ConfigError(problems) from None
    config._path = path
    reported = {problem.key for problem in problems}  # e.g. an unset ${VAR} left it empty
    problems += [p for p in recording_problems(config) if p.key not in reported]
    if problems:
        raise ConfigError(problems)
    config._secret_refs = refs
    config._secret_values = values
    config._env_written = written
    models = data.get("models") if isinstance(data.get("models"), dict) else {}
    config._chain_lists = frozenset(k for k, v in models.items() if isinstance(v, list))
    _resolve_paths(config)
    return config


def _resolve_paths(config: DeploymentConfig) -> None:
    base = config.base_dir
    if config.leads.path is not None and not config.leads.path.is_absolute():
        config.leads.path = base / config.leads.path
    if not config.journal.path.is_absolute():
        config.journal.path = base / config.journal.path


def check_files(config: DeploymentConfig) -> list[Problem]:
    """Files the config points at that do not exist."""
    problems = []
    file = str(config.path)
    instructions = config.instructions_path()
    if instructions is not None and not instructions.is_file():
        problems.append(
            Problem(
                file,
                "agent.instructions",
                config.agent.instructions,
                f"no such file: {instructions}",
            )
        )
    if config.leads.source == "csv":
        if config.leads.path is None:
            problems.append(Problem(file, "leads.path", "", "required when leads.source = 'csv'"))
        elif not config.leads.path.is_file():
            problems.append(Problem(file, "leads.path", str(config.leads.path), "no such file"))
    return problems


def validate_plugin_tables(
    config: DeploymentConfig,
    settings_models: dict[str, type[BaseModel]],
    known: set[str],
    warnings: list[str] | None = None,
) -> list[Problem]:
    """Validate each ``[plugins.NAME]`` table with its plugin's settings model.

    ``known`` holds the registered plugin names. Plugins with a settings model but no table
    get their defaults, or one error per required key naming the table to add. Stores the
    instances on ``config``. A ``SecretStr`` value written literally in the file (not as
    ``${VAR}``) adds a line to ``warnings``.
    """
    file = str(config.path)
    problems: list[Problem] = []
    tables = config.plugins.tables
    for name in tables:
        if name not in known:
            problems.append(
                Problem(file, f"plugins.{name}", "", "table for a plugin that is not enabled")
            )
        elif name not in settings_models:
            problems.append(
                Problem(file, f"plugins.{name}", "", f"plugin {name!r} takes no settings")
            )
    for name, model in settings_models.items():
        table = tables.get(name, {})
        if not isinstance(table, dict):
            problems.append(Problem(file, f"plugins.{name}", _short_repr(table), "must be a table"))
            continue
        try:
            settings = config._plugin_settings[name] = model.model_validate(table)
        except ValidationError as exc:
            found = problems_from_validation(
                exc, file=file, prefix=f"plugins.{name}", secret_refs=config._secret_refs
            )
            if name not in tables:
                found = [_missing_table(p, name, model) for p in found]
            problems += found
            continue
        if warnings is not None:
            warnings += _literal_secrets(config, settings, f"plugins.{name}")
    return problems


def _missing_table(problem: Problem, name: str, model: type[BaseModel]) -> Problem:
    """A problem of a plugin with no ``[plugins.NAME]`` table, saying which table to add."""
    if problem.reason != "Field required":
        return problem
    key = problem.key.rsplit(".", 1)[-1]
    example = "..."
    field = model.model_fields.get(key)
    if field is not None and _is_secret_field(field.annotation):
        example = '"${' + f"{name}_{key}".upper() + '}"'
    return Problem(
        problem.file,
        problem.key,
        "",
        f"Field required (there is no [plugins.{name}] table: add one with {key} = {example})",
    )


def _is_secret_field(annotation: Any) -> bool:
    from typing import get_args

    from pydantic import SecretStr

    if annotation is SecretStr:
        return True
    return any(_is_secret_field(arg) for arg in get_args(annotation))


def _literal_secrets(config: DeploymentConfig, settings: BaseModel, prefix: str) -> list[str]:
    """Warnings for ``SecretStr`` values written in the file as they are (not ``${VAR}``),
    in ``settings`` and the models nested in it."""
    from pydantic import SecretStr

    found: list[str] = []
    for key in sorted(settings.model_fields_set):
        value = getattr(settings, key, None)
        dotted = f"{prefix}.{key}"
        values = list(enumerate(value)) if isinstance(value, list) else [(None, value)]
        for index, item in values:
            where = dotted if index is None else f"{dotted}[{index}]"
            if isinstance(item, BaseModel):
                found += _literal_secrets(config, item, where)
            elif (
                isinstance(item, SecretStr)
                and item.get_secret_value()
                and where not in config._env_written
            ):
                variable = where.removeprefix("plugins.").replace(".", "_").upper()
                variable = re.sub(r"\W", "_", variable)
                found.append(
                    f"{config.source_of(where)}: {where} is a secret written in the file; "
                    f'write {key} = "${{{variable}}}" and set {variable} in the environment '
                    "or a .env file beside it"
                )
    return found


def _env_written(node: Any, dotted: str = "") -> list[str]:
    """Dotted keys whose value was written with a ``${VAR}`` reference."""
    if isinstance(node, dict):
        return [
            k
            for key, v in node.items()
            for k in _env_written(v, f"{dotted}.{key}" if dotted else key)
        ]
    if isinstance(node, list):
        return [k for i, v in enumerate(node) for k in _env_written(v, f"{dotted}[{i}]")]
    return [dotted] if isinstance(node, str) and _ENV_REF.search(node) else []


# -- helpers -------------------------------------------------------------------------


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data[dotted]`` if that path exists in ``data`` (a value can change shape in
    validation: a model table becomes a list; then nothing is set)."""
    node: Any = data
    keys = re.findall(r"[^.\[\]]+", dotted)
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list) and key.isdigit() and int(key) < len(node):
            if last:
                node[int(key)] = value
            node = node[int(key)]
        elif isinstance(node, dict) and key in node:
            if last:
                node[key] = value
            node = node[key]
        else:
            return


def _replace_values(node: Any, secrets: dict[str, str]) -> Any:
    """Every string of ``node`` holding a secret value (``secrets``: ``{"${VAR}": value}``)
    replaced whole by ``•••••• (${VAR})``; a string that is exactly a secret is replaced
    however short it is, a longer string only for values of 4 characters or more."""
    if isinstance(node, dict):
        return {k: _replace_values(v, secrets) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_values(v, secrets) for v in node]
    if not isinstance(node, str) or not node or node.startswith(REDACTED):
        return node
    found = [
        ref
        for ref, value in secrets.items()
        if value and (node == value or (len(value) >= 4 and value in node))
    ]
    return f"{REDACTED} ({', '.join(found)})" if found else node


def _is_phone_number(value: str) -> bool:
    """Whether ``value`` is one E.164 phone number (``+14155550100``, ``tel:+1...``)."""
    import phonenumbers

    text = value.strip().removeprefix("tel:")
    if not text.startswith("+"):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, None))
    except phonenumbers.NumberParseException:
        return False


def _register_secretish(node: Any, key: str = "") -> None:
    """Register every string under a secret-looking key (an inline token is a secret too)."""
    if isinstance(node, dict):
        for k, v in node.items():
            _register_secretish(v, str(k))
    elif isinstance(node, list):
        for v in node:
            _register_secretish(v, key)
    elif isinstance(node, str) and _SECRETISH.search(key):
        register_secret(node)


def _redact_secretish(node: Any, key: str = "") -> Any:
    if isinstance(node, dict):
        return {k: _redact_secretish(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_redact_secretish(v, key) for v in node]
    if isinstance(node, str) and node and _SECRETISH.search(key) and not node.startswith(REDACTED):
        return REDACTED
    return node


__all__ = [
    "CONFIG_FILENAME",
    "AgentSection",
    "DeploymentConfig",
    "FlowSection",
    "JournalSection",
    "LeadsSection",
    "Localized",
    "ModelRef",
    "ModelsSection",
    "RecordingSection",
    "StoreSection",
    "StrictModel",
    "find_config",
    "merge_tables",
    "parse_config",
    "read_deployment",
    "read_toml",
]
