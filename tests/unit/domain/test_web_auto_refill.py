"""W15: Auto Refill buys first when a generation would leave the balance at or below
the trigger, and stops at the calendar month's dollar maximum."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from ledger.application import Ledger, plan_terms
from ledger.domain.errors import DomainError
from ledger.domain.terms import RefillSettings
from ledger.domain.types import Plan, RefusalReason
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import DAY_US, HOUR_US, at, kinds, only, recorded, web_task

START = at(2027, 1, 1)
REFILL = RefillSettings(trigger=100, amount_usd=10, monthly_max_usd=20)


def refills(ws: WebWorkspace) -> list[WebWorkspace.CreditsPurchased]:
    return [e for e in recorded(ws, WebWorkspace.CreditsPurchased) if e.refill]


def test_w15_a_refill_is_bought_before_the_generation_that_would_cross_the_trigger(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=REFILL)
    ws.generate(at(2027, 1, 2), HOUR_US, 3, web_task(book, "gen4.5", seconds=10))
    # 625 -> 375 -> 125 (both above 100); the 3rd would leave -125: refill 1,000 first.
    assert kinds(ws)[1:] == ["GenerationCharged", "CreditsPurchased", "GenerationCharged"]
    refill = only(ws, WebWorkspace.CreditsPurchased)
    assert (refill.credits, refill.usd, refill.refill) == (1000, Decimal("10.00"), True)
    assert refill.timestamp == at(2027, 1, 2, 2)  # at the 3rd generation's instant
    assert (ws.plan_credits, ws.purchased) == (0, 875)  # 125 plan + 125 purchased paid it


def test_w15_landing_exactly_on_the_trigger_fires_the_refill(
    ledger: Ledger, book: PriceBook
) -> None:
    refill = dataclasses.replace(REFILL, trigger=125)
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=refill)
    ws.generate(at(2027, 1, 2), HOUR_US, 2, web_task(book, "gen4.5", seconds=10))
    # The 2nd would leave 375 - 250 = 125, at the trigger: the refill comes first.
    assert kinds(ws)[1:] == ["GenerationCharged", "CreditsPurchased", "GenerationCharged"]
    assert ws.balance == 1125  # 625 - 500 + 1,000


def test_w15_one_credit_above_the_trigger_does_not_refill(ledger: Ledger, book: PriceBook) -> None:
    refill = dataclasses.replace(REFILL, trigger=124)
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=refill)
    ws.generate(at(2027, 1, 2), HOUR_US, 2, web_task(book, "gen4.5", seconds=10))
    assert refills(ws) == []
    assert ws.balance == 125


def test_w15_refills_stop_at_the_monthly_maximum(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=REFILL)
    ws.generate(at(2027, 1, 2), HOUR_US, 11, web_task(book, "gen4.5", seconds=10))
    # 625 pays 2 (125 left); refill 1 ($10) -> pays 4 more (125 left); refill 2 ($20,
    # the max) -> pays 4 more (125 left); the 11th is refused 125 short.
    assert [e.timestamp for e in refills(ws)] == [at(2027, 1, 2, 2), at(2027, 1, 2, 6)]
    assert sum(e.count for e in recorded(ws, WebWorkspace.GenerationCharged)) == 10
    refused = only(ws, WebWorkspace.GenerationRefused)
    assert (refused.reason, refused.shortfall, refused.count) == (
        RefusalReason.INSUFFICIENT_CREDITS,
        125,
        1,
    )
    assert ws.refill_spent_usd == 20


def test_w15_the_maximum_is_counted_by_calendar_month(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=REFILL)
    task = web_task(book, "gen4.5", seconds=10)
    ws.generate(at(2027, 1, 30), HOUR_US, 11, task)  # uses January's $20, then refused
    ws.generate(at(2027, 1, 31, 23), 2 * HOUR_US, 2, task)  # Jan 31 23:00 and Feb 1 01:00
    refused = recorded(ws, WebWorkspace.GenerationRefused)
    assert [e.first_at for e in refused] == [at(2027, 1, 30, 10), at(2027, 1, 31, 23)]
    # February: the maximum is fresh, so the refill fires again before Feb 1 01:00.
    assert refills(ws)[-1].timestamp == at(2027, 2, 1, 1)
    assert ws.refill_spent_usd == 10


def test_w15_a_refill_blocked_in_one_month_fires_in_the_next_within_one_run(
    ledger: Ledger, book: PriceBook
) -> None:
    one_a_month = RefillSettings(trigger=100, amount_usd=10, monthly_max_usd=10)
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=one_a_month)
    task = web_task(book, "gen4.5", seconds=1)  # 25 each
    # January: 20 generations take 625 to 125; the 21st would leave 100, so January's
    # one refill comes first (1,125 -> 1,100); 32 more leave 300.
    ws.generate(at(2027, 1, 2), HOUR_US, 53, task)
    assert [e.timestamp for e in refills(ws)] == [at(2027, 1, 2, 20)]
    assert ws.balance == 300
    # One a day from Jan 31, in one run: Jan 31 leaves 275 (no refill left in January
    # anyway); Feb 1-6 leave 250 ... 125, all above 100; on Feb 7, 125 - 25 = 100 is at
    # the trigger, and February's maximum is fresh: the refill fires first.
    ws.generate(at(2027, 1, 31), DAY_US, 8, task)
    assert [e.timestamp for e in refills(ws)][1:] == [at(2027, 2, 7)]
    assert ws.balance == 300 - 8 * 25 + 1000


def test_w15_auto_refill_is_not_available_on_free_and_wakes_up_after_an_upgrade(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE, refill=REFILL)
    # Free: 125 credits; five 25-credit generations would go below the trigger, but
    # Auto Refill is not available on Free (W15), so the sixth is simply refused.
    ws.generate(at(2027, 1, 2), HOUR_US, 6, web_task(book, "gen4_turbo", seconds=5))
    assert refills(ws) == []
    assert ws.balance == 0
    ws.change_plan(at(2027, 1, 3), plan_terms(book, Plan.STANDARD))
    ws.generate(at(2027, 1, 4), 0, 1, web_task(book, "gen4_turbo", seconds=5))
    # Standard: 625 - 25 = 600 > trigger 100: no refill yet; the settings are live.
    assert ws.refill is not None and ws.plan_terms.auto_refill


@pytest.mark.parametrize(
    "refill",
    [
        RefillSettings(trigger=100, amount_usd=5, monthly_max_usd=20),  # under $10
        RefillSettings(trigger=100, amount_usd=30, monthly_max_usd=20),  # max below one refill
    ],
)
def test_w15_refill_settings_are_checked(
    ledger: Ledger, book: PriceBook, refill: RefillSettings
) -> None:
    with pytest.raises(DomainError, match="W15"):
        ledger.open_workspace("w", START, book, Plan.STANDARD, refill=refill)


def test_w15_refilled_credits_are_purchased_credits(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, refill=REFILL)
    ws.generate(at(2027, 1, 2), HOUR_US, 3, web_task(book, "gen4.5", seconds=10))
    ws.pass_billing_date(at(2027, 2, 1))
    assert (ws.plan_credits, ws.purchased) == (625, 875)  # the refill survives the refresh
