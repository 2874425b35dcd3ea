"""Test calls: a person talks to the deployment's agent by typing, in the browser.

Each test call is a real text-mode ``AgentSession`` (:func:`voicekit_core.runner.open_call`,
no room, no dialing, no ``before_dial`` veto) run by an asyncio task of the dashboard
process. It is journaled like any call, with ``report.data["test_call"]`` set so reports
can leave it out, and the browser follows it through the journal like a live call
(:mod:`.live_feed`). Models are chosen as for any call: the offline ``scripted`` model
when no provider key is set.

:class:`TestCallManager` (``dash.services["testcalls"]``) holds the sessions: at most
``limit`` running at once, each ended after ``idle_seconds`` without a caller turn, all
ended when the dashboard stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from voicekit_core.calls import CallContext, new_call_id, utcnow
from voicekit_core.leads import Lead, split_name
from voicekit_core.phones import PhonePolicy
from voicekit_core.redaction import redact

from .live_feed import TEST_CALL_KEY

if TYPE_CHECKING:
    from voicekit_core.calls import CallReport
    from voicekit_core.deployment import Deployment
    from voicekit_core.runner import CallRun

logger = logging.getLogger("voicekit.dashboard.testcalls")

#: The number a test call uses when none is given (a reserved-for-fiction 555-01xx line).
TEST_PHONE = "+12025550143"
#: Caller turns that may wait while the agent answers; more are refused.
MAX_PENDING_TURNS = 3
MAX_TURN_CHARS = 2000
_KEEP_ENDED = 20  # ended sessions kept for their page and stream (their calls stay journaled)
_HANGUP_WAIT_SECONDS = 30.0


class TestCallError(Exception):
    """A test call cannot do what was asked; ``status`` is the HTTP status to answer."""

    __test__ = False  # not a pytest class

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass
class TestCall:
    """One test call: ``call_id`` (its journal id), who it plays (``lead``), who started
    it (``user``), which models run (``models``: the report's ``models`` field), and once
    it ended its ``disposition`` and ``reason`` (a failure's reason, secrets redacted)."""

    __test__ = False

    call_id: str
    phone: str
    lead: Lead | None
    user: str
    started_at: datetime = field(default_factory=utcnow)
    models: dict[str, Any] = field(default_factory=dict)
    turns: int = 0
    disposition: str | None = None
    reason: str = ""
    ended_at: datetime | None = None
    inbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue, repr=False)
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    @property
    def lead_name(self) -> str:
        return self.lead.name if self.lead else ""

    @property
    def company(self) -> str:
        return self.lead.company if self.lead else ""


def test_lead(
    deployment: Deployment, *, name: str = "", company: str = "", phone: str = ""
) -> tuple[str, Lead | None]:
    """The E.164 number and lead a test call plays from the optional form fields.

    With a name or a company the lead is built from them (for the ``{lead.*}``
    placeholders); with only a phone the deployment's lead source is asked as for a real
    call; with nothing, :data:`TEST_PHONE` and no lead. Raises ``ValueError`` naming the
    field and value for a bad phone or a field too long.
    """
    for label, value in (("name", name), ("company", company)):
        if len(value) > 200:
            raise ValueError(f"{label}: at most 200 characters (got {len(value)})")
    raw = phone.strip()
    if raw:
        try:
            e164 = PhonePolicy.from_config(deployment.config).parse(raw).e164
        except ValueError as exc:
            raise ValueError(f"phone {raw[:40]!r}: {exc}") from None
    else:
        e164 = TEST_PHONE
    if not (name.strip() or company.strip()):
        return e164, None
    first, last = split_name(name)
    lead = Lead(
        first_name=first,
        last_name=last,
        company=company.strip(),
        phone=e164,
        source="dashboard-test-call",
    )
    return e164, lead


def expected_models(deployment: Deployment) -> dict[str, Any]:
    """What model selection picks for a call now (``{"llm": [...], "reason": ...}`` as in
    a report's ``models``); ``{}`` if a plugin cannot answer without a real call."""
    from voicekit_core.builder import select_models

    call = CallContext(deployment=deployment, phone=TEST_PHONE, mode="simulated")
    try:
        return select_models(call).describe()
    except Exception as exc:  # a plugin that needs a lead or a room: the call will tell
        logger.debug("model preview failed: %s", exc)
        return {}


def describe_models(models: dict[str, Any]) -> str:
    """What a typed test call runs: ``"scripted"``, ``"openai:gpt-realtime"`` or an LLM
    chain (``"openai:gpt-4o-mini, google:gemini-2.5-flash"``). A text session uses no STT
    or TTS, so the selected ones (the local speech models, say) are not shown."""
    chain = models.get("realtime") or models.get("llm") or []
    return ", ".join(chain) or "chosen when the call starts"


class TestCallManager:
    """The test calls of one dashboard process (see the module docstring)."""

    __test__ = False

    def __init__(self, deployment: Deployment, *, limit: int = 4, idle_seconds: float = 600.0):
        self.deployment = deployment
        self.limit = limit
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, TestCall] = {}

    def running(self) -> list[TestCall]:
        return [s for s in self.sessions.values() if s.running]

    def get(self, call_id: str) -> TestCall:
        """Raises :class:`TestCallError` (404) for an id this process does not know."""
        try:
            return self.sessions[call_id]
        except KeyError:
            raise TestCallError(f"no test call {call_id[:80]!r}", 404) from None

    async def start(self, *, phone: str, lead: Lead | None, user: str) -> TestCall:
        """Start a test call and return once the session runs (the greeting follows).

        Raises :class:`TestCallError` (429) when ``limit`` test calls already run, or
        whatever starting the call raised (``StoreError``, a model error): a call that
        got as far as the journal is finished there as ``failed``.
        """
        if len(self.running()) >= self.limit:
            raise TestCallError(
                f"{self.limit} test calls are already running; hang one up first", 429
            )
        test = TestCall(call_id=new_call_id(), phone=phone, lead=lead, user=user)
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        test.task = asyncio.create_task(
            self._session(test, ready), name=f"test call {test.call_id}"
        )
        self.sessions[test.call_id] = test
        try:
            await ready
        except BaseException:
            self.sessions.pop(test.call_id, None)
            raise
        self._forget_old()
        return test

    def say(self, call_id: str, text: str) -> TestCall:
        """Queue one caller turn. Raises :class:`TestCallError`: 404 unknown id, 409 the
        call has ended, 429 too many turns waiting for the agent."""
        test = self.get(call_id)
        if not test.running:
            raise TestCallError("this test call has ended; start a new one", 409)
        if test.inbox.qsize() >= MAX_PENDING_TURNS:
            raise TestCallError("the agent is still answering; wait for it", 429)
        test.inbox.put_nowait(text)
        return test

    async def hangup(self, call_id: str) -> TestCall:
        """End the call after the turn in progress (queued turns are dropped) and wait
        until it is journaled. Raises :class:`TestCallError` (404) for an unknown id."""
        test = self.get(call_id)
        if test.running and test.task is not None:
            with contextlib.suppress(asyncio.QueueEmpty):
                while True:
                    test.inbox.get_nowait()
            test.inbox.put_nowait(None)
            await asyncio.wait({test.task}, timeout=_HANGUP_WAIT_SECONDS)
        return test

    async def aclose(self) -> None:
        """Hang up every running test call (cancel those that do not end in time)."""
        running = self.running()
        for test in running:
            test.inbox.put_nowait(None)
        tasks = {t.task for t in running if t.task is not None}
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=_HANGUP_WAIT_SECONDS)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)

    # -- the session task ----------------------------------------------------------------

    async def _session(self, test: TestCall, ready: asyncio.Future[None]) -> None:
        from voicekit_core.runner import open_call

        run: CallRun | None = None
        try:
            async with open_call(
                self.deployment,
                test.phone,
                mode="simulated",
                lead=test.lead,
                call_id=test.call_id,
                check_veto=False,  # nothing is dialed: the tester is the callee
                greet=False,  # after the test-call mark, so the journal has it from line one
            ) as run:
                run.call.data[TEST_CALL_KEY] = {"by": test.user, "source": "dashboard"}
                test.lead = run.call.lead if test.lead is None else test.lead
                test.models = run.call.selection.describe() if run.call.selection else {}
                ready.set_result(None)
                await run.greet()
                await self._converse(test, run)
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except Exception as exc:
            if not ready.done():
                ready.set_exception(exc)
                return
            test.reason = redact(f"the test call stopped: {type(exc).__name__}: {exc}")
            logger.exception("test call %s failed", test.call_id)
        finally:
            test.ended_at = utcnow()
            report = run.report if run is not None else None
            if report is not None:
                self._record_end(test, report)

    async def _converse(self, test: TestCall, run: CallRun) -> None:
        """Play the tester's turns until a hangup, the agent hanging up, a model failure
        (:class:`~voicekit_core.runner.ModelFailure`, left to ``open_call``) or idleness."""
        while not run.ended:
            try:
                text = await asyncio.wait_for(test.inbox.get(), timeout=self.idle_seconds)
            except asyncio.TimeoutError:
                run.call.note(f"test call ended after {self.idle_seconds:g} s without a turn")
                return
            if text is None:
                run.call.note("the tester hung up")
                return
            test.turns += 1
            await run.user_says(text)

    @staticmethod
    def _record_end(test: TestCall, report: CallReport) -> None:
        test.disposition = report.disposition.value
        test.reason = test.reason or report.disposition_reason
        test.models = report.models or test.models

    def _forget_old(self) -> None:
        ended = [s for s in self.sessions.values() if not s.running]
        ended.sort(key=lambda s: s.ended_at or s.started_at)
        for old in ended[: max(len(ended) - _KEEP_ENDED, 0)]:
            del self.sessions[old.call_id]
