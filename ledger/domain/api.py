"""The API organization: prepaid credits, autobill, usage tiers and limits (A01-A11).

Commands check the rule, then trigger past-tense events. A refusal the
simulation discovers (not enough credits, the 30-day cap, the daily limit)
is an event with its reason, because users count them.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import partial
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules
from ledger.domain.base import SimulatedAggregate
from ledger.domain.errors import DomainError
from ledger.domain.runs import (
    Lane,
    add_to_window,
    count_paying,
    largest_true,
    next_midnight,
    prune_window,
    queue_run,
    slice_indices,
    tasks_at_or_before,
    tasks_before,
    window_count,
    window_count_until,
    window_room_at,
)
from ledger.domain.terms import (
    ApiKey,
    AutobillSettings,
    TaskSpec,
    TierRule,
    WaitingTask,
    typed,
)
from ledger.domain.time import DAYS_30_US, HOUR_US, from_us, to_us, utc
from ledger.domain.types import (
    AutobillCapPolicy,
    DailyLimitPolicy,
    RefusalReason,
    TierUpgradePolicy,
)

AUTOBILL_RETRY = timedelta(hours=24)  # A05
AUTOBILL_MAX_FAILURES = 3  # A05
OWNER = "owner"


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


@dataclass(frozen=True, slots=True)
class AutobillOutcome:
    """What one hourly autobill check does (A04), when it does something."""

    TOPPED_UP: ClassVar[str] = "topped_up"  # the full recharge
    CAPPED: ClassVar[str] = "capped"  # A07: cut to what the 30-day cap leaves
    CAP_BLOCKED: ClassVar[str] = "cap_blocked"  # A07: less than the minimum left
    DECLINED: ClassVar[str] = "declined"  # A05: the card is declined

    kind: str
    credits: int
    usd: Decimal
    remaining_usd: Decimal  # what the 30-day cap left before it


class ApiOrganization(SimulatedAggregate):
    """A developer organization (surface "api") and its prepaid credit balance."""

    # v1 held the tier table and settings as plain dicts, v2 the keys, v3 the backlog.
    class_version = 4

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        typed(state, autobill=AutobillSettings, tier_rules=TierRule)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        keys = state.get("keys") or {}
        state["keys"] = {
            name: ApiKey.from_dict(key) if isinstance(key, dict) else key
            for name, key in keys.items()
        }

    @staticmethod
    def upcast_v3_v4(state: dict[str, Any]) -> None:
        backlog = state.get("backlog") or {}
        state["backlog"] = {
            model: [WaitingTask.from_list(t) if isinstance(t, list) else t for t in tasks]
            for model, tasks in backlog.items()
        }

    class Opened(Aggregate.Created):
        class_version = 2  # v1 stored autobill as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, autobill=AutobillSettings, tier_rules=TierRule)

        name: str
        tier: int
        members: list[str]
        autobill: AutobillSettings | None
        tier_rules: list[TierRule]
        tier_upgrade: TierUpgradePolicy
        autobill_cap: AutobillCapPolicy
        min_purchase_credits: int
        autobill_min_credits: int
        credit_price_usd: Decimal
        on_daily_limit: DailyLimitPolicy
        balance: int  # credits carried in from before the window (an imported history)

    def __init__(
        self,
        name: str,
        tier: int,
        members: list[str],
        autobill: AutobillSettings | None,
        tier_rules: list[TierRule],
        tier_upgrade: TierUpgradePolicy,
        autobill_cap: AutobillCapPolicy,
        min_purchase_credits: int,
        autobill_min_credits: int,
        credit_price_usd: Decimal,
        on_daily_limit: DailyLimitPolicy,
        balance: int = 0,
    ) -> None:
        self.name = name
        self.on_daily_limit = on_daily_limit
        # A08 policy defer: per model, the tasks waiting for room in the 24 h window,
        # in order; when the first may go; the model's [concurrency, daily limit].
        self.backlog: dict[str, list[WaitingTask]] = {}
        self.backlog_room: dict[str, int] = {}
        self.backlog_limits: dict[str, list[int]] = {}
        self.tier = tier
        self.members = list(members)
        self.keys: dict[str, ApiKey] = {}
        self.balance = balance  # not a purchase: no dollars, no tier spend, no 30-day cap
        self.autobill = autobill
        self.autobill_enabled = autobill is not None
        self.autobill_failures = 0
        self.retry_at: datetime | None = None
        self.card_fails = 0
        self.cap_blocked = False
        self.purchases: list[list[Any]] = []  # [instant us, usd] inside the 30-day window
        self.purchases_usd = Decimal("0")  # their sum
        self.cumulative_usd = Decimal("0")
        self.first_purchase_at: datetime | None = None
        self.tier_rules = list(tier_rules)
        self.tier_upgrade = tier_upgrade
        self.autobill_cap = autobill_cap
        self.min_purchase_credits = min_purchase_credits
        self.autobill_min_credits = autobill_min_credits
        self.credit_price_usd = credit_price_usd
        self.windows: dict[str, list[list[int]]] = {}  # A08: accepted runs per model
        self.slots: dict[str, list[int]] = {}  # A09: when each concurrency slot is free

    @classmethod
    def open(
        cls,
        *,
        id: UUID,
        at: datetime,
        name: str,
        tier: int,
        tier_rules: list[TierRule],
        members: list[str] | None = None,
        autobill: AutobillSettings | None = None,
        tier_upgrade: TierUpgradePolicy = TierUpgradePolicy.SPEND_ONLY,
        autobill_cap: AutobillCapPolicy = AutobillCapPolicy.PARTIAL,
        min_purchase_credits: int = 1000,
        autobill_min_credits: int = 1000,
        credit_price_usd: Decimal = Decimal("0.01"),
        on_daily_limit: DailyLimitPolicy = DailyLimitPolicy.REJECT,
        balance: int = 0,
    ) -> ApiOrganization:
        members = list(members or [OWNER])
        if balance < 0:
            raise DomainError(f"an opening balance cannot be negative ({balance:,})")
        if tier not in {r.tier for r in tier_rules}:
            raise DomainError(f"tier {tier} is not in the tier table (1-5)", "A06")
        if autobill is not None:
            rules.enforce(
                rules.a04_autobill_settings(
                    autobill.threshold, autobill.amount, autobill_min_credits
                )
            )
        return cls._create(
            cls.Opened,
            id=id,
            timestamp=utc(at),
            name=name,
            tier=tier,
            members=members,
            autobill=autobill,
            tier_rules=sorted(tier_rules, key=lambda r: r.tier),
            tier_upgrade=tier_upgrade,
            autobill_cap=autobill_cap,
            min_purchase_credits=min_purchase_credits,
            autobill_min_credits=autobill_min_credits,
            credit_price_usd=credit_price_usd,
            on_daily_limit=on_daily_limit,
            balance=balance,
        )

    # ------------------------------------------------------------ derived state

    def _rule(self, tier: int) -> TierRule:
        for r in self.tier_rules:
            if r.tier == tier:
                return r
        raise DomainError(f"tier {tier} is not in the tier table", "A06")

    @property
    def monthly_cap_usd(self) -> Decimal:
        return self._rule(self.tier).monthly_cap_usd

    def window_spend_usd(self, at: datetime) -> Decimal:
        """A07: dollars of purchases in the rolling 30 days ending at ``at``.

        ``purchases`` is in time order and holds ``purchases_usd`` in all, so
        only the few that left the window since the last purchase are walked.
        """
        horizon = to_us(at) - DAYS_30_US
        total = Decimal(self.purchases_usd)
        for t, usd in self.purchases:
            if t > horizon:
                break
            total -= Decimal(usd)
        return total

    def remaining_cap_usd(self, at: datetime) -> Decimal:
        return max(Decimal("0"), self.monthly_cap_usd - self.window_spend_usd(at))

    @property
    def flagged_keys(self) -> list[str]:
        """A10: keys still active although the member who made them was removed."""
        return sorted(k for k, v in self.keys.items() if v.active and v.by not in self.members)

    # --------------------------------------------------------------- purchases

    def purchase_credits(self, at: datetime, credits: int, *, evaluate_tier: bool = True) -> None:
        """A01 at least 1,000 credits at $0.01; A07 refused over the 30-day cap."""
        at = utc(at)
        rules.enforce(rules.a01_purchase_minimum(credits, self.min_purchase_credits))
        usd = _cents(Decimal(credits) * self.credit_price_usd)
        remaining = self.remaining_cap_usd(at)
        if usd > remaining:
            self.trigger_event(
                self.PurchaseRefused,
                timestamp=at,
                credits=credits,
                usd=usd,
                reason=RefusalReason.MONTHLY_CAP,
                remaining_usd=remaining,
            )
            return
        self.trigger_event(
            self.CreditsPurchased,
            timestamp=at,
            credits=credits,
            usd=usd,
            window_spend_usd=self.window_spend_usd(at) + usd,
        )
        if evaluate_tier:  # the replay evaluates tiers later in the instant (S04)
            self.evaluate_tier(at)

    class CreditsPurchased(Aggregate.Event):
        credits: int
        usd: Decimal
        window_spend_usd: Decimal  # A07: the 30-day window's purchases after this one

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate._record_purchase(self.timestamp, self.credits, self.usd)

    class PurchaseRefused(Aggregate.Event):
        credits: int
        usd: Decimal
        reason: RefusalReason
        remaining_usd: Decimal

        def apply(self, aggregate: ApiOrganization) -> None:
            pass

    def _record_purchase(self, at: datetime, credits: int, usd: Decimal) -> None:
        now = to_us(at)
        self.balance += credits
        gone = 0
        for t, old in self.purchases:
            if t > now - DAYS_30_US:
                break
            self.purchases_usd = Decimal(self.purchases_usd) - Decimal(old)
            gone += 1
        if gone:
            del self.purchases[:gone]
        self.purchases.append([now, usd])
        self.purchases_usd = Decimal(self.purchases_usd) + Decimal(usd)
        self.cumulative_usd += usd
        if self.first_purchase_at is None:
            self.first_purchase_at = at

    # ---------------------------------------------------------------- autobill

    def autobill_outcome(
        self, at: datetime, balance: int, bought_usd: Decimal = Decimal("0")
    ) -> AutobillOutcome | None:
        """A04, A05, A07: what the hourly check at ``at`` would do with ``balance``;
        None when it does nothing. ``bought_usd``: top-ups made since the last
        recorded purchase (inside a batch), all within the 30-day window."""
        if self.autobill is None or not self.autobill_enabled:
            return None
        if self.retry_at is not None and at < self.retry_at:
            return None  # A05: after a failed charge the next attempt is 24 h later
        if balance >= self.autobill.threshold:
            return None
        credits = self.autobill.amount
        usd = _cents(Decimal(credits) * self.credit_price_usd)
        remaining = max(Decimal("0"), self.monthly_cap_usd - self.window_spend_usd(at) - bought_usd)
        if usd > remaining:
            minimum = Decimal(self.autobill_min_credits) * self.credit_price_usd
            if self.autobill_cap is not AutobillCapPolicy.PARTIAL or remaining < minimum:
                return AutobillOutcome(AutobillOutcome.CAP_BLOCKED, 0, Decimal("0"), remaining)
            credits = int((remaining / self.credit_price_usd).to_integral_value(ROUND_DOWN))
            usd = _cents(Decimal(credits) * self.credit_price_usd)
            kind = AutobillOutcome.CAPPED
        else:
            kind = AutobillOutcome.TOPPED_UP
        if self.card_fails > 0:
            return AutobillOutcome(AutobillOutcome.DECLINED, credits, usd, remaining)
        return AutobillOutcome(kind, credits, usd, remaining)

    def check_autobill(self, at: datetime, *, evaluate_tier: bool = True) -> None:
        """A04 hourly: strictly below the threshold buys the recharge, A05 retries, A07 cap."""
        at = utc(at)
        outcome = self.autobill_outcome(at, self.balance)
        if outcome is None:
            return
        if outcome.kind == AutobillOutcome.CAP_BLOCKED:
            if not self.cap_blocked:
                self.trigger_event(
                    self.AutobillFailed,
                    timestamp=at,
                    reason=RefusalReason.MONTHLY_CAP,
                    attempt=0,
                    retry_at=None,
                    disabled=False,
                    remaining_usd=outcome.remaining_usd,
                )
            return
        if outcome.kind == AutobillOutcome.DECLINED:
            attempt = self.autobill_failures + 1
            disabled = attempt >= AUTOBILL_MAX_FAILURES
            self.trigger_event(
                self.AutobillFailed,
                timestamp=at,
                reason=RefusalReason.CARD_DECLINED,
                attempt=attempt,
                retry_at=None if disabled else at + AUTOBILL_RETRY,
                disabled=disabled,
                remaining_usd=outcome.remaining_usd,
            )
            return
        self.top_up(at, outcome, batch_at=None)
        if evaluate_tier:
            self.evaluate_tier(at)

    def top_up(self, at: datetime, outcome: AutobillOutcome, batch_at: datetime | None) -> None:
        """Record an autobill recharge (A04) decided by ``autobill_outcome``."""
        self.trigger_event(
            self.AutobillToppedUp,
            timestamp=at,
            credits=outcome.credits,
            usd=outcome.usd,
            capped=outcome.kind == AutobillOutcome.CAPPED,
            window_spend_usd=self.window_spend_usd(at) + outcome.usd,
            batch_at=batch_at,
        )

    class AutobillToppedUp(Aggregate.Event):
        credits: int
        usd: Decimal
        capped: bool  # A07: cut to what the 30-day cap left
        window_spend_usd: Decimal
        batch_at: datetime | None  # made inside a batch of usage (S05), else None

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate._record_purchase(self.timestamp, self.credits, self.usd)
            aggregate.autobill_failures = 0
            aggregate.retry_at = None
            aggregate.cap_blocked = False

    class AutobillFailed(Aggregate.Event):
        reason: RefusalReason  # CARD_DECLINED (A05) or MONTHLY_CAP (A07)
        attempt: int  # 1-3 for card failures, 0 for the cap
        retry_at: datetime | None
        disabled: bool
        remaining_usd: Decimal

        def apply(self, aggregate: ApiOrganization) -> None:
            if self.reason is RefusalReason.MONTHLY_CAP:
                aggregate.cap_blocked = True
                return
            aggregate.card_fails = max(0, aggregate.card_fails - 1)
            aggregate.autobill_failures = self.attempt
            aggregate.retry_at = self.retry_at
            if self.disabled:
                aggregate.autobill_enabled = False

    def enable_autobill(
        self, at: datetime, threshold: int | None = None, amount: int | None = None
    ) -> None:
        """A05: re-enabled by hand (optionally with new settings)."""
        at = utc(at)
        current = self.autobill
        if threshold is None and current is not None:
            threshold = current.threshold
        if amount is None and current is not None:
            amount = current.amount
        if threshold is None or amount is None:
            raise DomainError("autobilling needs a threshold and an amount", "A04")
        settings = AutobillSettings(threshold=int(threshold), amount=int(amount))
        rules.enforce(
            rules.a04_autobill_settings(
                settings.threshold, settings.amount, self.autobill_min_credits
            )
        )
        self.trigger_event(self.AutobillEnabled, timestamp=at, settings=settings)

    def disable_autobill(self, at: datetime) -> None:
        self.trigger_event(self.AutobillDisabled, timestamp=utc(at))

    def schedule_card_failures(self, at: datetime, count: int) -> None:
        """The next ``count`` autobill charges will be declined (a what-if input)."""
        if count < 1:
            raise DomainError("card_fails counts the declined charges: at least 1", "A05")
        self.trigger_event(self.CardFailuresScheduled, timestamp=utc(at), count=count)

    class AutobillEnabled(Aggregate.Event):
        class_version = 2  # v1 stored settings as a plain dict

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            typed(state, settings=AutobillSettings)

        settings: AutobillSettings

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.autobill = self.settings
            aggregate.autobill_enabled = True
            aggregate.autobill_failures = 0
            aggregate.retry_at = None
            aggregate.cap_blocked = False

    class AutobillDisabled(Aggregate.Event):
        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.autobill_enabled = False
            aggregate.retry_at = None

    class CardFailuresScheduled(Aggregate.Event):
        count: int

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.card_fails += self.count

    # ------------------------------------------------------------------- tiers

    def _eligible_tier(self, at: datetime) -> int:
        best = self.tier
        for rule in self.tier_rules:
            if rule.tier <= best or self.cumulative_usd < rule.unlock_usd:
                continue
            if self.tier_upgrade is TierUpgradePolicy.SPEND_AND_AGE:
                if self.first_purchase_at is None:
                    continue
                ready = self.first_purchase_at + timedelta(days=rule.min_days_since_first_purchase)
                if at < ready:
                    continue
            best = rule.tier
        return best

    def evaluate_tier(self, at: datetime) -> None:
        """A06: a tier is reached once cumulative purchases reach its threshold."""
        at = utc(at)
        target = self._eligible_tier(at)
        if target > self.tier:
            self.trigger_event(
                self.TierRaised,
                timestamp=at,
                from_tier=self.tier,
                to_tier=target,
                cumulative_usd=self.cumulative_usd,
            )

    def purchase_moves_tier(self, before_usd: Decimal, usd: Decimal) -> bool:
        """A06: would buying ``usd`` more, after ``before_usd`` not yet recorded,
        reach a higher tier's threshold (at once or after its waiting period)?"""
        before = self.cumulative_usd + before_usd
        after = before + usd
        return any(r.tier > self.tier and before < r.unlock_usd <= after for r in self.tier_rules)

    @property
    def next_tier_check_at(self) -> datetime | None:
        """Under ``spend_and_age``, the instant a waiting period ends (else None)."""
        if (
            self.tier_upgrade is not TierUpgradePolicy.SPEND_AND_AGE
            or self.first_purchase_at is None
        ):
            return None
        pending = [
            self.first_purchase_at + timedelta(days=r.min_days_since_first_purchase)
            for r in self.tier_rules
            if r.tier > self.tier and self.cumulative_usd >= r.unlock_usd
        ]
        return min(pending) if pending else None

    class TierRaised(Aggregate.Event):
        from_tier: int
        to_tier: int
        cumulative_usd: Decimal

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.tier = self.to_tier  # A06: tiers never go down

    # ------------------------------------------------------- members and keys

    def add_member(self, at: datetime, member: str) -> None:
        at = utc(at)
        if member in self.members:
            self._refuse_member(at, member, RefusalReason.ALREADY_MEMBER)
            return
        self.trigger_event(self.MemberAdded, timestamp=at, member=member)

    def remove_member(self, at: datetime, member: str) -> None:
        """A10: members cannot remove the owner; removal does not revoke keys."""
        at = utc(at)
        if member == OWNER:
            raise DomainError("members have the owner's rights except removing the owner", "A10")
        if member not in self.members:
            self._refuse_member(at, member, RefusalReason.NOT_A_MEMBER)
            return
        still_active = sorted(k for k, v in self.keys.items() if v.active and v.by == member)
        self.trigger_event(
            self.MemberRemoved, timestamp=at, member=member, keys_left_active=still_active
        )

    def create_key(self, at: datetime, key: str, by: str = OWNER) -> None:
        at = utc(at)
        if key in self.keys:
            raise DomainError(f"an API key named {key!r} already exists", "A10")
        if by not in self.members:
            self.trigger_event(
                self.KeyRefused, timestamp=at, key=key, by=by, reason=RefusalReason.NOT_A_MEMBER
            )
            return
        self.trigger_event(self.ApiKeyCreated, timestamp=at, key=key, by=by)

    def disable_key(self, at: datetime, key: str) -> None:
        at = utc(at)
        if key not in self.keys or not self.keys[key].active:
            self.trigger_event(
                self.KeyRefused, timestamp=at, key=key, by="", reason=RefusalReason.UNKNOWN_KEY
            )
            return
        self.trigger_event(self.ApiKeyDisabled, timestamp=at, key=key)

    def _refuse_member(self, at: datetime, member: str, reason: RefusalReason) -> None:
        self.trigger_event(self.MemberRefused, timestamp=at, member=member, reason=reason)

    class MemberAdded(Aggregate.Event):
        member: str

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.members.append(self.member)

    class MemberRemoved(Aggregate.Event):
        member: str
        keys_left_active: list[str]  # A10: flagged until disabled

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.members.remove(self.member)

    class MemberRefused(Aggregate.Event):
        member: str
        reason: RefusalReason

        def apply(self, aggregate: ApiOrganization) -> None:
            pass

    class ApiKeyCreated(Aggregate.Event):
        key: str
        by: str

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.keys[self.key] = ApiKey(by=self.by)

    class ApiKeyDisabled(Aggregate.Event):
        key: str

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.keys[self.key] = replace(aggregate.keys[self.key], active=False)

    class KeyRefused(Aggregate.Event):
        key: str
        by: str
        reason: RefusalReason

        def apply(self, aggregate: ApiOrganization) -> None:
            pass

    # ------------------------------------------------------------------- tasks

    def submit_tasks(
        self,
        first_at: datetime,
        interval_us: int,
        count: int,
        task: TaskSpec,
        concurrency: int,
        daily_limit: int,
        refunded: list[int] | None = None,
        safety_failed: list[int] | None = None,
        key: str | None = None,
    ) -> None:
        """``count`` identical tasks, evenly spaced: a batch of one lane."""
        self.submit_batch(
            [
                Lane(
                    task=task,
                    first=to_us(first_at),
                    interval=interval_us,
                    count=count,
                    refunded=list(refunded or []),
                    safety=list(safety_failed or []),
                    key=key,
                    concurrency=concurrency,
                    daily_limit=daily_limit,
                )
            ]
        )

    def submit_batch(
        self, lanes: Sequence[Lane], checks: tuple[int, int] | None = None
    ) -> tuple[list[int], int | None]:
        """A02, A03, A08, A09, A11: the tasks of several usage lines over one stretch.

        Each task is decided exactly as if submitted alone, in true time order
        across the lanes (ties in lane order): over the rolling 24 h limit for
        its model it is refused as rate-limited (A08), or under the policy
        ``defer`` waits for room (and so do the model's later tasks until the
        backlog is cleared); short of credits it is refused (A03); otherwise it
        is charged at submission (A09), queued for a free concurrency slot of
        its model, and refunded at once if it fails internally (A11; safety
        failures stay charged). Deferred tasks whose room comes go first, each
        at its own instant. Apart from them nothing in a batch adds or takes
        credits, so a lane short of credits stays short until the batch ends.

        The decisions are found by arithmetic: the longest stretch in which no
        limit can bind is accepted at once (credits and windows bounded from
        above), and only the task where something may bind is decided alone.
        Each lane's consecutive tasks with the same outcome become one event;
        events of different lanes overlap in time and are recorded in the
        order of their last task.

        ``checks`` (first, last): the hourly autobill checks (A04) at ``first``,
        ``first`` + 1 h, ... up to ``last`` are made inside the batch, each
        before the tasks of its instant, under the policy ``reject``, on one
        UTC day. A check that tops up plainly (the full recharge, under the
        30-day cap, reaching no new tier) adds its credits there and the runs
        go on across it; any other outcome (a declined card, the cap, a tier)
        stops the batch before that check, for the replay to make it alone.
        Returns how many tasks of each lane were decided, and the first check
        not made (None without ``checks``).
        """
        if checks is not None:
            assert self.on_daily_limit is DailyLimitPolicy.REJECT
            decision = _ApiBatch(self, list(lanes), checks)
            decision.run()
            decision.emit()
            return decision.decided(), decision.check_at
        self._submit_all(lanes)
        return [lane.count for lane in lanes], None

    def first_check_that_might_buy(
        self, lanes: Sequence[Lane], first: int, last: int
    ) -> int | None:
        """A04: of the hourly checks at ``first``, ``first`` + 1 h, ... up to ``last``,
        the first that might buy: one at which the balance would be below the
        threshold were every task of ``lanes`` before it charged (autobill on, no
        retry pending). The checks before it surely do nothing. None: none might.

        The same upper bound a batch uses to pass over its checks (``_next_check``);
        the replay asks it where it cannot make the checks inside the batch (A08
        ``defer``), to end the batch at that check and make it alone.
        """
        h = _ApiBatch(self, list(lanes), (first, last))._next_check(list(range(len(lanes))))
        return h if h is not None and h <= last else None

    def _submit_all(self, lanes: Sequence[Lane]) -> None:
        rest = [lane for lane in lanes if lane.count > 0]
        while rest:
            first = min(lane.first for lane in rest)
            due = self.next_deferred_us
            if due is not None and due <= first:
                self.resubmit_deferred(from_us(first))  # A08 defer: they came earlier
                continue
            # A batch stops where a deferred task is due, and several lanes are
            # decided a UTC day at a time (the replay cuts them so anyway).
            stop = due if due is not None else None
            if len(rest) > 1 and any(lane.last >= next_midnight(first) for lane in rest):
                midnight = next_midnight(first)
                stop = midnight if stop is None else min(stop, midnight)
            now = [lane.head(lane.before_instant(stop)) for lane in rest] if stop else rest
            decision = _ApiBatch(self, now)
            decision.run()
            cut = decision.cut
            if cut is not None:
                # A08 defer: a task must wait. Decide what came before it, then
                # defer it; the model's later tasks wait behind it.
                t, order, cut_lane, cut_index = cut
                now = [
                    lane.head(cut_index if j == cut_lane else lane.before(t, order))
                    for j, lane in enumerate(now)
                ]
                decision = _ApiBatch(self, now)
                decision.run()
                assert decision.cut is None  # the tasks before the first wait are unchanged
            decision.emit()
            rest = [lane.tail(done.count) for lane, done in zip(rest, now, strict=True)]
            if cut is not None:
                self._defer_first(rest[cut_lane])
                rest[cut_lane] = rest[cut_lane].tail(1)
            rest = [lane for lane in rest if lane.count > 0]

    def _defer_first(self, lane: Lane) -> None:
        """A08 defer: the lane's first task waits for room in its model's window."""
        room = window_room_at(self.windows.get(lane.task.model, []), lane.first, lane.daily_limit)
        self.trigger_event(
            self.TaskDeferred,
            **_deferral_fields(lane, 0, 1, from_us(lane.first)),
            until=from_us(room),
        )

    # ------------------------------------------------ A08 policy defer

    @property
    def next_deferred_us(self) -> int | None:
        """When the first deferred task (any model) may be submitted, or None."""
        rooms = [self.backlog_room[m] for m, tasks in self.backlog.items() if tasks]
        return min(rooms) if rooms else None

    @property
    def next_deferred_at(self) -> datetime | None:
        due = self.next_deferred_us
        return from_us(due) if due is not None else None

    def resubmit_deferred(self, at: datetime) -> None:
        """A08 defer: submit, in order, every deferred task whose room has come by ``at``.

        Each is submitted at the instant the rolling window has room for it, then
        charged (A09) or refused for lack of credits (A03) as any task is.
        """
        now = to_us(utc(at))
        while True:
            due = self.next_deferred_us
            if due is None or due > now:
                return
            model = min(
                (m for m, tasks in self.backlog.items() if tasks),
                key=lambda m: (self.backlog_room[m], m),
            )
            waiting = self.backlog[model][0]
            requested, cost, processing = (
                waiting.requested_us,
                waiting.credits_each,
                waiting.processing_us,
            )
            concurrency, _ = self.backlog_limits[model]
            submitted = self.backlog_room[model]
            common: dict[str, Any] = {
                "timestamp": from_us(submitted),
                "model": model,
                "label": waiting.label,
                "key": waiting.key or None,
                "first_at": from_us(submitted),
                "interval_us": 0,
                "count": 1,
                "credits_each": cost,
                "requested_at": from_us(requested),
                "deferred_us": submitted - requested,
                "batch_at": from_us(submitted),
            }
            if self.balance < cost:
                self.trigger_event(
                    self.DeferredTaskRefused,
                    reason=RefusalReason.INSUFFICIENT_CREDITS,
                    shortfall=cost - self.balance,
                    **common,
                )
                continue
            slots = list(self.slots.get(model, []))
            if len(slots) < concurrency:
                slots.extend([0] * (concurrency - len(slots)))
            wait, wait_at = queue_run(slots, submitted, 0, 1, processing)
            self.trigger_event(
                self.TaskResubmitted,
                refunded=[0] if waiting.refunded else [],
                safety_failed=[0] if waiting.safety_failed else [],
                max_wait_us=wait,
                max_wait_at=from_us(wait_at),
                slots_after=slots,
                processing_us=processing,
                **common,
            )

    def _after_resubmission(self, model: str, at: datetime) -> None:
        """Drop the backlog's first task and find when the next may go (from events)."""
        tasks = self.backlog[model]
        tasks.pop(0)
        if not tasks:
            del self.backlog[model]
            self.backlog_room.pop(model, None)
            return
        _, daily = self.backlog_limits[model]
        t = to_us(at)
        self.backlog_room[model] = window_room_at(self.windows.get(model, []), t, daily)

    class TaskCharged(Aggregate.Event):
        """``count`` tasks at ``first_at + i * interval_us``, charged at submission;
        the event's timestamp is the last one's. ``refunded`` tasks (relative
        indices) failed internally and were given back at their own instant.
        """

        model: str
        label: str
        key: str | None
        first_at: datetime
        interval_us: int
        count: int
        credits_each: int
        refunded: list[int]
        safety_failed: list[int]
        max_wait_us: int  # A09: the longest queue wait among these tasks
        max_wait_at: datetime
        slots_after: list[int]  # A09: when each concurrency slot is free afterwards
        batch_at: datetime  # the first instant of the batch it was decided in (S05)

        def apply(self, aggregate: ApiOrganization) -> None:
            kept = count_paying(self.count, self.refunded, 0, self.count)
            aggregate.balance -= kept * self.credits_each
            first = to_us(self.first_at)
            window = aggregate.windows.setdefault(self.model, [])
            prune_window(window, first)
            add_to_window(window, first, self.interval_us, self.count)
            aggregate.slots[self.model] = list(self.slots_after)

        def done_by(self, at: datetime) -> tuple[int, int]:
            """(tasks submitted, credits kept) by instant ``at`` (S05 inside a run)."""
            n = tasks_at_or_before(to_us(self.first_at), self.interval_us, self.count, to_us(at))
            return n, count_paying(n, self.refunded, 0, n) * self.credits_each

    class TaskRefused(Aggregate.Event):
        model: str
        label: str
        key: str | None
        first_at: datetime
        interval_us: int
        count: int
        credits_each: int
        reason: RefusalReason
        shortfall: int
        batch_at: datetime  # the first instant of the batch it was decided in (S05)

        def apply(self, aggregate: ApiOrganization) -> None:
            pass

    class TaskDeferred(Aggregate.Event):
        """A08 policy defer: ``count`` tasks over the rolling 24 h limit wait, in order,
        for room in the window; the first may go ``until``. Nothing is charged yet."""

        model: str
        label: str
        key: str | None
        first_at: datetime
        interval_us: int
        count: int
        credits_each: int
        processing_us: int
        refunded: list[int]
        safety_failed: list[int]
        until: datetime
        concurrency: int
        daily_limit: int
        batch_at: datetime  # the first instant of the batch it was decided in (S05)

        def apply(self, aggregate: ApiOrganization) -> None:
            first = to_us(self.first_at)
            tasks = aggregate.backlog.setdefault(self.model, [])
            if not tasks:
                aggregate.backlog_room[self.model] = to_us(self.until)
            refunded, safety = set(self.refunded), set(self.safety_failed)
            tasks.extend(
                WaitingTask(
                    first + j * self.interval_us,
                    self.credits_each,
                    self.processing_us,
                    self.label,
                    self.key or "",
                    j in refunded,
                    j in safety,
                )
                for j in range(self.count)
            )
            aggregate.backlog_limits[self.model] = [self.concurrency, self.daily_limit]

    class TaskResubmitted(TaskCharged):
        """A08 policy defer: a deferred task submitted when the window had room, and
        charged then (A09); ``deferred_us`` is how long it waited for that room."""

        requested_at: datetime
        deferred_us: int
        processing_us: int

        def apply(self, aggregate: ApiOrganization) -> None:
            super().apply(aggregate)
            aggregate._after_resubmission(self.model, self.timestamp)

    class DeferredTaskRefused(TaskRefused):
        """A08 policy defer: a deferred task that, when its room came, was short of
        credits (A03): refused then, nothing charged."""

        requested_at: datetime
        deferred_us: int

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate._after_resubmission(self.model, self.timestamp)


_Refusal = tuple[int, int, RefusalReason, int]  # (first index, count, reason, shortfall)


class _ApiBatch:
    """The decisions of one ``submit_batch`` call, on a copy of the state it reads."""

    def __init__(
        self, org: ApiOrganization, lanes: list[Lane], checks: tuple[int, int] | None = None
    ) -> None:
        self.org = org
        self.lanes = lanes
        # A04 hourly autobill checks made inside the batch: the next one, the last
        # one, the plain top-ups made (instant, outcome) and their dollars;
        # the check the batch stopped before (everything from it on is left).
        self.check_at: int | None = checks[0] if checks is not None else None
        self.check_last = checks[1] if checks is not None else -1
        self.topups: list[tuple[int, AutobillOutcome]] = []
        self.topup_usd = Decimal("0")
        self.stopped_at: int | None = None
        n = len(lanes)
        self.pos = [0] * n
        self.dead = [-1] * n  # index of the task where the lane fell short of credits
        self.charged: list[list[list[int]]] = [[] for _ in range(n)]  # [start, count]
        self.refused: list[list[_Refusal]] = [[] for _ in range(n)]
        self.balance = org.balance
        self.windows: dict[str, list[list[int]]] = {}  # copied from the org's on first change
        self.limit: dict[str, int] = {}
        for lane in lanes:
            m = lane.task.model
            self.limit[m] = min(self.limit.get(m, lane.daily_limit), lane.daily_limit)
        # From the first lane short of credits on: its balance and window state, and
        # every task accepted after it, (instant, order, index, credits kept, model).
        self.death: tuple[int, int] | None = None
        self.death_balance = 0
        self.death_windows: dict[str, list[list[int]]] = {}
        self.after_death: list[tuple[int, int, int, int, str]] = []
        # A08 policy defer: chunks [start, count] of each lane that wait for room,
        # and the first task (instant, lane order) that would start waiting now.
        self.defer = org.on_daily_limit is DailyLimitPolicy.DEFER
        self.deferred: list[list[list[int]]] = [[] for _ in range(n)]
        self.cut: tuple[int, int, int, int] | None = None  # (instant, order, lane, index)

    # ---------------------------------------------------------------- deciding

    def run(self) -> None:
        lanes, pos = self.lanes, self.pos
        keys = self.org.keys
        waiting: dict[str, list[int]] = {}
        for j, lane in enumerate(lanes):
            if lane.key is not None and not (lane.key in keys and keys[lane.key].active):
                self._refuse(j, 0, lane.count, RefusalReason.UNKNOWN_KEY, 0)
                pos[j] = lane.count
            elif self.defer and self.org.backlog.get(lane.task.model):
                waiting.setdefault(lane.task.model, []).append(j)
        for js in waiting.values():
            self._defer_waiting(js)
        while self.cut is None and self.stopped_at is None:
            live = [j for j, lane in enumerate(lanes) if self.dead[j] < 0 and pos[j] < lane.count]
            t0 = min(lanes[j].at(pos[j]) for j in live) if live else None
            h = self._next_check(live)
            if h is not None and h <= self.check_last and (t0 is None or h <= t0):
                # A04 (S04): the check comes before the tasks of its instant.
                if self._check(h):
                    self.check_at = h + HOUR_US
                else:
                    self.stopped_at = h
                continue
            if not live or t0 is None:
                break
            end = max(lanes[j].last for j in live)
            if h is not None and h <= self.check_last:
                end = min(end, h - 1)  # a stretch ends before the next check
            held = {
                lanes[j].task.model: window_count(self._window(lanes[j].task.model), t0)
                for j in live
            }
            last = largest_true(t0, end, partial(self._safe, live, held))
            if last >= t0:
                for j in live:
                    self._accept(j, pos[j], lanes[j].upto(last))
                continue
            self._step(min(live, key=lambda j: (lanes[j].at(pos[j]), lanes[j].order)))
        for j, start in enumerate(self.dead):
            if start >= 0:
                self._decide_short(j, start, self._stop_index(j))
        if self.stopped_at is not None:
            # Refusals that need no credits (A08, A10) may reach past the check
            # the batch stopped at: they are left to be decided after it.
            for j, refusals in enumerate(self.refused):
                stop = self._stop_index(j)
                kept = [(s, min(k, stop - s), r, f) for s, k, r, f in refusals if s < stop]
                self.refused[j] = kept

    def _stop_index(self, j: int) -> int:
        """Where lane ``j``'s decisions end: before the check the batch stopped at."""
        lane = self.lanes[j]
        return lane.count if self.stopped_at is None else lane.before_instant(self.stopped_at)

    def decided(self) -> list[int]:
        """How many tasks of each lane this batch decided."""
        return [self._stop_index(j) for j in range(len(self.lanes))]

    def _next_check(self, live: list[int]) -> int | None:
        """The next check that might buy (A04); the ones before it are passed over:
        they would find the balance at or above the threshold even were every
        task before them charged (or autobill off, or a retry pending)."""
        h = self.check_at
        org = self.org
        if h is None or h > self.check_last:
            return h
        autobill = org.autobill
        after = (self.check_last - h) // HOUR_US + 1  # checks from h to check_last
        if autobill is None or not org.autobill_enabled:
            self.check_at = h + after * HOUR_US  # none can buy
            return self.check_at
        retry_us = None if org.retry_at is None else to_us(org.retry_at)
        lanes, pos = self.lanes, self.pos

        def might_buy(k: int) -> bool:
            # Both conditions only turn true as the hour k grows (the spend before
            # a check never shrinks), so the first such check is found by bisection.
            at = h + k * HOUR_US
            if retry_us is not None and at < retry_us:
                return False
            spend = 0
            for j in live:
                lane = lanes[j]
                stop = lane.before_instant(at)
                if stop > pos[j]:
                    paying = count_paying(lane.count, lane.refunded, pos[j], stop)
                    spend += paying * lane.task.credits_each
            return self.balance - spend < autobill.threshold

        low, high = 0, after  # the first k in [0, after) that might buy, else `after`
        while low < high:
            mid = (low + high) // 2
            if might_buy(mid):
                high = mid
            else:
                low = mid + 1
        self.check_at = h + low * HOUR_US
        return self.check_at

    def _check(self, h: int) -> bool:
        """A04 at instant ``h``, on the batch's balance: True when decided here
        (nothing to do, or a plain top-up made), False when the replay must make
        it alone (A05 a card to decline, A07 the cap, A06 a new tier)."""
        org = self.org
        outcome = org.autobill_outcome(from_us(h), self.balance, self.topup_usd)
        if outcome is None:
            return True
        if outcome.kind != AutobillOutcome.TOPPED_UP or org.purchase_moves_tier(
            self.topup_usd, outcome.usd
        ):
            return False
        # Lanes short of credits were short until now; from here they may go again.
        for j, start in enumerate(self.dead):
            if start >= 0:
                stop = self.lanes[j].before_instant(h)
                self._decide_short(j, start, stop)
                self.pos[j] = stop
                self.dead[j] = -1
        self.death = None
        self.after_death = []
        self.balance += outcome.credits
        self.topups.append((h, outcome))
        self.topup_usd += outcome.usd
        return True

    def _safe(self, live: list[int], held: dict[str, int], t: int) -> bool:
        """Every live lane's tasks up to ``t`` surely go through (upper bounds)."""
        spend = 0
        worst_refund = 0
        joined = dict.fromkeys(held, 0)
        for j in live:
            lane = self.lanes[j]
            start, stop = self.pos[j], lane.upto(t)
            if stop <= start:
                continue
            cost = lane.task.credits_each
            joined[lane.task.model] += stop - start
            spend += count_paying(lane.count, lane.refunded, start, stop) * cost
            if cost > worst_refund and bisect_left(lane.refunded, start) < bisect_left(
                lane.refunded, stop
            ):
                worst_refund = cost  # A11: a refunded task is charged before it is given back
        if self.balance - spend < worst_refund:
            return False
        return all(held[m] + k <= self.limit[m] for m, k in joined.items())

    def _step(self, j: int) -> None:
        """Decide the next task alone (lane ``j``), exactly as per-task processing."""
        lane = self.lanes[j]
        i = self.pos[j]
        t = lane.at(i)
        model = lane.task.model
        window = self._window(model)
        if window_count(window, t) >= lane.daily_limit:
            if self.defer:
                self._cut_at(j, i)  # A08 defer: it waits; the batch stops here
                return
            # A08: nothing of this model joins the window before it has room again.
            room = window_room_at(window, t, lane.daily_limit)
            k = max(1, tasks_before(t, lane.interval, lane.count - i, room))
            self._refuse(j, i, k, RefusalReason.DAILY_LIMIT, 0)
            self.pos[j] = i + k
        elif self.balance < lane.task.credits_each:
            self.dead[j] = i  # A03: and so for the rest of the batch
            if self.death is None:
                self.death = (t, lane.order)
                self.death_balance = self.balance
                self.death_windows = {m: [list(r) for r in self._window(m)] for m in self.limit}
        else:
            self._accept(j, i, i + 1)

    def _defer_waiting(self, js: list[int]) -> None:
        """A08 defer: lanes of a model with a backlog. Every task of theirs waits
        (the batch ends before the backlog's first room), in true time order."""
        lanes, pos = self.lanes, self.pos
        others: list[Lane] = [lanes[j] for j in js]
        while True:
            nxt: list[int | None] = [pos[j] if pos[j] < lanes[j].count else None for j in js]
            going = [k for k, p in enumerate(nxt) if p is not None]
            if not going:
                return
            k = min(going, key=lambda k: (others[k].at(pos[js[k]]), others[k].order))
            j = js[k]
            n = max(1, others[k].run_before(pos[j], others, nxt))
            self.deferred[j].append([pos[j], n])
            pos[j] += n

    def _window(self, model: str) -> list[list[int]]:
        window = self.windows.get(model)
        return window if window is not None else self.org.windows.get(model, [])

    def _accept(self, j: int, start: int, stop: int) -> None:
        if stop <= start:
            return
        lane = self.lanes[j]
        cost = lane.task.credits_each
        self.balance -= count_paying(lane.count, lane.refunded, start, stop) * cost
        chunks = self.charged[j]
        if chunks and chunks[-1][0] + chunks[-1][1] == start:
            chunks[-1][1] += stop - start
        else:
            chunks.append([start, stop - start])
        model = lane.task.model
        if model not in self.windows:
            self.windows[model] = [list(r) for r in self.org.windows.get(model, [])]
        add_to_window(self.windows[model], lane.at(start), lane.interval, stop - start)
        if self.death is not None:
            refunded = set(lane.refunded[bisect_left(lane.refunded, start) :])
            for i in range(start, stop):
                kept = 0 if i in refunded else cost
                self.after_death.append((lane.at(i), lane.order, i, kept, model))
        self.pos[j] = stop

    def _refuse(self, j: int, start: int, k: int, reason: RefusalReason, shortfall: int) -> None:
        refused = self.refused[j]
        if refused:
            s0, k0, r0, f0 = refused[-1]
            if s0 + k0 == start and r0 is reason and f0 == shortfall:
                refused[-1] = (s0, k0 + k, r0, f0)
                return
        refused.append((start, k, reason, shortfall))

    def _decide_short(self, j: int, start: int, stop: int) -> None:
        """A08/A03 for tasks ``start`` to ``stop`` of a lane short of credits:
        rate-limited while its model's window is full, else refused for credits,
        with the shortfall of the balance at its own instant (other lanes may
        still be charged)."""
        if stop <= start:
            return
        lane = self.lanes[j]
        model = lane.task.model
        cost = lane.task.credits_each
        limit = lane.daily_limit
        after = sorted(self.after_death)
        if not after:
            window = self.death_windows.get(model, [])
            i = start
            if window_count_until(window, lane.at(i)) >= limit:
                if self.defer:
                    self._cut_at(j, i)
                    return
                room = window_room_at(window, lane.at(i), limit)
                k = max(1, tasks_before(lane.at(i), lane.interval, stop - i, room))
                self._refuse(j, i, k, RefusalReason.DAILY_LIMIT, 0)
                i += k
            if i < stop:
                shortfall = cost - self.death_balance
                self._refuse(j, i, stop - i, RefusalReason.INSUFFICIENT_CREDITS, shortfall)
            return
        window = self.death_windows.get(model, [])
        balance = self.death_balance
        joined = 0
        p = 0
        for i in range(start, stop):
            t = lane.at(i)
            while p < len(after) and after[p][:3] < (t, lane.order, i):
                balance -= after[p][3]
                joined += after[p][4] == model
                p += 1
            if window_count_until(window, t) + joined >= limit:
                if self.defer:
                    self._cut_at(j, i)
                    return
                self._refuse(j, i, 1, RefusalReason.DAILY_LIMIT, 0)
            else:
                self._refuse(j, i, 1, RefusalReason.INSUFFICIENT_CREDITS, cost - balance)

    def _cut_at(self, j: int, i: int) -> None:
        """A08 defer: task ``i`` of lane ``j`` must wait; keep the earliest such task."""
        lane = self.lanes[j]
        cut = (lane.at(i), lane.order, j, i)
        if self.cut is None or cut < self.cut:
            self.cut = cut

    # ---------------------------------------------------------------- queues

    def _queues(self) -> dict[tuple[int, int], tuple[int, int, list[int]]]:
        """A09 per model over the charged tasks: (max wait, its arrival, slots after)
        for each charged chunk, keyed by (lane, chunk number)."""
        out: dict[tuple[int, int], tuple[int, int, list[int]]] = {}
        by_model: dict[str, list[tuple[int, int]]] = {}
        for j, chunks in enumerate(self.charged):
            for c in range(len(chunks)):
                by_model.setdefault(self.lanes[j].task.model, []).append((j, c))
        for model, items in by_model.items():
            concurrency = max(self.lanes[j].concurrency for j, _ in items)
            slots = list(self.org.slots.get(model, []))
            if len(slots) < concurrency:  # A06: a higher tier adds slots, free at once
                slots.extend([0] * (concurrency - len(slots)))
            if len({j for j, _ in items}) == 1:
                for j, c in items:
                    lane = self.lanes[j]
                    s, k = self.charged[j][c]
                    wait, at = queue_run(
                        slots, lane.at(s), lane.interval, k, lane.task.processing_us
                    )
                    out[(j, c)] = (wait, at, list(slots))
                continue
            out.update(self._merged_queue(slots, items))
        return out

    def _merged_queue(
        self, slots: list[int], items: list[tuple[int, int]]
    ) -> dict[tuple[int, int], tuple[int, int, list[int]]]:
        """Several lanes of one model: each task takes the earliest free slot, in
        true submission order (FIFO), exactly as per-task processing."""
        tasks: list[tuple[int, int, int, int, int]] = []  # (arrival, order, i, lane, chunk)
        for j, c in items:
            lane = self.lanes[j]
            s, k = self.charged[j][c]
            tasks.extend((lane.at(i), lane.order, i, j, c) for i in range(s, s + k))
        tasks.sort()
        heapq.heapify(slots)
        worst: dict[tuple[int, int], tuple[int, int]] = {}
        out: dict[tuple[int, int], tuple[int, int, list[int]]] = {}
        for arrival, _, i, j, c in tasks:
            free = heapq.heappop(slots)
            begin = max(arrival, free)
            heapq.heappush(slots, begin + self.lanes[j].task.processing_us)
            wait = begin - arrival
            best = worst.get((j, c))
            if best is None or wait > best[0]:
                worst[(j, c)] = (wait, arrival)
            s, k = self.charged[j][c]
            if i == s + k - 1:
                w, at = worst[(j, c)]
                out[(j, c)] = (w, at, sorted(slots))
        return out

    # ---------------------------------------------------------------- events

    def emit(self) -> None:
        org, lanes = self.org, self.lanes
        starts = [lane.first for lane in lanes if lane.count] + [h for h, _ in self.topups]
        if not starts:
            return
        batch_at = from_us(min(starts))
        queues = self._queues()
        pieces: list[tuple[int, int, int, int, int]] = []  # (last instant, order, start, lane, n)
        for j, chunks in enumerate(self.charged):
            lane = lanes[j]
            for c, (s, k) in enumerate(chunks):
                pieces.append((lane.at(s + k - 1), lane.order, s, j, c))
        for j, refusals in enumerate(self.refused):
            lane = lanes[j]
            for r, (s, k, _, _) in enumerate(refusals):
                pieces.append((lane.at(s + k - 1), lane.order, s, j, -1 - r))
        deferred = 1 << 40  # piece numbers from here on are deferred chunks
        for j, chunks in enumerate(self.deferred):
            lane = lanes[j]
            for d, (s, k) in enumerate(chunks):
                pieces.append((lane.at(s + k - 1), lane.order, s, j, deferred + d))
        for u, (h, _) in enumerate(self.topups):
            pieces.append((h, -1, 0, -1, u))  # A04: before the tasks of its instant
        pieces.sort()
        for last, _, s, j, c in pieces:
            if j < 0:
                org.top_up(from_us(last), self.topups[c][1], batch_at)
                continue
            lane = lanes[j]
            if c >= deferred:
                k = self.deferred[j][c - deferred][1]
                org.trigger_event(
                    org.TaskDeferred,
                    **_deferral_fields(lane, s, k, batch_at),
                    until=from_us(org.backlog_room[lane.task.model]),
                )
            elif c >= 0:
                k = self.charged[j][c][1]
                wait, wait_at, slots_after = queues[(j, c)]
                org.trigger_event(
                    org.TaskCharged,
                    **_run_fields(lane, s, k, batch_at),
                    **_failure_fields(lane, s, k),
                    max_wait_us=wait,
                    max_wait_at=from_us(wait_at),
                    slots_after=slots_after,
                )
            else:
                _, k, reason, shortfall = self.refused[j][-1 - c]
                org.trigger_event(
                    org.TaskRefused,
                    **_run_fields(lane, s, k, batch_at),
                    reason=reason,
                    shortfall=shortfall,
                )


def _run_fields(lane: Lane, s: int, k: int, batch_at: datetime) -> dict[str, Any]:
    """What every run event says of tasks ``s`` to ``s + k`` of ``lane``."""
    task = lane.task
    return {
        "timestamp": from_us(lane.at(s + k - 1)),
        "model": task.model,
        "label": task.label,
        "key": lane.key,
        "first_at": from_us(lane.at(s)),
        "interval_us": lane.interval,
        "count": k,
        "credits_each": task.credits_each,
        "batch_at": batch_at,
    }


def _failure_fields(lane: Lane, s: int, k: int) -> dict[str, Any]:
    """A11: which of those tasks fail, as indices relative to ``s``."""
    return {
        "refunded": slice_indices(lane.refunded, s, s + k),
        "safety_failed": slice_indices(lane.safety, s, s + k),
    }


def _deferral_fields(lane: Lane, s: int, k: int, batch_at: datetime) -> dict[str, Any]:
    """A08 defer: what a TaskDeferred keeps to resubmit those tasks later (but ``until``)."""
    return {
        **_run_fields(lane, s, k, batch_at),
        **_failure_fields(lane, s, k),
        "processing_us": lane.task.processing_us,
        "concurrency": lane.concurrency,
        "daily_limit": lane.daily_limit,
    }
