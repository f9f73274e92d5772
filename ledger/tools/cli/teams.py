"""``credit-ledger runs`` lists the runs of a store; ``credit-ledger runs rm NAME`` deletes one.

A thin layer over ``ledger.tools.runs.list_runs`` / ``remove_run``. Without
``--store`` the runs are the run folders under ``runs/``; with a team store
they are the store's registry, whoever wrote them.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.tools.cli.options import (
    StoreOption,
    check_run_name,
    resolve_store,
    run_folder,
    store_errors,
)
from ledger.tools.runs import RunListing, list_runs, remove_run

runs_app = typer.Typer(
    name="runs",
    help="List the runs of a store (`runs rm NAME` deletes one).",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class ListFormat(StrEnum):
    table = "table"
    json = "json"


def _as_dict(listing: RunListing) -> dict[str, Any]:
    return {
        "run": listing.run,
        "name": listing.name,
        "start": listing.start.isoformat(),
        "end": listing.end.isoformat(),
        "stopped_at": listing.stopped_at.isoformat() if listing.stopped_at else None,
        "events": listing.events,
        "where": listing.where,
        "written_at": listing.written_at.isoformat() if listing.written_at else None,
        "written_by": listing.written_by,
    }


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    store: StoreOption = None,
    format_: Annotated[ListFormat, typer.Option("--format")] = ListFormat.table,
) -> None:
    """List the finished runs of a store: its name, scenario, window and size."""
    ctx.obj = store
    if ctx.invoked_subcommand is not None:
        return
    url = resolve_store(store)
    with store_errors(url):
        listings = list_runs(url)
    if format_ is ListFormat.json:
        typer.echo(json.dumps([_as_dict(listing) for listing in listings]))
        return
    if not listings:
        typer.echo("no runs yet: `credit-ledger run SCENARIO` makes one")
        return
    header = ["RUN", "EVENTS", "WINDOW", "SCENARIO", "WRITTEN" if url else "", "WHERE"]
    rows = [header] + [
        [
            listing.run,
            f"{listing.events:,}",
            _window(listing),
            listing.name,
            _written(listing) if url else "",
            listing.where,
        ]
        for listing in listings
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [
            cell.rjust(width) if i == 1 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            if width
        ]
        typer.echo("  ".join(cells).rstrip())


def _window(listing: RunListing) -> str:
    """The window replayed; a run stopped with --until shows where it stopped."""
    if listing.stopped_at is None:
        return f"{listing.start.date()} .. {listing.end.date()}"
    return (
        f"{listing.start.date()} .. {listing.stopped_at.isoformat()} "
        f"(stopped by --until; the scenario runs to {listing.end.date()})"
    )


def _written(listing: RunListing) -> str:
    when = listing.written_at.strftime("%Y-%m-%d %H:%M") if listing.written_at else ""
    return f"{when} {listing.written_by or ''}".strip()


@runs_app.command("rm")
def remove(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="The run's name.", show_default=False, callback=check_run_name)
    ],
    store: StoreOption = None,
    dir_: Annotated[
        Path | None,
        typer.Option("--dir", help="The run folder (default: runs/NAME)."),
    ] = None,
) -> None:
    """Delete a run: its folder, or its schema in the team store and its local projection."""
    url = resolve_store(store if store is not None else ctx.obj)
    with store_errors(url):
        done = remove_run(url, name, run_folder(dir_, name))
    for line in done:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add ``runs`` and ``runs rm`` to the ``credit-ledger`` application."""
    app.add_typer(runs_app, name="runs")
