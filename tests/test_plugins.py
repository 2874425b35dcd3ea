"""Plugin discovery: built-ins, entry points, module paths, fail-fast validation, tracing."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from click.testing import CliRunner

from voicekit_core import ConfigError, PluginError, hookimpl
from voicekit_core.cli import build_cli
from voicekit_core.plugins import BUILTIN_PLUGINS, build_plugin_manager, installed_plugins
from voicekit_core.testing import MINIMAL_CONFIG, ScriptedLLM, ToolCall, replies


def test_builtins_are_registered_like_any_plugin():
    pm = build_plugin_manager()
    names = {name for name, _ in pm.list_name_plugin()}
    assert set(BUILTIN_PLUGINS) <= names
    # the CSV lead source answers lookup_lead through the same hook as a CRM would
    assert "csv_leads" in [i.plugin_name for i in pm.impls_in_call_order("lookup_lead")]


def test_fixture_distribution_is_found_through_its_entry_point():
    found = installed_plugins()
    assert found["fixture_orders"].distribution == "voicekit-fixture-plugin"
    assert found["fixture_orders"].value == "voicekit_fixture_plugin"


def test_unknown_plugin_lists_installed_ones(voicekit):
    path = voicekit.write(MINIMAL_CONFIG + '\n[plugins]\nenable = ["hubspotz"]\n')
    with pytest.raises(ConfigError) as excinfo:
        voicekit.load(path)
    message = str(excinfo.value)
    assert "unknown plugin 'hubspotz'" in message
    assert "fixture_orders" in message
    assert "plugins.enable" in message


def test_misspelled_hook_fails_fast():
    class Typo:
        @hookimpl
        def register_tool(self, register, call):  # should be register_tools
            pass

    with pytest.raises(PluginError, match="register_tool"):
        build_plugin_manager(extra=[("typo", Typo())])


def test_local_module_plugin_is_imported_from_the_deployment_folder(voicekit):
    plugin = """
from voicekit_core import hookimpl

@hookimpl
def call_instructions(call):
    return "LOCAL PLUGIN SECTION"
"""
    path = voicekit.write(
        MINIMAL_CONFIG + '\n[plugins]\nenable = ["my_local_plugin_xyz"]\n',
        files={"my_local_plugin_xyz.py": plugin},
    )
    deployment = voicekit.load(path)
    assert deployment.pm.has_plugin("my_local_plugin_xyz")


async def test_installed_plugin_tool_runs_in_a_simulated_call(voicekit):
    config = MINIMAL_CONFIG + (
        '\n[plugins]\nenable = ["fixture_orders"]\n\n[plugins.fixture_orders]\nshop_name = "Acme"\n'
    )
    deployment = voicekit.load(voicekit.write(config))
    llm = ScriptedLLM(replies(ToolCall("order_status", {"order_number": 42}), "It shipped."))
    async with voicekit.call(deployment, llm=llm) as run:
        await run.user_says("Where is order 42?")
    call = run.report.tool_call("order_status")
    assert call.output == "Acme: order 42 shipped"
    assert call.arguments == {"order_number": 42}


def test_plugin_command_is_added_to_the_cli():
    result = CliRunner().invoke(build_cli(), ["fixture-hello"])
    assert result.exit_code == 0
    assert "hello from voicekit-fixture-plugin" in result.output


def test_listing_plugins_imports_neither_livekit_nor_vendor_sdks():
    code = (
        "import sys, json\n"
        "from voicekit_core.cli import build_cli\n"
        "from click.testing import CliRunner\n"
        "r = CliRunner().invoke(build_cli(), ['plugins', '--hooks', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('hubspot', 'simple_salesforce', 'msgraph', 'azure', 'openai', 'google') "
        "or m.startswith('livekit')]\n"
        "print(json.dumps({'heavy': heavy, 'out': r.output}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout.strip().splitlines()[-1])
    assert data["heavy"] == []
    rows = {row["name"]: row for row in json.loads(data["out"])}
    assert rows["fixture_orders"]["hooks"] == [
        "register_commands",
        "register_settings",
        "register_tools",
    ]
    assert "lookup_lead" in rows["csv_leads"]["hooks"]


def test_trace_switch_logs_hook_calls(voicekit, monkeypatch, caplog):
    monkeypatch.setenv("VOICEKIT_TRACE_PLUGINS", "1")

    class Greeter:
        @hookimpl
        def call_instructions(self, call):
            return "traced section"

    voicekit.register(Greeter(), name="greeter")
    deployment = voicekit.load()
    from voicekit_core.calls import CallContext

    call = CallContext(deployment=deployment, phone="+14155550123")
    with caplog.at_level(logging.INFO, logger="voicekit.plugins"):
        deployment.pm.hook.call_instructions(call=call)
    text = caplog.text
    assert "hook call_instructions" in text
    assert "'traced section'" in text
