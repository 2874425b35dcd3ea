"""Inbound calls: ``voicekit sip setup-inbound`` and ``voicekit sip list``.

Setup makes (or finds) two things, by name, so running it twice changes nothing:

* an inbound trunk named ``[plugins.telephony].inbound_trunk_name`` (default
  ``"<agent> inbound"``) with the configured ``numbers`` (Twirp ``SIP/ListSIPInboundTrunk``,
  ``SIP/CreateSIPInboundTrunk``);
* an *individual* dispatch rule (one room per caller, prefix ``room_prefix``, default
  ``call-``) on that trunk whose room configuration dispatches ``[agent].name`` with
  ``{"direction": "inbound", "deployment": <name>}`` metadata (``SIP/ListSIPDispatchRule``,
  ``SIP/CreateSIPDispatchRule``).

An existing trunk whose numbers differ from the config is reused and reported, not changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .credentials import LiveKitCredentials, bounded, livekit_api
from .errors import TelephonyConfigError
from .settings import TelephonySettings, deployment_name

if TYPE_CHECKING:
    from ..config import DeploymentConfig


@dataclass
class InboundSetup:
    """What :func:`setup_inbound` found or made. ``warnings`` are human sentences."""

    trunk_id: str
    rule_id: str
    created_trunk: bool
    created_rule: bool
    warnings: list[str] = field(default_factory=list)


@dataclass
class SipInventory:
    """Trunks and rules of the project: lists of dicts ready for printing."""

    inbound_trunks: list[dict[str, Any]]
    outbound_trunks: list[dict[str, Any]]
    dispatch_rules: list[dict[str, Any]]


async def setup_inbound(
    config: DeploymentConfig, settings: TelephonySettings, creds: LiveKitCredentials
) -> InboundSetup:
    """Find or create the inbound trunk and the dispatch rule for ``config``'s agent.

    Raises :class:`TelephonyConfigError` when no numbers are configured (before any
    request) and :class:`~.errors.LiveKitRequestError` when LiveKit is unreachable or
    refuses a request (one line, from :func:`.credentials.livekit_api`).
    """
    if not settings.numbers:
        raise TelephonyConfigError(
            'no inbound numbers: set numbers = ["+1..."] in [plugins.telephony]'
        )
    from livekit import api

    trunk_name = settings.trunk_name(config)
    rule_name = settings.rule_name(config)
    warnings: list[str] = []
    async with livekit_api(creds) as lk:
        trunks = (await bounded(lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()))).items
        trunk = next((t for t in trunks if t.name == trunk_name), None)
        created_trunk = trunk is None
        if trunk is None:
            trunk = await bounded(
                lk.sip.create_inbound_trunk(
                    api.CreateSIPInboundTrunkRequest(
                        trunk=api.SIPInboundTrunkInfo(
                            name=trunk_name, numbers=settings.numbers, krisp_enabled=settings.krisp
                        )
                    )
                )
            )
        elif sorted(trunk.numbers) != sorted(settings.numbers):
            warnings.append(
                f"trunk {trunk.sip_trunk_id} ({trunk_name}) has numbers "
                f"{', '.join(trunk.numbers) or 'none'}, config has "
                f"{', '.join(settings.numbers)}; not changed"
            )
        rules = (await bounded(lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest()))).items
        rule = next((r for r in rules if r.name == rule_name), None)
        created_rule = rule is None
        if rule is None:
            rule = await bounded(
                lk.sip.create_dispatch_rule(
                    api.CreateSIPDispatchRuleRequest(
                        dispatch_rule=_rule_info(config, settings, rule_name, trunk.sip_trunk_id)
                    )
                )
            )
        else:
            warnings += _rule_drift(rule, config, settings, trunk.sip_trunk_id)
    return InboundSetup(
        trunk.sip_trunk_id, rule.sip_dispatch_rule_id, created_trunk, created_rule, warnings
    )


def _rule_info(
    config: DeploymentConfig, settings: TelephonySettings, name: str, trunk_id: str
) -> Any:
    from livekit import api

    return api.SIPDispatchRuleInfo(
        name=name,
        trunk_ids=[trunk_id],
        rule=api.SIPDispatchRule(
            dispatch_rule_individual=api.SIPDispatchRuleIndividual(room_prefix=settings.room_prefix)
        ),
        room_config=api.RoomConfiguration(
            agents=[
                api.RoomAgentDispatch(
                    agent_name=config.agent.name,
                    metadata=json.dumps(
                        {"direction": "inbound", "deployment": deployment_name(config)}
                    ),
                )
            ]
        ),
    )


def _rule_drift(
    rule: Any, config: DeploymentConfig, settings: TelephonySettings, trunk_id: str
) -> list[str]:
    problems = []
    prefix = rule.rule.dispatch_rule_individual.room_prefix
    if rule.rule.WhichOneof("rule") != "dispatch_rule_individual" or prefix != settings.room_prefix:
        problems.append(f"is not an individual rule with room prefix {settings.room_prefix!r}")
    agents = [a.agent_name for a in rule.room_config.agents]
    if config.agent.name not in agents:
        problems.append(f"does not dispatch agent {config.agent.name!r} (dispatches {agents})")
    if rule.trunk_ids and trunk_id not in rule.trunk_ids:
        problems.append(f"does not cover trunk {trunk_id}")
    return [
        f"dispatch rule {rule.sip_dispatch_rule_id} ({rule.name}) {p}; not changed"
        for p in problems
    ]


async def list_sip(creds: LiveKitCredentials) -> SipInventory:
    """Every inbound trunk, outbound trunk and dispatch rule of the project.

    Twirp ``SIP/ListSIPInboundTrunk``, ``SIP/ListSIPOutboundTrunk``, ``SIP/ListSIPDispatchRule``
    (one after the other: a failure is reported once). Raises
    :class:`~.errors.LiveKitRequestError` when LiveKit is unreachable or refuses.
    """
    from livekit import api

    async with livekit_api(creds) as lk:
        inbound = await bounded(lk.sip.list_inbound_trunk(api.ListSIPInboundTrunkRequest()))
        outbound = await bounded(lk.sip.list_outbound_trunk(api.ListSIPOutboundTrunkRequest()))
        rules = await bounded(lk.sip.list_dispatch_rule(api.ListSIPDispatchRuleRequest()))
    return SipInventory(
        inbound_trunks=[
            {"id": t.sip_trunk_id, "name": t.name, "numbers": list(t.numbers)}
            for t in inbound.items
        ],
        outbound_trunks=[
            {"id": t.sip_trunk_id, "name": t.name, "numbers": list(t.numbers), "address": t.address}
            for t in outbound.items
        ],
        dispatch_rules=[_describe_rule(r) for r in rules.items],
    )


def _describe_rule(rule: Any) -> dict[str, Any]:
    kind = rule.rule.WhichOneof("rule") or ""
    detail = ""
    if kind == "dispatch_rule_individual":
        detail = f"individual, prefix {rule.rule.dispatch_rule_individual.room_prefix!r}"
    elif kind == "dispatch_rule_direct":
        detail = f"direct, room {rule.rule.dispatch_rule_direct.room_name!r}"
    elif kind == "dispatch_rule_callee":
        detail = f"callee, prefix {rule.rule.dispatch_rule_callee.room_prefix!r}"
    return {
        "id": rule.sip_dispatch_rule_id,
        "name": rule.name,
        "rule": detail,
        "trunks": list(rule.trunk_ids) or ["all"],
        "agents": [a.agent_name for a in rule.room_config.agents],
    }
