"""A01 buying API credits and A07 the rolling 30-day cap on manual purchases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.types import RefusalReason
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, only, recorded

START = at(2027, 1, 1)


@pytest.mark.parametrize("credits", [1, 500, 999])
def test_a01_a_purchase_under_1000_credits_is_an_error(
    ledger: Ledger, book: PriceBook, credits: int
) -> None:
    org = ledger.open_organization("o", START, book)
    with pytest.raises(DomainError, match="A01"):
        org.purchase_credits(at(2027, 1, 2), credits)
    assert org.balance == 0


@pytest.mark.parametrize(("credits", "usd"), [(1000, "10.00"), (1234, "12.34"), (4500, "45.00")])
def test_a01_api_credits_cost_one_cent_each(
    ledger: Ledger, book: PriceBook, credits: int, usd: str
) -> None:
    org = ledger.open_organization("o", START, book)
    org.purchase_credits(at(2027, 1, 2), credits)
    bought = only(org, ApiOrganization.CreditsPurchased)
    assert (bought.credits, bought.usd) == (credits, Decimal(usd))
    assert org.balance == credits


def test_a01_api_credits_do_not_expire(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book)
    org.purchase_credits(at(2027, 1, 2), 3000)
    org.check_autobill(at(2029, 1, 2))  # two years on, nothing has taken them away
    org.evaluate_tier(at(2029, 1, 2))
    assert org.balance == 3000


def test_a07_a_manual_purchase_over_the_30_day_cap_is_refused(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, tier=5)  # cap $100,000 per 30 days
    org.purchase_credits(at(2027, 1, 2), 9_000_000)  # $90,000
    org.purchase_credits(at(2027, 1, 20), 2_000_000)  # $20,000: $10,000 would be over
    refused = only(org, ApiOrganization.PurchaseRefused)
    assert (refused.reason, refused.usd, refused.remaining_usd) == (
        RefusalReason.MONTHLY_CAP,
        Decimal("20000.00"),
        Decimal("10000.00"),
    )
    assert org.balance == 9_000_000
    org.purchase_credits(at(2027, 1, 20), 1_000_000)  # exactly the $10,000 left: allowed
    assert org.balance == 10_000_000


def test_a07_the_cap_window_rolls_30_days_to_the_microsecond(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, tier=5)
    org.purchase_credits(at(2027, 1, 2), 10_000_000)  # the whole $100,000
    just_before = at(2027, 2, 1) - timedelta(microseconds=1)
    org.purchase_credits(just_before, 1000)  # the first purchase is still in the window
    assert only(org, ApiOrganization.PurchaseRefused).remaining_usd == Decimal("0")
    org.purchase_credits(at(2027, 2, 1), 1000)  # 30 days on, it has left the window
    bought = recorded(org, ApiOrganization.CreditsPurchased)[-1]
    assert (bought.credits, bought.window_spend_usd) == (1000, Decimal("10.00"))


def test_a07_the_cap_counts_the_tier_reached_at_purchase_time(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book)  # Tier 1: $100 per 30 days
    org.purchase_credits(at(2027, 1, 2), 15_000)  # $150 > $100: refused
    assert only(org, ApiOrganization.PurchaseRefused).remaining_usd == Decimal("100")
    org.purchase_credits(at(2027, 1, 2), 10_000)  # exactly $100: allowed (and Tier 3)
    assert (org.balance, org.tier) == (10_000, 3)
