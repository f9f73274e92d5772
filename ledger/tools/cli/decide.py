"""``compare`` and ``diff``: thin commands over ``ledger.tools.decide``.

Registered on the main app by ``register(app)`` (the last line of
``ledger/tools/cli/app.py``). Output is plain text with fixed columns, so it does
not depend on the terminal's width, and nothing in it reads the wall clock.
Exit codes: 0 success (``diff`` exits 0 whatever changed), 2 bad input.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.tools.cli.options import (
    ClusterOption,
    SeedOption,
    WorkersOption,
    bad_input,
    scenario_error,
)
from ledger.tools.cli.progress import count_progress
from ledger.tools.decide.breakeven import BreakEvenReport, Switch, breakeven
from ledger.tools.decide.chart import render_html
from ledger.tools.decide.compare import RouteResult, compare, months_in
from ledger.tools.decide.diff import AccountDiff, Change, DiffReport, diff
from ledger.tools.forecast.executors import ExecutorError, run_samples
from ledger.tools.forecast.routes import CompareJob, compare_chunk, route_odds
from scenarios.errors import ScenarioError
from scenarios.loader import LoadedWorkload, load_scenario, load_workload

EXIT_BAD_INPUT = 2
QUESTIONS = {"web": "cheapest web route", "track": "web against the API"}


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def register(app: typer.Typer) -> None:
    """Add ``compare`` and ``diff`` to the ``credit-ledger`` app."""
    app.command("compare")(compare_command)
    app.command("diff")(diff_command)


# ------------------------------------------------------------------ compare


def compare_command(
    workload: Annotated[Path, typer.Argument(help="The workload YAML file (kind: workload).")],
    format_: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    with_breakeven: Annotated[
        bool,
        typer.Option("--breakeven", help="Also find the volumes where the cheapest route changes."),
    ] = False,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", help="Write the break-even chart to this HTML file (implies --breakeven)."
        ),
    ] = None,
    explore: Annotated[
        bool,
        typer.Option(
            "--explore/--no-explore",
            help="Include Unlimited routes that run eligible models in Explore Mode.",
        ),
    ] = True,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples",
            min=1,
            max=100_000,
            help="Replay N samples of the workload's uncertain inputs: the chance each route "
            "is the cheapest, its P50/P90 cost.",
        ),
    ] = None,
    seed: SeedOption = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Replay a workload on every web plan and on the API: cheapest route that carries first."""
    try:
        loaded = load_workload(workload)
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    for warning in loaded.warnings:
        typer.echo(str(warning), err=True)
    if samples is not None:
        _sampled_compare(loaded, samples, seed, workers, cluster, explore, format_)
        return
    try:
        with count_progress("comparing routes", "route replays") as tick:
            ranked = compare(loaded.workload, loaded.price_book, explore=explore, progress=tick)
            done = len(ranked)
            report = (
                breakeven(
                    loaded.workload,
                    loaded.price_book,
                    explore=explore,
                    ranked=ranked,
                    progress=lambda n: tick(done + n),
                )
                if with_breakeven or html is not None
                else None
            )
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    if html is not None and report is not None:
        html.write_text(render_html(report, ranked), encoding="utf-8")
    if format_ is OutputFormat.json:
        typer.echo(json.dumps(compare_json(loaded, ranked, report), indent=2))
        return
    for line in compare_lines(loaded, ranked, report):
        typer.echo(line)
    if html is not None:
        typer.echo(f"chart written to {html}")


def _sampled_compare(
    loaded: LoadedWorkload,
    samples: int,
    seed: int | None,
    workers: int | None,
    cluster: str | None,
    explore: bool,
    format_: OutputFormat,
) -> None:
    job = CompareJob(
        loaded.workload,
        loaded.price_book,
        loaded.workload.seed if seed is None else seed,
        explore,
    )
    try:
        results = run_samples(
            job, range(samples), workers=workers, cluster=cluster, task=compare_chunk
        )
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    except ExecutorError as exc:
        raise bad_input(f"error: {exc}") from None
    odds = route_odds(job, results)
    if format_ is OutputFormat.json:
        typer.echo(json.dumps(odds, indent=2, default=str))
        return
    typer.echo(
        f"{odds['workload']}: {samples:,} samples, seed {odds['seed']}, "
        f"{odds['start'][:10]} to {odds['end'][:10]}"
    )
    header = ("route", "cheapest", "carries", "P10 $", "P50 $", "P90 $", "mean $")
    rows = [
        (
            r["route"],
            f"{float(r['cheapest']):.1%}",
            f"{float(r['carries']):.1%}",
            *(f"{r[k]:,.2f}" for k in ("usd_p10", "usd_p50", "usd_p90", "usd_mean")),
        )
        for r in odds["routes"]
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    for row in (header, *rows):
        typer.echo(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    typer.echo(
        f"no route carries the workload in {float(odds['no_route_carries']):.1%} of samples; "
        "costs are each route's dollars over the window"
    )


def compare_json(
    loaded: LoadedWorkload, ranked: Sequence[RouteResult], report: BreakEvenReport | None
) -> dict[str, Any]:
    wl = loaded.workload
    out: dict[str, Any] = {
        "workload": wl.name,
        "file": loaded.path,
        "start": wl.start.isoformat(),
        "end": wl.end.isoformat(),
        "months": str(months_in(wl.start, wl.end)),
        "editors": wl.editors,
        "price_book": loaded.price_book.id,
        "routes": [r.as_dict() for r in ranked],
    }
    if report is not None:
        out["breakeven"] = report.as_dict()
    return out


def _usd(value: Decimal) -> str:
    return f"{value:,.2f}"


def compare_lines(
    loaded: LoadedWorkload, ranked: Sequence[RouteResult], report: BreakEvenReport | None
) -> list[str]:
    wl = loaded.workload
    months = months_in(wl.start, wl.end)
    lines = [
        f"{wl.name}: {wl.start.date()} to {wl.end.date()} ({months.normalize():f} months), "
        f"{wl.editors} editor{'s' if wl.editors != 1 else ''}, price book {loaded.price_book.id}",
        "Routes, cheapest that carries first (dollars: everything paid in the window):",
        "",
        f"{'#':>3}  {'route':<30} {'carries':<7} {'dollars':>12} {'$/month':>10} "
        f"{'top-ups':>7} {'forfeited':>9} {'refused':>9}  binding limit",
    ]
    for n, r in enumerate(ranked, start=1):
        lines.append(
            f"{n:>3}  {r.id:<30} {'yes' if r.carries else 'no':<7} {_usd(r.usd_total):>12} "
            f"{_usd(r.usd_per_month):>10} {r.top_ups:>7,} {r.forfeited:>9,} {r.refused:>9,}  "
            f"{r.binding_limit or '-'}"
        )
    lines += ["", "Details:"]
    for r in ranked:
        lines.append(f"  {r.id}")
        if r.reason:
            lines.append(f"    cannot carry: {r.reason}")
        lines.append(f"    top-ups: {r.top_up_plan}")
        lines += [f"    {note}" for note in r.notes]
    if report is not None:
        lines += ["", *breakeven_lines(report)]
    return lines


def breakeven_lines(report: BreakEvenReport) -> list[str]:
    main = report.main
    unit = main.unit
    lines = [
        f"Break-even volumes ({main.describe()}; this workload: "
        f"{main.volume(main.count):,} at count {main.count}):",
    ]
    if not report.switches:
        lines.append("  none in the range probed: the same routes stay cheapest")
    for s in report.switches:
        lines.append(_switch_line(s, unit))
    counts = ", ".join(str(k) for k in report.grid)
    lines.append(
        f"  (count per occurrence probed at {counts}, then bisected; {report.probes} route replays)"
    )
    return lines


def _switch_line(s: Switch, unit: str) -> str:
    below_a, below_b = s.usd_below
    above_a, above_b = s.usd_above
    return (
        f"  {QUESTIONS.get(s.question, s.question)}: {s.below} -> {s.above} "
        f"from {s.volume_above:,} {unit}/month (count {s.count_above}: "
        f"${_usd(above_a)} vs ${_usd(above_b)} a month; "
        f"count {s.count_below}, {s.volume_below:,}: ${_usd(below_a)} vs ${_usd(below_b)})"
    )


# ------------------------------------------------------------------ diff


def diff_command(
    a: Annotated[Path, typer.Argument(help="The scenario before (A).")],
    b: Annotated[Path, typer.Argument(help="The scenario after (B).")],
    format_: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Replay two scenarios and show what changes per account and month (exit 0 either way)."""
    try:
        report = diff(load_scenario(a), load_scenario(b))
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    if format_ is OutputFormat.json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    for line in diff_lines(report):
        typer.echo(line)


SYMBOLS = {"changed": "~", "unchanged": "=", "added": "+", "removed": "-"}
KINDS = {"web": "web workspace", "api": "API organization"}


def _value(value: int | Decimal | None, money: bool) -> str:
    if value is None:
        return "-"
    return f"${value:,.2f}" if money else f"{value:,}"


def _change(c: Change) -> str:
    text = f"{c.label} {_value(c.a, c.money)} -> {_value(c.b, c.money)}"
    delta = c.delta
    if delta is not None and delta != 0:
        sign = "+" if delta > 0 else "-"
        magnitude = _value(-delta if delta < 0 else delta, c.money)
        text += f" ({sign}{magnitude})"
    return text


def diff_lines(report: DiffReport) -> list[str]:
    lines = [f"diff {report.a} -> {report.b}", ""]
    for account in report.accounts:
        lines += _account_lines(account)
    lines.append("Totals: " + "; ".join(_change(c) for c in report.totals))
    changed = sum(1 for a in report.accounts if a.changed)
    lines.append(f"{changed} of {len(report.accounts)} accounts changed")
    return lines


def _account_lines(account: AccountDiff) -> list[str]:
    head = (
        f"{SYMBOLS[account.status]} {account.account} ({KINDS[account.surface.value]}): "
        f"{account.status}"
    )
    lines = [head]
    if account.status in ("added", "removed"):
        side = 1 if account.status == "added" else 0
        shown = [f"{c.label} {_value(c.b if side else c.a, c.money)}" for c in account.totals]
        lines.append("    " + "; ".join(shown))
    elif account.status == "changed":
        for month in account.months:
            lines.append(f"    {month.month}  " + "; ".join(_change(c) for c in month.changes))
        for label, pair in (("tiers", account.tiers), ("plans", account.plans)):
            if pair[0] != pair[1]:
                lines.append(
                    f"    {label}: {', '.join(pair[0]) or '-'} -> {', '.join(pair[1]) or '-'}"
                )
        moved = [c for c in account.totals if c.a != c.b]
        if moved:
            lines.append("    total  " + "; ".join(_change(c) for c in moved))
    lines.append("")
    return lines
