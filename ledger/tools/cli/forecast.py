"""``forecast``: replay a scenario with uncertain inputs many times and report the spread.

Registered on the main app by ``register(app)``. Exit codes: 0 success, 2 bad
input (the scenario, an option, an unreachable cluster), nothing written then.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ledger.tools.cli import output
from ledger.tools.cli.options import (
    ClusterOption,
    SeedOption,
    WorkersOption,
    bad_input,
    scenario_error,
)
from ledger.tools.cli.progress import sample_progress
from ledger.tools.forecast.executors import ExecutorError
from ledger.tools.forecast.results import FIGURES, Forecast, sweep
from ledger.tools.forecast.sample import sample_seed
from ledger.tools.forecast.store import default_forecast_dir, write_forecast
from ledger.tools.report.fan import render_forecast
from ledger.tools.runfolder import RunFolderError, check_target
from ledger.tools.runs import run_scenario
from scenarios.draws import Draws
from scenarios.errors import ScenarioError
from scenarios.loader import LoadedScenario, load_scenario

MAX_SAMPLES = 1_000_000
err = Console(stderr=True, highlight=False, soft_wrap=True)
TITLES = {
    "usd": "dollars spent",
    "used": "credits used",
    "forfeited": "credits forfeited",
    "refused": "tasks refused",
}


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast_command)


def forecast_command(
    scenario: Annotated[Path, typer.Argument(help="The scenario YAML file.")],
    samples: Annotated[
        int, typer.Option("--samples", "-n", min=1, max=MAX_SAMPLES, help="Samples to replay.")
    ] = 1000,
    seed: SeedOption = None,
    sample: Annotated[
        int | None,
        typer.Option(
            "--sample",
            min=0,
            help="Replay sample K alone into an ordinary run folder (events, balance, report).",
        ),
    ] = None,
    workers: WorkersOption = None,
    cluster: ClusterOption = None,
    wait_threshold: Annotated[
        int,
        typer.Option(
            "--wait-threshold",
            min=0,
            metavar="SECONDS",
            help="A concurrency queue wait longer than this counts as a refusal (API).",
        ),
    ] = 300,
    dir_: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="The forecast folder (default runs/<stem>-forecast); with --sample, "
            "the run folder (default runs/<stem>-sample-K).",
        ),
    ] = None,
    format_: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write the fan-chart report to FILE (HTML)."
        ),
    ] = None,
) -> None:
    """Replay N samples of a scenario's uncertain inputs; P10/P50/P90 per account and month."""
    if format_ not in {"table", "json"}:
        raise bad_input(f"error: --format must be table or json, not {format_!r}")
    try:
        loaded = load_scenario(scenario)
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    base_seed = loaded.scenario.seed if seed is None else seed
    if sample is not None:
        _one_sample(scenario, loaded, base_seed, sample, dir_)
        return
    target = dir_ or default_forecast_dir(scenario)
    try:
        check_target(target, scenario)  # before any work: a folder not ours stays untouched
    except RunFolderError as exc:
        raise bad_input(f"error: {exc}") from None
    started = time.monotonic()
    result = sweep_or_exit(loaded, samples, base_seed, workers, cluster, wait_threshold)
    try:
        folder = write_forecast(result, target, scenario)
    except RunFolderError as exc:
        raise bad_input(f"error: {exc}") from None
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_forecast(result), encoding="utf-8")
    elapsed = time.monotonic() - started
    if format_ == "json":
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    for line in forecast_lines(result):
        typer.echo(line)
    typer.echo("")
    typer.echo(f"forecast folder: {folder} (tables forecast_samples, forecast_outcomes, ")
    typer.echo("  view forecast_quantiles: credit-ledger sql ... --dir " + str(folder) + ")")
    if html is not None:
        typer.echo(f"fan charts written to {html}")
    err.print(f"{samples:,} samples in {elapsed:.1f} s", markup=False)


def sweep_or_exit(
    loaded: LoadedScenario,
    samples: int,
    seed: int | None,
    workers: int | None,
    cluster: str | None = None,
    wait_threshold_s: int = 300,
) -> Forecast:
    """``results.sweep`` with a progress bar on a terminal; bad input exits 2."""
    try:
        with sample_progress(samples) as tick:
            return sweep(
                loaded,
                samples,
                seed=seed,
                workers=workers,
                cluster=cluster,
                wait_threshold_s=wait_threshold_s,
                progress=tick,
            )
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    except ExecutorError as exc:
        raise bad_input(f"error: {exc}") from None


def _one_sample(
    scenario: Path, loaded: LoadedScenario, base_seed: int, sample: int, dir_: Path | None
) -> None:
    seed = sample_seed(base_seed, sample)
    one = dataclasses.replace(loaded, scenario=loaded.scenario.model_copy(update={"seed": seed}))
    target = dir_ or Path("runs") / f"{scenario.stem}-sample-{sample}"
    try:
        info = run_scenario(scenario, target, loaded=one, draws=Draws(seed), run_name=target.name)
    except ScenarioError as exc:
        raise scenario_error(exc) from None
    output.print_summary(info)
    typer.echo(f"sample {sample} of seed {base_seed} (its own seed {seed})")


# ------------------------------------------------------------------ the table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(header: list[str], rows: list[list[str]]) -> Iterator[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    yield "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    for row in rows:
        yield "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        )


def forecast_lines(result: Forecast) -> Iterator[str]:
    yield (
        f"{result.name}: {result.samples:,} samples, seed {result.seed}, "
        f"{result.start.date().isoformat()} to {result.end.date().isoformat()}"
    )
    for account in result.accounts:
        kind = "web workspace" if account["surface"] == "web" else "API organization"
        yield ""
        yield f"{account['account']} ({kind})"
        for figure in FIGURES:
            months = account["months"]
            window = account["window"][figure]
            if all(m[figure]["p90"] == 0 and m[figure]["mean"] == 0 for m in months):
                yield f"  {TITLES[figure]}: 0 in every month of every sample"
                continue
            yield f"  {TITLES[figure]}"
            rows = [
                [m["month"], *(_cell(m[figure][k]) for k in ("p10", "p50", "p90", "mean"))]
                for m in months
            ]
            rows.append(["window", *(_cell(window[k]) for k in ("p10", "p50", "p90", "mean"))])
            for line in _table(["  month", "P10", "P50", "P90", "mean"], rows):
                yield "  " + line
        if account["surface"] == "web":
            yield "  chance of running out of credits before each billing date"
            rows = [
                [r["before"][:10], f"{float(r['probability']):.1%}"] for r in account["run_out"]
            ]
            for line in _table(["  before", "chance"], rows):
                yield "  " + line
        else:
            yield (
                "  chance of at least one refusal "
                f"(concurrency wait: above {result.wait_threshold_s} s)"
            )
            rows = [[reason, f"{float(p):.1%}"] for reason, p in account["refusals"].items()]
            for line in _table(["  reason", "chance"], rows):
                yield "  " + line
            if account["tiers"]:
                yield "  tier reached on"
                rows = [
                    [
                        str(t["tier"]),
                        f"{float(t['probability']):.1%}",
                        *((t[k] or "after the window")[:10] for k in ("p10", "p50", "p90")),
                    ]
                    for t in account["tiers"]
                ]
                for line in _table(["  tier", "chance", "P10", "P50", "P90"], rows):
                    yield "  " + line
