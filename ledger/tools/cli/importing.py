"""``credit-ledger import runway`` and ``credit-ledger reconcile`` (docs/importing.md)."""

from __future__ import annotations

import json
import os
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ledger.pricing.loader import load_price_book
from ledger.pricing.models import PricingError
from ledger.tools.cli.options import EXIT_BAD_INPUT, bad_input, scenario_error
from ledger.tools.importer.build import ImportOptions, build_scenario
from ledger.tools.importer.reconcile import reconcile, summary_lines
from ledger.tools.importer.reported import Reported, read_export
from ledger.tools.importer.runway import (
    RunwayExport,
    RunwayImportError,
    fetch_export,
    load_export,
    parse_day,
)
from ledger.tools.runs import run_scenario
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario

err = Console(stderr=True, highlight=False, soft_wrap=True)
import_app = typer.Typer(help="Import actual usage from a provider into a scenario file.")
EXIT_DISAGREE = 1
_MONTHS = re.compile(r"^(\d+)m$")
_DURATION = re.compile(r"^([^=\s]+)=(\d+)$")


class Format(StrEnum):
    table = "table"
    json = "json"


FromJson = Annotated[
    Path | None,
    typer.Option(
        "--from-json",
        metavar="DIR",
        help="Read saved Runway responses (organization.json, usage-*.json, "
        "webapp-usage-*.json) instead of calling the API.",
    ),
]
SaveJson = Annotated[
    Path | None,
    typer.Option("--save-json", metavar="DIR", help="Write the raw responses into DIR."),
]
MaxRetries = Annotated[
    int, typer.Option("--max-retries", min=0, help="Retries of a 429 or 5xx answer (the SDK's).")
]
Timeout = Annotated[
    float, typer.Option("--timeout", min=0.1, help="Seconds to wait for one answer.")
]


def _today() -> date:
    return datetime.now(UTC).date()  # import only: what "now" is for the live API


def read_runway(
    from_json: Path | None,
    since: str | None,
    until: str | None,
    save_json: Path | None,
    max_retries: int,
    timeout: float,
) -> tuple[RunwayExport, date, date]:
    """The export and the window [since, until) it is imported over (exit 2 on failure)."""
    try:
        since_day = parse_day(since) if since else None
        until_day = parse_day(until) if until else None
        if from_json is not None:
            export = load_export(from_json)
            assert export.fetched_from is not None and export.fetched_before is not None
            start = since_day or export.fetched_from
            end = until_day or export.fetched_before
            if not export.fetched_from <= start < end <= export.fetched_before:
                raise RunwayImportError(
                    f"the saved responses cover {export.fetched_from} to "
                    f"{export.fetched_before}; {start} to {end} is not inside it"
                )
        else:
            tomorrow = _today() + timedelta(days=1)
            end = until_day or tomorrow
            start = since_day or end - timedelta(days=90)
            if not start < end:
                raise RunwayImportError(f"--until ({end}) must be after --since ({start})")
            if end > tomorrow:
                raise RunwayImportError(f"--until ({end}) is in the future")
            progress = (
                (lambda m: err.print(f"reading {m}", markup=False)) if err.is_terminal else None
            )
            # Usage up to today is read too: the balance Runway reports is today's.
            export = fetch_export(
                start, tomorrow, max_retries=max_retries, timeout=timeout, progress=progress
            )
    except RunwayImportError as exc:
        raise bad_input(f"error: {exc}") from None
    if save_json is not None:
        export.save(save_json)
    return export, start, end


def _durations(values: list[str]) -> dict[str, int]:
    found = {}
    for value in values:
        match = _DURATION.match(value.strip())
        if not match or int(match[2]) < 1:
            raise bad_input(
                f"error: --duration takes MODEL=SECONDS, like gen4.5=10 (got {value!r})"
            )
        found[match[1]] = int(match[2])
    return found


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@import_app.command("runway")
def import_runway(
    since: Annotated[
        str | None, typer.Option("--since", metavar="DAY", help="First day (UTC), e.g. 2027-03-01.")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DAY",
            help="Day after the last (exclusive), e.g. 2027-03-01; default tomorrow.",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Write the scenario here.")
    ] = None,
    from_json: FromJson = None,
    save_json: SaveJson = None,
    duration: Annotated[
        list[str],
        typer.Option(
            "--duration",
            metavar="MODEL=SECONDS",
            help="Size of one imported task of a model (seconds; characters for speech).",
        ),
    ] = [],  # noqa: B006 - typer reads the default
    forecast: Annotated[
        str | None,
        typer.Option("--forecast", metavar="Nm", help="Extend each model's pace N months ahead."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The scenario's name.")] = None,
    price_book: Annotated[str, typer.Option("--price-book")] = "runway-2026-05",
    format_: Annotated[Format, typer.Option("--format")] = Format.table,
    max_retries: MaxRetries = 2,
    timeout: Timeout = 60.0,
) -> None:
    """Import an organization's API and web-app usage from Runway into a scenario file."""
    months = 0
    if forecast is not None:
        match = _MONTHS.match(forecast.strip())
        if not match or not 1 <= int(match[1]) <= 60:
            raise bad_input(f"error: --forecast takes months like 6m (1m to 60m), not {forecast!r}")
        months = int(match[1])
    durations = _durations(duration)
    try:
        book = load_price_book(price_book, {}, Path.cwd())
    except PricingError as exc:
        raise bad_input(f"error: {exc}") from None
    export, start, end = read_runway(from_json, since, until, save_json, max_retries, timeout)
    try:
        reported = read_export(export)
        result = build_scenario(
            reported,
            book,
            ImportOptions(start, end, durations, months, name, price_book),
        )
    except RunwayImportError as exc:
        raise bad_input(f"error: {exc}") from None
    if out is not None:
        _atomic_write(out, result.text)
    else:
        typer.echo(result.text, nl=False)
    where = str(out) if out else "the scenario"
    report = err if out is None else None
    if format_ is Format.json:
        data = {"out": str(out) if out else None, **result.as_dict()}
        (err.print(json.dumps(data), markup=False) if report else typer.echo(json.dumps(data)))
        return
    lines = [
        f"imported {start} to {end}: tier {result.tier}, {result.opening_balance:,} credits at "
        f"the start, {result.end_balance:,} at the end; {result.api_credits:,} API credits on "
        f"{result.api_days} day(s); {result.web_generations} web generation(s) in "
        f"{len(result.workspaces)} workspace(s)",
    ]
    if not reported.webapp_linked:
        lines.append("no web workspace is linked to this API project: web usage left out")
    if result.overrides:
        lines.append("tier figures Runway reports that differ from the price book (overrides):")
        lines += [f"  {line}" for line in result.overrides]
    for model, number in result.unknown:
        lines.append(
            f"{where}, line {number}: model {model!r} is not in the price book; kept exact"
        )
    lines += [f"note: {note}" for note in result.notes]
    for text in lines:
        if report:
            err.print(text, markup=False)
        else:
            typer.echo(text)


def reconcile_command(
    scenario: Annotated[Path, typer.Argument(help="The imported (maybe edited) scenario file.")],
    from_json: FromJson = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="DAY", help="First day compared, e.g. 2027-03-01; default the start."
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="DAY",
            help="Day after the last compared (exclusive), e.g. 2027-03-01.",
        ),
    ] = None,
    tolerance: Annotated[
        int, typer.Option("--tolerance", min=0, help="Credits a figure may differ by.")
    ] = 0,
    dir_: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Keep the replay in this run folder (default: a temporary one)."
        ),
    ] = None,
    format_: Annotated[Format, typer.Option("--format")] = Format.table,
    max_retries: MaxRetries = 2,
    timeout: Timeout = 60.0,
) -> None:
    """Replay a scenario and compare it with what Runway reported (exit 1 when they part)."""
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    sc = loaded.scenario
    first, last = sc.start.date(), sc.end.date()
    if from_json is None and until is None:
        until = min(last, _today() + timedelta(days=1)).isoformat()
    export, start, end = read_runway(
        from_json, since or first.isoformat(), until, None, max_retries, timeout
    )
    if from_json is not None and until is None:
        end = min(end, last)
    if not first <= start < end <= last:
        raise bad_input(
            f"error: the comparison window {start} to {end} is not inside the scenario's "
            f"window {first} to {last}"
        )
    try:
        reported = read_export(export)
    except RunwayImportError as exc:
        raise bad_input(f"error: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="reconcile-") as scratch:
        target = dir_ or Path(scratch) / "run"
        try:
            info = run_scenario(scenario, target, loaded=loaded)
        except ScenarioError as exc:
            raise scenario_error(exc) from None
        result = reconcile(info, sc, loaded.price_book, reported, start, end, tolerance)
    if format_ is Format.json:
        typer.echo(json.dumps(result.as_dict()))
    else:
        for line in summary_lines(result):
            typer.echo(line)
    if not result.agree:
        raise typer.Exit(EXIT_DISAGREE)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
    app.command("reconcile")(reconcile_command)


__all__ = ["EXIT_BAD_INPUT", "Reported", "register"]
