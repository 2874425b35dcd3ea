"""The example's local calendar under parallel calls: threads and processes booking the
same slots never double-book or lose a booking; its files are private."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import stat
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

from voicekit_core import load_deployment
from voicekit_core.scheduling import Interval

EXAMPLE = Path(__file__).resolve().parents[1]
BASE = datetime(2030, 1, 7, 14, 0, tzinfo=timezone.utc)
#: 24 candidate starts 15 minutes apart, 30-minute meetings: neighbours overlap, so at
#: most 12 can be booked.
CANDIDATES = [BASE + timedelta(minutes=15 * i) for i in range(24)]
DURATION = timedelta(minutes=30)

#: A process of booking threads: argv = example folder, calendar file, worker prefix,
#: thread count, seed, JSON list of candidate starts. Prints the JSON list of (worker, event_id, start) it booked.
CHILD = """
import json, random, sys, threading
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tdx_sdr_local import LocalCalendar, SlotTaken
from voicekit_core.scheduling import Interval

calendar = LocalCalendar(Path(sys.argv[2]))
prefix, threads, seed = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
starts = [datetime.fromisoformat(s) for s in json.loads(sys.argv[6])]
booked, lock, go = [], threading.Lock(), threading.Event()


def worker(n):
    order = list(starts)
    random.Random(seed * 1000 + n).shuffle(order)
    go.wait()
    for start in order:
        slot = Interval(start, start + timedelta(minutes=30))
        event = {
            "event_id": f"{prefix}-{n}",
            "transaction_id": f"{prefix}-{n}:{start.isoformat()}",
            "start": start.isoformat(),
            "end": slot.end.isoformat(),
        }
        try:
            calendar.book(event, is_free=lambda busy: not any(slot.overlaps(b) for b in busy))
        except SlotTaken:
            continue
        with lock:
            booked.append([f"{prefix}-{n}", event["event_id"], event["start"]])
        return


pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
for t in pool:
    t.start()
go.set()
for t in pool:
    t.join()
print(json.dumps(booked))
"""


def _book_in_threads(calendar_cls, taken_cls, path: Path, prefix: str, count: int) -> list:
    calendar = calendar_cls(path)
    booked: list = []
    lock = threading.Lock()
    go = threading.Event()

    def worker(n: int) -> None:
        order = list(CANDIDATES)
        random.Random(n).shuffle(order)
        go.wait()
        for start in order:
            slot = Interval(start, start + DURATION)
            event = {
                "event_id": f"{prefix}-{n}",
                "transaction_id": f"{prefix}-{n}:{start.isoformat()}",
                "start": start.isoformat(),
                "end": slot.end.isoformat(),
            }
            try:
                calendar.book(
                    event, is_free=lambda busy, s=slot: not any(s.overlaps(b) for b in busy)
                )
            except taken_cls:
                continue
            with lock:
                booked.append([f"{prefix}-{n}", event["event_id"], event["start"]])
            return

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in pool:
        thread.start()
    go.set()
    for thread in pool:
        thread.join()
    return booked


def test_parallel_bookings_in_threads_and_processes_never_double_book_or_lose_one(
    tmp_path, local_plugin
):
    path = tmp_path / ".voicekit" / "local_calendar.sqlite3"
    starts = json.dumps([s.isoformat() for s in CANDIDATES])
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(EXAMPLE),
                str(path),
                f"p{i}",
                "12",
                str(i + 1),
                starts,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    booked = _book_in_threads(local_plugin.LocalCalendar, local_plugin.SlotTaken, path, "main", 12)
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        booked += json.loads(out)

    stored = local_plugin.LocalCalendar(path).events()
    intervals = sorted(
        (
            Interval(datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]))
            for e in stored
        ),
        key=lambda interval: interval.start,
    )
    # no slot booked twice, no overlap
    assert all(a.end <= b.start for a, b in itertools.pairwise(intervals))
    # none lost: every booking a worker was told about is stored, and nothing else
    assert sorted((e["event_id"], e["start"]) for e in stored) == sorted(
        (event_id, start) for _, event_id, start in booked
    )
    # 48 workers competed for at most 12 slots, and no free slot was left unbooked
    assert 6 <= len(stored) <= 12 < 48
    assert all(any(Interval(s, s + DURATION).overlaps(b) for b in intervals) for s in CANDIDATES)


def test_repeated_transaction_returns_the_first_booking(tmp_path, local_plugin):
    calendar = local_plugin.LocalCalendar(tmp_path / "cal.sqlite3")
    event = {
        "event_id": "a",
        "transaction_id": "call-1:slot",
        "start": BASE.isoformat(),
        "end": (BASE + DURATION).isoformat(),
        "label": "Monday",
    }
    stored, created = calendar.book(event, is_free=lambda busy: True)
    assert created and stored == event
    again, created = calendar.book({**event, "event_id": "b"}, is_free=lambda busy: False)
    assert not created and again == event
    assert calendar.events() == [event]


def test_same_start_from_another_call_is_refused_even_if_the_check_says_free(
    tmp_path, local_plugin
):
    """The UNIQUE start column backs up the overlap check."""
    calendar = local_plugin.LocalCalendar(tmp_path / "cal.sqlite3")
    first = {"event_id": "a", "transaction_id": "1", "start": BASE.isoformat(), "end": "x"}
    calendar.book({**first, "end": (BASE + DURATION).isoformat()}, is_free=lambda busy: True)
    second = {**first, "event_id": "b", "transaction_id": "2", "end": (BASE + DURATION).isoformat()}
    try:
        calendar.book(second, is_free=lambda busy: True)
    except local_plugin.SlotTaken:
        pass
    else:
        raise AssertionError("booked the same start twice")
    assert [e["event_id"] for e in calendar.events()] == ["a"]


def test_calendar_files_are_private(tmp_path, local_plugin):
    folder = tmp_path / "state" / ".voicekit"
    calendar = local_plugin.LocalCalendar(folder / "local_calendar.sqlite3")
    assert calendar.events() == []
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(calendar.path.stat().st_mode) == 0o600

    loose = tmp_path / "loose.sqlite3"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    local_plugin.LocalCalendar(loose).events()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600


async def test_parallel_calls_booking_the_same_slot_book_it_once(example, voicekit, local_plugin):
    """Eight simultaneous calls ask schedule_meeting for the same slot: one books it, the
    others are told it is taken, and the calendar holds one meeting."""
    from voicekit_core.testing import ScriptedLLM, ToolCall, replies

    deployment = load_deployment(example)
    settings = deployment.config.plugin_settings("tdx_sdr_local")
    prospect = SimpleNamespace(lead=SimpleNamespace(timezone="America/New_York"))
    [slot] = local_plugin._free_slots(prospect, settings, [], days_ahead=7, max_slots=1)
    start = slot.start.isoformat()

    async def one_call() -> tuple[bool, str]:
        llm = ScriptedLLM(
            replies(
                ToolCall(
                    "schedule_meeting",
                    {"start": start, "attendee_email": "marcus.chen@northwind.example"},
                ),
                "Done.",
            )
        )
        async with voicekit.call(deployment, "+12125550102", llm=llm) as run:
            await run.user_says("Book it.")
        record = run.report.tool_call("schedule_meeting")
        return record.is_error, record.output

    results = await asyncio.gather(*(one_call() for _ in range(8)))

    booked = [output for is_error, output in results if not is_error]
    refused = [output for is_error, output in results if is_error]
    assert len(booked) == 1 and json.loads(booked[0])["start"] == start
    assert len(refused) == 7 and all("not free any more" in o for o in refused)
    stored = local_plugin.LocalCalendar(example / ".voicekit" / "local_calendar.sqlite3").events()
    assert [e["start"] for e in stored] == [start]
