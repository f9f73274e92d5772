"""Figures of one replayed account, read from its events: the one place that counts.

``compare`` and ``diff`` both ask this module what an account paid, lost and
was refused; nobody else adds up events. Each event is folded into the
aggregate (``event.mutate``), so balances are the domain's own, and the
figures are attributed to the calendar month (UTC) of the event. A grouped
run of tasks never spans two days (an occurrence lies within its day), so a
run's month is its timestamp's month.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from dateutil.relativedelta import relativedelta

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.runs import count_paying
from ledger.domain.time import month_key
from ledger.domain.types import Plan, RefusalReason, Surface
from ledger.domain.web import WebWorkspace

ZERO_USD = Decimal("0.00")

# Events that carry a dollar amount paid (or credited back, negative).
_WEB_USD = (
    WebWorkspace.PlanSubscribed,
    WebWorkspace.BillingDateReached,
    WebWorkspace.PlanUpgraded,
    WebWorkspace.EditorAdded,
    WebWorkspace.CreditsPurchased,
)  # W04: an EditorRemoved moves no money; its credit is netted in BillingDateReached.usd
_API_USD = (ApiOrganization.CreditsPurchased, ApiOrganization.AutobillToppedUp)
_TOP_UPS = (
    WebWorkspace.CreditsPurchased,
    ApiOrganization.CreditsPurchased,
    ApiOrganization.AutobillToppedUp,
)
_TASK_REFUSALS = (WebWorkspace.GenerationRefused, ApiOrganization.TaskRefused)
_OTHER_REFUSALS = (
    WebWorkspace.PlanChangeRefused,
    WebWorkspace.EditorRefused,
    WebWorkspace.PurchaseRefused,
    ApiOrganization.PurchaseRefused,
    ApiOrganization.MemberRefused,
    ApiOrganization.KeyRefused,
)


@dataclass(slots=True)
class MonthFigures:
    """One calendar month of one account; balances are those at the month's end."""

    month: str  # 'YYYY-MM'
    balance: int = 0
    plan: int | None = None  # web
    purchased: int | None = None  # web
    tier: int | None = None  # api
    plan_name: str | None = None  # web
    usd: Decimal = ZERO_USD
    forfeited: int = 0
    top_ups: int = 0
    bought: int = 0  # credits bought (purchases, Auto Refill, autobill)
    used: int = 0  # credits kept by charged tasks (refunds already given back)
    refused: int = 0  # tasks and generations refused
    other_refusals: int = 0  # refused purchases, editors, plan changes, keys ...


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first refused task of an account: when, why, which model."""

    at: datetime
    reason: RefusalReason
    model: str


@dataclass(slots=True)
class AccountFigures:
    """What one account paid, used, lost and was refused over the window."""

    account: str
    surface: Surface
    opened: bool = False
    usd_total: Decimal = ZERO_USD
    forfeited: int = 0
    top_ups: int = 0
    bought: int = 0
    used: int = 0
    refused: int = 0
    other_refusals: int = 0
    final_balance: int = 0
    refused_by: Counter[tuple[RefusalReason, str]] = field(default_factory=Counter)
    first_refusal: Refusal | None = None
    months: list[MonthFigures] = field(default_factory=list)
    tiers: list[tuple[datetime, int]] = field(default_factory=list)  # api: (when, tier reached)
    plans: list[tuple[datetime, str]] = field(default_factory=list)  # web: (since, plan)
    purchases: list[tuple[datetime, int, Decimal]] = field(default_factory=list)  # (at, cr, $)
    billing_dates: list[datetime] = field(default_factory=list)  # web: subscribe + each date
    purchased_use: list[tuple[datetime, int]] = field(default_factory=list)  # web: (run, cr)
    capped_autobills: int = 0  # api, A07: recharges cut to what the 30-day cap left
    cap_failures: int = 0  # api, A07: recharges that could not happen at all
    peak_window_usd: Decimal = ZERO_USD  # api, A07: most bought in any 30 days

    def month(self, key: str) -> MonthFigures | None:
        for m in self.months:
            if m.month == key:
                return m
        return None

    @property
    def refused_reasons(self) -> set[RefusalReason]:
        return {reason for reason, _ in self.refused_by}


def window_months(start: datetime, end: datetime) -> list[str]:
    """The calendar months (UTC) the window [start, end) touches, in order."""
    keys = []
    cursor = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while cursor < end:
        keys.append(month_key(cursor))
        cursor += relativedelta(months=1)
    return keys


class MeasuringLedger(Ledger):
    """A ledger for replays that are only measured: events stay objects in memory.

    compare and its break-even probes replay a workload dozens of times and
    only fold each replay's events into figures; encoding every event for a
    store and decoding it again was a third of their time.
    """

    def __init__(self, run: str = "compare") -> None:
        super().__init__("memory", run=run)
        self.kept: dict[UUID, list[Any]] = {}

    def flush(self) -> int:
        count = 0
        for aggregate in self._working.values():
            if aggregate.pending_events:
                events = aggregate.collect_events()
                self.kept.setdefault(aggregate.id, []).extend(events)
                count += len(events)
        return count


def account_events(ledger: Ledger, name: str, surface: Surface) -> Iterator[Any]:
    aggregate_id = (
        ledger.workspace_id(name) if surface is Surface.WEB else ledger.organization_id(name)
    )
    if isinstance(ledger, MeasuringLedger):
        yield from ledger.kept.get(aggregate_id, [])
        return
    yield from ledger.events.get(aggregate_id)


def measure(
    ledger: Ledger, name: str, surface: Surface, start: datetime, end: datetime
) -> AccountFigures:
    """Fold one account's events into its figures, month by month over [start, end)."""
    return measure_events(account_events(ledger, name, surface), name, surface, start, end)


def measure_events(
    events: Iterable[Any], name: str, surface: Surface, start: datetime, end: datetime
) -> AccountFigures:
    """``measure`` over events already in memory (a forecast sample keeps no store)."""
    figures = AccountFigures(account=name, surface=surface)
    months = {key: MonthFigures(key) for key in window_months(start, end)}
    order = list(months)
    aggregate: Any = None
    position = 0  # index in `order` of the month being filled

    def close_until(key: str) -> None:
        nonlocal position
        while position < len(order) and order[position] < key:
            _close(months[order[position]], aggregate)
            position += 1

    for event in events:
        key = month_key(event.timestamp)
        close_until(key)
        aggregate = event.mutate(aggregate)
        month = months.get(key)
        if month is None:  # outside the window (cannot happen in a replay; be safe)
            continue
        _count(figures, month, event)
    close_until("9999-99")
    figures.opened = aggregate is not None
    if aggregate is not None:
        figures.final_balance = int(aggregate.balance)
    figures.months = [months[k] for k in order]
    return figures


def _close(month: MonthFigures, aggregate: Any) -> None:
    if isinstance(aggregate, WebWorkspace):
        month.plan = aggregate.plan_credits
        month.purchased = aggregate.purchased
        month.balance = aggregate.balance
        month.plan_name = aggregate.plan.value
    elif isinstance(aggregate, ApiOrganization):
        month.balance = aggregate.balance
        month.tier = aggregate.tier


def _count(figures: AccountFigures, month: MonthFigures, event: Any) -> None:
    at: datetime = event.timestamp
    if isinstance(event, _WEB_USD + _API_USD):
        usd = Decimal(event.usd)
        figures.usd_total += usd
        month.usd += usd
    if isinstance(event, _TOP_UPS):
        figures.top_ups += 1
        figures.bought += event.credits
        figures.purchases.append((at, int(event.credits), Decimal(event.usd)))
        month.top_ups += 1
        month.bought += event.credits
    if isinstance(event, WebWorkspace.CreditsForfeited):
        figures.forfeited += event.amount
        month.forfeited += event.amount
    if isinstance(event, WebWorkspace.GenerationCharged):
        used = event.plan_part + event.purchased_part
        figures.used += used
        month.used += used
        if event.purchased_part:
            figures.purchased_use.append((event.first_at, int(event.purchased_part)))
    elif isinstance(event, ApiOrganization.TaskCharged):
        used = count_paying(event.count, event.refunded, 0, event.count) * event.credits_each
        figures.used += used
        month.used += used
    elif isinstance(event, _TASK_REFUSALS):
        figures.refused += event.count
        month.refused += event.count
        figures.refused_by[(event.reason, event.model)] += event.count
        # Runs of different usage lines decided in one batch overlap in time.
        if figures.first_refusal is None or event.first_at < figures.first_refusal.at:
            figures.first_refusal = Refusal(event.first_at, event.reason, event.model)
    elif isinstance(event, _OTHER_REFUSALS):
        figures.other_refusals += 1
        month.other_refusals += 1
    _history(figures, event, at)


def _history(figures: AccountFigures, event: Any, at: datetime) -> None:
    if isinstance(event, WebWorkspace.PlanSubscribed):
        figures.plans.append((at, Plan(event.terms["plan"]).value))
        figures.billing_dates.append(at)
    elif isinstance(event, WebWorkspace.BillingDateReached):
        figures.billing_dates.append(at)
    elif isinstance(
        event, WebWorkspace.PlanUpgraded | WebWorkspace.PlanDowngraded | WebWorkspace.PlanEnded
    ):
        figures.plans.append((at, Plan(event.terms["plan"]).value))
    elif isinstance(event, ApiOrganization.Opened):
        figures.tiers.append((at, int(event.tier)))
    elif isinstance(event, ApiOrganization.TierRaised):
        figures.tiers.append((at, int(event.to_tier)))
    elif isinstance(event, ApiOrganization.AutobillToppedUp | ApiOrganization.CreditsPurchased):
        if isinstance(event, ApiOrganization.AutobillToppedUp) and event.capped:
            figures.capped_autobills += 1
        figures.peak_window_usd = max(figures.peak_window_usd, Decimal(event.window_spend_usd))
    elif (
        isinstance(event, ApiOrganization.AutobillFailed)
        and event.reason is RefusalReason.MONTHLY_CAP
    ):
        figures.cap_failures += 1
