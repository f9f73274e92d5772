"""Figures of one replayed account, read from its events' declared effects.

``compare`` and ``diff`` both ask this module what an account paid, used,
lost and was refused. The credits and dollars come from each event's
declaration in ``ledger.domain.effects`` (the one the projection writes
``ledger_entries`` and ``usd_ledger`` from), so ``run``, SQL, ``compare`` and
``diff`` count the same way: *used* is charged less refunded. Each event is
also folded into the aggregate (``event.mutate``), so month-end balances are
the domain's own. A movement counts in the calendar month (UTC) of its own
instant (a run's movements are per UTC day slice).
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
from ledger.domain.effects import Effects, Figure, Held, effects_of, held_after
from ledger.domain.time import from_us, month_key
from ledger.domain.types import Bucket, RefusalReason, Surface
from ledger.domain.web import WebWorkspace

ZERO_USD = Decimal("0.00")


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
    charged: int = 0  # credits charged for tasks, refunded ones included
    refunded: int = 0  # credits given back for tasks that failed (W14, A11)
    used: int = 0  # charged - refunded: what the tasks kept
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
    charged: int = 0
    refunded: int = 0
    used: int = 0  # charged - refunded
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
    events: Iterable[Any],
    name: str,
    surface: Surface,
    start: datetime,
    end: datetime,
    *,
    month_ends: bool = True,
) -> AccountFigures:
    """``measure`` over events already in memory (a forecast sample keeps no store).

    ``month_ends=False`` leaves what only the account's state gives unread (each
    month's closing balance, plan credits, plan and tier, the final balance and
    ``opened``), which spares applying every event a second time; a forecast
    sample's summary needs none of them.
    """
    figures = AccountFigures(account=name, surface=surface)
    months = {key: MonthFigures(key) for key in window_months(start, end)}
    order = list(months)
    aggregate: Any = None
    held = Held()
    position = 0  # index in `order` of the month being filled

    def close_until(key: str) -> None:
        nonlocal position
        while position < len(order) and order[position] < key:
            _close(months[order[position]], aggregate)
            position += 1

    for event in events:
        key = month_key(event.timestamp)
        if month_ends:
            close_until(key)
            aggregate = event.mutate(aggregate)
        effects = effects_of(event, held)
        held = held_after(held, effects)
        if key not in months:  # outside the window (cannot happen in a replay; be safe)
            continue
        _count(figures, months, key, event, effects)
    if month_ends:
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


def _count(
    figures: AccountFigures,
    months: dict[str, MonthFigures],
    key: str,
    event: Any,
    effects: Effects,
) -> None:
    """Add one event's declared effects to the totals and to its months."""
    at: datetime = event.timestamp
    month = months[key]
    for paid in effects.paid:
        figures.usd_total += paid.usd
        month.usd += paid.usd
        if paid.credits is not None:  # a top-up: purchase, Auto Refill, autobill
            figures.top_ups += 1
            month.top_ups += 1
            figures.purchases.append((at, paid.credits, paid.usd))
    for m in effects.credits:
        # A run's movements are per UTC day slice: each counts in its own month.
        target = months.get(month_key(from_us(m.at_us))) if m.at_us is not None else month
        figure = m.move.figure
        amount = -m.delta if figure in (Figure.CHARGED, Figure.FORFEITED) else m.delta
        for where in (figures, target):
            if where is None:
                continue
            if figure is Figure.BOUGHT:
                where.bought += amount
            elif figure is Figure.CHARGED:
                where.charged += amount
                where.used += amount
            elif figure is Figure.REFUNDED:
                where.refunded += amount
                where.used -= amount
            elif figure is Figure.FORFEITED:
                where.forfeited += amount
    if effects.refused is not None:
        if effects.refused.tasks:
            figures.refused += effects.refused_count
            month.refused += effects.refused_count
            figures.refused_by[(event.reason, event.model)] += effects.refused_count
            # Runs of different usage lines decided in one batch overlap in time.
            if figures.first_refusal is None or event.first_at < figures.first_refusal.at:
                figures.first_refusal = Refusal(event.first_at, event.reason, event.model)
        else:
            figures.other_refusals += effects.refused_count
            month.other_refusals += effects.refused_count
    if isinstance(event, WebWorkspace.GenerationCharged):
        purchased_use = -sum(m.delta for m in effects.credits if m.bucket is Bucket.PURCHASED)
        if purchased_use:
            figures.purchased_use.append((event.first_at, purchased_use))
    _history(figures, event, at)


def _history(figures: AccountFigures, event: Any, at: datetime) -> None:
    if isinstance(event, WebWorkspace.PlanSubscribed):
        figures.plans.append((at, event.terms.plan.value))
        figures.billing_dates.append(at)
    elif isinstance(event, WebWorkspace.BillingDateReached):
        figures.billing_dates.append(at)
    elif isinstance(
        event, WebWorkspace.PlanUpgraded | WebWorkspace.PlanDowngraded | WebWorkspace.PlanEnded
    ):
        figures.plans.append((at, event.terms.plan.value))
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
