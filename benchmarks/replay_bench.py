"""Replay benchmark: grouped batches against the bare per-task loop, from one process.

Two scenarios:

- ``benchmarks/busy-year.yaml``: usage lines that mostly follow one another
  (1.8 million tasks in 2027);
- ``benchmarks/realistic-year.yaml`` (issue 10): four API lines of different
  models whose tasks alternate all day and a studio mixing Credits and
  Explore lines in the same hours (2.2 million tasks).

For each it prints, measured in this process one after the other:

- a bare baseline: a plain loop that enumerates every task from the schedules
  with its instant and subtracts its cost from an int, no rules, no storage;
- the grouped replay (what ``run`` does) into a SQLite event store: wall time,
  events written, batches handed to the aggregates;
- its peak Python memory (tracemalloc, in a separate pass so tracing does not
  slow the timed one);
- the ratio grouped / bare loop (these machines are noisy: read the ratios).

For the realistic year it also measures, each in a child process so peak RSS
is its own: the whole ``credit-ledger run`` (replay, projection, summary) with
its peak RSS and the sizes of events.sqlite and ledger.duckdb; a per-task
replay (``--per-task``) of the first 30 days with its peak RSS; ``credit-ledger
compare benchmarks/realistic-workload.yaml --breakeven``; and 16 copies
of the organization and of the workspace in one scenario against one of each
(the cost must stay linear: at most 17x).

Run: ``make bench`` (or ``.venv/bin/python benchmarks/replay_bench.py``).
``--quick`` leaves out the child processes.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import yaml

from ledger.application import Ledger
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import load_scenario
from scenarios.schedule import usage_occurrences

HERE = Path(__file__).parent
BUSY = HERE / "busy-year.yaml"
REALISTIC = HERE / "realistic-year.yaml"
WORKLOAD = HERE / "realistic-workload.yaml"
CLI = Path(sys.executable).with_name("credit-ledger")


def measure(scenario: Path, store: Path) -> tuple[float, int, int]:
    """Wall time of one grouped replay into a fresh SQLite store (no tracing while timed)."""
    loaded = load_scenario(scenario)
    ledger = Ledger(store, run="bench")
    started = time.perf_counter()
    stats = replay(loaded.scenario, loaded.price_book, ledger, options=ReplayOptions())
    elapsed = time.perf_counter() - started
    ledger.close()
    print(
        f"  {'grouped replay':<26} {elapsed:8.2f} s  {stats.tasks:>10,} tasks"
        f"  {stats.events:>9,} events  {stats.runs:>7,} batches ({stats.lanes:,} lanes)",
        flush=True,
    )
    return elapsed, stats.tasks, stats.events


def peak_memory(scenario: Path, store: Path) -> int:
    """Peak Python memory of the same replay, measured in a separate pass (tracemalloc)."""
    loaded = load_scenario(scenario)
    ledger = Ledger(store, run="bench")
    tracemalloc.start()
    replay(loaded.scenario, loaded.price_book, ledger)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ledger.close()
    return peak


def bare_loop(scenario: Path) -> tuple[float, int]:
    """Every task of the year, enumerated from the schedules with its instant, its cost
    subtracted from an int: no rules, no storage, no events."""
    loaded = load_scenario(scenario)
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
    print(f"  {'bare per-task loop':<26} {elapsed:8.2f} s  {n:>10,} tasks", flush=True)
    return elapsed, n


CPU = {"last": 0.0}  # CPU seconds (user + system) of the last child


def child(args: list[str]) -> tuple[float, int]:
    """Run a command in a child process: (wall seconds, its peak RSS in bytes).

    Its CPU seconds go to ``CPU["last"]``: on a machine shared with other work
    they say more than the wall time, which waits for the cores.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU["last"] = usage.ru_utime + usage.ru_stime - cpu
    if usage.ru_maxrss <= before:  # the largest child so far; say when it is not this one
        print("  (peak RSS not above an earlier child's: the figure is an upper bound)")
    return elapsed, usage.ru_maxrss * 1024


def whole_run(tmp: Path) -> dict[str, float]:
    folder = tmp / "run"
    elapsed, rss = child([str(CLI), "run", str(REALISTIC), "--dir", str(folder), "-q"])
    events = (folder / "events.sqlite").stat().st_size
    duck = (folder / "ledger.duckdb").stat().st_size
    print(
        f"  {'credit-ledger run':<26} {elapsed:8.2f} s  ({CPU['last']:.2f} s CPU)"
        f"  peak RSS {rss / 2**20:6.0f} MiB"
        f"  events.sqlite {events / 2**20:5.1f} MiB  ledger.duckdb {duck / 2**20:5.1f} MiB",
        flush=True,
    )
    return {"run": elapsed, "cpu": CPU["last"], "rss": rss, "events": events, "duckdb": duck}


def breakeven() -> float:
    """``compare --breakeven`` on the four interleaved lines: dozens of year replays."""
    elapsed, _ = child([str(CLI), "compare", str(WORKLOAD), "--breakeven"])
    print(
        f"  {'compare --breakeven':<26} {elapsed:8.2f} s  ({CPU['last']:.2f} s CPU)"
        f"  {WORKLOAD.name}",
        flush=True,
    )
    return elapsed


def per_task_month(tmp: Path) -> tuple[float, int]:
    code = (
        "import sys; from datetime import timedelta; from pathlib import Path;"
        "from ledger.application import Ledger;"
        "from scenarios.engine import ReplayOptions, replay;"
        "from scenarios.loader import load_scenario;"
        "s = load_scenario(Path(sys.argv[1]));"
        "u = s.scenario.start + timedelta(days=30);"
        "replay(s.scenario, s.price_book, Ledger(sys.argv[2], run='bench'),"
        " options=ReplayOptions(per_task=True, until=u))"
    )
    elapsed, rss = child([sys.executable, "-c", code, str(REALISTIC), str(tmp / "per-task.sqlite")])
    print(
        f"  {'per-task replay, 30 days':<26} {elapsed:8.2f} s  peak RSS {rss / 2**20:6.0f} MiB",
        flush=True,
    )
    return elapsed, rss


def scaled(tmp: Path, copies: int) -> Path:
    """The realistic year with ``copies`` of its workspace and of its organization."""
    data = yaml.safe_load(REALISTIC.read_text(encoding="utf-8"))
    ws, org = data["workspaces"][0], data["organizations"][0]
    data["workspaces"] = [dict(ws, id=f"{ws['id']}-{i}") for i in range(copies)]
    data["organizations"] = [dict(org, id=f"{org['id']}-{i}") for i in range(copies)]
    path = tmp / f"realistic-x{copies}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def linearity(tmp: Path) -> float:
    one = scaled(tmp, 1)
    many = scaled(tmp, 16)
    print("  16 organizations and 16 workspaces against one of each (best of two, interleaved):")
    t1s, t16s = [], []
    for attempt in range(2):
        t1s.append(measure(one, tmp / f"x1-{attempt}.sqlite")[0])
        t16s.append(measure(many, tmp / f"x16-{attempt}.sqlite")[0])
    t1, t16 = min(t1s), min(t16s)
    ratio = t16 / t1
    print(f"  ratio x16 / x1: {ratio:.1f}x (linear would be 16x; target at most 17x)")
    return ratio


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no child processes")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ratios: dict[str, float] = {}
        for scenario in (BUSY, REALISTIC):
            print(f"scenario: {scenario.name}", flush=True)
            bare, _ = bare_loop(scenario)
            grouped, _, _ = measure(scenario, tmp / f"{scenario.stem}.sqlite")
            peak = peak_memory(scenario, tmp / f"{scenario.stem}-2.sqlite")
            print(f"  {'grouped peak memory':<26} {peak / 2**20:8.1f} MiB (tracemalloc)")
            ratios[scenario.stem] = grouped / bare
            print(f"  grouped / bare loop: {grouped / bare:.2f}x", flush=True)
        realistic = ratios[REALISTIC.stem]
        print(
            f"targets ({REALISTIC.name}): replay no slower than the bare loop "
            f"({verdict(realistic <= 1.0)}, {realistic:.2f}x), never over 3x "
            f"({verdict(realistic <= 3.0)})"
        )
        if args.quick:
            return 0
        print(f"scenario: {REALISTIC.name}, child processes", flush=True)
        run = whole_run(tmp)
        compared = breakeven()
        _, per_task_rss = per_task_month(tmp)
        ratio = linearity(tmp)
        print(
            f"targets: run < 5 s ({verdict(run['run'] < 5)}; CPU {run['cpu']:.2f} s), "
            f"run < 300 MiB peak RSS "
            f"({verdict(run['rss'] < 300 * 2**20)}), events.sqlite < 50 MB "
            f"({verdict(run['events'] < 50e6)}), ledger.duckdb < 50 MB "
            f"({verdict(run['duckdb'] < 50e6)}), per-task 30 days < 300 MiB "
            f"({verdict(per_task_rss < 300 * 2**20)}), x16 <= 17x ({verdict(ratio <= 17)}), "
            f"compare --breakeven < 30 s ({verdict(compared < 30)})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
