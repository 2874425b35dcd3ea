"""Simulated campaign attempts (``voicekit campaign run --simulate``): no LiveKit, no phone.

Each attempt is a real simulated call, on the same path as ``voicekit simulate``:
:func:`voicekit_core.runner.open_call` with ``mode="simulated"`` runs a text
``AgentSession`` with the deployment's offline ``[models].fallback`` model, the caller's
turns come from a caller script, and the report is journaled (post-call plugins run).
The agent is the campaign's: its instructions and greeting overrides apply
(:mod:`.overrides`).

The caller script of a lead:

* the lead's ``script`` column: a script name in the deployment's ``scripts/`` folder
  (``qualified`` or ``qualified.yaml``) or a path relative to the deployment; several
  separated by ``|`` (``busy|qualified``) are played one per attempt, the last repeating;
* otherwise a pick from ``scripts/*.yaml`` seeded by ``--seed`` and the lead id, so a run
  is reproducible.

A script's ``answer`` decides the SIP-level outcome: ``busy`` (SIP 486) and ``no_answer``
(SIP 480) end the attempt without a session (journaled like an unanswered live call);
``voicemail`` opens the call, leaves the deployment's voicemail message and ends with the
disposition ``voicemail``; ``answered`` plays the turns.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..calls import Disposition
from ..errors import CallVetoed, Problem, ScriptError
from .runner import AttemptJob, AttemptOutcome, outcome_of_report

if TYPE_CHECKING:
    from ..deployment import Deployment
    from ..simulate import CallerScript
    from ..store import Store

logger = logging.getLogger("voicekit.campaigns.simulated")

#: SIP status and reason a simulated unanswered call reports.
SIP_ANSWERS: dict[str, tuple[Disposition, int, str]] = {
    "busy": (Disposition.BUSY, 486, "Busy Here"),
    "no_answer": (Disposition.NO_ANSWER, 480, "Temporarily Unavailable"),
}

#: Campaign seconds a paced simulated call rings before it is answered.
RING_SECONDS = 6.0
#: Speaking rate of a paced simulated caller (about 150 words a minute), plus a pause.
WORDS_PER_SECOND = 2.5
TURN_PAUSE_SECONDS = 1.0


def speaking_seconds(text: str) -> float:
    """Campaign seconds a caller takes to say ``text`` (a pause, then 2.5 words/s)."""
    return TURN_PAUSE_SECONDS + len(text.split()) / WORDS_PER_SECOND


class SimulatedAttempts:
    """Places attempts as simulated calls (see the module docstring).

    ``seed`` (with the lead id) picks a script for leads without one; ``clock`` (aware UTC
    datetimes) is the calls' "now" (a callback asked for "tomorrow" is tomorrow on the
    campaign's simulated clock). ``sleep(campaign_seconds)``, when given, paces a call as
    a phone call goes: :data:`RING_SECONDS` of ringing before the answer and, before each
    caller turn, the time to say it (:func:`speaking_seconds`), all in campaign time.
    Raises
    :class:`~voicekit_core.errors.ScriptError` when the deployment has no ``scripts/``
    folder with a script and a lead names none.
    """

    mode = "simulated"

    def __init__(
        self,
        deployment: Deployment,
        *,
        trunk_id: str,
        seed: int | None = 0,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ):
        self.deployment = deployment
        self.clock = clock
        self.sleep = sleep
        self.trunk_id = trunk_id
        self.seed = seed
        self.folder = deployment.config.base_dir / "scripts"
        self._cache: dict[Path, CallerScript] = {}

    # -- scripts ----------------------------------------------------------------------------

    def scripts(self) -> list[Path]:
        """The deployment's caller scripts (``scripts/*.yaml``, sorted)."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if p.suffix in (".yaml", ".yml"))

    def script_for(self, lead_id: int, column: str | None, number: int) -> CallerScript:
        """The script of attempt ``number`` (1 = first) of lead ``lead_id`` whose
        ``script`` column is ``column``. Raises :class:`ScriptError` naming the lead."""
        names = [part.strip() for part in (column or "").split("|") if part.strip()]
        if names:
            return self._load(self._resolve(names[min(number, len(names)) - 1], lead_id))
        available = self.scripts()
        if not available:
            raise ScriptError(
                [
                    Problem(
                        str(self.folder),
                        f"lead {lead_id}",
                        "",
                        "no caller scripts: add scripts/*.yaml or a script column to the leads",
                    )
                ]
            )
        rng = random.Random(f"{self.seed}:{lead_id}")
        return self._load(rng.choice(available))

    def _resolve(self, name: str, lead_id: int) -> Path:
        base = self.deployment.config.base_dir
        candidates = [self.folder / name, self.folder / f"{name}.yaml", base / name]
        for path in candidates:
            if path.is_file():
                return path
        raise ScriptError(
            [Problem(str(self.folder), f"lead {lead_id}: script", name[:80], "no such script")]
        )

    def _load(self, path: Path) -> CallerScript:
        from ..simulate import load_script

        script = self._cache.get(path)
        if script is None:
            script = self._cache[path] = load_script(path)
        return script

    def check(self, store: Store, campaign_id: str) -> None:
        """Before the run: every script the campaign's leads name loads, and leads without
        one have scripts to pick from. Raises :class:`ScriptError` naming the file or the
        folder (exit 2), so a bad script fails the run before any call."""
        from sqlalchemy import func, select

        from ..store.tables import campaign_leads

        lead = campaign_leads
        waiting = lead.c.state.not_in(("done", "skipped", "canceled"))
        with store.read() as db:
            named = db.execute(
                select(lead.c.script, func.min(lead.c.id))
                .where(lead.c.campaign_id == campaign_id, waiting, lead.c.script.is_not(None))
                .group_by(lead.c.script)
            ).all()
            unnamed = db.execute(
                select(func.min(lead.c.id)).where(
                    lead.c.campaign_id == campaign_id, waiting, lead.c.script.is_(None)
                )
            ).scalar()
        for column, lead_id in named:
            for name in (part.strip() for part in column.split("|")):
                if name:
                    self._load(self._resolve(name, lead_id))
        if unnamed is not None:
            for path in self.scripts() or [None]:
                if path is None:
                    self.script_for(unnamed, None, 1)  # raises: nothing to pick from
                self._load(path)

    # -- attempts ---------------------------------------------------------------------------

    async def place(self, job: AttemptJob) -> AttemptOutcome:
        """Play the lead's script as one simulated call; returns its outcome."""
        try:
            script = self.script_for(job.lead.id, job.lead.script, job.attempt.number)
        except ScriptError as exc:
            return AttemptOutcome(Disposition.FAILED, str(exc).splitlines()[0][:300])
        try:
            if script.answer in SIP_ANSWERS:
                return await self._unanswered(job, script.answer)
            return await self._answered(job, script)
        except CallVetoed as veto:
            return AttemptOutcome(Disposition.VETOED, f"{veto.plugin}: {veto.reason}", vetoed=True)

    async def _unanswered(self, job: AttemptJob, answer: str) -> AttemptOutcome:
        from ..builder import check_before_dial, prepare_call
        from ..telephony.dial import journal_unanswered
        from ..telephony.dispositions import describe_sip_error

        disposition, status, reason = SIP_ANSWERS[answer]
        call = await prepare_call(
            job.deployment or self.deployment,
            job.lead.phone,
            mode="simulated",
            lead=job.lead.lead,
            call_id=job.attempt.call_id,
        )
        call.room_name = job.attempt.room_name
        call.data["campaign"] = job.link
        check_before_dial(call)
        detail = describe_sip_error(_SipAnswer(status, reason))
        call.set_disposition(disposition, f"simulated: {detail}")
        call.data["telephony"] = {"sip_status_code": status, "room": call.room_name}
        report = await journal_unanswered(call)
        outcome = outcome_of_report(report)
        outcome.sip_reason = reason
        return outcome

    async def _answered(self, job: AttemptJob, script: CallerScript) -> AttemptOutcome:
        from ..runner import open_call
        from ..telephony.voicemail import record_voicemail, voicemail_text

        voicemail = script.answer == "voicemail"
        if self.sleep is not None:
            await self.sleep(RING_SECONDS)
        async with open_call(
            job.deployment or self.deployment,  # the campaign's script (its overrides)
            job.lead.phone,
            mode="simulated",
            lead=job.lead.lead,
            call_id=job.attempt.call_id,
            offline=True,
            campaign=job.link,
            clock=self.clock,
            greet=not voicemail,
        ) as run:
            if voicemail:
                text = voicemail_text(run.call)
                if text:
                    await run.session.say(text, allow_interruptions=False)
                record_voicemail(run.call, category="machine-vm", left_message=bool(text))
            else:
                from ..simulate import play_turns

                await play_turns(run, script, before_caller=self._speak)
        assert run.report is not None
        outcome = outcome_of_report(run.report)
        outcome.answered = not voicemail
        return outcome

    async def _speak(self, text: str) -> None:
        """A paced caller takes the time to say ``text`` (campaign time)."""
        if self.sleep is not None:
            await self.sleep(speaking_seconds(text))

    async def adopt(self, job: AttemptJob) -> AttemptOutcome:
        """A simulated call cannot outlive its dialer: the attempt failed."""
        return AttemptOutcome(Disposition.FAILED, "the simulated call stopped with its dialer")

    async def room_exists(self, room_name: str) -> bool | None:
        return False

    async def aclose(self) -> None:
        return None


class _SipAnswer:
    """The two fields :func:`describe_sip_error` reads."""

    def __init__(self, code: int, status: str):
        self.sip_status_code = code
        self.sip_status = status


__all__ = ["SIP_ANSWERS", "SimulatedAttempts"]
