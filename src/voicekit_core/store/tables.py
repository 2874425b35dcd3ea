"""Every table voicekit keeps, defined once (SQLAlchemy Core). Migrations live in
``migrations/versions``; a test fails when these definitions and the migrations differ.

Times are stored timezone-aware in UTC (:class:`UTCDateTime`): Postgres keeps the zone,
SQLite stores naive UTC and this type puts the zone back on the way out.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime in UTC on both databases (naive values are refused)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times timezone-aware, in UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


CALL_STATUSES = ("in_progress", "finished", "interrupted")
DELIVERY_STATUSES = ("pending", "delivered", "failed")

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

calls = Table(
    "calls",
    metadata,
    Column("call_id", String(64), primary_key=True),
    Column("agent_name", String(200), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # CALL_STATUSES
    Column("disposition", String(40)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    # the process running a live call holds this lease and renews it; an in_progress row
    # whose lease expired belonged to a process that died (recovery marks it interrupted)
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("campaign_id", String(64)),
    Column("attempt_id", String(64)),
    Column("report_json", Text, nullable=False),
    Index(None, "status", "lease_expires_at"),
    Index(None, "started_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call_id", String(64), ForeignKey("calls.call_id"), nullable=False),
    Column("plugin", String(200), nullable=False),
    Column("status", String(16), nullable=False),  # DELIVERY_STATUSES
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text, nullable=False, default=""),
    Column("result_json", Text),
    # what the plugin saved step by step (DeliveryState), so a retry resumes
    Column("state_json", Text),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("call_id", "plugin"),
    Index(None, "status", "lease_expires_at"),
)


# -- campaigns ---------------------------------------------------------------------------

CAMPAIGN_STATES = ("draft", "scheduled", "running", "paused", "completed", "canceled")
LEAD_STATES = (
    "pending",  # imported, not yet checked against compliance / not yet due
    "ready",  # due now: the runner may claim it
    "dialing",  # claimed: dial in progress (leased)
    "in_call",  # answered, the worker runs the call (leased)
    "done",  # final, with a disposition
    "retry_wait",  # waiting until not_before
    "skipped",  # never dialed again, with a reason (DNC, invalid timezone...)
    "canceled",
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("agent_name", String(200), nullable=False),
    Column("state", String(16), nullable=False),  # CAMPAIGN_STATES
    Column("state_reason", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),  # file or lead source it came from
    Column("settings_json", Text, nullable=False, default="{}"),  # [dialer] at creation
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("scheduled_at", UTCDateTime),
    # one dialer process paces a campaign; another takes over when this lease expires
    Column("runner_owner", String(200)),
    Column("runner_expires_at", UTCDateTime),
    # the outbound trunk its runner dials through: in-flight calls are counted per trunk
    Column("trunk_id", String(200)),
)

# one row per outbound trunk, shared by every dialer: `tat` is the theoretical arrival
# time of the next call start (GCRA), so calls-per-second hold across processes; claims
# lock this row (FOR UPDATE on Postgres, BEGIN IMMEDIATE on SQLite)
dial_trunks = Table(
    "dial_trunks",
    metadata,
    Column("trunk_id", String(200), primary_key=True),
    Column("tat", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
)

campaign_leads = Table(
    "campaign_leads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id"), nullable=False),
    Column("row_number", Integer, nullable=False),  # spreadsheet row in the imported file
    Column("phone", String(40), nullable=False),  # E.164
    Column("timezone", String(64)),
    Column("lead_json", Text, nullable=False),  # voicekit_core.leads.Lead, dumped
    Column("state", String(16), nullable=False),  # LEAD_STATES
    Column("state_reason", Text, nullable=False, default=""),
    Column("disposition", String(40)),
    Column("attempts", Integer, nullable=False, default=0),  # attempts spent
    Column("capacity_requeues", Integer, nullable=False, default=0),
    Column("not_before", UTCDateTime),
    Column("callback_at", UTCDateTime),
    Column("script", String(200)),  # offline campaigns: caller script for this lead
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("campaign_id", "phone"),
    Index(None, "campaign_id", "state", "not_before"),
)

# append-only: one row per dial attempt; the deterministic room name is the idempotency
# key against dialing the same attempt twice (vk-<campaign>-<lead>-<n>)
attempts = Table(
    "attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id"), nullable=False),
    Column("lead_id", Integer, ForeignKey("campaign_leads.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("phone", String(40), nullable=False),
    Column("room_name", String(200), nullable=False, unique=True),
    Column("call_id", String(64)),
    Column("owner", String(200)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("disposition", String(40)),
    Column("sip_status", Integer),
    Column("detail", Text, nullable=False, default=""),
    Column("spent", Integer, nullable=False, default=1),  # 0: carrier capacity requeue
    UniqueConstraint("campaign_id", "lead_id", "number"),
    Index(None, "phone", "started_at"),
)

# do-not-call entries: scope "" is global, else a campaign id
dnc = Table(
    "dnc",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("phone", String(40), nullable=False),
    Column("scope", String(64), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("source", String(200), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("phone", "scope"),
)

# the activity log: state changes with reasons, breaker trips, vetoes
campaign_events = Table(
    "campaign_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", String(64), ForeignKey("campaigns.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("lead_id", Integer),
    Column("detail", Text, nullable=False, default=""),
    Index(None, "campaign_id", "at"),
)

# uploaded lead CSVs (the dashboard's Leads page), kept whole so a download gives back the
# same bytes; `selected` marks the list a new campaign starts from (at most one row)
lead_lists = Table(
    "lead_lists",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("filename", String(255), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("row_count", Integer, nullable=False),  # non-blank data rows
    Column("data", LargeBinary, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    Column("selected", Boolean, nullable=False, default=False),
)
