"""``credit-ledger report``: a run's summary in the terminal and, with ``--html``,
a self-contained page of charts (``ledger.tools.report``).

The argument is a scenario file, replayed first into its run folder exactly
as ``run`` does, or a folder holding a finished run. Exit codes follow the
other commands: 0 success, 2 bad input (a message on stderr, nothing written).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ledger.tools.cli import output
from ledger.tools.cli.forecast import MAX_SAMPLES, sweep_or_exit
from ledger.tools.cli.options import (
    RunOption,
    SeedOption,
    StoreOption,
    WorkersOption,
    bad_input,
    open_selected_run,
    refuse_collision,
    resolve_store,
    run_folder,
    scenario_error,
    store_errors,
)
from ledger.tools.cli.progress import replay_progress
from ledger.tools.forecast.results import Forecast
from ledger.tools.report import write_report
from ledger.tools.runs import RunInfo, RunNotFoundError, default_run_dir, open_run, run_scenario
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario

EXIT_BAD_INPUT = 2


class Basis(StrEnum):
    CASH = "cash"
    ACCRUAL = "accrual"


class ReportFormat(StrEnum):
    table = "table"
    json = "json"


err = Console(stderr=True, highlight=False, soft_wrap=True)


def _open_or_replay(
    target: Path, dir_: Path | None, store: str | None, run_name: str | None
) -> RunInfo:
    url = resolve_store(store)
    if not target.exists():
        raise bad_input(f"error: {target}: no such scenario file or run folder")
    if target.is_dir():
        if dir_ is not None:
            raise bad_input(
                f"error: {target} is a run folder; --dir only says where to replay a scenario file"
            )
        if url is not None:
            return open_selected_run(target, url, run_name)
        try:
            return open_run(target)
        except RunNotFoundError as exc:
            raise bad_input(f"error: {exc}") from None
    try:
        loaded = load_scenario(target)
        for warning in loaded.warnings:
            err.print(str(warning), markup=False)
        folder = run_folder(dir_, run_name) if run_name else (dir_ or default_run_dir(target))
        if run_name is None and dir_ is None:
            refuse_collision(target, folder)
        with (
            replay_progress(loaded.scenario.start, loaded.scenario.end) as tick,
            store_errors(url),
        ):
            return run_scenario(
                target, folder, loaded=loaded, run_name=run_name, store=url, progress=tick
            )
    except ScenarioError as exc:
        raise scenario_error(exc) from None


def report(
    target: Annotated[
        Path,
        typer.Argument(
            metavar="SCENARIO_OR_DIR",
            help="A scenario YAML file (replayed first, as `run` does) or a finished run folder.",
            show_default=False,
        ),
    ],
    html: Annotated[
        Path | None,
        typer.Option(
            "--html",
            metavar="FILE",
            help="Also write a self-contained HTML report with charts to FILE.",
        ),
    ] = None,
    dir_: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Where to replay a scenario file (default: runs/<scenario file stem>).",
        ),
    ] = None,
    basis: Annotated[
        Basis,
        typer.Option(
            "--basis",
            help="Dollars view the page opens on: cash (when paid) or accrual (plan "
            "payments spread over the period they pay for); the page switches between both.",
        ),
    ] = Basis.CASH,
    format_: Annotated[
        ReportFormat,
        typer.Option("--format", help="table, or json: the summary (and the HTML file) as JSON."),
    ] = ReportFormat.table,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            min=1,
            max=MAX_SAMPLES,
            help="Also forecast this many samples of the scenario's uncertain inputs and "
            "draw their fan charts on the --html page (as `forecast` does).",
        ),
    ] = None,
    seed: SeedOption = None,
    workers: WorkersOption = None,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """Print a run's summary; with --html, also write a page of charts that opens offline."""
    if html is not None and html.is_dir():
        raise bad_input(f"error: --html {html} is a folder; give the file to write")
    if samples is not None and html is None:
        raise bad_input("error: --samples draws fan charts on the HTML page: give --html FILE too")
    info = _open_or_replay(target, dir_, store, run_name)
    forecast = _forecast(info, samples, seed, workers) if samples is not None else None
    written = None
    if html is not None:
        try:
            written = write_report(info, html, basis.value, forecast)
        except OSError as exc:
            raise bad_input(f"error: cannot write {html}: {exc.strerror or exc}") from None
    if format_ is ReportFormat.json:
        summary = output.summary_json(info)
        typer.echo(json.dumps(summary | {"html": str(written) if written else None}))
        return
    output.print_summary(info)
    if written is not None:
        typer.echo(f"HTML report written to {written}")


def _forecast(info: RunInfo, samples: int, seed: int | None, workers: int | None) -> Forecast:
    """``samples`` draws of the run's scenario, exactly as ``forecast`` makes them."""
    try:
        loaded = load_scenario(Path(info.scenario_file))
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    return sweep_or_exit(loaded, samples, seed, workers)


def register(app: typer.Typer) -> None:
    """Add the ``report`` command to the ``credit-ledger`` app."""
    app.command("report")(report)
