"""Re-delivery of one plugin's post-call delivery from the dashboard, through the core's
claim/lease machinery (:meth:`Journal.claim_deliveries` then
:func:`voicekit_core.delivery.deliver_claim`), so it never runs beside a ``voicekit
journal retry`` or the worker that finished the call.

The core re-runs only undelivered (``pending`` / ``failed``) deliveries: a delivered one
is never re-queued (that would create the CRM records twice), so asking for it is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from voicekit_core.delivery import deliver_claim
from voicekit_core.store.tables import deliveries

from .calls import delivery_row, get_call

if TYPE_CHECKING:
    from voicekit_core.deployment import Deployment


class RedeliverRefused(Exception):
    """Why a re-delivery did not run: ``status`` 404 (unknown call or delivery) or 409
    (already delivered, held by another process, report unreadable); ``detail`` says so."""

    def __init__(self, status: int, detail: str):
        self.status = status
        self.detail = detail
        super().__init__(detail)


def _delivery(deployment: Deployment, call_id: str, plugin: str) -> dict[str, Any] | None:
    with deployment.store.read() as db:
        row = db.execute(
            select(deliveries).where(deliveries.c.call_id == call_id, deliveries.c.plugin == plugin)
        ).first()
    return delivery_row(row) if row else None


async def redeliver(deployment: Deployment, call_id: str, plugin: str) -> dict[str, Any]:
    """Claim the delivery of ``plugin`` for call ``call_id`` and run it once now.

    Returns the delivery afterwards (see :func:`.calls.delivery_row`) with ``delivered``
    (bool) and ``error`` (redacted) of this attempt. Raises :class:`RedeliverRefused`.
    """
    record = get_call(deployment.store, call_id)
    if record is None:
        raise RedeliverRefused(404, f"no call {call_id!r} in the journal")
    current = next((d for d in record.deliveries if d["plugin"] == plugin), None)
    if current is None:
        raise RedeliverRefused(404, f"call {call_id} has no delivery by plugin {plugin!r}")
    if current["status"] == "delivered":
        raise RedeliverRefused(409, _already_delivered(plugin, current))
    if record.report is None:
        raise RedeliverRefused(409, f"cannot re-deliver call {call_id}: {record.report_error}")
    others = [d["id"] for d in record.deliveries if d["plugin"] != plugin]
    claims = deployment.journal.claim_deliveries(call_ids=[call_id], exclude=others, limit=1)
    if not claims:  # delivered or leased meanwhile, by the worker or a journal retry
        now = _delivery(deployment, call_id, plugin) or current
        if now["status"] == "delivered":
            raise RedeliverRefused(409, _already_delivered(plugin, now))
        until = now["leased_until"]
        raise RedeliverRefused(
            409,
            f"the {plugin} delivery of call {call_id} is being run by another process"
            + (f" (its lease ends {until:%Y-%m-%d %H:%M:%S} UTC)" if until else "")
            + "; try again later",
        )
    report = record.report
    report.post_call = deployment.journal.deliveries(call_id)
    outcome = await deliver_claim(deployment, report, claims[0])
    after = _delivery(deployment, call_id, plugin) or current
    return {**after, "delivered": outcome.delivered, "attempt_error": outcome.error}


def _already_delivered(plugin: str, delivery: dict[str, Any]) -> str:
    return (
        f"the {plugin} delivery is already delivered (after {delivery['attempts']} attempt(s)); "
        "voicekit does not re-run a delivered delivery, so nothing is created twice"
    )
