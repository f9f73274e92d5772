"""Properties of web generation runs with Auto Refill: one call for n generations
decides exactly what n calls of one decide, and what a naive oracle decides
(W08, W09, W14, W15)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain.terms import RefillSettings, TaskSpec
from ledger.domain.types import Plan, RefusalReason
from ledger.domain.web import WebWorkspace
from ledger.pricing.loader import load_price_book
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import DAY_US, HOUR_US, at

BOOK: PriceBook = load_price_book()
START = at(2027, 1, 20, 14, 30)  # late in the month: runs cross calendar months (W15)
INTERVALS = [0, 1, HOUR_US, DAY_US - 1, DAY_US, 3 * DAY_US, 11 * DAY_US]


@dataclass(frozen=True)
class Batch:
    gap_us: int
    interval_us: int
    count: int
    refunded: frozenset[int]  # W14: generations that end in an error


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    count = draw(st.integers(0, 30))
    refunded = draw(st.sets(st.integers(0, count - 1), max_size=count // 2)) if count else set()
    return Batch(
        gap_us=draw(st.sampled_from([0, 1, HOUR_US, 9 * DAY_US, 40 * DAY_US])),
        interval_us=draw(st.sampled_from(INTERVALS)),
        count=count,
        refunded=frozenset(refunded),
    )


@dataclass(frozen=True)
class Refill:
    trigger: int
    amount_usd: int
    monthly_max_usd: int

    def settings(self) -> RefillSettings:
        return RefillSettings(
            trigger=self.trigger, amount_usd=self.amount_usd, monthly_max_usd=self.monthly_max_usd
        )


refills = st.one_of(
    st.none(),
    st.builds(
        lambda trigger, amount, times: Refill(trigger, amount, amount * times),
        st.one_of(st.sampled_from([0, 25, 100, 125, 250, 500]), st.integers(0, 600)),
        st.sampled_from([10, 20]),
        st.integers(1, 3),
    ),
)


@dataclass(frozen=True)
class Case:
    plan: Plan
    purchased: int
    cost: int
    refill: Refill | None
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
    plan=st.sampled_from([Plan.STANDARD, Plan.PRO]),
    purchased=st.sampled_from([0, 1000, 2500]),
    # Round figures land balances exactly on the trigger and on zero; odd ones do not.
    cost=st.one_of(st.sampled_from([25, 125, 250, 375, 625, 1125]), st.integers(1, 1200)),
    refill=refills,
    runs=st.lists(batches(), min_size=1, max_size=3).map(tuple),
)


@dataclass(frozen=True)
class Outcome:
    plan_credits: int
    purchased: int
    charged: int
    refused: dict[RefusalReason, int]
    refills: list[datetime]


def workspace(case: Case) -> WebWorkspace:
    refill = case.refill.settings() if case.refill else None
    ws = Ledger("memory", run="p").open_workspace("w", START, BOOK, case.plan, refill=refill)
    if case.purchased:
        ws.purchase_credits(START, case.purchased)
    return ws


def outcome(ws: WebWorkspace) -> Outcome:
    refused: Counter[RefusalReason] = Counter()
    for e in ws.pending_events:
        if isinstance(e, WebWorkspace.GenerationRefused):
            refused[e.reason] += e.count
    return Outcome(
        plan_credits=ws.plan_credits,
        purchased=ws.purchased,
        charged=sum(
            e.count for e in ws.pending_events if isinstance(e, WebWorkspace.GenerationCharged)
        ),
        refused=dict(refused),
        refills=[
            e.timestamp
            for e in ws.pending_events
            if isinstance(e, WebWorkspace.CreditsPurchased) and e.refill
        ],
    )


def as_one_call(case: Case) -> Outcome:
    ws = workspace(case)
    for b, first in zip(case.runs, case.firsts(), strict=True):
        task = TaskSpec("gen4.5", case.cost)
        ws.generate(first, b.interval_us, b.count, task, refunded=sorted(b.refunded))
    return outcome(ws)


def one_at_a_time(case: Case) -> Outcome:
    ws = workspace(case)
    for b, first in zip(case.runs, case.firsts(), strict=True):
        for i in range(b.count):
            ws.generate(
                first + timedelta(microseconds=i * b.interval_us),
                b.interval_us,
                1,
                TaskSpec("gen4.5", case.cost),
                refunded=[0] if i in b.refunded else [],
            )
    return outcome(ws)


def naive(case: Case) -> Outcome:
    """The rules read literally, one generation at a time."""
    plan, purchased = BOOK.plan(case.plan).credits, case.purchased
    spent: Counter[tuple[int, int]] = Counter()  # W15: refill dollars per calendar month
    charged, fired = 0, []
    refused: Counter[RefusalReason] = Counter()
    for b, first in zip(case.runs, case.firsts(), strict=True):
        for i in range(b.count):
            t = first + timedelta(microseconds=i * b.interval_us)
            r = case.refill
            month = (t.year, t.month)
            if (
                r is not None
                and spent[month] + r.amount_usd <= r.monthly_max_usd
                and plan + purchased - case.cost <= r.trigger
            ):
                purchased += r.amount_usd * 100  # $10 per 1,000 credits
                spent[month] += r.amount_usd
                fired.append(t)
            if plan + purchased < case.cost:
                refused[RefusalReason.INSUFFICIENT_CREDITS] += 1
                continue
            charged += 1
            if i not in b.refunded:  # W14: an error gives it all back
                from_plan = min(plan, case.cost)  # W08: plan credits first
                plan, purchased = plan - from_plan, purchased - (case.cost - from_plan)
    return Outcome(plan, purchased, charged, dict(refused), fired)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(cases)
def test_w15_a_run_of_generations_decides_as_one_at_a_time_and_as_a_naive_oracle(
    case: Case,
) -> None:
    whole = as_one_call(case)
    assert whole == one_at_a_time(case)
    assert whole == naive(case)
