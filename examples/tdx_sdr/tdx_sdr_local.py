"""The TDX SDR deployment's own plugin (enabled by module path in voicekit.toml).

* ``qualify_prospect``: BANT answers -> qualified / nurture / disqualified, with reasons.
* ``check_availability`` / ``schedule_meeting``: a local calendar (a JSON file under
  ``.voicekit/``), registered as *fallback* tools, so voicekit-teams takes over when enabled.
* ``call_instructions``: the lead's context for the prompt.
* ``before_dial``: the deployment's DNC list, and calling hours (8:00-20:00 in the lead's
  timezone) for live calls.
"""

# No `from __future__ import annotations`: livekit reads tool annotations at call time,
# and RunContext is imported inside register_tools to keep livekit out of plugin listing.

import json
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from voicekit_core import Disposition, hookimpl, to_e164
from voicekit_core.scheduling import Interval, WorkingHours, free_slots, parse_start, spoken_label

NAME = "tdx_sdr_local"


class Settings(BaseModel):
    """``[plugins.tdx_sdr_local]``."""

    model_config = ConfigDict(extra="forbid")
    min_budget_usd: float = Field(default=10_000, ge=0)
    max_timeline_months: int = Field(default=6, ge=1)
    rep_timezone: str = "America/New_York"
    working_hours: tuple[time, time] = (time(9, 0), time(17, 0))
    meeting_minutes: int = Field(default=30, ge=15, le=120)
    notice_hours: float = Field(default=2, ge=0)
    calendar_file: Path = Path(".voicekit/local_calendar.json")
    dnc_file: Path = Path("dnc.txt")
    calling_hours: tuple[time, time] = (time(8, 0), time(20, 0))
    prospect_meeting_hours: tuple[time, time] = (time(8, 0), time(18, 0))


@hookimpl
def register_settings(register):
    register(Settings)


def settings_for(call) -> Settings:
    return call.config.plugin_settings(NAME)


def _path(call, path: Path) -> Path:
    return path if path.is_absolute() else call.config.base_dir / path


# -- BANT --------------------------------------------------------------------------


def qualify(
    settings: Settings,
    *,
    budget_usd: float | None,
    authority: str,
    need: str,
    timeline_months: int | None,
) -> dict:
    """Score BANT answers. ``qualified`` needs all four; a stated zero budget or no
    authority and no path to it disqualifies; anything else is ``nurture``."""
    reasons, met = [], 0
    if budget_usd is None:
        reasons.append("budget not stated")
    elif budget_usd >= settings.min_budget_usd:
        met += 1
        reasons.append(f"budget ${budget_usd:,.0f} meets ${settings.min_budget_usd:,.0f}")
    else:
        reasons.append(f"budget ${budget_usd:,.0f} below ${settings.min_budget_usd:,.0f}")
    if authority in ("decision_maker", "influencer"):
        met += 1
        reasons.append(
            "talking to the decision maker"
            if authority == "decision_maker"
            else "influencer; decision maker to be involved"
        )
    else:
        reasons.append("no buying authority identified")
    if need.strip():
        met += 1
        reasons.append(f"need: {need.strip()[:120]}")
    else:
        reasons.append("no need stated")
    if timeline_months is not None and timeline_months <= settings.max_timeline_months:
        met += 1
        reasons.append(f"timeline {timeline_months} month(s)")
    else:
        reasons.append(f"no timeline within {settings.max_timeline_months} months")
    if met == 4:
        status = "qualified"
    elif budget_usd == 0 or (authority == "none" and met <= 2):
        status = "disqualified"
    else:
        status = "nurture"
    return {"status": status, "criteria_met": met, "reasons": reasons}


# -- local calendar ------------------------------------------------------------------


def _load_calendar(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def _save_calendar(path: Path, events: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(events, indent=2), encoding="utf-8")
    tmp.replace(path)  # atomic: never a half-written calendar


def _busy(events: list[dict]) -> list[Interval]:
    return [Interval(parse_start(e["start"]), parse_start(e["end"])) for e in events]


def _offer(call, settings: Settings, *, days_ahead: int, max_slots: int) -> list[Interval]:
    events = _load_calendar(_path(call, settings.calendar_file))
    return free_slots(
        _busy(events),
        now=datetime.now(timezone.utc),
        hours=WorkingHours(settings.rep_timezone, *settings.working_hours),
        duration=timedelta(minutes=settings.meeting_minutes),
        notice=timedelta(hours=settings.notice_hours),
        days_ahead=days_ahead,
        max_slots=max_slots,
        attendee_hours=WorkingHours(_prospect_tz(call, settings), *settings.prospect_meeting_hours),
    )


def _prospect_tz(call, settings: Settings) -> str:
    return (call.lead and call.lead.timezone) or settings.rep_timezone


@hookimpl
def register_tools(register, call):
    from livekit.agents import RunContext, ToolError, function_tool

    settings = settings_for(call)

    @function_tool
    async def qualify_prospect(
        context: RunContext,
        need: str,
        authority: Literal["decision_maker", "influencer", "none", "unknown"],
        budget_usd: float | None = None,
        timeline_months: int | None = None,
        notes: str = "",
    ) -> str:
        """Record the BANT qualification once you know budget, authority, need and timeline.

        Args:
            need: the problem they want solved, in their words.
            authority: decision_maker, influencer, none or unknown.
            budget_usd: the budget they stated, in US dollars; omit if not stated.
            timeline_months: months until they want a solution; omit if vague.
            notes: anything else worth passing to the account executive.
        """
        if budget_usd is not None and budget_usd < 0:
            raise ToolError("budget_usd cannot be negative")
        result = qualify(
            settings,
            budget_usd=budget_usd,
            authority=authority,
            need=need,
            timeline_months=timeline_months,
        )
        current = context.userdata
        current.qualification = {
            "budget": f"${budget_usd:,.0f}" if budget_usd is not None else "",
            "budget_usd": budget_usd,
            "authority": authority,
            "need": need,
            "timeline": f"{timeline_months} months" if timeline_months is not None else "",
            "timeline_months": timeline_months,
            "notes": notes,
            **result,
        }
        current.set_disposition(
            {"qualified": Disposition.QUALIFIED, "nurture": Disposition.NURTURE}.get(
                result["status"], Disposition.DISQUALIFIED
            ),
            "; ".join(result["reasons"]),
        )
        return json.dumps(result)

    @function_tool
    async def check_availability(
        context: RunContext, days_ahead: int = 7, max_slots: int = 3
    ) -> str:
        """Find free meeting slots with the TDX team.

        Args:
            days_ahead: how many days ahead to look (1-30).
            max_slots: how many slots to offer (1-5).
        """
        if not 1 <= days_ahead <= 30 or not 1 <= max_slots <= 5:
            raise ToolError("days_ahead must be 1-30 and max_slots 1-5")
        tz = _prospect_tz(context.userdata, settings)
        language = context.userdata.config.agent.language
        slots = _offer(context.userdata, settings, days_ahead=days_ahead, max_slots=max_slots)
        return json.dumps(
            {
                "timezone": tz,
                "slots": [
                    {"start": s.start.isoformat(), "label": spoken_label(s.start, tz, language)}
                    for s in slots
                ],
            }
        )

    @function_tool
    async def schedule_meeting(
        context: RunContext, start: str, attendee_email: str, topic: str = ""
    ) -> str:
        """Book a meeting in a slot offered by check_availability.

        Args:
            start: the slot's start, exactly as check_availability returned it (ISO 8601).
            attendee_email: the prospect's email for the invite.
            topic: a short subject; defaults to the campaign's.
        """
        current = context.userdata
        try:
            begin = parse_start(start)
        except ValueError as exc:
            raise ToolError(f"{exc}; use a start returned by check_availability") from None
        if "@" not in attendee_email:
            raise ToolError("I need the prospect's email address to send the invite")
        path = _path(current, settings.calendar_file)
        events = _load_calendar(path)
        for event in events:
            if event.get("transaction_id") == f"{current.call_id}:{begin.isoformat()}":
                return json.dumps(event)  # a repeated tool call books once
        free = _offer(current, settings, days_ahead=30, max_slots=60)
        free_starts = {slot.start for slot in free}
        if begin not in free_starts:
            raise ToolError("that slot is not free any more; offer the next available slot")
        end = begin + timedelta(minutes=settings.meeting_minutes)
        tz = _prospect_tz(current, settings)
        event = {
            "event_id": uuid.uuid4().hex,
            "transaction_id": f"{current.call_id}:{begin.isoformat()}",
            "start": begin.isoformat(),
            "end": end.isoformat(),
            "label": spoken_label(begin, tz, current.config.agent.language),
            "attendee_email": attendee_email,
            "subject": topic or f"{current.config.campaign.name}: intro call",
            "join_url": None,
        }
        _save_calendar(path, [*events, event])
        current.data["meeting"] = event
        current.set_disposition(Disposition.MEETING_BOOKED, event["label"])
        return json.dumps({"status": "booked", **event})

    register(qualify_prospect)
    register(check_availability, fallback=True)
    register(schedule_meeting, fallback=True)


@hookimpl
def call_instructions(call):
    lead = call.lead
    if lead is None or lead.source == "unknown":
        return "You do not know who is calling: ask for their name and company first."
    lines = ["What we know about this prospect:"]
    for label, value in (
        ("Name", lead.name),
        ("Company", lead.company),
        ("Title", lead.job_title),
        ("Email", lead.email),
        ("Industry", lead.extra.get("industry")),
        ("Account owner", lead.owner or lead.extra.get("resource_name")),
    ):
        if value:
            lines.append(f"- {label}: {value}")
    if lead.timezone:
        local = datetime.now(ZoneInfo(lead.timezone))
        lines.append(f"- Local time: {local:%A %H:%M} ({lead.timezone})")
    return "\n".join(lines)


@hookimpl
def before_dial(lead, call):
    settings = settings_for(call)
    dnc = _path(call, settings.dnc_file)
    if dnc.is_file():
        for line in dnc.read_text(encoding="utf-8").splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry and to_e164(entry, call.config.leads.default_region) == lead.phone:
                return f"{lead.phone} is on the do-not-call list ({dnc.name})"
    if call.mode == "live" and lead.timezone:
        local = datetime.now(ZoneInfo(lead.timezone)).time()
        opens, closes = settings.calling_hours
        if not opens <= local < closes:
            return f"outside calling hours in {lead.timezone} ({local:%H:%M})"
    return None
