"""Leads at scale: the CLI over a large leads CSV vs the same deployment with one lead.

For ``voicekit check``, ``voicekit leads`` and ``voicekit simulate --offline`` (the
qualified script, whose lead is the LAST row of the large file: a full scan), each run
in a fresh process. Reported per command: median wall time with 1 lead and with N leads,
their ratio and difference (the cost of the N-1 extra rows), and the peak resident
memory (RSS) of each (``check`` worker processes are not added: each holds one batch). Also, in this process: rows per second of a full
validating pass (``LeadBook.rows()``) and of a one-number lookup (``LeadBook.find``).

Targets (issue 9): over the 1-lead case with 100,000 rows, ``check`` adds <= 3 s,
``simulate`` start-up adds <= 2 s, and no command peaks above 150 MB.

Usage: ``python benchmarks/leads.py [--rows N] [--runs R]`` (also run by ``nox -s bench``).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "tdx_sdr"
HEADER = [
    "prospect_name",
    "company_name",
    "job_title",
    "phone",
    "email",
    "timezone",
    "resource_name",
    "industry",
]
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
AREA_CODES = [201, 212, 213, 305, 312, 404, 415, 503, 512, 602, 617, 646, 702, 713, 720, 801]


def phone_text(index: int) -> str:
    """A valid, unique US number (exchange 2xx-9xx but never 555) in one of four forms."""
    area = AREA_CODES[index % len(AREA_CODES)]
    rest = index // len(AREA_CODES)
    exchange = 200 + rest // 10_000
    exchange += exchange >= 555  # keep clear of the example's 555 numbers
    line = rest % 10_000
    return [
        f"+1 {area} {exchange} {line:04d}",
        f"({area}) {exchange}-{line:04d}",
        f"{area}.{exchange}.{line:04d}",
        f"+1{area}{exchange}{line:04d}",
    ][index % 4]


def write_leads(path: Path, rows: int) -> None:
    """``rows`` leads; the last is Dana (+1 415 555 0101), the qualified script's lead."""
    with EXAMPLE.joinpath("leads.csv").open(newline="", encoding="utf-8") as handle:
        dana = next(row for row in csv.DictReader(handle) if "0101" in row["phone"])
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for index in range(rows - 1):
            writer.writerow(
                [
                    f"Prospect {index}",
                    f"Company {index % 997}",
                    "VP of Operations",
                    phone_text(index),
                    f"prospect.{index}@company{index % 997}.example",
                    ZONES[index % len(ZONES)],
                    "alex.rivera",
                    "Logistics",
                ]
            )
        writer.writerow([dana[column] for column in HEADER])


def deployment(folder: Path, rows: int) -> Path:
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".voicekit"))
    write_leads(folder / "leads.csv", rows)
    return folder


def run(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of ``cmd`` (its exit status is ignored:
    ``check`` and ``leads`` exit 2 when rows are bad, which the data here avoids)."""
    start = time.perf_counter()
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1, 2):
        raise SystemExit(f"{' '.join(cmd)} failed ({process.returncode})")
    return elapsed, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    samples = [run(cmd) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def in_process(folder: Path) -> tuple[float, float]:
    """Rows per second: a full validating pass, and a lookup of the last row's number."""
    from voicekit_core.lead_csv import LeadBook

    book = LeadBook(folder / "leads.csv")
    start = time.perf_counter()
    count = sum(1 for _ in book.rows())
    full = count / (time.perf_counter() - start)
    start = time.perf_counter()
    assert book.find("+14155550101") is not None
    lookup = count / (time.perf_counter() - start)
    return full, lookup


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    beside = Path(sys.executable).with_name("voicekit")
    voicekit = str(beside) if beside.exists() else shutil.which("voicekit") or "voicekit"
    with tempfile.TemporaryDirectory() as tmp:
        small = deployment(Path(tmp) / "one", 1)
        large = deployment(Path(tmp) / "many", args.rows)
        script = ["--script", str(EXAMPLE / "scripts" / "qualified.yaml"), "--offline"]
        commands = {
            "check": ["check"],
            "leads": ["leads"],
            "simulate": ["simulate", *script],
        }
        print(f"leads benchmark: 1 lead vs {args.rows:,} leads, median of {args.runs} runs")
        print(
            f"{'command':10s} {'1 lead':>9s} {'N leads':>9s} {'ratio':>7s} {'extra':>8s} "
            f"{'peak 1':>8s} {'peak N':>8s}"
        )
        for name, extra in commands.items():
            one, peak_one = measure([voicekit, extra[0], str(small), *extra[1:]], args.runs)
            many, peak = measure([voicekit, extra[0], str(large), *extra[1:]], args.runs)
            print(
                f"{name:10s} {one:8.2f}s {many:8.2f}s {many / one:7.2f} "
                f"{many - one:+7.2f}s {peak_one:6.0f}MB {peak:6.0f}MB"
            )
        full, lookup = in_process(large)
        print(f"LeadBook.rows() (validating): {full:10,.0f} rows/s")
        print(f"LeadBook.find() (one number): {lookup:10,.0f} rows/s")


if __name__ == "__main__":
    main()
