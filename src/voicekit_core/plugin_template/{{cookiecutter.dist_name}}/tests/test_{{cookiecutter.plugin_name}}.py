{% set hooks = cookiecutter.hooks.split(",") -%}
{% set calls = hooks | reject("in", ["commands"]) | list -%}
"""Tests of {{ cookiecutter.dist_name }} with voicekit's harness (``pip install -e '.[test]'``).

The ``voicekit`` fixture loads a deployment with this plugin registered and runs text
calls through a real livekit ``AgentSession``; ``ScriptedLLM`` plays the model.
"""

{% if 'before_dial' in hooks %}import pytest
{% endif %}{% if 'commands' in hooks %}from click import Group
from click.testing import CliRunner
{% endif %}{% if 'before_dial' in hooks %}from voicekit_core import CallVetoed
{% endif %}{% if calls %}from voicekit_core.testing import MINIMAL_CONFIG, ScriptedLLM{% if 'tools' in hooks %}, ToolCall{% endif %}, replies
{% endif %}
import {{ cookiecutter.package_name }} as plugin
{%- if calls %}

TABLE = "\n[plugins." + plugin.NAME + "]\n"


def deployment(voicekit, settings="", environ=None):
    """A one-lead deployment with this plugin and ``settings`` in its table."""
    voicekit.register(plugin, name=plugin.NAME)
    return voicekit.load(voicekit.write(MINIMAL_CONFIG + TABLE + settings), environ=environ)
{%- endif %}
{%- if 'tools' in hooks %}


async def test_order_status_tool(voicekit):
    llm = ScriptedLLM(replies(ToolCall("order_status", {"order_id": "a100"}), "It shipped!"))
    async with voicekit.call(deployment(voicekit), llm=llm) as run:
        result = await run.user_says("Where is my order A100?")
        result.expect.next_event().is_function_call(name="order_status")
    assert run.report.tool_call("order_status").output == "Order A100: shipped"


async def test_unknown_order_is_a_tool_error(voicekit):
    llm = ScriptedLLM(replies(ToolCall("order_status", {"order_id": "Z9"}), "Hmm."))
    async with voicekit.call(deployment(voicekit), llm=llm) as run:
        await run.user_says("Order Z9?")
    assert run.report.tool_call("order_status").is_error
{%- endif %}
{%- if 'post_call' in hooks %}


async def test_post_call_sends_the_report(voicekit, http_receiver):
    url = http_receiver.url_for("/calls")
    settings = f'webhook_url = "{url}"\n' + 'api_key = "${HOOK_KEY}"\n'  # a secret: from env
    loaded = deployment(voicekit, settings, environ={"HOOK_KEY": "test-key-123"})
    async with voicekit.call(loaded, llm=ScriptedLLM(replies("Bye!"))) as run:
        await run.user_says("Hello?")
    [sent] = http_receiver.received("/calls")
    assert sent.json()["call_id"] == run.report.call_id
    assert sent.headers["authorization"] == "Bearer test-key-123"


async def test_failed_delivery_is_sent_again_on_retry(voicekit, http_receiver):
    http_receiver.fail("/calls", status=503)  # the first POST fails, the next succeeds
    settings = f'webhook_url = "{http_receiver.url_for("/calls")}"\n'
    loaded = deployment(voicekit, settings)
    llm = ScriptedLLM(replies("Bye!"))
    async with voicekit.call(loaded, llm=llm, strict_deliveries=False) as run:
        await run.user_says("Hello?")
    [failed] = [d for d in run.report.post_call if d.plugin == plugin.NAME]
    assert failed.status == "failed" and "503" in failed.error
    [record] = [d for d in await voicekit.retry_deliveries(run) if d.plugin == plugin.NAME]
    assert record.status == "delivered"
    assert len(http_receiver.received("/calls")) == 2
{%- endif %}
{%- if 'lead_lookup' in hooks %}


async def test_lead_comes_from_the_directory(voicekit):
    llm = ScriptedLLM(replies("Hi Grace!"))
    async with voicekit.call(deployment(voicekit), "+14155550100", llm=llm) as run:
        await run.user_says("Hello")
    assert run.report.lead["name"] == "Grace Hopper"
    assert run.report.lead["source"] == plugin.NAME
{%- endif %}
{%- if 'instructions' in hooks %}


async def test_instructions_section_is_added(voicekit):
    async with voicekit.call(deployment(voicekit), llm=ScriptedLLM(replies("Hi"))) as run:
        await run.user_says("Hello")
    assert "text the caller a summary" in run.agent.instructions
{%- endif %}
{%- if 'before_dial' in hooks %}


async def test_blocked_number_is_not_dialed(voicekit):
    blocked = deployment(voicekit, 'blocked_numbers = ["+14155550123"]\n')
    with pytest.raises(CallVetoed, match="blocked"):
        async with voicekit.call(blocked, llm=ScriptedLLM(replies("Hi"))):
            pass
{%- endif %}
{%- if 'lifecycle' in hooks %}


async def test_lifecycle_hooks_note_and_log(voicekit, caplog):
    caplog.set_level("INFO", logger=plugin.NAME)
    async with voicekit.call(deployment(voicekit), llm=ScriptedLLM(replies("Hi"))) as run:
        await run.user_says("Hello")
    assert f"{plugin.NAME}: call started" in run.report.notes
    assert f"call {run.report.call_id} ended: completed" in caplog.text
{%- endif %}
{%- if 'commands' in hooks %}


def test_cli_command():
    cli = Group()
    plugin.register_commands(cli)
    [name] = cli.commands
    result = CliRunner().invoke(cli, [name])
    assert result.exit_code == 0 and "hello from" in result.output
{%- endif %}
