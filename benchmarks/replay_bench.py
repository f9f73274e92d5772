"""Replay benchmark: a busy year, grouped vs per-task, against a bare loop.

The scenario (benchmarks/busy-year.yaml): a 10-editor Unlimited workspace
and an API organization that submits 5,000 tasks a day over working hours
(1.8 million tasks in the year). From one process it prints:

- the full replay (grouped runs), into a SQLite event store: wall time, peak
  memory (tracemalloc), events written;
- the same replay in per-task mode (every task its own event);
- a bare baseline: a plain loop that subtracts each task's cost from an int,
  no rules and no storage;
- the ratios, since these machines are noisy.

Run: ``make bench`` (or ``.venv/bin/python benchmarks/replay_bench.py``).
``--skip-per-task`` leaves out the slow per-task replay.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from ledger.application import Ledger
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import load_scenario
from scenarios.schedule import usage_occurrences

HERE = Path(__file__).parent
SCENARIO = HERE / "busy-year.yaml"


def measure(label: str, per_task: bool, store: Path) -> tuple[float, int]:
    """Wall time of one replay into a fresh SQLite store (no tracing while timed)."""
    loaded = load_scenario(SCENARIO)
    ledger = Ledger(store, run="bench")
    started = time.perf_counter()
    stats = replay(
        loaded.scenario, loaded.price_book, ledger, options=ReplayOptions(per_task=per_task)
    )
    elapsed = time.perf_counter() - started
    ledger.close()
    print(
        f"{label:<24} {elapsed:8.2f} s  {stats.tasks:>10,} tasks  {stats.events:>9,} events"
        f"  {stats.runs:>9,} runs handed to aggregates",
        flush=True,
    )
    return elapsed, stats.tasks


def peak_memory(per_task: bool, store: Path) -> int:
    """Peak Python memory of the same replay, measured in a separate pass (tracemalloc)."""
    loaded = load_scenario(SCENARIO)
    ledger = Ledger(store, run="bench")
    tracemalloc.start()
    replay(loaded.scenario, loaded.price_book, ledger, options=ReplayOptions(per_task=per_task))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ledger.close()
    return peak


def bare_loop() -> tuple[float, int]:
    """Every task of the year, enumerated from the schedules with its instant, its cost
    subtracted from an int: no rules, no storage, no events."""
    loaded = load_scenario(SCENARIO)
    book = loaded.price_book
    accounts = [(ws.usage, book.web_model) for ws in loaded.scenario.workspaces] + [
        (org.usage, book.api_model) for org in loaded.scenario.organizations
    ]
    started = time.perf_counter()
    balance = 10**12
    n = 0
    for lines, catalogue in accounts:
        costs = [catalogue(line.model).cost(line.task_usage()) for line in lines]
        for occ, index, _line in usage_occurrences(
            lines, loaded.scenario.start, loaded.scenario.end
        ):
            cost = costs[index]
            for _instant in occ.instants():
                balance -= cost
                n += 1
    elapsed = time.perf_counter() - started
    print(f"{'bare per-task loop':<24} {elapsed:8.2f} s  {n:>10,} tasks", flush=True)
    return elapsed, n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-per-task", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(f"scenario: {SCENARIO.name}")
    with tempfile.TemporaryDirectory() as tmp:
        bare, _ = bare_loop()
        grouped, tasks = measure("grouped replay", False, Path(tmp) / "g.sqlite")
        grouped_peak = peak_memory(False, Path(tmp) / "g2.sqlite")
        print(f"{'grouped peak memory':<24} {grouped_peak / 2**20:8.1f} MiB (tracemalloc)")
        per_task = None
        if not args.skip_per_task:
            per_task, _ = measure("per-task replay", True, Path(tmp) / "p.sqlite")
            per_task_peak = peak_memory(True, Path(tmp) / "p2.sqlite")
            print(f"{'per-task peak memory':<24} {per_task_peak / 2**20:8.1f} MiB (tracemalloc)")
    print(f"grouped / bare loop: {grouped / bare:.2f}x the time of the bare loop")
    if per_task is not None:
        print(f"per-task / grouped: {per_task / grouped:.1f}x")
    print(
        f"targets: full year < 10 s ({'met' if grouped < 10 else 'MISSED'}), "
        f"< 300 MiB ({'met' if grouped_peak < 300 * 2**20 else 'MISSED'}), "
        f"grouped beats bare loop ({'met' if grouped < bare else 'MISSED'})"
    )
    del tasks
    return 0


if __name__ == "__main__":
    sys.exit(main())
