"""One call from start to journal: hooks, session, report, post-call delivery.

:func:`open_call` is used by ``voicekit simulate``, the worker and the testing kit::

    async with open_call(deployment, "+14155550123") as run:
        await run.user_says("Yes, speaking")
    report = run.report      # journaled, post-call delivered
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from .builder import (
    build_agent,
    build_session,
    check_before_dial,
    greeting_text,
    prepare_call,
    room_options,
)
from .calls import CallContext, CallReport, Disposition, ToolCallRecord, TranscriptEntry, utcnow
from .delivery import deliver_all
from .leads import Lead, lead_as_context
from .metrics import call_metrics

if TYPE_CHECKING:
    from livekit import rtc
    from livekit.agents import Agent, AgentSession, RunResult
    from livekit.agents import llm as lk_llm

    from .deployment import Deployment

logger = logging.getLogger("voicekit.calls")


class CallRun:
    """A running call: its context, agent and session, and at the end its report."""

    def __init__(self, call: CallContext, agent: Agent, session: AgentSession):
        self.call = call
        self.agent = agent
        self.session = session
        self.report: CallReport | None = None
        self._started = False
        self._owns_models = True

    @property
    def deployment(self) -> Deployment:
        return self.call.deployment

    @property
    def ended(self) -> bool:
        """True once a tool asked to hang up (``end_call``)."""
        return self.call.end_requested

    async def start(
        self, *, room: rtc.Room | None = None, greet: bool = True, **start_options: Any
    ) -> None:
        """Start the session (in ``room`` if given), fire ``call_started``, say the greeting."""
        if room is not None:
            start_options["room"] = room
            start_options.setdefault("room_options", room_options(self.call.config.models))
        await self.session.start(self.agent, **start_options)
        self._started = True
        await self.deployment.pm.abroadcast("call_started", call=self.call)
        if greet:
            await self.greet()

    async def greet(self) -> None:
        """Say the configured greeting, or let the model open when there is none.

        Text sessions and sessions with a TTS speak the text as written; a realtime model
        without a TTS is asked to say it.
        """
        text = greeting_text(self.call)
        if not text:
            await self.session.generate_reply()
        elif self.session.tts is not None or self.call.mode == "simulated":
            await self.session.say(text)
        else:
            await self.session.generate_reply(instructions=f"Greet the caller with: {text}")

    async def user_says(self, text: str) -> RunResult:
        """One caller turn in text mode; returns livekit's ``RunResult`` (``.expect``)."""
        return await self.session.run(user_input=text)

    async def finish(self) -> CallReport:
        """Close the session, write the report to the journal, then run ``call_ended``
        and every ``post_call`` delivery. Returns the report with delivery statuses."""
        if self.report is not None:
            return self.report
        if self._started:
            await self.session.aclose()
        await self._close_models()
        items = self.session.history.items
        report = build_report(self.call, items, utcnow())
        report.metrics = call_metrics(self.session, items, self.call.config.models.prices)
        deployment = self.deployment
        deployment.journal.record_call(report, deployment.post_call_plugins())
        logger.info("call %s journaled: %s", report.call_id, report.disposition.value)
        await deployment.pm.abroadcast("call_ended", call=self.call, report=report)
        report.post_call = await deliver_all(deployment, report)
        self.report = report
        return report

    async def _close_models(self) -> None:
        # AgentSession.aclose() leaves the models open; ours own HTTP/WebSocket sessions.
        if not self._owns_models:
            return
        for model in (self.session.llm, self.session.stt, self.session.tts):
            close = getattr(model, "aclose", None)
            if close is not None:
                try:
                    await close()
                except Exception:
                    logger.debug("closing %r failed", model, exc_info=True)


async def create_call(
    deployment: Deployment,
    phone: str,
    *,
    direction: Literal["outbound", "inbound"] = "outbound",
    mode: Literal["simulated", "live"] = "simulated",
    lead: Lead | None = None,
    llm: lk_llm.LLM | None = None,
    text_only: bool = True,
    offline: bool = False,
    call_id: str | None = None,
    check_veto: bool = True,
    **session_options: Any,
) -> CallRun:
    """Look up the lead, run the before-dial veto (outbound, unless ``check_veto`` is
    False because the dialer already ran it), build agent and session.

    Raises ``CallVetoed`` (nothing is built or journaled) or ``ValueError`` for a bad phone.
    """
    call = await prepare_call(
        deployment, phone, direction=direction, mode=mode, lead=lead, call_id=call_id
    )
    if direction == "outbound" and check_veto:
        check_before_dial(call)
    agent = build_agent(call)
    session = build_session(call, text_only=text_only, llm=llm, offline=offline, **session_options)
    run = CallRun(call, agent, session)
    run._owns_models = llm is None  # a caller-supplied LLM is the caller's to close
    return run


@asynccontextmanager
async def open_call(deployment: Deployment, phone: str, **options: Any) -> AsyncIterator[CallRun]:
    """Create and start a call (text mode by default); finish it on exit, even on error.

    Options are those of :func:`create_call`, plus ``greet`` (default True).
    """
    greet = options.pop("greet", True)
    run = await create_call(deployment, phone, **options)
    try:
        await run.start(greet=greet)
        yield run
    except BaseException:
        if run.call.disposition is None:
            run.call.set_disposition(Disposition.FAILED, "the call runner raised an error")
        await run.finish()
        raise
    await run.finish()


# -- report --------------------------------------------------------------------------


def _at(timestamp: float | None) -> datetime:
    return datetime.fromtimestamp(timestamp, timezone.utc) if timestamp else utcnow()


def build_report(call: CallContext, items: list[Any], ended_at: datetime) -> CallReport:
    """A CallReport from the call context and the session's chat history items."""
    transcript: list[TranscriptEntry] = []
    tool_calls: list[ToolCallRecord] = []
    pending: dict[str, Any] = {}
    for item in items:
        if item.type == "message" and item.role in ("user", "assistant"):
            text = item.text_content or ""
            if text:
                transcript.append(
                    TranscriptEntry(
                        role=item.role,
                        text=text,
                        at=_at(item.created_at),
                        interrupted=item.interrupted,
                    )
                )
        elif item.type == "function_call":
            pending[item.call_id] = item
        elif item.type == "function_call_output":
            request = pending.pop(item.call_id, None)
            tool_calls.append(
                ToolCallRecord(
                    name=item.name,
                    arguments=_arguments(request.arguments if request else "{}"),
                    output=item.output,
                    is_error=item.is_error,
                    at=_at(item.created_at),
                )
            )
    disposition = call.disposition or _inferred_disposition(call)
    return CallReport(
        call_id=call.call_id,
        agent_name=call.config.agent.name,
        direction=call.direction,
        mode=call.mode,
        phone=call.phone,
        lead=lead_as_context(call.lead) if call.lead else None,
        started_at=call.started_at,
        ended_at=ended_at,
        duration_seconds=round((ended_at - call.started_at).total_seconds(), 3),
        transcript=transcript,
        tool_calls=tool_calls,
        disposition=disposition,
        disposition_reason=call.disposition_reason,
        qualification=call.qualification,
        models=call.selection.describe() if call.selection else {},
        notes=list(call.notes),
        data=_json_safe(call.data),
    )


def _inferred_disposition(call: CallContext) -> Disposition:
    if call.qualification and call.qualification.get("status") == "qualified":
        return Disposition.QUALIFIED
    return Disposition.COMPLETED


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


def _json_safe(data: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(data, default=str))
