"""voicekit-webhook: deliver each finished call to your own systems, signed and idempotent.

Enable with ``[plugins] enable = ["webhook"]`` and a ``[plugins.webhook]`` table
(:class:`~voicekit_webhook.settings.WebhookSettings`). One hook:

* ``post_call`` - ``POST`` the call report (``payload = "report"``) or only the record
  extracted during the call (``payload = "extracted"``, ``report.extracted``) as JSON to
  every ``[[plugins.webhook.targets]]`` URL, signed with HMAC-SHA256
  (``X-Voicekit-Signature``, ``X-Voicekit-Timestamp``: :mod:`voicekit_webhook.signing`)
  and keyed ``Idempotency-Key: <call id>``; and/or write it to a file per call (``file =
  "tickets/{call_id}.json"``, atomic, 0600). 429/5xx/timeouts are retried within the
  delivery; a delivery that still fails is journaled as failed and ``voicekit journal
  retry`` sends it again, only to the targets that have not taken it.

Importing this module imports neither httpx nor livekit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voicekit_core import hookimpl

from .settings import NAME, Target, WebhookSettings
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureError, sign, verify

if TYPE_CHECKING:
    from voicekit_core import CallReport, DeploymentConfig
    from voicekit_core.delivery_state import DeliveryState

__all__ = [
    "NAME",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureError",
    "Target",
    "WebhookSettings",
    "sign",
    "verify",
]
__version__ = "0.1.0"


@hookimpl
def register_settings(register: Any) -> None:
    """``[plugins.webhook]`` is validated by :class:`WebhookSettings`."""
    register(WebhookSettings)


@hookimpl
async def post_call(
    report: CallReport, config: DeploymentConfig, delivery: DeliveryState
) -> dict[str, Any]:
    """Deliver ``report`` to the file sink and every target that has not taken it yet.

    Returns what :func:`voicekit_webhook.deliver.deliver` returns (per target: HTTP status
    and attempts, or why it was skipped; the file's path). Raises
    :class:`~voicekit_webhook.deliver.WebhookDeliveryError` naming each failed target;
    voicekit journals the delivery as failed and ``voicekit journal retry`` resumes it.
    """
    from .deliver import deliver

    settings: WebhookSettings = config.plugin_settings(NAME)
    return await deliver(report, settings, delivery, base_dir=config.base_dir)
