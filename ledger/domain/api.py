"""The API organization: prepaid credits, autobill, usage tiers and limits (A01-A11).

Commands check the rule, then trigger past-tense events. A refusal the
simulation discovers (not enough credits, the 30-day cap, the daily limit)
is an event with its reason, because users count them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger.domain import rules
from ledger.domain.base import SimulatedAggregate
from ledger.domain.errors import DomainError
from ledger.domain.runs import (
    add_to_window,
    affordable,
    count_paying,
    prune_window,
    queue_run,
    slice_indices,
    tasks_at_or_before,
    tasks_before,
    window_count,
    window_room_at,
)
from ledger.domain.terms import TaskSpec, TierRule
from ledger.domain.time import DAYS_30_US, from_us, to_us, utc
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


class ApiOrganization(SimulatedAggregate):
    """A developer organization (surface "api") and its prepaid credit balance."""

    class Opened(Aggregate.Created):
        name: str
        tier: int
        members: list[str]
        autobill: dict[str, int] | None
        tier_rules: list[dict[str, Any]]
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
        autobill: dict[str, int] | None,
        tier_rules: list[dict[str, Any]],
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
        # in order: [requested us, credits each, processing us, label, key, refunded,
        # safety failed]; when the first may go; the model's [concurrency, daily limit].
        self.backlog: dict[str, list[list[Any]]] = {}
        self.backlog_room: dict[str, int] = {}
        self.backlog_limits: dict[str, list[int]] = {}
        self.tier = tier
        self.members = list(members)
        self.keys: dict[str, dict[str, Any]] = {}
        self.balance = balance  # not a purchase: no dollars, no tier spend, no 30-day cap
        self.autobill = dict(autobill) if autobill else None
        self.autobill_enabled = autobill is not None
        self.autobill_failures = 0
        self.retry_at: datetime | None = None
        self.card_fails = 0
        self.cap_blocked = False
        self.purchases: list[list[Any]] = []  # [instant us, usd] inside the 30-day window
        self.cumulative_usd = Decimal("0")
        self.first_purchase_at: datetime | None = None
        self.tier_rules = [dict(r) for r in tier_rules]
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
        autobill: dict[str, int] | None = None,
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
                    autobill["threshold"], autobill["amount"], autobill_min_credits
                )
            )
        return cls._create(
            cls.Opened,
            id=id,
            timestamp=utc(at),
            name=name,
            tier=tier,
            members=members,
            autobill=dict(autobill) if autobill else None,
            tier_rules=[r.to_dict() for r in sorted(tier_rules, key=lambda r: r.tier)],
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
            if int(r["tier"]) == tier:
                return TierRule.from_dict(r)
        raise DomainError(f"tier {tier} is not in the tier table", "A06")

    @property
    def monthly_cap_usd(self) -> Decimal:
        return self._rule(self.tier).monthly_cap_usd

    def window_spend_usd(self, at: datetime) -> Decimal:
        """A07: dollars of purchases in the rolling 30 days ending at ``at``."""
        horizon = to_us(at) - DAYS_30_US
        return sum((Decimal(usd) for t, usd in self.purchases if t > horizon), Decimal("0"))

    def remaining_cap_usd(self, at: datetime) -> Decimal:
        return max(Decimal("0"), self.monthly_cap_usd - self.window_spend_usd(at))

    @property
    def flagged_keys(self) -> list[str]:
        """A10: keys still active although the member who made them was removed."""
        return sorted(
            k for k, v in self.keys.items() if v["active"] and v["by"] not in self.members
        )

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
        self.purchases = [p for p in self.purchases if p[0] > now - DAYS_30_US]
        self.purchases.append([now, usd])
        self.cumulative_usd += usd
        if self.first_purchase_at is None:
            self.first_purchase_at = at

    # ---------------------------------------------------------------- autobill

    def check_autobill(self, at: datetime, *, evaluate_tier: bool = True) -> None:
        """A04 hourly: strictly below the threshold buys the recharge, A05 retries, A07 cap."""
        at = utc(at)
        if self.autobill is None or not self.autobill_enabled:
            return
        if self.retry_at is not None and at < self.retry_at:
            return  # A05: after a failed charge the next attempt is 24 h later
        if self.balance >= self.autobill["threshold"]:
            return
        credits = self.autobill["amount"]
        usd = _cents(Decimal(credits) * self.credit_price_usd)
        remaining = self.remaining_cap_usd(at)
        capped = False
        if usd > remaining:
            minimum = Decimal(self.autobill_min_credits) * self.credit_price_usd
            if self.autobill_cap is AutobillCapPolicy.PARTIAL and remaining >= minimum:
                credits = int((remaining / self.credit_price_usd).to_integral_value(ROUND_DOWN))
                usd = _cents(Decimal(credits) * self.credit_price_usd)
                capped = True
            else:
                if not self.cap_blocked:
                    self.trigger_event(
                        self.AutobillFailed,
                        timestamp=at,
                        reason=RefusalReason.MONTHLY_CAP,
                        attempt=0,
                        retry_at=None,
                        disabled=False,
                        remaining_usd=remaining,
                    )
                return
        if self.card_fails > 0:
            attempt = self.autobill_failures + 1
            disabled = attempt >= AUTOBILL_MAX_FAILURES
            self.trigger_event(
                self.AutobillFailed,
                timestamp=at,
                reason=RefusalReason.CARD_DECLINED,
                attempt=attempt,
                retry_at=None if disabled else at + AUTOBILL_RETRY,
                disabled=disabled,
                remaining_usd=remaining,
            )
            return
        self.trigger_event(
            self.AutobillToppedUp,
            timestamp=at,
            credits=credits,
            usd=usd,
            capped=capped,
            window_spend_usd=self.window_spend_usd(at) + usd,
        )
        if evaluate_tier:
            self.evaluate_tier(at)

    class AutobillToppedUp(Aggregate.Event):
        credits: int
        usd: Decimal
        capped: bool  # A07: cut to what the 30-day cap left
        window_spend_usd: Decimal

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
        current = self.autobill or {}
        settings = {
            "threshold": threshold if threshold is not None else current.get("threshold"),
            "amount": amount if amount is not None else current.get("amount"),
        }
        if settings["threshold"] is None or settings["amount"] is None:
            raise DomainError("autobilling needs a threshold and an amount", "A04")
        checked = {k: int(v) for k, v in settings.items() if v is not None}
        rules.enforce(
            rules.a04_autobill_settings(
                checked["threshold"], checked["amount"], self.autobill_min_credits
            )
        )
        self.trigger_event(self.AutobillEnabled, timestamp=at, settings=checked)

    def disable_autobill(self, at: datetime) -> None:
        self.trigger_event(self.AutobillDisabled, timestamp=utc(at))

    def schedule_card_failures(self, at: datetime, count: int) -> None:
        """The next ``count`` autobill charges will be declined (a what-if input)."""
        if count < 1:
            raise DomainError("card_fails counts the declined charges: at least 1", "A05")
        self.trigger_event(self.CardFailuresScheduled, timestamp=utc(at), count=count)

    class AutobillEnabled(Aggregate.Event):
        settings: dict[str, int]

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.autobill = dict(self.settings)
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
        for raw in self.tier_rules:
            rule = TierRule.from_dict(raw)
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

    @property
    def next_tier_check_at(self) -> datetime | None:
        """Under ``spend_and_age``, the instant a waiting period ends (else None)."""
        if (
            self.tier_upgrade is not TierUpgradePolicy.SPEND_AND_AGE
            or self.first_purchase_at is None
        ):
            return None
        pending = [
            self.first_purchase_at + timedelta(days=int(r["min_days_since_first_purchase"]))
            for r in self.tier_rules
            if int(r["tier"]) > self.tier and self.cumulative_usd >= Decimal(r["unlock_usd"])
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
        still_active = sorted(k for k, v in self.keys.items() if v["active"] and v["by"] == member)
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
        if key not in self.keys or not self.keys[key]["active"]:
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
            aggregate.keys[self.key] = {"by": self.by, "active": True}

    class ApiKeyDisabled(Aggregate.Event):
        key: str

        def apply(self, aggregate: ApiOrganization) -> None:
            aggregate.keys[self.key] = dict(aggregate.keys[self.key], active=False)

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
        """A02, A03, A08, A09, A11: ``count`` identical tasks, evenly spaced.

        Each task is decided exactly as if submitted alone, in order: over the
        rolling 24 h limit for its model it is refused as rate-limited (A08);
        short of credits it is refused (A03); otherwise it is charged at
        submission (A09), queued for a free concurrency slot, and refunded at
        once if it fails internally (A11; safety failures stay charged).
        Consecutive tasks with the same outcome become one event.
        """
        first = to_us(first_at)
        refunded = refunded or []
        safety = safety_failed or []
        defer = self.on_daily_limit is DailyLimitPolicy.DEFER
        known_key = key is None or (key in self.keys and self.keys[key]["active"])
        i = 0
        while i < count:
            t = first + i * interval_us
            # A08 defer: tasks whose room came by t go first, in order, each at its
            # own instant; events stay in time order, so every stretch below ends
            # before the next one is due.
            due = self.next_deferred_us
            if due is not None and due <= t:
                self.resubmit_deferred(from_us(due))
                continue
            left = count - i if due is None else tasks_before(t, interval_us, count - i, due)
            if not known_key:
                self._refuse_tasks(
                    first, interval_us, i, left, task, RefusalReason.UNKNOWN_KEY, 0, key
                )
                i += left
                continue
            window = self.windows.get(task.model, [])
            in_window = window_count(window, t)
            waiting = bool(self.backlog.get(task.model))
            if in_window >= daily_limit or waiting:
                room = (
                    self.backlog_room[task.model]
                    if waiting
                    else window_room_at(window, t, daily_limit)
                )
                n = max(1, tasks_before(t, interval_us, left, room))
                if defer:
                    self._defer_tasks(
                        first,
                        interval_us,
                        i,
                        n,
                        task,
                        refunded,
                        safety,
                        key,
                        room,
                        (concurrency, daily_limit),
                    )
                else:
                    self._refuse_tasks(
                        first, interval_us, i, n, task, RefusalReason.DAILY_LIMIT, 0, key
                    )
                i += n
                continue
            cost = task.credits_each
            k = min(affordable(self.balance, cost, -1, count, refunded, i), left)
            if k == 0:
                # Nothing before the next deferred task adds credits: all short too.
                self._refuse_tasks(
                    first,
                    interval_us,
                    i,
                    left,
                    task,
                    RefusalReason.INSUFFICIENT_CREDITS,
                    cost - self.balance,
                    key,
                )
                i += left
                continue
            k = min(k, daily_limit - in_window)
            start_at = first + i * interval_us
            slots = list(self.slots.get(task.model, []))
            if len(slots) < concurrency:  # A06: a higher tier adds slots, free at once
                slots.extend([0] * (concurrency - len(slots)))
            wait, wait_at = queue_run(slots, start_at, interval_us, k, task.processing_us)
            self.trigger_event(
                self.TaskCharged,
                timestamp=from_us(first + (i + k - 1) * interval_us),
                model=task.model,
                label=task.label,
                key=key,
                first_at=from_us(start_at),
                interval_us=interval_us,
                count=k,
                credits_each=cost,
                refunded=slice_indices(refunded, i, i + k),
                safety_failed=slice_indices(safety, i, i + k),
                max_wait_us=wait,
                max_wait_at=from_us(wait_at),
                slots_after=slots,
            )
            i += k

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
            requested, cost, processing, label, key, was_refunded, was_safety = self.backlog[model][
                0
            ]
            concurrency, _ = self.backlog_limits[model]
            submitted = self.backlog_room[model]
            common: dict[str, Any] = {
                "timestamp": from_us(submitted),
                "model": model,
                "label": label,
                "key": key or None,
                "first_at": from_us(submitted),
                "interval_us": 0,
                "count": 1,
                "credits_each": cost,
                "requested_at": from_us(requested),
                "deferred_us": submitted - requested,
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
                refunded=[0] if was_refunded else [],
                safety_failed=[0] if was_safety else [],
                max_wait_us=wait,
                max_wait_at=from_us(wait_at),
                slots_after=slots,
                processing_us=processing,
                **common,
            )

    def _defer_tasks(
        self,
        first: int,
        interval: int,
        start: int,
        n: int,
        task: TaskSpec,
        refunded: list[int],
        safety: list[int],
        key: str | None,
        room: int,
        limits: tuple[int, int],
    ) -> None:
        self.trigger_event(
            self.TaskDeferred,
            timestamp=from_us(first + (start + n - 1) * interval),
            model=task.model,
            label=task.label,
            key=key,
            first_at=from_us(first + start * interval),
            interval_us=interval,
            count=n,
            credits_each=task.credits_each,
            processing_us=task.processing_us,
            refunded=slice_indices(refunded, start, start + n),
            safety_failed=slice_indices(safety, start, start + n),
            until=from_us(room),
            concurrency=limits[0],
            daily_limit=limits[1],
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

    def _refuse_tasks(
        self,
        first: int,
        interval: int,
        start: int,
        n: int,
        task: TaskSpec,
        reason: RefusalReason,
        shortfall: int,
        key: str | None,
    ) -> None:
        self.trigger_event(
            self.TaskRefused,
            timestamp=from_us(first + (start + n - 1) * interval),
            model=task.model,
            label=task.label,
            key=key,
            first_at=from_us(first + start * interval),
            interval_us=interval,
            count=n,
            credits_each=task.credits_each,
            reason=reason,
            shortfall=shortfall,
        )

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

        def apply(self, aggregate: ApiOrganization) -> None:
            first = to_us(self.first_at)
            tasks = aggregate.backlog.setdefault(self.model, [])
            if not tasks:
                aggregate.backlog_room[self.model] = to_us(self.until)
            refunded, safety = set(self.refunded), set(self.safety_failed)
            tasks.extend(
                [
                    first + j * self.interval_us,
                    self.credits_each,
                    self.processing_us,
                    self.label,
                    self.key or "",
                    j in refunded,
                    j in safety,
                ]
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
