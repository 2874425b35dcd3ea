"""Logging a finished call in Salesforce as a Task (sync; run in a worker thread).

Idempotency: the Task's ``CallObject`` holds ``voicekit:<call_id>``; a SOQL query for it
runs before the Task is created, so ``voicekit journal retry`` never duplicates it.
Endpoints: ``GET .../query/``, ``POST .../sobjects/Task/``, ``PATCH .../sobjects/Lead/{Id}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .client import client_for, salesforce_error
from .records import _forget_on_expiry, create_lead, find_person

if TYPE_CHECKING:
    from voicekit_core import CallReport

    from .settings import SalesforceSettings

LEAD_PREFIX = "00Q"  # Salesforce key prefix of Lead ids


def call_object(report: CallReport) -> str:
    """``voicekit:<call_id>``: the Task's ``CallObject`` and idempotency key."""
    return f"voicekit:{report.call_id}"


def task_fields(report: CallReport, who_id: str) -> dict[str, Any]:
    """The ``POST .../sobjects/Task/`` body: ``TaskSubtype=Call``, ``CallType``
    (Outbound/Inbound), ``CallDurationInSeconds`` (int), ``CallDisposition`` (our
    disposition), ``Description`` (summary, then the transcript), ``WhoId``."""
    description = report.summary()
    if report.transcript:
        description += "\n\nTranscript:\n" + report.transcript_text()
    return {
        "Subject": f"Call: {report.disposition.value.replace('_', ' ')}",
        "TaskSubtype": "Call",
        "Type": "Call",
        "CallType": report.direction.title(),
        "CallDurationInSeconds": round(report.duration_seconds),
        "CallDisposition": report.disposition.value,
        "CallObject": call_object(report),
        "Description": description[:32000],
        "Status": "Completed",
        "ActivityDate": report.started_at.date().isoformat(),
        "WhoId": who_id,
    }


def deliver(
    report: CallReport, settings: SalesforceSettings, base_dir: Path | None = None
) -> dict[str, Any]:
    """Log ``report`` as a completed call Task on its Lead/Contact; returns the ids touched.

    The record is the lead's ``crm_id`` when the lead came from Salesforce, else the
    Lead/Contact found by phone, else (``create_missing``) a new Lead. When the record is
    a Lead and ``lead_statuses`` maps the disposition, the Lead ``Status`` is updated.
    Returns ``{"who_id", "task_id", "lead_status"?, "lead_created"?}`` or
    ``{"skipped": reason}``. Raises :class:`~voicekit_salesforce.client.SalesforceError`.
    """
    lead = report.lead or {}
    who_id = lead.get("crm_id") if lead.get("source") == "salesforce" else None
    result: dict[str, Any] = {}
    if not who_id:
        match = find_person(
            report.phone, settings, base_dir=base_dir, timeout=settings.request_timeout_seconds
        )
        if match is not None:
            who_id = match.id
        elif settings.create_missing:
            who_id = create_lead(lead, report.phone, settings, base_dir)
            result["lead_created"] = True
        else:
            return {
                "skipped": f"no Salesforce Lead or Contact has phone {report.phone} "
                "and create_missing is off"
            }
    result["who_id"] = who_id
    sf = client_for(settings, base_dir)
    result["task_id"] = _find_or_create_task(sf, report, who_id, settings, base_dir)
    status = settings.lead_statuses.get(report.disposition.value)
    if status and who_id.startswith(LEAD_PREFIX):
        try:
            sf.Lead.update(who_id, {"Status": status})
        except Exception as exc:
            _forget_on_expiry(exc, settings, base_dir)
            raise salesforce_error(exc, settings, "Lead status update") from None
        result["lead_status"] = status
    return result


def _find_or_create_task(
    sf: Any, report: CallReport, who_id: str, settings: SalesforceSettings, base_dir: Path | None
) -> str:
    from simple_salesforce import format_soql

    try:
        found = sf.query(
            format_soql("SELECT Id FROM Task WHERE CallObject = {} LIMIT 1", call_object(report)),
            timeout=settings.request_timeout_seconds,
        )
        if found.get("records"):
            return str(found["records"][0]["Id"])
        created = sf.Task.create(task_fields(report, who_id))
    except Exception as exc:
        _forget_on_expiry(exc, settings, base_dir)
        raise salesforce_error(exc, settings, "Task create") from None
    return str(created["id"])
