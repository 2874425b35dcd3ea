"""Live campaign attempts: ``telephony.dial()`` against LiveKit, outcome from the journal.

An attempt dials with the campaign's deterministic room name as both room and call id
(``vk-<campaign>-<lead>-<n>``) and job metadata carrying the campaign and attempt ids.
What happens next:

* the callee does not answer (busy, no answer, declined, SIP 503...): ``dial()`` journals
  the call with the mapped disposition and returns; that is the outcome;
* the callee answers: the dispatched agent (``voicekit start`` on any machine) runs the call
  and journals the report under the same call id, in the same store. The runner polls the
  journal (one query per ``poll_seconds`` for every call in flight) until the row is
  ``finished`` or ``interrupted``. A row still ``in_progress`` whose lease expired (the
  worker died) is recovered as interrupted. No row at all after
  ``report_timeout_seconds``: if LiveKit no longer has the room the call never reported
  back and the attempt fails; after ``max_call_seconds`` the room is deleted (hang up)
  and the attempt fails;
* LiveKit refuses for a non-SIP reason (a 503 from a proxy, a timeout): if the room exists
  the call may be live and is waited for as above, else the attempt failed with a trunk
  error (the circuit breaker counts those).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from ..calls import Disposition, utcnow
from ..errors import CallVetoed
from ..store.tables import calls
from .runner import AttemptJob, AttemptOutcome, RunnerOptions, journaled_outcome, outcome_of_report

if TYPE_CHECKING:
    from ..deployment import Deployment
    from ..store import Store

logger = logging.getLogger("voicekit.campaigns.live")


class LiveAttempts:
    """Places campaign attempts through LiveKit (see the module docstring).

    Credentials and ``[plugins.telephony] outbound_trunk_id`` are checked when it is
    created: raises :class:`~voicekit_core.telephony.errors.TelephonyConfigError`.
    """

    mode = "live"

    def __init__(self, deployment: Deployment, store: Store, options: RunnerOptions):
        from ..telephony.credentials import resolve_credentials
        from ..telephony.errors import TelephonyConfigError
        from ..telephony.settings import telephony_settings

        self.deployment = deployment
        self.store = store
        self.options = options
        self.settings = telephony_settings(deployment.config)
        if not self.settings.outbound_trunk_id:
            raise TelephonyConfigError(
                "no outbound trunk: set outbound_trunk_id in [plugins.telephony] "
                "(see `voicekit sip list`)"
            )
        self.creds = resolve_credentials(deployment.config)
        self.trunk_id = self.settings.outbound_trunk_id
        self.watcher = JournalWatcher(store, deployment, poll_seconds=options.poll_seconds)

    async def place(self, job: AttemptJob) -> AttemptOutcome:
        """Dial ``job``'s lead and wait for the outcome."""
        from ..telephony.dial import dial
        from ..telephony.errors import LiveKitRequestError

        room = job.attempt.room_name
        try:
            await self._other_vetoes(job)
            result = await dial(
                job.deployment or self.deployment,
                job.lead.phone,
                creds=self.creds,
                settings=self.settings,
                lead=job.lead.lead,
                call_id=job.attempt.call_id,
                room_name=room,
                campaign=job.link,
                check_veto=False,  # compliance ran in the attempt's transaction; others above
            )
        except CallVetoed as veto:
            return AttemptOutcome(Disposition.VETOED, f"{veto.plugin}: {veto.reason}", vetoed=True)
        except LiveKitRequestError as exc:
            if await self.room_exists(room):
                logger.warning("%s: %s; the room exists, waiting for the call", room, exc)
                await job.mark_in_call()
                return await self.watcher.wait(job.attempt.call_id, self)
            return AttemptOutcome(
                Disposition.FAILED,
                str(exc),
                sip_status=exc.status if exc.status in (429, 503) else None,
                sip_reason=str(exc),
                trunk_error=True,
            )
        if not result.answered:
            telephony = result.call.data.get("telephony") or {}
            status = telephony.get("sip_status_code")
            if result.report is not None:
                outcome = outcome_of_report(result.report)
            else:
                outcome = AttemptOutcome(result.disposition or Disposition.FAILED, result.detail)
            outcome.sip_status = int(status) if status is not None else outcome.sip_status
            outcome.sip_reason = result.detail
            outcome.detail = result.detail
            return outcome
        ended = await asyncio.to_thread(journaled_outcome, self.store, job.attempt.call_id)
        if ended is not None:  # the call is already over (the worker journaled it)
            return ended
        await job.mark_in_call()
        return await self.watcher.wait(job.attempt.call_id, self)

    async def _other_vetoes(self, job: AttemptJob) -> None:
        """Run every ``before_dial`` hook but the built-in compliance plugin's, whose rules
        the runner has just applied itself (same function, in the transaction that
        recorded the attempt). Raises ``CallVetoed`` with the first reason."""
        from ..builder import prepare_call
        from ..builtins.compliance import NAME as COMPLIANCE

        pm = self.deployment.pm
        impls = [i for i in pm.impls_in_call_order("before_dial") if i.plugin_name != COMPLIANCE]
        if not impls:
            return
        call = await prepare_call(
            job.deployment or self.deployment,
            job.lead.phone,
            mode="live",
            lead=job.lead.lead,
            call_id=job.attempt.call_id,
        )
        call.room_name = job.attempt.room_name
        call.data["campaign"] = job.link
        for impl in impls:
            reason = pm.call_impl(impl, lead=call.lead, call=call)
            if reason:
                raise CallVetoed(impl.plugin_name, str(reason))

    async def adopt(self, job: AttemptJob) -> AttemptOutcome:
        """Wait for a call another (dead) dialer placed."""
        return await self.watcher.wait(job.attempt.call_id, self)

    async def room_exists(self, room_name: str) -> bool | None:
        """Ask LiveKit whether the room exists (None when LiveKit cannot be asked)."""
        from livekit import api

        from ..telephony.credentials import bounded, livekit_api
        from ..telephony.errors import TelephonyError

        try:
            async with livekit_api(self.creds) as lk:
                reply = await bounded(lk.room.list_rooms(api.ListRoomsRequest(names=[room_name])))
        except TelephonyError as exc:
            logger.warning("could not ask LiveKit about room %s: %s", room_name, exc)
            return None
        return any(room.name == room_name for room in reply.rooms)

    async def hang_up(self, room_name: str) -> None:
        """Delete the room (the SIP participant and the agent leave); best effort."""
        from livekit import api

        from ..telephony.credentials import bounded, livekit_api
        from ..telephony.errors import TelephonyError

        with contextlib.suppress(TelephonyError, api.ServerError):
            async with livekit_api(self.creds) as lk:
                await bounded(lk.room.delete_room(api.DeleteRoomRequest(room=room_name)))

    async def aclose(self) -> None:
        await self.watcher.aclose()


class JournalWatcher:
    """Waits for journal rows of calls in flight, with one query per poll for all of them.

    :meth:`wait` returns the call's outcome once its row is ``finished`` or
    ``interrupted``; see the module docstring for the timeouts (seconds).
    """

    def __init__(self, store: Store, deployment: Deployment, *, poll_seconds: float = 0.25):
        self.store = store
        self.deployment = deployment
        self.poll_seconds = poll_seconds
        self._waiting: dict[str, asyncio.Future[str | None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def wait(self, call_id: str, live: LiveAttempts) -> AttemptOutcome:
        """The outcome of ``call_id`` once the journal has it (or a timeout's failure)."""
        options = live.options
        started = time.monotonic()
        checked_room = False
        status = await self._next_status(call_id)
        while True:
            if status in ("finished", "interrupted"):
                outcome = await asyncio.to_thread(journaled_outcome, self.store, call_id)
                if outcome is not None:
                    return outcome
            elif status == "stale":  # the worker running it died: its lease expired
                self.deployment.journal.recover_interrupted(self.deployment.post_call_plugins())
                status = self._statuses([call_id]).get(call_id)
                continue
            elapsed = time.monotonic() - started
            if elapsed >= options.max_call_seconds:
                await live.hang_up(call_id)
                return AttemptOutcome(
                    Disposition.FAILED,
                    f"no final report after {options.max_call_seconds:g} s; hung up",
                )
            if elapsed >= options.report_timeout_seconds and not checked_room and status is None:
                if await live.room_exists(call_id) is False:
                    return AttemptOutcome(
                        Disposition.FAILED,
                        "the call never reported back: no journal row and no room after "
                        f"{options.report_timeout_seconds:g} s",
                    )
                checked_room = True
            status = await self._next_status(call_id)

    def _statuses(self, call_ids: list[str]) -> dict[str, str]:
        """``{call_id: status}`` (``stale`` for an ``in_progress`` row whose lease
        expired); ids without a row are absent."""
        with self.store.read() as db:
            rows = db.execute(
                select(calls.c.call_id, calls.c.status, calls.c.lease_expires_at).where(
                    calls.c.call_id.in_(call_ids)
                )
            ).all()
        now = utcnow()
        return {
            row.call_id: "stale"
            if row.status == "in_progress"
            and row.lease_expires_at is not None
            and row.lease_expires_at < now
            else row.status
            for row in rows
        }

    async def _next_status(self, call_id: str) -> str | None:
        """The call's status at the shared poller's next look at the journal."""
        loop = asyncio.get_running_loop()
        future = self._waiting.get(call_id)
        if future is None or future.done():
            future = loop.create_future()
            self._waiting[call_id] = future
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._poll(), name="journal watcher")
        return await asyncio.shield(future)

    async def _poll(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.poll_seconds)
            waiting, self._waiting = self._waiting, {}
            try:
                statuses = await asyncio.to_thread(self._statuses, list(waiting))
            except Exception as exc:  # the store is busy or down: try again next poll
                logger.warning("journal poll failed: %s", exc)
                statuses = {}
            for call_id, future in waiting.items():
                if not future.done():
                    future.set_result(statuses.get(call_id))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for future in self._waiting.values():
            if not future.done():
                future.cancel()
        self._waiting.clear()


__all__ = ["JournalWatcher", "LiveAttempts"]
