"""The invariant checks can fail: each one reports a history that breaks its rule.

Histories are built with the real aggregates in a memory store; a broken one
is made by triggering an event directly, the way a faulty engine or
aggregate would, instead of through the command that checks the rule.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.terms import AutobillSettings, TaskSpec
from ledger.domain.types import ForfeitReason, GenerationMode, Plan
from ledger.domain.web import WebWorkspace
from ledger.invariants import (
    Holdings,
    InvariantError,
    check_events,
    check_ledger,
    credits_conserved,
    fold,
    purchased_only_spent_by_usage,
    same_events,
)
from ledger.pricing.loader import load_price_book

BOOK = load_price_book()
START = datetime(2027, 1, 31, 10, tzinfo=UTC)
FINAL = TaskSpec("gen4.5", 250)  # a 10 s Gen-4.5 generation on web


def names(errors: list[InvariantError]) -> set[str]:
    return {e.invariant for e in errors}


@pytest.fixture
def app() -> Ledger:
    return Ledger("memory", run="invariants")


def standard(app: Ledger) -> WebWorkspace:
    return app.open_workspace("studio", START, BOOK, Plan.STANDARD)


def organization(app: Ledger, tier: int = 1) -> ApiOrganization:
    return app.open_organization(
        "backend", START, BOOK, tier=tier, autobill=AutobillSettings(threshold=1000, amount=5000)
    )


def test_a_history_made_by_the_commands_keeps_every_invariant(app: Ledger) -> None:
    ws = standard(app)
    ws.purchase_credits(START + timedelta(hours=1), 1000)
    ws.generate(START + timedelta(days=1), 3_600_000_000, 5, FINAL, refunded=[1])
    due = ws.next_billing_at
    assert due is not None
    ws.pass_billing_date(due)  # W05: Feb 28 (clamped), W06: forfeit then refresh
    org = organization(app)
    org.check_autobill(START)  # 0 < 1,000: buys 5,000 ($50), within Tier 1's $100
    org.submit_tasks(
        START + timedelta(minutes=5), 60_000_000, 10, TaskSpec("gen4_turbo", 25), 2, 200
    )
    org.check_autobill(START + timedelta(hours=1))
    app.flush()
    assert check_ledger(app, ["studio", "backend"]) == []


def test_a_refresh_that_does_not_forfeit_the_rest_is_reported(app: Ledger) -> None:
    ws = standard(app)
    ws.generate(START + timedelta(days=1), 0, 1, FINAL)  # 625 - 250 = 375 left
    due = ws.next_billing_at
    ws.trigger_event(
        WebWorkspace.BillingDateReached,
        timestamp=due,
        period=1,
        usd=Decimal("15.00"),
        seats=1,
        credit_usd=Decimal("0.00"),
    )
    ws.trigger_event(WebWorkspace.PlanCreditsRefreshed, timestamp=due, allowance=625, period=1)
    app.flush()
    errors = check_ledger(app, ["studio"])
    assert "refresh_sets_not_adds" in names(errors)
    message = next(str(e) for e in errors if e.invariant == "refresh_sets_not_adds")
    assert "375 plan credits were still there" in message
    assert "studio v4" in message  # the account and the event's version


def test_a_generation_charged_beyond_the_balance_is_a_negative_bucket(app: Ledger) -> None:
    ws = standard(app)
    at = START + timedelta(days=1)
    ws.trigger_event(
        WebWorkspace.GenerationCharged,
        timestamp=at,
        model="gen4.5",
        label="",
        mode=GenerationMode.CREDITS,
        first_at=at,
        interval_us=0,
        count=4,
        credits_each=250,
        plan_part=1000,
        purchased_part=0,
        refunded=[],
        safety_failed=[],
        batch_at=at,
    )
    app.flush()
    errors = check_ledger(app, ["studio"])
    assert names(errors) == {"no_negative_bucket"}
    assert "plan is -375" in str(errors[0])


def test_a_run_that_keeps_less_than_it_charges_breaks_conservation(app: Ledger) -> None:
    ws = standard(app)
    at = START + timedelta(days=1)
    ws.trigger_event(
        WebWorkspace.GenerationCharged,
        timestamp=at,
        model="gen4_turbo",
        label="",
        mode=GenerationMode.CREDITS,
        first_at=at,
        interval_us=0,
        count=2,
        credits_each=25,
        plan_part=10,
        purchased_part=0,
        refunded=[],
        safety_failed=[],
        batch_at=at,
    )
    app.flush()
    errors = check_ledger(app, ["studio"])
    assert names(errors) == {"credits_conserved"}
    assert "keeps 10" in str(errors[0]) and "charges 50" in str(errors[0])


def test_a_fold_that_drifts_from_the_events_breaks_conservation(app: Ledger) -> None:
    ws = standard(app)
    ws.purchase_credits(START, 1000)
    app.flush()
    steps = fold(app.iter_account_events("studio"))
    # The purchase's fold says 900 where the event bought 1,000.
    steps[-1] = dataclasses.replace(
        steps[-1], after=Holdings(plan=625, purchased=900, balance=1525)
    )
    errors = credits_conserved("studio", steps)
    assert len(errors) == 1
    assert "purchased: granted 0 + bought 1,000" in errors[0].message
    assert "holds 900" in errors[0].message


def test_purchased_credits_taken_by_anything_but_usage_are_reported(app: Ledger) -> None:
    ws = standard(app)
    ws.purchase_credits(START, 1000)
    ws.trigger_event(
        WebWorkspace.CreditsForfeited,
        timestamp=START + timedelta(days=1),
        amount=0,
        reason=ForfeitReason.RESET,
    )
    app.flush()
    steps = fold(app.iter_account_events("studio"))
    # A forfeiture that emptied the purchased bucket (W07: they never expire).
    steps[-1] = dataclasses.replace(steps[-1], after=Holdings(plan=625, purchased=0, balance=625))
    errors = purchased_only_spent_by_usage("studio", steps)
    assert [e.message for e in errors] == ["CreditsForfeited took 1,000 purchased credits"]


def test_two_grants_on_one_billing_date_are_reported(app: Ledger) -> None:
    ws = standard(app)
    due = ws.next_billing_at
    assert due is not None
    ws.pass_billing_date(due)
    ws.trigger_event(WebWorkspace.PlanCreditsRefreshed, timestamp=due, allowance=625, period=1)
    app.flush()
    errors = [
        e for e in check_ledger(app, ["studio"]) if e.invariant == "one_grant_per_billing_date"
    ]
    assert [e.message for e in errors] == ["plan credits granted 2 times at the same instant"]


def test_a_skipped_billing_period_is_reported(app: Ledger) -> None:
    ws = standard(app)
    due = START + timedelta(days=59)
    ws.trigger_event(
        WebWorkspace.BillingDateReached,
        timestamp=due,
        period=2,
        usd=Decimal("15.00"),
        seats=1,
        credit_usd=Decimal("0.00"),
    )
    app.flush()
    errors = check_ledger(app, ["studio"])
    assert [e.message for e in errors] == ["billing period 2 follows period 0"]


def test_a_recharge_over_the_30_day_cap_is_reported(app: Ledger) -> None:
    org = organization(app, tier=1)  # A07: $100 in any 30 days
    org.trigger_event(
        ApiOrganization.AutobillToppedUp,
        timestamp=START,
        credits=20000,
        usd=Decimal("200.00"),
        capped=False,
        window_spend_usd=Decimal("200.00"),
        batch_at=None,
    )
    app.flush()
    errors = check_ledger(app, ["backend"])
    assert names(errors) == {"autobill_within_cap"}
    assert "$200.00 over Tier 1's $100 cap" in str(errors[0])


def test_a_recharge_that_misstates_the_window_is_reported(app: Ledger) -> None:
    org = organization(app, tier=3)
    org.purchase_credits(START, 5000)  # $50
    org.trigger_event(
        ApiOrganization.AutobillToppedUp,
        timestamp=START + timedelta(days=31),  # the purchase has left the 30-day window
        credits=5000,
        usd=Decimal("50.00"),
        capped=False,
        window_spend_usd=Decimal("100.00"),
        batch_at=None,
    )
    app.flush()
    errors = [e for e in check_ledger(app, ["backend"]) if e.invariant == "autobill_within_cap"]
    assert [e.message for e in errors] == [
        "AutobillToppedUp says the 30-day purchases are $100.00, the purchases add up to $50.00"
    ]


def test_an_autobill_loop_is_reported(app: Ledger) -> None:
    org = organization(app, tier=3)
    org.check_autobill(START)  # the real check: 0 < 1,000, buys 5,000
    for minutes in (0, 30):  # then twice more, once off the hour, above the threshold
        org.trigger_event(
            ApiOrganization.AutobillToppedUp,
            timestamp=START + timedelta(minutes=minutes),
            credits=5000,
            usd=Decimal("50.00"),
            capped=False,
            window_spend_usd=Decimal(50 * (2 + minutes // 30)),
            batch_at=None,
        )
    app.flush()
    messages = [e.message for e in check_ledger(app, ["backend"])]
    assert messages == [
        "2 autobill attempts at one hourly check",
        "recharged with 5,000 credits, not below the threshold 1000",
        "AutobillToppedUp is not on the hour",
        "recharged with 10,000 credits, not below the threshold 1000",
    ]


def test_replays_that_differ_are_reported() -> None:
    first, second = Ledger("memory", run="same"), Ledger("memory", run="same")
    for app in (first, second):
        app.open_workspace("studio", START, BOOK, Plan.STANDARD).purchase_credits(START, 1000)
    extra = second.working(second.workspace_id("studio"))
    assert isinstance(extra, WebWorkspace)
    extra.purchase_credits(START, 2000)
    first.flush()
    second.flush()
    errors = same_events(first, second, ["studio"])
    assert [e.message for e in errors] == ["the replays stored 2 and 3 events"]
    third = Ledger("memory", run="same")
    third.open_workspace("studio", START, BOOK, Plan.STANDARD).purchase_credits(START, 2000)
    third.flush()
    differs = same_events(first, third, ["studio"])
    assert len(differs) == 1 and differs[0].version == 2
    assert same_events(first, first, ["studio"]) == []


def test_check_events_runs_every_check_on_events_in_memory(app: Ledger) -> None:
    ws = standard(app)
    ws.generate(START + timedelta(days=1), 0, 4, FINAL)  # 625 pays for 2, the rest is refused
    assert check_events("studio", ws.pending_events) == []
