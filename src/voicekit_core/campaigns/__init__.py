"""Campaign dialer: the pure policy pieces (calling windows, retry, pacing) and their settings.

Nothing here touches a database, LiveKit or the wall clock: every decision takes the
current time (``now``, an aware datetime) or a ``clock`` callable, so a store-backed runner
and the tests drive them the same way. Import the submodules directly::

    from voicekit_core.campaigns.windows import check_window, lead_timezones
    from voicekit_core.campaigns.retry import decide
    from voicekit_core.campaigns.pacing import CircuitBreaker, TokenBucket
"""
