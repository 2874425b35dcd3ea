"""Every hook a voicekit plugin can implement.

Implement a hook with ``@voicekit_core.hookimpl`` on a module-level function (or a
method of a plugin object) whose name is the hook's name. Argument names must match
the spec; you may accept fewer arguments than the spec offers. A misspelled hook name
fails when the deployment loads (``PluginManager.check_pending``).

Hooks marked *async-capable* may return an awaitable; voicekit awaits it.
Registration hooks receive a ``register`` callback, as in simonw/llm.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel

    from .calls import CallContext, CallReport
    from .campaigns.repo import Campaign
    from .campaigns.runner import CampaignEvent
    from .config import DeploymentConfig
    from .delivery_state import DeliveryState
    from .leads import Lead
    from .providers import ModelSelection, Provider

hookspec = pluggy.HookspecMarker("voicekit")
hookimpl = pluggy.HookimplMarker("voicekit")


@hookspec
def register_settings(register: Callable[[type[BaseModel]], None]) -> None:
    """Declare the pydantic model that validates this plugin's ``[plugins.NAME]`` table.

    Called once when a deployment loads. ``register(Model)`` takes a pydantic model class;
    the table is validated against it (unknown keys are errors) and the instance is
    available as ``config.plugin_settings(NAME)``. A plugin that registers no model
    accepts no table.
    """


@hookspec
def register_dispositions(register: Callable[..., None]) -> None:
    """Declare call outcomes this plugin sets (``ticket_created``, ``emergency_escalated``).

    Called once when a deployment loads. ``register(name, *, label="", success=False,
    description="")``: ``name`` is lowercase snake_case (at most 40 characters), ``label``
    is shown in reports, ``success`` counts it as a success in ``voicekit report``,
    ``description`` tells the model when ``end_call`` should use it. A deployment's
    ``[dispositions]`` table wins over a plugin for the same name. Declared outcomes are
    accepted by ``call.set_disposition``, ``end_call``, the retry table and the journal.
    """


@hookspec
def register_extraction(register: Callable[..., None]) -> None:
    """Name the pydantic model of the record the agent collects (``record_details``).

    Called once when a deployment loads. ``register(Model, *, name="", description="")``
    takes a pydantic model class whose fields become the tool's arguments (see
    :meth:`voicekit_core.extraction.ExtractionSchema.from_model`). One plugin at most,
    and not together with ``[extraction.fields]`` in the deployment file.
    """


@hookspec
def register_providers(register: Callable[[Provider], None]) -> None:
    """Add model providers (STT / LLM / TTS / realtime factories) by provider name.

    Called once when a deployment loads. ``register(provider)`` takes a
    :class:`voicekit_core.providers.Provider`; its ``name`` is what ``[models]`` strings such
    as ``"openai:gpt-4o-mini"`` refer to. Registering a name twice is an error.
    """


@hookspec(firstresult=True)
def select_models(call: CallContext, config: DeploymentConfig) -> ModelSelection | None:
    """Choose the models for one call.

    Called once per call before the session is built. Return a
    :class:`voicekit_core.providers.ModelSelection` or ``None`` to pass. The first non-None
    result wins; the built-in selection (realtime if its key is present, else the
    pipeline, else the offline ``scripted`` model) runs last.
    """


@hookspec
def register_tools(register: Callable[..., None], call: CallContext) -> None:
    """Add function tools to the agent for this call.

    Called once per call. ``register(tool, *, fallback=False)`` takes a livekit
    ``FunctionTool`` or ``RawFunctionTool`` (``@function_tool``; the function must be
    ``async``). Two plugins registering the same tool name is an error, unless one of them
    passed ``fallback=True``: a fallback tool is used only when no other plugin provides
    that name (the example's local calendar yields to the Teams plugin this way).
    """


@hookspec(firstresult=True)
def lookup_lead(phone: str, call: CallContext) -> Lead | Awaitable[Lead | None] | None:
    """Find the lead for a phone number (E.164, e.g. ``"+14155550123"``). *Async-capable.*

    Called once per call before the agent is built. Return a
    :class:`voicekit_core.leads.Lead` or ``None`` to pass; the first non-None result wins.
    CRM plugins run before the built-in CSV lead source (which is ``trylast``). A plugin
    that gives up (time budget, CRM outage) returns ``None`` and records why with
    ``call.note(...)``; it should not raise.
    """


@hookspec
def call_instructions(call: CallContext) -> str | None:
    """Return an extra section for the agent's instructions, or ``None``.

    Called once per call after the lead is known. Every non-empty answer is appended to
    the rendered deployment instructions, in plugin order (lead context, campaign script,
    CRM notes...).
    """


@hookspec(firstresult=True)
def before_dial(lead: Lead, call: CallContext) -> str | None:
    """Veto an outbound call: return a reason string to refuse it, ``None`` to allow.

    Called before any dialing request is made (DNC lists, calling hours in the lead's
    timezone, campaign caps). The first reason wins and no call is placed.
    """


@hookspec
def call_started(call: CallContext) -> Awaitable[None] | None:
    """The session has started and the caller is connected. *Async-capable.* Broadcast."""


@hookspec
def call_ended(call: CallContext, report: CallReport) -> Awaitable[None] | None:
    """The call is over and its report is written to the journal. *Async-capable.* Broadcast.

    Runs before ``post_call`` deliveries. Exceptions are logged, not raised.
    """


@hookspec
def post_call(
    report: CallReport, config: DeploymentConfig, delivery: DeliveryState
) -> Any | Awaitable[Any]:
    """Deliver a finished call somewhere (CRM logging, notifications). *Async-capable.*

    Called once per plugin per call, after the report is in the journal. Each plugin's
    delivery is journaled separately and *claimed* (a lease with owner and expiry) while
    it runs, so two ``voicekit journal retry`` processes never run the same delivery at
    once. An exception marks that plugin's delivery ``failed`` (the others still run) and
    a later retry calls the same implementation again with the same report.

    Deliveries must not duplicate on partial success: record each created object's id
    with ``delivery.save(key, id)`` (a :class:`voicekit_core.delivery_state.DeliveryState`,
    written through to the journal at once) and skip steps whose id is already saved;
    prefer the vendor's idempotent or unique-key form of a create. A returned JSON-able
    value is stored as the delivery's result. Gets ``config`` rather than the live call
    because re-delivery happens after the call is gone.
    """


@hookspec
def worker_prewarm(config: DeploymentConfig) -> None:
    """Warm heavy SDKs in a LiveKit job process before its first call. Broadcast.

    Called once per job process by ``voicekit start|dev`` (livekit's ``setup_fnc``), for
    deployments that enable the plugin. Import and touch what the first call would
    otherwise wait for (msgraph models, provider clients). Must not place calls.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``voicekit`` CLI (``@cli.command()``).

    Called when the CLI starts, for every *installed* plugin (entry point group
    ``voicekit``), before any deployment is loaded.
    """


@hookspec
def register_lead_sources(register: Callable[..., None]) -> None:
    """Offer lead lists a campaign can be created from (``voicekit campaign create CONFIG
    --name N --from-source NAME:REF``).

    Called when a campaign is created, for the deployment's plugins. ``register(name,
    source, *, description="")`` takes a source name (``"hubspot"``) and a callable
    ``source(config: DeploymentConfig, ref: str) -> Iterable[Lead | SourceItem]``: ``ref``
    is the text after the colon (a list id, a campaign id; ``""`` if none was given). The
    source streams: yield one :class:`~voicekit_core.leads.Lead` (E.164 phone) at a time,
    fetching page by page, or a :class:`voicekit_core.campaigns.lead_sources.SourceItem`
    naming the record and why it is not a lead (no phone, invalid number) or why it must not
    be called (the CRM's own do-not-call flag). Raise
    :class:`~voicekit_core.campaigns.lead_sources.LeadSourceError` for a failure that stops
    the import (bad ``ref``, refused credentials); nothing is imported then. Two plugins
    registering one name is an error.
    """


@hookspec
def campaign_event(event: CampaignEvent, campaign: Campaign) -> Awaitable[None] | None:
    """Something happened to a running campaign. *Async-capable.* Broadcast.

    Called by the campaign runner (``voicekit campaign run`` or ``serve``) in the dialer process:
    ``event.kind`` is ``"started"`` (this runner took the campaign's lease),
    ``"paused"`` (by a person or the circuit breaker; ``event.detail`` says why),
    ``"completed"`` (every lead is final), ``"canceled"``, ``"attempt_ended"`` (one
    dial attempt is over: ``event.lead_id``, ``event.attempt``, ``event.disposition``,
    ``event.action``), and for a lead not dialed ``"skipped"`` (final: DNC, timezone
    unknown) or ``"deferred"`` (calling hours, daily cap). ``event`` is a
    :class:`voicekit_core.campaigns.runner.CampaignEvent`; ``campaign`` is the
    :class:`voicekit_core.campaigns.repo.Campaign` row as it was then. Exceptions are
    logged, not raised; keep it quick, the dialer waits for it.
    """


@hookspec
def before_reply(call: CallContext, chat_ctx: Any, message: Any) -> Awaitable[None] | None:
    """The model is about to answer the caller. *Async-capable.* Broadcast.

    Called before each generation of a pipeline LLM (a realtime model has no such step
    and never calls it), only when some enabled plugin implements it. ``chat_ctx`` is
    livekit's ``ChatContext`` *for this generation only* (a copy: items added here are
    not kept in the conversation history); ``message`` is the caller's latest
    ``ChatMessage`` (``None`` before the caller has said anything). A reply that calls
    tools generates again and the hook runs again with the same ``message``: key any
    cache on ``message.id``. Insert context *before* ``message`` (per-turn knowledge
    pre-fetch) rather than after it. Exceptions are logged and the reply goes on; the
    caller waits for this hook, so bound its time.
    """


@hookspec
def register_embedders(register: Callable[..., None]) -> None:
    """Offer text embedders for knowledge search (used by ``voicekit-knowledge``).

    Called when the knowledge plugin builds or searches an index, for the deployment's
    plugins. ``register(name, factory, *, options=None, description="")``: ``name`` is
    what ``[plugins.knowledge.embedder] name`` refers to; ``options`` a pydantic model
    validating that table's ``options``; ``factory(options, config)`` returns an
    embedder: an object with ``id`` (a string that changes whenever the vectors would),
    ``embed_passages(texts: list[str])`` and ``embed_query(text: str)`` returning
    L2-normalized float32 numpy arrays of shape ``(len(texts), dim)`` and ``(dim,)``.
    It must never download a model at run time. Two plugins registering one name is an
    error.
    """
