"""W16: Enterprise contract credits are one annual pool (or monthly, by policy)."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.application import Ledger, plan_terms
from ledger.domain.errors import DomainError
from ledger.domain.types import EnterprisePoolPolicy, ForfeitReason, Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, only, recorded, web_task

START = at(2027, 3, 15, 9)
CONTRACT = 120_000


def months_after_start(n: int) -> datetime:
    year, month = 2027 + (3 - 1 + n) // 12, (3 - 1 + n) % 12 + 1
    return at(year, month, 15, 9)


def test_w16_the_enterprise_pool_is_set_once_a_year_by_default(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.ENTERPRISE, contract_credits=CONTRACT)
    ws.generate(at(2027, 4, 1), 0, 1, web_task(book, "gen4.5", seconds=400))  # 10,000
    for n in range(1, 12):
        ws.pass_billing_date(months_after_start(n))
    assert recorded(ws, WebWorkspace.PlanCreditsRefreshed) == []  # no monthly top-up
    assert ws.plan_credits == 110_000  # the pool carries through the contract year
    ws.pass_billing_date(months_after_start(12))  # the contract anniversary
    forfeit = only(ws, WebWorkspace.CreditsForfeited)
    assert (forfeit.amount, forfeit.reason) == (110_000, ForfeitReason.CONTRACT_RENEWAL)
    refreshed = only(ws, WebWorkspace.PlanCreditsRefreshed)
    assert (refreshed.allowance, refreshed.timestamp) == (CONTRACT, at(2028, 3, 15, 9))
    assert ws.plan_credits == CONTRACT  # no rollover of the 110,000


def test_w16_the_monthly_policy_sets_the_pool_every_billing_date(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace(
        "w",
        START,
        book,
        Plan.ENTERPRISE,
        contract_credits=10_000,
        enterprise_pool=EnterprisePoolPolicy.MONTHLY,
    )
    ws.generate(at(2027, 4, 1), 0, 1, web_task(book, "gen4.5", seconds=40))  # 1,000
    ws.pass_billing_date(months_after_start(1))
    forfeit = only(ws, WebWorkspace.CreditsForfeited)
    assert (forfeit.amount, forfeit.reason) == (9000, ForfeitReason.CONTRACT_RENEWAL)
    assert ws.plan_credits == 10_000


def test_w16_purchased_credits_survive_the_contract_renewal(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.ENTERPRISE, contract_credits=CONTRACT)
    ws.purchase_credits(at(2027, 3, 16), 5000)
    for n in range(1, 13):
        ws.pass_billing_date(months_after_start(n))
    assert (ws.plan_credits, ws.purchased) == (CONTRACT, 5000)


def test_w16_moving_to_or_from_enterprise_is_a_contract_not_a_plan_change(
    ledger: Ledger, book: PriceBook
) -> None:
    ent = ledger.open_workspace("e", START, book, Plan.ENTERPRISE, contract_credits=CONTRACT)
    with pytest.raises(DomainError, match="W16"):
        ent.change_plan(at(2027, 4, 1), plan_terms(book, Plan.PRO))
    pro = ledger.open_workspace("p", START, book, Plan.PRO)
    with pytest.raises(DomainError, match="W16"):
        pro.change_plan(at(2027, 4, 1), plan_terms(book, Plan.ENTERPRISE, 1000))
