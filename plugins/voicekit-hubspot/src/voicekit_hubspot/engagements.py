"""Logging a finished call in HubSpot (sync; run in a worker thread).

No record is created twice, even when HubSpot stores a create and then answers 5xx, or
the process dies between a create and its reply (``post_call``'s ``delivery`` state):

1. every created id is saved (``delivery.save("call_id", ...)``) as soon as HubSpot returns
   it, and a retry skips the steps whose id is saved;
2. before each create, ``<step>_unconfirmed_at`` is saved (write-ahead). A definite answer
   (success, or a refusal such as 400/401/409/429) clears it; a 5xx, a timeout or a dead
   process leaves it, which is exactly when the record may exist with its id unknown;
3. a step with no saved id is searched for before it is created (``POST
   /crm/v3/objects/{type}/search`` on the call-id key). After an unconfirmed create it is
   also looked for among the contact's associated records (``GET
   /crm/v4/objects/contacts/{id}/associations/{type}`` then ``POST
   /crm/v3/objects/{type}/batch/read``): unlike search, that sees a record as soon as it is
   written. A create whose outcome is unknown is checked that way at once;
4. an unconfirmed create that neither lookup finds is not repeated until
   ``index_lag_seconds`` after the attempt: the delivery fails with
   :class:`~voicekit_hubspot.client.HubSpotPendingError` and a later retry looks again;
5. the HTTP client never resends a create itself
   (:class:`~voicekit_hubspot.client.CreateSafeRetry`).

Keys (HubSpot has no idempotency key or unique-value property for calls, notes and
tasks): the call's ``hs_call_external_id`` (HubSpot's field for a call's id in the calling
system) = ``voicekit:<call_id>``, or ``hs_call_title`` for calls logged before it was set;
the ``voicekit-call-<call_id>`` token in the note's ``hs_note_body``; the task's
``hs_task_subject``. A created contact is keyed by its email, HubSpot's unique contact
property (a duplicate create answers 409 with the existing id; ``GET
/crm/v3/objects/contacts/{email}?idProperty=email`` reads it without the search index).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Protocol

from .client import HubSpotError, HubSpotPendingError, client_for, hubspot_error
from .contacts import _id_key, contact_properties, find_contact
from .settings import CONNECTED

if TYPE_CHECKING:
    from voicekit_core import CallReport

    from .settings import HubSpotSettings


class StepState(Protocol):
    """What ``deliver`` needs of :class:`voicekit_core.delivery_state.DeliveryState`."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def save(self, key: str, value: Any) -> None: ...


Clock = Callable[[], datetime]

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


#: Association pages (500 ids each) and newest associated records read when looking for
#: a record whose create had an unknown outcome.
ASSOCIATION_PAGES = 10
ASSOCIATED_CHECKED = 500


def call_title(report: CallReport) -> str:
    """``voicekit call <call_id>``: the call engagement's title."""
    return f"voicekit call {report.call_id}"


def call_key(report: CallReport) -> str:
    """``voicekit:<call_id>``: the call engagement's ``hs_call_external_id`` and key."""
    return f"voicekit:{report.call_id}"


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
        "hs_call_external_id": call_key(report),
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


@dataclass(frozen=True)
class Engagement:
    """One record :func:`deliver` creates on the contact (call, note or task).

    ``step`` names its delivery-state keys (``<step>_id``, ``<step>_unconfirmed_at``);
    ``key_groups`` are the search ``filterGroups`` (OR'ed) that find it; ``key_properties``
    the properties that carry the key and ``matches`` tells whether a record's properties
    carry it.
    """

    step: str
    object_type: str
    association_type: int
    properties: dict[str, str]
    key_groups: list[list[dict[str, str]]]
    key_properties: list[str]
    matches: Callable[[dict[str, Any]], bool]


def call_engagement(report: CallReport, settings: HubSpotSettings) -> Engagement:
    """The call engagement (association 194), keyed by ``hs_call_external_id``."""
    key, title = call_key(report), call_title(report)
    return Engagement(
        "call",
        "calls",
        CALL_TO_CONTACT,
        call_properties(report, settings),
        [
            [{"propertyName": "hs_call_external_id", "operator": "EQ", "value": key}],
            [{"propertyName": "hs_call_title", "operator": "EQ", "value": title}],
        ],
        ["hs_call_external_id", "hs_call_title"],
        lambda p: p.get("hs_call_external_id") == key or p.get("hs_call_title") == title,
    )


def note_engagement(report: CallReport, body: str) -> Engagement:
    """The BANT note (association 202), keyed by its ``voicekit-call-<id>`` token."""
    marker = note_marker(report)
    return Engagement(
        "note",
        "notes",
        NOTE_TO_CONTACT,
        {"hs_timestamp": _ts(report), "hs_note_body": body},
        [[{"propertyName": "hs_note_body", "operator": "CONTAINS_TOKEN", "value": marker}]],
        ["hs_note_body"],
        lambda p: marker in str(p.get("hs_note_body") or ""),
    )


def task_engagement(report: CallReport, settings: HubSpotSettings) -> Engagement:
    """The follow-up task (association 204), keyed by its subject."""
    subject = task_subject(report)
    due = report.ended_at + timedelta(days=settings.follow_up_days)
    return Engagement(
        "task",
        "tasks",
        TASK_TO_CONTACT,
        {
            "hs_timestamp": due.isoformat().replace("+00:00", "Z"),
            "hs_task_subject": subject,
            "hs_task_body": report.summary(),
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "CALL",
        },
        [[{"propertyName": "hs_task_subject", "operator": "EQ", "value": subject}]],
        ["hs_task_subject"],
        lambda p: p.get("hs_task_subject") == subject,
    )


def deliver(
    report: CallReport,
    settings: HubSpotSettings,
    delivery: StepState,
    *,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Log ``report`` against its HubSpot contact, resuming from ``delivery``; returns the
    ids touched.

    Steps: resolve the contact (the lead's ``crm_id`` when the lead came from HubSpot, else
    a search by phone, else create it if ``create_missing``); the call engagement
    (association 194); the BANT note (202) if qualified data exists; contact properties
    from ``contact_updates`` (``PATCH``); a follow-up task (204) for the
    ``follow_up_dispositions``. Each step's outcome is saved in ``delivery`` as it happens
    (see the module docstring). Returns ``{"contact_id", "contact_created"?, "call_id",
    "note_id"?, "updated"?, "task_id"?}`` or ``{"skipped": reason}`` when no contact exists.

    Raises :class:`~voicekit_hubspot.client.HubSpotError` after retries (``outcome_unknown``
    when a create may have happened) and :class:`~voicekit_hubspot.client.HubSpotPendingError`
    while such a create can be neither confirmed nor safely repeated.
    """
    now = clock or _utcnow
    lead = report.lead or {}
    contact_id = delivery.get("contact_id")
    if not contact_id and lead.get("source") == "hubspot" and lead.get("crm_id"):
        contact_id = str(lead["crm_id"])
        delivery.save("contact_id", contact_id)
    if not contact_id:
        if settings.create_missing:
            contact_id = _ensure_contact(report, settings, delivery, now)
        else:
            match = find_contact(report.phone, settings, timeout=settings.request_timeout_seconds)
            if match is None:
                return {
                    "skipped": f"no HubSpot contact has phone {report.phone} "
                    "and create_missing is off"
                }
            contact_id = match.id
            delivery.save("contact_id", contact_id)

    _ensure_engagement(call_engagement(report, settings), contact_id, settings, delivery, now)
    body = note_body(report)
    if body:
        _ensure_engagement(note_engagement(report, body), contact_id, settings, delivery, now)
    updates = settings.contact_updates.get(report.disposition.value) or {}
    if updates and delivery.get("contact_updated") != updates:
        _update_contact(settings, contact_id, updates)
        delivery.save("contact_updated", updates)
    if settings.follow_up_task and report.disposition.value in settings.follow_up_dispositions:
        _ensure_engagement(task_engagement(report, settings), contact_id, settings, delivery, now)

    result: dict[str, Any] = {"contact_id": contact_id}
    if delivery.get("contact_created"):
        result["contact_created"] = True
    for step in ("call", "note"):
        if delivery.get(f"{step}_id"):
            result[f"{step}_id"] = delivery.get(f"{step}_id")
    if updates:
        result["updated"] = updates
    if delivery.get("task_id"):
        result["task_id"] = delivery.get("task_id")
    return result


def _ensure(
    step: str,
    what: str,
    settings: HubSpotSettings,
    delivery: StepState,
    now: Clock,
    *,
    search: Callable[[], str | None],
    recheck: Callable[[], str | None],
    create: Callable[[], str],
) -> str:
    """The id of ``step``'s record: saved, found, or created exactly once (see the module
    docstring for the rules). ``search`` may miss recent writes; ``recheck`` must not."""
    saved = delivery.get(f"{step}_id")
    if saved:
        return str(saved)
    marker = f"{step}_unconfirmed_at"
    unconfirmed = delivery.get(marker)
    found = search()
    if found is None and unconfirmed:
        found = recheck()
    if found is None and unconfirmed:
        waited = (now() - datetime.fromisoformat(unconfirmed)).total_seconds()
        if waited < settings.index_lag_seconds:
            raise HubSpotPendingError(
                f"HubSpot {what} create at {unconfirmed} may have succeeded (its reply was "
                f"lost) and is not found yet; HubSpot search can lag writes, so it is not "
                f"created again until {settings.index_lag_seconds:g} s after that attempt "
                "([plugins.hubspot] index_lag_seconds): retry later",
                outcome_unknown=True,
            )
    if found is None:
        delivery.save(marker, _iso(now()))  # write-ahead: survives a crash mid-request
        try:
            found = create()
        except HubSpotError as error:
            if not error.outcome_unknown:
                delivery.save(marker, None)
                raise
            try:
                found = recheck()  # stored before the 5xx / timeout?
            except HubSpotError as check:
                raise HubSpotError(
                    f"{error}; whether it was stored could not be checked ({check}); the "
                    "next attempt looks for it before creating it",
                    error.status,
                    outcome_unknown=True,
                ) from None
            if found is None:
                raise HubSpotError(
                    f"{error}; not found after it either, so the next attempt looks for it "
                    "again before creating it",
                    error.status,
                    outcome_unknown=True,
                ) from None
    delivery.save(f"{step}_id", found)
    if delivery.get(marker):
        delivery.save(marker, None)
    return found


def _ensure_engagement(
    engagement: Engagement,
    contact_id: str,
    settings: HubSpotSettings,
    delivery: StepState,
    now: Clock,
) -> str:
    return _ensure(
        engagement.step,
        engagement.object_type,
        settings,
        delivery,
        now,
        search=lambda: _search(settings, engagement),
        recheck=lambda: _associated(settings, engagement, contact_id),
        create=lambda: _create(settings, engagement, contact_id),
    )


def _ensure_contact(
    report: CallReport, settings: HubSpotSettings, delivery: StepState, now: Clock
) -> str:
    """The contact for ``report.phone``: found by phone, or created (``create_missing``)."""
    lead = report.lead or {}
    properties = contact_properties(lead, report.phone)
    email = properties.get("email")

    def search() -> str | None:
        match = find_contact(report.phone, settings, timeout=settings.request_timeout_seconds)
        return match.id if match is not None else None

    def recheck() -> str | None:
        return _contact_by_email(settings, email) if email else None

    def create() -> str:
        contact_id, created = _create_contact(settings, properties)
        if created:
            delivery.save("contact_created", True)
        return contact_id

    contact_id = _ensure(
        "contact", "contact", settings, delivery, now, search=search, recheck=recheck, create=create
    )
    return contact_id


def _search(settings: HubSpotSettings, engagement: Engagement) -> str | None:
    """``POST /crm/v3/objects/{type}/search`` for the engagement's key; the first id or None."""
    api = getattr(client_for(settings).crm.objects, engagement.object_type)
    try:
        found = api.search_api.do_search(
            public_object_search_request={
                "filterGroups": [{"filters": group} for group in engagement.key_groups],
                "properties": engagement.key_properties,
                "limit": 1,
            },
            _request_timeout=settings.request_timeout_seconds,
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, f"{engagement.object_type} search") from None
    return str(found.results[0].id) if found.results else None


def _associated(settings: HubSpotSettings, engagement: Engagement, contact_id: str) -> str | None:
    """The contact's associated record carrying the engagement's key, or None.

    ``GET /crm/v4/objects/contacts/{id}/associations/{type}`` (up to ``ASSOCIATION_PAGES``
    pages of 500), then ``POST /crm/v3/objects/{type}/batch/read`` of the newest
    ``ASSOCIATED_CHECKED`` ids, 100 at a time. Neither reads the search index.
    """
    client = client_for(settings)
    timeout = settings.request_timeout_seconds
    ids: list[str] = []
    after: str | None = None
    try:
        for _ in range(ASSOCIATION_PAGES):
            options: dict[str, Any] = {"limit": 500, "_request_timeout": timeout}
            if after:
                options["after"] = after
            page = client.crm.associations.v4.basic_api.get_page(
                "contacts", contact_id, engagement.object_type, **options
            )
            ids += [str(item.to_object_id) for item in page.results or []]
            following = page.paging.next if page.paging else None
            after = following.after if following else None
            if not after:
                break
    except Exception as exc:
        raise hubspot_error(exc, settings, f"contact {engagement.object_type} listing") from None
    newest = sorted(set(ids), key=_id_key, reverse=True)[:ASSOCIATED_CHECKED]
    api = getattr(client.crm.objects, engagement.object_type)
    for first in range(0, len(newest), 100):
        try:
            batch = api.batch_api.read(
                batch_read_input_simple_public_object_id={
                    "inputs": [{"id": oid} for oid in newest[first : first + 100]],
                    "properties": engagement.key_properties,
                    "propertiesWithHistory": [],
                },
                _request_timeout=timeout,
            )
        except Exception as exc:
            raise hubspot_error(exc, settings, f"{engagement.object_type} batch read") from None
        for obj in batch.results or []:
            if engagement.matches(obj.properties or {}):
                return str(obj.id)
    return None


def _create(settings: HubSpotSettings, engagement: Engagement, contact_id: str) -> str:
    """``POST /crm/v3/objects/{type}`` associated to the contact; returns the new id."""
    api = getattr(client_for(settings).crm.objects, engagement.object_type)
    body = {
        "properties": {k: v for k, v in engagement.properties.items() if v != ""},
        "associations": [
            {
                "to": {"id": contact_id},
                "types": [
                    {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": engagement.association_type,
                    }
                ],
            }
        ],
    }
    try:
        created = api.basic_api.create(
            simple_public_object_input_for_create=body,
            _request_timeout=settings.request_timeout_seconds,
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, f"{engagement.object_type} create") from None
    return str(created.id)


_EXISTING_ID = re.compile(r"Existing ID: (\d+)")


def _create_contact(settings: HubSpotSettings, properties: dict[str, str]) -> tuple[str, bool]:
    """``POST /crm/v3/objects/contacts``; returns ``(id, created)``. A 409 for an email
    that already belongs to a contact returns that contact's id (``created`` False)."""
    try:
        created = client_for(settings).crm.contacts.basic_api.create(
            simple_public_object_input_for_create={"properties": properties, "associations": []},
            _request_timeout=settings.request_timeout_seconds,
        )
    except Exception as exc:
        if getattr(exc, "status", None) == 409:
            existing = _EXISTING_ID.search(str(getattr(exc, "body", "") or ""))
            if existing:
                return existing.group(1), False
        raise hubspot_error(exc, settings, "contact create") from None
    return str(created.id), True


def _contact_by_email(settings: HubSpotSettings, email: str) -> str | None:
    """``GET /crm/v3/objects/contacts/{email}?idProperty=email``: a direct read by HubSpot's
    unique contact key (not the search index); None on 404."""
    try:
        contact = client_for(settings).crm.contacts.basic_api.get_by_id(
            email, id_property="email", _request_timeout=settings.request_timeout_seconds
        )
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            return None
        raise hubspot_error(exc, settings, "contact read by email") from None
    return str(contact.id)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _ts(report: CallReport) -> str:
    return report.started_at.isoformat().replace("+00:00", "Z")


def _update_contact(settings: HubSpotSettings, contact_id: str, updates: dict[str, str]) -> None:
    """``PATCH /crm/v3/objects/contacts/{id}`` (idempotent by nature)."""
    try:
        client_for(settings).crm.contacts.basic_api.update(
            contact_id,
            simple_public_object_input={"properties": updates},
            _request_timeout=settings.request_timeout_seconds,
        )
    except Exception as exc:
        raise hubspot_error(exc, settings, "contact update") from None
