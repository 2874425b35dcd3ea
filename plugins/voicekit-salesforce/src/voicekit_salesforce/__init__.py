"""voicekit-salesforce: Salesforce Lead/Contact context before a call, a call Task after.

Enable with ``[plugins] enable = ["salesforce"]`` and a ``[plugins.salesforce]`` table
(:class:`~voicekit_salesforce.settings.SalesforceSettings`). Hooks:

* ``lookup_lead`` - the Lead or Contact whose ``Phone``/``MobilePhone`` holds the caller's
  number (SOQL), within ``lookup_timeout_seconds`` (default 1.5 s); past it the call goes
  on without CRM context and the report's notes say so.
* ``call_instructions`` - a short "CRM context" section for the agent's prompt.
* ``post_call`` - a completed call Task (``TaskSubtype=Call``) on the record and the Lead
  ``Status`` from ``lead_statuses``. Each created id is saved in the delivery state as it
  is returned; the Task is upserted by an External ID field (``task_external_id_field``)
  or looked up by ``CallObject`` before it is created, so a retry after a partial success
  never duplicates it (see :mod:`voicekit_salesforce.tasks`).
* ``register_lead_sources`` - ``salesforce``: a Campaign's members as a campaign's leads
  (``voicekit campaign create CONFIG --name N --from-source salesforce:CAMPAIGN_ID``; see
  :mod:`voicekit_salesforce.lead_source`).

Importing this module does not import simple-salesforce, requests or livekit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from voicekit_core import hookimpl

from .settings import NAME, SalesforceSettings

if TYPE_CHECKING:
    from voicekit_core import CallContext, CallReport, DeploymentConfig, Lead
    from voicekit_core.delivery_state import DeliveryState

__all__ = ["NAME", "SalesforceSettings"]
__version__ = "0.1.0"

logger = logging.getLogger("voicekit.salesforce")


@hookimpl
def register_settings(register: Any) -> None:
    """``[plugins.salesforce]`` is validated by :class:`SalesforceSettings`."""
    register(SalesforceSettings)


@hookimpl
def register_lead_sources(register: Any) -> None:
    """``salesforce:CAMPAIGN_ID``: the Leads and Contacts of a Salesforce Campaign, streamed."""
    from .lead_source import salesforce_campaign_source

    register(
        NAME,
        salesforce_campaign_source,
        description="a Salesforce Campaign's members: salesforce:CAMPAIGN_ID",
    )


@hookimpl
async def lookup_lead(phone: str, call: CallContext) -> Lead | None:
    """The Salesforce Lead/Contact for ``phone`` (E.164) as a Lead, or None.

    Runs SOQL on ``GET /services/data/vXX.X/query/`` (Lead, then Contact). Never raises:
    a miss, a timeout (``lookup_timeout_seconds``, login included), an outage or an auth
    failure returns None and adds a line to the call's notes saying why. Several
    matches: ``several_matches`` picks one and the note says which and how many matched.
    """
    from voicekit_core.lookups import LookupAbandoned, lookup_within_budget

    from .client import SalesforceError
    from .records import find_person, lead_from_record

    settings: SalesforceSettings = call.config.plugin_settings(NAME)
    try:
        match = await lookup_within_budget(
            call,
            NAME,
            find_person,
            phone,
            settings,
            budget=settings.lookup_timeout_seconds,
            errors=(SalesforceError,),
            base_dir=call.config.base_dir,
        )
    except LookupAbandoned:
        return None
    if match is None:
        call.note(f"salesforce: no Lead or Contact has phone {phone}")
        return None
    if match.count > 1:
        call.note(
            f"salesforce: {match.count} records have phone {phone}; using {match.object} "
            f"{match.id} (the {match.rule})"
        )
    call.data[NAME] = {"record_id": match.id, "object": match.object, "matches": match.count}
    return lead_from_record(match, phone, settings)


@hookimpl
def call_instructions(call: CallContext) -> str | None:
    """A "CRM context (Salesforce)" prompt section when the lead came from Salesforce."""
    lead = call.lead
    if lead is None or lead.source != NAME:
        return None
    kind = lead.extra.get("salesforce_object", "record")
    lines = ["## CRM context (Salesforce)"]
    who = ", ".join(p for p in (lead.name, lead.job_title) if p)
    if lead.company:
        who += f" at {lead.company}"
    if who:
        lines.append(f"- {kind}: {who}")
    if lead.status:
        lines.append(f"- Lead status: {lead.status}")
    if lead.owner:
        lines.append(f"- Record owner: {lead.owner}")
    if lead.timezone:
        lines.append(f"- Local timezone: {lead.timezone}")
    lines.append(f"- Salesforce {kind} id: {lead.crm_id}")
    return "\n".join(lines)


@hookimpl
async def post_call(
    report: CallReport, config: DeploymentConfig, delivery: DeliveryState
) -> dict[str, Any]:
    """Log ``report`` in Salesforce; see :func:`voicekit_salesforce.tasks.deliver`.

    Resumes from ``delivery`` and saves each created id as soon as Salesforce returns it.
    Returns the ids touched. Raises ``SalesforceError`` (``SalesforceAuthError`` for
    refused credentials, ``SalesforcePendingError`` while a create with a lost reply can be
    neither confirmed nor repeated); voicekit journals the delivery as failed and
    ``voicekit journal retry`` resumes it without duplicates.
    """
    from .tasks import deliver

    settings: SalesforceSettings = config.plugin_settings(NAME)
    state = LoopBoundState(delivery, asyncio.get_running_loop())
    return await asyncio.to_thread(deliver, report, settings, config.base_dir, state)


class LoopBoundState:
    """``delivery`` as seen from the worker thread the sync client runs in: ``get`` reads,
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
