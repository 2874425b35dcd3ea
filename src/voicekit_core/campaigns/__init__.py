"""Campaign dialer: a control plane over LiveKit for calling lead lists.

* policy, pure and clock-driven: :mod:`.windows` (calling hours per lead timezone),
  :mod:`.retry` (outcome-based retries), :mod:`.pacing` (concurrency, CPS, breaker),
  :mod:`.settings` (the ``[dialer]`` table);
* data in the store: :mod:`.repo` (campaign states, activity log), :mod:`.importer`,
  :mod:`.dnc`, :mod:`.export`, :mod:`.lead_sources`, :mod:`.overrides` (a campaign's own
  instructions, greeting and ``[dialer]`` values), :mod:`.redial`;
* running: :mod:`.runner` (leases, claims, reconcile), :mod:`.supervisor` (every running
  campaign, ``voicekit campaign serve``), :mod:`.live` (LiveKit attempts),
  :mod:`.simulated` (offline attempts), :mod:`.clock`, :mod:`.summary`;
* the ``voicekit campaign`` / ``voicekit dnc`` commands: :mod:`.commands_leads`,
  :mod:`.commands_run`, :mod:`.commands_edit`, :mod:`.commands_serve`.

Import the submodules directly; this package imports nothing on its own. See
``docs/campaigns.md``.
"""
