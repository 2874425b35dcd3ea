"""Post-call delivery: each plugin's ``post_call`` runs under a claim, exactly once.

A delivery row is leased (owner, expiry) before its plugin runs, and the lease is renewed
while the plugin works, so two ``voicekit journal retry`` processes, or a retry and the
process that just finished the call, never run the same delivery at once. The plugin's
step state (:class:`~voicekit_core.delivery_state.DeliveryState`) is written through to
the journal, so a retry after a partial success resumes instead of duplicating. One
failing plugin never stops the others; error texts are redacted before they are
journaled or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_exponential

from .calls import CallReport, DeliveryRecord
from .delivery_state import DeliveryState
from .deployment import Deployment
from .errors import VoicekitError
from .journal import DELIVERY_LEASE_SECONDS, DeliveryClaim, JournalError
from .redaction import redact
from .spill import pending_spills, read_spill, write_spill

logger = logging.getLogger("voicekit.delivery")


def scrub(text: str, deployment: Deployment | None = None) -> str:
    """``text`` with every known secret value replaced (see :mod:`voicekit_core.redaction`)."""
    return redact(text)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery attempt did: ``delivered`` or not, and the redacted ``error``."""

    call_id: str
    plugin: str
    delivered: bool
    error: str = ""


async def deliver_claim(
    deployment: Deployment,
    report: CallReport,
    claim: DeliveryClaim,
    *,
    lease_seconds: float = DELIVERY_LEASE_SECONDS,
    keep_lease: bool = False,
) -> DeliveryOutcome:
    """Run ``claim.plugin``'s ``post_call`` once for ``report`` and journal the outcome.

    The lease is renewed every third of ``lease_seconds`` while the plugin runs. If the
    task is cancelled the claim is released (the delivery stays undelivered for a retry).
    With ``keep_lease`` a failed attempt keeps the row leased for the caller's next try.
    Never raises for plugin errors.
    """
    journal = deployment.journal
    impl = next(
        (
            i
            for i in deployment.pm.impls_in_call_order("post_call")
            if i.plugin_name == claim.plugin
        ),
        None,
    )
    if impl is None:
        error = f"plugin {claim.plugin!r} is not enabled in this deployment"
        journal.finish_delivery(claim, ok=False, error=error)
        return DeliveryOutcome(claim.call_id, claim.plugin, False, error)
    state = DeliveryState(
        claim.state,
        attempt=claim.attempts + 1,
        persist=lambda data: journal.save_delivery_state(claim, data),
    )
    heartbeat = asyncio.create_task(_keep_lease(deployment, claim, lease_seconds))
    finished = False
    try:
        result = deployment.pm.call_impl(
            impl, report=report, config=deployment.config, delivery=state
        )
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # a plugin's failure is data, not a crash
        error = redact(f"{type(exc).__name__}: {exc}")
        logger.warning("post_call %s for %s failed: %s", claim.plugin, claim.call_id, error)
        finished = True
        recorded = journal.finish_delivery(claim, ok=False, error=error, keep_lease=keep_lease)
        return DeliveryOutcome(
            claim.call_id, claim.plugin, False, error if recorded else "lease lost"
        )
    else:
        finished = True
        recorded = journal.finish_delivery(claim, ok=True, result=result)
        return DeliveryOutcome(
            claim.call_id, claim.plugin, recorded, "" if recorded else "lease lost"
        )
    finally:
        heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await heartbeat
        if not finished:  # cancelled (Ctrl-C, shutdown): give the row back for a retry
            with contextlib.suppress(Exception):
                journal.release(claim)


async def _keep_lease(deployment: Deployment, claim: DeliveryClaim, lease_seconds: float) -> None:
    while True:
        await asyncio.sleep(lease_seconds / 3)
        try:
            renewed = await asyncio.to_thread(
                deployment.journal.renew_delivery_lease, claim, lease_seconds
            )
        except Exception as exc:  # the store hiccuped: try again next beat
            logger.warning(
                "renewing the lease of %s/%s failed: %s", claim.call_id, claim.plugin, exc
            )
            continue
        if not renewed:
            logger.warning("lost the lease of %s/%s", claim.call_id, claim.plugin)
            return


def journal_finished(deployment: Deployment, report: CallReport) -> list[DeliveryClaim]:
    """Journal a finished call with its deliveries claimed by this process.

    If the journal cannot be written the report goes to a spill file and
    :class:`ReportSpilled` is raised naming it: the next ``journal retry`` imports it.
    Raises :class:`~voicekit_core.journal.JournalError` if the call is already journaled.
    """
    plugins = deployment.post_call_plugins()
    try:
        claims = deployment.journal.finish_call(report, plugins)
    except JournalError:
        raise
    except Exception as exc:
        path = write_spill(report, plugins, deployment.config.base_dir)
        logger.error("could not journal call %s; report saved to %s", report.call_id, path)
        raise ReportSpilled(report.call_id, path, redact(str(exc))) from None
    logger.info("call %s journaled: %s", report.call_id, report.disposition.value)
    return claims


async def deliver_claims(
    deployment: Deployment, report: CallReport, claims: list[DeliveryClaim]
) -> list[DeliveryRecord]:
    """Run the claimed deliveries of ``report`` in plugin order; returns every delivery's
    record. A delivery that fails stays in the journal for ``voicekit journal retry``."""
    for index, claim in enumerate(claims):
        try:
            await deliver_claim(deployment, report, claim)
        except BaseException:
            for rest in claims[index + 1 :]:
                with contextlib.suppress(Exception):
                    deployment.journal.release(rest)
            raise
    return deployment.journal.deliveries(report.call_id)


async def deliver_all(deployment: Deployment, report: CallReport) -> list[DeliveryRecord]:
    """Claim and run every undelivered delivery of ``report`` (already journaled, e.g. with
    ``journal.record_call``) that nobody else holds; returns every delivery's record."""
    claims = deployment.journal.claim_deliveries(call_ids=[report.call_id], limit=1000)
    return await deliver_claims(deployment, report, claims)


async def journal_and_deliver(deployment: Deployment, report: CallReport) -> list[DeliveryRecord]:
    """:func:`journal_finished` then :func:`deliver_claims` (calls that never connected)."""
    return await deliver_claims(deployment, report, journal_finished(deployment, report))


class ReportSpilled(VoicekitError):
    """The journal could not be written; the report is safe in ``path``."""

    def __init__(self, call_id: str, path: object, cause: str):
        self.call_id = call_id
        self.path = path
        self.cause = cause
        super().__init__(
            f"call {call_id}: the journal could not be written ({cause}); the report is "
            f"saved in {path} and `voicekit journal retry` will import it"
        )


def import_spills(deployment: Deployment) -> list[str]:
    """Import every spill file of this deployment into the journal; returns call ids.
    A corrupt spill file is renamed ``*.bad`` and reported in the log."""
    imported = []
    for path in pending_spills(deployment.config.base_dir):
        try:
            report, plugins = read_spill(path)
        except (ValueError, KeyError, OSError) as exc:
            logger.error("spill file %s is unreadable (%s); renamed to .bad", path, exc)
            path.rename(path.with_suffix(".bad"))
            continue
        # already journaled: an earlier import stopped before deleting the file
        with contextlib.suppress(JournalError):
            deployment.journal.finish_call(report, plugins, claim=False)
        path.unlink()
        imported.append(report.call_id)
    return imported


ProgressCallback = Callable[[DeliveryOutcome, int, int], None]


async def retry_undelivered(
    deployment: Deployment,
    *,
    attempts: int | None = None,
    backoff_seconds: float | None = None,
    call_ids: Iterable[str] | None = None,
    progress: ProgressCallback | None = None,
) -> list[tuple[str, str, bool]]:
    """Re-deliver every pending or failed delivery nobody else holds.

    First imports spill files and recovers interrupted calls. Each claimed delivery is
    tried up to ``attempts`` times with exponential backoff starting at
    ``backoff_seconds`` (defaults from ``[journal]``), keeping its lease between tries.
    ``progress(outcome, done, total)`` is called after each delivery. Returns
    ``(call_id, plugin, delivered)`` for each delivery tried.
    """
    settings = deployment.config.journal
    attempts = attempts or settings.retry_attempts
    backoff = settings.retry_backoff_seconds if backoff_seconds is None else backoff_seconds
    import_spills(deployment)
    deployment.journal.recover_interrupted(deployment.post_call_plugins())
    wanted = list(call_ids) if call_ids else None
    outcomes: list[tuple[str, str, bool]] = []
    tried: set[int] = set()
    total = len(deployment.journal.undelivered())
    while True:
        claims = deployment.journal.claim_deliveries(limit=20, call_ids=wanted, exclude=tried)
        if not claims:
            break
        for index, claim in enumerate(claims):
            tried.add(claim.id)
            try:
                outcome = await _retry_one(deployment, claim, attempts, backoff)
            except BaseException:
                for rest in claims[index + 1 :]:
                    with contextlib.suppress(Exception):
                        deployment.journal.release(rest)
                raise
            outcomes.append((claim.call_id, claim.plugin, outcome.delivered))
            if progress is not None:
                progress(outcome, len(outcomes), max(total, len(outcomes)))
    return outcomes


async def _retry_one(
    deployment: Deployment, claim: DeliveryClaim, attempts: int, backoff: float
) -> DeliveryOutcome:
    try:
        report = deployment.journal.get(claim.call_id)
    except JournalError as exc:
        deployment.journal.finish_delivery(claim, ok=False, error=str(exc))
        return DeliveryOutcome(claim.call_id, claim.plugin, False, str(exc))
    if report is None:
        error = "the call's report is missing"
        deployment.journal.finish_delivery(claim, ok=False, error=error)
        return DeliveryOutcome(claim.call_id, claim.plugin, False, error)
    outcome = DeliveryOutcome(claim.call_id, claim.plugin, False)
    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=backoff, max=max(backoff * 8, 0.001)),
            reraise=False,
        ):
            with attempt:
                last = attempt.retry_state.attempt_number >= attempts
                outcome = await deliver_claim(deployment, report, claim, keep_lease=not last)
                if not outcome.delivered and outcome.error != "lease lost":
                    raise _NotYet
    except RetryError:
        pass
    return outcome


class _NotYet(Exception):
    pass
