"""Post-call delivery: run each plugin's ``post_call`` once, journal each outcome.

One failing plugin never stops the others. Error texts are scrubbed of every secret
value the deployment read from the environment before they are journaled or logged.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Iterable

from tenacity import AsyncRetrying, RetryError, stop_after_attempt, wait_exponential

from .calls import CallReport, DeliveryRecord
from .config import REDACTED
from .deployment import Deployment

logger = logging.getLogger("voicekit.delivery")


def scrub(text: str, deployment: Deployment) -> str:
    """``text`` with the value of every ``${VAR}`` secret of the deployment replaced."""
    for ref in deployment.config.secret_refs.values():
        name = ref[2:-1].split(":-")[0]
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text


async def deliver_once(deployment: Deployment, report: CallReport, plugin: str) -> bool:
    """Call ``plugin``'s ``post_call`` for ``report`` once and journal the outcome.

    Returns True when delivered. Never raises for plugin errors.
    """
    impl = next(
        (i for i in deployment.pm.impls_in_call_order("post_call") if i.plugin_name == plugin), None
    )
    if impl is None:
        deployment.journal.record_delivery(
            report.call_id,
            plugin,
            ok=False,
            error=f"plugin {plugin!r} is not enabled in this deployment",
        )
        return False
    try:
        result = deployment.pm.call_impl(impl, report=report, config=deployment.config)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # a plugin's failure is data, not a crash
        error = scrub(f"{type(exc).__name__}: {exc}", deployment)
        logger.warning("post_call %s for %s failed: %s", plugin, report.call_id, error)
        deployment.journal.record_delivery(report.call_id, plugin, ok=False, error=error[:2000])
        return False
    deployment.journal.record_delivery(report.call_id, plugin, ok=True, result=result)
    return True


async def deliver_all(deployment: Deployment, report: CallReport) -> list[DeliveryRecord]:
    """Run every ``post_call`` plugin for a report already in the journal."""
    for plugin in deployment.post_call_plugins():
        await deliver_once(deployment, report, plugin)
    return deployment.journal.deliveries(report.call_id)


async def retry_undelivered(
    deployment: Deployment,
    *,
    attempts: int | None = None,
    backoff_seconds: float | None = None,
    call_ids: Iterable[str] | None = None,
) -> list[tuple[str, str, bool]]:
    """Re-deliver every pending or failed delivery, each up to ``attempts`` times with
    exponential backoff starting at ``backoff_seconds`` (defaults from ``[journal]``).

    Returns ``(call_id, plugin, delivered)`` for each delivery tried.
    """
    settings = deployment.config.journal
    attempts = attempts or settings.retry_attempts
    backoff = settings.retry_backoff_seconds if backoff_seconds is None else backoff_seconds
    wanted = set(call_ids) if call_ids else None
    outcomes = []
    for call_id, plugin in deployment.journal.undelivered():
        if wanted is not None and call_id not in wanted:
            continue
        report = deployment.journal.get(call_id)
        if report is None:
            continue
        delivered = False
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(attempts),
                wait=wait_exponential(multiplier=backoff, max=max(backoff * 8, 0.001)),
                reraise=False,
            ):
                with attempt:
                    if not await deliver_once(deployment, report, plugin):
                        raise _NotYet
                    delivered = True
        except RetryError:
            delivered = False
        outcomes.append((call_id, plugin, delivered))
    return outcomes


class _NotYet(Exception):
    pass
