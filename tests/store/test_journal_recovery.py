"""Nothing lost: calls journaled from their start, recovered after a kill, spilled when the
journal is unwritable, imported from voicekit 0.1 journals; corrupt rows said plainly."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import update

from voicekit_core import hookimpl
from voicekit_core.calls import Disposition
from voicekit_core.cli import build_cli
from voicekit_core.delivery import ReportSpilled, retry_undelivered
from voicekit_core.journal import JournalError
from voicekit_core.spill import pending_spills
from voicekit_core.store import StoreError
from voicekit_core.store.tables import calls
from voicekit_core.testing import ScriptedLLM, replies


class Crm:
    def __init__(self):
        self.delivered: list[tuple[str, str]] = []

    @hookimpl
    def post_call(self, report, config):
        self.delivered.append((report.call_id, report.disposition.value))


async def test_a_call_is_in_the_journal_while_it_runs(voicekit):
    deployment = voicekit.load()
    async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hello!"))) as run:
        assert deployment.journal.status(run.call.call_id) == "in_progress"
        await run.user_says("hi")
    assert deployment.journal.status(run.call.call_id) == "finished"


KILLED_CALL = """
import asyncio, os, signal, sys
import voicekit_core.journal as journal
journal.CALL_LEASE_SECONDS = 0.5
from voicekit_core.deployment import load_deployment
from voicekit_core.runner import open_call
from voicekit_core.testing import ScriptedLLM, replies

async def main():
    deployment = load_deployment(sys.argv[1])
    async with open_call(deployment, "+14155550123", greet=False,
                         llm=ScriptedLLM(replies("Booked for Tuesday."))) as run:
        await run.user_says("Tuesday at 10 works")
        run.call.set_disposition("meeting_booked", "Tuesday 10:00")
        run.call.data["calendar"] = {"event_id": "evt-77"}
        run._mark_dirty()
        for _ in range(100):  # wait until the tracker has written the booking
            await asyncio.sleep(0.05)
            row = deployment.journal.get(run.call.call_id)
            if row is not None and row.data.get("calendar"):
                break
        print(run.call.call_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

asyncio.run(main())
"""


def test_a_killed_call_is_recovered_as_interrupted_with_its_booking(voicekit, tmp_path):
    crm = Crm()
    voicekit.register(crm, name="crm")
    path = voicekit.write()
    script = tmp_path / "killed_call.py"
    script.write_text(KILLED_CALL)
    done = subprocess.run(
        [sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    call_id = done.stdout.split()[-1]
    deployment = voicekit.load(path)
    assert deployment.journal.status(call_id) == "in_progress"
    time.sleep(0.6)  # the dead process's lease runs out
    assert deployment.journal.recover_interrupted(["crm"]) == [call_id]
    report = deployment.journal.get(call_id)
    assert deployment.journal.status(call_id) == "interrupted"
    assert report.disposition is Disposition.MEETING_BOOKED  # not orphaned
    assert report.data["calendar"] == {"event_id": "evt-77"}
    assert [e.text for e in report.transcript if e.role == "user"] == ["Tuesday at 10 works"]
    assert any("interrupted" in note for note in report.notes)
    [delivery] = report.post_call
    assert delivery.status == "pending"
    assert deployment.journal.recover_interrupted(["crm"]) == []  # once


def test_a_live_call_is_not_recovered(voicekit):
    deployment = voicekit.load()

    async def scenario():
        async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hi"))) as run:
            assert deployment.journal.recover_interrupted([]) == []
            assert deployment.journal.status(run.call.call_id) == "in_progress"

    asyncio.run(scenario())


async def test_an_unwritable_journal_spills_the_report_and_retry_imports_it(voicekit, monkeypatch):
    crm = Crm()
    voicekit.register(crm, name="crm")
    deployment = voicekit.load()
    journal = deployment.journal

    def locked(*args, **kwargs):
        raise StoreError("could not write to the store: database is locked")

    monkeypatch.setattr(journal, "finish_call", locked)
    with pytest.raises(ReportSpilled) as caught:
        async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hi"))) as run:
            await run.user_says("hello")
    spilled = caught.value.path
    assert spilled.is_file() and oct(spilled.stat().st_mode & 0o777) == "0o600"
    assert run.report is not None and run.report.call_id == caught.value.call_id
    assert "journal retry" in str(caught.value)
    monkeypatch.undo()
    assert crm.delivered == []
    outcomes = await retry_undelivered(deployment, attempts=1, backoff_seconds=0)
    assert outcomes == [(run.report.call_id, "crm", True)]
    assert crm.delivered == [(run.report.call_id, "completed")]
    assert pending_spills(deployment.config.base_dir) == []
    assert deployment.journal.status(run.report.call_id) == "finished"


def _legacy_journal(path: Path, report_json: str, call_id: str) -> None:
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE calls (call_id TEXT PRIMARY KEY, agent_name TEXT, phone TEXT,
           disposition TEXT, started_at TEXT, ended_at TEXT, report_json TEXT);
           CREATE TABLE deliveries (call_id TEXT, plugin TEXT, status TEXT, attempts INTEGER,
           error TEXT, result_json TEXT, updated_at TEXT, PRIMARY KEY (call_id, plugin));"""
    )
    db.execute(
        "INSERT INTO calls VALUES (?, 'a', '+14155550123', 'qualified', '', '', ?)",
        (call_id, report_json),
    )
    db.execute(
        "INSERT INTO deliveries VALUES (?, 'crm', 'failed', 2, 'crm down', NULL, '')", (call_id,)
    )
    db.commit()
    db.close()


async def test_a_voicekit_01_journal_is_imported_once(voicekit):
    deployment = voicekit.load()
    async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hi"))) as run:
        pass
    old = json.loads(run.report.model_dump_json(exclude={"post_call"}))
    old["call_id"] = "20250101T000000-abcdef"
    legacy = deployment.config.base_dir / ".voicekit" / "journal.sqlite3"
    _legacy_journal(legacy, json.dumps(old), old["call_id"])
    for _ in range(2):  # loading twice imports once
        again = voicekit.load(deployment.config.path)
        assert again.journal.count() == 2
    report = again.journal.get("20250101T000000")
    assert report.post_call[0].status == "failed" and report.post_call[0].attempts == 2
    assert ("20250101T000000-abcdef", "crm") in again.journal.undelivered()


async def test_a_corrupt_report_row_is_named_not_a_traceback(voicekit):
    deployment = voicekit.load()
    async with voicekit.call(deployment, llm=ScriptedLLM(replies("Hi"))) as run:
        pass
    with deployment.store.write() as db:
        db.execute(
            update(calls).where(calls.c.call_id == run.call.call_id).values(report_json="{oops")
        )
    with pytest.raises(JournalError, match=run.call.call_id):
        deployment.journal.get(run.call.call_id)
    assert list(deployment.journal.reports()) == []  # skipped, with a warning
    runner = CliRunner()
    path = str(deployment.config.path)
    shown = runner.invoke(build_cli(), ["journal", "show", run.call.call_id, path])
    assert shown.exit_code == 2 and "corrupt" in shown.output
    assert "Traceback" not in shown.output
    summary = runner.invoke(build_cli(), ["report", path, "--json"])
    assert summary.exit_code == 0, summary.output


def test_spill_folder_fallbacks_are_per_deployment(tmp_path, monkeypatch):
    from voicekit_core.spill import spill_dirs

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    first, second = spill_dirs(tmp_path / "a"), spill_dirs(tmp_path / "b")
    assert first[0] == tmp_path / "a" / ".voicekit" / "spill"
    assert first[1] != second[1] and first[1].parent == second[1].parent


def test_simulate_exits_non_zero_naming_the_spill_file(voicekit, tmp_path, monkeypatch):
    path = voicekit.write()
    script = tmp_path / "script.yaml"
    script.write_text("lead_phone: '+14155550123'\nturns: ['hello']\n")
    from voicekit_core import journal as journal_module

    def locked(self, *args, **kwargs):
        raise StoreError("could not write to the store: database is locked")

    monkeypatch.setattr(journal_module.Journal, "finish_call", locked)
    result = CliRunner().invoke(
        build_cli(), ["simulate", str(path), "--script", str(script), "--offline"]
    )
    assert result.exit_code != 0
    assert "spill" in result.output and "journal retry" in result.output
    assert "Traceback" not in result.output
