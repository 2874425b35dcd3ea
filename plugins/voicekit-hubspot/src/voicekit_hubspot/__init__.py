"""voicekit-hubspot: HubSpot CRM context before a call and call logging after it.

Enable with ``[plugins] enable = ["hubspot"]`` and a ``[plugins.hubspot]`` table
(:class:`~voicekit_hubspot.settings.HubSpotSettings`). Hooks:

* ``lookup_lead`` - the contact whose ``phone``/``mobilephone`` holds the caller's number,
  within ``lookup_timeout_seconds`` (default 1.5 s); past it the call goes on without CRM
  context and the report's notes say so.
* ``call_instructions`` - a short "CRM context" section for the agent's prompt.
* ``post_call`` - a call engagement, a BANT note, contact property updates and a
  follow-up task. Each created id is saved in the delivery state as it is returned and
  each record is looked up before it is created, so a retry after a partial success
  resumes without duplicating (see :mod:`voicekit_hubspot.engagements`).
* ``register_lead_sources`` - ``hubspot``: a contact list as a campaign's leads
  (``voicekit campaign create CONFIG --name N --from-source hubspot:LIST_ID``; see
  :mod:`voicekit_hubspot.lead_source`).

Importing this module does not import the HubSpot SDK or livekit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from voicekit_core import hookimpl

from .settings import NAME, HubSpotSettings

if TYPE_CHECKING:
    from voicekit_core import CallContext, CallReport, DeploymentConfig, Lead
    from voicekit_core.delivery_state import DeliveryState

__all__ = ["NAME", "HubSpotSettings"]
__version__ = "0.1.0"

logger = logging.getLogger("voicekit.hubspot")


@hookimpl
def register_settings(register: Any) -> None:
    """``[plugins.hubspot]`` is validated by :class:`HubSpotSettings`."""
    register(HubSpotSettings)


@hookimpl
def register_lead_sources(register: Any) -> None:
    """``hubspot:LIST_ID``: the contacts of a HubSpot list (Lists API v3), streamed."""
    from .lead_source import hubspot_list_source

    register(NAME, hubspot_list_source, description="a HubSpot contact list: hubspot:LIST_ID")


@hookimpl
def worker_prewarm(config: Any) -> None:
    """Load the HubSpot SDK in the job process before its first call."""
    from .client import warm_client

    warm_client(config.plugin_settings(NAME))


@hookimpl
async def lookup_lead(phone: str, call: CallContext) -> Lead | None:
    """The HubSpot contact for ``phone`` (E.164) as a Lead, or None.

    Calls ``POST /crm/v3/objects/contacts/search``. Never raises: a miss, a timeout
    (``lookup_timeout_seconds``), an outage or an auth failure returns None and adds a line
    to the call's notes (``call.note``) saying why. Several matches: the rule in
    ``several_matches`` picks one and the note says which and how many matched.
    """
    from voicekit_core.lookups import LookupAbandoned, lookup_within_budget

    from .client import HubSpotError, warm_client
    from .contacts import find_contact, lead_from_contact

    settings: HubSpotSettings = call.config.plugin_settings(NAME)
    # the SDK's first import is local work, not HubSpot's answer time: outside the budget
    await asyncio.to_thread(warm_client, settings)
    try:
        match = await lookup_within_budget(
            call,
            NAME,
            find_contact,
            phone,
            settings,
            budget=settings.lookup_timeout_seconds,
            errors=(HubSpotError,),
        )
    except LookupAbandoned:
        return None
    if match is None:
        call.note(f"hubspot: no contact has phone {phone}")
        return None
    if match.count > 1:
        call.note(
            f"hubspot: {match.count} contacts have phone {phone}; using contact {match.id} "
            f"(the {match.rule})"
        )
    call.data[NAME] = {"contact_id": match.id, "matches": match.count}
    return lead_from_contact(match.contact, phone)


@hookimpl
def call_instructions(call: CallContext) -> str | None:
    """A "CRM context (HubSpot)" prompt section when the lead came from HubSpot."""
    lead = call.lead
    if lead is None or lead.source != NAME:
        return None
    lines = ["## CRM context (HubSpot)"]
    who = ", ".join(p for p in (lead.name, lead.job_title) if p)
    if lead.company:
        who += f" at {lead.company}"
    if who:
        lines.append(f"- Contact: {who}")
    stage = lead.extra.get("hubspot_lifecyclestage")
    if stage:
        lines.append(f"- Lifecycle stage: {stage}")
    status = lead.extra.get("hubspot_hs_lead_status")
    if status:
        lines.append(f"- Lead status: {status}")
    if lead.owner:
        lines.append(f"- Contact owner (HubSpot owner id): {lead.owner}")
    if lead.timezone:
        lines.append(f"- Local timezone: {lead.timezone}")
    lines.append(f"- HubSpot contact id: {lead.crm_id}")
    return "\n".join(lines)


@hookimpl
async def post_call(
    report: CallReport, config: DeploymentConfig, delivery: DeliveryState
) -> dict[str, Any]:
    """Log ``report`` in HubSpot; see :func:`voicekit_hubspot.engagements.deliver`.

    Resumes from ``delivery`` (the ids an earlier attempt saved) and saves each created id
    as soon as HubSpot returns it. Returns the created/updated ids. Raises
    ``HubSpotError`` (``HubSpotAuthError`` for a rejected token, ``HubSpotPendingError``
    while a create with a lost reply cannot be confirmed yet); voicekit journals the
    delivery as failed and ``voicekit journal retry`` resumes it without duplicates.
    """
    from .engagements import deliver

    settings: HubSpotSettings = config.plugin_settings(NAME)
    state = LoopBoundState(delivery, asyncio.get_running_loop())
    return await asyncio.to_thread(deliver, report, settings, state)


class LoopBoundState:
    """``delivery`` as seen from the worker thread the sync SDK runs in: ``get`` reads,
    ``save`` runs on the event loop's thread (where the journal's connection lives) and
    returns once the step is persisted (re-raising what the journal raised)."""

    def __init__(self, delivery: DeliveryState, loop: asyncio.AbstractEventLoop):
        self._delivery = delivery
        self._loop = loop

    def get(self, key: str, default: Any = None) -> Any:
        return self._delivery.get(key, default)

    def save(self, key: str, value: Any) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._delivery.save(key, value)
            return

        async def persist() -> None:
            self._delivery.save(key, value)

        asyncio.run_coroutine_threadsafe(persist(), self._loop).result()
