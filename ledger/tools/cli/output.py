"""What the commands print: summaries, audit lines, query results, exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledger.application import Ledger
from ledger.audit import IDENTITY, event_fields, holdings
from ledger.domain.effects import NOISE
from ledger.tools.cli.options import safe_text
from ledger.tools.runs import RunInfo
from projections import answers, queries

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


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
    header: bool = True,
) -> None:
    """A table that never cuts a figure.

    On a terminal: a rich table whose cells wrap (fold) when the terminal is
    narrow, never end in an ellipsis. Piped or redirected: plain text, each
    column as wide as its widest cell, so ``| cat``, ``| grep`` and files get
    every character whatever the width.
    """
    if out.is_terminal:
        table = Table(
            title=title,
            title_justify="left",
            show_header=header,
            box=None if not header else box.HEAVY_HEAD,
        )
        for index, name in enumerate(columns):
            table.add_column(name, justify="right" if index in right else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    for line in plain_table(columns, rows, title=title, right=right, header=header):
        typer.echo(line)


def plain_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    right: Sequence[int] = (),
    header: bool = True,
) -> list[str]:
    """Aligned plain-text lines: every cell in full, two spaces between columns."""
    shown = ([list(columns)] if header else []) + [list(row) for row in rows]
    if not shown:
        return [title] if title else []
    widths = [max(len(row[i]) for row in shown) for i in range(len(columns))]
    lines = [title] if title else []
    for n, row in enumerate(shown):
        cells = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if header and n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return lines


def print_mapping(data: dict[str, Any]) -> None:
    print_table(
        ["field", "value"],
        [[safe_text(key), safe_text(_fmt(value))] for key, value in data.items()],
        header=False,
    )


# --------------------------------------------------------------------- summary


def print_summary(info: RunInfo) -> None:
    """The year in numbers, per account (issue: summary output of `run`)."""
    summaries, extras = _summaries(info)
    stopped = f" (stopped at {info.until.isoformat()})" if info.until else ""
    title = Text(safe_text(info.name), style="bold")
    out.print(Text.assemble(title, f": {info.start.date()} to {info.end.date()}{stopped}"))
    out.print(Text(safe_text(f"run folder: {info.folder}")))
    for s in summaries:
        _print_account(s)
        _print_answers(s, extras[s["account"]])


def _summaries(info: RunInfo) -> tuple[list[queries.AccountSummary], dict[str, dict[str, Any]]]:
    """The account summaries, and per account the answers of ``projections.answers``."""
    con = queries.connect(info.duckdb_path)
    try:
        summaries = queries.summaries(con)
        extras: dict[str, dict[str, Any]] = {}
        for s in summaries:
            account, surface = s["account"], s["surface"]
            extras[account] = {
                "refusals_by_rule": answers.refusals_by_rule(con, account, surface),
            }
            if surface == "web":
                extras[account]["plan_credits_ran_out"] = answers.plan_run_out(con, account)
    finally:
        con.close()
    return summaries, extras


def _print_answers(s: queries.AccountSummary, extra: dict[str, Any]) -> None:
    """When plan credits ran out in each period; every refusal by reason and rule."""
    periods: list[answers.Period] = extra.get("plan_credits_ran_out", [])
    if periods:
        rows = [
            [
                f"{p['start'][:10]} .. {p['end'][:10] if p['end'] else 'end of window'}",
                f"{p['granted']:,}",
                p["ran_out"] or "never",
            ]
            for p in periods
        ]
        print_table(
            ["billing period", "plan credits", "ran out on"],
            rows,
            title=f"  {s['account']}: plan credits by billing period",
            right=(1,),
        )
    refusals: list[answers.Refusal] = extra["refusals_by_rule"]
    if refusals:
        rows = [
            [
                r["what"],
                r["reason"],
                r["rule"] or "-",
                f"{r['count']:,}",
                f"{r['first'][:16]} .. {r['last'][:16]}",
            ]
            for r in refusals
        ]
        print_table(
            ["refused", "reason", "rule", "count", "first .. last"],
            rows,
            title=f"  {s['account']}: refusals and blocked recharges",
            right=(3,),
        )


def _print_account(s: queries.AccountSummary) -> None:
    surface = s["surface"]
    title = f"{s['account']} ({'web workspace' if surface == 'web' else 'API organization'})"
    rows: list[tuple[str, Any]] = [
        ("tasks charged", s["tasks_charged"]),
        ("credits granted", s["granted"]),
        ("credits bought", s["bought"]),
        ("credits charged", s["charged"]),
        ("credits refunded", s["refunded"]),
        ("credits used (charged - refunded)", s["used"]),
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
        if s["deferred"]:
            # A08 defer: how much work waited for the 24 h window, and how late it ended.
            rows.append(("tasks deferred (daily limit)", s["deferred"]))
            hours = (s["longest_deferral_s"] or 0) / 3600
            rows.append(("longest wait for the daily limit", f"{hours:,.1f} h"))
            if s["deferred_finished_by"]:
                rows.append(("deferred work finished by", s["deferred_finished_by"][:16]))
            if s["deferred_waiting"]:
                rows.append(("deferred tasks still waiting at the end", s["deferred_waiting"]))
        if s["flagged_keys"]:
            rows.append(("API keys of removed members (A10)", ", ".join(s["flagged_keys"])))
    print_table(
        ["figure", "value"],
        [[safe_text(label), safe_text(_fmt(value))] for label, value in rows],
        title=safe_text(title),
        right=(1,),
    )
    months = s["usd_by_month"]
    if months:
        line = "  ".join(f"{m[:7]} ${v:,.2f}" for m, v in months)
        out.print(f"  dollars by month: {line}")


def summary_json(info: RunInfo) -> dict[str, Any]:
    """The summary ``run`` and ``report`` print, as one JSON object."""
    summaries, extras = _summaries(info)
    return {
        "run": info.run,
        "name": info.name,
        "scenario_file": info.scenario_file,
        "folder": str(info.folder),
        "start": info.start.isoformat(),
        "end": info.end.isoformat(),
        "stopped_at": info.until.isoformat() if info.until else None,
        "accounts": [json_value(dict(s) | extras[s["account"]]) for s in summaries],
    }


def json_value(value: Any) -> Any:
    """Instants as ISO 8601, dollars as strings, tuples as lists, recursively."""
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return _json_value(value)


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
        yield safe_text(
            f"{event.timestamp.isoformat()}  {name:<22} {_event_detail(event)}"
            f"  | {holdings(aggregate)}"
        )


def audit_records(
    ledger: Ledger, account: str, since: datetime | None, until: datetime | None
) -> Iterator[dict[str, Any]]:
    """``audit_lines`` as JSON objects: instant, type, fields, balances after it."""
    aggregate: Any = None
    for event in ledger.iter_account_events(account):
        aggregate = event.mutate(aggregate)
        if since is not None and event.timestamp < since:
            continue
        if until is not None and event.timestamp > until:
            break
        after = dict(part.split("=", 1) for part in holdings(aggregate).split())
        yield {
            "at": event.timestamp.isoformat(),
            "event": type(event).__name__,
            "version": event.originator_version,
            "fields": {k: v for k, v in event_fields(event).items() if k not in NOISE},
            "after": {k: int(v) for k, v in after.items()},
        }


def _event_detail(event: Any) -> str:
    parts = []
    for key, raw in vars(event).items():
        if key in NOISE or key in IDENTITY or raw in (None, [], "", {}):
            continue
        value = getattr(raw, "plan", raw)  # PlanTerms: the plan's name says it
        if hasattr(value, "value"):
            value = value.value
        if isinstance(value, datetime):
            value = value.isoformat()
        parts.append(f"{key}={value}")
    return " ".join(parts)


# ------------------------------------------------------------------------ sql


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def print_rows(columns: Sequence[str], rows: Sequence[tuple[Any, ...]], fmt: str) -> None:
    print_batches(columns, iter([list(rows)]), fmt)


TABLE_ROWS = 10_000  # rows per printed table: a longer result prints as several tables


def print_batches(
    columns: Sequence[str], batches: Iterator[list[tuple[Any, ...]]], fmt: str
) -> None:
    """Print a result batch by batch, so a result of any size needs bounded memory.

    JSON and CSV come out exactly as if written at once; a table longer than
    ``TABLE_ROWS`` rows is printed as consecutive tables of that many rows.
    """
    if fmt == "json":
        _print_json(columns, batches)
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        typer.echo(buffer.getvalue(), nl=False)
        for rows in batches:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerows([_json_value(v) for v in row] for row in rows)
            typer.echo(buffer.getvalue(), nl=False)
    else:
        pending: list[tuple[Any, ...]] = []
        printed = False
        for rows in batches:
            pending.extend(rows)
            while len(pending) >= TABLE_ROWS:
                _print_table(columns, pending[:TABLE_ROWS])
                del pending[:TABLE_ROWS]
                printed = True
        if pending or not printed:
            _print_table(columns, pending)


def _print_json(columns: Sequence[str], batches: Iterator[list[tuple[Any, ...]]]) -> None:
    """``json.dumps`` of the list of row objects, written a batch at a time."""
    first = True
    typer.echo("[", nl=False)
    for rows in batches:
        if not rows:
            continue
        text = ", ".join(
            json.dumps({c: _json_value(v) for c, v in zip(columns, row, strict=True)})
            for row in rows
        )
        typer.echo(text if first else ", " + text, nl=False)
        first = False
    typer.echo("]")


def _print_table(columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """A query result as a table that cuts no figure; numbers right-aligned."""
    numeric = {
        i
        for i in range(len(columns))
        if rows
        and all(
            isinstance(row[i], int | Decimal | float) and not isinstance(row[i], bool)
            for row in rows
            if row[i] is not None
        )
    }
    print_table(
        [safe_text(c) for c in columns],
        [[safe_text(_fmt(v)) for v in row] for row in rows],
        right=sorted(numeric),
    )
