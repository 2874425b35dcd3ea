"""Plugin loading failures are one clean line, and the trace switch works (issue 9, 6 and 11).

Classes: a syntax error or an exception in a local plugin module, a misspelled hook
argument, an unknown hook name (each a ConfigError / PluginError naming file:line, exit 2,
no traceback); VOICEKIT_TRACE_PLUGINS logging direct hook calls and their results with
phones and emails masked and secrets redacted.
"""

from __future__ import annotations

import logging
import secrets

import pytest
from click.testing import CliRunner

from voicekit_core import ConfigError, hookimpl
from voicekit_core.calls import CallContext
from voicekit_core.cli import build_cli
from voicekit_core.errors import PluginError
from voicekit_core.plugins import build_plugin_manager
from voicekit_core.redaction import REDACTED, register_secret
from voicekit_core.testing import MINIMAL_CONFIG


def with_local_plugin(voicekit, module: str, source: str):
    return voicekit.write(
        MINIMAL_CONFIG + f'\n[plugins]\nenable = ["{module}"]\n', files={f"{module}.py": source}
    )


def check(path) -> tuple[int, str]:
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    return result.exit_code, result.output


# -- broken local plugins -------------------------------------------------------------------------


def test_syntax_error_in_local_plugin_names_file_and_line(voicekit):
    path = with_local_plugin(voicekit, "vk_syntax_broken", "x = 1\ndef broken(:\n    pass\n")
    code, output = check(path)
    assert code == 2
    assert "Traceback" not in output
    assert "plugins.enable" in output
    assert "vk_syntax_broken.py:2" in "".join(output.split())
    assert "syntax error" in output


def test_exception_at_import_names_file_and_line(voicekit):
    path = with_local_plugin(voicekit, "vk_raises_on_import", "x = 1\nraise RuntimeError('nope')\n")
    with pytest.raises(ConfigError) as info:
        voicekit.load(path)
    (problem,) = info.value.problems
    assert "vk_raises_on_import.py:2" in problem.reason
    assert "RuntimeError: nope" in problem.reason


def test_misspelled_hook_argument_is_a_clean_error(voicekit):
    source = (
        "from voicekit_core import hookimpl\n\n"
        "@hookimpl\n"
        "def call_instructions(cal):\n"
        "    return 'x'\n"
    )
    path = with_local_plugin(voicekit, "vk_bad_argument", source)
    code, output = check(path)
    assert code == 2
    assert "Traceback" not in output
    flat = "".join(output.split())
    assert "call_instructions()at" in flat and "vk_bad_argument.py:3" in flat  # its @hookimpl line
    assert "takes'cal'" in flat and "itprovides:call" in flat


def test_misspelled_hook_argument_on_a_class_plugin():
    class Typo:
        @hookimpl
        def post_call(self, reportt, config):
            pass

    with pytest.raises(PluginError) as info:
        build_plugin_manager(extra=[("typo", Typo())])
    message = str(info.value)
    assert "\n" not in message
    assert "post_call()" in message and "'reportt'" in message and "report" in message


def test_unknown_hook_name_is_one_line():
    class Typo:
        @hookimpl
        def register_tool(self, register, call):  # should be register_tools
            pass

    with pytest.raises(PluginError) as info:
        build_plugin_manager(extra=[("typo", Typo())])
    assert "\n" not in str(info.value)
    assert "register_tool() at" in str(info.value)
    assert "not a voicekit hook" in str(info.value)


# -- VOICEKIT_TRACE_PLUGINS ----------------------------------------------------------------------


class Echo:
    def __init__(self, secret: str):
        self.secret = secret

    @hookimpl
    def call_instructions(self, call):
        return f"lead {call.phone} mail ada@example.com key {self.secret}"


async def test_trace_logs_direct_calls_and_results_masked_and_redacted(
    voicekit, monkeypatch, caplog
):
    monkeypatch.setenv("VOICEKIT_TRACE_PLUGINS", "1")
    secret = f"sk-trace-{secrets.token_hex(8)}"
    register_secret(secret)
    voicekit.register(Echo(secret), name="echo")
    deployment = voicekit.load()
    call = CallContext(deployment=deployment, phone="+14155550123")
    with caplog.at_level(logging.INFO, logger="voicekit.plugins"):
        (impl,) = [
            i
            for i in deployment.pm.impls_in_call_order("call_instructions")
            if i.plugin_name == "echo"
        ]
        deployment.pm.call_impl(impl, call=call)
        await deployment.pm.abroadcast("call_instructions", call=call)
        deployment.pm.trace("custom %s line", {"phone": "+14155550123"})
    text = caplog.text
    assert "hook call_instructions -> echo(call)" in text
    assert "hook call_instructions: echo returned 'lead +1415•••0123 mail a•••@example.com" in text
    assert f"key {REDACTED}" in text
    assert "custom {'phone': '+1415•••0123'} line" in text
    assert "+14155550123" not in text and "ada@example.com" not in text and secret not in text


def test_trace_off_logs_nothing(voicekit, monkeypatch, caplog):
    monkeypatch.delenv("VOICEKIT_TRACE_PLUGINS", raising=False)
    voicekit.register(Echo("x" * 10), name="echo")
    deployment = voicekit.load()
    call = CallContext(deployment=deployment, phone="+14155550123")
    with caplog.at_level(logging.INFO, logger="voicekit.plugins"):
        deployment.pm.hook.call_instructions(call=call)
        deployment.pm.trace("custom %s line", 1)
    assert caplog.text == ""
