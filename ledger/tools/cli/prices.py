"""``credit-ledger prices``: the price book, figure by figure, with sources and confidence.

Every figure the simulator uses (models and their rates, plans, the web and
API credit prices, usage tiers and their limits), named by the dotted path a
scenario's ``overrides:`` takes, with its value, its confidence mark (R:
Runway, G: the buying guide, 3P: third-party pages only, A: an assumption)
and its source.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from ledger.pricing.loader import bundled_ids, load_price_book
from ledger.pricing.models import PriceBook, PricingError, Provenance
from ledger.tools.cli import output
from ledger.tools.cli.options import bad_input, scenario_error
from scenarios.errors import ScenarioError
from scenarios.loader import load_scenario

_BOOKKEEPING = {"source", "conf", "figures", "explore_source"}
CONFIDENCE = {"R": "Runway", "G": "the buying guide", "3P": "third-party pages", "A": "assumed"}


class PricesFormat(StrEnum):
    table = "table"
    json = "json"


def figures(book: PriceBook) -> Iterator[dict[str, Any]]:
    """Every figure of ``book``: path (as ``overrides:`` names it), value, conf, source."""
    yield from _walk(book.web, "web", None)
    yield from _walk(book.api, "api", None)


def _walk(entry: BaseModel, path: str, inherited: Provenance | None) -> Iterator[dict[str, Any]]:
    provenance = getattr(entry, "provenance", None)
    for name in type(entry).model_fields:
        if name in _BOOKKEEPING or name.endswith("_source"):
            continue
        value = getattr(entry, name)
        origin = provenance(name) if callable(provenance) else inherited
        if isinstance(value, BaseModel):
            yield from _walk(value, f"{path}.{name}", origin)
        elif isinstance(value, dict):
            for key, item in value.items():
                label = f"{path}.{name}.{_plain(key)}"
                if isinstance(item, BaseModel):
                    yield from _walk(item, label, origin)
                else:
                    yield _figure(label, item, origin)
        elif value is not None:
            yield _figure(f"{path}.{name}", value, origin)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    return value


def _figure(path: str, value: Any, origin: Provenance | None) -> dict[str, Any]:
    return {
        "figure": path,
        "value": _plain(value),
        "conf": origin.conf.value if origin else None,
        "source": origin.source if origin else None,
    }


def prices(
    book: Annotated[
        str | None,
        typer.Option(
            "--book",
            metavar="ID|FILE",
            help=f"A bundled price book ({', '.join(bundled_ids())}) or a price book file.",
        ),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            metavar="FILE",
            help="The price book a scenario uses, its overrides applied.",
        ),
    ] = None,
    only: Annotated[
        str | None,
        typer.Option(
            "--only",
            metavar="PREFIX",
            help="Only figures whose path starts with PREFIX (web.models, api.tiers.3 ...).",
        ),
    ] = None,
    format_: Annotated[
        PricesFormat,
        typer.Option("--format", help="table, or json: a list of {figure, value, conf, source}."),
    ] = PricesFormat.table,
) -> None:
    """List the price book: models, rates, plans, tiers, each figure's source and confidence."""
    if book is not None and scenario is not None:
        raise bad_input("error: give --book or --scenario, not both")
    if scenario is not None:
        try:
            price_book = load_scenario(scenario).price_book
        except ScenarioError as exc:
            raise scenario_error(exc) from None
    else:
        try:
            ref = book or bundled_ids()[-1]
            path = Path(ref)
            price_book = load_price_book(str(path.resolve()) if path.is_file() else ref, {}, None)
        except (PricingError, ValueError) as exc:
            raise bad_input(f"error: {exc}") from None
    rows = [f for f in figures(price_book) if only is None or f["figure"].startswith(only)]
    if format_ is PricesFormat.json:
        typer.echo(
            json.dumps(
                {
                    "price_book": price_book.id,
                    "effective": str(price_book.effective),
                    "figures": rows,
                }
            )
        )
        return
    typer.echo(f"price book {price_book.id} (effective {price_book.effective})")
    output.print_table(
        ["figure", "value", "conf", "source"],
        [
            [row["figure"], _shown(row["value"]), row["conf"] or "", row["source"] or ""]
            for row in rows
        ],
        right=(1,),
    )
    typer.echo("conf: " + ", ".join(f"{k} = {v}" for k, v in CONFIDENCE.items()))


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def register(app: typer.Typer) -> None:
    """Add ``prices`` to the ``credit-ledger`` application."""
    app.command("prices")(prices)
