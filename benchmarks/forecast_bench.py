"""Forecast benchmark: N samples of an uncertain year, against one deterministic replay.

The scenario (benchmarks/forecast-realistic.yaml, the issue's workload): the
realistic year of issue 10, several usage lines interleaved through the day on
both surfaces, with every count a distribution, about 2.25 million tasks a
sample (``--scenario benchmarks/forecast-year.yaml``: the busy year, whose lines
keep to their own hours). From one process it prints:

- the baseline: one deterministic replay of the same file (typical values),
  in memory, and into a SQLite event store as ``run`` does (without the
  DuckDB projection);
- one sample alone (replay in memory + summary), and its ratio to the baseline;
  where a sample's time goes (replay, summary fold) against the time a sample
  may take for the sweep to meet its target on this machine's cores;
- throughput with 1 and 2 local worker processes side by side on the same
  samples, and on a Dask ``LocalCluster`` of 2 single-threaded workers;
- the full sweep: ``--samples`` (default 1,000) on every core, its wall time
  against the 60 s target and against N x the deterministic replay.

Run: ``make bench`` (or ``.venv/bin/python -u benchmarks/forecast_bench.py``);
``--samples``, ``--scaling-samples`` and ``--skip-cluster`` shorten it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from ledger.application import Ledger
from ledger.tools.forecast.executors import default_workers, run_samples
from ledger.tools.forecast.results import forecast
from ledger.tools.forecast.sample import ForecastJob, replay_sample, run_sample, summarise
from scenarios.engine import replay
from scenarios.loader import load_scenario

HERE = Path(__file__).parent
SCENARIO = HERE / "forecast-realistic.yaml"
TARGET_S = 60.0


def timed(label: str, fn: object, *args: object, **kwargs: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args, **kwargs)  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {elapsed:9.2f} s", flush=True)
    return elapsed, result


def sample_parts(job: ForecastJob, samples: range) -> tuple[float, float]:
    """Mean seconds of a sample's replay and of folding its events into the summary."""
    replaying = folding = 0.0
    for k in samples:
        started = time.perf_counter()
        replayed = replay_sample(job, k)
        middle = time.perf_counter()
        summarise(job, replayed)
        replaying += middle - started
        folding += time.perf_counter() - middle
        replayed.ledger.close()
    return replaying / len(samples), folding / len(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=SCENARIO)
    parser.add_argument("--samples", type=int, default=1000, help="the full sweep")
    parser.add_argument("--scaling-samples", type=int, default=40, help="1 vs 2 workers, cluster")
    parser.add_argument("--skip-cluster", action="store_true")
    args = parser.parse_args()

    print(f"forecast benchmark: {args.scenario}", flush=True)
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.1f} (shared: read the ratios)",
        flush=True,
    )
    loaded = load_scenario(args.scenario)
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=1)

    memory = Ledger("memory", run="bench")
    base, stats = timed(
        "deterministic replay, in memory", replay, loaded.scenario, loaded.price_book, memory
    )
    with tempfile.TemporaryDirectory() as folder:
        sqlite = Ledger(Path(folder) / "events.sqlite", run="bench")
        stored, _ = timed(
            "deterministic replay, SQLite event store",
            replay,
            loaded.scenario,
            loaded.price_book,
            sqlite,
        )
        sqlite.close()
    one, summary = timed("one forecast sample (replay + summary)", run_sample, job, 0)
    print(
        f"  tasks: deterministic {stats.tasks:,}, sample 0 {summary.tasks:,}; "  # type: ignore[attr-defined]
        f"sample / deterministic in memory {one / base:.2f}x, / SQLite {one / stored:.2f}x",
        flush=True,
    )
    replaying, folding = sample_parts(job, range(1, 6))
    budget = TARGET_S * default_workers() / args.samples
    print(
        f"  where a sample's time goes (mean of 5): replay {replaying:.3f} s, summary fold "
        f"{folding:.3f} s; the {TARGET_S:.0f} s target for {args.samples:,} samples on "
        f"{default_workers()} cores allows {budget:.3f} s a sample "
        f"({(replaying + folding) / budget:.1f}x that)",
        flush=True,
    )

    s = args.scaling_samples
    t1, _ = timed(f"{s} samples, 1 worker (this process)", run_samples, job, range(s), workers=1)
    t2, _ = timed(f"{s} samples, 2 local worker processes", run_samples, job, range(s), workers=2)
    print(
        f"  throughput: 1 worker {s / t1:.2f} samples/s, 2 workers {s / t2:.2f} samples/s "
        f"({t1 / t2:.2f}x)",
        flush=True,
    )
    if not args.skip_cluster:
        from distributed import LocalCluster

        with LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster:
            run_samples(job, range(2), cluster=cluster.scheduler_address)  # warm the workers
            tc, _ = timed(
                f"{s} samples, Dask LocalCluster, 2 workers",
                run_samples,
                job,
                range(s),
                cluster=cluster.scheduler_address,
            )
        print(
            f"  throughput: LocalCluster {s / tc:.2f} samples/s ({t1 / tc:.2f}x one worker)",
            flush=True,
        )

    n = args.samples
    workers = default_workers()
    tn, summaries = timed(f"{n} samples, {workers} local workers", run_samples, job, range(n))
    timed("  quantiles of the sweep", forecast, job, str(args.scenario), summaries)
    verdict = "under" if tn < TARGET_S else "OVER"
    print(
        f"  {n} samples in {tn:.1f} s: {verdict} the {TARGET_S:.0f} s target; "
        f"{tn / base:.1f}x one deterministic in-memory replay "
        f"({tn / (n * base):.2f}x N replays of it, {tn / (n * base) * workers:.2f}x per core)",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
