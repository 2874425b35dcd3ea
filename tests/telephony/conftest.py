"""Fixtures for the core telephony tests: a running fake LiveKit and a deployment using it."""

from __future__ import annotations

import pytest

from voicekit_core.testing_livekit import FakeLiveKit, fake_livekit, livekit_env

__all__ = ["FakeLiveKit", "fake_livekit", "livekit_env"]

TELEPHONY_CONFIG = """\
[agent]
name = "test-agent"
instructions = "You are a test agent talking to {lead.name}."
greeting = "Hello {lead.first_name}!"
voicemail_message = "Hi {lead.first_name}, this is Test Agent. Call us back at 415 555 0100."

[leads]
path = "leads.csv"

[plugins.telephony]
outbound_trunk_id = "ST_outbound"
numbers = ["+14155550100"]
"""


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A fresh HOME: the doctor reads the LiveKit CLI's ``~/.livekit/cli-config.yaml``."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def telephony_config() -> str:
    """A deployment with ``[plugins.telephony]`` (outbound trunk ``ST_outbound``)."""
    return TELEPHONY_CONFIG
