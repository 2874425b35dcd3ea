"""``[recording]``: record live calls with a LiveKit egress (see ``docs/recording.md``).

The worker starts an audio-only room-composite egress for each live call
(:mod:`voicekit_core.telephony.recording`), writing one file to the egress server's disk or
to an S3, Google Cloud Storage or Azure Blob bucket::

    [recording]
    enabled = true
    destination = "s3"                    # file | s3 | gcs | azure
    path = "recordings/{date}/{call_id}.ogg"
    format = "ogg"                        # ogg | mp4 (audio only)
    notice = "This call is recorded for quality."

    [recording.s3]
    bucket = "acme-call-recordings"
    region = "us-east-1"
    access_key = "${RECORDING_S3_ACCESS_KEY}"
    secret = "${RECORDING_S3_SECRET}"

Credentials are ``SecretStr``: write them as ``${VAR}`` (a literal value loads, with a
warning from :func:`recording_warnings`); either way their values are registered with
:mod:`voicekit_core.redaction` when the file is parsed. The checks that involve several
keys (a bucket for the chosen destination, the file suffix against ``format``) are
:func:`recording_problems`, each naming the key to set.
"""

from __future__ import annotations

import string
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from .errors import Problem
from .redaction import register_secret
from .strict import StrictModel

if TYPE_CHECKING:
    from .config import DeploymentConfig

#: The placeholders a recording ``path`` may use: the call's id, the LiveKit room's
#: name, and the call's start date (UTC, ``YYYY-MM-DD``).
PATH_PLACEHOLDERS = ("call_id", "room", "date")
DEFAULT_PATH = "recordings/{call_id}.ogg"
Destination = Literal["file", "s3", "gcs", "azure"]
_AUDIO_SUFFIXES = (".ogg", ".oga", ".opus", ".mp4", ".m4a", ".mp3", ".wav", ".webm")


class _Table(StrictModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, use_attribute_docstrings=True)


class S3Destination(_Table):
    """``[recording.s3]``: an Amazon S3 bucket, or any S3-compatible store (MinIO, R2)
    given its ``endpoint`` (``S3Upload`` in LiveKit's egress API)."""

    bucket: str = ""
    """The bucket's name (required for ``destination = "s3"``). Write it as it is, not as
    ``${VAR}``: a value from the environment is a secret and the report would hide it."""
    region: str = ""
    """The bucket's region, e.g. ``us-east-1``."""
    access_key: SecretStr | None = None
    """The access key id; empty: the egress server's own credentials (IAM role)."""
    secret: SecretStr | None = None
    """The secret access key; required with ``access_key``."""
    endpoint: str = ""
    """An S3-compatible endpoint URL (``https://minio.example.com``); empty: AWS."""
    force_path_style: bool = False
    """Address objects as ``endpoint/bucket/key`` instead of ``bucket.endpoint/key``
    (most S3-compatible stores need it)."""


class GCSDestination(_Table):
    """``[recording.gcs]``: a Google Cloud Storage bucket (``GCPUpload``)."""

    bucket: str = ""
    """The bucket's name (required for ``destination = "gcs"``)."""
    credentials: SecretStr | None = None
    """A service account's JSON key (the whole JSON text, as ``${VAR}``); empty: the
    egress server's own credentials."""


class AzureDestination(_Table):
    """``[recording.azure]``: an Azure Blob Storage container (``AzureBlobUpload``)."""

    account_name: str = ""
    """The storage account's name (required for ``destination = "azure"``)."""
    account_key: SecretStr | None = None
    """The storage account's key (required for ``destination = "azure"``)."""
    container_name: str = ""
    """The blob container (required for ``destination = "azure"``)."""


class RecordingSection(_Table):
    """``[recording]``: an audio-only LiveKit egress for each live call.

    Off by default. Simulated calls are never recorded here (``voicekit simulate --voice
    --save-audio`` writes their audio). A recording that cannot start never fails the call.
    """

    enabled: bool = False
    """Record live calls."""
    destination: Destination = "file"
    """Where the egress writes: ``file`` (the egress server's disk; self-hosted egress
    only), ``s3``, ``gcs`` or ``azure`` (with the table of that name)."""
    path: str = DEFAULT_PATH
    """The file's path (the object key in a bucket). Placeholders: ``{call_id}``,
    ``{room}`` (the LiveKit room) and ``{date}`` (the call's UTC date, ``YYYY-MM-DD``).
    Default ``recordings/{call_id}.ogg`` (``.mp4`` with ``format = "mp4"``)."""
    format: Literal["ogg", "mp4"] = "ogg"
    """The container: ``ogg`` (Opus audio) or ``mp4`` (AAC audio)."""
    notice: str | dict[str, str] = ""
    """Said to the caller, as written (text or ``{lang = text}``), before the recording
    starts; when set, the recording starts only once it was said in full."""
    start_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    """How long one ``StartRoomCompositeEgress`` request may take, in seconds."""
    s3: S3Destination = Field(default_factory=S3Destination)
    """Settings of ``destination = "s3"``."""
    gcs: GCSDestination = Field(default_factory=GCSDestination)
    """Settings of ``destination = "gcs"``."""
    azure: AzureDestination = Field(default_factory=AzureDestination)
    """Settings of ``destination = "azure"``."""

    @field_validator("path")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        path = value.strip()
        if not path:
            raise ValueError("must not be empty")
        for name in path_placeholders(path):
            if name not in PATH_PLACEHOLDERS:
                known = ", ".join("{" + p + "}" for p in PATH_PLACEHOLDERS)
                raise ValueError(f"unknown placeholder {{{name}}}: use {known}")
        return path

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> RecordingSection:
        if "path" not in self.model_fields_set and self.format != "ogg":
            self.path = f"recordings/{{call_id}}.{self.format}"
        for secret in (
            self.s3.access_key,
            self.s3.secret,
            self.gcs.credentials,
            self.azure.account_key,
        ):
            if secret is not None:  # redacted wherever it would be printed or stored
                register_secret(secret.get_secret_value())
        return self


def path_placeholders(template: str) -> list[str]:
    """The placeholder names of a path template (``"a/{call_id}.ogg"`` -> ``["call_id"]``).

    Raises ``ValueError`` for unbalanced braces, a placeholder with a format
    (``{date:%Y}``) or a conversion (``{room!r}``).
    """
    names = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        raise ValueError("unbalanced { or }: write placeholders as {call_id}") from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion:
            raise ValueError(f"placeholders take no format: write {{{name.split('.')[0]}}}")
        names.append(name)
    return names


def recording_problems(config: DeploymentConfig) -> list[Problem]:
    """Problems of ``[recording]`` that involve several keys, each naming the key to set:
    the destination's required settings, credentials given by halves, a table for
    another destination, and a path suffix that contradicts ``format``. Checked whether
    recording is enabled or not, so switching it on never reveals a broken table."""
    section = config.recording
    file = str(config.path)
    problems: list[Problem] = []
    needed = f"required when recording.destination = {section.destination!r}"
    if section.destination == "s3":
        if not section.s3.bucket.strip():
            problems.append(Problem(file, "recording.s3.bucket", "", needed))
        if _given(section.s3.access_key) != _given(section.s3.secret):
            missing = "secret" if _given(section.s3.access_key) else "access_key"
            problems.append(
                Problem(
                    file,
                    f"recording.s3.{missing}",
                    "",
                    "access_key and secret go together (or leave both out to use the "
                    "egress server's own credentials)",
                )
            )
    elif section.destination == "gcs":
        if not section.gcs.bucket.strip():
            problems.append(Problem(file, "recording.gcs.bucket", "", needed))
    elif section.destination == "azure":
        azure = section.azure
        for key, given in (
            ("account_name", bool(azure.account_name.strip())),
            ("account_key", _given(azure.account_key)),
            ("container_name", bool(azure.container_name.strip())),
        ):
            if not given:
                problems.append(Problem(file, f"recording.azure.{key}", "", needed))
    for other in ("s3", "gcs", "azure"):
        if other != section.destination and getattr(section, other).model_fields_set:
            problems.append(
                Problem(
                    file,
                    f"recording.{other}",
                    "",
                    f"a [recording.{other}] table, but recording.destination = "
                    f"{section.destination!r}: set destination = {other!r} or remove the table",
                )
            )
    suffix = PurePosixPath(section.path).suffix.lower()
    if suffix in _AUDIO_SUFFIXES and suffix != f".{section.format}":
        problems.append(
            Problem(
                file,
                "recording.path",
                section.path,
                f"ends in {suffix} but recording.format = {section.format!r}: "
                f"end it in .{section.format} or set format to match",
            )
        )
    return problems


def recording_warnings(config: DeploymentConfig) -> list[str]:
    """One warning per ``[recording]`` credential written in the file as it is (not as
    ``${VAR}``), saying which variable to use instead."""
    from .config import _literal_secrets

    return _literal_secrets(config, config.recording, "recording")


def _given(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())


__all__ = [
    "DEFAULT_PATH",
    "PATH_PLACEHOLDERS",
    "AzureDestination",
    "GCSDestination",
    "RecordingSection",
    "S3Destination",
    "path_placeholders",
    "recording_problems",
    "recording_warnings",
]
