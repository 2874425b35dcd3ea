"""Runs after the other browser modules (file order): Playwright's sync API must have
closed its asyncio loop, or every later test of the run that starts one would fail."""

from __future__ import annotations

import asyncio


def test_no_event_loop_is_left_running_after_the_browser_tests():
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert asyncio.run(answer()) == 42
