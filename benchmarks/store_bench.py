"""Store benchmark: the busy year replayed and projected on SQLite and on PostgreSQL.

The scenario is benchmarks/busy-year.yaml (a 10-editor Unlimited workspace
and an API organization submitting 5,000 tasks a day: 1.8 million tasks).
Two workloads, each on both stores:

- the whole year as ``credit-ledger run`` replays it (grouped runs: a few
  thousand events), then its projection into a fresh DuckDB file;
- the first 14 days with every task its own event (``--per-task``: about
  70,000 events), which is what stresses a store: saves in batches of 1,000
  events, snapshots every 200 events of an aggregate, projection batches of
  10,000 notifications.

On PostgreSQL the replay is what ``run --store`` does: claimed, written into
the run's build schema, projected from there, swapped into place. Then two
per-task replays of different runs into the same database at once (two
processes), against one alone: writers of different runs do not wait for
each other. It prints wall times, events per second and the ratios
PostgreSQL / SQLite, the steadier figures on a shared machine.

PostgreSQL is a throwaway cluster on a loopback port with the default,
durable settings (fsync on, synchronous_commit on), started and stopped by
this script (scripts/pgcluster.py), or the server given with ``--store URL``
(runs named ``bench-*`` are written, then removed). A server across a
network adds a round trip per save batch and per projection batch.

Run: ``make bench-store`` (or ``.venv/bin/python benchmarks/store_bench.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from ledger.application import Ledger
from ledger.pgstore import PostgresStore
from ledger.stores import mask
from projections.projector import Projector
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import LoadedScenario, load_scenario

HERE = Path(__file__).parent
SCENARIO = HERE / "busy-year.yaml"
PER_TASK_DAYS = 14


def pgcluster() -> ModuleType:
    spec = importlib.util.spec_from_file_location("pgcluster", HERE.parent / "scripts/pgcluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pgcluster"] = module
    spec.loader.exec_module(module)
    return module


def timed(step: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    count = step()
    return time.perf_counter() - started, count


def options(per_task: bool, loaded: LoadedScenario) -> ReplayOptions:
    until = loaded.scenario.start + timedelta(days=PER_TASK_DAYS) if per_task else None
    return ReplayOptions(per_task=per_task, until=until)


def replay_into(ledger: Ledger, loaded: LoadedScenario, per_task: bool) -> int:
    return replay(
        loaded.scenario, loaded.price_book, ledger, options=options(per_task, loaded)
    ).events


def project(ledger: Ledger, path: Path, loaded: LoadedScenario, per_task: bool) -> int:
    end = options(per_task, loaded).until or loaded.scenario.end
    with Projector(ledger, path, loaded.scenario.start, end) as projector:
        return projector.project()


def line(label: str, seconds: float, events: int) -> None:
    print(
        f"  {label:<34} {seconds:8.2f} s  {events:>9,} events  {events / seconds:>9,.0f} events/s",
        flush=True,
    )


@dataclass
class Figures:
    replay: float
    projection: float


def sqlite_figures(loaded: LoadedScenario, folder: Path, per_task: bool) -> Figures:
    ledger = Ledger(folder / f"events-{per_task}.sqlite", run="bench-sqlite")
    replay_s, events = timed(lambda: replay_into(ledger, loaded, per_task))
    line("SQLite: replay", replay_s, events)
    duckdb_path = folder / f"sqlite-{per_task}.duckdb"
    project_s, projected = timed(lambda: project(ledger, duckdb_path, loaded, per_task))
    line("SQLite: projection", project_s, projected)
    ledger.close()
    return Figures(replay_s, project_s)


def postgres_figures(loaded: LoadedScenario, url: str, folder: Path, per_task: bool) -> Figures:
    """As ``credit-ledger run --store`` does it: claimed, built, projected, swapped in."""
    team = PostgresStore(url)
    build = team.begin_build("bench-pg")
    ledger = build.ledger()
    replay_s, events = timed(lambda: replay_into(ledger, loaded, per_task))
    line("PostgreSQL: replay", replay_s, events)
    duckdb_path = folder / f"pg-{per_task}.duckdb"
    project_s, projected = timed(lambda: project(ledger, duckdb_path, loaded, per_task))
    line("PostgreSQL: projection", project_s, projected)
    ledger.close()
    started = time.perf_counter()
    build.commit({"bench": True})
    print(f"  {'PostgreSQL: swap into place':<34} {time.perf_counter() - started:8.3f} s")
    build.close()
    team.remove("bench-pg")
    return Figures(replay_s, project_s)


def one_writer(url: str, run: str) -> float:
    """A per-task replay into a run's build schema, in its own process; its wall time."""
    loaded = load_scenario(SCENARIO)
    build = PostgresStore(url).begin_build(run)
    ledger = build.ledger()
    seconds, _ = timed(lambda: replay_into(ledger, loaded, True))
    ledger.close()
    build.abort()
    build.close()
    return seconds


def concurrent_figures(url: str) -> tuple[float, float]:
    """One per-task replay alone, then two of different runs at once (two processes)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        alone = pool.apply(one_writer, (url, "bench-alone"))
        started = time.perf_counter()
        both = pool.starmap(one_writer, [(url, "bench-1"), (url, "bench-2")])
        wall = time.perf_counter() - started
    print(f"  {'PostgreSQL: one replay alone':<34} {alone:8.2f} s")
    print(
        f"  {'PostgreSQL: two replays at once':<34} {wall:8.2f} s  "
        f"(each {both[0]:.2f} s and {both[1]:.2f} s, two processes)"
    )
    return alone, max(both)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", help="a PostgreSQL URL (default: a throwaway local cluster)")
    parser.add_argument("--skip-concurrent", action="store_true")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}"
    )
    loaded = load_scenario(SCENARIO)
    cluster = None
    url = args.store
    if url is None:
        cluster = pgcluster().start_cluster(durable=True)
        url = cluster.url()
        print(f"PostgreSQL: throwaway cluster on 127.0.0.1:{cluster.port} (fsync on)")
    else:
        print(f"PostgreSQL: {mask(url)}")
    results: dict[str, tuple[Figures, Figures]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
            for per_task, title in (
                (False, f"{SCENARIO.name}, the whole year, grouped runs (as `run` does)"),
                (True, f"{SCENARIO.name}, first {PER_TASK_DAYS} days, every task its own event"),
            ):
                print(title)
                sqlite = sqlite_figures(loaded, Path(tmp), per_task)
                postgres = postgres_figures(loaded, url, Path(tmp), per_task)
                results[title] = (sqlite, postgres)
            concurrent = None if args.skip_concurrent else concurrent_figures(url)
    finally:
        if cluster is not None:
            cluster.stop()
    for title, (sqlite, postgres) in results.items():
        print(
            f"ratio PostgreSQL / SQLite ({title.split(', ', 1)[1]}): "
            f"replay {postgres.replay / sqlite.replay:.2f}x, "
            f"projection {postgres.projection / sqlite.projection:.2f}x"
        )
    if concurrent is not None:
        alone, slower = concurrent
        print(f"ratio two replays at once / one alone (slower of the two): {slower / alone:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
