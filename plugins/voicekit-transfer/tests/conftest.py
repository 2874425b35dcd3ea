"""Fixtures: the fake LiveKit server from voicekit-core and a deployment enabling transfer."""

from __future__ import annotations

import pytest

from voicekit_core.testing_livekit import FakeLiveKit, fake_livekit, livekit_env

__all__ = ["FakeLiveKit", "fake_livekit", "livekit_env"]

TRANSFER_CONFIG = """\
[agent]
name = "test-agent"
instructions = "You are a test agent talking to {lead.name}."

[leads]
path = "leads.csv"

[plugins]
enable = ["transfer"]

[plugins.transfer]
default_target = "sales"

[[plugins.transfer.targets]]
name = "sales"
to = "+1 (415) 555-0100"

[[plugins.transfer.targets]]
name = "support"
to = "sip:support@pbx.example.com"

[[plugins.transfer.targets]]
name = "night"
to = "+14155550177"
hours = "09:00-17:00"
days = []
"""


@pytest.fixture
def transfer_config() -> str:
    return TRANSFER_CONFIG
