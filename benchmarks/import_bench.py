"""Import benchmark: a year of Runway history into a scenario, validated, run, reconciled.

The history is synthetic and deterministic: 8 API models used every day of a
year (credits that are not whole tasks included, so remainder lines are
written), and 3 web workspaces with ``--web`` generations (default 20,000) at
their own instants, 5% of them refunded. From one process it prints:

- reading the raw bodies into figures and writing the scenario (``import``);
- loading and validating that file (``validate``);
- the replay and projection of the file (``run``), the baseline: the other
  steps are given as ratios of it, since these machines are noisy;
- ``reconcile`` (a second replay plus the comparison).

Run: ``make bench-import`` (or ``.venv/bin/python benchmarks/import_bench.py``).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ledger.pricing.loader import load_price_book
from ledger.tools.importer.build import ImportOptions, build_scenario
from ledger.tools.importer.reconcile import reconcile
from ledger.tools.importer.reported import read_export
from ledger.tools.importer.runway import ORGANIZATION_FILE, RunwayExport, usage_file_name, windows
from ledger.tools.runs import run_scenario
from scenarios.loader import load_scenario

START, END = date(2026, 1, 1), date(2027, 1, 1)
MODELS = {  # model -> (typical credits a day, price step)
    "gen4.5": (2400, 12),
    "gen4_turbo": (900, 5),
    "gen4_image": (400, 8),
    "veo3.1_fast": (1200, 15),
    "gemini_2.5_flash": (150, 5),
    "eleven_multilingual_v2": (60, 1),
    "gen4_aleph": (450, 15),
    "seedance2": (720, 36),
}


def synthetic_export(web_rows: int) -> RunwayExport:
    rng = random.Random(17)
    org = {
        "creditBalance": 250_000,
        "tier": {
            "maxMonthlyCreditSpend": 2_000_000,
            "models": {
                m: {"maxConcurrentGenerations": 10, "maxDailyGenerations": 10000} for m in MODELS
            },
        },
        "usage": {"models": {}},
    }
    export = RunwayExport(org)
    export.raw[ORGANIZATION_FILE] = json.dumps(org).encode()
    for start, before in windows(START, END):
        results = []
        day = start
        while day < before:
            used = [
                {
                    "model": m,
                    "amount": step * rng.randint(level // step // 2, level // step * 2)
                    + rng.choice((0, 0, 0, 1, 3)),
                }
                for m, (level, step) in MODELS.items()
            ]
            results.append({"date": day.isoformat(), "usedCredits": used})
            day += timedelta(days=1)
        body = {
            "models": list(MODELS),
            "results": results,
            "apiKeys": None,
            "resultsByApiKey": None,
        }
        export.usage.append((start, before, body))
        export.raw[usage_file_name(start, before)] = json.dumps(body).encode()
    seconds = int(
        (
            datetime.combine(END, datetime.min.time())
            - datetime.combine(START, datetime.min.time())
        ).total_seconds()
    )
    rows = []
    for i in range(web_rows):
        at = datetime.combine(START, datetime.min.time(), UTC) + timedelta(
            seconds=rng.randrange(seconds), microseconds=rng.randrange(10**6)
        )
        tool, credits = rng.choice((("Gen-4 Turbo", 50), ("Gen-4.5", 125), ("Gen-4 Image", 8)))
        ws = 100 + i % 3
        row = {
            "credits": credits,
            "email": f"user{i % 7}@example.com",
            "timestamp": at.isoformat().replace("+00:00", "Z"),
            "tool": tool,
            "type": "charge",
            "workspaceId": ws,
            "workspaceName": f"Team {ws}",
        }
        rows.append(row)
        if rng.random() < 0.05:
            rows.append(
                dict(
                    row,
                    credits=-credits,
                    type="refund",
                    timestamp=(at + timedelta(minutes=4)).isoformat().replace("+00:00", "Z"),
                )
            )
    rows.sort(key=lambda r: str(r["timestamp"]), reverse=True)
    for n in range(0, len(rows), 100):
        export.webapp_pages.append({"data": rows[n : n + 100], "nextCursor": None})
    return export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--web", type=int, default=20_000, help="web generations")
    args = parser.parse_args()
    export = synthetic_export(args.web)
    book = load_price_book()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        reported = read_export(export)
        result = build_scenario(reported, book, ImportOptions(START, END))
        path = folder / "year.yaml"
        path.write_text(result.text)
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        loaded = load_scenario(path)
        t_validate = time.perf_counter() - t0
        t0 = time.perf_counter()
        info = run_scenario(path, folder / "run", loaded=loaded)
        t_run = time.perf_counter() - t0
        t0 = time.perf_counter()
        found = reconcile(info, loaded.scenario, loaded.price_book, reported, START, END)
        t_reconcile = time.perf_counter() - t0
    lines = result.text.count("\n")
    print(
        f"machine: {platform.machine()} {platform.python_implementation()} "
        f"{platform.python_version()} ({sys.platform})"
    )
    print(
        f"history: {len(MODELS)} API models x {(END - START).days} days, "
        f"{result.web_generations:,} web generations; scenario {lines:,} lines, "
        f"{len(result.text.encode()) / 1024:,.0f} KiB"
    )
    kinds = sorted({f.kind for f in found.findings})
    print(
        f"reconcile: {len(found.findings):,} finding(s) of kind(s) {kinds} (the synthetic "
        "amounts are off the book's step now and then on purpose: rate findings only)"
    )
    print(f"run (baseline)  {t_run:7.2f} s  1.00x")
    for label, seconds in (
        ("import", t_import),
        ("validate", t_validate),
        ("reconcile", t_reconcile),
    ):
        print(f"{label:<15} {seconds:7.2f} s  {seconds / t_run:.2f}x")


if __name__ == "__main__":
    main()
