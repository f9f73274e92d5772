"""One forecast sample: a full deterministic replay in memory, folded into a small summary.

Sample ``k`` of a forecast with seed ``S`` replays the scenario with its own
seed ``sample_seed(S, k)``: that seed draws every uncertain count, seconds
and event (``scenarios.draws``) and every failure (the scenario's ``seed``),
so ``forecast --sample k`` rebuilds the same sample as an ordinary run
folder. The replay keeps its events in memory (no event store, no DuckDB)
and hands back only ``SampleSummary``: a few rows per account and month.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger.domain.api import ApiOrganization
from ledger.domain.types import RefusalReason, Surface
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from ledger.tools.decide.measure import MeasuringLedger, measure_events
from scenarios.draws import Draws
from scenarios.engine import ReplayOptions, replay
from scenarios.schema import Scenario
from scenarios.uncertain import derive_key

CONCURRENCY_WAIT = "concurrency_wait"  # a queue wait above the threshold (A09)
REASONS = (
    RefusalReason.INSUFFICIENT_CREDITS.value,
    RefusalReason.DAILY_LIMIT.value,
    RefusalReason.MONTHLY_CAP.value,
    CONCURRENCY_WAIT,
)


def sample_seed(seed: int, sample: int) -> int:
    """Sample ``sample``'s own seed, derived from the forecast's (63 bits, sha256)."""
    return derive_key("forecast", seed, sample) >> 1


@dataclass(frozen=True, slots=True)
class ForecastJob:
    """What every worker needs: shipped once, then only sample numbers travel."""

    scenario: Scenario
    book: PriceBook
    seed: int
    wait_threshold_s: int = 300


@dataclass(frozen=True, slots=True)
class MonthRow:
    account: str
    month: str  # 'YYYY-MM'
    usd: Decimal
    used: int  # charged less refunded (ledger.tools.decide.measure, the declared effects)
    forfeited: int
    refused: int


@dataclass(frozen=True, slots=True)
class AccountOutcome:
    account: str
    surface: str  # 'web' | 'api'
    periods: tuple[str, ...]  # web: the end of each billing period in the window (ISO)
    ran_out: tuple[str, ...]  # web: ends of the periods in which a generation lacked credits
    reasons: tuple[str, ...]  # api: of REASONS, those that happened at least once
    max_wait_s: int  # api: the longest concurrency queue wait (A09), whole seconds
    tiers: tuple[tuple[int, str], ...]  # api: (tier, instant first reached), above the opening


@dataclass(frozen=True, slots=True)
class SampleSummary:
    sample: int
    seed: int
    tasks: int
    events: int
    months: tuple[MonthRow, ...]
    accounts: tuple[AccountOutcome, ...]


def run_sample(job: ForecastJob, sample: int) -> SampleSummary:
    """Replay sample ``sample`` of ``job`` in memory and summarise it."""
    replayed = replay_sample(job, sample)
    try:
        return summarise(job, replayed)
    finally:
        replayed.ledger.close()


@dataclass(frozen=True, slots=True)
class ReplayedSample:
    """A sample's replay, its events kept as objects (the first half of ``run_sample``)."""

    sample: int
    seed: int
    scenario: Scenario
    ledger: MeasuringLedger
    tasks: int
    events: int


def replay_sample(job: ForecastJob, sample: int) -> ReplayedSample:
    """Replay sample ``sample`` of ``job`` into memory (no store); close its ledger after."""
    seed = sample_seed(job.seed, sample)
    scenario = job.scenario.model_copy(update={"seed": seed})
    ledger = MeasuringLedger(run="forecast")  # events stay objects: no store
    stats = replay(scenario, job.book, ledger, options=ReplayOptions(draws=Draws(seed)))
    return ReplayedSample(sample, seed, scenario, ledger, stats.tasks, stats.events)


def summarise(job: ForecastJob, replayed: ReplayedSample) -> SampleSummary:
    """Fold a replayed sample's events into its summary (the second half of ``run_sample``)."""
    scenario, ledger = replayed.scenario, replayed.ledger
    months: list[MonthRow] = []
    outcomes: list[AccountOutcome] = []
    accounts = [(w.id, Surface.WEB) for w in scenario.workspaces] + [
        (o.id, Surface.API) for o in scenario.organizations
    ]
    for name, surface in accounts:
        aggregate_id = (
            ledger.workspace_id(name) if surface is Surface.WEB else ledger.organization_id(name)
        )
        events = ledger.kept.get(aggregate_id, [])
        figures = measure_events(
            events, name, surface, scenario.start, scenario.end, month_ends=False
        )
        months += [
            MonthRow(name, m.month, m.usd, m.used, m.forfeited, m.refused) for m in figures.months
        ]
        if surface is Surface.WEB:
            periods, ran_out = _periods(figures.billing_dates, scenario.end, events)
            outcomes.append(AccountOutcome(name, "web", periods, ran_out, (), 0, ()))
        else:
            reasons = _api_reasons(events, job.wait_threshold_s)
            wait = max((e.max_wait_us for e in events if _is_charge(e)), default=0)
            tiers = tuple((tier, at.isoformat()) for at, tier in figures.tiers[1:])
            outcomes.append(AccountOutcome(name, "api", (), (), reasons, wait // 1_000_000, tiers))
    return SampleSummary(
        replayed.sample,
        replayed.seed,
        replayed.tasks,
        replayed.events,
        tuple(months),
        tuple(outcomes),
    )


def run_chunk(job: ForecastJob, samples: Sequence[int]) -> list[SampleSummary]:
    """Several samples in a row (one task of an executor)."""
    return [run_sample(job, k) for k in samples]


def _is_charge(event: Any) -> bool:
    return isinstance(event, ApiOrganization.TaskCharged)


def _periods(
    billing_dates: Sequence[datetime], end: datetime, events: Iterable[Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Each billing period's end, and those in which a generation was refused for credits."""
    ends = [*billing_dates[1:], end]
    short = sorted(
        e.first_at
        for e in events
        if isinstance(e, WebWorkspace.GenerationRefused)
        and e.reason is RefusalReason.INSUFFICIENT_CREDITS
    )
    ran_out = []
    cursor = 0
    for period_end in ends:
        hit = False
        while cursor < len(short) and short[cursor] < period_end:
            hit = True
            cursor += 1
        if hit:
            ran_out.append(period_end.isoformat())
    return tuple(e.isoformat() for e in ends), tuple(ran_out)


def _api_reasons(events: Iterable[Any], wait_threshold_s: int) -> tuple[str, ...]:
    found: set[str] = set()
    for e in events:
        if isinstance(e, ApiOrganization.TaskRefused):
            found.add(e.reason.value)
        elif isinstance(e, ApiOrganization.AutobillFailed | ApiOrganization.PurchaseRefused):
            if e.reason is RefusalReason.MONTHLY_CAP:
                found.add(RefusalReason.MONTHLY_CAP.value)
        elif isinstance(e, ApiOrganization.AutobillToppedUp) and e.capped:
            found.add(RefusalReason.MONTHLY_CAP.value)
        elif isinstance(e, ApiOrganization.TaskCharged) and e.max_wait_us > wait_threshold_s * (
            1_000_000
        ):
            found.add(CONCURRENCY_WAIT)
    return tuple(r for r in REASONS if r in found)


__all__ = [
    "REASONS",
    "AccountOutcome",
    "ForecastJob",
    "MonthRow",
    "SampleSummary",
    "run_chunk",
    "run_sample",
    "sample_seed",
]
