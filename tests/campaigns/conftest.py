"""Fixtures of the campaign tests: the fake LiveKit server (``fake_livekit``)."""

from voicekit_core.testing_livekit import fake_livekit, livekit_env

__all__ = ["fake_livekit", "livekit_env"]
