"""Whole-run invariants: check functions that return error values.

Each check reads one account's stored events in version order, folded into
``Step`` values (the event with the account's holdings just before and just
after it), and returns ``InvariantError`` values instead of raising, so one
call reports every broken invariant of a run (style.md: beancount's
``ops/validation.py``). They hold for any scenario; the property tests in
``tests/property`` replay hypothesis-generated scenarios through them, and a
user can run them on their own runs::

    errors = check_ledger(ledger, ["studio", "backend"])
    assert not errors, "\\n".join(map(str, errors))

The credit figures each check recomputes come from the events' own fields,
independently of the aggregates' ``apply`` methods, so a fold that drifts
from what the events say is caught.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.effects import (
    Effects,
    EffectsError,
    Figure,
    Held,
    Move,
    Movement,
    effects_of,
)
from ledger.domain.runs import tasks_before
from ledger.domain.time import DAYS_30_US, HOUR_US, to_us, utc
from ledger.domain.types import Bucket
from ledger.domain.web import WebWorkspace

Web = WebWorkspace
Api = ApiOrganization


@dataclass(frozen=True, slots=True)
class InvariantError:
    """One broken invariant, at one event of one account."""

    invariant: str
    account: str
    at: datetime | None
    version: int | None
    message: str

    def __str__(self) -> str:
        where = self.account
        if self.version is not None:
            where += f" v{self.version}"
        if self.at is not None:
            where += f" {utc(self.at).isoformat()}"
        return f"{where}: {self.invariant}: {self.message}"


@dataclass(frozen=True, slots=True)
class Holdings:
    """What an account holds between two events."""

    plan: int = 0  # web
    purchased: int = 0  # web
    balance: int = 0  # web: plan + purchased; api: credits
    tier: int | None = None  # api

    @classmethod
    def of(cls, aggregate: Any) -> Holdings:
        if isinstance(aggregate, WebWorkspace):
            plan, purchased = aggregate.plan_credits, aggregate.purchased
            return cls(plan=plan, purchased=purchased, balance=plan + purchased)
        if isinstance(aggregate, ApiOrganization):
            return cls(balance=aggregate.balance, tier=aggregate.tier)
        return cls()


@dataclass(frozen=True, slots=True)
class Step:
    """An event and the account's holdings just before and just after it."""

    event: Any
    before: Holdings
    after: Holdings

    @property
    def name(self) -> str:
        return type(self.event).__name__

    @property
    def at(self) -> datetime:
        return utc(self.event.timestamp)

    @property
    def version(self) -> int:
        return int(self.event.originator_version)


def fold(events: Iterable[Any]) -> list[Step]:
    """S05: replay an account's events one by one, keeping the holdings around each."""
    steps: list[Step] = []
    aggregate: Any = None
    before = Holdings()
    for event in events:
        aggregate = event.mutate(aggregate)
        after = Holdings.of(aggregate)
        steps.append(Step(event, before, after))
        before = after
    return steps


Check = Callable[[str, Sequence[Step]], list[InvariantError]]


def _error(invariant: str, account: str, step: Step | None, message: str) -> InvariantError:
    if step is None:
        return InvariantError(invariant, account, None, None, message)
    return InvariantError(invariant, account, step.at, step.version, message)


def _is_web(steps: Sequence[Step]) -> bool:
    return bool(steps) and isinstance(steps[0].event, Web.PlanSubscribed)


# ------------------------------------------------------------------ the checks


def no_negative_bucket(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """W09, A03: no bucket is ever below zero after an event."""
    errors = []
    web = _is_web(steps)
    for step in steps:
        held = step.after
        buckets = {"plan": held.plan, "purchased": held.purchased} if web else {}
        buckets["balance"] = held.balance
        for bucket, value in buckets.items():
            if value < 0:
                errors.append(
                    _error(
                        "no_negative_bucket",
                        account,
                        step,
                        f"{bucket} is {value:,} after {step.name}",
                    )
                )
    return errors


@dataclass
class _Tally:
    """One bucket's credits by what moved them, from the events' declared effects."""

    granted: int = 0
    bought: int = 0
    refunded: int = 0
    charged: int = 0  # refunded tasks included
    forfeited: int = 0

    @property
    def balance(self) -> int:
        return self.granted + self.bought + self.refunded - self.charged - self.forfeited

    def add(self, movement: Movement) -> None:
        figure = movement.move.figure
        if figure is Figure.GRANTED:
            self.granted += movement.delta
        elif figure is Figure.BOUGHT:
            self.bought += movement.delta
        elif figure is Figure.REFUNDED:
            self.refunded += movement.delta
        elif figure is Figure.CHARGED:
            self.charged -= movement.delta
        else:
            self.forfeited -= movement.delta

    def __str__(self) -> str:
        return (
            f"granted {self.granted:,} + bought {self.bought:,} + refunded {self.refunded:,}"
            f" - charged {self.charged:,} - forfeited {self.forfeited:,} = {self.balance:,}"
        )


def credits_conserved(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """S02, W06-W08, W14, A11: per bucket, granted + bought + refunded - charged -
    forfeited equals the balance the fold holds, after every event.

    The movements are each event's declared effects (``ledger.domain.effects``),
    computed from the tallies' own balances, not the fold's, so a fold that
    drifts from what the events say is caught. A run's ``plan_part`` /
    ``purchased_part`` are what it kept, net of its refunds (W14); its gross
    charge less its refunds must equal that net.
    """
    errors: list[InvariantError] = []
    web = _is_web(steps)
    tallies = {bucket: _Tally() for bucket in Bucket}
    for step in steps:
        e = step.event
        held = Held(
            tallies[Bucket.PLAN].balance,
            tallies[Bucket.PURCHASED].balance,
            tallies[Bucket.CREDITS].balance,
        )
        if isinstance(e, Web.GenerationCharged):
            gross = int(e.count) * int(e.credits_each)
            refund = len(e.refunded) * int(e.credits_each)
            net = int(e.plan_part) + int(e.purchased_part)
            if net != gross - refund:
                errors.append(
                    _error(
                        "credits_conserved",
                        account,
                        step,
                        f"{step.name} keeps {net:,} (plan {e.plan_part:,} + purchased "
                        f"{e.purchased_part:,}) but charges {gross:,} and refunds {refund:,}",
                    )
                )
        try:
            effects = effects_of(e, held)
        except EffectsError:
            # A split that is not plan-first (W08) against these balances: conservation
            # counts what the run says each bucket kept (a negative bucket, or the check
            # above, reports the rest), so one bad event is reported once.
            effects = Effects(
                credits=(
                    Movement(Bucket.PLAN, Move.USAGE, -int(e.plan_part)),
                    Movement(Bucket.PURCHASED, Move.USAGE, -int(e.purchased_part)),
                )
            )
        for movement in effects.credits:
            tallies[movement.bucket].add(movement)
        buckets = (
            {
                "plan": (Bucket.PLAN, step.after.plan),
                "purchased": (Bucket.PURCHASED, step.after.purchased),
            }
            if web
            else {"credits": (Bucket.CREDITS, step.after.balance)}
        )
        for name, (bucket, held_after_step) in buckets.items():
            tally = tallies[bucket]
            if tally.balance != held_after_step:
                errors.append(
                    _error(
                        "credits_conserved",
                        account,
                        step,
                        f"{name}: {tally}, but the account holds {held_after_step:,} after "
                        f"{step.name}",
                    )
                )
                tally.granted += held_after_step - tally.balance  # report a drift once
    return errors


def purchased_only_spent_by_usage(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """W07, W08: purchased web credits never expire: they only go down by usage."""
    if not _is_web(steps):
        return []
    errors = []
    for step in steps:
        drop = step.before.purchased - step.after.purchased
        if drop <= 0:
            continue
        e = step.event
        if not isinstance(e, Web.GenerationCharged):
            message = f"{step.name} took {drop:,} purchased credits"
        elif drop != e.purchased_part:
            message = (
                f"{step.name} took {drop:,} purchased credits, "
                f"its purchased_part is {e.purchased_part:,}"
            )
        else:
            continue
        errors.append(_error("purchased_only_spent_by_usage", account, step, message))
    return errors


def refresh_sets_not_adds(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """W06, W16: a refresh forfeits the remainder first, then sets the bucket to the
    allowance; nothing is added to what was left."""
    errors = []
    for step in steps:
        e = step.event
        if not isinstance(e, Web.PlanCreditsRefreshed):
            continue
        if step.before.plan != 0:
            errors.append(
                _error(
                    "refresh_sets_not_adds",
                    account,
                    step,
                    f"{step.before.plan:,} plan credits were still there at the refresh "
                    "(they should have been forfeited first)",
                )
            )
        if step.after.plan != e.allowance:
            errors.append(
                _error(
                    "refresh_sets_not_adds",
                    account,
                    step,
                    f"the refresh left {step.after.plan:,} plan credits, not the allowance "
                    f"{e.allowance:,}",
                )
            )
    return errors


def one_grant_per_billing_date(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """W05, W06: each billing date is passed once, in order, and grants at most once."""
    errors = []
    grants: Counter[datetime] = Counter()
    last_period = 0
    period_at: dict[int, datetime] = {}
    for step in steps:
        e = step.event
        if isinstance(e, Web.PlanSubscribed) and e.credits > 0:
            grants[step.at] += 1
        elif isinstance(e, Web.PlanCreditsRefreshed):
            grants[step.at] += 1
            billed = period_at.get(e.period)
            # W05 policy plan_refresh: after_24h sets the bucket 24 h after the billing date.
            if billed is None or step.at not in (billed, billed + timedelta(hours=24)):
                errors.append(
                    _error(
                        "one_grant_per_billing_date",
                        account,
                        step,
                        f"refresh of period {e.period} without its billing date at that instant",
                    )
                )
        elif isinstance(e, Web.BillingDateReached):
            if e.period != last_period + 1:
                errors.append(
                    _error(
                        "one_grant_per_billing_date",
                        account,
                        step,
                        f"billing period {e.period} follows period {last_period}",
                    )
                )
            last_period = e.period
            period_at[e.period] = step.at
        if grants[step.at] > 1:
            errors.append(
                _error(
                    "one_grant_per_billing_date",
                    account,
                    step,
                    f"plan credits granted {grants[step.at]} times at the same instant",
                )
            )
    return errors


def autobill_within_cap(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """A07: purchases in any rolling 30 days stay within the cap of the tier
    the organization was on when it bought (autobill recharges included)."""
    if not steps or not isinstance(steps[0].event, Api.Opened):
        return []
    errors = []
    opened = steps[0].event
    caps = {r.tier: r.monthly_cap_usd for r in opened.tier_rules}
    bought: list[tuple[int, Decimal]] = []
    for step in steps:
        e = step.event
        if not isinstance(e, Api.CreditsPurchased | Api.AutobillToppedUp):
            continue
        now = to_us(step.at)
        bought = [(t, usd) for t, usd in bought if t > now - DAYS_30_US]
        bought.append((now, Decimal(e.usd)))
        spent = sum((usd for _, usd in bought), Decimal("0"))
        tier = step.before.tier or 1
        cap = caps.get(tier)
        if cap is not None and spent > cap:
            errors.append(
                _error(
                    "autobill_within_cap",
                    account,
                    step,
                    f"{step.name} brings the 30-day purchases to ${spent:,} over Tier {tier}'s "
                    f"${cap:,} cap",
                )
            )
        if Decimal(e.window_spend_usd) != spent:
            errors.append(
                _error(
                    "autobill_within_cap",
                    account,
                    step,
                    f"{step.name} says the 30-day purchases are ${e.window_spend_usd}, "
                    f"the purchases add up to ${spent}",
                )
            )
    return errors


def autobill_never_loops(account: str, steps: Sequence[Step]) -> list[InvariantError]:
    """A04, A05: at most one autobill attempt per hourly check, on the hour, and a
    recharge only when the balance is strictly below the threshold."""
    if not steps or not isinstance(steps[0].event, Api.Opened):
        return []
    errors = []
    settings = steps[0].event.autobill
    attempts: Counter[datetime] = Counter()
    for index, step in enumerate(steps):
        e = step.event
        if isinstance(e, Api.AutobillEnabled):
            settings = e.settings
        if not isinstance(e, Api.AutobillToppedUp | Api.AutobillFailed):
            continue
        attempts[step.at] += 1
        if attempts[step.at] > 1:
            errors.append(
                _error(
                    "autobill_never_loops",
                    account,
                    step,
                    f"{attempts[step.at]} autobill attempts at one hourly check",
                )
            )
        if to_us(step.at) % HOUR_US:
            errors.append(
                _error("autobill_never_loops", account, step, f"{step.name} is not on the hour")
            )
        threshold = settings.threshold if settings else None
        if not isinstance(e, Api.AutobillToppedUp):
            continue
        balance = step.before.balance - _spent_before_in_batch(steps, index)
        if threshold is None or balance >= threshold:
            errors.append(
                _error(
                    "autobill_never_loops",
                    account,
                    step,
                    f"recharged with {balance:,} credits, not below the threshold {threshold}",
                )
            )
    return errors


def _spent_before_in_batch(steps: Sequence[Step], index: int) -> int:
    """A top-up made inside a batch (A04) sits among the batch's runs, which are
    folded whole at their last task: the credits kept by the batch's later runs
    for their tasks before the top-up's instant were already spent then."""
    topup = steps[index].event
    batch_at = getattr(topup, "batch_at", None)
    if batch_at is None:
        return 0
    at = to_us(topup.timestamp)
    spent = 0
    for later in steps[index + 1 :]:
        e = later.event
        if getattr(e, "batch_at", None) != batch_at:
            break
        if isinstance(e, Api.TaskCharged):
            n = tasks_before(to_us(e.first_at), int(e.interval_us), int(e.count), at)
            spent += (n - sum(1 for j in e.refunded if j < n)) * int(e.credits_each)
    return spent


CHECKS: tuple[Check, ...] = (
    no_negative_bucket,
    credits_conserved,
    purchased_only_spent_by_usage,
    refresh_sets_not_adds,
    one_grant_per_billing_date,
    autobill_within_cap,
    autobill_never_loops,
)


def check_events(account: str, events: Iterable[Any]) -> list[InvariantError]:
    """Every invariant over one account's events (in version order)."""
    steps = fold(events)
    return [error for check in CHECKS for error in check(account, steps)]


def check_ledger(ledger: Ledger, accounts: Iterable[str]) -> list[InvariantError]:
    """Every invariant over the stored events of each account of a run."""
    errors: list[InvariantError] = []
    for account in accounts:
        errors += check_events(account, ledger.iter_account_events(account))
    return errors


def same_events(first: Ledger, second: Ledger, accounts: Iterable[str]) -> list[InvariantError]:
    """S03: two replays of the same scenario and seed stored the same events, byte
    for byte (topic and state of every event of every account)."""
    errors = []
    for account in accounts:
        a = first.recorder.select_events(first.find_account(account)[0])
        b = second.recorder.select_events(second.find_account(account)[0])
        if len(a) != len(b):
            errors.append(
                _error(
                    "same_events",
                    account,
                    None,
                    f"the replays stored {len(a):,} and {len(b):,} events",
                )
            )
        for x, y in zip(a, b, strict=False):
            if (x.topic, x.state) != (y.topic, y.state):
                errors.append(
                    InvariantError(
                        "same_events",
                        account,
                        None,
                        x.originator_version,
                        f"event v{x.originator_version} differs: "
                        f"{x.topic} {x.state!r} vs {y.topic} {y.state!r}",
                    )
                )
                break
    return errors


__all__ = [
    "CHECKS",
    "Holdings",
    "InvariantError",
    "Step",
    "autobill_never_loops",
    "autobill_within_cap",
    "check_events",
    "check_ledger",
    "credits_conserved",
    "fold",
    "no_negative_bucket",
    "one_grant_per_billing_date",
    "purchased_only_spent_by_usage",
    "refresh_sets_not_adds",
    "same_events",
]
