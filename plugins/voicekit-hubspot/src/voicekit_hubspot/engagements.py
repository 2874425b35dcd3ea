"""Logging a finished call in HubSpot (sync; run in a worker thread).

Each record is looked up before it is created (idempotency for ``voicekit journal
retry``): the call by ``hs_call_title``, the note by a ``voicekit-call-<call_id>`` token in
``hs_note_body``, the task by ``hs_task_subject``; all three carry ``report.call_id``.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .client import client_for, hubspot_error
from .contacts import create_contact, find_contact
from .settings import CONNECTED

if TYPE_CHECKING:
    from voicekit_core import CallReport

    from .settings import HubSpotSettings

#: HUBSPOT_DEFINED association type ids, engagement -> contact.
CALL_TO_CONTACT = 194
NOTE_TO_CONTACT = 202
TASK_TO_CONTACT = 204

_CALL_STATUS = {
    "no_answer": "NO_ANSWER",
    "busy": "BUSY",
    "failed": "FAILED",
    "declined": "NO_ANSWER",
}


def call_title(report: CallReport) -> str:
    """``voicekit call <call_id>``: the call engagement's title and idempotency key."""
    return f"voicekit call {report.call_id}"


def note_marker(report: CallReport) -> str:
    """The token put in the BANT note body so a re-delivery finds the note it made."""
    return f"voicekit-call-{report.call_id}"


def task_subject(report: CallReport) -> str:
    """The follow-up task's subject; it carries the call id, the idempotency key."""
    who = (report.lead or {}).get("name") or report.phone
    return f"Follow up with {who} (voicekit call {report.call_id})"


def call_properties(report: CallReport, settings: HubSpotSettings) -> dict[str, str]:
    """The ``POST /crm/v3/objects/calls`` properties for ``report``.

    ``hs_call_body`` is the summary then the transcript (HTML paragraphs);
    ``hs_call_duration`` is in milliseconds; ``hs_call_disposition`` a call-outcome GUID
    from ``call_outcomes`` (default *Connected*).
    """
    body = [f"<p>{_esc(report.summary())}</p>"]
    if report.transcript:
        lines = "<br>".join(_esc(f"{e.role}: {e.text}") for e in report.transcript)
        body.append(f"<p><b>Transcript</b><br>{lines}</p>")
    disposition = report.disposition.value
    return {
        "hs_timestamp": report.started_at.isoformat().replace("+00:00", "Z"),
        "hs_call_title": call_title(report),
        "hs_call_body": "".join(body),
        "hs_call_direction": report.direction.upper(),
        "hs_call_status": _CALL_STATUS.get(disposition, "COMPLETED"),
        "hs_call_duration": str(round(report.duration_seconds * 1000)),
        "hs_call_disposition": settings.call_outcomes.get(disposition, CONNECTED),
        "hs_call_to_number": report.phone if report.direction == "outbound" else "",
        "hs_call_from_number": report.phone if report.direction == "inbound" else "",
    }


def note_body(report: CallReport) -> str | None:
    """The BANT note (HTML) or None when the call has no qualification."""
    q = report.qualification
    if not q:
        return None
    rows = [f"<p><b>BANT qualification: {_esc(str(q.get('status', 'unknown')))}</b></p>"]
    items = [(k.title(), q[k]) for k in ("budget", "authority", "need", "timeline") if q.get(k)]
    items += [("Reason", r) for r in q.get("reasons") or []]
    if items:
        rows.append("<ul>" + "".join(f"<li>{k}: {_esc(str(v))}</li>" for k, v in items) + "</ul>")
    rows.append(f"<p>{note_marker(report)}</p>")
    return "".join(rows)


def deliver(report: CallReport, settings: HubSpotSettings) -> dict[str, Any]:
    """Log ``report`` against its HubSpot contact; returns the ids touched.

    Steps: resolve the contact (the lead's ``crm_id`` when the lead came from HubSpot,
    else a search by phone, else create it if ``create_missing``); create the call
    engagement (association 194); the BANT note (202) if qualified data exists; update
    contact properties from ``contact_updates``; a follow-up task (204) for the
    ``follow_up_dispositions``. Returns ``{"contact_id", "call_id", "note_id"?,
    "task_id"?, "updated": {...}}`` or ``{"skipped": reason}`` when no contact exists.
    Raises :class:`~voicekit_hubspot.client.HubSpotError` after retries.
    """
    lead = report.lead or {}
    contact_id = lead.get("crm_id") if lead.get("source") == "hubspot" else None
    created_contact = False
    if not contact_id:
        match = find_contact(report.phone, settings)
        if match is not None:
            contact_id = match.id
        elif settings.create_missing:
            contact_id = create_contact(lead, report.phone, settings)
            created_contact = True
        else:
            return {
                "skipped": f"no HubSpot contact has phone {report.phone} and create_missing is off"
            }
    result: dict[str, Any] = {"contact_id": contact_id}
    if created_contact:
        result["contact_created"] = True

    result["call_id"] = _find_or_create(
        settings,
        "calls",
        {"propertyName": "hs_call_title", "operator": "EQ", "value": call_title(report)},
        call_properties(report, settings),
        contact_id,
        CALL_TO_CONTACT,
    )
    body = note_body(report)
    if body:
        result["note_id"] = _find_or_create(
            settings,
            "notes",
            {
                "propertyName": "hs_note_body",
                "operator": "CONTAINS_TOKEN",
                "value": note_marker(report),
            },
            {"hs_timestamp": _ts(report), "hs_note_body": body},
            contact_id,
            NOTE_TO_CONTACT,
        )
    updates = settings.contact_updates.get(report.disposition.value) or {}
    if updates:
        _update_contact(settings, contact_id, updates)
        result["updated"] = updates
    if settings.follow_up_task and report.disposition.value in settings.follow_up_dispositions:
        due = report.ended_at + timedelta(days=settings.follow_up_days)
        result["task_id"] = _find_or_create(
            settings,
            "tasks",
            {"propertyName": "hs_task_subject", "operator": "EQ", "value": task_subject(report)},
            {
                "hs_timestamp": due.isoformat().replace("+00:00", "Z"),
                "hs_task_subject": task_subject(report),
                "hs_task_body": report.summary(),
                "hs_task_status": "NOT_STARTED",
                "hs_task_priority": "HIGH",
                "hs_task_type": "CALL",
            },
            contact_id,
            TASK_TO_CONTACT,
        )
    return result


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _ts(report: CallReport) -> str:
    return report.started_at.isoformat().replace("+00:00", "Z")


def _find_or_create(
    settings: HubSpotSettings,
    object_type: str,
    key_filter: dict[str, str],
    properties: dict[str, str],
    contact_id: str,
    association_type: int,
) -> str:
    """``POST /crm/v3/objects/{type}/search`` for ``key_filter``; if nothing matches,
    ``POST /crm/v3/objects/{type}`` associated to the contact. Returns the object id."""
    api = getattr(client_for(settings).crm.objects, object_type)
    try:
        found = api.search_api.do_search(
            public_object_search_request={
                "filterGroups": [{"filters": [key_filter]}],
                "properties": [key_filter["propertyName"]],
                "limit": 1,
            }
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, f"{object_type} search") from None
    if found.results:
        return str(found.results[0].id)
    body = {
        "properties": {k: v for k, v in properties.items() if v != ""},
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [
                    {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": association_type,
                    }
                ],
            }
        ],
    }
    try:
        created = api.basic_api.create(simple_public_object_input_for_create=body)
    except Exception as exc:
        raise hubspot_error(exc, settings, f"{object_type} create") from None
    return str(created.id)


def _update_contact(settings: HubSpotSettings, contact_id: str, updates: dict[str, str]) -> None:
    """``PATCH /crm/v3/objects/contacts/{id}`` (idempotent by nature)."""
    try:
        client_for(settings).crm.contacts.basic_api.update(
            contact_id, simple_public_object_input={"properties": updates}
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, "contact update") from None
