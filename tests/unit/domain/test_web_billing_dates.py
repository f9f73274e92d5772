"""W05 billing dates (month-end matrix) and W06 refreshes that set, not add."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

import pytest

from ledger.application import Ledger, plan_terms
from ledger.domain.errors import DomainError
from ledger.domain.time import billing_date
from ledger.domain.types import Billing, ForfeitReason, Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, only, recorded, web_task

BILLING_DATES = 25  # two years and a month: every month length, Feb 2028 included


def expected_billing_date(anchor: datetime, n: int) -> datetime:
    """An independent oracle: the anchor day n months on, clamped to the month's end."""
    months = anchor.month - 1 + n
    year, month = anchor.year + months // 12, months % 12 + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


ANCHORS = [
    at(year, month, day, 14, 30)
    for year, month in [(2027, 1), (2028, 1), (2027, 12)]
    for day in (28, 29, 30, 31)
]


@pytest.mark.parametrize("anchor", ANCHORS, ids=lambda a: a.strftime("%Y-%m-%d"))
def test_w05_billing_dates_are_the_anchor_plus_n_months_clamped_to_month_end(
    anchor: datetime,
) -> None:
    for n in range(1, BILLING_DATES + 1):
        assert billing_date(anchor, n) == expected_billing_date(anchor, n)


@pytest.mark.parametrize("anchor", ANCHORS, ids=lambda a: a.strftime("%Y-%m-%d"))
@pytest.mark.parametrize("billing", [Billing.MONTHLY, Billing.ANNUAL])
def test_w05_the_workspace_refreshes_on_each_billing_date_at_the_anchor_time(
    ledger: Ledger, book: PriceBook, anchor: datetime, billing: Billing
) -> None:
    ws = ledger.open_workspace("w", anchor, book, Plan.STANDARD, billing=billing)
    seen = []
    for _ in range(BILLING_DATES):
        due = ws.next_billing_at
        assert due is not None
        ws.pass_billing_date(due)
        seen.append(due)
    assert seen == [expected_billing_date(anchor, n) for n in range(1, BILLING_DATES + 1)]
    assert all((d.hour, d.minute) == (14, 30) for d in seen)
    refreshes = recorded(ws, WebWorkspace.PlanCreditsRefreshed)
    # W05: monthly refreshes on annual billing too.
    assert [e.timestamp for e in refreshes] == seen


@pytest.mark.parametrize(
    ("anchor", "dates"),
    [
        (
            at(2027, 1, 31, 14, 30),
            ["2027-02-28", "2027-03-31", "2027-04-30", "2027-05-31", "2027-06-30"],
        ),
        (
            at(2028, 1, 31, 14, 30),
            ["2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31", "2028-06-30"],
        ),
        (
            at(2027, 1, 29, 14, 30),
            ["2027-02-28", "2027-03-29", "2027-04-29", "2027-05-29", "2027-06-29"],
        ),
        (
            at(2028, 1, 30, 14, 30),
            ["2028-02-29", "2028-03-30", "2028-04-30", "2028-05-30", "2028-06-30"],
        ),
        (
            at(2027, 12, 31, 14, 30),
            ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30", "2028-05-31"],
        ),
        (
            at(2027, 1, 28, 14, 30),
            ["2027-02-28", "2027-03-28", "2027-04-28", "2027-05-28", "2027-06-28"],
        ),
    ],
)
def test_w05_month_end_anchors_return_to_the_anchor_day_never_chained(
    anchor: datetime, dates: list[str]
) -> None:
    # Hand-written: Jan 31 -> Feb 28 -> Mar 31 (not Mar 28, which chaining would give).
    got = [billing_date(anchor, n) for n in range(1, 6)]
    assert [d.date().isoformat() for d in got] == dates
    assert all(d.time() == anchor.time() for d in got)


def test_w05_a_billing_date_is_only_passed_at_its_exact_instant(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 31, 14, 30), book, Plan.STANDARD)
    with pytest.raises(DomainError, match="W05"):
        ws.pass_billing_date(at(2027, 2, 28))  # the right day, the wrong time of day
    with pytest.raises(DomainError, match="W05"):
        ws.pass_billing_date(at(2027, 2, 28, 14, 30) + timedelta(microseconds=1))
    ws.pass_billing_date(at(2027, 2, 28, 14, 30))
    assert ws.next_billing_at == at(2027, 3, 31, 14, 30)


def test_w05_leaving_free_sets_a_new_anchor_and_forfeits_the_free_grant(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 5), book, Plan.FREE)
    ws.change_plan(at(2027, 3, 31, 9, 15), plan_terms(book, Plan.STANDARD))
    forfeit = only(ws, WebWorkspace.CreditsForfeited)
    assert (forfeit.amount, forfeit.reason) == (125, ForfeitReason.PLAN_START)
    assert ws.plan_credits == 625  # the plan's credits, not 125 + 625
    assert ws.anchor == at(2027, 3, 31, 9, 15)
    assert ws.next_billing_at == at(2027, 4, 30, 9, 15)


def test_w06_refresh_sets_not_adds(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 1), book, Plan.STANDARD)
    ws.generate(at(2027, 1, 10), 0, 1, web_task(book, "gen4.5", seconds=5))  # 25 x 5 = 125
    assert ws.plan_credits == 500
    ws.pass_billing_date(at(2027, 2, 1))
    assert ws.plan_credits == 625  # set to the allowance, not 500 + 625 = 1,125


def test_w06_the_unused_remainder_is_forfeited_with_amount_and_reason(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 1), book, Plan.STANDARD)
    ws.generate(at(2027, 1, 10), 0, 1, web_task(book, "gen4.5", seconds=5))
    ws.pass_billing_date(at(2027, 2, 1))
    forfeit = only(ws, WebWorkspace.CreditsForfeited)
    assert (forfeit.amount, forfeit.reason, forfeit.timestamp) == (
        500,
        ForfeitReason.RESET,
        at(2027, 2, 1),
    )


def test_w06_nothing_is_forfeited_when_the_plan_bucket_is_empty(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 1), book, Plan.STANDARD)
    ws.generate(at(2027, 1, 10), 0, 1, web_task(book, "gen4.5", seconds=25))  # 625: all of it
    ws.pass_billing_date(at(2027, 2, 1))
    assert recorded(ws, WebWorkspace.CreditsForfeited) == []
    assert ws.plan_credits == 625


def test_w06_purchased_credits_survive_the_refresh(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 1), book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    ws.pass_billing_date(at(2027, 2, 1))
    assert (ws.plan_credits, ws.purchased) == (625, 1000)
    assert only(ws, WebWorkspace.CreditsForfeited).amount == 625  # only the plan bucket
