"""What is on the phone right now, read from the store: the calls in flight (``/live``)
and one call's conversation as it is written (``/live/{call_id}``, the test-call chat).

Workers publish by journaling (:class:`voicekit_core.runner.CallRun`): a call's row is
``in_progress`` from its first second and its ``report_json`` is rewritten on every
message and tool result, from whichever process runs it (``voicekit start`` workers, the
dialer, this dashboard's test calls). A campaign attempt being dialed is an open
``attempts`` row whose lead is ``dialing``. So everything here is polling: one short read
transaction per poll, nothing held open between polls, and a report is parsed again only
when its row's ``updated_at`` moved.

States shown: ``dialing`` (an attempt placed, no call row yet), ``ringing`` (the agent
is in the room, the callee has not said or heard anything yet), ``in_call``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Select, select

from voicekit_core.calls import CallReport, utcnow
from voicekit_core.masking import display_phone, display_text
from voicekit_core.store.tables import attempts, calls, campaign_leads, campaigns

if TYPE_CHECKING:
    from voicekit_core.store import Store

LiveState = Literal["dialing", "ringing", "in_call"]
#: ``report.data`` key that marks a call placed from the dashboard's test-call page.
TEST_CALL_KEY = "test_call"
_IN_FLIGHT_LEADS = ("dialing", "in_call")


class LiveCall(BaseModel):
    """One call in flight. ``phone`` as people should see it (masked when masking is on);
    ``started_at`` UTC; ``elapsed_seconds`` at the time of the snapshot."""

    call_id: str
    state: LiveState
    lead_name: str = ""
    company: str = ""
    phone: str
    campaign_id: str | None = None
    campaign_name: str | None = None
    started_at: datetime
    elapsed_seconds: float
    test_call: bool = False


class FeedLine(BaseModel):
    """One transcript line (``index`` counts lines from 0); text masked when masking is on."""

    kind: Literal["line"] = "line"
    index: int
    role: str
    text: str
    at: datetime
    interrupted: bool = False


class FeedTool(BaseModel):
    """One finished tool call (``index`` counts tool calls from 0); ``is_error`` marks a
    failed one. Arguments and output masked when masking is on."""

    kind: Literal["tool"] = "tool"
    index: int
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    output: str = ""
    is_error: bool = False
    at: datetime


class FeedEnd(BaseModel):
    """How a call ended: ``status`` ``finished`` / ``interrupted`` (its process stopped)
    / ``not_connected`` (a campaign attempt that never became a call)."""

    call_id: str
    status: str
    disposition: str
    reason: str = ""
    duration_seconds: float | None = None


FeedItem = FeedLine | FeedTool


class CallSummary(BaseModel):
    """The head of one call's page: who, which campaign, and where it stands (``status``
    ``dialing`` for an attempt not yet a call, else the journal's status)."""

    call_id: str
    status: str
    phone: str
    lead_name: str = ""
    company: str = ""
    campaign_id: str | None = None
    campaign_name: str | None = None
    started_at: datetime | None = None
    test_call: bool = False
    models: dict[str, Any] = Field(default_factory=dict)


# -- the board: every call in flight ---------------------------------------------------


@dataclass(frozen=True)
class _ReportFacts:
    """What the board needs from a report, parsed once per row update."""

    lead_name: str
    company: str
    test_call: bool
    spoke: bool  # something was said: the call was answered


def _facts(report_json: str) -> _ReportFacts:
    try:
        data = json.loads(report_json)
    except ValueError:
        return _ReportFacts("", "", False, True)
    lead_name, company = _who(data.get("lead") or {})
    return _ReportFacts(
        lead_name=lead_name,
        company=company,
        test_call=TEST_CALL_KEY in (data.get("data") or {}),
        spoke=bool(data.get("transcript")),
    )


def _loaded(text: str) -> dict[str, Any]:
    """A JSON object from the store; ``{}`` when the text is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _who(lead: dict[str, Any]) -> tuple[str, str]:
    """The lead's name and company, as the pages show them."""
    name = " ".join(str(lead.get(k) or "") for k in ("first_name", "last_name")).strip()
    return name, str(lead.get("company") or "")


def _calls_with_campaign(*columns: Any) -> Select[Any]:
    """A call's id, phone, start and ``columns``, with its campaign's id and name (None
    for a call outside any campaign)."""
    return select(
        calls.c.call_id,
        calls.c.phone,
        calls.c.started_at,
        *columns,
        campaigns.c.id.label("campaign_id"),
        campaigns.c.name.label("campaign_name"),
    ).select_from(calls.outerjoin(campaigns, campaigns.c.id == calls.c.campaign_id))


def _attempts_with_lead(*columns: Any) -> Select[Any]:
    """An attempt's call id, phone, start and ``columns``, with its lead's ``lead_json``
    and its campaign's id and name."""
    return select(
        attempts.c.call_id,
        attempts.c.phone,
        attempts.c.started_at,
        *columns,
        campaign_leads.c.lead_json,
        campaigns.c.id.label("campaign_id"),
        campaigns.c.name.label("campaign_name"),
    ).select_from(
        attempts.join(campaign_leads, campaign_leads.c.id == attempts.c.lead_id).join(
            campaigns, campaigns.c.id == attempts.c.campaign_id
        )
    )


class LiveBoard:
    """The calls in flight, for one viewer. :meth:`snapshot` runs three small queries
    (in-progress call rows, reports of the rows that changed, open attempts) in one read
    transaction; parsed reports and leads are cached between snapshots.

    Call rows whose lease expired (their process died) are not in flight and not shown.
    """

    def __init__(self, store: Store):
        self.store = store
        self._reports: dict[str, tuple[datetime, _ReportFacts]] = {}
        self._leads: dict[str, tuple[str, str]] = {}

    def snapshot(self) -> list[LiveCall]:
        """The calls in flight, oldest first. Raises ``StoreError`` if the store fails."""
        now = utcnow()
        with self.store.read() as db:
            call_rows = db.execute(
                _calls_with_campaign(calls.c.updated_at).where(
                    calls.c.status == "in_progress", calls.c.lease_expires_at > now
                )
            ).all()
            changed = [
                row.call_id
                for row in call_rows
                if self._reports.get(row.call_id, (None,))[0] != row.updated_at
            ]
            if changed:
                for row in db.execute(
                    select(calls.c.call_id, calls.c.updated_at, calls.c.report_json).where(
                        calls.c.call_id.in_(changed)
                    )
                ):
                    self._reports[row.call_id] = (row.updated_at, _facts(row.report_json))
            attempt_rows = db.execute(
                _attempts_with_lead(campaign_leads.c.state).where(
                    attempts.c.ended_at.is_(None),
                    campaign_leads.c.state.in_(_IN_FLIGHT_LEADS),
                    campaign_leads.c.lease_expires_at > now,
                )
            ).all()
        live: dict[str, LiveCall] = {}
        for row in call_rows:
            facts = self._reports[row.call_id][1]
            live[row.call_id] = _live_call(
                row,
                "in_call",
                (facts.lead_name, facts.company),
                row.started_at,
                now,
                test_call=facts.test_call,
            )
        for row in attempt_rows:
            name, company = self._lead(row.call_id, row.lead_json)
            call = live.get(row.call_id)
            if call is None:
                # the attempt's clock is the campaign's (sped up in simulations): never ahead
                started = min(row.started_at, now)
                state = "in_call" if row.state == "in_call" else "dialing"
                live[row.call_id] = _live_call(row, state, (name, company), started, now)
                continue
            spoke = self._reports[row.call_id][1].spoke
            if row.state == "dialing" and not spoke:
                call.state = "ringing"
            call.lead_name = call.lead_name or name
            call.company = call.company or company
            call.campaign_id = call.campaign_id or row.campaign_id
            call.campaign_name = call.campaign_name or row.campaign_name
        for gone in set(self._reports) - live.keys():
            del self._reports[gone]
        for gone in set(self._leads) - live.keys():
            del self._leads[gone]
        return sorted(live.values(), key=lambda c: (c.started_at, c.call_id))

    def _lead(self, call_id: str, lead_json: str) -> tuple[str, str]:
        cached = self._leads.get(call_id)
        if cached is None:
            cached = _who(_loaded(lead_json))
            self._leads[call_id] = cached
        return cached


def _live_call(
    row: Any,
    state: LiveState,
    who: tuple[str, str],
    started: datetime,
    now: datetime,
    *,
    test_call: bool = False,
) -> LiveCall:
    """A call in flight from a call row or an attempt row (both have the call's id, phone
    and campaign); ``who``: the lead's name and company."""
    lead_name, company = who
    return LiveCall(
        call_id=row.call_id,
        state=state,
        lead_name=lead_name,
        company=company,
        phone=display_phone(row.phone),
        campaign_id=row.campaign_id,
        campaign_name=row.campaign_name,
        started_at=started,
        elapsed_seconds=round(max((now - started).total_seconds(), 0.0), 1),
        test_call=test_call,
    )


# -- one call: its conversation as it is written ------------------------------------------


def call_summary(store: Store, call_id: str) -> CallSummary | None:
    """The call's head from its journal row, else from its campaign attempt (a call being
    dialed has no row yet); None when neither exists."""
    with store.read() as db:
        row = db.execute(
            _calls_with_campaign(calls.c.status, calls.c.report_json).where(
                calls.c.call_id == call_id
            )
        ).first()
        attempt = None
        if row is None:
            attempt = db.execute(
                _attempts_with_lead()
                .where(attempts.c.call_id == call_id)
                .order_by(attempts.c.id.desc())
            ).first()
    if row is not None:
        report = _loaded(row.report_json)
        return _summary(
            row,
            row.status,
            report.get("lead") or {},
            test_call=TEST_CALL_KEY in (report.get("data") or {}),
            models=report.get("models") or {},
        )
    if attempt is not None:
        return _summary(attempt, "dialing", _loaded(attempt.lead_json))
    return None


def _summary(row: Any, status: str, lead: dict[str, Any], **more: Any) -> CallSummary:
    """The summary of a call row or an attempt row (both have the call's id, phone,
    start and campaign)."""
    lead_name, company = _who(lead)
    return CallSummary(
        call_id=row.call_id,
        status=status,
        phone=display_phone(row.phone),
        lead_name=lead_name,
        company=company,
        campaign_id=row.campaign_id,
        campaign_name=row.campaign_name,
        started_at=row.started_at,
        **more,
    )


@dataclass
class FeedUpdate:
    """New items since the last poll (oldest first), the position after each (an SSE
    event id, see :meth:`CallFollower.position`) and, once the call is over, its end."""

    items: list[FeedItem]
    ended: FeedEnd | None = None
    positions: list[str] = field(default_factory=list)


class CallFollower:
    """Follows one call's journal row. Each :meth:`poll` is one read transaction that
    reads the report only when the row changed, and returns the transcript lines and
    tool calls past ``lines`` / ``tools`` (those the viewer already has)."""

    def __init__(self, store: Store, call_id: str, *, lines: int = 0, tools: int = 0):
        self.store = store
        self.call_id = call_id
        self.lines = max(lines, 0)
        self.tools = max(tools, 0)
        self._version: tuple[str, datetime] | None = None

    @property
    def position(self) -> str:
        """``"<lines>.<tools>"``: the SSE event id a reconnecting browser sends back."""
        return f"{self.lines}.{self.tools}"

    def poll(self) -> FeedUpdate:
        """Raises ``StoreError`` if the store fails."""
        with self.store.read() as db:
            row = db.execute(
                select(calls.c.status, calls.c.updated_at).where(calls.c.call_id == self.call_id)
            ).first()
            if row is None:
                return FeedUpdate([], self._attempt_end(db))
            if self._version == (row.status, row.updated_at):
                return FeedUpdate([])
            raw = db.execute(
                select(calls.c.status, calls.c.updated_at, calls.c.report_json).where(
                    calls.c.call_id == self.call_id
                )
            ).one()
        self._version = (raw.status, raw.updated_at)
        try:
            report = CallReport.model_validate_json(raw.report_json)
        except ValueError:
            return FeedUpdate([], None)  # a half-readable row: wait for the next write
        items, positions = self._new_items(report)
        if raw.status == "in_progress":
            return FeedUpdate(items, None, positions)
        return FeedUpdate(
            items,
            FeedEnd(
                call_id=self.call_id,
                status=raw.status,
                disposition=report.disposition.value,
                reason=display_text(report.disposition_reason),
                duration_seconds=report.duration_seconds,
            ),
            positions,
        )

    def _new_items(self, report: CallReport) -> tuple[list[FeedItem], list[str]]:
        items: list[FeedItem] = [
            FeedLine(
                index=index,
                role=entry.role,
                text=display_text(entry.text),
                at=entry.at,
                interrupted=entry.interrupted,
            )
            for index, entry in enumerate(report.transcript)
            if index >= self.lines
        ]
        items += [
            FeedTool(
                index=index,
                name=record.name,
                arguments=_masked(record.arguments),
                output=display_text(record.output),
                is_error=record.is_error,
                at=record.at,
            )
            for index, record in enumerate(report.tool_calls)
            if index >= self.tools
        ]
        items.sort(key=lambda item: item.at)
        positions = []
        for item in items:
            if isinstance(item, FeedLine):
                self.lines = max(self.lines, item.index + 1)
            else:
                self.tools = max(self.tools, item.index + 1)
            positions.append(self.position)
        return items, positions

    def _attempt_end(self, db: Any) -> FeedEnd | None:
        """The end of an attempt that never became a call (vetoed, trunk refused); None
        while it is still being dialed."""
        attempt = db.execute(
            select(attempts.c.ended_at, attempts.c.disposition, attempts.c.detail)
            .where(attempts.c.call_id == self.call_id)
            .order_by(attempts.c.id.desc())
        ).first()
        if attempt is None or attempt.ended_at is None:
            return None
        return FeedEnd(
            call_id=self.call_id,
            status="not_connected",
            disposition=attempt.disposition or "failed",
            reason=display_text(attempt.detail),
        )


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return display_text(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def parse_position(last_event_id: str | None) -> tuple[int, int] | None:
    """``(lines, tools)`` from a ``Last-Event-ID`` such as ``"12.3"``; None if malformed."""
    if not last_event_id:
        return None
    lines, _, tools = last_event_id.partition(".")
    if not (lines.isdigit() and tools.isdigit()):
        return None
    return int(lines), int(tools)
