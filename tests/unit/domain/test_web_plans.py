"""W01-W04: plans, their credits, seat prices, seat caps and the one shared pool."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.application import Ledger, plan_terms
from ledger.domain.errors import DomainError
from ledger.domain.types import Billing, Plan, RefusalReason, Surface
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from ledger.tools.decide.measure import measure
from scenarios.engine import replay
from scenarios.loader import load_scenario_text
from tests.unit.domain.domain_kit import at, kinds, only, recorded

START = at(2027, 1, 1)


@pytest.mark.parametrize(
    ("plan", "credits", "explore"),
    [
        (Plan.FREE, 125, False),
        (Plan.STANDARD, 625, False),
        (Plan.PRO, 2250, False),
        (Plan.UNLIMITED, 2250, True),
    ],
)
def test_w01_each_plan_starts_with_its_plan_credits(
    ledger: Ledger, book: PriceBook, plan: Plan, credits: int, explore: bool
) -> None:
    ws = ledger.open_workspace("w", START, book, plan)
    assert (ws.plan_credits, ws.purchased, ws.balance) == (credits, 0, credits)
    assert ws.plan_terms.explore is explore


def test_w01_free_credits_are_granted_once_and_never_refreshed(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE)
    assert ws.next_billing_at is None  # nothing recurs on Free
    with pytest.raises(DomainError, match="W05"):
        ws.pass_billing_date(at(2027, 2, 1))
    assert ws.plan_credits == 125  # still the one-time grant a month later


def test_w01_standard_refreshes_625_each_month(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.pass_billing_date(at(2027, 2, 1))
    ws.pass_billing_date(at(2027, 3, 1))
    assert [e.allowance for e in recorded(ws, WebWorkspace.PlanCreditsRefreshed)] == [625, 625]


def test_w01_enterprise_credits_are_the_contract_amount(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.ENTERPRISE, contract_credits=48_000)
    assert ws.plan_credits == 48_000


def test_w01_enterprise_without_contract_credits_is_an_error(
    ledger: Ledger, book: PriceBook
) -> None:
    with pytest.raises(DomainError, match="W16"):
        ledger.open_workspace("w", START, book, Plan.ENTERPRISE)


@pytest.mark.parametrize(
    "case",
    [
        (Plan.STANDARD, Billing.MONTHLY, 1, "15.00"),
        (Plan.STANDARD, Billing.ANNUAL, 1, "144.00"),  # $12 a month
        (Plan.PRO, Billing.MONTHLY, 2, "70.00"),  # 2 x $35
        (Plan.PRO, Billing.ANNUAL, 2, "672.00"),  # 2 x $336 ($28 a month)
        (Plan.UNLIMITED, Billing.MONTHLY, 3, "285.00"),  # 3 x $95
        (Plan.UNLIMITED, Billing.ANNUAL, 3, "2736.00"),  # 3 x $912 ($76 a month)
    ],
)
def test_w02_subscribing_charges_the_seat_price_per_editor(
    ledger: Ledger, book: PriceBook, case: tuple[Plan, Billing, int, str]
) -> None:
    plan, billing, editors, usd = case
    names = [f"e{i}" for i in range(editors)]
    ws = ledger.open_workspace("w", START, book, plan, billing=billing, editors=names)
    assert only(ws, WebWorkspace.PlanSubscribed).usd == Decimal(usd)


def test_w02_renewal_charges_the_seats_again_monthly_or_yearly(
    ledger: Ledger, book: PriceBook
) -> None:
    monthly = ledger.open_workspace("m", START, book, Plan.PRO, editors=["a", "b"])
    monthly.pass_billing_date(at(2027, 2, 1))
    assert only(monthly, WebWorkspace.BillingDateReached).usd == Decimal("70.00")
    annual = ledger.open_workspace("y", START, book, Plan.PRO, billing=Billing.ANNUAL)
    for month in range(2, 13):
        annual.pass_billing_date(at(2027, month, 1))
    annual.pass_billing_date(at(2028, 1, 1))
    charges = [e.usd for e in recorded(annual, WebWorkspace.BillingDateReached)]
    assert charges == [Decimal("0.00")] * 11 + [Decimal("336.00")]  # only the renewal is billed


@pytest.mark.parametrize(
    ("plan", "cap"), [(Plan.STANDARD, 5), (Plan.PRO, 10), (Plan.UNLIMITED, 10)]
)
def test_w03_an_editor_past_the_seat_cap_is_refused(
    ledger: Ledger, book: PriceBook, plan: Plan, cap: int
) -> None:
    ws = ledger.open_workspace("w", START, book, plan, editors=[f"e{i}" for i in range(cap)])
    ws.add_editor(at(2027, 1, 2), "one-too-many")
    refused = only(ws, WebWorkspace.EditorRefused)
    assert (refused.editor, refused.reason) == ("one-too-many", RefusalReason.SEAT_CAP)
    assert len(ws.editors) == cap


@pytest.mark.parametrize(("plan", "cap"), [(Plan.FREE, 1), (Plan.STANDARD, 5), (Plan.PRO, 10)])
def test_w03_subscribing_with_more_editors_than_the_cap_is_an_error(
    ledger: Ledger, book: PriceBook, plan: Plan, cap: int
) -> None:
    with pytest.raises(DomainError, match="W03"):
        ledger.open_workspace("w", START, book, plan, editors=[f"e{i}" for i in range(cap + 1)])


def test_w03_free_allows_one_editor(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE)
    ws.add_editor(at(2027, 1, 2), "second")
    assert only(ws, WebWorkspace.EditorRefused).reason is RefusalReason.SEAT_CAP


def test_w03_the_cap_holds_up_to_the_last_seat(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, editors=["a", "b", "c", "d"])
    ws.add_editor(at(2027, 1, 2), "e")  # the 5th seat: allowed
    ws.add_editor(at(2027, 1, 2), "f")  # the 6th: refused
    assert kinds(ws)[-2:] == ["EditorAdded", "EditorRefused"]


def test_w04_adding_an_editor_adds_prorated_cost_never_credits(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.add_editor(at(2027, 1, 16), "second")
    # 16 of January's 31 days are left: $15 x 16/31 = $7.7419... -> $7.74
    assert only(ws, WebWorkspace.EditorAdded).usd == Decimal("7.74")
    assert (ws.plan_credits, ws.balance) == (625, 625)  # one pool: no credits for the seat


def test_w04_a_new_editor_spends_from_the_same_pool(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO, editors=["a"])
    ws.add_editor(at(2027, 1, 2), "b")
    ws.pass_billing_date(at(2027, 2, 1))
    # The refresh is the plan's 2,250, the same with 2 editors as with 1.
    assert ws.plan_credits == 2250
    assert only(ws, WebWorkspace.BillingDateReached).usd == Decimal("70.00")


def test_w04_an_annual_seat_is_prorated_over_the_year(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO, billing=Billing.ANNUAL)
    ws.pass_billing_date(at(2027, 2, 1))
    ws.add_editor(at(2027, 7, 2), "b")
    # 183 of 365 days are left (Jul 2 2027 -> Jan 1 2028): $336 x 183/365 = $168.46
    assert only(ws, WebWorkspace.EditorAdded).usd == Decimal("168.46")


def test_w04_removing_an_editor_credits_the_unused_seat_time(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, editors=["a", "b"])
    ws.remove_editor(at(2027, 1, 16), "b")
    assert only(ws, WebWorkspace.EditorRemoved).credit_usd == Decimal("7.74")
    assert ws.plan_credits == 625
    # Owed to the next invoice: Feb 1 charges one seat, $15 - $7.74.
    ws.pass_billing_date(at(2027, 2, 1))
    renewal = only(ws, WebWorkspace.BillingDateReached)
    assert (renewal.usd, renewal.credit_usd) == (Decimal("7.26"), Decimal("7.74"))


def test_w04_the_removal_credit_is_booked_on_the_next_invoice_not_at_removal() -> None:
    # Runway help centre: "a credit for their unused time will be applied to the next
    # invoice". Standard monthly from Jun 1; an editor joins Jun 16 (15 of June's 30
    # days left: $7.50) and leaves Jun 23 (8 days left: $4.00 credit). June pays
    # $15 + $7.50 = $22.50; the Jul 1 invoice is one seat less the credit: $11.00.
    loaded = load_scenario_text(
        """
version: 1
name: w04
start: 2027-06-01
end: 2027-08-01
workspaces:
  - id: team
    plan: standard
    editors: [ana]
    events:
      - {at: 2027-06-16, add_editor: bo}
      - {at: 2027-06-23, remove_editor: bo}
"""
    )
    ledger = Ledger("memory", run="w04")
    replay(loaded.scenario, loaded.price_book, ledger)
    figures = measure(ledger, "team", Surface.WEB, loaded.scenario.start, loaded.scenario.end)
    june, july = figures.months
    assert (june.usd, july.usd) == (Decimal("22.50"), Decimal("11.00"))
    assert figures.usd_total == Decimal("33.50")
    ws = ledger.working(ledger.workspace_id("team"))
    assert isinstance(ws, WebWorkspace)
    assert ws.seat_credit_usd == Decimal("0.00")  # the whole credit was used on Jul 1


def test_w04_a_credit_larger_than_the_invoice_waits_for_the_next_one(
    ledger: Ledger, book: PriceBook
) -> None:
    # Annual Pro: the months inside the year invoice nothing, so a credit from a
    # removal waits for the renewal a year after the anchor.
    ws = ledger.open_workspace(
        "w", START, book, Plan.PRO, billing=Billing.ANNUAL, editors=["a", "b"]
    )
    for month in range(2, 8):
        ws.pass_billing_date(at(2027, month, 1))
    ws.remove_editor(at(2027, 7, 2), "b")
    credit = only(ws, WebWorkspace.EditorRemoved).credit_usd
    assert credit == Decimal("168.46")  # 183 of 365 days of $336
    for month in range(8, 13):
        ws.pass_billing_date(at(2027, month, 1))
    ws.pass_billing_date(at(2028, 1, 1))
    renewals = recorded(ws, WebWorkspace.BillingDateReached)
    assert all(r.usd == 0 and r.credit_usd == 0 for r in renewals[:-1])
    assert (renewals[-1].usd, renewals[-1].credit_usd) == (Decimal("336") - credit, credit)


def test_w04_plan_terms_come_from_the_price_book(book: PriceBook) -> None:
    terms = plan_terms(book, Plan.STANDARD)
    assert (terms.allowance, terms.seat_cap, terms.monthly_usd, terms.annual_usd) == (
        625,
        5,
        Decimal("15"),
        Decimal("144"),
    )
