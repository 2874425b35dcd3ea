"""Logging a finished call in Salesforce as a Task (sync; run in a worker thread).

No record is created twice, even when Salesforce commits a create and then answers 5xx,
or the process dies between a create and its reply (``post_call``'s ``delivery`` state):

* every created id is saved (``delivery.save("task_id", ...)``) as soon as Salesforce
  returns it, and a retry skips the steps whose id is saved;
* with ``task_external_id_field`` set, the Task is *upserted* by the call id (``PATCH
  .../sobjects/Task/{field}/{call_id}``): idempotent, so it is simply repeated;
* otherwise the Task carries ``CallObject = voicekit:<call_id>`` and is looked up by a
  SOQL query on it before it is created (SOQL reads the database, not a search index,
  so a committed Task is found at once). Before the ``POST``, ``task_unconfirmed_at`` is
  saved (write-ahead); a definite answer clears it. A create answered 5xx or cut off is
  looked up at once; if it is not found it is not created again until
  ``unconfirmed_wait_seconds`` after the attempt (its transaction may still commit);
* a created Lead (``create_missing``) follows the same rules, found again by phone;
* the HTTP client never resends a create itself
  (:class:`~voicekit_salesforce.client.CreateSafeRetry`).

Endpoints: ``GET .../query/``, ``POST .../sobjects/Task/`` (or ``PATCH
.../sobjects/Task/{field}/{call_id}`` and ``GET`` of the same path), ``POST
.../sobjects/Lead/``, ``PATCH .../sobjects/Lead/{Id}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from .client import SalesforceError, SalesforcePendingError, client_for, salesforce_error
from .records import _forget_on_expiry, create_lead, find_person

if TYPE_CHECKING:
    from voicekit_core import CallReport

    from .settings import SalesforceSettings


class StepState(Protocol):
    """What ``deliver`` needs of :class:`voicekit_core.delivery_state.DeliveryState`."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def save(self, key: str, value: Any) -> None: ...


Clock = Callable[[], datetime]

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
    report: CallReport,
    settings: SalesforceSettings,
    base_dir: Path | None,
    delivery: StepState,
    *,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Log ``report`` as a completed call Task on its Lead/Contact, resuming from
    ``delivery``; returns the ids touched.

    The record is the lead's ``crm_id`` when the lead came from Salesforce, else the
    Lead/Contact found by phone, else (``create_missing``) a new Lead. When the record is
    a Lead and ``lead_statuses`` maps the disposition, the Lead ``Status`` is updated
    (``PATCH``, idempotent). Each step is saved in ``delivery`` as it happens (see the
    module docstring). Returns ``{"who_id", "task_id", "lead_status"?, "lead_created"?}``
    or ``{"skipped": reason}``. Raises :class:`~voicekit_salesforce.client.SalesforceError`
    (``outcome_unknown`` when a create may have happened) and
    :class:`~voicekit_salesforce.client.SalesforcePendingError` while such a create can be
    neither confirmed nor safely repeated.
    """
    now = clock or _utcnow
    lead = report.lead or {}
    who_id = delivery.get("who_id")
    if not who_id and lead.get("source") == "salesforce" and lead.get("crm_id"):
        who_id = str(lead["crm_id"])
        delivery.save("who_id", who_id)
    if not who_id:

        def search_person() -> str | None:
            match = find_person(
                report.phone, settings, base_dir=base_dir, timeout=settings.request_timeout_seconds
            )
            return match.id if match is not None else None

        if settings.create_missing:

            def create() -> str:
                lead_id = create_lead(lead, report.phone, settings, base_dir)
                delivery.save("lead_created", True)
                return lead_id

            who_id = _ensure(
                "who", "Lead", settings, delivery, now, search=search_person, create=create
            )
        else:
            who_id = search_person()
            if who_id is None:
                return {
                    "skipped": f"no Salesforce Lead or Contact has phone {report.phone} "
                    "and create_missing is off"
                }
            delivery.save("who_id", who_id)

    sf = client_for(settings, base_dir)
    if not delivery.get("task_id"):
        if settings.task_external_id_field:
            delivery.save("task_id", _upsert_task(sf, report, who_id, settings, base_dir))
        else:
            _ensure(
                "task",
                "Task",
                settings,
                delivery,
                now,
                search=lambda: _find_task(sf, report, settings, base_dir),
                create=lambda: _create_task(sf, report, who_id, settings, base_dir),
            )
    status = settings.lead_statuses.get(report.disposition.value)
    if status and who_id.startswith(LEAD_PREFIX) and delivery.get("lead_status") != status:
        try:
            sf.Lead.update(who_id, {"Status": status})
        except Exception as exc:
            _forget_on_expiry(exc, settings, base_dir)
            raise salesforce_error(exc, settings, "Lead status update") from None
        delivery.save("lead_status", status)

    result: dict[str, Any] = {"who_id": who_id, "task_id": delivery.get("task_id")}
    if delivery.get("lead_status"):
        result["lead_status"] = delivery.get("lead_status")
    if delivery.get("lead_created"):
        result["lead_created"] = True
    return result


def _ensure(
    step: str,
    what: str,
    settings: SalesforceSettings,
    delivery: StepState,
    now: Clock,
    *,
    search: Callable[[], str | None],
    create: Callable[[], str],
) -> str:
    """The id of ``step``'s record (saved as ``<step>_id``): saved, found by ``search`` (a
    consistent SOQL read), or created once, with a write-ahead ``<step>_unconfirmed_at``."""
    saved = delivery.get(f"{step}_id")
    if saved:
        return str(saved)
    marker = f"{step}_unconfirmed_at"
    unconfirmed = delivery.get(marker)
    found = search()
    if found is None and unconfirmed:
        waited = (now() - datetime.fromisoformat(unconfirmed)).total_seconds()
        if waited < settings.unconfirmed_wait_seconds:
            raise SalesforcePendingError(
                f"Salesforce {what} create at {unconfirmed} may have succeeded (its reply was "
                "lost) and is not found yet; it is not created again until "
                f"{settings.unconfirmed_wait_seconds:g} s after that attempt "
                "([plugins.salesforce] unconfirmed_wait_seconds): retry later",
                outcome_unknown=True,
            )
    if found is None:
        delivery.save(marker, now().astimezone(timezone.utc).isoformat())  # write-ahead
        try:
            found = create()
        except SalesforceError as error:
            if not error.outcome_unknown:
                delivery.save(marker, None)
                raise
            try:
                found = search()  # committed before the 5xx / timeout?
            except SalesforceError as check:
                raise SalesforceError(
                    f"{error}; whether it was stored could not be checked ({check}); the "
                    "next attempt looks for it before creating it",
                    error.status,
                    outcome_unknown=True,
                ) from None
            if found is None:
                raise SalesforceError(
                    f"{error}; not found after it either, so the next attempt looks for it "
                    "again before creating it",
                    error.status,
                    outcome_unknown=True,
                ) from None
    delivery.save(f"{step}_id", found)
    if delivery.get(marker):
        delivery.save(marker, None)
    return found


def _find_task(
    sf: Any, report: CallReport, settings: SalesforceSettings, base_dir: Path | None
) -> str | None:
    """``SELECT Id FROM Task WHERE CallObject = 'voicekit:<call_id>' LIMIT 1``."""
    from simple_salesforce import format_soql

    try:
        found = sf.query(
            format_soql("SELECT Id FROM Task WHERE CallObject = {} LIMIT 1", call_object(report)),
            timeout=settings.request_timeout_seconds,
        )
    except Exception as exc:
        _forget_on_expiry(exc, settings, base_dir)
        raise salesforce_error(exc, settings, "Task query") from None
    records = found.get("records") or []
    return str(records[0]["Id"]) if records else None


def _create_task(
    sf: Any, report: CallReport, who_id: str, settings: SalesforceSettings, base_dir: Path | None
) -> str:
    """``POST .../sobjects/Task/``; returns the new Task's Id."""
    try:
        created = sf.Task.create(task_fields(report, who_id))
    except Exception as exc:
        _forget_on_expiry(exc, settings, base_dir)
        raise salesforce_error(exc, settings, "Task create") from None
    return str(created["id"])


def _upsert_task(
    sf: Any, report: CallReport, who_id: str, settings: SalesforceSettings, base_dir: Path | None
) -> str:
    """``PATCH .../sobjects/Task/{field}/{call_id}`` (201 created, 200/204 updated); the
    Id comes from the reply, else from ``GET`` of the same path."""
    field = settings.task_external_id_field
    assert field is not None
    try:
        reply = sf.Task.upsert(
            f"{field}/{quote(report.call_id, safe='')}",
            task_fields(report, who_id),
            raw_response=True,
        )
        body = reply.json() if reply.content else {}
        task_id = body.get("id") if isinstance(body, dict) else None
        if not task_id:
            task_id = sf.Task.get_by_custom_id(field, report.call_id)["Id"]
    except Exception as exc:
        _forget_on_expiry(exc, settings, base_dir)
        raise salesforce_error(exc, settings, "Task upsert") from None
    return str(task_id)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)
