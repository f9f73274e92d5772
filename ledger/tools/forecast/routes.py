"""``compare --samples N``: how often each route is the cheapest, and its P50/P90 cost.

Sample k runs the whole ``compare`` (every route, each with the top-ups its
own replays find) on draw k of the workload's uncertain inputs, with the
seed ``sample_seed(S, k)`` as ``forecast`` uses. A sample's cheapest route is
the first of its ranking when that route carries the workload; a sample in
which no route carries has none. Each sample hands back one small row per
route, so the same executors run it (local processes or Dask).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.pricing.models import PriceBook
from ledger.tools.decide.compare import compare
from ledger.tools.forecast.results import probability, spread
from ledger.tools.forecast.sample import sample_seed
from scenarios.draws import Draws
from scenarios.schema import Workload


@dataclass(frozen=True, slots=True)
class CompareJob:
    workload: Workload
    book: PriceBook
    seed: int
    explore: bool = True


@dataclass(frozen=True, slots=True)
class RouteSample:
    sample: int
    routes: tuple[tuple[str, bool, Decimal], ...]  # (route, carries, usd_total), ranked


def compare_chunk(job: CompareJob, samples: Sequence[int]) -> list[RouteSample]:
    found = []
    for k in samples:
        seed = sample_seed(job.seed, k)
        workload = job.workload.model_copy(update={"seed": seed})
        ranked = compare(workload, job.book, explore=job.explore, draws=Draws(seed))
        found.append(RouteSample(k, tuple((r.id, r.carries, r.usd_total) for r in ranked)))
    return found


def route_odds(job: CompareJob, results: Sequence[RouteSample]) -> dict[str, Any]:
    """Per route: the chance it is the cheapest, the chance it carries, P50/P90 of its cost."""
    ordered = sorted(results, key=lambda r: r.sample)
    n = len(ordered)
    order: list[str] = []
    for result in ordered:
        order += [route for route, _, _ in result.routes if route not in order]
    cheapest = [r.routes[0][0] if r.routes and r.routes[0][1] else None for r in ordered]
    rows = []
    for route in order:
        costs = [usd for r in ordered for rid, _, usd in r.routes if rid == route]
        carries = sum(c for r in ordered for rid, c, _ in r.routes if rid == route)
        cost = spread(costs)
        rows.append(
            {
                "route": route,
                "cheapest": probability(sum(c == route for c in cheapest), n),
                "carries": probability(carries, n),
                "usd_p10": cost["p10"],
                "usd_p50": cost["p50"],
                "usd_p90": cost["p90"],
                "usd_mean": cost["mean"],
            }
        )
    rows.sort(key=lambda row: (-row["cheapest"], row["usd_p50"], order.index(row["route"])))
    return {
        "workload": job.workload.name,
        "samples": n,
        "seed": job.seed,
        "start": job.workload.start.isoformat(),
        "end": job.workload.end.isoformat(),
        "no_route_carries": probability(sum(c is None for c in cheapest), n),
        "routes": rows,
    }
