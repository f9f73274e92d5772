"""Break-even volumes, found by replaying the workload at other volumes.

Volume is the workload's own: the tasks of its *main line* (the usage line
with the most tasks in the window), in that model's unit (seconds of video,
images, characters or tasks) per month. A probe at count ``k`` replays the
workload with the main line's ``count`` set to ``k`` and every other line
scaled by the same factor (rounded half up, never below one task per
occurrence). Counts are whole numbers, so volumes move in steps of one task
per occurrence and a break-even is a pair of neighbouring counts: the last
where one route is cheaper, the first where another is.

Two questions are answered, one per family of route (the cheaper billing of
each plan at the workload's volume, plus Explore Mode and the API):

* the cheapest *web* route (stay free, upgrade?): where it changes plan;
* the cheapest web route against the API (switch pricing tracks?).

Method: probe a grid of counts (the workload's count times powers of two,
from one task per occurrence to four times the workload), then bisect every
interval whose two ends have a different winner, down to neighbouring
counts. Every probe is a full ``compare.evaluate`` (its own top-up search)
and is cached, so the chart and both questions share them. A route that does
not carry at a volume is never the cheaper one there. Two switches inside
one grid interval that cancel out are not seen; the chart shows the grid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from ledger.domain.types import Surface
from ledger.pricing.models import Meter, PriceBook
from ledger.tools.decide.compare import Route, RouteResult, evaluate, months_in, rank, routes
from scenarios.schedule import occurrences
from scenarios.schema import UsageLine, Workload

GRID_ABOVE = 2  # the grid reaches 2**GRID_ABOVE times the workload's count
UNITS = {
    Meter.SECOND: "seconds",
    Meter.IMAGE: "images",
    Meter.CHARACTERS: "characters",
    Meter.GENERATION: "tasks",
}


@dataclass(frozen=True, slots=True)
class MainLine:
    """The line whose volume the break-evens are expressed in."""

    index: int  # 0-based position in the workload's usage
    model: str
    count: int  # tasks per occurrence in the workload
    occurrences: int  # in the window
    unit: str  # seconds, images, characters or tasks
    units_per_task: int
    months: Decimal

    def volume(self, k: int) -> Decimal:
        """Units a month at ``k`` tasks per occurrence."""
        total = Decimal(self.occurrences * k * self.units_per_task)
        return (total / self.months).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    def describe(self) -> str:
        return f"usage line {self.index + 1} ({self.model}), {self.unit} a month"


def main_line(workload: Workload, book: PriceBook) -> MainLine:
    """The usage line with the most tasks in the window (the first one on a tie)."""
    if not workload.usage:
        raise ValueError("the workload has no usage lines: there is no volume to scale")
    tallies = []
    for index, line in enumerate(workload.usage):
        n = sum(1 for _ in occurrences(line, workload.start, workload.end))
        tallies.append((n * line.count, -index, n))
    _, neg_index, n = max(tallies)
    index = -neg_index
    line = workload.usage[index]
    model = book.api.models.get(line.model) or book.web.models[line.model]
    return MainLine(
        index=index,
        model=line.model,
        count=line.count,
        occurrences=n,
        unit=UNITS[model.meter],
        units_per_task=_units_per_task(line, model.meter),
        months=months_in(workload.start, workload.end),
    )


def _units_per_task(line: UsageLine, meter: Meter) -> int:
    if meter is Meter.SECOND:
        return (line.seconds or 0) * line.outputs
    if meter is Meter.CHARACTERS:
        return (line.characters or 0) * line.outputs
    return line.outputs


def scaled(workload: Workload, main: MainLine, k: int) -> Workload:
    """The workload with the main line at ``k`` tasks per occurrence, the others in step."""
    factor = Decimal(k) / Decimal(main.count)
    lines = []
    for index, line in enumerate(workload.usage):
        if index == main.index:
            count = k
        else:
            count = max(1, int((line.count * factor).to_integral_value(rounding=ROUND_HALF_UP)))
        lines.append(line.model_copy(update={"count": count}))
    return workload.model_copy(update={"usage": lines})


# ------------------------------------------------------------------ probing


class Prober:
    """Route results at any count, each computed once."""

    def __init__(
        self,
        workload: Workload,
        book: PriceBook,
        main: MainLine,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.workload = workload
        self.book = book
        self.main = main
        self.progress = progress
        self.replays = 0
        self._cache: dict[tuple[str, int], RouteResult] = {}

    def result(self, route: Route, k: int) -> RouteResult:
        key = (route.id, k)
        found = self._cache.get(key)
        if found is None:
            found = evaluate(route, scaled(self.workload, self.main, k), self.book)
            self._cache[key] = found
            self.replays += 1
            if self.progress is not None:
                self.progress(self.replays)
        return found

    def seed(self, results: Sequence[RouteResult], k: int) -> None:
        """Results already known at count ``k`` (the workload's own, from ``compare``)."""
        for result in results:
            self._cache[(result.route.id, k)] = result

    @property
    def probes(self) -> int:
        return len(self._cache)

    def counts(self, route: Route) -> list[int]:
        return sorted(k for rid, k in self._cache if rid == route.id)


@dataclass(frozen=True, slots=True)
class Point:
    count: int
    volume: Decimal
    usd_total: Decimal
    usd_per_month: Decimal
    carries: bool


@dataclass(frozen=True, slots=True)
class Switch:
    """Where the cheaper route changes: ``below`` wins at ``count_below``, ``above`` at the next."""

    question: str  # 'web' (cheapest web route) or 'track' (web against the API)
    below: str  # route id cheaper at count_below
    above: str  # route id cheaper at count_above
    count_below: int
    count_above: int
    volume_below: Decimal
    volume_above: Decimal
    usd_below: tuple[Decimal, Decimal]  # $/month of (below, above) at count_below
    usd_above: tuple[Decimal, Decimal]  # $/month of (below, above) at count_above

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.question,
            "cheaper_below": self.below,
            "cheaper_above": self.above,
            "count_below": self.count_below,
            "count_above": self.count_above,
            "volume_below": str(self.volume_below),
            "volume_above": str(self.volume_above),
            "usd_per_month_below": [str(v) for v in self.usd_below],
            "usd_per_month_above": [str(v) for v in self.usd_above],
        }


@dataclass(frozen=True, slots=True)
class BreakEvenReport:
    workload: str
    main: MainLine
    grid: tuple[int, ...]
    families: tuple[Route, ...]  # one route per family, in the ranking at the workload's count
    curves: dict[str, tuple[Point, ...]]
    switches: tuple[Switch, ...]
    probes: int
    winners: dict[str, tuple[str, str]] = field(default_factory=dict)  # question -> (low, high)

    def as_dict(self) -> dict[str, object]:
        return {
            "workload": self.workload,
            "main_line": {
                "usage_line": self.main.index + 1,
                "model": self.main.model,
                "unit": self.main.unit,
                "count": self.main.count,
                "volume_per_month": str(self.main.volume(self.main.count)),
            },
            "grid": list(self.grid),
            "routes": [r.id for r in self.families],
            "switches": [s.as_dict() for s in self.switches],
            "curves": {
                rid: [
                    {
                        "count": p.count,
                        "volume": str(p.volume),
                        "usd_per_month": str(p.usd_per_month),
                        "carries": p.carries,
                    }
                    for p in points
                ]
                for rid, points in self.curves.items()
            },
            "probes": self.probes,
        }


def grid_counts(count: int) -> tuple[int, ...]:
    """The workload's count times powers of two, from 1 up to 2**GRID_ABOVE times it."""
    found = {count * 2**j for j in range(1, GRID_ABOVE + 1)} | {1, count}
    k = count
    while k > 1:
        k = max(1, int((Decimal(k) / 2).to_integral_value(rounding=ROUND_HALF_UP)))
        found.add(k)
    return tuple(sorted(found))


def families(ranked: Sequence[RouteResult]) -> list[Route]:
    """The best replayable route of each family, in ranking order.

    Left out: routes that cannot be opened (seat caps) and routes missing a
    model from their catalogue, since no volume makes them carry.
    """
    chosen: dict[str, Route] = {}
    for result in ranked:
        if result.figures is None or result.binding_limit == "catalogue":
            continue
        chosen.setdefault(result.route.family, result.route)
    return list(chosen.values())


def breakeven(
    workload: Workload,
    book: PriceBook,
    *,
    explore: bool = True,
    ranked: Sequence[RouteResult] | None = None,
    progress: Callable[[int], None] | None = None,
) -> BreakEvenReport:
    """Probe and bisect the volumes where the cheapest route changes.

    ``progress`` is told how many route replays the probing has made so far.
    """
    main = main_line(workload, book)
    ranked = (
        list(ranked)
        if ranked is not None
        else rank(evaluate(r, workload, book) for r in routes(workload, book, explore=explore))
    )
    reps = families(ranked)
    prober = Prober(workload, book, main, progress)
    prober.seed(ranked, main.count)
    grid = grid_counts(main.count)
    # A route that cannot carry one task per occurrence (Free's one-time grant)
    # carries at no volume of the grid: more tasks are never fewer refusals.
    reps = [r for r in reps if prober.result(r, grid[0]).carries]
    web = [r for r in reps if r.surface is Surface.WEB]
    api = [r for r in reps if r.surface is Surface.API]

    def cheapest(candidates: Sequence[Route], k: int) -> Route | None:
        best: tuple[Decimal, int] | None = None
        winner = None
        for order, route in enumerate(candidates):
            result = prober.result(route, k)
            if result.carries and (best is None or (result.usd_total, order) < best):
                best, winner = (result.usd_total, order), route
        return winner

    def web_label(k: int) -> str:
        winner = cheapest(web, k)
        return winner.id if winner else "none"

    def track_label(k: int) -> str:
        winner = cheapest([*web, *api], k)
        if winner is None:
            return "none"
        return "api" if winner.surface is Surface.API else "web"

    for k in grid:
        for route in reps:
            prober.result(route, k)
    switches: list[Switch] = []
    winners: dict[str, tuple[str, str]] = {}
    if web:
        switches += _switches("web", web_label, grid, prober, main, reps)
        winners["web"] = (web_label(grid[0]), web_label(grid[-1]))
    if web and api:
        for a, b in find_switches(track_label, grid):
            # Name both sides by route: the API, and the web route that wins its side.
            web_route = web_label(b if track_label(b) == "web" else a)
            below, above = ("api", web_route) if track_label(a) == "api" else (web_route, "api")
            switches.append(_switch("track", below, above, a, b, prober, main, reps))
        winners["track"] = (track_label(grid[0]), track_label(grid[-1]))
    curves = {
        route.id: tuple(_point(prober.result(route, k), k, main) for k in prober.counts(route))
        for route in reps
    }
    return BreakEvenReport(
        workload=workload.name,
        main=main,
        grid=grid,
        families=tuple(reps),
        curves=curves,
        switches=tuple(switches),
        probes=prober.probes,
        winners=winners,
    )


def _point(result: RouteResult, k: int, main: MainLine) -> Point:
    return Point(k, main.volume(k), result.usd_total, result.usd_per_month, result.carries)


def find_switches(label: Callable[[int], str], grid: Sequence[int]) -> list[tuple[int, int]]:
    """Neighbouring counts (a, a + 1) where ``label`` changes, bisecting between grid points.

    Within a grid interval whose ends differ, bisection finds the first change
    from the low end; the search then goes on from there to the high end, so
    a third label inside the interval is found too.
    """
    found: list[tuple[int, int]] = []
    for low, high in pairwise(grid):
        start = low
        while label(start) != label(high):
            a, b = start, high
            while b - a > 1:
                mid = (a + b) // 2
                if label(mid) == label(a):
                    a = mid
                else:
                    b = mid
            found.append((a, b))
            start = b
    return found


def _switches(
    question: str,
    label: Callable[[int], str],
    grid: Sequence[int],
    prober: Prober,
    main: MainLine,
    reps: Sequence[Route],
) -> list[Switch]:
    return [
        _switch(question, label(a), label(b), a, b, prober, main, reps)
        for a, b in find_switches(label, grid)
    ]


def _switch(
    question: str,
    below: str,
    above: str,
    a: int,
    b: int,
    prober: Prober,
    main: MainLine,
    reps: Sequence[Route],
) -> Switch:
    by_id = {r.id: r for r in reps}

    def usd(route_id: str, k: int) -> Decimal:
        route = by_id.get(route_id)
        return prober.result(route, k).usd_per_month if route else Decimal("0")

    return Switch(
        question=question,
        below=below,
        above=above,
        count_below=a,
        count_above=b,
        volume_below=main.volume(a),
        volume_above=main.volume(b),
        usd_below=(usd(below, a), usd(above, a)),
        usd_above=(usd(below, b), usd(above, b)),
    )
