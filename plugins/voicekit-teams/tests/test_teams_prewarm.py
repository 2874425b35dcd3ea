"""The worker warms msgraph in each job process through the worker_prewarm hook."""

from __future__ import annotations

import voicekit_teams

from voicekit_core.plugins import build_plugin_manager


def test_worker_prewarm_hook_warms_graph_models():
    pm = build_plugin_manager(["teams"])
    assert "teams" in [i.plugin_name for i in pm.impls_in_call_order("worker_prewarm")]
    pm.hook.worker_prewarm(config=None)
    assert voicekit_teams.TIMINGS["first_parse_seconds"] is not None
