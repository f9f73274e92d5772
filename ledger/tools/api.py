"""The Python API, for notebooks and scripts (docs/python.md).

Everything the command line does, as values instead of printed text::

    from ledger import api

    run = api.replay("scenarios/examples/both-surfaces.yaml")   # or api.open_run("runs/x")
    run.balance("app", "2027-06-30T23:00").balance              # 1520
    run.arrow("SELECT * FROM monthly_summary")                  # a pyarrow.Table
    api.check("scenarios/examples/part-time-pro.yaml").passed   # True
    api.forecast("scenarios/examples/uncertain-agency.yaml", 200).accounts  # P10/P50/P90

Paths are ``str`` or ``pathlib.Path``; instants are ISO strings (a bare date
is 00:00 UTC), dates or datetimes. User SQL reaches the run's DuckDB file
only through ``projections.sandbox.user_connection`` (read-only, no files,
extensions or settings), like ``credit-ledger sql``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import Any

from ledger.application import Balances
from ledger.tools.checks import CheckReport, evaluate
from ledger.tools.forecast.results import Forecast, sweep
from ledger.tools.forecast.store import default_forecast_dir, write_forecast
from ledger.tools.runfolder import check_target
from ledger.tools.runs import (
    RunInfo,
    check_default_folder,
    default_run_dir,
    list_runs,
    run_scenario,
)
from ledger.tools.runs import open_run as _open_run
from ledger.tools.testing.harness import Instant, LedgerRun, instant, load
from projections import queries, sandbox
from projections.sandbox import Params
from scenarios.loader import LoadedScenario, load_scenario, load_scenario_text

__all__ = [
    "Forecast",
    "Run",
    "check",
    "forecast",
    "instant",
    "open_run",
    "replay",
    "runs",
    "validate",
]


class Run(LedgerRun):
    """A finished run: balances at any instant, SQL into Arrow, pandas or polars, checks.

    Everything ``ledger.tools.testing.LedgerRun`` answers (``balance``, ``events``,
    ``sql``, ``summary``, ``check``, ``invariants`` ...), plus data frames.
    Close it (or use ``with``) when done: it holds the DuckDB file open.
    """

    def balances(self, account: str, instants: Iterable[Instant]) -> list[Balances]:
        """The account's balances at each instant, in the order given (S05)."""
        return [self.balance(account, at) for at in instants]

    def arrow(self, query: str, params: Params = None) -> Any:
        """A read-only query's result as a ``pyarrow.Table``."""
        # its own cursor: the shared connection stays free
        return sandbox.arrow_table(self.duckdb, query, params)

    def pandas(self, query: str, params: Params = None) -> Any:
        """A read-only query's result as a ``pandas.DataFrame`` (pandas must be installed)."""
        _require("pandas")
        return self.arrow(query, params).to_pandas()

    def polars(self, query: str, params: Params = None) -> Any:
        """A read-only query's result as a ``polars.DataFrame`` (polars must be installed)."""
        polars = _require("polars")
        return polars.from_arrow(self.arrow(query, params))

    def tables(self) -> list[str]:
        """The tables of the run's DuckDB file (docs/tables.md describes each)."""
        return queries.table_names(self.duckdb)


def replay(
    scenario: str | Path,
    folder: str | Path | None = None,
    *,
    until: Instant | None = None,
    name: str | None = None,
) -> Run:
    """Validate and replay a scenario file into ``folder`` (default ``runs/<file stem>``).

    Exactly what ``credit-ledger run`` does: the folder is replaced atomically,
    ``until`` stops the simulated clock there (inclusive), ``name`` names the
    run. Raises ``scenarios.errors.ScenarioError`` listing every problem of a
    bad file (nothing written).
    """
    path = Path(scenario)
    loaded = load(path)
    target = Path(folder) if folder is not None else default_run_dir(path)
    if folder is None and name is None:
        check_default_folder(path, target)  # another file's run of the same name: refused
    info = run_scenario(
        path,
        target,
        until=instant(until) if until is not None else None,
        loaded=loaded,
        run_name=name,
    )
    return Run(info, loaded)


def forecast(
    scenario: str | Path,
    samples: int = 1000,
    *,
    seed: int | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    wait_threshold: int = 300,
    folder: str | Path | None = None,
) -> Forecast:
    """Replay ``samples`` draws of a scenario's uncertain inputs (docs/forecasting.md).

    Exactly what ``credit-ledger forecast`` does: the same seeds (``seed``,
    default the scenario's), so the same figures as the command; ``workers``
    local processes (default every core, 1 runs in this process) or a Dask
    scheduler at ``cluster``; the forecast folder (default
    ``runs/<stem>-forecast``) written whole, for SQL. Returns the
    ``Forecast``: per account, P10/P50/P90 and the mean of each month's and
    the window's figures, the probability of running out before each billing
    date (web) or of each refusal and the tiers reached (API). Raises
    ``ScenarioError`` for a bad file, ``RunFolderError`` for a folder not
    ours, ``ExecutorError`` for an unreachable cluster; nothing written then.
    """
    path = Path(scenario)
    loaded = load(path)
    target = Path(folder) if folder is not None else default_forecast_dir(path)
    check_target(target, path)  # before any work: a folder not ours stays untouched
    result = sweep(
        loaded,
        samples,
        seed=seed,
        workers=workers,
        cluster=cluster,
        wait_threshold_s=wait_threshold,
    )
    write_forecast(result, target, path)
    return result


def open_run(folder: str | Path) -> Run:
    """A run already on disk (``runs/both-surfaces``), read as it was replayed.

    The scenario file it came from is loaded again for ``check()``; when it
    has moved, the run still answers everything else.
    """
    info = _open_run(Path(folder))
    return Run(info, _scenario_of(info))


def runs(folder: str | Path = "runs") -> list[dict[str, Any]]:
    """The finished runs under ``folder``, as ``credit-ledger runs --format json`` lists them."""
    return [
        {
            "run": r.run,
            "name": r.name,
            "start": r.start.isoformat(),
            "end": r.end.isoformat(),
            "events": r.events,
            "where": r.where,
        }
        for r in list_runs(None, Path(folder))
    ]


def check(scenario: str | Path, folder: str | Path | None = None) -> CheckReport:
    """Replay a scenario and evaluate its ``expect`` block (``credit-ledger check``)."""
    path = Path(scenario)
    loaded = load_scenario(path)
    info = run_scenario(path, Path(folder) if folder is not None else None, loaded=loaded)
    return evaluate(info, loaded)


def validate(scenario: str | Path) -> LoadedScenario:
    """Check a scenario file only; raises ``ScenarioError`` with every problem at once.

    The returned value holds the parsed scenario, its price book and its
    warnings (``.warnings``).
    """
    return load_scenario(Path(scenario))


def _scenario_of(info: RunInfo) -> LoadedScenario:
    path = Path(info.scenario_file)
    if path.is_file():
        return load_scenario(path)
    # The file moved: an empty scenario with the run's window stands in (no expectations).
    text = json.dumps(
        {
            "version": 1,
            "name": info.name,
            "start": info.start.isoformat(),
            "end": info.end.isoformat(),
        }
    )
    return load_scenario_text(text, filename=info.scenario_file)


def _require(module: str) -> Any:
    try:
        return import_module(module)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"{module} is not installed: pip install {module} (or the notebook extra: "
            "pip install '/path/to/credit-ledger[notebook]'); run.arrow(...) needs neither"
        ) from None
