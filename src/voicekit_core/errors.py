"""Exceptions voicekit raises for bad input. Messages never contain secret values."""

from __future__ import annotations

from dataclasses import dataclass


class VoicekitError(Exception):
    """Base class: every voicekit error the CLI turns into exit status 2."""


class PluginError(VoicekitError):
    """A plugin could not be found, imported or validated."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where, what value, and why."""

    file: str
    key: str  # dotted key ("plugins.hubspot.access_token") or "row 7" for tabular files
    value: str  # already redacted where it could be a secret
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        value = f" = {self.value}" if self.value else ""
        return f"{where}{value}: {self.reason}"


class InputError(VoicekitError):
    """One or more :class:`Problem` s in a file; ``str()`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(InputError):
    """The deployment file is malformed, has unknown keys, or misses an env variable."""


class LeadFileError(InputError):
    """The leads file has rows that are not valid leads."""


class ScriptError(InputError):
    """A caller script (YAML) is malformed."""


class CallVetoed(VoicekitError):
    """A ``before_dial`` hook refused the call; ``reason`` says why."""

    def __init__(self, plugin: str, reason: str):
        self.plugin = plugin
        self.reason = reason
        super().__init__(f"call refused by {plugin}: {reason}")


class LeadNotFound(VoicekitError):
    """No lead source knows the phone number."""
