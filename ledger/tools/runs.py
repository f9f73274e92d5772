"""Runs: replay a scenario into a run folder, atomically, and open finished runs.

A run folder holds the SQLite event store (``events.sqlite``), the DuckDB
projection (``ledger.duckdb``) and ``run.json`` (what was replayed; nothing
from the wall clock). A run is built in a hidden sibling folder and swapped
into place only when it is complete, so bad input writes nothing and a run
that fails midway leaves the previous run intact.

With a team store (``store``: a PostgreSQL URL, ``ledger.pgstore``) the
events live in the run's schema of the shared database, and the run folder
keeps the DuckDB projection and ``run.json`` (the store URL masked, the
run's generation, how far it is projected). Opening a run of a team store
that the folder does not hold yet, or holds at an older generation,
projects it from the database first, resuming where a stopped projection
left off. One writer per run on either kind of store (``ledger.stores``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from ledger import stores
from ledger.application import Ledger
from ledger.domain.time import utc
from ledger.tools import runfolder
from projections.projector import Projector
from scenarios.draws import Draws
from scenarios.engine import ReplayOptions, ReplayStats, replay
from scenarios.loader import LoadedScenario, load_scenario

_T = TypeVar("_T")
EVENTS_FILE = stores.EVENTS_FILE
DUCKDB_FILE = "ledger.duckdb"
META_FILE = "run.json"


class RunNotFoundError(FileNotFoundError):
    """A command asked about a run folder that holds no finished run."""


class RunCollisionError(ValueError):
    """The default run folder holds the run of another scenario file with the same name."""


def check_default_folder(scenario_path: Path, run_dir: Path) -> None:
    """Refuse to replace, silently, the run of another file that shares ``run_dir``.

    Default run folders are keyed by the file's stem (``runs/plan``), so
    ``a/plan.yaml`` and ``b/plan.yaml`` would share one. The run records the
    resolved path of its scenario file; a different one there is refused.
    """
    try:
        meta = _read_meta(run_dir)
    except (ValueError, TypeError):
        return  # a damaged run.json: the commands that read it say so
    if meta is None or meta.get("store") or not meta.get("scenario_path"):
        return
    theirs, mine = str(meta["scenario_path"]), str(scenario_path.resolve())
    if theirs != mine:
        raise RunCollisionError(
            f"{run_dir} holds the run of {theirs}, another scenario file with the same "
            f"name as {scenario_path}; nothing was replaced. Give this one its own folder "
            f"with --run NAME or --dir DIR, or delete that run first "
            f"(credit-ledger runs rm {meta.get('run', run_dir.name)})"
        )


class RunDamagedError(stores.StoreError):
    """A run folder whose files cannot be read (truncated, overwritten): one sentence, exit 2."""

    def __init__(self, run_dir: Path, what: str) -> None:
        super().__init__(
            f"the run in {run_dir} is damaged ({what}); run the scenario again to rebuild it"
        )


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
    # A team store's URL, password included: in memory only, never in a repr or a file.
    store: str | None = field(default=None, repr=False)  # None: the folder's SQLite file
    generation: str | None = None  # a team store's run generation
    kind: str = "run"  # or "forecast": a folder of forecast samples (no event store)

    @property
    def events_path(self) -> Path:
        return self.folder / EVENTS_FILE

    @property
    def duckdb_path(self) -> Path:
        return self.folder / DUCKDB_FILE

    def ledger(self) -> Ledger:
        if self.kind == "forecast":
            raise RunNotFoundError(
                f"{self.folder} is a forecast folder: it holds the samples' figures for `sql` "
                "and `export`, not a run's events; replay one sample as a run with "
                "`credit-ledger forecast SCENARIO --sample K`"
            )
        return stores.open_ledger(self.store, self.folder, self.run)

    @property
    def window_end(self) -> datetime:
        """The end of the projected window: the scenario's, or where ``--until`` stopped it."""
        stopped = self.stats.get("stopped_at")
        return min(self.end, datetime.fromisoformat(stopped)) if stopped else self.end


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
    store: str | None = None,
    draws: Draws | None = None,
) -> RunInfo:
    """Validate, replay and project a scenario into ``run_dir``; replace it atomically.

    ``store``: None for the folder's own SQLite file, or a team store's URL.
    ``draws``: a forecast sample's draws (``forecast --sample K``); None: typical values.
    Raises ``ScenarioError`` (nothing written) for bad input, ``RunBusyError``
    (nothing written) when another writer is writing the same run.
    """
    run_dir = run_dir or default_run_dir(scenario_path)
    runfolder.check_target(run_dir, scenario_path)  # before any work: nothing of the user's
    loaded = loaded or load_scenario(scenario_path)
    # The run's name (default: the scenario file's stem) seeds the account ids,
    # so the same scenario gives byte-identical events in any folder (S03).
    run_name = run_name or scenario_path.stem
    parent = run_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=runfolder.staging_prefix(run_dir), dir=parent))
    build: stores.Build | None = None
    try:
        runfolder.mark(staging)
        build = stores.open_build(store, run_name, run_dir, staging)
        # Holding the claim: put back a run a killed writer had set aside, clear its leftovers.
        runfolder.recover(run_dir, keep=staging)
        runfolder.check_target(run_dir, scenario_path)
        ledger = build.ledger()
        scenario = loaded.scenario
        stats = replay(
            scenario,
            loaded.price_book,
            ledger,
            file=loaded.path,
            line_of=loaded.line_of,
            options=ReplayOptions(until=until, per_task=per_task, progress=progress, draws=draws),
        )
        ledger.close()
        runfolder.checkpoint("replayed")  # mid-build: the kill tests stop here too
        accounts = [{"account": w.id, "surface": "web"} for w in scenario.workspaces] + [
            {"account": o.id, "surface": "api"} for o in scenario.organizations
        ]
        meta = {
            "run": run_name,
            "scenario_file": loaded.path,
            "scenario_path": str(Path(loaded.path).resolve())
            if Path(loaded.path).is_file()
            else None,
            "name": scenario.name,
            "start": scenario.start.isoformat(),
            "end": scenario.end.isoformat(),
            "until": utc(until).isoformat() if until else None,
            "per_task": per_task,
            "accounts": accounts,
            "stats": _stats_dict(stats),
        }
        position = None
        if project:
            window_end = min(scenario.end, stats.stopped_at or scenario.end)
            projected = build.ledger()
            projector = Projector(projected, staging / DUCKDB_FILE, scenario.start, window_end)
            projector.project()
            position = projector.position
            projector.close()
            projected.close()
        local = meta | build.record(position)
        (staging / META_FILE).write_text(json.dumps(local, indent=2) + "\n", encoding="utf-8")
        build.commit(meta)
        runfolder.swap_into_place(staging, run_dir)
    except BaseException:
        # The error that stopped the build is the one to report: a clean-up that
        # fails too (a crashed PostgreSQL server refuses both) must not replace it.
        if build is not None:
            with contextlib.suppress(Exception):
                build.abort()
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        if build is not None:
            build.close()
    return open_run(run_dir, store=store, run=run_name, project=project)


def _stats_dict(stats: ReplayStats) -> dict[str, Any]:
    return {
        "queue_items": stats.items,
        "task_runs": stats.runs,
        "tasks": stats.tasks,
        "events": stats.events,
        "stopped_at": stats.stopped_at.isoformat() if stats.stopped_at else None,
    }


def open_run(
    run_dir: Path, *, store: str | None = None, run: str | None = None, project: bool = True
) -> RunInfo:
    """A finished run: from ``run_dir``, or from a team store (``run``: its name).

    From a team store, ``project=True`` first brings the folder's DuckDB
    projection up to the run's current generation (``sql``, ``export``, the
    summary need it; ``balance`` and ``events`` read the store itself).
    """
    if store is not None:
        return _open_team_run(run_dir, store, run or run_dir.name, project)
    meta_path = run_dir / META_FILE
    if not meta_path.is_file() and not run_dir.exists() and runfolder.leftovers(run_dir):
        _recover_unclaimed(run_dir)
    if not meta_path.is_file():
        raise RunNotFoundError(
            f"no finished run in {run_dir} (run `credit-ledger run SCENARIO --dir {run_dir}` first)"
        )
    meta = _damaged_or(run_dir, lambda: _read_meta(run_dir) or {})
    if meta.get("store"):
        raise RunNotFoundError(
            f"{run_dir} holds run {meta.get('run')!r} of the team store {meta['store']}: "
            "pass --store (or set CREDIT_LEDGER_STORE) to read it"
        )
    info = _damaged_or(run_dir, lambda: _info(run_dir, meta))
    # A forecast folder holds samples' figures in DuckDB and no event store.
    problem = None if meta.get("kind") == "forecast" else sqlite_damage(info.events_path)
    if problem:
        raise RunDamagedError(run_dir, f"{EVENTS_FILE}: {problem}")
    return info


def _damaged_or(run_dir: Path, read: Callable[[], _T]) -> _T:
    """``read()``, or ``RunDamagedError`` when run.json cannot be read or lacks a field."""
    try:
        return read()
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunDamagedError(run_dir, f"{META_FILE} is not readable JSON: {exc}") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RunDamagedError(run_dir, f"{META_FILE} lacks or garbles a field: {exc!r}") from None


def sqlite_damage(path: Path) -> str | None:
    """What is visibly wrong with an SQLite file (cheap: its header and size), or None.

    Catches a file overwritten by something else and a file cut short; damage
    inside the pages is found by SQLite itself when it reads them.
    """
    try:
        with path.open("rb") as handle:
            header = handle.read(100)
        size = path.stat().st_size
    except FileNotFoundError:
        return "the file is missing"
    except OSError as exc:
        return f"the file cannot be read: {exc.strerror or exc}"
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return "not an SQLite database"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if pages and size < pages * page_size:
        return f"cut short: {size:,} bytes of {pages * page_size:,}"
    return None


def _recover_unclaimed(run_dir: Path) -> None:
    """A reader finding a run set aside by a killed writer puts it back (if no writer is live)."""
    try:
        claim = stores.claim_folder(run_dir.name, run_dir, run_dir)
    except stores.RunBusyError:
        return  # a live writer is swapping it: it will be there in a moment
    try:
        runfolder.recover(run_dir)
    finally:
        claim.close()


def _info(
    run_dir: Path, meta: dict[str, Any], store: str | None = None, generation: str | None = None
) -> RunInfo:
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
        store=store,
        generation=generation,
        kind=str(meta.get("kind", "run")),
    )


# ------------------------------------------------------------- team stores


def is_finished_folder(folder: Path) -> bool:
    """A folder holding a run.json of a finished SQLite run (damaged ones count: they say so)."""
    try:
        meta = _read_meta(folder)
    except (ValueError, TypeError):
        return (folder / META_FILE).is_file()
    return meta is not None and not meta.get("store")


def _read_meta(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / META_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{META_FILE} holds {type(data).__name__}, not an object")
    return data


def _write_meta(run_dir: Path, meta: dict[str, Any]) -> None:
    """Replace ``run.json`` at once (a reader never sees half of it)."""
    temporary = run_dir / f".{META_FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, run_dir / META_FILE)


def _open_team_run(run_dir: Path, store: str, run: str, project: bool) -> RunInfo:
    team = stores.postgres(store)
    for _ in range(3):  # a run replaced while we projected it is projected again
        record = team.find(run)
        if record is None:
            raise RunNotFoundError(
                f"no run named {run!r} in {team.label} (`credit-ledger runs` lists them)"
            )
        info = _info(run_dir, record.meta, store=store, generation=record.generation)
        if not project:
            return info
        local = _read_meta(run_dir)
        if local is not None and local.get("store") != team.label:
            raise RunNotFoundError(
                f"{run_dir} holds another run ({local.get('run')!r} of "
                f"{local.get('store') or 'its own SQLite file'}): choose a folder with --dir"
            )
        if (
            local is not None
            and local.get("generation") == record.generation
            and local.get("projected_to") == record.last_notification_id
            and info.duckdb_path.is_file()
        ):
            return info
        _project_from_team_store(info, record.meta, local, team.label)
        current = team.find(run)
        if current is not None and current.generation == record.generation:
            return info
    raise stores.StoreError(f"run {run!r} kept being replaced while it was projected: try again")


def _project_from_team_store(
    info: RunInfo, meta: dict[str, Any], local: dict[str, Any] | None, label: str
) -> None:
    """Bring the folder's DuckDB projection to the run's generation, exactly once.

    The same generation resumes from the projection's tracking position (a
    projection stopped midway loses and repeats nothing); another generation
    is another event log, so its projection starts over.
    """
    folder = info.folder
    if folder.exists() and not runfolder.is_ours(folder):
        runfolder.check_target(folder)  # an empty folder is fine; anything else is refused
    folder.mkdir(parents=True, exist_ok=True)
    runfolder.mark(folder)
    header = meta | {"store": label, "generation": info.generation}
    if local is None or local.get("generation") != info.generation:
        for path in (info.duckdb_path, info.duckdb_path.with_name(f"{DUCKDB_FILE}.wal")):
            path.unlink(missing_ok=True)
        _write_meta(folder, header | {"projected_to": None})
    ledger = info.ledger()
    try:
        with Projector(ledger, info.duckdb_path, info.start, info.window_end) as projector:
            projector.project()
            position = projector.position
    finally:
        ledger.close()
    _write_meta(folder, header | {"projected_to": position})


@dataclass(frozen=True, slots=True)
class RunListing:
    """One finished run of a store, as ``credit-ledger runs`` lists it."""

    run: str
    name: str
    start: datetime
    end: datetime
    events: int
    where: str  # the run folder, or the run's schema in the team store
    stopped_at: datetime | None = None  # where --until stopped the clock, if it did
    written_at: datetime | None = None
    written_by: str | None = None


def list_runs(store: str | None, runs_dir: Path = Path("runs")) -> list[RunListing]:
    """Every finished run: the run folders under ``runs_dir``, or a team store's registry."""
    if store is not None:
        return [
            RunListing(
                run=r.name,
                name=str(r.meta.get("name", "")),
                start=datetime.fromisoformat(r.meta["start"]),
                end=datetime.fromisoformat(r.meta["end"]),
                events=r.last_notification_id,
                where=r.schema,
                stopped_at=_stopped(r.meta),
                written_at=r.written_at,
                written_by=r.written_by,
            )
            for r in stores.postgres(store).runs()
        ]
    listings = []
    for folder in sorted(runs_dir.glob("*")) if runs_dir.is_dir() else []:
        try:
            meta = _read_meta(folder) if folder.is_dir() else None
            if meta is None or meta.get("store") or meta.get("kind") == "forecast":
                continue  # a forecast folder holds samples' figures, not a run's events
            listing = RunListing(
                run=str(meta["run"]),
                name=str(meta["name"]),
                start=datetime.fromisoformat(meta["start"]),
                end=datetime.fromisoformat(meta["end"]),
                events=int(meta["stats"]["events"]),
                where=str(folder),
                stopped_at=_stopped(meta),
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a damaged run.json: `credit-ledger` commands on it say so
        listings.append(listing)
    return listings


def _stopped(meta: dict[str, Any]) -> datetime | None:
    until = meta.get("until")
    return datetime.fromisoformat(until) if until else None


def remove_run(store: str | None, run: str, run_dir: Path) -> list[str]:
    """Delete a finished run (and, for a team store, the folder's projection of it).

    Returns what was done, one line each. Raises ``RunNotFoundError`` when
    there was nothing to delete, ``RunBusyError`` when a writer holds the
    run folder.
    """
    done: list[str] = []
    if store is not None:
        team = stores.postgres(store)
        removal = team.remove(run)
        if removal.removed:
            done.append(f"removed run {run!r} from {team.label}")
        if removal.stale_build:
            done.append(f"removed what a stopped writer of {run!r} had left behind")
        if removal.building:
            done.append(f"a writer is building {run!r} right now: it was left alone")
        local = _read_meta(run_dir)
        if (
            local is not None
            and local.get("store") == team.label
            and local.get("run") == run
            and runfolder.is_ours(run_dir)
        ):
            _remove_folder(run_dir)
            done.append(f"removed its projection in {run_dir}")
        if not done:
            raise RunNotFoundError(f"no run named {run!r} in {team.label}")
        return done
    local = _read_meta(run_dir)
    if local is None or local.get("store") or not runfolder.is_ours(run_dir):
        raise RunNotFoundError(f"no finished run in {run_dir}")
    claim = stores.claim_folder(run, run_dir, run_dir)  # not while a writer replaces it
    try:
        _remove_folder(run_dir)
    finally:
        claim.close()
    return [f"removed run {run!r} ({run_dir})"]


def _remove_folder(run_dir: Path) -> None:
    """Out of sight at once (one rename), then deleted."""
    retired = run_dir.with_name(f".{run_dir.name}.removed-{os.getpid()}")
    os.replace(run_dir, retired)
    shutil.rmtree(retired, ignore_errors=True)
