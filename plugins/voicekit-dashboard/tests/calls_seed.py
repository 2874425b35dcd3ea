"""A store with real calls for the Calls and Reports tests (a unique module name: test
folders share sys.path).

:func:`seed` runs two campaigns through the real :class:`CampaignRunner` on a simulated
clock and journals one call outside any campaign:

* ``example``: examples/tdx_sdr/leads.csv as simulated calls (the scripted caller per
  lead: busy then qualified, not interested, voicemail, a DNC veto...);
* a campaign named like a spreadsheet formula (``FORMULA_NAME``) whose attempts a
  :class:`MeasuredAttempts` backend journals as a live worker would, with the latency and
  cost metrics text-mode calls lack;
* :func:`odd_report`: a call in January 2020 with ``<script>`` in its transcript, a
  failed tool call, BANT qualification, latency and cost.

Every call goes through :class:`FlakyCrm`'s ``post_call``, which fails until ``up``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from dashboard_kit import ADMIN, clear_env, copy_example, logged_in
from fastapi.testclient import TestClient

from voicekit_core import hookimpl
from voicekit_core.calls import CallReport, Disposition, ToolCallRecord, TranscriptEntry, utcnow

FORMULA_NAME = '=HYPERLINK("http://evil.example","q4")'
CRM_SECRET = "crm-secret-token-7f3a9c2e1b"
ODD_CALL_ID = "20200115T101500-0dd0dd"
SCRIPT_LINE = "<script>alert('pwned')</script> call me at +14155550199"


class FlakyCrm:
    """A ``post_call`` plugin that fails (naming a secret in its error) until ``up`` is
    set; then returns an engagement id. Counts deliveries per call."""

    def __init__(self):
        self.up = False
        self.delivered: list[str] = []

    @hookimpl
    def post_call(self, report, config, delivery):
        if not self.up:
            raise ConnectionError(f"crm.example: 503 Service Unavailable (token {CRM_SECRET})")
        self.delivered.append(report.call_id)
        engagement = f"eng-{len(self.delivered)}"
        delivery.save("engagement_id", engagement)
        return {"engagement_id": engagement}


@dataclass(frozen=True)
class Measured:
    """What :class:`MeasuredAttempts` journals for one lead (by phone)."""

    disposition: Disposition
    e2e: tuple[float, ...] = ()
    cost: float = 0.0
    bant: str | None = None


#: The formula campaign's leads: phone -> what its call reports.
MEASURED = {
    "+34915550201": Measured(Disposition.MEETING_BOOKED, (0.61, 0.74, 0.9), 0.0125, "qualified"),
    "+34915550202": Measured(Disposition.NURTURE, (1.2, 0.8), 0.0090, "qualified"),
    "+34915550203": Measured(Disposition.VOICEMAIL, (), 0.0010),
    "+34915550204": Measured(Disposition.NOT_INTERESTED, (0.55,), 0.0040, "disqualified"),
}


class MeasuredAttempts:
    """An attempt backend that journals each call as a live worker would (report with
    ``metrics.turns`` e2e latencies and ``estimated_cost_usd``, linked to its attempt),
    runs the deliveries, and returns the report's outcome."""

    mode = "simulated"
    trunk_id = "measured-trunk"

    def __init__(self, deployment):
        self.deployment = deployment

    async def place(self, job):
        from voicekit_core.campaigns.runner import outcome_of_report
        from voicekit_core.delivery import journal_and_deliver
        from voicekit_core.leads import lead_as_context

        plan = MEASURED[job.lead.phone]
        started = utcnow()
        turns = [{"e2e_latency": value, "llm_ttft": round(value / 3, 4)} for value in plan.e2e]
        metrics = {"turns": turns, "estimated_cost_usd": plan.cost} if turns or plan.cost else {}
        if plan.e2e:
            metrics["median_e2e_latency"] = sorted(plan.e2e)[len(plan.e2e) // 2]
        report = CallReport(
            call_id=job.attempt.call_id,
            agent_name=self.deployment.config.agent.name,
            direction="outbound",
            mode="live",
            phone=job.lead.phone,
            lead=lead_as_context(job.lead.lead),
            started_at=started,
            ended_at=started + timedelta(seconds=42),
            duration_seconds=42.0,
            transcript=[TranscriptEntry(role="assistant", text="Hello!", at=started)],
            disposition=plan.disposition,
            qualification={"status": plan.bant} if plan.bant else None,
            metrics=metrics,
            data={"campaign": job.link},
        )
        await journal_and_deliver(self.deployment, report)
        return outcome_of_report(report)

    async def adopt(self, job):
        from voicekit_core.campaigns.runner import AttemptOutcome

        return AttemptOutcome(Disposition.FAILED, "adopted")

    async def room_exists(self, room_name):
        return False

    async def aclose(self):
        return None


def write_measured_leads(path: Path) -> Path:
    rows = ["prospect_name,company_name,phone,timezone"]
    rows += [
        f"Measured Lead {index},Costa Data {index},{phone},Europe/Madrid"
        for index, phone in enumerate(MEASURED, start=1)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def run_campaign(deployment, name: str, leads_csv: Path, *, backend=None) -> str:
    """Import ``leads_csv`` as campaign ``name`` and run it to the end on a simulated
    clock starting Tuesday 2026-11-24 15:00 UTC; returns the campaign id."""
    from voicekit_core.campaigns.clock import SimulatedClock
    from voicekit_core.campaigns.importer import import_csv
    from voicekit_core.campaigns.runner import CampaignRunner, RunnerOptions

    campaign = import_csv(deployment.store, deployment.config, name=name, path=leads_csv).campaign
    clock = SimulatedClock(datetime(2026, 11, 24, 15, tzinfo=timezone.utc), speed=600)
    options = RunnerOptions(lease_seconds=3, tick_seconds=0.05, poll_seconds=0.02, seed=7)
    runner = CampaignRunner(
        deployment, campaign.id, mode="simulated", clock=clock, backend=backend, options=options
    )
    result = asyncio.run(asyncio.wait_for(runner.run(), 120))
    assert result.state == "completed", result
    return campaign.id


def odd_report(deployment, *, call_id: str = ODD_CALL_ID) -> CallReport:
    """A call outside campaigns on 2020-01-15 with hostile transcript text, one good and
    one failed tool call, BANT qualification, latency medians and a cost."""
    at = datetime(2020, 1, 15, 10, 15, tzinfo=timezone.utc)
    return CallReport(
        call_id=call_id,
        agent_name=deployment.config.agent.name,
        direction="outbound",
        mode="live",
        phone="+14155550142",
        lead={"name": "Zed <b>Bold</b> Quinn", "company": "Acme & Sons", "phone": "+14155550142"},
        started_at=at,
        ended_at=at + timedelta(seconds=95),
        duration_seconds=95.0,
        transcript=[
            TranscriptEntry(role="assistant", text="Hi Zed, do you have two minutes?", at=at),
            TranscriptEntry(role="user", text=SCRIPT_LINE, at=at + timedelta(seconds=5)),
            TranscriptEntry(
                role="assistant", text="Let me check the calendar.", at=at + timedelta(seconds=9)
            ),
        ],
        tool_calls=[
            ToolCallRecord(
                name="qualify_prospect",
                arguments={"budget_usd": 25000, "authority": "decision_maker"},
                output='{"status": "qualified"}',
                at=at + timedelta(seconds=7),
            ),
            ToolCallRecord(
                name="schedule_meeting",
                arguments={"start": "2020-01-16T15:00:00Z"},
                output="that slot is not free any more",
                is_error=True,
                at=at + timedelta(seconds=10),
            ),
        ],
        disposition=Disposition.CALLBACK_REQUESTED,
        disposition_reason="asked to be called back <tomorrow>",
        qualification={
            "status": "qualified",
            "budget": "$25,000",
            "authority": "decision_maker",
            "need": "fewer tickets",
            "timeline": "1 month",
            "criteria_met": 4,
            "reasons": ["budget $25,000 meets $10,000"],
        },
        metrics={
            "turns": [{"e2e_latency": 0.82, "llm_ttft": 0.31}],
            "median_e2e_latency": 0.82,
            "median_llm_ttft": 0.31,
            "estimated_cost_usd": 0.0231,
            "usage": [{"type": "llm_usage", "provider": "openai", "model": "gpt-realtime"}],
        },
        data={"callback": {"at": "2020-01-16T15:00:00Z"}, "crm": {"note": "=1+1"}},
        extracted={"caller_name": "Zed <b>Bold</b> Quinn", "unit": "4B", "entry_permitted": True},
    )


def use_store(config: Path, url: str) -> None:
    """Point the deployment file ``config`` at the store ``url``."""
    text = config.read_text(encoding="utf-8")
    line = f'url = "{url}"'
    if re.search(r"(?m)^\[store\]", text):
        text = re.sub(r"(?m)^(\[store\]\s*\n)url\s*=.*$", lambda m: m.group(1) + line, text)
    else:
        text += f"\n[store]\n{line}\n"
    config.write_text(text, encoding="utf-8")


def journal(deployment, report: CallReport) -> None:
    """Journal ``report`` and run its deliveries, as a finished call does."""
    from voicekit_core.delivery import journal_and_deliver

    asyncio.run(journal_and_deliver(deployment, report))


def load(folder: Path, crm: FlakyCrm, extra: tuple[tuple[str, object], ...] = ()):
    """The deployment at ``folder`` with ``crm`` registered as plugin ``crm`` (and the
    ``(name, plugin)`` pairs of ``extra``) and an admin user (:data:`dashboard_kit.ADMIN`)."""
    from voicekit_dashboard.accounts import set_admin

    from voicekit_core.deployment import load_deployment
    from voicekit_core.redaction import register_secret

    register_secret(CRM_SECRET)
    deployment = load_deployment(folder, extra_plugins=[("crm", crm), *extra])
    set_admin(deployment.store, *ADMIN)
    return deployment


@dataclass
class Seeded:
    deployment: object
    crm: FlakyCrm
    example_id: str
    formula_id: str


def seed(folder: Path, *, store_url: str | None = None, example: bool = True) -> Seeded:
    """Copy the example to ``folder``, load it with a failing CRM and run both campaigns
    and the odd call (see the module docstring). ``store_url``: another store than the
    example's SQLite file; ``example=False`` skips the example campaign (its id is "")."""
    copy_example(folder)
    if store_url:
        use_store(folder / "voicekit.toml", store_url)
    crm = FlakyCrm()
    deployment = load(folder, crm)
    example_id = run_campaign(deployment, "example", folder / "leads.csv") if example else ""
    formula_id = run_campaign(
        deployment,
        FORMULA_NAME,
        write_measured_leads(folder / "measured.csv"),
        backend=MeasuredAttempts(deployment),
    )
    journal(deployment, odd_report(deployment))
    return Seeded(deployment, crm, example_id, formula_id)


@contextmanager
def seeded_example(folder: Path) -> Iterator[Seeded]:
    """:func:`seed` at ``folder``, with the shell's deployment variables unset until the
    block ends (for a module-scoped fixture: ``monkeypatch`` is per test)."""
    with pytest.MonkeyPatch.context() as patch:
        clear_env(patch)
        yield seed(folder)


@contextmanager
def seeded_dashboard(seeded: Seeded) -> Iterator[TestClient]:
    """A logged-in client of a dashboard on the seeded store."""
    from voicekit_dashboard.app import create_app

    with logged_in(create_app(seeded.deployment)) as client:
        yield client
