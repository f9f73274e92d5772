"""From per-sample summaries to the forecast: quantiles, means and probabilities.

Quantiles are the inverted empirical distribution (DuckDB's ``quantile_disc``):
the Pq of n values is the ceil(q x n)-th smallest. They are always values some
sample had, so credits stay whole and dollars stay in cents, and they are easy
to check by hand. Means are rounded half to even at 0.01. Probabilities are
the share of samples, k / n, rounded to 4 places. Everything is computed from
the summaries sorted by sample number, so the result does not depend on which
worker ran which sample.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ledger.tools.forecast.executors import Progress, run_samples
from ledger.tools.forecast.sample import REASONS, ForecastJob, SampleSummary
from scenarios.loader import LoadedScenario

LEVELS = (("p10", Decimal("0.1")), ("p50", Decimal("0.5")), ("p90", Decimal("0.9")))
FIGURES = ("usd", "used", "forfeited", "refused")
CENT = Decimal("0.01")
PROBABILITY = Decimal("0.0001")


def quantile(ordered: Sequence[Any], level: Decimal) -> Any:
    """The ceil(level x n)-th smallest of ``ordered`` (already sorted), 1-based."""
    if not ordered:
        raise ValueError("no values")
    rank = max(1, math.ceil(level * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[int | Decimal]) -> dict[str, Any]:
    """P10, P50, P90 and the mean of some samples' values."""
    ordered = sorted(Decimal(v) if isinstance(v, Decimal) else v for v in values)
    out: dict[str, Any] = {name: quantile(ordered, level) for name, level in LEVELS}
    total = sum((Decimal(v) for v in ordered), Decimal(0))
    out["mean"] = (total / len(ordered)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    return out


def probability(hits: int, samples: int) -> Decimal:
    return (Decimal(hits) / Decimal(samples)).quantize(PROBABILITY, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Forecast:
    """Everything ``forecast`` reports, ready for a table, JSON or DuckDB."""

    name: str
    file: str
    samples: int
    seed: int
    start: datetime
    end: datetime
    wait_threshold_s: int
    summaries: tuple[SampleSummary, ...]  # sorted by sample number
    accounts: tuple[dict[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.name,
            "file": self.file,
            "samples": self.samples,
            "seed": self.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "quantiles": "inverted empirical distribution (DuckDB quantile_disc)",
            "wait_threshold_s": self.wait_threshold_s,
            "accounts": [_jsonable(a) for a in self.accounts],
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def forecast(job: ForecastJob, file: str, summaries: Sequence[SampleSummary]) -> Forecast:
    """Fold the samples (in any order) into the forecast."""
    ordered = tuple(sorted(summaries, key=lambda s: s.sample))
    n = len(ordered)
    scenario = job.scenario
    accounts = [(w.id, "web") for w in scenario.workspaces] + [
        (o.id, "api") for o in scenario.organizations
    ]
    reports = []
    for name, surface in accounts:
        per_month: dict[str, dict[str, list[Any]]] = {}
        for summary in ordered:
            for row in summary.months:
                if row.account != name:
                    continue
                figures = per_month.setdefault(row.month, {f: [] for f in FIGURES})
                figures["usd"].append(row.usd)
                figures["used"].append(row.used)
                figures["forfeited"].append(row.forfeited)
                figures["refused"].append(row.refused)
        months = [
            {"month": month, **{f: spread(values) for f, values in figures.items()}}
            for month, figures in per_month.items()
        ]
        totals = {
            f: spread(
                [
                    sum(
                        (getattr(r, f) for r in s.months if r.account == name),
                        Decimal(0) if f == "usd" else 0,
                    )
                    for s in ordered
                ]
            )
            for f in FIGURES
        }
        outcomes = [o for s in ordered for o in s.accounts if o.account == name]
        report: dict[str, Any] = {
            "account": name,
            "surface": surface,
            "months": months,
            "window": totals,
        }
        if surface == "web":
            report["run_out"] = _run_out(outcomes, n)
        else:
            report["refusals"] = {
                reason: probability(sum(reason in o.reasons for o in outcomes), n)
                for reason in REASONS
            }
            report["max_wait_s"] = spread([o.max_wait_s for o in outcomes])
            report["tiers"] = _tiers(outcomes, n)
        reports.append(report)
    return Forecast(
        name=scenario.name,
        file=file,
        samples=n,
        seed=job.seed,
        start=scenario.start,
        end=scenario.end,
        wait_threshold_s=job.wait_threshold_s,
        summaries=ordered,
        accounts=tuple(reports),
    )


def _run_out(outcomes: Sequence[Any], n: int) -> list[dict[str, Any]]:
    """For each billing period's end: the share of samples that ran out of credits before it."""
    ends = sorted({end for o in outcomes for end in o.periods})
    return [
        {"before": end, "probability": probability(sum(end in o.ran_out for o in outcomes), n)}
        for end in ends
    ]


def _tiers(outcomes: Sequence[Any], n: int) -> list[dict[str, Any]]:
    """For each tier some sample reached: how often, and the P10/P50/P90 date it was reached.

    A sample that never reached it counts as 'later than the window': a
    quantile that falls among those is null.
    """
    tiers = sorted({tier for o in outcomes for tier, _ in o.tiers})
    found = []
    for tier in tiers:
        reached = sorted(at for o in outcomes for t, at in o.tiers if t == tier)
        row: dict[str, Any] = {"tier": tier, "probability": probability(len(reached), n)}
        for name, level in LEVELS:
            rank = max(1, math.ceil(level * n))
            row[name] = reached[rank - 1] if rank <= len(reached) else None
        found.append(row)
    return found


def sweep(
    loaded: LoadedScenario,
    samples: int,
    *,
    seed: int | None = None,
    workers: int | None = None,
    cluster: str | None = None,
    wait_threshold_s: int = 300,
    progress: Progress | None = None,
) -> Forecast:
    """Samples 0 to ``samples - 1`` of a loaded scenario, replayed and folded: what
    ``forecast`` reports (``seed`` defaults to the scenario's). Raises
    ``ScenarioError`` or ``ExecutorError``."""
    base = loaded.scenario.seed if seed is None else seed
    job = ForecastJob(loaded.scenario, loaded.price_book, base, wait_threshold_s)
    summaries: list[SampleSummary] = run_samples(
        job, range(samples), workers=workers, cluster=cluster, progress=progress
    )
    return forecast(job, loaded.path, summaries)
