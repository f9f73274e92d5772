"""W07 buying web credits and W08 the spend order (plan credits first)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.application import Ledger, plan_terms
from ledger.domain.errors import DomainError
from ledger.domain.types import Plan, RefusalReason
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, only, web_task

START = at(2027, 1, 1)


def test_w07_a_purchase_under_1000_credits_is_an_error(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    with pytest.raises(DomainError, match="W07"):
        ws.purchase_credits(at(2027, 1, 2), 500)
    with pytest.raises(DomainError, match="W07"):
        ws.purchase_credits(at(2027, 1, 2), 999)
    assert ws.purchased == 0


def test_w07_free_cannot_buy_credits(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE)
    with pytest.raises(DomainError, match="W07"):
        ws.purchase_credits(at(2027, 1, 2), 1000)
    assert ws.balance == 125


@pytest.mark.parametrize(("credits", "usd"), [(1000, "10.00"), (2500, "25.00"), (12_000, "120.00")])
@pytest.mark.parametrize("plan", [Plan.STANDARD, Plan.PRO, Plan.UNLIMITED])
def test_w07_paid_plans_buy_credits_at_10_dollars_per_1000(
    ledger: Ledger, book: PriceBook, plan: Plan, credits: int, usd: str
) -> None:
    ws = ledger.open_workspace("w", START, book, plan)
    ws.purchase_credits(at(2027, 1, 2), credits)
    bought = only(ws, WebWorkspace.CreditsPurchased)
    assert (bought.credits, bought.usd, bought.refill) == (credits, Decimal(usd), False)
    assert ws.purchased == credits


def test_w07_enterprise_in_app_purchases_are_capped_at_9999_dollars(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.ENTERPRISE, contract_credits=100_000)
    ws.purchase_credits(at(2027, 1, 2), 999_900)  # exactly $9,999: allowed
    assert ws.purchased == 999_900
    with pytest.raises(DomainError, match="W07"):
        ws.purchase_credits(at(2027, 1, 3), 1_000_000)  # $10,000: a sales contract
    assert ws.purchased == 999_900


def test_w07_purchased_credits_survive_refreshes_and_plan_changes(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO)
    ws.purchase_credits(at(2027, 1, 2), 3000)
    ws.pass_billing_date(at(2027, 2, 1))
    ws.change_plan(at(2027, 2, 10), plan_terms(book, Plan.UNLIMITED))  # upgrade
    ws.change_plan(at(2027, 2, 11), plan_terms(book, Plan.STANDARD))  # downgrade at renewal
    ws.pass_billing_date(at(2027, 3, 1))
    assert ws.plan is Plan.STANDARD
    assert (ws.plan_credits, ws.purchased) == (625, 3000)


def test_w07_purchased_credits_survive_cancellation(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 2000)
    ws.cancel(at(2027, 1, 3))
    ws.pass_billing_date(at(2027, 2, 1))
    assert ws.plan is Plan.FREE
    assert (ws.plan_credits, ws.purchased) == (0, 2000)


def test_w07_a_workspace_that_fell_back_to_free_records_a_refused_purchase(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.cancel(at(2027, 1, 3))
    ws.pass_billing_date(at(2027, 2, 1))
    ws.purchase_credits(at(2027, 2, 2), 1000)  # the run found out: a refusal, not an error
    refused = only(ws, WebWorkspace.PurchaseRefused)
    assert (refused.reason, refused.credits, refused.usd) == (
        RefusalReason.PLAN_CANNOT_BUY,
        1000,
        Decimal("10.00"),
    )
    assert ws.purchased == 0


def test_w08_plan_credits_are_spent_before_purchased_credits(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    # 3 x gen4.5 10 s at 25/s = 750: 625 from the plan, then 125 purchased.
    ws.generate(at(2027, 1, 3), 60_000_000, 3, web_task(book, "gen4.5", seconds=10))
    charged = only(ws, WebWorkspace.GenerationCharged)
    assert (charged.plan_part, charged.purchased_part) == (625, 125)
    assert (ws.plan_credits, ws.purchased) == (0, 875)


def test_w08_purchased_credits_are_untouched_while_plan_credits_last(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    ws.generate(at(2027, 1, 3), 0, 2, web_task(book, "gen4.5", seconds=10))  # 500
    assert (ws.plan_credits, ws.purchased) == (125, 1000)
