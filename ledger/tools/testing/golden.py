"""Golden runs: a scenario's stored events and monthly figures as stable text.

A golden file pins what a replay stores, so any change to the stored events
of an example (a rule, a price, an event's fields) shows up as a diff to
review (style.md: golden files for the serialized events of each example).

* ``<stem>.events.txt``: one line per stored event, accounts in scenario
  order then versions in order: account, timestamp, version, event type, and
  its fields sorted by name as JSON values (no ids: they derive from names).
* ``<stem>.monthly.csv``: the ``monthly_summary`` table (scenario-format.md).

Regenerate on purpose with ``make golden`` or
``python -m ledger.tools.testing.golden SCENARIO_DIR GOLDEN_DIR``; ``--check``
compares instead of writing and exits 1 with a unified diff on a difference.
"""

from __future__ import annotations

import argparse
import csv
import difflib
import io
import json
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ledger.application import Ledger
from ledger.audit import event_fields
from ledger.domain.time import utc
from ledger.tools.runs import RunInfo, run_scenario
from projections import queries

MONTHLY_COLUMNS = queries.MONTHLY_COLUMNS  # the columns of monthly_summary, in order


def example_scenarios(folder: Path) -> list[Path]:
    """The scenario files of a folder, sorted (workload files, ``kind: workload``, left out)."""
    found = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("kind", "scenario") == "scenario":
            found.append(path)
    return found


def event_line(account: str, event: Any) -> str:
    """``creator 2027-01-15T10:00:00+00:00 v1 PlanSubscribed anchor="..." ...``."""
    fields = " ".join(
        f"{key}={json.dumps(value, sort_keys=True, separators=(',', ':'))}"
        for key, value in event_fields(event).items()
    )
    timestamp = utc(event.timestamp).isoformat()
    version = event.originator_version
    return f"{account} {timestamp} v{version} {type(event).__name__} {fields}".rstrip()


def events_text(ledger: Ledger, accounts: Sequence[str]) -> str:
    lines = [
        event_line(account, event)
        for account in accounts
        for event in ledger.iter_account_events(account)
    ]
    return "\n".join(lines) + "\n"


def monthly_csv(info: RunInfo) -> str:
    con = queries.connect(info.duckdb_path)
    try:
        rows = queries.monthly_summary(con)
    finally:
        con.close()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MONTHLY_COLUMNS)
    for row in rows:
        writer.writerow([v.isoformat() if hasattr(v, "isoformat") else v for v in row])
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class GoldenFile:
    name: str  # e.g. solo-creator.events.txt
    text: str


def golden_files(scenario: Path, work_dir: Path) -> list[GoldenFile]:
    """Replay ``scenario`` into ``work_dir`` and serialize it."""
    info = run_scenario(scenario, work_dir / scenario.stem)
    ledger = info.ledger()
    try:
        events = events_text(ledger, [a["account"] for a in info.accounts])
    finally:
        ledger.close()
    return [
        GoldenFile(f"{scenario.stem}.events.txt", events),
        GoldenFile(f"{scenario.stem}.monthly.csv", monthly_csv(info)),
    ]


def diff(expected: str, actual: str, name: str, limit: int = 200) -> str:
    """A unified diff (at most ``limit`` lines), empty when the texts are equal."""
    lines = list(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{name} (golden)",
            tofile=f"{name} (this replay)",
        )
    )
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more diff lines\n"]
    return "".join(lines)


def compare(scenario: Path, golden_dir: Path, work_dir: Path) -> Iterator[str]:
    """The diff of each golden file of ``scenario`` that differs (or is missing)."""
    for golden in golden_files(scenario, work_dir):
        path = golden_dir / golden.name
        if not path.is_file():
            yield f"{path} is missing (run `make golden`)\n"
            continue
        found = diff(path.read_text(encoding="utf-8"), golden.text, golden.name)
        if found:
            yield found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger.tools.testing.golden",
        description="Write (or --check) the golden files of every scenario in a folder.",
    )
    parser.add_argument(
        "scenarios", type=Path, help="a folder of scenario files (*.yaml; workloads are skipped)"
    )
    parser.add_argument("golden", type=Path, help="the folder of golden files")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    scenarios = example_scenarios(args.scenarios)
    if not scenarios:
        sys.stderr.write(f"no scenario file (*.yaml) in {args.scenarios}\n")
        return 2
    args.golden.mkdir(parents=True, exist_ok=True)
    failed = False
    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        for scenario in scenarios:
            if args.check:
                for text in compare(scenario, args.golden, Path(tmp)):
                    sys.stdout.write(text)
                    failed = True
                continue
            for golden in golden_files(scenario, Path(tmp)):
                (args.golden / golden.name).write_text(golden.text, encoding="utf-8")
                sys.stdout.write(f"wrote {args.golden / golden.name}\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
