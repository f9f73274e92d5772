"""Runs: replay a scenario into a run folder, atomically, and open finished runs.

A run folder holds the SQLite event store (``events.sqlite``), the DuckDB
projection (``ledger.duckdb``) and ``run.json`` (what was replayed; nothing
from the wall clock). A run is built in a hidden sibling folder and swapped
into place only when it is complete, so bad input writes nothing and a run
that fails midway leaves the previous run intact.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.domain.time import utc
from projections.projector import Projector
from scenarios.engine import ReplayOptions, ReplayStats, replay
from scenarios.loader import LoadedScenario, load_scenario

EVENTS_FILE = "events.sqlite"
DUCKDB_FILE = "ledger.duckdb"
META_FILE = "run.json"


class RunNotFoundError(FileNotFoundError):
    """A command asked about a run folder that holds no finished run."""


@dataclass(frozen=True, slots=True)
class RunInfo:
    folder: Path
    run: str
    scenario_file: str
    name: str
    start: datetime
    end: datetime
    until: datetime | None
    per_task: bool
    accounts: list[dict[str, str]]
    stats: dict[str, Any]

    @property
    def events_path(self) -> Path:
        return self.folder / EVENTS_FILE

    @property
    def duckdb_path(self) -> Path:
        return self.folder / DUCKDB_FILE

    def ledger(self) -> Ledger:
        return Ledger(self.events_path, run=self.run)


def default_run_dir(scenario_path: Path) -> Path:
    return Path("runs") / scenario_path.stem


def run_scenario(
    scenario_path: Path,
    run_dir: Path | None = None,
    *,
    until: datetime | None = None,
    per_task: bool = False,
    loaded: LoadedScenario | None = None,
    progress: Callable[[datetime], None] | None = None,
    project: bool = True,
    run_name: str | None = None,
) -> RunInfo:
    """Validate, replay and project a scenario into ``run_dir``; replace it atomically.

    Raises ``ScenarioError`` (nothing written) for bad input.
    """
    loaded = loaded or load_scenario(scenario_path)
    run_dir = run_dir or default_run_dir(scenario_path)
    # The run's name (default: the scenario file's stem) seeds the account ids,
    # so the same scenario gives byte-identical events in any folder (S03).
    run_name = run_name or scenario_path.stem
    parent = run_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{run_name}.building-", dir=parent))
    try:
        ledger = Ledger(staging / EVENTS_FILE, run=run_name)
        scenario = loaded.scenario
        stats = replay(
            scenario,
            loaded.price_book,
            ledger,
            file=loaded.path,
            line_of=loaded.line_of,
            options=ReplayOptions(until=until, per_task=per_task, progress=progress),
        )
        ledger.close()
        accounts = [{"account": w.id, "surface": "web"} for w in scenario.workspaces] + [
            {"account": o.id, "surface": "api"} for o in scenario.organizations
        ]
        meta = {
            "run": run_name,
            "scenario_file": loaded.path,
            "name": scenario.name,
            "start": scenario.start.isoformat(),
            "end": scenario.end.isoformat(),
            "until": utc(until).isoformat() if until else None,
            "per_task": per_task,
            "accounts": accounts,
            "stats": _stats_dict(stats),
        }
        (staging / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if project:
            window_end = min(scenario.end, stats.stopped_at or scenario.end)
            projector = Projector(
                Ledger(staging / EVENTS_FILE, run=run_name),
                staging / DUCKDB_FILE,
                scenario.start,
                window_end,
            )
            projector.project()
            projector.close()
        _swap_into_place(staging, run_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return open_run(run_dir)


def _stats_dict(stats: ReplayStats) -> dict[str, Any]:
    return {
        "queue_items": stats.items,
        "task_runs": stats.runs,
        "tasks": stats.tasks,
        "events": stats.events,
        "stopped_at": stats.stopped_at.isoformat() if stats.stopped_at else None,
    }


def _swap_into_place(staging: Path, run_dir: Path) -> None:
    """Replace ``run_dir`` with ``staging``: two renames, the old run removed last."""
    if run_dir.exists():
        retired = run_dir.with_name(f".{run_dir.name}.retired-{os.getpid()}")
        if retired.exists():
            shutil.rmtree(retired)
        os.replace(run_dir, retired)
        os.replace(staging, run_dir)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, run_dir)


def open_run(run_dir: Path) -> RunInfo:
    meta_path = run_dir / META_FILE
    if not meta_path.is_file():
        raise RunNotFoundError(
            f"no finished run in {run_dir} (run `credit-ledger run SCENARIO --dir {run_dir}` first)"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return RunInfo(
        folder=run_dir,
        run=meta["run"],
        scenario_file=meta["scenario_file"],
        name=meta["name"],
        start=datetime.fromisoformat(meta["start"]),
        end=datetime.fromisoformat(meta["end"]),
        until=datetime.fromisoformat(meta["until"]) if meta["until"] else None,
        per_task=bool(meta["per_task"]),
        accounts=list(meta["accounts"]),
        stats=dict(meta["stats"]),
    )
