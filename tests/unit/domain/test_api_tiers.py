"""A06: usage tiers by cumulative purchases, never down; the spend_and_age policy."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.application import Ledger, tier_rules
from ledger.domain.api import ApiOrganization
from ledger.domain.types import Tier, TierUpgradePolicy
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, recorded

START = at(2027, 1, 1)


def raises(org: ApiOrganization) -> list[tuple[int, int, Decimal]]:
    return [
        (e.from_tier, e.to_tier, e.cumulative_usd)
        for e in recorded(org, ApiOrganization.TierRaised)
    ]


def test_a06_tiers_are_reached_at_50_100_1000_and_5000_dollars_cumulative(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book)
    org.purchase_credits(at(2027, 1, 2), 4999)  # $49.99
    assert org.tier == 1
    org.purchase_credits(at(2027, 1, 2), 1000)  # $59.99
    org.purchase_credits(at(2027, 1, 3), 4001)  # $100.00
    org.purchase_credits(at(2027, 1, 4), 89_999)  # $999.99
    assert org.tier == 3
    org.purchase_credits(at(2027, 1, 4), 1000)  # $1,009.99
    org.purchase_credits(at(2027, 1, 5), 399_001)  # $5,000.00
    assert raises(org) == [
        (1, 2, Decimal("59.99")),
        (2, 3, Decimal("100.00")),
        (3, 4, Decimal("1009.99")),
        (4, 5, Decimal("5000.00")),
    ]
    assert org.tier == 5


@pytest.mark.parametrize(
    ("tier", "cap"), [(1, "100"), (2, "500"), (3, "2000"), (4, "20000"), (5, "100000")]
)
def test_a06_each_tier_sets_a_30_day_purchase_cap(
    ledger: Ledger, book: PriceBook, tier: int, cap: str
) -> None:
    org = ledger.open_organization("o", START, book, tier=tier)
    assert org.monthly_cap_usd == Decimal(cap)


def test_a06_tiers_set_per_model_concurrency_and_daily_limits(book: PriceBook) -> None:
    assert [book.limit(t, "gen4.5").concurrency for t in Tier] == [2, 3, 5, 10, 20]
    assert [book.limit(t, "gen4.5").daily for t in Tier] == [200, 1000, 2000, 10_000, 30_000]
    assert [book.limit(t, "veo3").daily for t in Tier] == [50, 500, 1000, 5000, 25_000]


def test_a06_the_tier_table_comes_from_the_price_book(book: PriceBook) -> None:
    rules = tier_rules(book)
    assert [(r.tier, r.unlock_usd) for r in rules] == [
        (1, Decimal("0")),
        (2, Decimal("50")),
        (3, Decimal("100")),
        (4, Decimal("1000")),
        (5, Decimal("5000")),
    ]


def test_a06_one_purchase_can_jump_several_tiers(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book)
    org.purchase_credits(at(2027, 1, 2), 10_000)  # $100 at once, the whole Tier 1 cap
    assert raises(org) == [(1, 3, Decimal("100.00"))]


def test_a06_tiers_never_go_down(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book, tier=4)  # granted, with $0 bought
    org.purchase_credits(at(2027, 1, 2), 1000)
    org.evaluate_tier(at(2028, 1, 2))  # a year without buying
    assert org.tier == 4
    assert recorded(org, ApiOrganization.TierRaised) == []


def test_a06_spend_and_age_waits_for_the_days_since_the_first_purchase(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, tier_upgrade=TierUpgradePolicy.SPEND_AND_AGE)
    org.purchase_credits(at(2027, 1, 2, 9), 5000)  # $50, first purchase
    assert org.tier == 1  # Tier 2 also needs 1 day since the first purchase
    assert org.next_tier_check_at == at(2027, 1, 3, 9)
    org.evaluate_tier(at(2027, 1, 3, 8, 59))
    assert org.tier == 1
    org.evaluate_tier(at(2027, 1, 3, 9))
    assert org.tier == 2
    org.purchase_credits(at(2027, 1, 3, 9), 5000)  # $100: Tier 3 needs 7 days
    assert (org.tier, org.next_tier_check_at) == (2, at(2027, 1, 9, 9))
    org.evaluate_tier(at(2027, 1, 9, 9))
    assert raises(org) == [(1, 2, Decimal("50.00")), (2, 3, Decimal("100.00"))]


def test_a06_spend_only_raises_the_tier_at_once(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book)
    org.purchase_credits(at(2027, 1, 2, 9), 5000)
    assert org.tier == 2
    assert org.next_tier_check_at is None
