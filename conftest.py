"""Repository-wide test setup: every test starts without provider or LiveKit credentials,
so the suite is offline and hermetic even on a developer machine that has real keys.
Tests that need a key set a fake one with ``monkeypatch.setenv``."""

from __future__ import annotations

import pytest

CREDENTIAL_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GOOGLE_API_KEY",
    "DEEPGRAM_API_KEY",
    "CARTESIA_API_KEY",
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "HUBSPOT_ACCESS_TOKEN",
    "FORWARD_PHONE_NUMBER",
    "TWILIO_EDGE",
    "TWILIO_REGION",
)


@pytest.fixture(autouse=True)
def _no_real_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
