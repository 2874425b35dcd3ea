"""Step-by-step state of one plugin's post-call delivery, persisted as it is written.

A ``post_call`` implementation that creates several records (a call, then a note, then a
task) records each created id with :meth:`DeliveryState.save` the moment the vendor
returns it. ``save`` writes through to the journal before returning, so when the
delivery fails half-way (or the process is killed) the next ``voicekit journal retry``
sees what already exists and resumes from there instead of creating duplicates::

    @hookimpl
    def post_call(report, config, delivery):
        call_id = delivery.get("call_id")
        if call_id is None:
            call_id = crm.create_call(report)          # one non-idempotent create...
            delivery.save("call_id", call_id)          # ...recorded at once
        if delivery.get("note_id") is None:
            delivery.save("note_id", crm.create_note(call_id, report))

Values must be JSON-able. Plugin tests may build a ``DeliveryState()`` with no journal.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

Persist = Callable[[dict[str, Any]], None]


class DeliveryState:
    """The ``delivery`` argument of ``post_call``: a small JSON dict that survives retries.

    :param state: what earlier attempts saved (empty on the first attempt).
    :param attempt: 1 on the first delivery attempt, 2 on the first retry, and so on.
    :param persist: called with the whole state after every :meth:`save`; the journal
        passes a function that writes it in its own transaction. Raises whatever the
        store raises, so a step that could not be recorded is not reported as done.
    """

    def __init__(
        self,
        state: dict[str, Any] | None = None,
        *,
        attempt: int = 1,
        persist: Persist | None = None,
    ):
        self._state: dict[str, Any] = copy.deepcopy(state) if state else {}
        self.attempt = attempt
        self._persist = persist

    def get(self, key: str, default: Any = None) -> Any:
        """The value an earlier step (of this or an earlier attempt) saved under ``key``."""
        return self._state.get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self._state

    def save(self, key: str, value: Any) -> None:
        """Record ``key = value`` (JSON-able) and persist it before returning."""
        self._state[key] = value
        if self._persist is not None:
            self._persist(copy.deepcopy(self._state))

    def as_dict(self) -> dict[str, Any]:
        """A copy of everything saved so far."""
        return copy.deepcopy(self._state)

    def __repr__(self) -> str:
        return f"DeliveryState(attempt={self.attempt}, keys={sorted(self._state)})"
