"""Redial: give the leads nobody answered another go.

``voicekit campaign redial CONFIG CAMPAIGN`` (and :func:`redial_unanswered`) moves the
campaign's final leads whose disposition is unanswered (``no_answer``, ``busy``,
``voicemail`` by default) back to ``ready``, and reopens a ``completed`` campaign to
``running`` (a runner or ``voicekit campaign serve`` then dials them). What is kept:

* attempt counters: a lead that had used up ``[dialer.retry] max_attempts`` gets one more
  attempt per redial (its retry table does not start over); the daily cap still counts
  every attempt;
* the DNC lists: a lead whose number is now on the global list or the campaign's own is
  not reopened (it stays ``done``); compliance is checked again at dial time anyway;
* ``do_not_call``, ``wrong_number`` and ``invalid_number`` are never reopened.

Every redial is one transaction and one activity-log line (``redial``) with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update

from ..calls import Disposition, utcnow
from ..store import Store
from ..store.tables import campaign_leads
from . import repo
from .dnc import find_dnc
from .retry import ALWAYS_FINAL

#: Dispositions reopened by default: nobody (or a machine) answered.
UNANSWERED = ("no_answer", "busy", "voicemail")
_BATCH = 500


@dataclass(frozen=True)
class RedialResult:
    """What a redial did: ``reopened`` leads back to ``ready``, ``kept_dnc`` leads left
    closed because their number is on a DNC list, and the campaign's ``state`` after it
    (``reopened_campaign``: it was ``completed`` and is ``running`` again)."""

    campaign_id: str
    reopened: int
    kept_dnc: int
    state: str
    reopened_campaign: bool


def redial_unanswered(
    store: Store, campaign_id: str, dispositions: Iterable[str] = UNANSWERED, *, by: str = ""
) -> int:
    """Reopen the campaign's final leads that ended with one of ``dispositions`` (see the
    module docstring) and a completed campaign; returns how many leads were reopened.
    ``campaign_id`` is an id or a name; ``by`` is recorded in the log's reason.

    Raises :class:`~.repo.CampaignError` for an unknown or canceled campaign, an unknown
    disposition or one that is never called again.
    """
    return redial(store, campaign_id, dispositions, by=by).reopened


def redial(
    store: Store, campaign_id: str, dispositions: Iterable[str] = UNANSWERED, *, by: str = ""
) -> RedialResult:
    """:func:`redial_unanswered`, returning the whole :class:`RedialResult`."""
    wanted = _dispositions(dispositions)
    lead = campaign_leads
    with store.write() as db:
        campaign = repo.get_campaign(db, campaign_id)
        if campaign.state == "canceled":
            raise repo.CampaignError(
                f"campaign {campaign.name!r} is canceled; its leads cannot be redialed"
            )
        rows = db.execute(
            select(lead.c.id, lead.c.phone, lead.c.disposition).where(
                lead.c.campaign_id == campaign.id,
                lead.c.state == "done",
                lead.c.disposition.in_(wanted),
            )
        ).all()
        blocked = find_dnc(db, [row.phone for row in rows], campaign.id)
        reopen = [row for row in rows if row.phone not in blocked]
        now = utcnow()
        reopened = 0
        for disposition in wanted:
            ids = [row.id for row in reopen if row.disposition == disposition]
            for start in range(0, len(ids), _BATCH):
                reopened += db.execute(
                    update(lead)
                    .where(lead.c.id.in_(ids[start : start + _BATCH]), lead.c.state == "done")
                    .values(
                        state="ready",
                        state_reason=f"redial: was {disposition}",
                        not_before=None,
                        lease_owner=None,
                        lease_expires_at=None,
                        capacity_requeues=0,
                        updated_at=now,
                    )
                ).rowcount
        kept = len(rows) - len(reopen)
        reason = (
            f"redial{' by ' + by if by else ''}: {reopened} lead(s) reopened ({', '.join(wanted)})"
        )
        if kept:
            reason += f"; {kept} on a do-not-call list kept closed"
        repo.log_event(db, campaign.id, "redial", reason)
        state, was_completed = campaign.state, False
        if reopened and campaign.state == "completed":
            state = repo.set_state(db, campaign.id, "running", reason).state
            was_completed = True
    return RedialResult(campaign.id, reopened, kept, state, was_completed)


def _dispositions(values: Iterable[str]) -> list[str]:
    """Validated disposition names, in order, without repeats. Raises
    :class:`~.repo.CampaignError` naming a bad one."""
    chosen: list[str] = []
    for value in values:
        try:
            disposition = Disposition(str(value).strip())
        except ValueError:
            known = ", ".join(d.value for d in Disposition)
            raise repo.CampaignError(
                f"unknown disposition {str(value)[:40]!r}: use one of {known}"
            ) from None
        if disposition in ALWAYS_FINAL:
            raise repo.CampaignError(
                f"{disposition.value} leads are never called again; they cannot be redialed"
            )
        if disposition.value not in chosen:
            chosen.append(disposition.value)
    if not chosen:
        raise repo.CampaignError("no disposition to redial: name at least one")
    return chosen


__all__ = ["UNANSWERED", "RedialResult", "redial", "redial_unanswered"]
