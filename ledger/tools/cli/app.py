"""The ``credit-ledger`` command line: a thin typer layer over ``ledger.tools.runs``.

Exit codes (scenario-format.md): 0 success, 1 an ``expect`` failed, 2 bad
input (a message on stderr naming the file, the line and the field; nothing
written).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ledger.domain.errors import DomainError
from ledger.stores import mask
from ledger.tools.cli import (
    checks,
    conventions,
    decide,
    forecast,
    importing,
    output,
    prices,
    report,
    teams,
)
from ledger.tools.cli.guard import DamageGuard
from ledger.tools.cli.options import (
    RunOption,
    StoreOption,
    bad_input,
    open_selected_run,
    problem_json,
    refuse_collision,
    resolve_store,
    run_folder,
    scenario_error,
    store_errors,
)
from ledger.tools.cli.progress import replay_progress
from ledger.tools.runfolder import check_target
from ledger.tools.runs import RunInfo, default_run_dir, run_scenario
from projections.export import ExportError, export_tables
from projections.sandbox import UserQuery, UserQueryError
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario


class CliGroup(conventions.LedgerGroup, DamageGuard):
    """The root group: plain --help everywhere (conventions) and damaged runs as exit 2."""


app = typer.Typer(
    name="credit-ledger",
    cls=CliGroup,
    help="Budget and regression-test Runway web-app and API credit spend on a simulated clock.",
    no_args_is_help=True,
    add_completion=True,  # typer's --install-completion / --show-completion
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
err = Console(stderr=True, highlight=False, soft_wrap=True)


class TableFormat(StrEnum):
    table = "table"
    json = "json"


class ListFormat(StrEnum):
    text = "text"
    json = "json"


class SqlFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


DirOption = Annotated[
    Path | None,
    typer.Option("--dir", help="The run folder (default: runs/<scenario file stem>)."),
]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"credit-ledger {conventions.version()}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_show_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color",
            help="No colour in any output (the NO_COLOR environment variable does the same).",
        ),
    ] = False,
) -> None:
    """Budget and regression-test Runway web-app and API credit spend on a simulated clock."""
    if no_color:
        conventions.no_color()


def parse_instant(text: str) -> datetime:
    """A bare date is 00:00 UTC; a time without a zone is UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date or time (use 2027-03-01 or 2027-03-01T10:00)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _open(
    dir_: Path | None, store: str | None = None, run: str | None = None, *, project: bool = True
) -> RunInfo:
    return open_selected_run(dir_, store, run, project=project)


@app.command()
def run(
    scenario: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    dir_: DirOption = None,
    until: Annotated[
        str | None,
        conventions.instant_option("--until", "Stop the simulated clock at this instant"),
    ] = None,
    per_task: Annotated[
        bool, typer.Option("--per-task", help="Record every task as its own event (slow).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print no summary.")] = False,
    format_: Annotated[
        TableFormat, typer.Option("--format", help="table, or json: the summary as one object.")
    ] = TableFormat.table,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """Validate, replay into the event store, project into DuckDB, print a summary."""
    url = resolve_store(store)
    until_at = parse_instant(until) if until else None
    with store_errors(url):  # before any work: a folder that is not ours stays untouched
        check_target(
            run_folder(dir_, run_name) if run_name else (dir_ or default_run_dir(scenario)),
            scenario,
        )
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    for warning in loaded.warnings:
        err.print(str(warning), markup=False)
    target = run_folder(dir_, run_name) if run_name else (dir_ or default_run_dir(scenario))
    if run_name is None and dir_ is None:
        refuse_collision(scenario, target)
    with replay_progress(loaded.scenario.start, loaded.scenario.end) as tick:
        try:
            with store_errors(url):
                info = run_scenario(
                    scenario,
                    target,
                    until=until_at,
                    per_task=per_task,
                    loaded=loaded,
                    progress=tick,
                    run_name=run_name,
                    store=url,
                )
        except ScenarioError as exc:
            raise scenario_error(exc) from None
    if quiet:
        return
    if format_ is TableFormat.json:
        typer.echo(json.dumps(output.summary_json(info) | {"store": mask(url) if url else None}))
        return
    output.print_summary(info)
    if url:
        typer.echo(f"run {info.run!r} in the team store {mask(url)}")


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    format_: Annotated[
        TableFormat,
        typer.Option(
            "--format", help="table: a line per problem; json: one object (valid, problems)."
        ),
    ] = TableFormat.table,
) -> None:
    """Check the scenario file only (exit 2 and every problem when it is wrong)."""
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        if format_ is TableFormat.json:
            typer.echo(
                json.dumps(
                    {
                        "file": str(scenario),
                        "valid": False,
                        "problems": [problem_json(p) for p in exc.problems],
                    }
                )
            )
            raise typer.Exit(EXIT_BAD_INPUT) from None
        raise scenario_error(exc) from None
    sc = loaded.scenario
    if format_ is TableFormat.json:
        typer.echo(
            json.dumps(
                {
                    "file": str(scenario),
                    "valid": True,
                    "problems": [problem_json(w) for w in loaded.warnings],
                    "workspaces": len(sc.workspaces),
                    "organizations": len(sc.organizations),
                    "expectations": len(sc.expect),
                }
            )
        )
        return
    for warning in loaded.warnings:
        err.print(str(warning), markup=False)
    typer.echo(
        f"{scenario}: valid ({len(sc.workspaces)} workspace(s), "
        f"{len(sc.organizations)} organization(s), {len(sc.expect)} expectation(s))"
    )


@app.command()
def balance(
    account: Annotated[str, typer.Argument(help="A workspace or organization id.")],
    at: Annotated[str, conventions.instant_option("--at", "The instant")],
    dir_: DirOption = None,
    format_: Annotated[TableFormat, typer.Option("--format")] = TableFormat.table,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """Balances of one account at any instant of a finished run."""
    info = _open(dir_, store, run_name, project=False)
    instant = parse_instant(at)
    if info.until is not None and instant > info.until:
        raise bad_input(
            f"error: the run stopped its clock at {info.until.isoformat()} (--until); "
            f"nothing after that was simulated, so there is no balance at {instant.isoformat()}"
        )
    if instant >= info.end:
        err.print(
            f"note: {instant.isoformat()} is after the run's window, which ends "
            f"{info.end.isoformat()} (exclusive): nothing after that was simulated, so these "
            "are the balances the window ended with",
            markup=False,
        )
    with store_errors(info.store):
        ledger = info.ledger()
        try:
            balances = ledger.balances_at(account, instant)
        except DomainError as exc:
            raise bad_input(f"error: {exc}") from None
        finally:
            ledger.close()
    data = balances.as_dict()
    if format_ is TableFormat.json:
        typer.echo(json.dumps(data))
    else:
        output.print_mapping(data)


@app.command()
def events(
    account: Annotated[str, typer.Argument(help="A workspace or organization id.")],
    since: Annotated[str | None, conventions.instant_option("--since", "From this instant")] = None,
    until: Annotated[
        str | None, conventions.instant_option("--until", "Up to this instant")
    ] = None,
    dir_: DirOption = None,
    format_: Annotated[
        ListFormat,
        typer.Option("--format", help="text: one line per event; json: one object per line."),
    ] = ListFormat.text,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """The audit trail of one account: one line per event with the balances after it."""
    info = _open(dir_, store, run_name, project=False)
    since_at = parse_instant(since) if since else None
    until_at = parse_instant(until) if until else None
    with store_errors(info.store):
        ledger = info.ledger()
        try:
            if format_ is ListFormat.json:
                for record in output.audit_records(ledger, account, since_at, until_at):
                    typer.echo(json.dumps(record))
            else:
                for line in output.audit_lines(ledger, account, since_at, until_at):
                    typer.echo(line)
        except DomainError as exc:
            raise bad_input(f"error: {exc}") from None
        finally:
            ledger.close()


@app.command(context_settings={"ignore_unknown_options": True})
def sql(
    query: Annotated[
        str,
        typer.Argument(
            help="A read-only SQL query on the run's tables (no files, extensions or settings)."
        ),
    ],
    dir_: DirOption = None,
    format_: Annotated[SqlFormat, typer.Option("--format")] = SqlFormat.table,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """Run a read-only SQL query on the run's DuckDB file (sandboxed: docs/reliability.md)."""
    if not query.strip():
        raise bad_input("error: the query is empty: give a SQL statement, e.g. 'FROM accounts'")
    info = _open(dir_, store, run_name)
    try:
        with UserQuery(info.duckdb_path, query) as result:
            if not result.columns and not result.ran:
                raise bad_input(
                    "error: the query holds no statement (only comments or blanks): nothing ran"
                )
            output.print_batches(result.columns, result.batches(), format_.value)
    except UserQueryError as exc:
        raise bad_input(f"error: {exc}") from None


@app.command()
def export(
    dest: Annotated[Path, typer.Argument(help="The folder to write one file per table into.")],
    to: Annotated[
        str, typer.Option("--to", metavar="parquet|csv", help="parquet or csv")
    ] = "parquet",
    dir_: DirOption = None,
    format_: Annotated[
        ListFormat, typer.Option("--format", help="text: one path a line; json: a list.")
    ] = ListFormat.text,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """Write every table of the run's DuckDB file as Parquet or CSV."""
    if to not in {"parquet", "csv"}:
        raise bad_input(f"error: --to must be parquet or csv, not {to!r}")
    info = _open(dir_, store, run_name)
    try:
        written = export_tables(info.duckdb_path, dest, to)
    except ExportError as exc:
        raise bad_input(f"error: {exc}") from None
    if format_ is ListFormat.json:
        typer.echo(json.dumps([str(path) for path in written]))
        return
    for path in written:
        typer.echo(str(path))


def main(argv: list[str] | None = None) -> Any:
    return conventions.main(app, argv if argv is not None else sys.argv[1:])


# Commands kept in their own modules: check (checks), report, runs (teams),
# compare and diff (decide), prices, forecast, import and reconcile.
for _module in (checks, report, teams, decide, prices, forecast, importing):
    _module.register(app)
