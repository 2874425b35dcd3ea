"""voicekit-core: a plugin framework for AI phone agents built on LiveKit Agents.

Plugins implement the hooks in :mod:`voicekit_core.hookspecs` with ``@hookimpl``.
Importing this package does not import livekit or any vendor SDK.
"""

from .calls import CallContext, CallReport, Disposition
from .config import DeploymentConfig, ModelRef
from .deployment import Deployment, load_deployment
from .errors import (
    CallVetoed,
    ConfigError,
    InputError,
    LeadFileError,
    PluginError,
    Problem,
    ScriptError,
    VoicekitError,
)
from .hookspecs import hookimpl, hookspec
from .leads import Lead, national_forms, to_e164
from .providers import ModelSelection, Provider

__version__ = "0.1.0"

__all__ = [
    "CallContext",
    "CallReport",
    "CallVetoed",
    "ConfigError",
    "Deployment",
    "DeploymentConfig",
    "Disposition",
    "InputError",
    "Lead",
    "LeadFileError",
    "ModelRef",
    "ModelSelection",
    "PluginError",
    "Problem",
    "Provider",
    "ScriptError",
    "VoicekitError",
    "__version__",
    "hookimpl",
    "hookspec",
    "load_deployment",
    "national_forms",
    "to_e164",
]
