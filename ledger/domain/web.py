"""The web-app workspace: plan credits, purchased credits, one shared pool (W01-W16).

Public methods are commands: they check the rule, then trigger a past-tense
event whose ``apply`` only mutates state (it runs again on every replay).
Every command takes the simulated instant ``at``; events carry it as their
timestamp (S03).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules
from ledger.domain.base import SimulatedAggregate
from ledger.domain.errors import DomainError
from ledger.domain.runs import (
    affordable,
    count_paying,
    slice_indices,
    tasks_at_or_before,
    tasks_before,
)
from ledger.domain.terms import PlanTerms, TaskSpec
from ledger.domain.time import billing_date, from_us, month_key, next_month_start, to_us, utc
from ledger.domain.types import (
    Billing,
    EnterprisePoolPolicy,
    ForfeitReason,
    FreeCreditsPolicy,
    GenerationMode,
    Plan,
    PlanRefreshPolicy,
    RefillWindowPolicy,
    RefusalReason,
)

CENT = Decimal("0.01")
REFRESH_DELAY_US = 24 * 3600 * 1_000_000  # W05 policy after_24h: "within 24 hours"

# W01/W03: what a cancelled workspace falls back to when the caller gives no
# price-book figures: Free, one editor, nothing to buy, no refresh, no grant.
FREE_FALLBACK = PlanTerms(
    plan=Plan.FREE,
    allowance=0,
    monthly_usd=Decimal("0"),
    annual_usd=Decimal("0"),
    seat_cap=1,
    can_buy=False,
    explore=False,
    auto_refill=False,
    refreshes=False,
)


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def prorate(price: Decimal, start: datetime, end: datetime, at: datetime) -> Decimal:
    """W04/W11: the share of a period's price for the time left in it."""
    total = to_us(end) - to_us(start)
    left = max(0, to_us(end) - to_us(at))
    return _cents(price * Decimal(left) / Decimal(total)) if total > 0 else Decimal("0.00")


class WebWorkspace(SimulatedAggregate):
    """A web-app workspace (surface "web"): one pool of credits shared by its editors."""

    class PlanSubscribed(Aggregate.Created):
        name: str
        terms: dict[str, Any]
        billing: Billing
        anchor: datetime
        editors: list[str]
        usd: Decimal
        credits: int
        min_purchase_credits: int
        credit_price_usd: Decimal
        enterprise_cap_usd: Decimal
        enterprise_pool: EnterprisePoolPolicy
        refill: dict[str, int] | None
        free_credits: FreeCreditsPolicy
        plan_refresh: PlanRefreshPolicy
        refill_window: RefillWindowPolicy

    def __init__(
        self,
        name: str,
        terms: dict[str, Any],
        billing: Billing,
        anchor: datetime,
        editors: list[str],
        usd: Decimal,
        credits: int,
        min_purchase_credits: int,
        credit_price_usd: Decimal,
        enterprise_cap_usd: Decimal,
        enterprise_pool: EnterprisePoolPolicy,
        refill: dict[str, int] | None,
        free_credits: FreeCreditsPolicy,
        plan_refresh: PlanRefreshPolicy,
        refill_window: RefillWindowPolicy,
    ) -> None:
        self.name = name
        self.free_credits = free_credits
        self.plan_refresh = plan_refresh
        self.refill_window = refill_window
        self.refresh_due: list[int] | None = None  # [instant us, period]: after_24h only
        self.terms = dict(terms)
        self.billing = billing
        self.anchor = anchor
        self.periods = 0  # billing dates passed since the anchor (W05)
        self.editors = list(editors)
        self.plan_credits = credits
        self.purchased = 0
        self.min_purchase_credits = min_purchase_credits
        self.credit_price_usd = credit_price_usd
        self.enterprise_cap_usd = enterprise_cap_usd
        self.enterprise_pool = enterprise_pool
        self.refill = dict(refill) if refill else None
        self.refill_month = ""
        self.refill_spent_usd = 0
        self.pending_terms: dict[str, Any] | None = None  # W12: a scheduled downgrade
        self.cancel_at: datetime | None = None  # W13: end of the paid period
        self.fallback_terms: dict[str, Any] | None = None  # W13: Free, after the period
        self.seat_credit_usd = Decimal("0.00")  # W04: owed to the next invoice

    # ----------------------------------------------------------------- creation

    @classmethod
    def subscribe(
        cls,
        *,
        id: UUID,
        at: datetime,
        name: str,
        terms: PlanTerms,
        billing: Billing,
        editors: list[str],
        min_purchase_credits: int = 1000,
        credit_price_usd: Decimal = Decimal("0.01"),
        enterprise_cap_usd: Decimal = Decimal("9999"),
        enterprise_pool: EnterprisePoolPolicy = EnterprisePoolPolicy.ANNUAL,
        refill: dict[str, int] | None = None,
        free_credits: FreeCreditsPolicy = FreeCreditsPolicy.FORFEIT,
        plan_refresh: PlanRefreshPolicy = PlanRefreshPolicy.AT_ANCHOR,
        refill_window: RefillWindowPolicy = RefillWindowPolicy.CALENDAR_MONTH,
    ) -> WebWorkspace:
        """W01-W05: open a workspace on a plan; ``at`` is the billing anchor."""
        rules.enforce(rules.w03_seat_cap(terms.plan, terms.seat_cap, len(editors)))
        if len(set(editors)) != len(editors):
            raise DomainError("the same editor is listed twice", "W03")
        if refill is not None:
            # On a plan without Auto Refill (Free) the settings wait, dormant, for an
            # upgrade: `_refill_possible` never fires them there (W15).
            rules.enforce(
                rules.w15_refill_settings(refill["amount_usd"], refill["monthly_max_usd"])
            )
        if terms.plan is Plan.ENTERPRISE and terms.allowance <= 0:
            raise DomainError("an Enterprise workspace needs contract credits", "W16")
        usd = _cents(terms.seat_price(billing) * len(editors))
        return cls._create(
            cls.PlanSubscribed,
            id=id,
            timestamp=utc(at),
            name=name,
            terms=terms.to_dict(),
            billing=billing,
            anchor=utc(at),
            editors=list(editors),
            usd=usd,
            credits=terms.allowance,
            min_purchase_credits=min_purchase_credits,
            credit_price_usd=credit_price_usd,
            enterprise_cap_usd=enterprise_cap_usd,
            enterprise_pool=enterprise_pool,
            refill=dict(refill) if refill else None,
            free_credits=free_credits,
            plan_refresh=plan_refresh,
            refill_window=refill_window,
        )

    # ------------------------------------------------------------ derived state

    @property
    def plan_terms(self) -> PlanTerms:
        return PlanTerms.from_dict(self.terms)

    @property
    def plan(self) -> Plan:
        return Plan(self.terms["plan"])

    @property
    def balance(self) -> int:
        return self.plan_credits + self.purchased

    @property
    def next_billing_at(self) -> datetime | None:
        """W05: the next billing date, or None on Free (nothing recurs)."""
        if self.plan is Plan.FREE:
            return None
        return billing_date(self.anchor, self.periods + 1)

    def paid_period(self) -> tuple[datetime, datetime]:
        """The paid period now running: a month, or a year on annual billing."""
        step = 12 if self.billing is Billing.ANNUAL else 1
        start_n = (self.periods // step) * step
        return billing_date(self.anchor, start_n), billing_date(self.anchor, start_n + step)

    # ---------------------------------------------------------- billing dates

    def pass_billing_date(self, at: datetime) -> None:
        """W05, W06, W12, W13, W16: what happens on a billing date, in that order."""
        due = self.next_billing_at
        if due is None or utc(at) != due:
            raise DomainError(f"no billing date at {at.isoformat()} (next: {due})", "W05")
        at = due
        period = self.periods + 1
        year_end = period % 12 == 0
        period_end = self.billing is Billing.MONTHLY or year_end
        terms = self.plan_terms
        if self.cancel_at is not None and period_end:
            self.trigger_event(
                self.BillingDateReached,
                timestamp=at,
                period=period,
                usd=Decimal("0.00"),
                seats=len(self.editors),
                credit_usd=Decimal("0.00"),
            )
            if self.plan_credits > 0:
                self._forfeit(at, self.plan_credits, ForfeitReason.CANCELLATION)
            fallback = self.fallback_terms or FREE_FALLBACK.to_dict()
            self.trigger_event(self.PlanEnded, timestamp=at, from_plan=terms.plan, terms=fallback)
            return
        if self.pending_terms is not None and period_end:
            new = PlanTerms.from_dict(self.pending_terms)
            self.trigger_event(
                self.PlanDowngraded, timestamp=at, from_plan=terms.plan, terms=new.to_dict()
            )
            terms = new
        gross = (
            _cents(terms.seat_price(self.billing) * len(self.editors))
            if period_end
            else Decimal("0.00")
        )
        # W04: seat credits from removed editors are applied to this invoice; what
        # exceeds it waits for the next one.
        credit = min(self.seat_credit_usd, gross)
        self.trigger_event(
            self.BillingDateReached,
            timestamp=at,
            period=period,
            usd=gross - credit,
            seats=len(self.editors),
            credit_usd=credit,
        )
        if self._refreshes_on(period):
            if self.plan_refresh is PlanRefreshPolicy.AFTER_24H:
                return  # W05 policy: `refresh_plan_credits` at `next_refresh_at`
            self._refresh(at, period)

    @property
    def next_refresh_at(self) -> datetime | None:
        """Policy ``after_24h``: when the billing date's refresh is due (else None)."""
        return from_us(self.refresh_due[0]) if self.refresh_due else None

    def refresh_plan_credits(self, at: datetime) -> None:
        """W05/W06 under ``plan_refresh: after_24h``: the refresh 24 h after the billing date."""
        due = self.refresh_due
        if due is None or to_us(utc(at)) != due[0]:
            raise DomainError(f"no plan refresh due at {at.isoformat()}", "W05")
        self._refresh(utc(at), due[1])

    def _refresh(self, at: datetime, period: int) -> None:
        terms = self.plan_terms
        reason = (
            ForfeitReason.CONTRACT_RENEWAL if terms.plan is Plan.ENTERPRISE else ForfeitReason.RESET
        )
        if self.plan_credits > 0:
            self._forfeit(at, self.plan_credits, reason)  # W06: no rollover
        self.trigger_event(
            self.PlanCreditsRefreshed, timestamp=at, allowance=terms.allowance, period=period
        )

    def _refreshes_on(self, period: int) -> bool:
        terms = self.plan_terms
        if not terms.refreshes:
            return False
        if terms.plan is Plan.ENTERPRISE and self.enterprise_pool is EnterprisePoolPolicy.ANNUAL:
            return period % 12 == 0  # W16: one pool, set on each contract anniversary
        return True  # W05: monthly, also on annual billing

    def _forfeit(self, at: datetime, amount: int, reason: ForfeitReason) -> None:
        self.trigger_event(self.CreditsForfeited, timestamp=at, amount=amount, reason=reason)

    class BillingDateReached(Aggregate.Event):
        """``usd`` is what this invoice charges: the renewal (0 in the months of an
        annual period) less ``credit_usd``, the seat credits applied to it (W04)."""

        period: int
        usd: Decimal
        seats: int
        credit_usd: Decimal

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.periods = self.period
            aggregate.seat_credit_usd -= self.credit_usd
            if aggregate.plan_refresh is PlanRefreshPolicy.AFTER_24H and aggregate._refreshes_on(
                self.period
            ):
                aggregate.refresh_due = [to_us(self.timestamp) + REFRESH_DELAY_US, self.period]

    class CreditsForfeited(Aggregate.Event):
        amount: int
        reason: ForfeitReason

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.plan_credits -= self.amount

    class PlanCreditsRefreshed(Aggregate.Event):
        allowance: int
        period: int

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.plan_credits = self.allowance  # W06: sets, never adds
            aggregate.refresh_due = None

    class PlanEnded(Aggregate.Event):
        from_plan: Plan
        terms: dict[str, Any]  # Free's figures (W01, W03), with no new grant

        def apply(self, aggregate: WebWorkspace) -> None:
            # W13: back to Free, with no new Free grant; purchased credits stay.
            aggregate.terms = dict(self.terms, allowance=0)
            aggregate.refresh_due = None
            aggregate.cancel_at = None
            aggregate.fallback_terms = None
            aggregate.pending_terms = None

    class PlanDowngraded(Aggregate.Event):
        from_plan: Plan
        terms: dict[str, Any]

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.terms = dict(self.terms)
            aggregate.pending_terms = None

    # ------------------------------------------------------------ plan changes

    def change_plan(self, at: datetime, terms: PlanTerms) -> None:
        """W11 upgrade now (pro rata, allowance difference), W12 downgrade at renewal."""
        at = utc(at)
        current = self.plan_terms
        rules.enforce(rules.w16_plan_change(current.plan, terms.plan))
        if terms.plan is current.plan:
            # W12: choosing the current plan again drops a scheduled downgrade or
            # cancellation (Stripe's scheduled changes); with none, nothing changes.
            self.trigger_event(
                self.ScheduledChangeDropped,
                timestamp=at,
                plan=current.plan,
                dropped_plan=(
                    Plan.FREE
                    if self.cancel_at is not None
                    else Plan(self.pending_terms["plan"])
                    if self.pending_terms is not None
                    else None
                ),
            )
            return
        if terms.plan is Plan.FREE:
            self.cancel(at, terms)
            return
        if len(self.editors) > terms.seat_cap:
            self.trigger_event(
                self.PlanChangeRefused,
                timestamp=at,
                to_plan=terms.plan,
                reason=RefusalReason.SEAT_CAP,
                detail=f"{len(self.editors)} editors, {terms.plan.value} allows {terms.seat_cap}",
            )
            return
        if current.plan is Plan.FREE:
            # Leaving Free starts a subscription: a new anchor (W05) and a full period's price.
            if self.plan_credits > 0 and self.free_credits is FreeCreditsPolicy.KEEP:
                # Policy keep: the Free deposit "does not expire"; it moves to the
                # bucket that never expires (spent after the plan credits, W08).
                self.trigger_event(self.FreeCreditsKept, timestamp=at, amount=self.plan_credits)
            elif self.plan_credits > 0:
                self._forfeit(at, self.plan_credits, ForfeitReason.PLAN_START)
            usd = _cents(terms.seat_price(self.billing) * len(self.editors))
            self.trigger_event(
                self.PlanUpgraded,
                timestamp=at,
                from_plan=current.plan,
                terms=terms.to_dict(),
                credits_added=terms.allowance,
                usd=usd,
                new_anchor=at,
            )
            return
        if terms.plan.rank > current.plan.rank:
            start, end = self.paid_period()
            diff_price = terms.seat_price(self.billing) - current.seat_price(self.billing)
            usd = prorate(diff_price * len(self.editors), start, end, at)
            self.trigger_event(
                self.PlanUpgraded,
                timestamp=at,
                from_plan=current.plan,
                terms=terms.to_dict(),
                credits_added=max(0, terms.allowance - current.allowance),
                usd=usd,
                new_anchor=None,
            )
            return
        _, end = self.paid_period()
        self.trigger_event(
            self.DowngradeScheduled,
            timestamp=at,
            to_plan=terms.plan,
            terms=terms.to_dict(),
            effective_at=end,
        )

    def cancel(self, at: datetime, free_terms: PlanTerms | None = None) -> None:
        """W13: the plan runs to the end of the paid period, then falls back to Free.

        ``free_terms`` are the price book's Free figures the workspace falls
        back to (its seat cap, W03); without them, one editor and no purchases.
        """
        at = utc(at)
        if self.plan is Plan.FREE:
            if self.periods > 0:
                # Fell back to Free after a cancel: only the run can discover this.
                self.trigger_event(
                    self.PlanChangeRefused,
                    timestamp=at,
                    to_plan=Plan.FREE,
                    reason=RefusalReason.NO_SUBSCRIPTION,
                    detail="the workspace is already on Free after its paid period ended",
                )
                return
            rules.enforce(rules.w13_cancel(self.plan))
        if self.cancel_at is not None:
            return
        _, end = self.paid_period()
        fallback = (free_terms or FREE_FALLBACK).to_dict()
        self.trigger_event(
            self.CancellationScheduled, timestamp=at, effective_at=end, fallback_terms=fallback
        )

    class PlanUpgraded(Aggregate.Event):
        from_plan: Plan
        terms: dict[str, Any]
        credits_added: int
        usd: Decimal
        new_anchor: datetime | None

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.terms = dict(self.terms)
            aggregate.plan_credits += self.credits_added  # W11: the difference, not a reset
            aggregate.pending_terms = None
            aggregate.cancel_at = None
            aggregate.fallback_terms = None
            if self.new_anchor is not None:
                aggregate.anchor = self.new_anchor
                aggregate.periods = 0

    class FreeCreditsKept(Aggregate.Event):
        """Policy ``free_credits: keep``: the unspent Free grant, carried into the
        never-expiring bucket when a paid plan starts."""

        amount: int

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.plan_credits -= self.amount
            aggregate.purchased += self.amount

    class DowngradeScheduled(Aggregate.Event):
        to_plan: Plan
        terms: dict[str, Any]
        effective_at: datetime

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.pending_terms = dict(self.terms)

    class CancellationScheduled(Aggregate.Event):
        effective_at: datetime
        fallback_terms: dict[str, Any]

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.cancel_at = self.effective_at
            aggregate.fallback_terms = dict(self.fallback_terms)

    class ScheduledChangeDropped(Aggregate.Event):
        """W12: the current plan was chosen again; ``dropped_plan`` is the plan the
        scheduled change would have moved to (Free for a cancellation), None when
        nothing was scheduled."""

        plan: Plan
        dropped_plan: Plan | None

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.pending_terms = None
            aggregate.cancel_at = None
            aggregate.fallback_terms = None

    class PlanChangeRefused(Aggregate.Event):
        to_plan: Plan
        reason: RefusalReason
        detail: str

        def apply(self, aggregate: WebWorkspace) -> None:
            pass

    # ----------------------------------------------------------------- editors

    def add_editor(self, at: datetime, editor: str) -> None:
        """W03 seat cap; W04 an editor adds a prorated seat, never credits."""
        at = utc(at)
        terms = self.plan_terms
        if editor in self.editors:
            self._refuse_editor(at, editor, RefusalReason.ALREADY_MEMBER)
        elif len(self.editors) >= terms.seat_cap:
            self._refuse_editor(at, editor, RefusalReason.SEAT_CAP)
        else:
            usd = Decimal("0.00")
            if terms.plan is not Plan.FREE:
                start, end = self.paid_period()
                usd = prorate(terms.seat_price(self.billing), start, end, at)
            self.trigger_event(self.EditorAdded, timestamp=at, editor=editor, usd=usd)

    def remove_editor(self, at: datetime, editor: str) -> None:
        """W04: removing an editor credits the unused seat time to the next invoice.

        No money moves now: ``credit_usd`` is owed and taken off the next
        renewal invoice (``BillingDateReached.credit_usd``).
        """
        at = utc(at)
        if editor not in self.editors:
            self._refuse_editor(at, editor, RefusalReason.NOT_A_MEMBER)
        elif len(self.editors) == 1:
            self._refuse_editor(at, editor, RefusalReason.LAST_EDITOR)
        else:
            terms = self.plan_terms
            credit = Decimal("0.00")
            if terms.plan is not Plan.FREE:
                start, end = self.paid_period()
                credit = prorate(terms.seat_price(self.billing), start, end, at)
            self.trigger_event(self.EditorRemoved, timestamp=at, editor=editor, credit_usd=credit)

    def _refuse_editor(self, at: datetime, editor: str, reason: RefusalReason) -> None:
        self.trigger_event(self.EditorRefused, timestamp=at, editor=editor, reason=reason)

    class EditorAdded(Aggregate.Event):
        editor: str
        usd: Decimal

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.editors.append(self.editor)

    class EditorRemoved(Aggregate.Event):
        editor: str
        credit_usd: Decimal  # W04: the unused seat time, owed to the next invoice

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.editors.remove(self.editor)
            aggregate.seat_credit_usd += self.credit_usd

    class EditorRefused(Aggregate.Event):
        editor: str
        reason: RefusalReason

        def apply(self, aggregate: WebWorkspace) -> None:
            pass

    # --------------------------------------------------------------- purchases

    def purchase_credits(self, at: datetime, credits: int) -> None:
        """W07: at least 1,000, $10 per 1,000, never expire; not on Free."""
        at = utc(at)
        terms = self.plan_terms
        usd = _cents(Decimal(credits) * self.credit_price_usd)
        rules.enforce(rules.w07_purchase_minimum(credits, self.min_purchase_credits))
        rules.enforce(rules.w07_enterprise_cap(terms.plan, usd, self.enterprise_cap_usd))
        if not terms.can_buy:
            if terms.plan is Plan.FREE and self.plan_credits == 0 and self.periods > 0:
                # Fell back to Free after a cancel: only the run can discover this.
                self.trigger_event(
                    self.PurchaseRefused,
                    timestamp=at,
                    credits=credits,
                    usd=usd,
                    reason=RefusalReason.PLAN_CANNOT_BUY,
                )
                return
            buyers = [p for p in Plan if p not in (Plan.FREE, terms.plan)]
            rules.enforce(rules.w07_plan_can_buy(terms.plan, terms.can_buy, buyers))
        self.trigger_event(
            self.CreditsPurchased, timestamp=at, credits=credits, usd=usd, refill=False
        )

    class CreditsPurchased(Aggregate.Event):
        credits: int
        usd: Decimal
        refill: bool  # W15: bought by Auto Refill

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.purchased += self.credits
            if self.refill:
                month = aggregate._refill_window(self.timestamp)
                if aggregate.refill_month != month:
                    aggregate.refill_month = month
                    aggregate.refill_spent_usd = 0
                aggregate.refill_spent_usd += int(self.usd)

    class PurchaseRefused(Aggregate.Event):
        credits: int
        usd: Decimal
        reason: RefusalReason

        def apply(self, aggregate: WebWorkspace) -> None:
            pass

    # ------------------------------------------------------------- generations

    def _refill_possible(self, at: datetime) -> bool:
        """W15: Auto Refill is set, allowed on the plan, and under this month's max."""
        if self.refill is None or not self.plan_terms.auto_refill:
            return False
        spent = self.refill_spent_usd if self.refill_month == self._refill_window(at) else 0
        return spent + self.refill["amount_usd"] <= self.refill["monthly_max_usd"]

    def _refill_window(self, at: datetime) -> str:
        """W15: the window the monthly maximum counts over (policy ``refill_window``)."""
        if self.refill_window is RefillWindowPolicy.BILLING_PERIOD:
            return f"period {self.periods} from {billing_date(self.anchor, self.periods)}"
        return month_key(at)

    def _next_refill_window(self, at: datetime) -> int:
        """W15: when the refill window after the one holding ``at`` starts (microseconds)."""
        if self.refill_window is RefillWindowPolicy.BILLING_PERIOD:
            due = self.next_billing_at
            if due is not None:
                return to_us(due)
        return to_us(next_month_start(at))

    def generate(
        self,
        first_at: datetime,
        interval_us: int,
        count: int,
        task: TaskSpec,
        mode: GenerationMode = GenerationMode.CREDITS,
        refunded: list[int] | None = None,
        safety_failed: list[int] | None = None,
    ) -> None:
        """W08-W10, W14, W15: ``count`` identical generations, evenly spaced.

        Each generation is decided exactly as if it came alone: plan credits
        first (W08), refused whole when short (W09), free in Explore Mode
        (W10), refunded at once when it ends in an error (W14), preceded by an
        Auto Refill when it would leave the balance at or below the trigger
        (W15). Consecutive generations with the same outcome are recorded as
        one event with their count and timing.
        """
        first = to_us(first_at)
        refunded = refunded or []
        safety = safety_failed or []
        cost = 0 if mode is GenerationMode.EXPLORE else task.credits_each
        i = 0
        while i < count:
            t = first + i * interval_us
            at = from_us(t)
            if mode is GenerationMode.EXPLORE and not self.plan_terms.explore:
                self._refuse(
                    at, interval_us, count - i, task, RefusalReason.EXPLORE_NOT_AVAILABLE, 0
                )
                return
            refill = self._refill_possible(at)
            floor = self.refill["trigger"] if refill and self.refill else -1
            k = (
                count - i
                if cost == 0
                else affordable(self.balance, cost, floor, count, refunded, i)
            )
            if k > 0:
                if not refill and self.refill is not None and self.plan_terms.auto_refill:
                    # W15: a refill blocked by this month's maximum is possible again when
                    # the calendar month turns, and the trigger rules from then on.
                    month_end = self._next_refill_window(at)
                    k = min(k, tasks_before(t, interval_us, count - i, month_end))
                self._charge(first, interval_us, i, k, task, cost, mode, refunded, safety)
                i += k
                continue
            if refill and self.refill:
                # W15: the refill is bought first, then this generation goes on.
                amount = Decimal(self.refill["amount_usd"])
                self.trigger_event(
                    self.CreditsPurchased,
                    timestamp=at,
                    credits=int(amount / self.credit_price_usd),
                    usd=_cents(amount),
                    refill=True,
                )
                if self.balance >= cost:
                    self._charge(first, interval_us, i, 1, task, cost, mode, refunded, safety)
                else:
                    self._refuse(
                        at,
                        interval_us,
                        1,
                        task,
                        RefusalReason.INSUFFICIENT_CREDITS,
                        cost - self.balance,
                    )
                i += 1
                continue
            # Nothing can change before the month turns (a refill blocked by its
            # monthly maximum may come back then): refuse that stretch at once.
            n = count - i
            if self.refill is not None and self.plan_terms.auto_refill:
                n = max(1, tasks_before(t, interval_us, n, self._next_refill_window(at)))
            self._refuse(
                at, interval_us, n, task, RefusalReason.INSUFFICIENT_CREDITS, cost - self.balance
            )
            i += n

    def _charge(
        self,
        first: int,
        interval: int,
        start: int,
        k: int,
        task: TaskSpec,
        cost: int,
        mode: GenerationMode,
        refunded: list[int],
        safety: list[int],
    ) -> None:
        paying = count_paying(start + k, refunded, start, start + k)
        used = paying * cost
        plan_part = min(self.plan_credits, used)
        self.trigger_event(
            self.GenerationCharged,
            timestamp=from_us(first + (start + k - 1) * interval),
            model=task.model,
            label=task.label,
            mode=mode,
            first_at=from_us(first + start * interval),
            interval_us=interval,
            count=k,
            credits_each=cost,
            plan_part=plan_part,
            purchased_part=used - plan_part,
            refunded=slice_indices(refunded, start, start + k),
            safety_failed=slice_indices(safety, start, start + k),
        )

    def _refuse(
        self,
        at: datetime,
        interval: int,
        n: int,
        task: TaskSpec,
        reason: RefusalReason,
        shortfall: int,
    ) -> None:
        self.trigger_event(
            self.GenerationRefused,
            timestamp=from_us(to_us(at) + (n - 1) * interval),
            model=task.model,
            label=task.label,
            first_at=at,
            interval_us=interval,
            count=n,
            credits_each=task.credits_each,
            reason=reason,
            shortfall=shortfall,
        )

    class GenerationCharged(Aggregate.Event):
        """``count`` generations at ``first_at + i * interval_us``; the event's
        timestamp is the last one's. ``plan_part`` / ``purchased_part`` split
        the credits kept (W08), net of the ``refunded`` ones (W14), which were
        charged and given back at their own instant.
        """

        model: str
        label: str
        mode: GenerationMode
        first_at: datetime
        interval_us: int
        count: int
        credits_each: int
        plan_part: int
        purchased_part: int
        refunded: list[int]
        safety_failed: list[int]

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.plan_credits -= self.plan_part
            aggregate.purchased -= self.purchased_part

        def done_by(self, at: datetime) -> tuple[int, int]:
            """(tasks submitted, credits kept) by instant ``at`` (S05 inside a run)."""
            n = tasks_at_or_before(to_us(self.first_at), self.interval_us, self.count, to_us(at))
            kept = count_paying(n, self.refunded, 0, n) * self.credits_each
            return n, kept

    class GenerationRefused(Aggregate.Event):
        model: str
        label: str
        first_at: datetime
        interval_us: int
        count: int
        credits_each: int
        reason: RefusalReason
        shortfall: int  # credits missing for the first refused generation

        def apply(self, aggregate: WebWorkspace) -> None:
            pass
