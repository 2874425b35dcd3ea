"""Per-campaign overrides (instructions, greeting, parts of [dialer]) and redial: checks
before anything is written, the runner's pacing and calling hours, the simulated call's
greeting, the worker's lookup, `voicekit campaign edit|redial|start`."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from dialer_kit import (
    FAST,
    ScriptedBackend,
    at,
    attempt_rows,
    create_campaign,
    lead_rows,
    run,
    setup_campaign,
    write_script,
)
from sqlalchemy import select

from voicekit_core.calls import Disposition
from voicekit_core.campaigns import repo
from voicekit_core.campaigns.clock import SimulatedClock
from voicekit_core.campaigns.dnc import add_dnc
from voicekit_core.campaigns.overrides import (
    CampaignOverrides,
    OverrideError,
    campaign_config,
    campaign_deployment,
    campaign_lead,
    campaign_overrides,
    effective_dialer,
    preview,
    set_overrides,
)
from voicekit_core.campaigns.redial import redial, redial_unanswered
from voicekit_core.campaigns.runner import AttemptOutcome, CampaignRunner
from voicekit_core.cli import build_cli
from voicekit_core.store.tables import campaigns


def setup(tmp_path: Path, count: int = 3, **kwargs):
    """A deployment with a campaign of ``count`` leads; returns (deployment, campaign id)."""
    return setup_campaign(tmp_path, count, **kwargs)[:2]


def edit(deployment, campaign_id: str, overrides: CampaignOverrides):
    with deployment.store.write() as db:
        return set_overrides(db, campaign_id, overrides, deployment.config)


def raw_settings(deployment, campaign_id) -> dict:
    with deployment.store.read() as db:
        text = db.execute(
            select(campaigns.c.settings_json).where(campaigns.c.id == campaign_id)
        ).scalar_one()
    return json.loads(text)


def invoke(*args):
    return CliRunner().invoke(build_cli(), [str(a) for a in args])


# -- validation ---------------------------------------------------------------------------


def test_bad_overrides_are_refused_naming_key_and_value_and_nothing_is_written(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    before = raw_settings(deployment, campaign_id)
    bad = CampaignOverrides(
        instructions="Call {lead.nickname} about {campaign.nope}.",
        greeting="Hi {lead.first_name",
        dialer={
            "pacing": {"max_concurrency": 0, "trunk": {"max_concurrency": 99}},
            "retry": {"max_attempts": "many"},
            "max_attempts_per_lead_per_day": 10,
            "surprise": 1,
        },
    )
    with pytest.raises(OverrideError) as caught:
        edit(deployment, campaign_id, bad)
    problems = {p.key: p for p in caught.value.problems}
    instructions = [p.reason for p in caught.value.problems if p.key == "instructions"]
    assert len(instructions) == 2
    assert "unknown placeholder {lead.nickname}" in instructions[0]
    assert "unknown placeholder {campaign.nope}" in instructions[1]
    assert "malformed template" in problems["greeting"].reason
    assert problems["dialer.pacing.max_concurrency"].value == "0"
    assert "greater than or equal to 1" in problems["dialer.pacing.max_concurrency"].reason
    assert "shared by every campaign" in problems["dialer.pacing.trunk.max_concurrency"].reason
    assert problems["dialer.retry.max_attempts"].value == "'many'"
    assert "across every campaign" in problems["dialer.max_attempts_per_lead_per_day"].reason
    assert problems["dialer.surprise"].reason == "unknown key"
    assert all(p.file == "campaign 'spring'" for p in caught.value.problems)
    assert isinstance(caught.value, repo.CampaignError)  # and an InputError (exit 2)
    assert "campaign 'spring': dialer.pacing.max_concurrency = 0" in str(caught.value)
    assert raw_settings(deployment, campaign_id) == before
    kinds = [e["kind"] for e in repo.events(deployment.store, campaign_id)]
    assert "edited" not in kinds


def test_a_campaign_cannot_lift_the_legal_calling_window(tmp_path):
    from dialer_kit import LEGAL_HOURS

    deployment, campaign_id = setup(tmp_path, hours=LEGAL_HOURS)
    lifted = CampaignOverrides(
        dialer={"calling_hours": {"daily": ["07:00-22:00"], "override_legal_window": True}}
    )
    with pytest.raises(OverrideError, match="override_legal_window = true: only the deployment"):
        edit(deployment, campaign_id, lifted)
    # narrowing the hours is fine (and clamped to 08:00-21:00 anyway)
    narrowed = CampaignOverrides(dialer={"calling_hours": {"daily": ["09:00-12:00"]}})
    edit(deployment, campaign_id, narrowed)
    hours = effective_dialer(deployment.config, repo.find_campaign(deployment.store, campaign_id))
    assert [str(r) for r in hours.calling_hours.daily] == ["09:00-12:00"]


def test_overrides_are_stored_beside_the_dialer_dump_and_logged(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    dump = raw_settings(deployment, campaign_id)
    wanted = CampaignOverrides(
        instructions="You call {lead.first_name} about the spring offer.",
        greeting="",
        dialer={"pacing": {"max_concurrency": 2}, "retry": {"delays": {"busy": [5]}}},
    )
    campaign = edit(deployment, campaign_id, wanted)

    stored = raw_settings(deployment, campaign_id)
    assert {k: v for k, v in stored.items() if k != "overrides"} == dump
    assert stored["overrides"]["dialer"] == {
        "pacing": {"max_concurrency": 2},
        "retry": {"delays": {"busy": [5]}},
    }
    assert campaign_overrides(campaign) == wanted
    (event, *_) = repo.events(deployment.store, campaign_id)
    assert event["kind"] == "edited"
    assert "greeting set: none" in event["detail"]
    assert "dialer.pacing.max_concurrency: (deployment) -> 2" in event["detail"]

    cleared = edit(deployment, campaign_id, CampaignOverrides())
    assert "overrides" not in raw_settings(deployment, campaign_id)
    assert campaign_overrides(cleared).empty


def test_effective_settings_merge_onto_the_deployment_and_no_overrides_change_nothing(tmp_path):
    deployment, campaign_id = setup(tmp_path, delays="busy = [0]\nno_answer = [7]")
    config = deployment.config
    plain = repo.find_campaign(deployment.store, campaign_id)
    assert effective_dialer(config, plain) is config.dialer
    assert campaign_config(config, plain) is config
    assert campaign_deployment(deployment, plain) is deployment

    campaign = edit(
        deployment,
        campaign_id,
        CampaignOverrides(dialer={"retry": {"delays": {"busy": [5]}}}),
    )
    dialer = effective_dialer(config, campaign)
    assert dialer.retry.delays[Disposition.BUSY] == [5]
    assert dialer.retry.delays[Disposition.NO_ANSWER] == [7]  # the deployment's, kept
    assert dialer.retry.max_attempts == config.dialer.retry.max_attempts
    assert dialer.pacing == config.dialer.pacing


def test_inline_instructions_that_look_like_a_file_name_stay_text(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    campaign = edit(
        deployment,
        campaign_id,
        CampaignOverrides(instructions="Follow notes.md", greeting="Hi {lead.first_name}!"),
    )
    config = campaign_config(deployment.config, campaign)
    assert config.instructions_path() is None
    assert config.instructions_text().strip() == "Follow notes.md"
    assert config.agent.greeting == "Hi {lead.first_name}!"
    assert config.dialer is deployment.config.dialer
    assert config.path == deployment.config.path  # files still resolve against the deployment
    assert deployment.config.agent.greeting == "Hello {lead.first_name}!"  # untouched
    view = campaign_deployment(deployment, campaign)
    assert view.config is not deployment.config
    assert view.store is deployment.store and view.journal is deployment.journal
    assert view.pm is deployment.pm


def test_preview_renders_for_a_lead_and_reports_problems(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    lead = campaign_lead(deployment.store, campaign_id)
    assert lead is not None and lead.first_name == "Lead"
    shown = preview(
        deployment.config,
        CampaignOverrides(instructions="Call {lead.name} at {lead.company}.", greeting="Hey"),
        lead,
    )
    assert shown.ok
    assert shown.instructions == "Call Lead 0 at Acme."
    assert shown.greeting == "Hey"

    deployment_default = preview(
        deployment.config, repo.find_campaign(deployment.store, campaign_id), None
    )
    assert deployment_default.greeting == "Hello !"  # no lead: the field renders empty
    assert deployment_default.instructions == "You are a test agent."

    broken = preview(deployment.config, CampaignOverrides(greeting="Hi {lead.nick|you}"), lead)
    assert not broken.ok
    assert broken.problems[0].key == "greeting"
    assert "{lead.nick|you}" in broken.problems[0].reason
    assert broken.greeting == "Hi you"  # as a call would render it
    assert campaign_lead(deployment.store, campaign_id, lead_id=10_000) is None


def test_a_canceled_campaign_cannot_be_edited(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    with deployment.store.write() as db:
        repo.set_state(db, campaign_id, "canceled", "test")
    with pytest.raises(repo.CampaignError, match="canceled; it cannot be edited"):
        edit(deployment, campaign_id, CampaignOverrides(greeting="Hi"))


# -- the runner applies them --------------------------------------------------------------


class PeakBackend(ScriptedBackend):
    """A scripted backend that records the most attempts it had in flight at once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.active = 0
        self.peak = 0

    async def place(self, job):
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            return await super().place(job)
        finally:
            self.active -= 1


def test_a_concurrency_override_changes_how_many_calls_run_at_once(tmp_path):
    deployment, campaign_id = setup(tmp_path, 8, campaign_concurrency=5)
    control = create_campaign(deployment, "control", tmp_path / "leads.csv")
    edit(deployment, campaign_id, CampaignOverrides(dialer={"pacing": {"max_concurrency": 2}}))

    outcome = lambda job: AttemptOutcome(Disposition.QUALIFIED)  # noqa: E731
    limited = PeakBackend(outcome, delay=0.05)
    result = run(CampaignRunner(deployment, campaign_id, backend=limited, options=FAST))
    assert result.state == "completed" and len(limited.placed) == 8
    assert limited.peak == 2

    unlimited = PeakBackend(outcome, delay=0.05)
    run(CampaignRunner(deployment, control, backend=unlimited, options=FAST))
    assert unlimited.peak == 5  # the deployment's [dialer.pacing] max_concurrency


def test_a_calling_hours_override_defers_leads_to_the_campaign_window(tmp_path):
    deployment, campaign_id = setup(tmp_path, 2)  # the deployment calls all day
    edit(
        deployment,
        campaign_id,
        CampaignOverrides(dialer={"calling_hours": {"daily": ["10:00-11:00"]}}),
    )
    clock = SimulatedClock(at("2026-11-24 12:00"), speed=600)  # 04:00 in Los Angeles
    backend = ScriptedBackend(lambda job: AttemptOutcome(Disposition.QUALIFIED))
    run(CampaignRunner(deployment, campaign_id, backend=backend, clock=clock, options=FAST))

    dialed = attempt_rows(deployment, campaign_id)
    assert len(dialed) == 2
    for attempt in dialed:  # 10:00 in Los Angeles is 18:00 UTC
        assert at("2026-11-24 18:00") <= attempt.started_at < at("2026-11-24 19:00")
    kinds = [e["kind"] for e in repo.events(deployment.store, campaign_id, limit=100)]
    assert "deferred" in kinds


def test_edited_dialer_settings_reach_a_running_runner(tmp_path):
    deployment, campaign_id = setup(tmp_path, 12, campaign_concurrency=3)
    started: list[tuple[float, int]] = []
    edited_at: list[float] = []

    class EditingBackend(PeakBackend):
        async def place(self, job):
            if not self.placed:  # the first call: edit the campaign meanwhile
                edit(
                    deployment,
                    campaign_id,
                    CampaignOverrides(
                        greeting="Edited",
                        dialer={"pacing": {"max_concurrency": 1, "breaker": {"min_calls": 3}}},
                    ),
                )
                edited_at.append(time.monotonic())
            started.append((time.monotonic(), self.active + 1))
            return await super().place(job)

    backend = EditingBackend(lambda job: AttemptOutcome(Disposition.QUALIFIED), delay=0.1)
    runner = CampaignRunner(deployment, campaign_id, backend=backend, options=FAST)
    assert runner.pacing.max_concurrency == 3
    assert run(runner).state == "completed"

    assert backend.peak == 3  # before the edit
    later = [active for when, active in started if when > edited_at[0] + 0.3]
    assert len(later) >= 3 and set(later) == {1}  # after it: one call at a time
    assert runner.pacing.max_concurrency == 1
    assert runner.breaker.settings.min_calls == 3
    assert runner.call_deployment.config.agent.greeting == "Edited"


def test_a_simulated_call_of_the_campaign_uses_its_greeting(tmp_path):
    deployment, campaign_id = setup(tmp_path, 1, scripts={0: "answers"})
    write_script(deployment.config.base_dir, "answers", 'turns: ["Not interested, thanks."]\n')
    other = create_campaign(deployment, "plain", tmp_path / "leads.csv")
    edit(
        deployment,
        campaign_id,
        CampaignOverrides(greeting="Hola {lead.first_name} {lead.last_name}, special offer!"),
    )
    run(CampaignRunner(deployment, campaign_id, mode="simulated", options=FAST))
    run(CampaignRunner(deployment, other, mode="simulated", options=FAST))

    (attempt,) = attempt_rows(deployment, campaign_id)
    report = deployment.journal.get(attempt.call_id)
    assert report is not None
    assert report.transcript[0].text == "Hola Lead 0, special offer!"
    (plain_attempt,) = attempt_rows(deployment, other)
    plain = deployment.journal.get(plain_attempt.call_id)
    assert plain is not None and plain.transcript[0].text == "Hello Lead!"


def test_the_worker_runs_a_campaign_job_with_the_campaign_overrides(tmp_path, caplog):
    from voicekit_core.worker import deployment_for_campaign

    deployment, campaign_id = setup(tmp_path)
    edit(deployment, campaign_id, CampaignOverrides(greeting="Campaign hello"))
    view = deployment_for_campaign(deployment, campaign_id)
    assert view.config.agent.greeting == "Campaign hello"
    assert view.store is deployment.store

    with caplog.at_level(logging.WARNING, logger="voicekit.worker"):
        fallback = deployment_for_campaign(deployment, "gone1234")
    assert fallback is deployment
    assert "campaign gone1234: its overrides are not applied" in caplog.text
    assert "no campaign named or with id 'gone1234'" in caplog.text


# -- redial -------------------------------------------------------------------------------


def test_redial_reopens_only_unanswered_leads_not_dnc_ones_and_reruns(tmp_path):
    deployment, campaign_id = setup(tmp_path, 6, max_attempts=1)
    rows = lead_rows(deployment, campaign_id)
    by_phone = {
        rows[0].phone: Disposition.NO_ANSWER,
        rows[1].phone: Disposition.BUSY,
        rows[2].phone: Disposition.VOICEMAIL,
        rows[3].phone: Disposition.QUALIFIED,
        rows[4].phone: Disposition.NO_ANSWER,  # goes on the DNC list afterwards
        rows[5].phone: Disposition.FAILED,
    }
    first = ScriptedBackend(lambda job: AttemptOutcome(by_phone[job.lead.phone]))
    assert run(CampaignRunner(deployment, campaign_id, backend=first, options=FAST)).state == (
        "completed"
    )
    with deployment.store.write() as db:
        add_dnc(db, rows[4].phone, reason="asked by email")

    assert redial_unanswered(deployment.store, "spring") == 3
    after = lead_rows(deployment, campaign_id)
    assert [r.state for r in after] == ["ready", "ready", "ready", "done", "done", "done"]
    assert [r.attempts for r in after] == [1] * 6  # attempt counters kept
    assert after[0].state_reason == "redial: was no_answer"
    campaign = repo.find_campaign(deployment.store, campaign_id)
    assert campaign.state == "running"
    assert "3 lead(s) reopened" in campaign.state_reason
    (event,) = [e for e in repo.events(deployment.store, campaign_id) if e["kind"] == "redial"]
    assert "1 on a do-not-call list kept closed" in event["detail"]

    second = ScriptedBackend(lambda job: AttemptOutcome(Disposition.QUALIFIED))
    assert run(CampaignRunner(deployment, campaign_id, backend=second, options=FAST)).state == (
        "completed"
    )
    assert sorted(job.lead.id for job in second.placed) == [r.id for r in rows[:3]]
    assert {job.attempt.number for job in second.placed} == {2}  # a new room, never reused
    assert redial(deployment.store, campaign_id).reopened == 0  # nothing unanswered now
    assert repo.find_campaign(deployment.store, campaign_id).state == "completed"


def test_redial_refuses_never_called_again_dispositions_and_canceled_campaigns(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    with pytest.raises(repo.CampaignError, match="do_not_call leads are never called again"):
        redial_unanswered(deployment.store, campaign_id, ("busy", "do_not_call"))
    with pytest.raises(repo.CampaignError, match="unknown disposition 'nope'"):
        redial_unanswered(deployment.store, campaign_id, ("nope",))
    with deployment.store.write() as db:
        repo.set_state(db, campaign_id, "canceled", "test")
    with pytest.raises(repo.CampaignError, match="canceled; its leads cannot be redialed"):
        redial_unanswered(deployment.store, campaign_id)


# -- CLI ----------------------------------------------------------------------------------


def test_cli_edit_sets_shows_and_clears_overrides(tmp_path):
    deployment, campaign_id = setup(tmp_path, name="spring [promo]")
    folder = deployment.config.base_dir
    prompt = tmp_path / "spring.md"
    prompt.write_text("You call {lead.first_name} at {lead.company}.\n", encoding="utf-8")
    result = invoke(
        "campaign",
        "edit",
        folder,
        campaign_id,
        "--instructions",
        prompt,
        "--greeting",
        "Hi [bold]{lead.first_name}[/bold]",
        "--set",
        "dialer.pacing.max_concurrency=2",
        "--set",
        'dialer.calling_hours.daily=["09:00-17:00"]',
        "--preview",
    )
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())  # rich wraps long lines
    assert "spring [promo]" in out and "edited" in out  # markup shown, not interpreted
    assert "dialer.pacing.max_concurrency = 2" in out
    assert "greeting: Hi [bold]Lead[/bold]" in out
    assert "You call Lead at Acme." in out
    stored = campaign_overrides(repo.find_campaign(deployment.store, campaign_id))
    assert stored.instructions == prompt.read_text(encoding="utf-8")  # the text, not the path
    assert stored.dialer == {
        "pacing": {"max_concurrency": 2},
        "calling_hours": {"daily": ["09:00-17:00"]},
    }

    shown = invoke("campaign", "show", folder, campaign_id, "--json")
    assert json.loads(shown.output)["overrides"]["greeting"] == "Hi [bold]{lead.first_name}[/bold]"
    text = invoke("campaign", "show", folder, campaign_id)
    assert "overrides" in text.output and "dialer.pacing.max_concurrency = 2" in text.output

    unset = invoke(
        "campaign", "edit", folder, campaign_id, "--unset", "dialer.pacing.max_concurrency"
    )
    assert unset.exit_code == 0 and "reset to the deployment's" in " ".join(unset.output.split())
    cleared = invoke("campaign", "edit", folder, campaign_id, "--clear")
    assert cleared.exit_code == 0
    assert "overrides of spring [promo]: none" in " ".join(cleared.output.split())
    assert campaign_overrides(repo.find_campaign(deployment.store, campaign_id)).empty


def test_cli_edit_bad_input_exits_2_naming_it_and_writes_nothing(tmp_path):
    deployment, campaign_id = setup(tmp_path)
    folder = deployment.config.base_dir
    before = raw_settings(deployment, campaign_id)
    cases = [
        (("--set", "dialer.pacing.max_concurrency=0"), "dialer.pacing.max_concurrency = 0"),
        (("--set", "dialer.pacing.trunk.calls_per_second=50"), "shared by every campaign"),
        (("--set", "pacing.max_concurrency=2"), "not an override"),
        (("--set", "dialer.retry.max_attempts"), "write KEY=VALUE"),
        (("--greeting", "Hi {lead.nickname}"), "unknown placeholder {lead.nickname}"),
        (("--instructions", "prompts/missing.md"), "no such file"),
        (("--instructions", "   "), "empty instructions"),
        (("--unset", "voice"), "not an override"),
    ]
    for args, expected in cases:
        result = invoke("campaign", "edit", folder, campaign_id, *args)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output, (args, result.output)
        assert "Traceback" not in result.output
    unknown = invoke("campaign", "edit", folder, "nope", "--greeting", "Hi")
    assert unknown.exit_code == 2 and "no campaign named or with id 'nope'" in unknown.output
    dry = invoke("campaign", "edit", folder, campaign_id, "--greeting", "Hi", "--dry-run")
    assert dry.exit_code == 0 and "would change" in dry.output
    assert raw_settings(deployment, campaign_id) == before


def test_cli_redial_and_start(tmp_path):
    deployment, campaign_id = setup(tmp_path, 2, max_attempts=1)
    started = invoke("campaign", "start", deployment.config.base_dir, campaign_id)
    assert started.exit_code == 0, started.output
    assert "draft -> running" in started.output and "campaign serve" in started.output
    again = invoke("campaign", "start", deployment.config.base_dir, campaign_id)
    assert again.exit_code == 2 and "already running" in again.output

    backend = ScriptedBackend(lambda job: AttemptOutcome(Disposition.BUSY))
    run(CampaignRunner(deployment, campaign_id, backend=backend, options=FAST))
    done = invoke("campaign", "start", deployment.config.base_dir, campaign_id)
    assert done.exit_code == 2 and "campaign redial" in done.output

    redialed = invoke("campaign", "redial", deployment.config.base_dir, "spring")
    assert redialed.exit_code == 0, redialed.output
    assert "2 lead(s) reopened; completed -> running" in redialed.output
    none = invoke(
        "campaign", "redial", deployment.config.base_dir, "spring", "--disposition", "voicemail"
    )
    assert none.exit_code == 0 and "0 lead(s) reopened" in none.output
    bad = invoke(
        "campaign", "redial", deployment.config.base_dir, "spring", "--disposition", "wrong_number"
    )
    assert bad.exit_code == 2 and "never called again" in bad.output
