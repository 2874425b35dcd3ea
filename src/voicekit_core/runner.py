"""One call from start to journal: hooks, session, report, post-call delivery.

:func:`open_call` is used by ``voicekit simulate``, the worker and the testing kit::

    async with open_call(deployment, "+14155550123") as run:
        await run.user_says("Yes, speaking")
    report = run.report      # journaled, post-call delivered
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
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
from .delivery import deliver_claims, journal_finished
from .leads import Lead, lead_as_context
from .metrics import call_metrics
from .redaction import redact

if TYPE_CHECKING:
    from livekit import rtc
    from livekit.agents import Agent, AgentSession, RunResult
    from livekit.agents import llm as lk_llm

    from .deployment import Deployment

logger = logging.getLogger("voicekit.calls")


class ModelFailure(Exception):
    """A model or provider failed for good (auth, network, rate limit): the call ended
    with disposition ``failed`` and ``reason`` (one line, secrets redacted)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class CallRun:
    """A running call: its context, agent and session, and at the end its report.

    From :meth:`start` on, the call is in the journal as ``in_progress`` and its row is
    updated as the conversation goes (each message and tool result), so a process killed
    mid-call leaves what happened so far for ``voicekit journal retry`` to recover.
    """

    def __init__(self, call: CallContext, agent: Agent, session: AgentSession):
        self.call = call
        self.agent = agent
        self.session = session
        self.report: CallReport | None = None
        self.failure: str | None = None
        self._started = False
        self._journaled = False
        self._owns_models = True
        self._dirty = asyncio.Event()
        self._stopping = False
        self._tracker: asyncio.Task[None] | None = None
        self.extra_metrics: dict[str, Any] = {}
        """Merged into ``report.metrics`` at the end (``voice``: the line's latencies)."""

    @property
    def deployment(self) -> Deployment:
        return self.call.deployment

    @property
    def ended(self) -> bool:
        """True once a tool asked to hang up (``end_call``) or a model failed for good."""
        return self.call.end_requested or self.failure is not None

    async def start(
        self, *, room: rtc.Room | None = None, greet: bool = True, **start_options: Any
    ) -> None:
        """Journal the call as ``in_progress``, start the session (in ``room`` if given),
        fire ``call_started``, say the greeting.

        Raises :class:`~voicekit_core.journal.JournalError` or
        :class:`~voicekit_core.store.StoreError` if the journal cannot be written (before
        anything is said to anyone).
        """
        link = self.call.data.get("campaign") or {}
        self.deployment.journal.start_call(
            self._report_so_far(),
            campaign_id=link.get("id"),
            attempt_id=link.get("attempt_id"),
        )
        self._journaled = True
        self.session.on("conversation_item_added", self._mark_dirty)
        self.session.on("function_tools_executed", self._mark_dirty)
        self.session.on("error", self._on_session_error)
        self._tracker = asyncio.create_task(self._track(), name=f"journal {self.call.call_id}")
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
        try:
            if not text:
                await self.session.generate_reply()
            elif self.session.tts is not None or self.call.mode == "simulated":
                await self.session.say(text)
            else:
                await self.session.generate_reply(instructions=f"Greet the caller with: {text}")
        except Exception as exc:
            if not _is_api_error(exc):
                raise
            self._fail(exc)

    async def user_says(self, text: str) -> RunResult:
        """One caller turn in text mode; returns livekit's ``RunResult`` (``.expect``).

        Raises :class:`ModelFailure` when a model fails for good (the call is then
        ``failed``; :func:`open_call` finishes and journals it and does not re-raise).
        """
        if self.failure is not None:
            raise ModelFailure(self.failure)
        try:
            return await self.session.run(user_input=text)
        except Exception as exc:
            if not _is_api_error(exc):
                raise
            self._fail(exc)
            raise ModelFailure(self.failure or "model failure") from None

    async def finish(self) -> CallReport:
        """Close the session, write the report to the journal, then run ``call_ended``
        and every ``post_call`` delivery. Returns the report with delivery statuses.

        Raises :class:`~voicekit_core.delivery.ReportSpilled` (after setting
        :attr:`report`) when the journal could not be written: the report is in a spill
        file that ``voicekit journal retry`` imports.
        """
        if self.report is not None:
            return self.report
        await self._stop_tracker()
        if self._started:
            await self.session.aclose()
        items = self.session.history.items
        if self.call.extraction is not None and self.failure is None:
            from .extraction_fill import fill_after_call

            await fill_after_call(self.call, self.session.llm, items)
        await self._close_models()
        report = build_report(self.call, items, utcnow())
        report.metrics = call_metrics(self.session, items, self.call.config.models.prices)
        if self.extra_metrics:  # what the STT heard is the caller's text: redacted too
            report.metrics.update(json.loads(redact(json.dumps(self.extra_metrics, default=str))))
        deployment = self.deployment
        self.report = report
        claims = journal_finished(deployment, report)
        await deployment.pm.abroadcast("call_ended", call=self.call, report=report)
        report.post_call = await deliver_claims(deployment, report, claims)
        return report

    # -- journal while the call runs --------------------------------------------------

    def _report_so_far(self) -> CallReport:
        items = self.session.history.items if self._started else []
        return build_report(self.call, items, utcnow())

    def _mark_dirty(self, *_: Any) -> None:
        self._dirty.set()

    async def _track(self) -> None:
        """Write the report so far when something happened, and renew the call's lease.

        Stops when :meth:`_stop_tracker` sets ``_stopping`` (a flag, not only a cancel:
        Python < 3.12's ``wait_for`` can swallow a cancellation that races a wake-up).
        """
        from .journal import CALL_LEASE_SECONDS

        journal = self.deployment.journal
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), timeout=CALL_LEASE_SECONDS / 3)
            self._dirty.clear()
            if self._stopping:
                return  # finish() writes the final report
            try:
                report = self._report_so_far()
                await asyncio.to_thread(
                    journal.update_call, report, disposition=self.call.disposition
                )
            except Exception as exc:  # the final write (or the spill file) still follows
                logger.warning("call %s: journal update failed: %s", self.call.call_id, exc)

    async def _stop_tracker(self) -> None:
        tracker, self._tracker = self._tracker, None
        if tracker is None:
            return
        self._stopping = True
        self._dirty.set()
        done, _ = await asyncio.wait({tracker}, timeout=30)
        if not done:  # stuck in a store write: give up on it, the final write follows
            tracker.cancel()

    # -- model failures -----------------------------------------------------------------

    def _on_session_error(self, event: Any) -> None:
        error = getattr(event, "error", None)
        if error is not None and not getattr(error, "recoverable", True):
            self._fail(getattr(error, "error", error), label=getattr(error, "label", ""))

    def _fail(self, exc: BaseException, label: str = "") -> None:
        if self.failure is None:
            self.failure = describe_model_failure(exc, label)
            self.call.set_disposition(Disposition.FAILED, self.failure)
            logger.error("call %s: %s", self.call.call_id, self.failure)
            self._dirty.set()

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


def _is_api_error(exc: BaseException) -> bool:
    from livekit.agents import APIError  # livekit is imported only once a call exists

    return isinstance(exc, APIError)


def describe_model_failure(exc: BaseException, label: str = "") -> str:
    """One line saying why a model failed: authentication, rate limit, network, or the
    provider's own message; secrets redacted. ``label`` names the model class."""
    from livekit.agents import APIConnectionError

    status = getattr(exc, "status_code", None)
    who = label.rsplit(".", 2)[-2] if label.count(".") >= 2 else (label or "model")
    if status in (401, 403):
        kind = f"authentication failed (HTTP {status}): check the API key"
    elif status == 429:
        kind = "rate limited (HTTP 429): slow down or raise the quota"
    elif isinstance(exc, APIConnectionError):
        kind = "network error: the provider could not be reached"
    elif status:
        kind = f"provider error (HTTP {status})"
    else:
        kind = "provider error"
    message = str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
    return redact(f"{who}: {kind}: {message}")


async def create_call(
    deployment: Deployment,
    phone: str | None,
    *,
    direction: Literal["outbound", "inbound"] = "outbound",
    mode: Literal["simulated", "live"] = "simulated",
    lead: Lead | None = None,
    llm: lk_llm.LLM | None = None,
    text_only: bool = True,
    offline: bool = False,
    call_id: str | None = None,
    check_veto: bool = True,
    campaign: dict[str, str] | None = None,
    clock: Callable[[], datetime] | None = None,
    channel: Literal["phone", "web"] = "phone",
    **session_options: Any,
) -> CallRun:
    """Look up the lead, run the before-dial veto (outbound, unless ``check_veto`` is
    False because the dialer already ran it), build agent and session.

    ``campaign`` (``{"id": campaign id, "attempt_id": ...}``) links the call to a
    campaign attempt: kept in ``report.data["campaign"]`` and on the journal row.
    ``clock`` (returns aware UTC datetimes) is the call's "now" for tools such as
    ``schedule_callback``; a simulated campaign passes its sped-up clock. ``channel="web"``
    is a web-widget visitor, who may have no number (``phone`` None; see
    :func:`~voicekit_core.builder.prepare_call`).

    Raises ``CallVetoed`` (nothing is built or journaled) or ``ValueError`` for a bad phone.
    """
    call = await prepare_call(
        deployment,
        phone,
        direction=direction,
        mode=mode,
        lead=lead,
        call_id=call_id,
        channel=channel,
    )
    if campaign:
        call.data["campaign"] = dict(campaign)
    if clock is not None:
        call.clock = clock
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
    async with run_started(run, greet=greet) as started:
        yield started


@asynccontextmanager
async def run_started(run: CallRun, *, greet: bool = True) -> AsyncIterator[CallRun]:
    """Start a call made by :func:`create_call` and finish it on exit, even on error
    (the second half of :func:`open_call`, for callers that look at the agent first)."""
    try:
        await run.start(greet=greet)
    except BaseException:
        if run._journaled:  # started in the journal: it must end there too
            await _finish_after_error(run)
        raise
    try:
        yield run
    except ModelFailure:
        await run.finish()  # the failure is the call's outcome, recorded in its report
        return
    except BaseException:
        await _finish_after_error(run)
        raise
    await run.finish()


async def finish_unstarted(run: CallRun) -> None:
    """Close the models of a call made by :func:`create_call` that will not be started
    (nothing was journaled or said)."""
    await run._close_models()


async def _finish_after_error(run: CallRun) -> None:
    if run.call.disposition is None:
        run.call.set_disposition(Disposition.FAILED, "the call runner raised an error")
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
    report = CallReport(
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
        extracted=call.extraction.record() if call.extraction else None,
        models=call.selection.describe() if call.selection else {},
        notes=list(call.notes),
        data=_json_safe(call.data),
    )
    if call.extraction is not None:
        report.data["extraction"] = call.extraction.summary()
    # one choke point for every copy of the report (journal, CRM, screen, files): a secret
    # the model or a caller said, or an SDK put in an error, leaves only redacted
    return CallReport.model_validate_json(redact(report.model_dump_json()))


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
