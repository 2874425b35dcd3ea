"""Caller scripts with agent steps: a plugin's own tool in `voicekit simulate` with the
offline model, failed tool calls printed as failures, bad steps refused before a call."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from voicekit_core import ScriptError, load_deployment
from voicekit_core.cli import build_cli
from voicekit_core.harness import MINIMAL_CONFIG
from voicekit_core.simulate import CallerScript, load_script, run_script

PLUGIN = '''
from voicekit_core import hookimpl


@hookimpl
def register_tools(register, call):
    from livekit.agents import RunContext, ToolError, function_tool

    @function_tool
    async def order_status(context: RunContext, order_id: str) -> str:
        """Where an order is.

        Args:
            order_id: the order number
        """
        if order_id != "A100":
            raise ToolError(f"no order {order_id}")
        return "A100 shipped"

    register(order_status)
'''

SCRIPT = """\
lead_phone: "+14155550123"
turns:
  - caller: "Where is A100?"
    agent: {call: order_status, args: {order_id: A100}}
  - caller: "And Z9?"
    agent:
      - call: order_status
        args: {order_id: Z9}
      - say: "I could not find Z9, sorry."
  - "Okay."
  - caller: "Bye."
    agent: {say: "Goodbye!"}
expect:
  tools: [order_status]
"""


@pytest.fixture
def deployment_dir(voicekit):
    config = MINIMAL_CONFIG + '\n[plugins]\nenable = ["orders_local"]\n'
    path = voicekit.write(config, files={"orders_local.py": PLUGIN, "call.yaml": SCRIPT})
    return path.parent


async def test_agent_steps_call_the_plugins_tool(deployment_dir):
    deployment = load_deployment(deployment_dir)
    run = await run_script(deployment, load_script(deployment_dir / "call.yaml"))
    report = run.report
    assert [(t.name, t.arguments, t.is_error) for t in report.tool_calls] == [
        ("order_status", {"order_id": "A100"}, False),
        ("order_status", {"order_id": "Z9"}, True),
    ]
    agent = [t.text for t in report.transcript if t.role == "assistant"]
    assert agent[1] == "A100 shipped"  # a call with no say: the result is read out
    assert agent[2] == "I could not find Z9, sorry."
    assert agent[-1] == "Goodbye!"
    assert len(agent) == 5  # greeting, 3 scripted answers, and the flow's own for "Okay."
    assert not [n for n in report.notes if "not taken" in n]


def test_simulate_prints_failed_tools_differently(deployment_dir):
    result = CliRunner().invoke(
        build_cli(),
        ["simulate", str(deployment_dir), "--script", str(deployment_dir / "call.yaml")],
        env={"COLUMNS": "120"},
    )
    assert result.exit_code == 0, result.output
    assert '↳ tool order_status({"order_id": "A100"})' in result.output
    assert "→ A100 shipped" in result.output
    assert '✗ tool order_status({"order_id": "Z9"}) FAILED' in result.output
    assert "✗ no order Z9" in result.output


def test_unknown_tool_is_refused_before_the_call(deployment_dir):
    script = deployment_dir / "typo.yaml"
    script.write_text(
        "turns:\n  - caller: hi\n    agent: {call: order_stauts, args: {order_id: A100}}\n"
    )
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(deployment_dir), "--script", str(script)]
    )
    assert result.exit_code == 2
    assert f"{script}: turns[0].agent.call = 'order_stauts'" in result.output
    assert "its tools: end_call" in result.output and "order_status" in result.output
    assert load_deployment(deployment_dir).journal.list() == []  # no call was journaled


async def test_agent_only_turn_speaks_without_the_caller(deployment_dir):
    deployment = load_deployment(deployment_dir)
    script = CallerScript.model_validate(
        {"turns": [{"agent": {"say": "Are you still there?"}}, "Yes."]}
    )
    run = await run_script(deployment, script)
    lines = [(t.role, t.text) for t in run.report.transcript]
    assert lines[1] == ("assistant", "Are you still there?")
    assert lines[2] == ("user", "Yes.")


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        ({"caller": "hi", "agent": {"call": "x", "say": "y"}}, "exactly one of 'call' and 'say'"),
        ({"caller": "hi", "agent": {"say": "y", "args": {"a": 1}}}, "'args' goes with 'call'"),
        ({}, "a turn needs 'caller', 'agent' or both"),
        ({"caller": "hi", "agent": {"call": "x", "argz": {}}}, "unknown key"),
    ],
)
def test_bad_agent_steps_are_script_errors(tmp_path, turn, reason):
    import yaml

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"turns": [turn]}))
    with pytest.raises(ScriptError, match=reason) as caught:
        load_script(path)
    assert str(path) in str(caught.value) and "turns[0]" in str(caught.value)


def test_plain_string_turns_still_load(tmp_path):
    path = tmp_path / "plain.yaml"
    path.write_text("turns: [hello, bye]\n")
    script = load_script(path)
    assert script.turns == ["hello", "bye"]
    assert [t.caller for t in script.steps()] == ["hello", "bye"]
