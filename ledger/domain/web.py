"""The web-app workspace: plan credits, purchased credits, one shared pool (W01-W16).

Public methods are commands: they check the rule, then trigger a past-tense
event whose ``apply`` only mutates state (it runs again on every replay).
Every command takes the simulated instant ``at``; events carry it as their
timestamp (S03).
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules
from ledger.domain.base import SimulatedAggregate
from ledger.domain.errors import DomainError
from ledger.domain.runs import (
    Lane,
    affordable,
    count_paying,
    largest_true,
    slice_indices,
    split_lane,
    tasks_at_or_before,
)
from ledger.domain.terms import PlanTerms, RefillSettings, TaskSpec, typed
from ledger.domain.time import (
    DAY_US,
    billing_date,
    from_us,
    month_key,
    next_month_start,
    to_us,
    utc,
)
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

    class_version = 2  # v1 snapshots held terms and settings as plain dicts

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        typed(
            state,
            terms=PlanTerms,
            pending_terms=PlanTerms,
            fallback_terms=PlanTerms,
            refill=RefillSettings,
        )

    class PlanSubscribed(Aggregate.Created):
        class_version = 2  # v1 stored terms as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, terms=PlanTerms, refill=RefillSettings)

        name: str
        terms: PlanTerms
        billing: Billing
        anchor: datetime
        editors: list[str]
        usd: Decimal
        credits: int
        min_purchase_credits: int
        credit_price_usd: Decimal
        enterprise_cap_usd: Decimal
        enterprise_pool: EnterprisePoolPolicy
        refill: RefillSettings | None
        free_credits: FreeCreditsPolicy
        plan_refresh: PlanRefreshPolicy
        refill_window: RefillWindowPolicy

    def __init__(
        self,
        name: str,
        terms: PlanTerms,
        billing: Billing,
        anchor: datetime,
        editors: list[str],
        usd: Decimal,
        credits: int,
        min_purchase_credits: int,
        credit_price_usd: Decimal,
        enterprise_cap_usd: Decimal,
        enterprise_pool: EnterprisePoolPolicy,
        refill: RefillSettings | None,
        free_credits: FreeCreditsPolicy,
        plan_refresh: PlanRefreshPolicy,
        refill_window: RefillWindowPolicy,
    ) -> None:
        self.name = name
        self.free_credits = free_credits
        self.plan_refresh = plan_refresh
        self.refill_window = refill_window
        self.refresh_due: list[int] | None = None  # [instant us, period]: after_24h only
        self.terms = terms
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
        self.refill = refill
        self.refill_month = ""
        self.refill_spent_usd = 0
        self.pending_terms: PlanTerms | None = None  # W12: a scheduled downgrade
        self.cancel_at: datetime | None = None  # W13: end of the paid period
        self.fallback_terms: PlanTerms | None = None  # W13: Free, after the period
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
        refill: RefillSettings | None = None,
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
            rules.enforce(rules.w15_refill_settings(refill.amount_usd, refill.monthly_max_usd))
        if terms.plan is Plan.ENTERPRISE and terms.allowance <= 0:
            raise DomainError("an Enterprise workspace needs contract credits", "W16")
        usd = _cents(terms.seat_price(billing) * len(editors))
        return cls._create(
            cls.PlanSubscribed,
            id=id,
            timestamp=utc(at),
            name=name,
            terms=terms,
            billing=billing,
            anchor=utc(at),
            editors=list(editors),
            usd=usd,
            credits=terms.allowance,
            min_purchase_credits=min_purchase_credits,
            credit_price_usd=credit_price_usd,
            enterprise_cap_usd=enterprise_cap_usd,
            enterprise_pool=enterprise_pool,
            refill=refill,
            free_credits=free_credits,
            plan_refresh=plan_refresh,
            refill_window=refill_window,
        )

    # ------------------------------------------------------------ derived state

    @property
    def plan_terms(self) -> PlanTerms:
        return self.terms

    @property
    def plan(self) -> Plan:
        return self.terms.plan

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
            fallback = self.fallback_terms or FREE_FALLBACK
            self.trigger_event(self.PlanEnded, timestamp=at, from_plan=terms.plan, terms=fallback)
            return
        if self.pending_terms is not None and period_end:
            new = self.pending_terms
            self.trigger_event(self.PlanDowngraded, timestamp=at, from_plan=terms.plan, terms=new)
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
        class_version = 2  # v1 stored terms as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, terms=PlanTerms)

        from_plan: Plan
        terms: PlanTerms  # Free's figures (W01, W03), with no new grant

        def apply(self, aggregate: WebWorkspace) -> None:
            # W13: back to Free, with no new Free grant; purchased credits stay.
            aggregate.terms = dataclasses.replace(self.terms, allowance=0)
            aggregate.refresh_due = None
            aggregate.cancel_at = None
            aggregate.fallback_terms = None
            aggregate.pending_terms = None

    class PlanDowngraded(Aggregate.Event):
        class_version = 2  # v1 stored terms as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, terms=PlanTerms)

        from_plan: Plan
        terms: PlanTerms

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.terms = self.terms
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
                    else self.pending_terms.plan
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
                terms=terms,
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
                terms=terms,
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
            terms=terms,
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
        fallback = free_terms or FREE_FALLBACK
        self.trigger_event(
            self.CancellationScheduled, timestamp=at, effective_at=end, fallback_terms=fallback
        )

    class PlanUpgraded(Aggregate.Event):
        class_version = 2  # v1 stored terms as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, terms=PlanTerms)

        from_plan: Plan
        terms: PlanTerms
        credits_added: int
        usd: Decimal
        new_anchor: datetime | None

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.terms = self.terms
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
        class_version = 2  # v1 stored terms as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, terms=PlanTerms)

        to_plan: Plan
        terms: PlanTerms
        effective_at: datetime

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.pending_terms = self.terms

    class CancellationScheduled(Aggregate.Event):
        class_version = 2  # v1 stored fallback_terms as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, fallback_terms=PlanTerms)

        effective_at: datetime
        fallback_terms: PlanTerms

        def apply(self, aggregate: WebWorkspace) -> None:
            aggregate.cancel_at = self.effective_at
            aggregate.fallback_terms = self.fallback_terms

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
        return spent + self.refill.amount_usd <= self.refill.monthly_max_usd

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
        """``count`` identical generations, evenly spaced: a batch of one lane."""
        self.generate_batch(
            [
                Lane(
                    task=task,
                    first=to_us(first_at),
                    interval=interval_us,
                    count=count,
                    refunded=list(refunded or []),
                    safety=list(safety_failed or []),
                    mode=mode,
                )
            ]
        )

    def generate_batch(self, lanes: Sequence[Lane]) -> None:
        """W08-W10, W14, W15: the generations of several usage lines over one stretch.

        Each generation is decided exactly as if it came alone, in true time
        order across the lanes (ties in lane order): plan credits first (W08),
        refused whole when short (W09), free in Explore Mode (W10), refunded at
        once when it ends in an error (W14), preceded by an Auto Refill when it
        would leave the balance at or below the trigger (W15). The longest
        stretch in which nothing can bind (and whose credits all come from one
        bucket) is accepted at once; only the generation where something may
        bind (the plan credits running out, a refill, a shortfall) is decided
        alone. Each lane's consecutive generations with the same outcome become
        one event, recorded in the order of their last generation.
        """
        lanes = [lane for lane in lanes if lane.count > 0]
        if not lanes:
            return
        first = min(lane.first for lane in lanes)
        if len(lanes) > 1 and any(lane.last // DAY_US != first // DAY_US for lane in lanes):
            # Several lanes stay within one UTC day (the replay cuts them so):
            # decide longer ones day by day.
            days: dict[int, list[Lane]] = {}
            for lane in lanes:
                for part in split_lane(lane):
                    days.setdefault(part.first // DAY_US, []).append(part)
            for day in sorted(days):
                self.generate_batch(days[day])
            return
        if len(lanes) == 1 and self._refill_window(from_us(first)) != self._refill_window(
            from_us(lanes[0].last)
        ):
            # W15: a refill blocked by its monthly maximum comes back when its
            # window (policy refill_window) turns: decide one lane window by window.
            for part in split_lane(lanes[0], lambda t: self._next_refill_window(from_us(t))):
                self.generate_batch([part])
            return
        decision = _WebBatch(self, lanes)
        decision.run()
        decision.emit()

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
        batch_at: datetime  # the first instant of the batch it was decided in (S05)

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
        shortfall: int  # credits missing for each of these generations
        batch_at: datetime  # the first instant of the batch it was decided in (S05)

        def apply(self, aggregate: WebWorkspace) -> None:
            pass


class _WebBatch:
    """The decisions of one ``generate_batch`` call, on a copy of the state it reads."""

    def __init__(self, ws: WebWorkspace, lanes: list[Lane]) -> None:
        self.ws = ws
        self.lanes = lanes
        n = len(lanes)
        self.pos = [0] * n
        self.dead = [-1] * n  # index of the generation where the lane fell short
        self.phase = 0  # charged chunks join only within a phase (steps end one)
        # per lane: [start, count, plan part, purchased part, phase]
        self.charged: list[list[list[int]]] = [[] for _ in range(n)]
        self.refused: list[list[tuple[int, int, RefusalReason, int]]] = [[] for _ in range(n)]
        self.refills: list[tuple[int, int, int, Decimal]] = []  # (instant, order, credits, usd)
        self.plan = ws.plan_credits
        self.purchased = ws.purchased
        self.refill_month = ws.refill_month
        self.refill_spent = ws.refill_spent_usd
        self.terms = ws.plan_terms
        self.paying = sum(1 for lane in lanes if self._cost(lane) > 0)
        self.death_balance = 0
        self.after_death: list[tuple[int, int, int, int]] | None = None  # (instant, order, i, kept)

    @property
    def balance(self) -> int:
        return self.plan + self.purchased

    def _refill_possible(self, t: int) -> bool:
        refill = self.ws.refill
        if refill is None or not self.terms.auto_refill:
            return False
        window = self.ws._refill_window(from_us(t))  # W15: its policy refill_window
        spent = self.refill_spent if self.refill_month == window else 0
        return spent + refill.amount_usd <= refill.monthly_max_usd

    @staticmethod
    def _cost(lane: Lane) -> int:
        return 0 if lane.mode is GenerationMode.EXPLORE else lane.task.credits_each

    # ---------------------------------------------------------------- deciding

    def run(self) -> None:
        lanes, pos = self.lanes, self.pos
        for j, lane in enumerate(lanes):
            if lane.mode is GenerationMode.EXPLORE and not self.terms.explore:
                self._refuse(j, 0, lane.count, RefusalReason.EXPLORE_NOT_AVAILABLE, 0)
                pos[j] = lane.count
        while True:
            live = [j for j, lane in enumerate(lanes) if self.dead[j] < 0 and pos[j] < lane.count]
            if not live:
                break
            t0 = min(lanes[j].at(pos[j]) for j in live)
            end = max(lanes[j].last for j in live)
            refill = self._refill_possible(t0)  # one day: the month does not turn
            floor = self.ws.refill.trigger if refill and self.ws.refill else -1
            last = largest_true(t0, end, partial(self._safe, live, floor))
            if last >= t0:
                for j in live:
                    self._accept(j, pos[j], lanes[j].upto(last))
                continue
            self.phase += 1
            self._step(min(live, key=lambda j: (lanes[j].at(pos[j]), lanes[j].order)), refill)
            self.phase += 1
        for j, start in enumerate(self.dead):
            if start >= 0:
                self._decide_short(j, start)

    def _safe(self, live: list[int], floor: int, t: int) -> bool:
        """Every live lane's generations up to ``t`` surely go through, all from
        one bucket (the plan credits cover them all, or there are none)."""
        spend = 0
        worst_refund = 0
        for j in live:
            lane = self.lanes[j]
            cost = self._cost(lane)
            if cost == 0:
                continue
            start, stop = self.pos[j], lane.upto(t)
            if stop <= start:
                continue
            spend += count_paying(lane.count, lane.refunded, start, stop) * cost
            if cost > worst_refund and bisect_left(lane.refunded, start) < bisect_left(
                lane.refunded, stop
            ):
                worst_refund = cost  # W14: charged before it is given back
        if spend == 0 and worst_refund == 0:
            return True
        if self.balance - spend - worst_refund <= floor:
            return False
        # Events of different lanes overlap in time: each must take from one bucket
        # for the plan-first split (W08) to hold whatever order they are folded in.
        return self.paying <= 1 or self.plan == 0 or self.plan >= spend + worst_refund

    def _step(self, j: int, refill: bool) -> None:
        """Decide the next generation alone (lane ``j``), exactly as per-task processing."""
        lane = self.lanes[j]
        i = self.pos[j]
        t = lane.at(i)
        cost = self._cost(lane)
        floor = self.ws.refill.trigger if refill and self.ws.refill else -1
        if cost == 0 or self.balance - cost > floor:  # W10: Explore Mode costs nothing
            k = 1
            if self.paying <= 1 or self.plan == 0:
                # One bucket only: this lane's generations that come before any
                # other lane's next one, while the credits last above the floor.
                pos = [None if self.dead[m] >= 0 else p for m, p in enumerate(self.pos)]
                k = max(1, lane.run_before(i, self.lanes, pos))
                if cost:
                    k = min(k, affordable(self.balance, cost, floor, lane.count, lane.refunded, i))
            self._accept(j, i, i + max(1, k))
            return
        if refill and self.ws.refill:
            # W15: the refill is bought first, then this generation goes on.
            amount = Decimal(self.ws.refill.amount_usd)
            credits = int(amount / self.ws.credit_price_usd)
            usd = _cents(amount)
            self.refills.append((t, lane.order, credits, usd))
            self.purchased += credits
            window = self.ws._refill_window(from_us(t))
            if self.refill_month != window:
                self.refill_month, self.refill_spent = window, 0
            self.refill_spent += int(usd)
            if self.balance >= cost:
                self._accept(j, i, i + 1)
            else:
                self._refuse(j, i, 1, RefusalReason.INSUFFICIENT_CREDITS, cost - self.balance)
                self.pos[j] = i + 1
            return
        # W09: no refill can come before the batch ends (the month does not turn).
        self.dead[j] = i
        if self.after_death is None:
            self.after_death = []
            self.death_balance = self.balance

    def _accept(self, j: int, start: int, stop: int) -> None:
        if stop <= start:
            return
        lane = self.lanes[j]
        cost = self._cost(lane)
        used = count_paying(lane.count, lane.refunded, start, stop) * cost
        plan_part = min(self.plan, used)  # W08
        self.plan -= plan_part
        self.purchased -= used - plan_part
        chunks = self.charged[j]
        last = chunks[-1] if chunks else None
        if last is not None and last[0] + last[1] == start and last[4] == self.phase:
            last[1] += stop - start
            last[2] += plan_part
            last[3] += used - plan_part
        else:
            chunks.append([start, stop - start, plan_part, used - plan_part, self.phase])
        if self.after_death is not None and cost:
            refunded = set(lane.refunded[bisect_left(lane.refunded, start) :])
            for i in range(start, stop):
                if i not in refunded:
                    self.after_death.append((lane.at(i), lane.order, i, cost))
        self.pos[j] = stop

    def _refuse(self, j: int, start: int, k: int, reason: RefusalReason, shortfall: int) -> None:
        refused = self.refused[j]
        if refused:
            s0, k0, r0, f0 = refused[-1]
            if s0 + k0 == start and r0 is reason and f0 == shortfall:
                refused[-1] = (s0, k0 + k, r0, f0)
                return
        refused.append((start, k, reason, shortfall))

    def _decide_short(self, j: int, start: int) -> None:
        """W09 for the rest of a lane short of credits, each generation with the
        shortfall of the balance at its own instant (other lanes may go on)."""
        lane = self.lanes[j]
        cost = self._cost(lane)
        after = sorted(self.after_death or [])
        balance = self.death_balance
        if not after:
            self._refuse(
                j, start, lane.count - start, RefusalReason.INSUFFICIENT_CREDITS, cost - balance
            )
            return
        p = 0
        i = start
        while i < lane.count:
            t = lane.at(i)
            while p < len(after) and after[p][:3] < (t, lane.order, i):
                balance -= after[p][3]
                p += 1
            # Until the next charge of another lane, the balance stays as it is.
            stop = lane.count if p == len(after) else lane.before(after[p][0], after[p][1])
            stop = max(stop, i + 1)
            self._refuse(j, i, stop - i, RefusalReason.INSUFFICIENT_CREDITS, cost - balance)
            i = stop

    # ---------------------------------------------------------------- events

    def emit(self) -> None:
        ws, lanes = self.ws, self.lanes
        if not lanes:
            return
        batch_at = from_us(min(lane.first for lane in lanes))
        # (last instant, order, refill first, start, lane, chunk or -1 - refusal)
        pieces: list[tuple[int, int, int, int, int, int]] = []
        for j, chunks in enumerate(self.charged):
            lane = lanes[j]
            for c, (s, k, _, _, _) in enumerate(chunks):
                pieces.append((lane.at(s + k - 1), lane.order, 1, s, j, c))
        for j, refusals in enumerate(self.refused):
            lane = lanes[j]
            for r, (s, k, _, _) in enumerate(refusals):
                pieces.append((lane.at(s + k - 1), lane.order, 1, s, j, -1 - r))
        for r, (t, order, _, _) in enumerate(self.refills):
            pieces.append((t, order, 0, 0, -1, r))
        pieces.sort()
        for last, _, _, s, j, c in pieces:
            if j < 0:
                _, _, credits, usd = self.refills[c]
                ws.trigger_event(
                    ws.CreditsPurchased,
                    timestamp=from_us(last),
                    credits=credits,
                    usd=usd,
                    refill=True,
                )
                continue
            lane = lanes[j]
            task = lane.task
            if c >= 0:
                _, k, plan_part, purchased_part, _ = self.charged[j][c]
                ws.trigger_event(
                    ws.GenerationCharged,
                    timestamp=from_us(last),
                    model=task.model,
                    label=task.label,
                    mode=lane.mode,
                    first_at=from_us(lane.at(s)),
                    interval_us=lane.interval,
                    count=k,
                    credits_each=self._cost(lane),
                    plan_part=plan_part,
                    purchased_part=purchased_part,
                    refunded=slice_indices(lane.refunded, s, s + k),
                    safety_failed=slice_indices(lane.safety, s, s + k),
                    batch_at=batch_at,
                )
            else:
                _, k, reason, shortfall = self.refused[j][-1 - c]
                ws.trigger_event(
                    ws.GenerationRefused,
                    timestamp=from_us(last),
                    model=task.model,
                    label=task.label,
                    first_at=from_us(lane.at(s)),
                    interval_us=lane.interval,
                    count=k,
                    credits_each=task.credits_each,
                    reason=reason,
                    shortfall=shortfall,
                    batch_at=batch_at,
                )
