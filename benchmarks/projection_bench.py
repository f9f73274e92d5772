"""Projection benchmark: a year of events into DuckDB, against DuckDB's own bulk insert.

A ledger is built straight through the domain API (no scenario file, so this
measures the projection alone): web workspaces generating in grouped runs
(some across midnight, some refunded, monthly purchases and billing dates)
and API organizations with daily task runs, hourly autobill checks and tier
raises, more than 100,000 events in all. From one process it prints:

- projection throughput: ``Projector.project()`` from an empty DuckDB file,
  derived tables included (wall time, CPU time, events per second);
- ``balance_at`` latency: the median and worst of 50 calls at random
  instants of random accounts, a third of them inside a grouped run;
- a year of ``daily_balances`` for one account (median of 20 reads);
- the baseline: DuckDB bulk-inserting an Arrow table of the same number of
  rows (the projected ``events`` table itself, payloads included) into a
  fresh file, and the ratio of the two. These machines are shared and
  noisy: the load average is printed, and the ratio is the steadier figure.

Run: ``.venv/bin/python benchmarks/projection_bench.py`` (``--small`` for a
quick pass, ``--keep DIR`` to keep the event store and DuckDB file).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.terms import AutobillSettings, RefillSettings, TaskSpec
from ledger.domain.types import Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.loader import load_price_book
from projections import queries
from projections.projector import Projector
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import load_scenario

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)
MINUTE_US = 60_000_000
TARGET_EVENTS_PER_S = 50_000
TARGET_BALANCE_AT_MS = 50.0


def build(app: Ledger, workspaces: int, organizations: int, days: int) -> int:
    """A year of activity, day by day across every account; returns events written."""
    book = load_price_book()
    plans = [Plan.STANDARD, Plan.PRO, Plan.UNLIMITED]
    spaces: list[WebWorkspace] = [
        app.open_workspace(
            f"ws{i:02d}",
            START + timedelta(hours=i),
            book,
            plans[i % 3],
            refill=RefillSettings(trigger=300, amount_usd=20, monthly_max_usd=200),
        )
        for i in range(workspaces)
    ]
    orgs: list[ApiOrganization] = [
        app.open_organization(
            f"org{i:02d}", START, book, autobill=AutobillSettings(threshold=4000, amount=6000)
        )
        for i in range(organizations)
    ]
    video = TaskSpec("gen4_turbo", 50, processing_us=2 * MINUTE_US)
    image = TaskSpec("gen4_image", 8, processing_us=MINUTE_US)
    for org in orgs:
        org.purchase_credits(START, 5000)
    for d in range(days):
        day = START + timedelta(days=d)
        for i, ws in enumerate(spaces):
            catch_up(ws, day + timedelta(hours=8))
            if d % 14 == i % 14 and day + timedelta(hours=8) >= ws.created_on:
                ws.purchase_credits(day + timedelta(hours=8), 2000)
            for h in (9, 11, 14, 16):
                if day + timedelta(hours=h) < ws.created_on:
                    continue  # workspace i opens at i:00 on the first day
                catch_up(ws, day + timedelta(hours=h))
                refunded = [1] if (d + h) % 5 == 0 else None
                ws.generate(day + timedelta(hours=h), 5 * MINUTE_US, 4, video, refunded=refunded)
            # Crosses 00:00, except in ws00, whose billing dates fall at 00:00 (a run
            # must end before the account's next event: simulated time only moves on).
            late = timedelta(hours=23, minutes=50 if i else 30)
            catch_up(ws, day + late)
            ws.generate(day + late, MINUTE_US, 20, image)
        for i, org in enumerate(orgs):
            busy = {9 + (i % 3), 13, 15 + (i % 2)}
            for hour in range(24):
                at = day + timedelta(hours=hour)
                if hour in busy:
                    refunded = [2, 9] if (d + hour) % 7 == 0 else None
                    org.submit_tasks(
                        at + timedelta(minutes=5), 30_000_000, 40, image, 4, 100_000, refunded
                    )
                    org.submit_tasks(at + timedelta(minutes=30), MINUTE_US, 10, video, 2, 100_000)
                else:
                    org.check_autobill(at)
        app.flush()
    return app.recorder.max_notification_id() or 0


def catch_up(ws: WebWorkspace, at: datetime) -> None:
    """Pass the billing dates due by ``at``, in time order (W05)."""
    while ws.next_billing_at is not None and ws.next_billing_at <= at:
        ws.pass_billing_date(ws.next_billing_at)


def count_rows(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--small", action="store_true", help="a quick pass: 60 days, fewer accounts"
    )
    parser.add_argument("--keep", type=Path, help="build into this folder and keep it")
    parser.add_argument(
        "--scenario",
        type=Path,
        help="build the ledger by replaying this scenario instead (e.g. benchmarks/busy-year.yaml)",
    )
    parser.add_argument(
        "--per-task", action="store_true", help="with --scenario: one event per task"
    )
    parser.add_argument("--days", type=int, help="with --scenario: replay only the first DAYS days")
    args = parser.parse_args()
    workspaces, organizations, days = (4, 6, 60) if args.small else (16, 30, 365)

    with tempfile.TemporaryDirectory(prefix="projection-bench-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("events.sqlite", "ledger.duckdb", "baseline.duckdb"):
            (folder / name).unlink(missing_ok=True)
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

        app = Ledger(folder / "events.sqlite", run="bench")
        started = time.perf_counter()
        if args.scenario:
            loaded = load_scenario(args.scenario)
            window_start = loaded.scenario.start
            window_end = loaded.scenario.end
            if args.days:
                window_end = min(window_end, window_start + timedelta(days=args.days))
            stats = replay(
                loaded.scenario,
                loaded.price_book,
                app,
                options=ReplayOptions(
                    per_task=args.per_task, until=window_end - timedelta(microseconds=1)
                ),
            )
            print(
                f"ledger replayed           {time.perf_counter() - started:8.2f} s  "
                f"{stats.events:>9,} events ({args.scenario.name}, "
                f"{'per task' if args.per_task else 'grouped'}, "
                f"{(window_end - window_start).days} days)",
                flush=True,
            )
        else:
            events = build(app, workspaces, organizations, days)
            print(
                f"ledger built              {time.perf_counter() - started:8.2f} s  "
                f"{events:>9,} events ({workspaces} workspaces, {organizations} organizations, "
                f"{days} days)",
                flush=True,
            )
            window_start = START
            window_end = min(END, START + timedelta(days=days))
        projector = Projector(app, folder / "ledger.duckdb", window_start, window_end)
        wall, cpu = time.perf_counter(), time.process_time()
        projected = projector.project()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rate = projected / wall
        print(
            f"projection                {wall:8.2f} s  {projected:>9,} events  "
            f"{rate:>9,.0f} events/s  (CPU {cpu:.2f} s: {projected / cpu:,.0f} events per CPU s)"
        )
        conn = projector.conn
        counts = {
            t: count_rows(conn, t)
            for t in ("ledger_entries", "task_runs", "refusals", "daily_balances")
        }
        print("  rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))

        rng = random.Random(7)
        accounts = [name for name, _ in queries.accounts(conn)]
        runs = conn.execute(
            "SELECT account_id, first_at, ts FROM task_runs WHERE ts > first_at"
        ).fetchall()
        span = int((window_end - window_start).total_seconds() * 1_000_000)
        asks: list[tuple[str, datetime]] = []
        for k in range(50):
            if k % 3 == 0 and runs:
                account, first, last = rng.choice(runs)
                asks.append((account, first + (last - first) / 2))
            else:
                at = window_start + timedelta(
                    hours=12, microseconds=rng.randrange(span - 86_400_000_000)
                )
                asks.append((rng.choice(accounts), at))
        latencies = []
        for account, at in asks:
            t0 = time.perf_counter()
            queries.balance_at(conn, account, at)
            latencies.append(time.perf_counter() - t0)
        print(
            f"balance_at                median {median_ms(latencies):6.2f} ms  "
            f"worst {max(latencies) * 1000:6.2f} ms  (50 calls, {len(asks) // 3 + 1} inside runs)"
        )

        reads = []
        for _ in range(20):
            t0 = time.perf_counter()
            year = queries.daily_balances(conn, accounts[0])
            reads.append(time.perf_counter() - t0)
        print(f"daily_balances, one year  median {median_ms(reads):6.2f} ms  ({len(year)} days)")

        rows = conn.sql("SELECT * FROM events ORDER BY seq").to_arrow_table()
        projector.close()
        baseline = duckdb.connect(str(folder / "baseline.duckdb"))
        baseline.register("rows", rows)
        baseline.execute("CREATE TABLE events AS SELECT * FROM rows LIMIT 0")
        t0 = time.perf_counter()
        baseline.begin()
        baseline.execute("INSERT INTO events SELECT * FROM rows")
        baseline.commit()
        bulk = time.perf_counter() - t0
        baseline.close()
        print(
            f"baseline: DuckDB bulk insert of {rows.num_rows:,} Arrow rows (the events table) "
            f"{bulk:6.2f} s  {rows.num_rows / bulk:>11,.0f} rows/s"
        )
        print(f"ratio projection / bulk insert: {wall / bulk:.1f}x")
        print(
            f"targets: projection >= {TARGET_EVENTS_PER_S:,} events/s: "
            f"{'met' if rate >= TARGET_EVENTS_PER_S else 'NOT met'}; "
            f"balance_at median < {TARGET_BALANCE_AT_MS:.0f} ms: "
            f"{'met' if median_ms(latencies) < TARGET_BALANCE_AT_MS else 'NOT met'}"
        )
        app.close()


if __name__ == "__main__":
    main()
