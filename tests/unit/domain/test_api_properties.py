"""Properties of API task runs: one call for n tasks decides exactly what n calls of
one task decide, and what a naive per-task oracle decides (A03, A08, A09, A11)."""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.runs import queue_run
from ledger.domain.terms import TaskSpec
from ledger.domain.types import RefusalReason
from ledger.pricing.loader import load_price_book
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import DAY_US, HOUR_US, MINUTE_US, SECOND_US, at

BOOK: PriceBook = load_price_book()
START = at(2027, 1, 1)
INTERVALS = [0, 1, MINUTE_US, HOUR_US, 5 * HOUR_US, DAY_US // 3, DAY_US - 1, DAY_US, DAY_US + 1]


@dataclass(frozen=True)
class Batch:
    gap_us: int  # after the previous batch's last task
    interval_us: int
    count: int
    refunded: frozenset[int]  # A11: internal failures
    safety: frozenset[int]  # A11: safety failures, charged


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    count = draw(st.integers(0, 25))
    indices = (
        st.sets(st.integers(0, max(0, count - 1)), max_size=count // 2) if count else st.just(set())
    )
    return Batch(
        gap_us=draw(st.sampled_from([0, 1, MINUTE_US, HOUR_US, DAY_US, 2 * DAY_US])),
        interval_us=draw(st.sampled_from(INTERVALS)),
        count=count,
        refunded=frozenset(draw(indices)),
        safety=frozenset(draw(indices)),
    )


@dataclass(frozen=True)
class Case:
    credits: int
    cost: int
    daily: int
    concurrency: int
    processing_us: int
    runs: tuple[Batch, ...]

    def firsts(self) -> list[datetime]:
        out, t = [], START + timedelta(hours=1)
        for b in self.runs:
            t += timedelta(microseconds=b.gap_us)
            out.append(t)
            t += timedelta(microseconds=max(0, b.count - 1) * b.interval_us)
        return out


cases = st.builds(
    Case,
    # Round figures make tasks use up the balance exactly; odd ones leave a remainder.
    credits=st.one_of(st.sampled_from([1000, 1200, 2400, 3000]), st.integers(1000, 4999)),
    cost=st.one_of(st.sampled_from([100, 120, 200, 300, 400, 600]), st.integers(1, 700)),
    daily=st.integers(1, 8),
    concurrency=st.integers(1, 3),
    processing_us=st.sampled_from([0, 30 * SECOND_US, 90 * SECOND_US, 2 * HOUR_US]),
    runs=st.lists(batches(), min_size=1, max_size=3).map(tuple),
)


@dataclass(frozen=True)
class Outcome:
    balance: int
    charged: int
    refused: dict[RefusalReason, int]
    max_wait_us: int


def organization(case: Case) -> ApiOrganization:
    org = Ledger("memory", run="p").open_organization("o", START, BOOK)
    org.purchase_credits(START, case.credits)
    return org


def outcome(org: ApiOrganization) -> Outcome:
    charged = [e for e in org.pending_events if isinstance(e, ApiOrganization.TaskCharged)]
    refused: Counter[RefusalReason] = Counter()
    for e in org.pending_events:
        if isinstance(e, ApiOrganization.TaskRefused):
            refused[e.reason] += e.count
    return Outcome(
        balance=org.balance,
        charged=sum(e.count for e in charged),
        refused=dict(refused),
        max_wait_us=max((e.max_wait_us for e in charged), default=0),
    )


def as_one_call(case: Case) -> Outcome:
    org = organization(case)
    for b, first in zip(case.runs, case.firsts(), strict=True):
        org.submit_tasks(
            first,
            b.interval_us,
            b.count,
            TaskSpec("gen4.5", case.cost, case.processing_us),
            case.concurrency,
            case.daily,
            refunded=sorted(b.refunded),
            safety_failed=sorted(b.safety),
        )
    return outcome(org)


def one_at_a_time(case: Case) -> Outcome:
    org = organization(case)
    for b, first in zip(case.runs, case.firsts(), strict=True):
        for i in range(b.count):
            org.submit_tasks(
                first + timedelta(microseconds=i * b.interval_us),
                b.interval_us,
                1,
                TaskSpec("gen4.5", case.cost, case.processing_us),
                case.concurrency,
                case.daily,
                refunded=[0] if i in b.refunded else [],
                safety_failed=[0] if i in b.safety else [],
            )
    return outcome(org)


def naive(case: Case) -> Outcome:
    """The rules read literally, one task at a time, with no run arithmetic."""
    balance, charged, waits = case.credits, 0, [0]
    accepted: list[int] = []  # submission instants in the rolling window (A08)
    free_at = [0] * case.concurrency  # A09: when each slot is free again
    refused: Counter[RefusalReason] = Counter()
    for b, first in zip(case.runs, case.firsts(), strict=True):
        t0 = (first - START) // timedelta(microseconds=1)
        for i in range(b.count):
            t = t0 + i * b.interval_us
            if sum(1 for s in accepted if t - DAY_US < s <= t) >= case.daily:
                refused[RefusalReason.DAILY_LIMIT] += 1
            elif balance < case.cost:
                refused[RefusalReason.INSUFFICIENT_CREDITS] += 1
            else:
                charged += 1
                accepted.append(t)
                if i not in b.refunded:  # safety failures stay charged
                    balance -= case.cost
                slot = heapq.heappop(free_at)
                begin = max(t, slot)
                waits.append(begin - t)
                heapq.heappush(free_at, begin + case.processing_us)
    return Outcome(balance, charged, dict(refused), max(waits))


@settings(max_examples=200, derandomize=True, deadline=None)
@given(cases)
def test_a08_a_run_of_tasks_decides_as_one_task_at_a_time_and_as_a_naive_oracle(
    case: Case,
) -> None:
    whole = as_one_call(case)
    assert whole == one_at_a_time(case)
    assert whole == naive(case)


def naive_queue(slots: list[int], first: int, interval: int, count: int, processing: int):  # type: ignore[no-untyped-def]
    heap = list(slots)
    heapq.heapify(heap)
    worst, worst_at = 0, first
    for i in range(count):
        arrival = first + i * interval
        begin = max(arrival, heapq.heappop(heap))
        if begin - arrival > worst:
            worst, worst_at = begin - arrival, arrival
        heapq.heappush(heap, begin + processing)
    return (worst, worst_at), sorted(heap)


@st.composite
def queues(draw: st.DrawFn) -> tuple[list[int], int, int, int, int]:
    slots = draw(st.lists(st.integers(0, 500), min_size=1, max_size=5))
    interval = draw(st.integers(0, 100))
    # Processing right at the pace the slots keep (c x interval) and one either side.
    at_pace = len(slots) * interval + draw(st.integers(-1, 1))
    processing = draw(st.one_of(st.integers(0, 400), st.just(max(0, at_pace))))
    return slots, draw(st.integers(0, 500)), interval, draw(st.integers(0, 40)), processing


@settings(max_examples=200, derandomize=True, deadline=None)
@given(queues())
def test_a09_queue_waits_in_closed_form_equal_a_naive_per_task_heap(
    queue: tuple[list[int], int, int, int, int],
) -> None:
    slots, first, interval, count, processing = queue
    expected, expected_slots = naive_queue(slots, first, interval, count, processing)
    got_slots = list(slots)
    assert queue_run(got_slots, first, interval, count, processing) == expected
    assert sorted(got_slots) == expected_slots
