"""One call's delivery to every sink, resumable target by target.

The ``delivery`` state (:class:`voicekit_core.delivery_state.DeliveryState`, written
through to the journal) records each target that took the call the moment it answered
2xx::

    {"targets": {"crm": {"status": 200, "attempts": 2, "at": "2026-01-05T10:00:03+00:00"}},
     "file": {"path": "tickets/20260105T095912-3fa9c1.json"}}

so when one target fails and ``voicekit journal retry`` runs the delivery again, only the
targets without an entry are sent to. Targets are sent to concurrently; the file sink
is written first (it needs no network). A target key is its ``name``, else ``url-`` and a
hash of its URL (:attr:`voicekit_webhook.settings.Target.key`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .file_sink import FileSinkError, file_path, write_file
from .payload import NOTHING_EXTRACTED, encode_body, encode_file, payload_data
from .sender import Sleep, WebhookError, send

if TYPE_CHECKING:
    from voicekit_core import CallReport

    from .settings import Payload, Target, WebhookSettings

logger = logging.getLogger("voicekit.webhook")


class StepState(Protocol):
    """What :func:`deliver` needs of ``DeliveryState``."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def save(self, key: str, value: Any) -> None: ...


class WebhookDeliveryError(Exception):
    """Some sinks did not take the call. The message lists each failure and the targets
    that did take it (they are not sent to again on retry)."""


async def deliver(
    report: CallReport,
    settings: WebhookSettings,
    delivery: StepState,
    *,
    base_dir: Path,
    sleep: Sleep = asyncio.sleep,
) -> dict[str, Any]:
    """Deliver ``report`` to the file sink and every target not yet in ``delivery``.

    Returns ``{"targets": {key: {"status", "attempts"} | {"skipped": why}}, "file":
    {"path", "written"} | {"skipped": why}}`` (keys present when configured); targets
    delivered by an earlier attempt appear with ``"earlier": true``.

    :param base_dir: the deployment folder (a relative ``file`` is resolved against it).
    :param sleep: waits between retried requests (tests pass a recorder).
    :raises WebhookDeliveryError: a target or the file failed (after the retries of
        :func:`voicekit_webhook.sender.send`); targets that succeeded are already saved.
    """
    result: dict[str, Any] = {}
    failures: list[str] = []
    bodies: dict[str, Any] = {}

    def data(kind: Payload) -> Any | None:
        if kind not in bodies:
            bodies[kind] = payload_data(report, kind)
        return bodies[kind]

    if settings.file:
        try:
            result["file"] = _write_file_sink(report, settings, delivery, base_dir, data)
        except FileSinkError as exc:
            failures.append(f"file: {exc}")

    done: dict[str, Any] = dict(delivery.get("targets") or {})
    outcomes: dict[str, Any] = {}
    pending: list[Target] = []
    for target in settings.targets:
        if target.key in done:
            outcomes[target.key] = {**_public(done[target.key]), "earlier": True}
            continue
        if data(settings.payload_of(target)) is None and settings.skip_empty:
            outcomes[target.key] = {"skipped": NOTHING_EXTRACTED}
            continue
        pending.append(target)

    if pending:
        async with httpx.AsyncClient(follow_redirects=False) as client:

            async def one(target: Target) -> None:
                kind = settings.payload_of(target)
                content = data(kind)
                sent = await send(
                    client,
                    target,
                    settings,
                    body=encode_body({} if content is None else content),
                    call_id=report.call_id,
                    payload=kind,
                    sleep=sleep,
                )
                done[target.key] = {
                    "status": sent.status,
                    "attempts": sent.attempts,
                    "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
                delivery.save("targets", dict(done))  # before anything else can fail
                outcomes[target.key] = _public(done[target.key])
                logger.info(
                    "webhook %s took call %s (HTTP %d, %d attempt(s))",
                    target.label,
                    report.call_id,
                    sent.status,
                    sent.attempts,
                )

            answers = await asyncio.gather(*(one(t) for t in pending), return_exceptions=True)
        for target, answer in zip(pending, answers, strict=True):
            if isinstance(answer, WebhookError):
                failures.append(str(answer))
            elif isinstance(answer, BaseException):
                failures.append(f"webhook {target.label}: {type(answer).__name__}: {answer}")

    if settings.targets:
        result["targets"] = {t.key: outcomes[t.key] for t in settings.targets if t.key in outcomes}
    if failures:
        took = [t.name or t.label for t in settings.targets if t.key in done]
        tail = (
            f" Delivered to {', '.join(took)}; those are not sent again on retry." if took else ""
        )
        raise WebhookDeliveryError("; ".join(failures) + "." + tail)
    return result


def _write_file_sink(
    report: CallReport,
    settings: WebhookSettings,
    delivery: StepState,
    base_dir: Path,
    data: Any,
) -> dict[str, Any]:
    content = data(settings.payload)
    if content is None and settings.skip_empty:
        return {"skipped": NOTHING_EXTRACTED}
    assert settings.file is not None
    path = file_path(settings.file, report, base_dir)
    written = write_file(path, encode_file({} if content is None else content))
    shown = _relative(path, base_dir)
    if delivery.get("file") != {"path": shown}:
        delivery.save("file", {"path": shown})
    if written:
        logger.info("webhook: wrote call %s to %s", report.call_id, shown)
    return {"path": shown, "written": written}


def _relative(path: Path, base_dir: Path) -> str:
    try:
        return path.relative_to(base_dir).as_posix()
    except ValueError:
        return str(path)


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in ("status", "attempts") if k in entry}
