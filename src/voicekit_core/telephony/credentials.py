"""LiveKit credentials: ``[plugins.telephony]`` settings first, then the environment.

The secret is kept out of ``repr`` and never printed; :meth:`LiveKitCredentials.describe`
shows the URL and the key id only.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import TelephonyConfigError

if TYPE_CHECKING:
    from livekit import api

    from ..config import DeploymentConfig

ENV_URL = "LIVEKIT_URL"
ENV_KEY = "LIVEKIT_API_KEY"
ENV_SECRET = "LIVEKIT_API_SECRET"


@dataclass(frozen=True)
class LiveKitCredentials:
    """Where and how to call LiveKit. ``url`` is ``wss://`` or ``https://``."""

    url: str
    api_key: str
    api_secret: str = field(repr=False)

    def describe(self) -> str:
        """``"https://x.livekit.cloud with key APIabc"``: safe to print (no secret)."""
        return f"{self.url} with key {self.api_key}"


def resolve_credentials(
    config: DeploymentConfig | None = None, *, environ: Mapping[str, str] | None = None
) -> LiveKitCredentials:
    """Credentials from the ``telephony`` plugin settings of ``config`` (non-empty values
    win), else from ``LIVEKIT_URL`` / ``LIVEKIT_API_KEY`` / ``LIVEKIT_API_SECRET``.

    Raises :class:`TelephonyConfigError` naming the missing variables (never values).
    """
    env = os.environ if environ is None else environ
    settings = _settings(config)
    url = getattr(settings, "livekit_url", "") or env.get(ENV_URL, "")
    key = getattr(settings, "api_key", "") or env.get(ENV_KEY, "")
    secret_value = getattr(settings, "api_secret", None)
    secret = _secret(secret_value) or env.get(ENV_SECRET, "")
    missing = [
        name for name, value in ((ENV_URL, url), (ENV_KEY, key), (ENV_SECRET, secret)) if not value
    ]
    if missing:
        raise TelephonyConfigError(
            f"LiveKit credentials missing: set {', '.join(missing)} in the environment "
            "(or livekit_url / api_key / api_secret in [plugins.telephony])"
        )
    return LiveKitCredentials(url=url.strip(), api_key=key.strip(), api_secret=secret.strip())


def _settings(config: DeploymentConfig | None) -> Any:
    if config is None:
        return None
    try:
        return config.plugin_settings("telephony")
    except KeyError:
        return None


def _secret(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    return str(value)


@asynccontextmanager
async def livekit_api(creds: LiveKitCredentials) -> AsyncIterator[api.LiveKitAPI]:
    """An ``api.LiveKitAPI`` for ``creds`` (failover off: one request, one answer),
    closed on exit."""
    from livekit import api

    client = api.LiveKitAPI(creds.url, creds.api_key, creds.api_secret, failover=False)
    try:
        yield client
    finally:
        await client.aclose()
