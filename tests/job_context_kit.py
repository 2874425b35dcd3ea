"""A small fake of livekit's ``JobContext``: the part the worker's job function
(:func:`voicekit_core.worker.serve_job`) uses. livekit-agents 1.8.9's in-process job
simulation carries no job metadata and no SIP participant, so worker tests drive the job
function with this. Imported as ``from job_context_kit import FakeJobContext``."""

from __future__ import annotations

import uuid
from types import SimpleNamespace


class FakeJobContext:
    """``job.metadata``, a ``room`` with a name, one participant (``identity``,
    ``attributes`` such as ``sip.phoneNumber``), shutdown callbacks and reasons."""

    def __init__(self, metadata: str = "", *, identity: str, attributes: dict[str, str]):
        self.job = SimpleNamespace(metadata=metadata)
        self.room = SimpleNamespace(name=f"call-{uuid.uuid4().hex[:8]}")
        self.participant = SimpleNamespace(identity=identity, attributes=attributes)
        self.connected = False
        self.callbacks: list = []
        self.shutdowns: list[str] = []
        self.rooms_deleted = 0

    async def connect(self) -> None:
        self.connected = True

    async def wait_for_participant(self, *, identity: str | None = None):
        assert identity in (None, self.participant.identity)
        return self.participant

    def add_shutdown_callback(self, callback) -> None:
        self.callbacks.append(callback)

    def shutdown(self, reason: str = "") -> None:
        self.shutdowns.append(reason)

    async def delete_room(self) -> None:
        self.rooms_deleted += 1

    async def end(self) -> None:
        """What livekit does when the job shuts down: run the shutdown callbacks."""
        for callback in self.callbacks:
            await callback()
