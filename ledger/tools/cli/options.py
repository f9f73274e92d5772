"""Where a command's run lives: the options every run-reading or run-writing command shares.

- ``--store URL`` (or ``CREDIT_LEDGER_STORE``): absent for the SQLite file in
  the run folder (the default), or ``postgresql://user@host:port/db`` for a
  team store shared by many runs and many users.
- ``--run NAME``: the run's name. Writing, it defaults to the scenario file's
  stem; reading, to the most recently written run (named on stderr).
- ``--dir DIR`` (each command declares its own): the local run folder,
  ``runs/<run name>`` by default. With a team store it holds the run's DuckDB
  projection and ``run.json``.

Use them the same way in every command::

    def my_command(..., dir_: DirOption = None, store: StoreOption = None,
                   run: RunOption = None) -> None:
        info = open_selected_run(dir_, store, run)      # exit 2 with a clear message
        with store_errors(store):                       # store failures: exit 2, masked
            ...

A store URL's password never reaches the screen: messages show ``mask(url)``
and the driver's errors are scrubbed (``ledger.stores``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from eventsourcing.persistence import PersistenceError
from rich.console import Console

from ledger.stores import STORE_ENV, StoreError, describe, normalize, postgres, scrub
from ledger.tools.forecast.executors import CLUSTER_ENV
from ledger.tools.runs import (
    RunCollisionError,
    RunInfo,
    RunNotFoundError,
    check_default_folder,
    is_finished_folder,
    open_run,
)
from scenarios.errors import Problem, ScenarioError

EXIT_BAD_INPUT = 2
RUNS_DIR = Path("runs")
MAX_RUN_NAME = 120
err = Console(stderr=True, highlight=False, soft_wrap=True)


def safe_text(text: str) -> str:
    """Text from a user's file or query with control characters shown, never sent raw.

    An account id or a query result holding ESC or other control codes could
    clear or rewrite the terminal; they are printed escaped (``\\x1b``).
    Newlines and tabs stay.
    """
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() or c in "\n\t" else c.encode("unicode_escape").decode() for c in text
    )


MAX_NAME_BYTES = 200  # a run folder's name plus ".NAME.building-XXXXXXXX" within 255 bytes


def check_run_name(value: str | None) -> str | None:
    """A run name is also a folder name (runs/NAME) and a schema's: keep it plain."""
    if value is None:
        return None
    if (
        not value
        or value != value.strip()
        or len(value) > MAX_RUN_NAME
        or len(value.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
        or not value.isprintable()
        or value.startswith(".")
        or any(c in value for c in "/\\")
    ):
        raise typer.BadParameter(
            f"{value!r} is not a usable run name (printable, no '/' or '\\', "
            f"not starting with '.', at most {MAX_RUN_NAME} characters and "
            f"{MAX_NAME_BYTES} bytes in UTF-8, since it names a folder)"
        )
    return value


StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar=STORE_ENV,
        show_envvar=True,
        show_default=False,
        metavar="URL",
        help="Where the events live: postgresql://user@host:port/db for a team store "
        "shared by many runs and users; absent: an SQLite file in the run folder.",
    ),
]

RunOption = Annotated[
    str | None,
    typer.Option(
        "--run",
        metavar="NAME",
        callback=check_run_name,
        help="The run's name: many runs live side by side in one store. Default: the "
        "scenario file's stem when writing, the most recently written run when reading.",
    ),
]

# Forecast samples (forecast, report --samples, compare --samples): one declaration each.
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed", help="The forecast's seed (default: the file's seed); sample k derives its own."
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="Local worker processes for the samples (default: every core)."
    ),
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar=CLUSTER_ENV,
        show_envvar=True,
        metavar="tcp://HOST:8786",
        help="Run the samples on this Dask distributed scheduler.",
    ),
]


def bad_input(message: str) -> typer.Exit:
    """Say what is wrong on stderr; the caller raises the returned exit (code 2)."""
    err.print(safe_text(message), markup=False)
    return typer.Exit(EXIT_BAD_INPUT)


def print_problems(exc: ScenarioError) -> None:
    """Every problem of a scenario file, one per line, after a count."""
    count = len(exc.problems)
    err.print(f"error: {count} problem{'s' if count != 1 else ''} found", markup=False)
    for problem in exc.problems:
        err.print(safe_text(str(problem)), markup=False)


def refuse_collision(scenario: Path, folder: Path) -> None:
    """Exit 2 when the default folder holds the run of another file of the same name."""
    try:
        check_default_folder(scenario, folder)
    except RunCollisionError as exc:
        raise bad_input(f"error: {exc}") from None


def problem_json(problem: Problem) -> dict[str, Any]:
    """One problem of a scenario file as a JSON object (``--format json``)."""
    return {
        "file": problem.file,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
        "rule": problem.rule,
        "severity": problem.severity.value,
        "text": str(problem),
    }


def scenario_error(exc: ScenarioError) -> typer.Exit:
    """The same lines from every command for a file it cannot replay (exit 2)."""
    print_problems(exc)
    return typer.Exit(EXIT_BAD_INPUT)


def resolve_store(store: str | None) -> str | None:
    """The store named by ``--store``/``CREDIT_LEDGER_STORE``: None means SQLite."""
    try:
        return normalize(store)
    except StoreError as exc:
        raise bad_input(f"error: {exc}") from None


@contextmanager
def store_errors(store: str | None) -> Iterator[None]:
    """A store that fails (unreachable, busy, missing run): exit 2 and a masked message."""
    try:
        yield
    except (StoreError, RunNotFoundError) as exc:
        raise bad_input(f"error: {scrub(str(exc), *([store] if store else []))}") from None
    except PersistenceError as exc:
        detail = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        if store:
            detail = scrub(detail, store)
        raise bad_input(f"error: the store {describe(store)} failed: {detail}") from None


def run_folder(dir_: Path | None, run: str) -> Path:
    return dir_ if dir_ is not None else RUNS_DIR / run


def newest_finished_folder() -> Path:
    """The most recently written finished SQLite run under runs/, when no run was named.

    Says on stderr which one it picked when there was a choice, so a reader
    never mistakes one run's figures for another's.
    """
    finished: list[tuple[int, str, Path]] = []
    for folder in sorted(RUNS_DIR.glob("*")) if RUNS_DIR.is_dir() else []:
        if not is_finished_folder(folder):
            continue
        try:
            written = (folder / "run.json").stat().st_mtime_ns
        except OSError:
            continue  # a folder being replaced right now: not a candidate
        finished.append((written, folder.name, folder))
    if not finished:
        raise bad_input("error: no run found; run `credit-ledger run SCENARIO` first or pass --dir")
    newest = max(finished)[2]
    if len(finished) > 1:
        err.print(
            f"using {newest}, the most recently written of {len(finished)} runs "
            "(choose another with --run NAME or --dir DIR; `credit-ledger runs` lists them)",
            markup=False,
        )
    return newest


def newest_team_run(store: str) -> str:
    """The most recently written run of a team store, when no run was named."""
    team = postgres(store)
    runs = team.runs()
    if not runs:
        raise StoreError(f"no run in {team.label}; run `credit-ledger run SCENARIO --store ...`")
    newest = max(runs, key=lambda r: (r.written_at, r.name))
    if len(runs) > 1:
        err.print(
            f"using run {newest.name!r}, the most recently written of {len(runs)} runs in "
            f"{team.label} (choose another with --run NAME; `credit-ledger runs` lists them)",
            markup=False,
        )
    return newest.name


def open_selected_run(
    dir_: Path | None, store: str | None, run: str | None, *, project: bool = True
) -> RunInfo:
    """The finished run the options name, or exit 2 with a message saying why not.

    ``project=False`` (``balance``, ``events``) skips bringing a team run's
    local DuckDB projection up to date: those commands read the store itself.
    """
    url = resolve_store(store)
    with store_errors(url):
        if url is None:
            if dir_ is None and run is None:
                dir_ = newest_finished_folder()
            return open_run(run_folder(dir_, run or ""))
        name = run or (_folder_run(dir_) if dir_ is not None else newest_team_run(url))
        return open_run(run_folder(dir_, name), store=url, run=name, project=project)


def _folder_run(folder: Path) -> str:
    """The run a folder holds a projection of (by its run.json), else the folder's name."""
    meta = folder / "run.json"
    try:
        data = json.loads(meta.read_text(encoding="utf-8")) if meta.is_file() else {}
    except (OSError, ValueError):
        data = {}  # a damaged run.json: opening the run says so
    run = data.get("run") if isinstance(data, dict) else None
    return str(run or folder.name)
