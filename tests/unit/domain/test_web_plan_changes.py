"""W11 upgrades, W12 downgrades at the end of the paid period, W13 cancellation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.application import Ledger, plan_terms
from ledger.domain.errors import DomainError
from ledger.domain.types import Billing, ForfeitReason, Plan, RefusalReason
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import at, kinds, only, recorded, web_task

START = at(2027, 1, 1)
MID_JANUARY = at(2027, 1, 16)  # 16 of January's 31 days are left


def test_w11_standard_to_pro_mid_cycle_adds_1625_and_prorates(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 10), 0, 1, web_task(book, "gen4.5", seconds=5))  # 625 - 125 = 500
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.PRO))
    upgraded = only(ws, WebWorkspace.PlanUpgraded)
    assert upgraded.credits_added == 1625  # 2,250 - 625, the difference
    # ($35 - $15) x 16/31 = $10.3225... -> $10.32
    assert upgraded.usd == Decimal("10.32")
    assert ws.plan is Plan.PRO
    assert ws.plan_credits == 2125  # 500 + 1,625, not reset to 2,250


def test_w11_pro_to_unlimited_adds_no_credits(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO, editors=["a", "b"])
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.UNLIMITED))
    upgraded = only(ws, WebWorkspace.PlanUpgraded)
    assert upgraded.credits_added == 0  # both allowances are 2,250
    # 2 editors x ($95 - $35) x 16/31 = $61.935... -> $61.94
    assert upgraded.usd == Decimal("61.94")
    assert ws.plan_credits == 2250


def test_w11_the_anchor_stays_after_an_upgrade(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 31, 14, 30), book, Plan.STANDARD)
    ws.change_plan(at(2027, 2, 10), plan_terms(book, Plan.PRO))
    assert ws.next_billing_at == at(2027, 2, 28, 14, 30)
    ws.pass_billing_date(at(2027, 2, 28, 14, 30))
    assert ws.plan_credits == 2250  # the first Pro refresh on the old anchor
    assert ws.next_billing_at == at(2027, 3, 31, 14, 30)


def test_w11_an_annual_upgrade_prorates_over_the_rest_of_the_year(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD, billing=Billing.ANNUAL)
    ws.pass_billing_date(at(2027, 2, 1))
    ws.change_plan(at(2027, 7, 2), plan_terms(book, Plan.PRO))
    # ($336 - $144) x 183/365 days = $96.263... -> $96.26
    assert only(ws, WebWorkspace.PlanUpgraded).usd == Decimal("96.26")


def test_w12_choosing_the_current_plan_with_nothing_scheduled_changes_nothing(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO)
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.PRO))
    kept = only(ws, WebWorkspace.ScheduledChangeDropped)
    assert (kept.plan, kept.dropped_plan) == (Plan.PRO, None)
    assert (ws.plan, ws.plan_credits, ws.pending_terms, ws.cancel_at) == (
        Plan.PRO,
        2250,
        None,
        None,
    )


def test_w12_choosing_the_current_plan_drops_a_scheduled_downgrade(
    ledger: Ledger, book: PriceBook
) -> None:
    # Stripe's scheduled changes, and Runway's plan page: picking the plan you are
    # on while a downgrade waits keeps the plan and drops the downgrade.
    ws = ledger.open_workspace("w", START, book, Plan.PRO)
    ws.change_plan(at(2027, 1, 10), plan_terms(book, Plan.STANDARD))
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.PRO))
    dropped = only(ws, WebWorkspace.ScheduledChangeDropped)
    assert (dropped.plan, dropped.dropped_plan) == (Plan.PRO, Plan.STANDARD)
    ws.pass_billing_date(at(2027, 2, 1))
    assert recorded(ws, WebWorkspace.PlanDowngraded) == []
    assert (ws.plan, ws.plan_credits) == (Plan.PRO, 2250)
    assert only(ws, WebWorkspace.BillingDateReached).usd == Decimal("35.00")


def test_w12_choosing_the_current_plan_drops_a_scheduled_cancellation(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.cancel(at(2027, 1, 10), plan_terms(book, Plan.FREE))
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.STANDARD))
    assert only(ws, WebWorkspace.ScheduledChangeDropped).dropped_plan is Plan.FREE
    ws.pass_billing_date(at(2027, 2, 1))
    assert recorded(ws, WebWorkspace.PlanEnded) == []
    assert (ws.plan, ws.plan_credits) == (Plan.STANDARD, 625)


def test_w13_cancelling_after_the_fall_back_to_free_is_a_refusal_not_an_error(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.cancel(at(2027, 1, 10), plan_terms(book, Plan.FREE))
    ws.pass_billing_date(at(2027, 2, 1))
    assert ws.plan is Plan.FREE
    ws.cancel(at(2027, 3, 1), plan_terms(book, Plan.FREE))
    refused = only(ws, WebWorkspace.PlanChangeRefused)
    assert refused.reason is RefusalReason.NO_SUBSCRIPTION


def test_w13_a_workspace_that_never_paid_has_nothing_to_cancel(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE)
    with pytest.raises(DomainError, match="W13"):
        ws.cancel(MID_JANUARY, plan_terms(book, Plan.FREE))


def test_w12_a_monthly_downgrade_waits_for_the_next_billing_date(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO)
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.STANDARD))
    scheduled = only(ws, WebWorkspace.DowngradeScheduled)
    assert (scheduled.to_plan, scheduled.effective_at) == (Plan.STANDARD, at(2027, 2, 1))
    assert (ws.plan, ws.plan_credits) == (Plan.PRO, 2250)  # still Pro until then
    ws.pass_billing_date(at(2027, 2, 1))
    assert ws.plan is Plan.STANDARD
    assert ws.plan_credits == 625  # the lower allowance is set
    assert only(ws, WebWorkspace.BillingDateReached).usd == Decimal("15.00")  # billed as Standard
    assert kinds(ws)[-4:] == [
        "PlanDowngraded",
        "BillingDateReached",
        "CreditsForfeited",
        "PlanCreditsRefreshed",
    ]


def test_w12_an_annual_downgrade_waits_for_the_renewal(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO, billing=Billing.ANNUAL)
    for month in range(2, 13):
        ws.pass_billing_date(at(2027, month, 1))
        if month == 3:
            ws.change_plan(at(2027, 3, 10), plan_terms(book, Plan.STANDARD))
            assert only(ws, WebWorkspace.DowngradeScheduled).effective_at == at(2028, 1, 1)
        assert (ws.plan, ws.plan_credits) == (Plan.PRO, 2250)  # Pro refreshes all year
    ws.pass_billing_date(at(2028, 1, 1))
    assert (ws.plan, ws.plan_credits) == (Plan.STANDARD, 625)
    assert recorded(ws, WebWorkspace.BillingDateReached)[-1].usd == Decimal("144.00")


def test_w12_a_downgrade_with_too_many_editors_is_refused(ledger: Ledger, book: PriceBook) -> None:
    editors = [f"e{i}" for i in range(7)]
    ws = ledger.open_workspace("w", START, book, Plan.PRO, editors=editors)
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.STANDARD))  # Standard allows 5
    refused = only(ws, WebWorkspace.PlanChangeRefused)
    assert (refused.to_plan, refused.reason) == (Plan.STANDARD, RefusalReason.SEAT_CAP)
    assert ws.pending_terms is None


def test_w12_an_upgrade_cancels_a_scheduled_downgrade(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO)
    ws.change_plan(at(2027, 1, 5), plan_terms(book, Plan.STANDARD))
    ws.change_plan(at(2027, 1, 6), plan_terms(book, Plan.UNLIMITED))
    ws.pass_billing_date(at(2027, 2, 1))
    assert (ws.plan, ws.plan_credits) == (Plan.UNLIMITED, 2250)


def test_w13_a_monthly_cancel_runs_to_the_end_of_the_month(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    ws.cancel(MID_JANUARY)
    assert only(ws, WebWorkspace.CancellationScheduled).effective_at == at(2027, 2, 1)
    assert (ws.plan, ws.plan_credits) == (Plan.STANDARD, 625)  # usable until the period ends
    ws.generate(at(2027, 1, 20), 0, 1, web_task(book, "gen4.5", seconds=5))  # 125
    ws.pass_billing_date(at(2027, 2, 1))
    forfeit = only(ws, WebWorkspace.CreditsForfeited)
    assert (forfeit.amount, forfeit.reason) == (500, ForfeitReason.CANCELLATION)
    assert only(ws, WebWorkspace.PlanEnded).from_plan is Plan.STANDARD
    assert ws.plan is Plan.FREE
    assert (ws.plan_credits, ws.purchased) == (0, 1000)  # no new Free grant; purchased stay
    assert recorded(ws, WebWorkspace.PlanCreditsRefreshed) == []
    assert only(ws, WebWorkspace.BillingDateReached).usd == Decimal("0.00")  # not billed again
    assert ws.next_billing_at is None


def test_w13_an_annual_cancel_keeps_monthly_refreshes_until_the_year_ends(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO, billing=Billing.ANNUAL)
    for month in range(2, 13):
        ws.pass_billing_date(at(2027, month, 1))
        if month == 3:
            ws.cancel(at(2027, 3, 10))
            assert only(ws, WebWorkspace.CancellationScheduled).effective_at == at(2028, 1, 1)
    assert len(recorded(ws, WebWorkspace.PlanCreditsRefreshed)) == 11  # Feb to Dec 2027
    assert (ws.plan, ws.plan_credits) == (Plan.PRO, 2250)
    ws.pass_billing_date(at(2028, 1, 1))
    assert recorded(ws, WebWorkspace.CreditsForfeited)[-1].reason is ForfeitReason.CANCELLATION
    assert (ws.plan, ws.plan_credits) == (Plan.FREE, 0)


def test_w13_after_the_fall_back_to_free_generations_use_purchased_credits(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    ws.cancel(at(2027, 1, 3))
    ws.pass_billing_date(at(2027, 2, 1))
    ws.generate(at(2027, 2, 2), 0, 1, web_task(book, "gen4.5", seconds=10))
    assert (ws.plan_credits, ws.purchased) == (0, 750)


def test_w13_cancelling_twice_schedules_once(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.cancel(at(2027, 1, 3))
    ws.cancel(at(2027, 1, 4))
    assert len(recorded(ws, WebWorkspace.CancellationScheduled)) == 1


def test_w13_a_free_workspace_has_nothing_to_cancel(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE)
    with pytest.raises(DomainError, match="W13"):
        ws.cancel(at(2027, 1, 3))


def test_w13_changing_to_free_is_a_cancel(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.PRO)
    ws.change_plan(MID_JANUARY, plan_terms(book, Plan.FREE))
    assert only(ws, WebWorkspace.CancellationScheduled).effective_at == at(2027, 2, 1)


def test_w03_a_workspace_that_fell_back_to_free_takes_no_more_editors(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.cancel(at(2027, 1, 2))
    ws.pass_billing_date(at(2027, 2, 1))
    ws.add_editor(at(2027, 2, 2), "second")
    assert only(ws, WebWorkspace.EditorRefused).reason is RefusalReason.SEAT_CAP
