"""Call recording: an audio-only LiveKit room-composite egress per live call (``[recording]``).

One call, one file. The worker (:func:`voicekit_core.worker.serve_job`) makes a
:class:`CallRecording` and, once the session runs in the room (and answering-machine
detection said a person answered), calls :meth:`CallRecording.begin`: the configured
notice is said in full first, then ``Egress/StartRoomCompositeEgress`` runs in the
background, so the greeting does not wait for it. At the end of the job
:meth:`CallRecording.finish` sends ``Egress/StopEgress`` (best effort) and then finishes
the call, so the report holds the outcome in ``report.data["recording"]``::

    {"status": "ended", "egress_id": "EG_...", "location": "s3://bucket/recordings/c1.ogg",
     "started_at": "2025-01-01T10:00:00+00:00", "reason": "", "notice": "This call is ..."}

``status`` is ``disabled`` (``[recording]`` is off), ``recording`` (the egress was
accepted), ``ended`` (stopped at the call's end, or it ended by itself when the room
closed) or ``failed`` (with a one-line ``reason``). A recording failure never fails the
call: it is logged (secrets redacted) and the call goes on unrecorded.

Every request goes through :func:`.credentials.livekit_api` (failures as one line).
Storage credentials travel only inside the request; they are never logged or reported.
Voicemail calls are not recorded (detection runs before the recording starts).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any, Literal

from ..calls import utcnow
from ..redaction import redact
from .credentials import LiveKitCredentials, bounded, livekit_api, resolve_credentials
from .errors import LiveKitRequestError, TelephonyError

if TYPE_CHECKING:
    from livekit import api

    from ..calls import CallContext, CallReport
    from ..recording_config import RecordingSection
    from ..runner import CallRun

logger = logging.getLogger("voicekit.telephony.recording")

Status = Literal["recording", "failed", "disabled", "ended"]

#: Requests to start an egress, at most (the first included), when LiveKit answers 5xx or
#: drops the connection.
START_ATTEMPTS = 3
#: Seconds before the second attempt; doubled before each later one.
RETRY_WAIT_SECONDS = 0.5
#: Seconds :meth:`CallRecording.finish` waits for a start still under way at the call's end.
STOP_GRACE_SECONDS = 5.0
#: :class:`~.errors.LiveKitRequestError` kinds worth another attempt. After each of them
#: LiveKit may have started the egress all the same: it is looked up before retrying.
TRANSIENT_KINDS = frozenset({"server", "timeout", "disconnected"})


@dataclass
class RecordingInfo:
    """The state of one call's recording, as kept in ``report.data["recording"]``.

    ``location`` is where the file goes: the path for ``destination = "file"`` (on the
    egress server), else ``s3://bucket/key``, ``gs://bucket/key`` or
    ``https://ACCOUNT.blob.core.windows.net/CONTAINER/key``. ``started_at`` is when LiveKit
    accepted the egress (ISO 8601, UTC). ``reason`` is one line: why it failed, or a note
    on how it ended. ``notice`` is the notice said before it started, if any.
    """

    status: Status
    egress_id: str = ""
    location: str = ""
    started_at: str = ""
    reason: str = ""
    notice: str = ""

    def as_data(self) -> dict[str, str]:
        """A JSON-able dict for ``call.data["recording"]`` (empty fields left out, but
        ``status`` always there)."""
        return {k: v for k, v in asdict(self).items() if v or k == "status"}


def render_path(template: str, call: CallContext, *, room: str | None = None) -> str:
    """``template`` with ``{call_id}``, ``{room}`` (default ``call.room_name``) and
    ``{date}`` (the call's start date, UTC, ``YYYY-MM-DD``) filled in. The template was
    checked when the deployment loaded (only those placeholders)."""
    started = call.started_at
    date = (started.astimezone(timezone.utc) if started.tzinfo else started).date()
    return template.format(
        call_id=call.call_id, room=room or call.room_name or "", date=date.isoformat()
    )


def location_of(section: RecordingSection, filepath: str) -> str:
    """Where the egress writes ``filepath`` for ``section``'s destination (see
    :class:`RecordingInfo`)."""
    key = filepath.lstrip("/")
    if section.destination == "s3":
        return f"s3://{section.s3.bucket}/{key}"
    if section.destination == "gcs":
        return f"gs://{section.gcs.bucket}/{key}"
    if section.destination == "azure":
        azure = section.azure
        return f"https://{azure.account_name}.blob.core.windows.net/{azure.container_name}/{key}"
    return filepath


def egress_request(
    section: RecordingSection, room_name: str, filepath: str
) -> api.RoomCompositeEgressRequest:
    """The ``RoomCompositeEgressRequest`` for ``room_name``: audio only, one
    ``EncodedFileOutput`` (OGG or MP4) at ``filepath``, with the destination's upload
    settings (``S3Upload`` / ``GCPUpload`` / ``AzureBlobUpload``; none for ``file``)."""
    from livekit import api

    output = api.EncodedFileOutput(
        file_type=api.EncodedFileType.MP4 if section.format == "mp4" else api.EncodedFileType.OGG,
        filepath=filepath,
    )
    if section.destination == "s3":
        s3 = section.s3
        output.s3.CopyFrom(
            api.S3Upload(
                bucket=s3.bucket,
                region=s3.region,
                access_key=_secret(s3.access_key),
                secret=_secret(s3.secret),
                endpoint=s3.endpoint,
                force_path_style=s3.force_path_style,
            )
        )
    elif section.destination == "gcs":
        output.gcp.CopyFrom(
            api.GCPUpload(bucket=section.gcs.bucket, credentials=_secret(section.gcs.credentials))
        )
    elif section.destination == "azure":
        azure = section.azure
        output.azure.CopyFrom(
            api.AzureBlobUpload(
                account_name=azure.account_name,
                account_key=_secret(azure.account_key),
                container_name=azure.container_name,
            )
        )
    return api.RoomCompositeEgressRequest(
        room_name=room_name, audio_only=True, file_outputs=[output]
    )


async def start_recording(
    call: CallContext,
    *,
    creds: LiveKitCredentials | None = None,
    attempts: int | None = None,
    retry_wait: float | None = None,
) -> RecordingInfo:
    """Start the audio-only egress of ``call``'s room (``call.room_name``) as
    ``call.config.recording`` says; never raises (but ``CancelledError``).

    Each request has ``[recording] start_timeout_seconds``. A 5xx, a timeout or a dropped
    connection is tried again (``attempts`` in all, default :data:`START_ATTEMPTS`,
    waiting ``retry_wait`` seconds, default :data:`RETRY_WAIT_SECONDS`, then twice as long
    each time); before each retry the room's active egresses are listed
    (``Egress/ListEgress``) and one writing the same file is taken as started, so a lost
    or slow answer never starts a second recording. Anything else
    (401, 400, no credentials, a bad URL) fails at once.

    Returns :class:`RecordingInfo` ``recording`` (``egress_id``, ``location``,
    ``started_at``) or ``failed`` with a one-line ``reason``; a failure is logged as a
    warning, secrets redacted.
    """
    section = call.config.recording
    room = call.room_name or ""
    filepath = render_path(section.path, call, room=room)
    location = location_of(section, filepath)
    try:
        if not room:
            raise TelephonyError("the call has no LiveKit room")
        creds = creds or resolve_credentials(call.config)
        request = egress_request(section, room, filepath)
        egress = await _start_with_retries(
            creds,
            request,
            section.start_timeout_seconds,
            START_ATTEMPTS if attempts is None else attempts,
            RETRY_WAIT_SECONDS if retry_wait is None else retry_wait,
        )
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # never fail the call for its recording
        reason = _one_line(exc)
        logger.warning("call %s: recording not started: %s", call.call_id, reason)
        return RecordingInfo("failed", location=location, reason=reason)
    logger.info("call %s: recording %s to %s", call.call_id, egress.egress_id, redact(location))
    return RecordingInfo(
        "recording",
        egress_id=egress.egress_id,
        location=location,
        started_at=utcnow().isoformat(),
    )


async def stop_recording(
    call: CallContext, info: RecordingInfo, *, creds: LiveKitCredentials | None = None
) -> RecordingInfo:
    """Stop the egress of ``info`` (``Egress/StopEgress``), best effort; never raises (but
    ``CancelledError``). Returns ``info`` as ``ended``: stopped, already over (LiveKit
    answers 404 or 412 for an egress that ended when the room closed), or - when the
    request failed - with a ``reason`` saying LiveKit ends it when the room closes.
    ``info`` that is not ``recording`` is returned as it is."""
    if info.status != "recording" or not info.egress_id:
        return info
    from livekit import api

    ended = RecordingInfo(**{**asdict(info), "status": "ended"})
    try:
        creds = creds or resolve_credentials(call.config)
        async with livekit_api(creds) as lk:
            await bounded(lk.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id)))
    except asyncio.CancelledError:
        raise
    except LiveKitRequestError as exc:
        if exc.kind == "not_found" or exc.status == 412:  # it ended with the room
            logger.info("call %s: recording %s already ended", call.call_id, info.egress_id)
            return ended
        ended.reason = _one_line(exc, prefix="not stopped, LiveKit ends it with the room: ")
        logger.warning("call %s: recording %s %s", call.call_id, info.egress_id, ended.reason)
    except Exception as exc:
        ended.reason = _one_line(exc, prefix="not stopped, LiveKit ends it with the room: ")
        logger.warning("call %s: recording %s %s", call.call_id, info.egress_id, ended.reason)
    return ended


class CallRecording:
    """The recording of one live call, from the notice to the stopped egress.

    Made by the worker for every call it serves; ``[recording]`` off leaves
    ``status: disabled`` in the report. ``creds`` default to the deployment's LiveKit
    credentials (:func:`.credentials.resolve_credentials`).
    """

    def __init__(self, run: CallRun, *, creds: LiveKitCredentials | None = None):
        self.run = run
        self.creds = creds
        self.info: RecordingInfo | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def call(self) -> CallContext:
        return self.run.call

    def _keep(self, info: RecordingInfo) -> None:
        self.info = info
        self.call.data["recording"] = info.as_data()

    async def begin(self) -> None:
        """Say the notice (if any; the recording starts only once it was said in full),
        then start the egress in the background. Returns when the notice was said. Never
        raises for a recording failure: it is kept as ``failed``."""
        section = self.call.config.recording
        if not section.enabled:
            self._keep(RecordingInfo("disabled"))
            return
        notice = self.call.config.localized(section.notice).strip()
        if notice:
            problem = await say_notice(self.run, notice)
            if problem:
                reason = f"not started: the recording notice was not said ({problem})"
                logger.warning("call %s: recording %s", self.call.call_id, reason)
                self._keep(RecordingInfo("failed", reason=reason))
                return
        self._task = asyncio.create_task(self._start(notice), name=f"recording {self.call.call_id}")

    async def _start(self, notice: str) -> None:
        try:
            info = await start_recording(self.call, creds=self.creds)
        except Exception as exc:  # a bug here must not fail the call either
            logger.exception("call %s: recording failed", self.call.call_id)
            info = RecordingInfo("failed", reason=_one_line(exc))
        info.notice = notice
        self._keep(info)

    async def end(self) -> None:
        """Stop the egress (best effort; a start still under way gets
        :data:`STOP_GRACE_SECONDS`), leaving the final state in ``call.data``."""
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
            if not done:
                task.cancel()
                reason = "the call ended before LiveKit answered the start request"
                self._keep(RecordingInfo("failed", reason=reason))
                return
        if self.info is not None and self.info.status == "recording":
            self._keep(await stop_recording(self.call, self.info, creds=self.creds))

    async def finish(self) -> CallReport:
        """:meth:`end`, then :meth:`CallRun.finish <voicekit_core.runner.CallRun.finish>`
        (the report is built after the recording's final state is known). The worker
        registers this as the job's shutdown callback."""
        try:
            await self.end()
        except Exception:  # never keep the call from being journaled
            logger.exception("call %s: stopping the recording failed", self.call.call_id)
        return await self.run.finish()


async def say_notice(run: CallRun, text: str) -> str:
    """Say ``text`` to the caller, not interruptible, and wait until it was played out.

    A session with a TTS (or a text session) speaks it as written; a realtime model without
    a TTS is asked to say it word for word. Returns ``""`` when it was said in full, else
    one line saying why not (interrupted, or the model failed).
    """
    session, call = run.session, run.call
    try:
        if session.tts is not None or call.mode == "simulated":
            handle = session.say(text, allow_interruptions=False)
        else:
            handle = session.generate_reply(
                instructions=f"Say exactly this, word for word, and nothing else: {text}",
                allow_interruptions=False,
            )
        await handle.wait_for_playout()
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return _one_line(exc)
    return "interrupted" if handle.interrupted else ""


async def _start_with_retries(
    creds: LiveKitCredentials,
    request: api.RoomCompositeEgressRequest,
    timeout: float,
    attempts: int,
    retry_wait: float,
) -> api.EgressInfo:
    """``StartRoomCompositeEgress`` with the retry policy of :func:`start_recording`."""
    wait = retry_wait
    for attempt in range(1, max(1, attempts) + 1):
        try:
            async with livekit_api(creds) as lk:
                return await bounded(lk.egress.start_room_composite_egress(request), timeout)
        except LiveKitRequestError as exc:
            if exc.kind not in TRANSIENT_KINDS or attempt >= attempts:
                raise
            running = await _running_egress(creds, request, timeout)
            if running is not None:
                return running
            logger.info(
                "starting the recording of room %s failed (%s); attempt %d of %d in %g s",
                request.room_name,
                exc.kind,
                attempt + 1,
                attempts,
                wait,
            )
        await asyncio.sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover


async def _running_egress(
    creds: LiveKitCredentials, request: api.RoomCompositeEgressRequest, timeout: float
) -> api.EgressInfo | None:
    """An active egress of the request's room writing the same file (a start whose
    answer was lost), or None (also when listing fails)."""
    from livekit import api

    filepath = request.file_outputs[0].filepath
    try:
        async with livekit_api(creds) as lk:
            listed = await bounded(
                lk.egress.list_egress(
                    api.ListEgressRequest(room_name=request.room_name, active=True)
                ),
                timeout,
            )
    except (TelephonyError, asyncio.TimeoutError):
        return None
    for info in listed.items:
        outputs = info.room_composite.file_outputs
        if any(output.filepath == filepath for output in outputs):
            return info
    return None


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def _one_line(exc: BaseException, *, prefix: str = "") -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return redact(f"{prefix}{text}")[:300]


__all__ = [
    "START_ATTEMPTS",
    "CallRecording",
    "RecordingInfo",
    "egress_request",
    "location_of",
    "render_path",
    "say_notice",
    "start_recording",
    "stop_recording",
]
