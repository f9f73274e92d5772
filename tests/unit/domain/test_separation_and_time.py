"""S01 two separate balances, S02 whole credits and Decimal dollars, S05 time travel."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledger.application import Ledger, account_uuid, plan_terms
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.terms import AutobillSettings, RefillSettings, TaskSpec
from ledger.domain.types import Plan, Surface
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import HOUR_US, at, web_task

START = at(2027, 1, 1)


def test_s01_web_and_api_accounts_are_separate_balances(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("studio", START, book, Plan.PRO)
    org = ledger.open_organization("backend", START, book)
    org.purchase_credits(at(2027, 1, 2), 5000)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    org.submit_tasks(at(2027, 1, 3), 0, 1, TaskSpec("gen4.5", 120), 2, 200)
    assert (ws.plan_credits, ws.purchased, org.balance) == (2250, 1000, 4880)
    assert ws.id != org.id


def test_s01_the_same_name_on_both_surfaces_is_two_accounts() -> None:
    assert account_uuid("run", Surface.WEB, "acme") != account_uuid("run", Surface.API, "acme")


def test_s01_a_scenario_may_hold_several_accounts_of_each_surface(
    ledger: Ledger, book: PriceBook
) -> None:
    a = ledger.open_workspace("a", START, book, Plan.STANDARD)
    b = ledger.open_workspace("b", START, book, Plan.STANDARD)
    a.generate(at(2027, 1, 2), 0, 1, web_task(book, "gen4.5", seconds=10))
    assert (a.balance, b.balance) == (375, 625)


def test_s01_the_catalogues_differ_by_surface(book: PriceBook) -> None:
    assert book.web_model("gen4.5").rate == 25
    assert book.api_model("gen4.5").rate == 12


def _walk(value: Any, path: str, found: list[tuple[str, Any]]) -> None:
    found.append((path, value))
    if is_dataclass(value) and not isinstance(value, type):  # PlanTerms, RefillSettings ...
        for f in fields(value):
            _walk(getattr(value, f.name), f"{path}.{f.name}", found)
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(v, f"{path}.{k}", found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{path}[{i}]", found)


def test_s02_events_hold_whole_credits_and_decimal_dollars(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace(
        "w",
        START,
        book,
        Plan.STANDARD,
        refill=RefillSettings(trigger=100, amount_usd=10, monthly_max_usd=50),
    )
    ws.add_editor(at(2027, 1, 9, 7, 13), "b")
    ws.generate(at(2027, 1, 10), HOUR_US, 5, web_task(book, "gen4.5", seconds=7))
    ws.change_plan(at(2027, 1, 17, 3), plan_terms(book, Plan.PRO))
    org = ledger.open_organization(
        "o", START, book, autobill=AutobillSettings(threshold=10, amount=1234)
    )
    org.check_autobill(at(2027, 1, 1, 1))
    org.purchase_credits(at(2027, 1, 2), 3333)
    found: list[tuple[str, Any]] = []
    for event in [*ws.pending_events, *org.pending_events]:
        assert is_dataclass(event)
        for f in fields(event):
            _walk(getattr(event, f.name), f"{type(event).__name__}.{f.name}", found)
    assert not [p for p, v in found if isinstance(v, float)]
    usd = [(p, v) for p, v in found if p.endswith("usd") and ".refill." not in p]
    assert usd and all(isinstance(v, Decimal) for _, v in usd)
    # W15 refill settings are whole dollars by definition: ints, still never floats.
    refill = [(p, v) for p, v in found if p.endswith("usd") and ".refill." in p]
    assert refill and all(type(v) is int for _, v in refill)
    credit_names = ("credits", "amount", "allowance", "plan_part", "purchased_part", "credits_each")
    credits = [(p, v) for p, v in found if p.rsplit(".", 1)[-1] in credit_names]
    assert credits and all(type(v) is int for _, v in credits)


def test_s02_one_credit_costs_one_cent_on_both_surfaces(ledger: Ledger, book: PriceBook) -> None:
    assert book.web.credit_price_usd == book.api.credit_price_usd == Decimal("0.01")
    # What each surface records as paid for the credits it adds: purchases of
    # several sizes, an Auto Refill (W15) and an autobill recharge (A04).
    ws = ledger.open_workspace(
        "w",
        START,
        book,
        Plan.PRO,
        refill=RefillSettings(trigger=0, amount_usd=20, monthly_max_usd=40),
    )
    org = ledger.open_organization(
        "o", START, book, autobill=AutobillSettings(threshold=500, amount=3000)
    )
    for credits in (1000, 2500, 12_345):
        ws.purchase_credits(at(2027, 1, 2), credits)
    for credits in (1000, 2500):  # Tier 1's 30-day cap is $100 (A07)
        org.purchase_credits(at(2027, 1, 2), credits)
    ws.generate(at(2027, 1, 3), HOUR_US, 1, web_task(book, "gen4.5", seconds=1))
    ws.generate(at(2027, 1, 4), 0, 1, TaskSpec("big", ws.balance))  # leaves 0: a refill
    org.submit_tasks(at(2027, 1, 3), 0, 1, TaskSpec("gen4.5", org.balance - 100), 2, 200)
    org.check_autobill(at(2027, 1, 3, 1))
    bought = (
        WebWorkspace.CreditsPurchased,
        ApiOrganization.CreditsPurchased,
        ApiOrganization.AutobillToppedUp,
    )
    paid = [
        (type(e).__name__, e.credits, e.usd)
        for e in (*ws.pending_events, *org.pending_events)
        if isinstance(e, bought)
    ]
    assert len(paid) == 7  # 3 + 2 purchases, one refill, one recharge
    assert {(credits, usd) for _, credits, usd in paid} == {
        (1000, Decimal("10.00")),
        (2500, Decimal("25.00")),
        (12_345, Decimal("123.45")),
        (2000, Decimal("20.00")),  # the $20 refill bought 2,000 credits
        (3000, Decimal("30.00")),
    }


def saved_history(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 2), HOUR_US, 10, web_task(book, "gen4.5", seconds=1))  # 25 each
    ws.purchase_credits(at(2027, 1, 3), 1000)
    ws.pass_billing_date(at(2027, 2, 1))
    org = ledger.open_organization("o", START, book)
    org.purchase_credits(at(2027, 1, 2), 4000)
    org.submit_tasks(at(2027, 1, 2), HOUR_US, 10, TaskSpec("gen4.5", 120), 2, 200)
    org.purchase_credits(at(2027, 1, 5), 1000)  # $50 in all: Tier 2
    ledger.flush()


@pytest.mark.parametrize(
    ("instant", "plan", "purchased"),
    [
        (START, 625, 0),
        (at(2027, 1, 2) - timedelta(microseconds=1), 625, 0),
        (at(2027, 1, 2), 600, 0),  # the 1st generation happened at that instant
        (at(2027, 1, 2, 2), 550, 0),  # the 3rd, inclusive
        (at(2027, 1, 2, 2, 59), 550, 0),
        (at(2027, 1, 2, 9), 375, 0),  # all ten
        (at(2027, 1, 3), 375, 1000),
        (at(2027, 1, 31, 23, 59), 375, 1000),
        (at(2027, 2, 1), 625, 1000),  # refreshed
    ],
)
def test_s05_a_workspace_at_instant_t_is_the_fold_of_events_up_to_t(
    ledger: Ledger, book: PriceBook, instant: datetime, plan: int, purchased: int
) -> None:
    saved_history(ledger, book)
    got = ledger.balances_at("w", instant)
    assert (got.plan, got.purchased, got.balance) == (plan, purchased, plan + purchased)


@pytest.mark.parametrize(
    ("instant", "balance", "tier"),
    [
        (START, 0, 1),
        (at(2027, 1, 2), 4000 - 120, 1),
        (at(2027, 1, 2, 4, 30), 4000 - 5 * 120, 1),
        (at(2027, 1, 4), 4000 - 10 * 120, 1),
        (at(2027, 1, 5), 5000 - 10 * 120, 2),
    ],
)
def test_s05_an_organization_at_instant_t_is_the_fold_of_events_up_to_t(
    ledger: Ledger, book: PriceBook, instant: datetime, balance: int, tier: int
) -> None:
    saved_history(ledger, book)
    got = ledger.balances_at("o", instant)
    assert (got.balance, got.tier) == (balance, tier)


def test_s05_before_an_account_opened_there_is_nothing(ledger: Ledger, book: PriceBook) -> None:
    saved_history(ledger, book)
    with pytest.raises(DomainError):
        ledger.balances_at("w", START - timedelta(microseconds=1))
    assert ledger.version_at(ledger.workspace_id("w"), START - timedelta(microseconds=1)) == 0


def test_s05_an_event_earlier_than_the_last_one_is_refused(ledger: Ledger, book: PriceBook) -> None:
    """Timestamps never decrease along versions: time travel depends on it."""
    from ledger.domain.errors import DomainError

    org = ledger.open_organization("late", START, book)
    org.purchase_credits(START + timedelta(days=2), 1000)
    with pytest.raises(DomainError, match="S05"):
        org.purchase_credits(START + timedelta(days=1), 1000)
