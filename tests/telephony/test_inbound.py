"""Inbound setup is idempotent; `sip list` shows trunks and rules."""

from __future__ import annotations

import json

from click.testing import CliRunner

from voicekit_core.cli import build_cli
from voicekit_core.telephony.credentials import resolve_credentials
from voicekit_core.telephony.inbound import list_sip, setup_inbound
from voicekit_core.telephony.settings import telephony_settings


async def test_setup_inbound_twice_creates_once(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    config = deployment.config
    settings = telephony_settings(config)
    creds = resolve_credentials(config)

    first = await setup_inbound(config, settings, creds)
    second = await setup_inbound(config, settings, creds)

    assert (first.created_trunk, first.created_rule) == (True, True)
    assert (second.created_trunk, second.created_rule) == (False, False)
    assert (second.trunk_id, second.rule_id) == (first.trunk_id, first.rule_id)
    assert second.warnings == []
    assert len(fake_livekit.calls("CreateSIPInboundTrunk")) == 1
    assert len(fake_livekit.calls("CreateSIPDispatchRule")) == 1
    trunk = fake_livekit.inbound_trunks[0]
    assert trunk.name == "test-agent inbound" and list(trunk.numbers) == ["+14155550100"]
    rule = fake_livekit.dispatch_rules[0]
    assert rule.rule.dispatch_rule_individual.room_prefix == "call-"
    assert list(rule.trunk_ids) == [first.trunk_id]
    assert [a.agent_name for a in rule.room_config.agents] == ["test-agent"]
    # the rule names the deployment, so a worker serving several routes its calls here
    assert json.loads(rule.room_config.agents[0].metadata) == {
        "direction": "inbound",
        "deployment": config.base_dir.name,
    }

    inventory = await list_sip(creds)
    assert inventory.inbound_trunks[0]["numbers"] == ["+14155550100"]
    assert inventory.outbound_trunks[0]["id"] == "ST_outbound"
    assert inventory.dispatch_rules[0]["rule"] == "individual, prefix 'call-'"


async def test_changed_numbers_are_reported_not_changed(
    voicekit, telephony_config, fake_livekit, livekit_env
):
    deployment = voicekit.load(voicekit.write(telephony_config))
    config = deployment.config
    creds = resolve_credentials(config)
    await setup_inbound(config, telephony_settings(config), creds)
    other = voicekit.load(
        voicekit.write(telephony_config.replace("+14155550100", "+14155550199"), folder="b")
    )
    result = await setup_inbound(other.config, telephony_settings(other.config), creds)
    assert not result.created_trunk
    assert "+14155550199" in result.warnings[0]
    assert list(fake_livekit.inbound_trunks[0].numbers) == ["+14155550100"]


def test_cli_setup_inbound_and_list(voicekit, telephony_config, fake_livekit):
    runner = CliRunner()
    cli = build_cli()
    path = voicekit.write(telephony_config)
    env = fake_livekit.env()

    first = runner.invoke(cli, ["sip", "setup-inbound", str(path)], env=env)
    assert first.exit_code == 0, first.output
    assert first.output.count("created") == 2
    second = runner.invoke(cli, ["sip", "setup-inbound", str(path)], env=env)
    assert second.exit_code == 0 and second.output.count("reused") == 2
    assert len(fake_livekit.inbound_trunks) == 1 and len(fake_livekit.dispatch_rules) == 1

    listed = runner.invoke(cli, ["sip", "list", str(path)], env=env)
    assert listed.exit_code == 0, listed.output
    assert "+14155550100" in listed.output and "prefix 'call-'" in listed.output
    assert "agents=test-agent" in listed.output


def test_cli_setup_inbound_without_numbers_makes_no_request(
    voicekit, telephony_config, fake_livekit
):
    path = voicekit.write(telephony_config.replace('numbers = ["+14155550100"]', ""))
    result = CliRunner().invoke(
        build_cli(), ["sip", "setup-inbound", str(path)], env=fake_livekit.env()
    )
    assert result.exit_code == 2 and "no inbound numbers" in result.output
    assert fake_livekit.requests == []


def test_invalid_inbound_number_is_a_config_error(voicekit, telephony_config):
    path = voicekit.write(telephony_config.replace("+14155550100", "+1415"))
    result = CliRunner().invoke(build_cli(), ["check", str(path)])
    assert result.exit_code == 2
    assert "plugins.telephony.numbers" in result.output
