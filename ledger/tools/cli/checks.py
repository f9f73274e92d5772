"""``credit-ledger check``: replay scenarios and evaluate their ``expect`` blocks.

A thin layer over ``ledger.tools.checks``. Exit codes follow scenario-format.md:
0 every expectation holds, 1 one failed, 2 bad input (every problem of the
file on stderr, exactly as ``run`` prints them, and nothing written).
"""

from __future__ import annotations

import glob
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ledger.tools.checks import CheckReport, evaluate, write_junit
from ledger.tools.cli.options import (
    RunOption,
    StoreOption,
    print_problems,
    refuse_collision,
    resolve_store,
    run_folder,
    store_errors,
)
from ledger.tools.runs import default_run_dir, run_scenario
from scenarios.errors import ScenarioError
from scenarios.loader import LoadedScenario, load_scenario

EXIT_OK, EXIT_EXPECT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
err = Console(stderr=True, highlight=False, soft_wrap=True)


class CheckFormat(StrEnum):
    table = "table"
    json = "json"


def _run_dir(scenario: Path, dir_: Path | None, several: bool) -> Path:
    if dir_ is None:
        return default_run_dir(scenario)
    return dir_ / scenario.stem if several else dir_


def expand(arguments: list[Path]) -> tuple[list[Path], list[str]]:
    """Files, folders and glob patterns as the scenario files they name, with notes.

    A folder stands for its ``*.yaml`` and ``*.yml`` files; a pattern the shell
    did not expand (``'scenarios/*.yaml'``) is expanded here. Workload files
    found that way are skipped with a note (``compare`` reads them); a file
    named on its own is checked whatever it holds.
    """
    files: list[Path] = []
    notes: list[str] = []
    for argument in arguments:
        text = str(argument)
        if argument.is_dir():
            found = sorted([*argument.glob("*.yaml"), *argument.glob("*.yml")])
        elif not argument.exists() and glob.has_magic(text):
            found = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        else:
            files.append(argument)
            continue
        if not found:
            notes.append(f"note: {text} holds no scenario file (*.yaml, *.yml)")
        for path in found:
            if _is_workload(path):
                notes.append(
                    f"note: skipped {path}: a workload (kind: workload); `compare` reads it"
                )
            else:
                files.append(path)
    return files, notes


def _is_workload(path: Path) -> bool:
    try:
        load_scenario(path)
    except ScenarioError as exc:
        return any(p.field == "kind" and "is a workload" in p.message for p in exc.problems)
    return False


def check(
    scenarios: Annotated[
        list[Path],
        typer.Argument(
            help="Scenario YAML files, folders of them, or glob patterns ('scenarios/*.yaml').",
            metavar="SCENARIO",
            show_default=False,
        ),
    ],
    dir_: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="The run folder (default: runs/<scenario file stem>); "
            "with several scenarios, each runs in DIR/<scenario file stem>.",
        ),
    ] = None,
    format_: Annotated[
        CheckFormat,
        typer.Option("--format", help="table: each failure, then a summary; json: every result."),
    ] = CheckFormat.table,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", help="Also write a JUnit XML report to this file."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List the expectations that hold too.")
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Fail (exit 1) when a scenario has no expectations."),
    ] = False,
    store: StoreOption = None,
    run_name: RunOption = None,
) -> None:
    """Replay each scenario and evaluate every `expect`; print each failure with
    expected vs actual and the account's last events (exit 1 when one fails)."""
    files, notes = expand(scenarios)
    for note in notes:
        err.print(note, markup=False)
    if not files:
        err.print("error: no scenario to check", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT)
    loaded: list[tuple[Path, LoadedScenario]] = []
    bad = False
    for path in files:
        try:
            loaded.append((path, load_scenario(path)))
        except ScenarioError as exc:
            print_problems(exc)
            bad = True
    if bad:
        raise typer.Exit(EXIT_BAD_INPUT)
    reports: list[CheckReport] = []
    several = len(loaded) > 1
    url = resolve_store(store)
    for path, scenario in loaded:
        # With several scenarios, --run NAME names each run NAME-<scenario file stem>.
        name = f"{run_name}-{path.stem}" if run_name and several else run_name
        folder = run_folder(dir_, name) if name else _run_dir(path, dir_, several)
        if name is None and dir_ is None:
            refuse_collision(path, folder)
        try:
            with store_errors(url):
                info = run_scenario(path, folder, loaded=scenario, run_name=name, store=url)
        except ScenarioError as exc:
            print_problems(exc)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        reports.append(evaluate(info, scenario))
    if junit is not None:
        write_junit(reports, junit)
    empty = [r for r in reports if not r.results and not r.skipped]
    passed = all(r.passed for r in reports) and not (strict and empty)
    if format_ is CheckFormat.json:
        typer.echo(
            json.dumps(
                {
                    "passed": passed,
                    "expectations": sum(len(r.results) for r in reports),
                    "failures": sum(len(r.failures) for r in reports),
                    "without_expectations": [r.file for r in empty],
                    "scenarios": [r.as_dict() for r in reports],
                }
            )
        )
    else:
        for report in reports:
            shown = report.results if verbose else report.failures
            for result in shown:
                typer.echo(result.describe() if not result.passed else f"ok   {result.headline()}")
            if any(report is e for e in empty):
                verdict = "fails under --strict" if strict else "nothing was checked"
                typer.echo(f"{report.file}: no expectations (no `expect` block): {verdict}")
            else:
                typer.echo(report.summary())
    raise typer.Exit(EXIT_OK if passed else EXIT_EXPECT_FAILED)


def register(app: typer.Typer) -> None:
    """Add ``check`` to the ``credit-ledger`` application."""
    app.command(name="check")(check)
