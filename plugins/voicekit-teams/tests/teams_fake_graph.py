"""A small fake of the Microsoft Graph endpoints voicekit-teams calls, on 127.0.0.1.

* ``POST /v1.0/users/{id}/calendar/getSchedule`` - free/busy from ``busy`` + booked events
* ``POST /v1.0/users/{id}/events`` - creates a Teams event; a known ``transactionId``
  returns the existing event (as Graph does)
* ``PATCH /v1.0/users/{id}/events/{event}`` and ``POST .../events/{event}/cancel``
* ``GET /v1.0/users/{id}/calendar/calendarView?startDateTime=..&endDateTime=..`` - the
  organizer's events overlapping the window (with ``transactionId``)

JSON keys are matched case-insensitively (the SDK sends some PascalCase). ``fail`` injects
errors by operation name (``getSchedule``, ``createEvent``, ``updateEvent``,
``cancelEvent``, ``calendarView``) as ``{"error": {"code", "message"}}`` bodies, on every
request; ``commit_then_fail[operation]`` answers the next requests with those statuses
*after* carrying them out (a gateway losing Graph's reply); ``fail_once[operation]``
answers the next requests with those statuses without carrying them out.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

TOKEN = "test-token"
ORGANIZER = "alex.rivera@tdx.example"
ERROR_CODES = {
    401: "InvalidAuthenticationToken",
    403: "ErrorAccessDenied",
    404: "ErrorItemNotFound",
    503: "ServiceUnavailable",
}


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


def graph_time(moment: datetime) -> dict[str, str]:
    return {
        "dateTime": moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    operation: str


@dataclass
class FakeGraph:
    busy: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, int] = field(default_factory=dict)
    fail_once: dict[str, list[int]] = field(default_factory=dict)
    commit_then_fail: dict[str, list[int]] = field(default_factory=dict)
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
        if operation in self.fail:
            raise self._error(self.fail[operation])
        if self.fail_once.get(operation):
            raise self._error(self.fail_once[operation].pop(0))
        return body

    def _lose_reply(self, operation: str) -> None:
        """After the work is done: fail the reply if ``commit_then_fail`` says so."""
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
        value = []
        for schedule in ci(body, "Schedules") or []:
            blocks = list(self.busy.get(schedule.lower(), []))
            blocks += [
                (utc(e["start"]["dateTime"]), utc(e["end"]["dateTime"]))
                for e in self.events.values()
                if e["organizer"] == schedule.lower() and not e.get("isCancelled")
            ]
            items = [
                {"status": "busy", "start": graph_time(s), "end": graph_time(e)}
                for s, e in sorted(blocks)
                if s < end and start < e
            ]
            value.append({"scheduleId": schedule, "availabilityView": "", "scheduleItems": items})
        return web.json_response({"value": value})

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._prelude(request, "createEvent")
        organizer = request.match_info["user"].lower()
        txn = ci(body, "transactionId")
        for event in self.events.values():
            if txn and event.get("transactionId") == txn:
                self._lose_reply("createEvent")
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
        self._lose_reply("createEvent")
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
        return web.json_response({"value": value})

    async def _update(self, request: web.Request) -> web.Response:
        body = await self._prelude(request, "updateEvent")
        event = self.events.get(request.match_info["event"])
        if event is None:
            raise self._error(404)
        for key in ("start", "end"):
            if ci(body, key) is not None:
                event[key] = {"dateTime": ci(body, key, "dateTime"), "timeZone": "UTC"}
        return web.json_response(event)

    async def _cancel(self, request: web.Request) -> web.Response:
        await self._prelude(request, "cancelEvent")
        event = self.events.get(request.match_info["event"])
        if event is None:
            raise self._error(404)
        event["isCancelled"] = True
        return web.Response(status=202)


class _Failure(web.HTTPError):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        self.status_code = status
        super().__init__(text=json.dumps(payload), content_type="application/json")


def _json_error(status: int, payload: dict[str, Any]) -> web.HTTPError:
    return _Failure(status, payload)


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
