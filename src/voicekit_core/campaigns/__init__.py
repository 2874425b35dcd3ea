"""Campaign dialer: a control plane over LiveKit for calling lead lists.

* policy, pure and clock-driven: :mod:`.windows` (calling hours per lead timezone),
  :mod:`.retry` (outcome-based retries), :mod:`.pacing` (concurrency, CPS, breaker),
  :mod:`.settings` (the ``[dialer]`` table);
* data in the store: :mod:`.repo` (campaign states, activity log), :mod:`.importer`,
  :mod:`.dnc`, :mod:`.export`, :mod:`.lead_sources`;
* running: :mod:`.runner` (leases, claims, reconcile), :mod:`.live` (LiveKit attempts),
  :mod:`.simulated` (offline attempts), :mod:`.clock`, :mod:`.summary`;
* the ``voicekit campaign`` / ``voicekit dnc`` commands: :mod:`.commands_leads`,
  :mod:`.commands_run`.

Import the submodules directly; this package imports nothing on its own. See
``docs/campaigns.md``.
"""
