"""What the commands print: summaries, audit lines, query results, exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from ledger.application import Ledger
from ledger.audit import IDENTITY, NOISE, holdings
from ledger.runs import RunInfo
from projections import queries

out = Console(highlight=False, soft_wrap=True)


class QueryRefusedError(ValueError):
    """A query that would change the run, or that DuckDB rejects."""


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def print_mapping(data: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None)
    for key, value in data.items():
        table.add_row(key, _fmt(value))
    out.print(table)


# --------------------------------------------------------------------- summary


def print_summary(info: RunInfo) -> None:
    """The year in numbers, per account (issue: summary output of `run`)."""
    con = queries.connect(info.duckdb_path)
    try:
        summaries = queries.summaries(con)
    finally:
        con.close()
    stopped = f" (stopped at {info.until.isoformat()})" if info.until else ""
    out.print(f"[bold]{info.name}[/bold]: {info.start.date()} to {info.end.date()}{stopped}")
    out.print(f"run folder: {info.folder}")
    for s in summaries:
        _print_account(s)


def _print_account(s: queries.AccountSummary) -> None:
    surface = s["surface"]
    title = f"{s['account']} ({'web workspace' if surface == 'web' else 'API organization'})"
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows: list[tuple[str, Any]] = [
        ("tasks charged", s["tasks_charged"]),
        ("credits granted", s["granted"]),
        ("credits bought", s["bought"]),
        ("credits used", s["used"]),
        ("credits refunded", s["refunded"]),
    ]
    if surface == "web":
        rows.append(("credits forfeited at resets", s["forfeited"]))
    rows.append(("final balance", s["final_balance"]))
    rows.append(("dollars spent", s["usd_total"]))
    for reason, count in sorted(s["refused"].items()):
        rows.append((f"refused: {reason}", count))
    for kind, count in sorted(s["other_refusals"].items()):
        rows.append((f"refused {kind} actions", count))
    if surface == "web":
        for when, plan in s["plans"]:
            rows.append((f"{plan} from", when[:16]))
    else:
        for when, tier in s["tiers"]:
            rows.append((f"tier {tier} from", when[:16]))
        if s["worst_wait_s"] is not None:
            at = (s["worst_wait_at"] or "")[:16]
            rows.append(
                (f"worst queue wait ({s['worst_wait_model']}, {at})", f"{s['worst_wait_s']:,.1f} s")
            )
        if s["flagged_keys"]:
            rows.append(("API keys of removed members (A10)", ", ".join(s["flagged_keys"])))
    for label, value in rows:
        table.add_row(label, _fmt(value))
    out.print(table)
    months = s["usd_by_month"]
    if months:
        line = "  ".join(f"{m[:7]} ${v:,.2f}" for m, v in months)
        out.print(f"  dollars by month: {line}")


# ---------------------------------------------------------------- audit trail


def audit_lines(
    ledger: Ledger, account: str, since: datetime | None, until: datetime | None
) -> Iterator[str]:
    """One line per event with the balances after it; nothing from the wall clock."""
    aggregate: Any = None
    for event in ledger.iter_account_events(account):
        aggregate = event.mutate(aggregate)
        if since is not None and event.timestamp < since:
            continue
        if until is not None and event.timestamp > until:
            break
        name = type(event).__name__
        yield (
            f"{event.timestamp.isoformat()}  {name:<22} {_event_detail(event)}"
            f"  | {holdings(aggregate)}"
        )


def _event_detail(event: Any) -> str:
    parts = []
    for key, raw in vars(event).items():
        if key in NOISE or key in IDENTITY or raw in (None, [], "", {}):
            continue
        value = raw.get("plan", raw) if isinstance(raw, dict) else raw
        if hasattr(value, "value"):
            value = value.value
        if isinstance(value, datetime):
            value = value.isoformat()
        parts.append(f"{key}={value}")
    return " ".join(parts)


# ------------------------------------------------------------------------ sql


def read_only_query(path: Path, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``query`` on a read-only connection: a write is refused and changes nothing."""
    if not path.is_file():
        raise QueryRefusedError(f"no DuckDB file at {path}")
    con = queries.connect(path)
    try:
        queries.install_macros(con)
        cursor = con.execute(query)
        if cursor.description is None:
            return [], []
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()
    except duckdb.Error as exc:
        text = str(exc)
        if "read-only" in text.lower() or "read only" in text.lower():
            raise QueryRefusedError(
                "the run's DuckDB file is opened read-only: this query would change it, "
                "so it was refused and nothing changed"
            ) from None
        raise QueryRefusedError(text.splitlines()[0] if text else "query failed") from None
    finally:
        con.close()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def print_rows(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], fmt: str) -> None:
    if fmt == "json":
        data = [{c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        typer.echo(json.dumps(data))
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_json_value(v) for v in row])
        typer.echo(buffer.getvalue(), nl=False)
    else:
        table = Table()
        for c in columns:
            table.add_column(c)
        for row in rows:
            table.add_row(*(_fmt(v) for v in row))
        out.print(table)


def export_tables(path: Path, dest: Path, fmt: str) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=True)
    written = []
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        for name in names:
            target = dest / f"{name}.{fmt}"
            option = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER)"
            con.execute(f"COPY (SELECT * FROM \"{name}\") TO '{target.as_posix()}' {option}")
            written.append(target)
    finally:
        con.close()
    return written
