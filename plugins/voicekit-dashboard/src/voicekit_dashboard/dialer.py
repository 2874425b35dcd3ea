"""Who dials the dashboard's campaigns, and what its campaign buttons do.

Two dialer modes (``voicekit dashboard --dialer``, :attr:`DashboardState.dialer`):

* ``"simulated"``: this process runs a
  :class:`~voicekit_core.campaigns.supervisor.CampaignSupervisor` with offline simulated
  calls (campaign time ``speed`` times faster than real time), kept as
  ``dash.services["dialer"]`` (an :class:`InProcessDialer`). Pressing Start dials the
  campaign here within a poll (the button wakes the supervisor at once).
* ``"external"``: the buttons only change the campaign's state in the store; a
  ``voicekit campaign serve`` process (or ``voicekit campaign run``) dials it. The
  campaign page shows which dialer holds the campaign's runner lease, if any.

Actions (:func:`apply_action`): ``start``, ``pause``, ``resume``, ``cancel`` and
``redial`` (unanswered leads). Each is one store transaction checked against
:data:`voicekit_core.campaigns.repo.TRANSITIONS` and logged in the campaign's activity log
with a reason naming the user. A transition that is not allowed raises
:class:`ActionRefused` (the routes answer 409 with its message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from voicekit_core.calls import utcnow
from voicekit_core.campaigns import repo
from voicekit_core.store.tables import campaigns

if TYPE_CHECKING:
    from voicekit_core.campaigns.supervisor import CampaignSupervisor
    from voicekit_core.store import Store

    from .web import DashboardState

logger = logging.getLogger("voicekit.dashboard.dialer")

#: Key of the in-process dialer in ``DashboardState.services``.
SERVICE = "dialer"
#: Seconds the shutdown waits for simulated calls in flight before canceling them.
SHUTDOWN_GRACE_SECONDS = 5.0
#: Seconds between the in-process supervisor's looks at the store.
POLL_SECONDS = 1.0


class ActionRefused(Exception):
    """A campaign action that the campaign's state does not allow (HTTP 409); the
    message names the campaign, its state and why."""


@dataclass
class InProcessDialer:
    """The simulated dialer of one dashboard process: a supervisor and its task."""

    supervisor: CampaignSupervisor
    task: asyncio.Task[None]
    loop: asyncio.AbstractEventLoop

    @property
    def alive(self) -> bool:
        return not self.task.done()

    def wake(self) -> None:
        """Look at the store now (a campaign was just started or resumed). Safe from any
        thread (sync routes run in a worker thread)."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.supervisor.wake)

    async def aclose(self, timeout: float = SHUTDOWN_GRACE_SECONDS) -> None:
        """Stop dialing; calls in flight get ``timeout`` seconds, then are canceled (their
        leads are reconciled by the next dialer)."""
        await self.supervisor.aclose(timeout=timeout)
        with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
            await asyncio.wait_for(self.task, timeout=timeout)


async def start_dialer(dash: DashboardState) -> InProcessDialer | None:
    """Start the simulated dialer when ``dash.dialer == "simulated"`` (stored in
    ``dash.services["dialer"]``); None in ``"external"`` mode."""
    if dash.dialer != "simulated":
        return None
    from voicekit_core.campaigns.runner import RunnerOptions
    from voicekit_core.campaigns.supervisor import CampaignSupervisor

    supervisor = CampaignSupervisor(
        dash.deployment,
        mode="simulated",
        speed=dash.speed,
        # paced: calls ring and callers speak in campaign time, so the Live page shows them
        options=RunnerOptions(tick_seconds=0.25, poll_seconds=0.1, simulated_pace=True),
        poll_seconds=POLL_SECONDS,
    )
    task = asyncio.create_task(_supervise(supervisor), name="dashboard dialer")
    dialer = InProcessDialer(supervisor, task, asyncio.get_running_loop())
    dash.services[SERVICE] = dialer
    logger.info("dashboard: dialing started campaigns in this process (simulated calls)")
    return dialer


async def _supervise(supervisor: CampaignSupervisor) -> None:
    try:
        await supervisor.run()
    except Exception:  # the page says the dialer stopped; the log says why
        logger.exception("dashboard dialer stopped")


async def stop_dialer(dash: DashboardState) -> None:
    """Stop the in-process dialer, if any (the app's shutdown)."""
    dialer = dash.services.pop(SERVICE, None)
    if dialer is not None:
        await dialer.aclose()


def in_process_dialer(dash: DashboardState) -> InProcessDialer | None:
    return dash.services.get(SERVICE)


def wake(dash: DashboardState) -> None:
    """Have the in-process dialer (if any) look at the store now."""
    dialer = in_process_dialer(dash)
    if dialer is not None:
        dialer.wake()


# -- runner lease ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RunnerLease:
    """Who dials a campaign now: the ``owner`` of its runner lease (a process id such as
    ``host:pid``) until ``expires_at`` (UTC); ``active`` when it has not expired."""

    owner: str | None
    expires_at: datetime | None

    @property
    def active(self) -> bool:
        return bool(self.owner and self.expires_at and self.expires_at >= utcnow())


def runner_lease(store: Store, campaign_id: str) -> RunnerLease:
    """The campaign's runner lease (both None when no dialer ever held it)."""
    with store.read() as db:
        row = db.execute(
            select(campaigns.c.runner_owner, campaigns.c.runner_expires_at).where(
                campaigns.c.id == campaign_id
            )
        ).first()
    return RunnerLease(None, None) if row is None else RunnerLease(*row)


# -- actions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """One button: the state it moves to, the states it may start from, the verb logged."""

    target: str
    allowed_from: frozenset[str]
    verb: str


ACTIONS: dict[str, Action] = {
    "start": Action("running", frozenset({"draft", "scheduled"}), "started"),
    "pause": Action("paused", frozenset({"running", "scheduled"}), "paused"),
    "resume": Action("running", frozenset({"paused"}), "resumed"),
    "cancel": Action(
        "canceled", frozenset({"draft", "scheduled", "running", "paused"}), "canceled"
    ),
}
#: Every action name, the buttons' order.
ACTION_NAMES = (*ACTIONS, "redial")

_HINTS = {
    ("start", "paused"): "use Resume",
    ("start", "completed"): "use Redial unanswered to call the unanswered leads again",
    ("resume", "draft"): "use Start",
    ("resume", "running"): "it is not paused",
}


@dataclass(frozen=True)
class ActionResult:
    """What an action did: the campaign afterwards and a line for people."""

    campaign: repo.Campaign
    message: str


def allowed_actions(state: str) -> list[str]:
    """The actions a campaign in ``state`` allows (for the buttons)."""
    names = [name for name, action in ACTIONS.items() if state in action.allowed_from]
    if state != "canceled":
        names.append("redial")
    return names


def apply_action(store: Store, campaign_id: str, name: str, user: str) -> ActionResult:
    """Apply action ``name`` to campaign ``campaign_id`` on behalf of ``user``.

    ``cancel`` also cancels every lead not yet final and not in flight (calls in flight
    finish; a running dialer cancels the rest). ``redial`` reopens the final leads nobody
    answered (:func:`voicekit_core.campaigns.redial.redial`; a completed campaign runs
    again). Raises ``KeyError`` for an unknown action, :class:`ActionRefused` when the
    campaign's state does not allow it, and
    :class:`~voicekit_core.campaigns.repo.CampaignError` for an unknown campaign.
    """
    from voicekit_core.campaigns.runner import cancel_due_leads

    by = f"{user} (dashboard)"
    if name == "redial":
        return _redial(store, campaign_id, by)
    action = ACTIONS[name]
    with store.write() as db:
        current = repo.get_campaign(db, campaign_id)
        if current.state not in action.allowed_from:
            hint = _HINTS.get((name, current.state))
            raise ActionRefused(
                f"campaign {current.name!r} is {current.state}; it cannot be {action.verb}"
                + (f" ({hint})" if hint else "")
            )
        reason = f"{action.verb} by {by}"
        updated = repo.set_state(db, current.id, action.target, reason)
        swept = cancel_due_leads(db, current.id) if name == "cancel" else 0
    message = f"{action.verb}: {current.state} -> {updated.state}"
    if swept:
        message += f"; {swept} lead(s) canceled"
    return ActionResult(updated, message)


def _redial(store: Store, campaign_id: str, by: str) -> ActionResult:
    from voicekit_core.campaigns.redial import redial

    campaign = repo.find_campaign(store, campaign_id)
    if campaign.state == "canceled":
        raise ActionRefused(f"campaign {campaign.name!r} is canceled; its leads cannot be redialed")
    result = redial(store, campaign.id, by=by)
    message = f"{result.reopened} unanswered lead(s) reopened"
    if result.kept_dnc:
        message += f"; {result.kept_dnc} on a do-not-call list kept closed"
    if result.reopened_campaign:
        message += "; the campaign runs again"
    return ActionResult(repo.find_campaign(store, campaign.id), message)


__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "ActionRefused",
    "ActionResult",
    "InProcessDialer",
    "RunnerLease",
    "allowed_actions",
    "apply_action",
    "in_process_dialer",
    "runner_lease",
    "start_dialer",
    "stop_dialer",
    "wake",
]
