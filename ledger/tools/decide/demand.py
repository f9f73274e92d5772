"""A workload's demand, read from its schedule alone: no ledger, no rules.

What the replay will be asked for before any rule says yes or no: gross
credits between two hourly autobill checks (A04), tasks per model in a
rolling 24 h (A08), credits in all. ``compare`` uses these to pick the first
setting it tries (a replay then proves or disproves it) and to size its
measuring run; ``breakeven`` uses the task counts to express volume.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ledger.domain.runs import tasks_before, window_count
from ledger.domain.time import DAY_US, HOUR_US, to_us
from ledger.domain.types import Surface
from ledger.pricing.models import PriceBook
from scenarios.schedule import usage_occurrences
from scenarios.schema import UsageLine

_ONE_US = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Demand:
    """Gross demand of usage lines on one surface (every task at full price)."""

    total_credits: int
    peak_hour_credits: int  # most credits asked between two hh:00 instants
    max_task_credits: int  # the dearest single task
    peak_day_tasks: dict[str, int] = field(default_factory=dict)  # model -> most in 24 h
    tasks_by_line: dict[int, int] = field(default_factory=dict)  # line index -> tasks


def demand(
    lines: Sequence[UsageLine],
    surface: Surface,
    book: PriceBook,
    start: datetime,
    end: datetime,
) -> Demand:
    """Walk the occurrences of ``lines`` in [start, end) and add up what they ask."""
    costs = [book.model(surface, line.model).cost(line.task_usage()) for line in lines]
    hours: dict[int, int] = defaultdict(int)
    tasks_by_line: dict[int, int] = defaultdict(int)
    runs_by_model: dict[str, list[list[int]]] = defaultdict(list)
    peak_day: dict[str, int] = defaultdict(int)
    total = 0
    for occurrence, index, line in usage_occurrences(lines, start, end, not_before=start):
        first = to_us(occurrence.first_at)
        interval = occurrence.interval // _ONE_US
        count = occurrence.count
        cost = costs[index]
        total += cost * count
        tasks_by_line[index] += count
        last = first + (count - 1) * interval
        hour = first // HOUR_US
        while hour * HOUR_US <= last:
            lo, hi = hour * HOUR_US, (hour + 1) * HOUR_US
            n = tasks_before(first, interval, count, hi) - tasks_before(first, interval, count, lo)
            hours[hour] += n * cost
            hour += 1
        # A08: the rolling 24 h count, taken at the end of each run; runs that
        # left the window are dropped so the list stays a day long.
        runs = runs_by_model[line.model]
        runs[:] = [r for r in runs if r[0] + (r[2] - 1) * r[1] > last - DAY_US]
        runs.append([first, interval, count])
        peak_day[line.model] = max(peak_day[line.model], window_count(runs, last))
    return Demand(
        total_credits=total,
        peak_hour_credits=max(hours.values(), default=0),
        max_task_credits=max(costs, default=0),
        peak_day_tasks=dict(peak_day),
        tasks_by_line=dict(tasks_by_line),
    )
