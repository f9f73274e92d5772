"""Named types of the domain: enums for plans, buckets, reasons and policies.

Enums, not strings, so a typo is an error and the store round-trips the type.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum, IntEnum
from typing import TypeAlias

Credits: TypeAlias = int  # S02: ledger arithmetic is in whole credits
Usd: TypeAlias = Decimal  # S02: money is Decimal US dollars, never float
Instant: TypeAlias = datetime  # S03: a simulated, timezone-aware UTC instant


class Surface(Enum):
    """S01: the two credit systems that never mix."""

    WEB = "web"
    API = "api"


class Plan(Enum):
    """W01: web plans, in rank order (used to tell an upgrade from a downgrade)."""

    FREE = "free"
    STANDARD = "standard"
    PRO = "pro"
    UNLIMITED = "unlimited"
    ENTERPRISE = "enterprise"

    @property
    def rank(self) -> int:
        return list(Plan).index(self)


class Billing(Enum):
    MONTHLY = "monthly"
    ANNUAL = "annual"


class Bucket(Enum):
    """Where credits sit: plan and purchased on web (W08), one balance on API."""

    PLAN = "plan"
    PURCHASED = "purchased"
    CREDITS = "credits"


class ForfeitReason(Enum):
    RESET = "reset"  # W06: the billing-day refresh sets the plan bucket
    CANCELLATION = "cancellation"  # W13: the paid period ended after a cancel
    DOWNGRADE = "downgrade"  # W12: credits above the lower allowance at renewal
    PLAN_START = "plan_start"  # leaving Free: the one-time grant gives way to the plan
    CONTRACT_RENEWAL = "contract_renewal"  # W16: the Enterprise pool is set again


class RefusalReason(Enum):
    """Why the simulation said no. Users count these, so they are events."""

    INSUFFICIENT_CREDITS = "insufficient_credits"  # W09, A03
    DAILY_LIMIT = "daily_limit"  # A08
    MONTHLY_CAP = "monthly_cap"  # A07
    SEAT_CAP = "seat_cap"  # W03
    EXPLORE_NOT_AVAILABLE = "explore_not_available"  # W10
    AUTOBILL_DISABLED = "autobill_disabled"  # A05
    CARD_DECLINED = "card_declined"  # A05
    REFILL_MONTHLY_MAX = "refill_monthly_max"  # W15
    NOT_A_MEMBER = "not_a_member"  # A10, W04: removing someone who is not there
    ALREADY_MEMBER = "already_member"  # adding someone who is already there
    LAST_EDITOR = "last_editor"  # a workspace keeps at least one editor
    UNKNOWN_KEY = "unknown_key"  # A10
    PLAN_CANNOT_BUY = "plan_cannot_buy"  # W07: a workspace that fell back to Free
    NO_SUBSCRIPTION = "no_subscription"  # W13: cancelling after the fall back to Free


class GenerationMode(Enum):
    CREDITS = "credits"
    EXPLORE = "explore"  # W10


class Tier(IntEnum):
    """A06: API usage tiers 1 to 5; they never go down."""

    T1 = 1
    T2 = 2
    T3 = 3
    T4 = 4
    T5 = 5


# Policies: where sources disagree, a named choice with a documented default.


class MonthEndPolicy(Enum):
    CLAMP = "clamp"  # W05: Stripe's convention, anchor + n months clamped to month end


class TierUpgradePolicy(Enum):
    SPEND_ONLY = "spend_only"  # A06 current docs: immediately once the spend is reached
    SPEND_AND_AGE = "spend_and_age"  # A06 older rule: also days since the first purchase


class AutobillCapPolicy(Enum):
    PARTIAL = "partial"  # A07: a recharge is cut to what the 30-day cap leaves
    SKIP = "skip"  # A07: a recharge that does not fit is not made


class DailyLimitPolicy(Enum):
    REJECT = "reject"  # A08: a task over the rolling 24 h limit is refused (HTTP 429)
    DEFER = "defer"  # A08: it waits, in order, for room in the window (a client retrying)


class DowngradePolicy(Enum):
    AT_RENEWAL = "at_renewal"  # W12: the lower plan starts at the end of the paid period


class FreeCreditsPolicy(Enum):
    """Point 6 of issue 13: what leaving Free does to the unspent one-time grant (W01)."""

    FORFEIT = "forfeit"  # the paid plan's credits replace them (PLAN_START forfeit)
    KEEP = "keep"  # the guide: the Free deposit "does not expire"; carried, never expiring


class PlanRefreshPolicy(Enum):
    """W05/W06: when on the billing date the plan bucket is set."""

    AT_ANCHOR = "at_anchor"  # at the anchor's minute, with the renewal
    AFTER_24H = "after_24h"  # Runway: "within 24 hours of your billing day": the latest


class RefillWindowPolicy(Enum):
    """W15: what the Auto Refill monthly maximum counts over."""

    CALENDAR_MONTH = "calendar_month"  # the help article: by calendar month, also on annual
    BILLING_PERIOD = "billing_period"  # Runway's settings page: the "current period"


class EnterprisePoolPolicy(Enum):
    ANNUAL = "annual"  # W16: one pool set on each contract anniversary
    MONTHLY = "monthly"  # W16 conflicting article: set on every billing day


class TaskOutcome(Enum):
    SUCCEEDED = "succeeded"
    FAILED_INTERNAL = "failed_internal"  # A11/W14: refunded
    FAILED_SAFETY = "failed_safety"  # A11: charged, not refunded
