"""Arithmetic of task runs: evenly spaced identical tasks as one unit.

A run is ``count`` tasks at ``first + i * interval`` (integer microseconds).
These functions answer, exactly and without a per-task loop where it can be
avoided, what per-task processing would give: how many tasks fit before the
credits run out, how many generations sit in a rolling 24 h window (A08),
and how long tasks wait for a concurrency slot (A09).
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ledger.domain.terms import TaskSpec
from ledger.domain.time import DAY_US
from ledger.domain.types import GenerationMode


@dataclass(slots=True)
class Lane:
    """One usage line's share of a batch: ``count`` tasks at ``first + i * interval``.

    A batch is several lanes over one stretch of an account's time in which
    nothing else of the account is due; their tasks interleave. ``refunded``
    and ``safety`` are sorted task indices (A11/W14); ``order`` breaks ties
    between lanes at one instant (S04: scenario order). ``mode`` is for the
    web, ``key``, ``concurrency`` and ``daily_limit`` for the API.
    """

    task: TaskSpec
    first: int
    interval: int
    count: int
    refunded: list[int] = field(default_factory=list)
    safety: list[int] = field(default_factory=list)
    order: int = 0
    mode: GenerationMode = GenerationMode.CREDITS
    key: str | None = None
    concurrency: int = 0
    daily_limit: int = 0

    def at(self, i: int) -> int:
        return self.first + i * self.interval

    @property
    def last(self) -> int:
        return self.first + (self.count - 1) * self.interval

    def upto(self, t: int) -> int:
        """Index of the first task after instant ``t`` (tasks at or before it)."""
        return tasks_at_or_before(self.first, self.interval, self.count, t)

    def run_before(self, i: int, others: Sequence[Lane], pos: Sequence[int | None]) -> int:
        """How many of this lane's tasks from index ``i`` come before the next task
        of every other lane (``pos[k]`` is lane k's next index, None when done)."""
        stop = self.count
        for lane, p in zip(others, pos, strict=True):
            if lane is self or p is None or p >= lane.count:
                continue
            stop = min(stop, self.before(lane.at(p), lane.order))
        return max(0, stop - i)

    def before(self, t: int, order: int) -> int:
        """Tasks that come before a task of lane ``order`` at instant ``t`` (S04 ties)."""
        if self.order < order:
            return self.upto(t)
        return tasks_before(self.first, self.interval, self.count, t)

    def before_instant(self, t: int) -> int:
        """Tasks strictly before instant ``t``."""
        return tasks_before(self.first, self.interval, self.count, t)

    def part(self, start: int, stop: int) -> Lane:
        """Tasks ``start`` to ``stop`` (exclusive) as a lane of their own."""
        stop = max(start, min(stop, self.count))
        return Lane(
            task=self.task,
            first=self.at(start),
            interval=self.interval,
            count=stop - start,
            refunded=slice_indices(self.refunded, start, stop),
            safety=slice_indices(self.safety, start, stop),
            order=self.order,
            mode=self.mode,
            key=self.key,
            concurrency=self.concurrency,
            daily_limit=self.daily_limit,
        )

    def head(self, n: int) -> Lane:
        """The first ``n`` tasks."""
        return self if n >= self.count else self.part(0, n)

    def tail(self, n: int) -> Lane:
        """The tasks after the first ``n``."""
        return self if n <= 0 else self.part(n, self.count)


def next_midnight(t: int) -> int:
    return (t // DAY_US + 1) * DAY_US


def split_lane(lane: Lane, boundary: Callable[[int], int] = next_midnight) -> list[Lane]:
    """A lane cut at the instants ``boundary`` gives (the next UTC midnight by default)."""
    out: list[Lane] = []
    start = 0
    while start < lane.count:
        t = lane.at(start)
        midnight = boundary(t)
        stop = start + tasks_before(t, lane.interval, lane.count - start, midnight)
        stop = max(stop, start + 1)
        out.append(lane.part(start, stop))
        start = stop
    return out


def largest_true(lo: int, hi: int, ok: Callable[[int], bool]) -> int:
    """The largest x in [lo, hi] with ``ok(x)``, for a predicate true up to some
    point and false after it; ``lo - 1`` when it is false at ``lo``."""
    if ok(hi):
        return hi
    if not ok(lo):
        return lo - 1
    # ok(lo) and not ok(hi): bisect between them.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid
    return lo


def task_time(first: int, interval: int, i: int) -> int:
    return first + i * interval


def tasks_at_or_before(first: int, interval: int, count: int, t: int) -> int:
    """How many tasks of a run have happened by instant ``t`` (inclusive)."""
    if t < first:
        return 0
    if interval == 0:
        return count
    return min(count, (t - first) // interval + 1)


def tasks_before(first: int, interval: int, count: int, t: int) -> int:
    """How many tasks of a run happen strictly before ``t``."""
    if t <= first:
        return 0
    if interval == 0:
        return count
    return min(count, (t - first - 1) // interval + 1)


def affordable(
    balance: int, cost: int, floor: int, count: int, free_indices: Sequence[int], start: int
) -> int:
    """How many tasks from index ``start`` go through before a check fails.

    A task goes through while ``balance_before - cost > floor`` (floor is -1
    for "enough credits", or an auto-refill trigger, W15). Tasks whose index is
    in ``free_indices`` (sorted; refunded at the same instant, A11/W14) pass the
    same check but leave the balance unchanged. Returns a number in [0, count-start].
    """
    remaining = count - start
    if cost == 0:
        return remaining if balance > floor else 0
    if balance - cost <= floor:
        return 0
    # m paying tasks may go before a task while balance - m*cost - cost > floor.
    max_paying_before = (balance - cost - floor - 1) // cost
    # The task after (max_paying_before + 1) paying tasks is the first to fail.
    lo = bisect_right(free_indices, start - 1)
    free_after = free_indices[lo:]
    paying_allowed = max_paying_before + 1
    # Walk free indices (few) to find the index of the paying_allowed-th paying task.
    idx = start
    paid = 0
    for f in free_after:
        gap = f - idx  # paying tasks between idx and the free task f
        if paid + gap >= paying_allowed:
            break
        paid += gap
        idx = f + 1
        if idx >= count:
            return remaining
    end = idx + (paying_allowed - paid)  # exclusive: index after the last task that passes
    return min(count, end) - start


def count_paying(count: int, free_indices: Sequence[int], start: int, stop: int) -> int:
    """Tasks in [start, stop) that are not in ``free_indices``."""
    if not free_indices:
        return stop - start
    lo = bisect_right(free_indices, start - 1)
    hi = bisect_right(free_indices, stop - 1)
    return (stop - start) - (hi - lo)


def slice_indices(indices: Sequence[int], start: int, stop: int) -> list[int]:
    """The indices in [start, stop), renumbered from ``start``."""
    if not indices:
        return []
    lo = bisect_right(indices, start - 1)
    hi = bisect_right(indices, stop - 1)
    return [i - start for i in indices[lo:hi]]


# A08: rolling 24 h windows. A window is a list of accepted runs
# [first, interval, count]; a generation at s is inside the window at t when
# t - 24h < s <= t.


def window_count(runs: Sequence[Sequence[int]], t: int) -> int:
    horizon = t - DAY_US
    total = 0
    for first, interval, count in runs:
        total += count - tasks_at_or_before(first, interval, count, horizon)
    return total


def window_count_until(runs: Sequence[Sequence[int]], t: int) -> int:
    """Generations in (t - 24h, t]: like ``window_count``, ignoring later ones."""
    horizon = t - DAY_US
    total = 0
    for first, interval, count in runs:
        total += tasks_at_or_before(first, interval, count, t) - tasks_at_or_before(
            first, interval, count, horizon
        )
    return total


def window_room_at(runs: Sequence[Sequence[int]], t: int, limit: int) -> int:
    """The first instant >= t at which the window holds fewer than ``limit``,
    when nothing joins the window after ``t``.

    Runs may overlap in time (several usage lines of one model), so the
    generation whose departure makes room is found by counting, not by
    walking the runs in order.
    """
    horizon = t - DAY_US
    excess = window_count_until(runs, t) - limit  # this many + 1 must leave the window
    if excess < 0:
        return t
    # The (excess)-th (0-based) generation after the horizon, in time order:
    # the smallest s with more than `excess` generations in (horizon, s].
    lo, hi = horizon + 1, t
    while lo < hi:
        mid = (lo + hi) // 2
        inside = 0
        for first, interval, count in runs:
            inside += tasks_at_or_before(first, interval, count, mid) - tasks_at_or_before(
                first, interval, count, horizon
            )
        if inside > excess:
            hi = mid
        else:
            lo = mid + 1
    return lo + DAY_US


def add_to_window(runs: list[list[int]], first: int, interval: int, count: int) -> None:
    """Append accepted generations, extending the last run when they continue it.

    Only the instants matter to the window, so tasks that carry on the last
    run's spacing join it: one task at a time (per-task mode) keeps the window
    as short as whole runs do.
    """
    if runs:
        last = runs[-1]
        f0, d0, c0 = last
        if c0 == 1 and count >= 1 and first > f0 and (count == 1 or interval == first - f0):
            last[1], last[2] = first - f0, 1 + count
            return
        if c0 > 1 and d0 > 0 and first == f0 + c0 * d0 and (count == 1 or interval == d0):
            last[2] = c0 + count
            return
    runs.append([first, interval, count])


def prune_window(runs: list[list[int]], t: int) -> None:
    """Drop runs whose every generation left the window at t (in place)."""
    horizon = t - DAY_US
    keep = [r for r in runs if r[0] + (r[2] - 1) * r[1] > horizon]
    runs[:] = keep


# A09: concurrency. ``slots`` holds, per slot, the instant it is free again.


def queue_run(
    slots: list[int], first: int, interval: int, count: int, processing: int
) -> tuple[int, int]:
    """Queue a run in submission order (FIFO) on the slots; update them in place.

    Returns (max wait, arrival of the task that waited longest) in
    microseconds. Where the j-th earliest slot is free by the j-th arrival and
    the slots keep pace (processing <= len(slots) * interval), nobody waits and
    the answer is closed-form; otherwise each task takes the earliest free
    slot, exactly as per-task processing does.
    """
    c = len(slots)
    if count == 0 or c == 0:
        return 0, first
    slots.sort()
    head = min(c, count)
    if (count <= c or processing <= c * interval) and (
        slots[head - 1] <= first  # sorted: every slot is free by the first arrival
        or all(slots[j] <= first + j * interval for j in range(head))
    ):
        # Nobody waits: at each arrival at most c-1 slots are busy. Each task
        # pops the smallest free time, which is never above what is pushed
        # later, so the slots end as the c largest of the old free times and
        # the new finish times (only the last c finish times can be among them).
        pushed = [first + (count - head + j) * interval + processing for j in range(head)]
        merged = sorted(slots + pushed)
        slots[:] = merged[-c:]
        return 0, first
    heapq.heapify(slots)
    worst, worst_at = 0, first
    for i in range(count):
        arrival = first + i * interval
        free = heapq.heappop(slots)
        start = max(arrival, free)
        wait = start - arrival
        if wait > worst:
            worst, worst_at = wait, arrival
        heapq.heappush(slots, start + processing)
    return worst, worst_at
