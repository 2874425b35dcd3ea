"""A campaign's results: leads by state and disposition, attempts, rates and cost.

Definitions (counted over the campaign's ``attempts`` rows; a ``vetoed`` attempt never
rang and is not dialed):

* **dialed**: attempts that reached the carrier;
* **connected**: dialed attempts a person answered (not busy, no answer, declined,
  invalid number, failed, voicemail);
* **pick-up rate** = connected / dialed; **voicemail rate** = voicemail / dialed;
* **qualified**: attempts that ended ``qualified`` or ``meeting_booked``;
  **conversion** = qualified / connected; **booking rate** = meeting_booked / dialed;
* **cost**: the sum of ``metrics.estimated_cost_usd`` of the attempts' journaled reports
  (USD, from ``[models.prices]``).

Everything is computed in SQL (a few aggregate queries), so a 100,000-lead campaign is
summarised without loading its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Float, cast, func, select

from ..calls import Disposition
from ..store import Store
from ..store.tables import attempts, calls, campaign_leads

#: Dispositions of a dialed attempt nobody (no person) answered.
NOT_CONNECTED = frozenset(
    {
        Disposition.BUSY.value,
        Disposition.NO_ANSWER.value,
        Disposition.DECLINED.value,
        Disposition.INVALID_NUMBER.value,
        Disposition.FAILED.value,
        Disposition.VOICEMAIL.value,
        Disposition.VETOED.value,
    }
)
QUALIFIED = frozenset({Disposition.QUALIFIED.value, Disposition.MEETING_BOOKED.value})


@dataclass
class CampaignSummary:
    """The numbers of one campaign (see the module docstring). Rates are 0..1."""

    campaign_id: str
    leads: int = 0
    lead_states: dict[str, int] = field(default_factory=dict)
    final_dispositions: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    dialed: int = 0
    open_attempts: int = 0
    attempt_dispositions: dict[str, int] = field(default_factory=dict)
    connected: int = 0
    voicemail: int = 0
    qualified: int = 0
    booked: int = 0
    requeued: int = 0
    total_cost_usd: float = 0.0

    @property
    def pickup_rate(self) -> float:
        return self.connected / self.dialed if self.dialed else 0.0

    @property
    def voicemail_rate(self) -> float:
        return self.voicemail / self.dialed if self.dialed else 0.0

    @property
    def conversion(self) -> float:
        """Qualified / connected."""
        return self.qualified / self.connected if self.connected else 0.0

    @property
    def booking_rate(self) -> float:
        """Meetings booked / dialed."""
        return self.booked / self.dialed if self.dialed else 0.0

    @property
    def cost_per_dial_usd(self) -> float:
        return self.total_cost_usd / self.dialed if self.dialed else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-able, rates rounded to 4 places, cost to 6."""
        return {
            "campaign_id": self.campaign_id,
            "leads": self.leads,
            "lead_states": self.lead_states,
            "final_dispositions": self.final_dispositions,
            "attempts": self.attempts,
            "dialed": self.dialed,
            "open_attempts": self.open_attempts,
            "attempt_dispositions": self.attempt_dispositions,
            "connected": self.connected,
            "voicemail": self.voicemail,
            "qualified": self.qualified,
            "booked": self.booked,
            "requeued": self.requeued,
            "pickup_rate": round(self.pickup_rate, 4),
            "voicemail_rate": round(self.voicemail_rate, 4),
            "conversion": round(self.conversion, 4),
            "booking_rate": round(self.booking_rate, 4),
            "total_cost_usd": round(self.total_cost_usd, 6),
            "cost_per_dial_usd": round(self.cost_per_dial_usd, 6),
        }


def campaign_summary(store: Store, campaign_id: str) -> CampaignSummary:
    """Summarise campaign ``campaign_id`` from the store (one read transaction)."""
    summary = CampaignSummary(campaign_id)
    lead, attempt = campaign_leads, attempts
    with store.read() as db:
        for state, disposition, count in db.execute(
            select(lead.c.state, lead.c.disposition, func.count())
            .where(lead.c.campaign_id == campaign_id)
            .group_by(lead.c.state, lead.c.disposition)
        ):
            summary.leads += count
            summary.lead_states[state] = summary.lead_states.get(state, 0) + count
            if state == "done" and disposition:
                summary.final_dispositions[disposition] = (
                    summary.final_dispositions.get(disposition, 0) + count
                )
        for disposition, spent, count in db.execute(
            select(attempt.c.disposition, attempt.c.spent, func.count())
            .where(attempt.c.campaign_id == campaign_id)
            .group_by(attempt.c.disposition, attempt.c.spent)
        ):
            summary.attempts += count
            if disposition is None:
                summary.open_attempts += count
                continue
            summary.attempt_dispositions[disposition] = (
                summary.attempt_dispositions.get(disposition, 0) + count
            )
            if disposition == Disposition.VETOED.value:
                continue
            summary.dialed += count
            summary.requeued += count if not spent else 0
            if disposition not in NOT_CONNECTED:
                summary.connected += count
            if disposition == Disposition.VOICEMAIL.value:
                summary.voicemail += count
            if disposition in QUALIFIED:
                summary.qualified += count
            if disposition == Disposition.MEETING_BOOKED.value:
                summary.booked += count
        cost = _cost(store.dialect)
        total = db.execute(
            select(func.coalesce(func.sum(cost), 0.0))
            .select_from(attempt.join(calls, calls.c.call_id == attempt.c.call_id))
            .where(attempt.c.campaign_id == campaign_id)
        ).scalar()
    summary.total_cost_usd = float(total or 0.0)
    return summary


def _cost(dialect: str) -> Any:
    """SQL for a report's ``metrics.estimated_cost_usd`` (NULL when absent)."""
    if dialect == "postgresql":
        document = cast(calls.c.report_json, JSON)
        return cast(document["metrics"]["estimated_cost_usd"].as_string(), Float)
    return cast(func.json_extract(calls.c.report_json, "$.metrics.estimated_cost_usd"), Float)


__all__ = ["NOT_CONNECTED", "QUALIFIED", "CampaignSummary", "campaign_summary"]
