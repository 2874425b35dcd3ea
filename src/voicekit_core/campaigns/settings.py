"""``[dialer]``: the campaign dialer's table of the deployment file.

It composes the policy settings of :mod:`.retry`, :mod:`.windows` and :mod:`.pacing`::

    [dialer]
    max_attempts_per_lead_per_day = 3   # across all campaigns, rolling 24 hours

    [dialer.retry]
    [dialer.calling_hours]
    [dialer.pacing]

Every key has a default, so an empty or missing ``[dialer]`` table is valid; unknown keys
are errors.
"""

from __future__ import annotations

from pydantic import Field

from ..strict import StrictModel
from .pacing import PacingSettings
from .retry import RetrySettings
from .windows import CallingHours


class DialerSection(StrictModel):
    """``[dialer]``: retry policy, calling hours, pacing, and the per-lead daily cap.

    ``max_attempts_per_lead_per_day`` caps attempts on one lead across every campaign in
    any rolling 24 hours (some states cap solicitation calls, e.g. Florida's Telephone
    Solicitation Act, Fla. Stat. 501.059, at three per 24 hours); apply it with
    :func:`voicekit_core.campaigns.retry.next_allowed_by_daily_cap`.
    """

    max_attempts_per_lead_per_day: int = Field(
        default=3, ge=1, le=100, description="attempts per lead across campaigns, rolling 24 h"
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)
    calling_hours: CallingHours = Field(default_factory=CallingHours)
    pacing: PacingSettings = Field(default_factory=PacingSettings)
