"""A small fake of the Microsoft Graph endpoints voicekit-teams calls, on 127.0.0.1.

* ``POST /v1.0/users/{id}/calendar/getSchedule`` - free/busy from ``busy`` + booked events,
  and each organizer's ``workingHours`` (default: Monday-Friday 9:00-17:00
  ``"Eastern Standard Time"``, a Windows zone name as Graph writes it; a ``customTimeZone``
  or None per organizer through ``working_hours``)
* ``POST /v1.0/users/{id}/events`` - creates a Teams event; a known ``transactionId``
  returns the existing event (as Graph does)
* ``PATCH /v1.0/users/{id}/events/{event}`` and ``POST .../events/{event}/cancel``
* ``GET /v1.0/users/{id}/calendar/calendarView?startDateTime=..&endDateTime=..`` - the
  organizer's events overlapping the window (with ``transactionId``)

Shapes follow Microsoft's documentation (``calendar: getSchedule``, ``scheduleInformation``,
``freeBusyError``, ``workingHours``, ``customTimeZone``). JSON keys are matched
case-insensitively (the SDK sends some PascalCase). Misbehaviour on demand, by operation
name (``getSchedule``, ``createEvent``, ``updateEvent``, ``cancelEvent``, ``calendarView``):

* ``fail[op]``: every request answers that status (``{"error": {"code", "message"}}``);
* ``fail_once[op]``: the next requests answer those statuses, not carried out;
* ``commit_then_fail[op]``: the next requests are carried out, then answer those statuses
  (a gateway losing Graph's reply);
* ``throttle[op]``: the next requests answer 429 with ``Retry-After`` of those seconds;
* ``delays[op]``: the next requests are carried out, then answered that many seconds late
  (a create Graph commits but answers after the client gave up);
* ``unknown``: mailboxes Graph does not know: in ``Schedules`` their entry carries only an
  ``error`` (``responseCode`` 5009, no ``scheduleItems``); as the mailbox in the path, 404
  ``ErrorInvalidUser``;
* ``answer_zone[organizer]``: write that organizer's busy times in this Windows zone,
  ignoring ``Prefer: outlook.timezone`` (as some tenants have been seen to).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

TOKEN = "test-token"
ORGANIZER = "alex.rivera@tdx.example"
ERROR_CODES = {
    401: "InvalidAuthenticationToken",
    403: "ErrorAccessDenied",
    404: "ErrorItemNotFound",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
}
#: The fake's own Windows -> IANA table (independent of the plugin's CLDR mapping).
WINDOWS_ZONES = {
    "Eastern Standard Time": "America/New_York",
    "Pacific Standard Time": "America/Los_Angeles",
    "Tokyo Standard Time": "Asia/Tokyo",
    "Romance Standard Time": "Europe/Paris",
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def working_hours(
    start: str = "09:00", end: str = "17:00", zone: str = "Eastern Standard Time", days=None
) -> dict[str, Any]:
    """A Graph ``workingHours`` with a named (Windows or IANA) zone."""
    return {
        "daysOfWeek": list(days or WEEKDAYS),
        "startTime": f"{start}:00.0000000",
        "endTime": f"{end}:00.0000000",
        "timeZone": {"name": zone},
    }


def custom_working_hours(start: str = "08:00", end: str = "17:00") -> dict[str, Any]:
    """Microsoft's documented ``customTimeZone`` example (bias 480, US daylight rules:
    Pacific time under a custom name)."""
    hours = working_hours(start, end)
    hours["timeZone"] = {
        "@odata.type": "#microsoft.graph.customTimeZone",
        "bias": 480,
        "name": "Customized Time Zone",
        "standardOffset": {
            "time": "02:00:00.0000000",
            "dayOccurrence": 1,
            "dayOfWeek": "sunday",
            "month": 11,
            "year": 0,
        },
        "daylightOffset": {
            "daylightBias": -60,
            "time": "02:00:00.0000000",
            "dayOccurrence": 2,
            "dayOfWeek": "sunday",
            "month": 3,
            "year": 0,
        },
    }
    return hours


def ci(data: Any, *path: str) -> Any:
    """``data[path...]`` with keys compared case-insensitively (None if missing)."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = next((v for k, v in data.items() if k.lower() == key.lower()), None)
    return data


def lower_keys(data: Any) -> Any:
    """``data`` with every dict key lower-cased (recursively)."""
    if isinstance(data, dict):
        return {k.lower(): lower_keys(v) for k, v in data.items()}
    if isinstance(data, list):
        return [lower_keys(v) for v in data]
    return data


def utc(value: str, zone: str = "UTC") -> datetime:
    assert zone.upper() == "UTC", f"fake expects UTC times, got {zone}"
    return datetime.fromisoformat(value.split(".")[0]).replace(tzinfo=timezone.utc)


def graph_time(moment: datetime, zone: str = "UTC") -> dict[str, str]:
    """``dateTimeTimeZone`` of ``moment`` written in ``zone`` (UTC or a Windows name)."""
    iana = WINDOWS_ZONES.get(zone)  # a zone unknown to the fake: UTC wall time, its label
    local = moment.astimezone(ZoneInfo(iana) if iana else timezone.utc)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    operation: str
    at: float = field(default_factory=time.monotonic)


@dataclass
class FakeGraph:
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    fail_once: dict[str, list[int]] = field(default_factory=dict)
    commit_then_fail: dict[str, list[int]] = field(default_factory=dict)
    throttle: dict[str, list[float]] = field(default_factory=dict)
    delays: dict[str, list[float]] = field(default_factory=dict)
    unknown: set[str] = field(default_factory=set)
    working_hours: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    answer_zone: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def add_busy(self, organizer: str, start: datetime, end: datetime) -> None:
        self.busy.setdefault(organizer.lower(), []).append((start, end))

    def calls(self, operation: str) -> list[Request]:
        return [r for r in self.requests if r.operation == operation]

    # -- server ------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1.0/users/{user}/calendar/getSchedule", self._get_schedule)
        app.router.add_post("/v1.0/users/{user}/events", self._create)
        app.router.add_patch("/v1.0/users/{user}/events/{event}", self._update)
        app.router.add_post("/v1.0/users/{user}/events/{event}/cancel", self._cancel)
        app.router.add_get("/v1.0/users/{user}/calendar/calendarView", self._calendar_view)
        return app

    async def _prelude(self, request: web.Request, operation: str) -> Any:
        body = await request.json() if request.can_read_body else None
        self.requests.append(
            Request(request.method, request.path, dict(request.headers), body, operation)
        )
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise self._error(401)
        user = request.match_info.get("user", "").lower()
        if user in self.unknown:
            raise _json_error(
                404,
                {
                    "error": {
                        "code": "ErrorInvalidUser",
                        "message": f"The requested user '{user}' is invalid.",
                    }
                },
            )
        if operation in self.fail:
            raise self._error(self.fail[operation])
        if self.fail_once.get(operation):
            raise self._error(self.fail_once[operation].pop(0))
        if self.throttle.get(operation):
            wait = self.throttle[operation].pop(0)
            payload = {"error": {"code": "TooManyRequests", "message": "Please retry later."}}
            raise _json_error(429, payload, {"Retry-After": f"{wait:g}"})
        return body

    async def _lose_reply(self, operation: str) -> None:
        """After the work is done: answer late if ``delays`` says so, and fail the reply
        if ``commit_then_fail`` says so."""
        if self.delays.get(operation):
            await asyncio.sleep(self.delays[operation].pop(0))
        if self.commit_then_fail.get(operation):
            raise self._error(self.commit_then_fail[operation].pop(0))

    @staticmethod
    def _error(status: int) -> web.HTTPError:
        payload = {"error": {"code": ERROR_CODES.get(status, "Error"), "message": f"fake {status}"}}
        return _json_error(status, payload)

    async def _get_schedule(self, request: web.Request) -> web.Response:
        body = await self._prelude(request, "getSchedule")
        start = utc(ci(body, "StartTime", "dateTime"), ci(body, "StartTime", "timeZone"))
        end = utc(ci(body, "EndTime", "dateTime"), ci(body, "EndTime", "timeZone"))
        prefer = request.headers.get("Prefer", "")
        asked = prefer.split("=", 1)[1].strip('"') if "outlook.timezone=" in prefer else "UTC"
        value: list[dict[str, Any]] = []
        for schedule in ci(body, "Schedules") or []:
            key = schedule.lower()
            if key in self.unknown:
                message = (
                    f"Unable to resolve e-mail address {schedule} to an Active Directory object."
                )
                value.append(
                    {"scheduleId": schedule, "error": {"message": message, "responseCode": "5009"}}
                )
                continue
            zone = self.answer_zone.get(key, asked)
            blocks = list(self.busy.get(key, []))
            blocks += [
                (utc(e["start"]["dateTime"]), utc(e["end"]["dateTime"]))
                for e in self.events.values()
                if e["organizer"] == key and not e.get("isCancelled")
            ]
            items = [
                {"status": "busy", "start": graph_time(s, zone), "end": graph_time(e, zone)}
                for s, e in sorted(blocks)
                if s < end and start < e
            ]
            entry: dict[str, Any] = {
                "scheduleId": schedule,
                "availabilityView": "",
                "scheduleItems": items,
            }
            hours = self.working_hours.get(key, working_hours())
            if hours is not None:
                entry["workingHours"] = hours
            value.append(entry)
        await self._lose_reply("getSchedule")
        return web.json_response({"value": value})

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._prelude(request, "createEvent")
        organizer = request.match_info["user"].lower()
        txn = ci(body, "transactionId")
        for event in self.events.values():
            if txn and event.get("transactionId") == txn:
                await self._lose_reply("createEvent")
                return web.json_response(event, status=201)
        event_id = f"AAMk-fake-{next(self._ids)}"
        event = {
            "id": event_id,
            "subject": ci(body, "subject"),
            "start": {"dateTime": ci(body, "start", "dateTime"), "timeZone": "UTC"},
            "end": {"dateTime": ci(body, "end", "dateTime"), "timeZone": "UTC"},
            "transactionId": txn,
            "isOnlineMeeting": True,
            "onlineMeetingProvider": "teamsForBusiness",
            "onlineMeeting": {"joinUrl": f"https://teams.microsoft.com/l/meetup-join/{event_id}"},
            "organizer": organizer,
            "attendees": ci(body, "attendees"),
        }
        self.events[event_id] = event
        await self._lose_reply("createEvent")
        return web.json_response(event, status=201)

    async def _calendar_view(self, request: web.Request) -> web.Response:
        await self._prelude(request, "calendarView")
        organizer = request.match_info["user"].lower()
        start = utc(request.query["startDateTime"].rstrip("Z"))
        end = utc(request.query["endDateTime"].rstrip("Z"))
        value = [
            {
                "id": e["id"],
                "transactionId": e["transactionId"],
                "isCancelled": bool(e.get("isCancelled")),
                "onlineMeeting": e["onlineMeeting"],
            }
            for e in self.events.values()
            if e["organizer"] == organizer
            and utc(e["start"]["dateTime"]) < end
            and start < utc(e["end"]["dateTime"])
        ]
        await self._lose_reply("calendarView")
        return web.json_response({"value": value})

    async def _update(self, request: web.Request) -> web.Response:
        body = await self._prelude(request, "updateEvent")
        event = self.events.get(request.match_info["event"])
        if event is None:
            raise self._error(404)
        for key in ("start", "end"):
            if ci(body, key) is not None:
                event[key] = {"dateTime": ci(body, key, "dateTime"), "timeZone": "UTC"}
        await self._lose_reply("updateEvent")
        return web.json_response(event)

    async def _cancel(self, request: web.Request) -> web.Response:
        await self._prelude(request, "cancelEvent")
        event = self.events.get(request.match_info["event"])
        if event is None:
            raise self._error(404)
        event["isCancelled"] = True
        await self._lose_reply("cancelEvent")
        return web.Response(status=202)


class _Failure(web.HTTPError):
    def __init__(
        self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        self.status_code = status
        super().__init__(text=json.dumps(payload), content_type="application/json", headers=headers)


def _json_error(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> web.HTTPError:
    return _Failure(status, payload, headers)


def teams_table(base_url: str, **overrides: object) -> str:
    """A ``[plugins.teams]`` TOML table for the fake (retries off, static token)."""
    values: dict[str, object] = {
        "tenant_id": "00000000-0000-0000-0000-000000000001",
        "client_id": "00000000-0000-0000-0000-000000000002",
        "client_secret": "${TEAMS_CLIENT_SECRET}",
        "organizers": [ORGANIZER],
        "rep_timezone": "America/New_York",
        "graph_base_url": base_url,
        "local_token": TOKEN,
        "max_retries": 0,
        "timeout_seconds": 5,
    }
    values.update(overrides)
    lines = ["[plugins.teams]"]
    for key, value in values.items():
        if isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        elif isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, list):
            items = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value)
            lines.append(f"{key} = [{items}]")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"


SECRET_ENV = {"TEAMS_CLIENT_SECRET": "s3cr3t-value-never-spoken"}
