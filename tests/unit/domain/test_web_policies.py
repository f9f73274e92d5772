"""The three interpretations of issue 13's point 6, each a named policy with a default.

- ``free_credits`` (W01): leaving Free forfeits the unspent one-time grant
  (``forfeit``, default) or keeps it in the never-expiring bucket (``keep``).
- ``plan_refresh`` (W05/W06): the plan bucket is set at the anchor's minute
  (``at_anchor``, default) or 24 h later (``after_24h``, Runway's "within 24
  hours of your billing day" at its latest).
- ``refill_window`` (W15): the Auto Refill maximum counts per calendar month
  (``calendar_month``, default) or per billing period (``billing_period``).
"""

from __future__ import annotations

from datetime import datetime

from ledger.application import Ledger, plan_terms
from ledger.domain.terms import RefillSettings
from ledger.domain.types import (
    Billing,
    ForfeitReason,
    FreeCreditsPolicy,
    Plan,
    PlanRefreshPolicy,
    RefillWindowPolicy,
)
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from scenarios.engine import replay
from scenarios.loader import load_scenario_text
from tests.unit.domain.domain_kit import HOUR_US, at, only, recorded, web_task

START = at(2027, 1, 1)


def test_w01_free_credits_policy_forfeit_drops_the_grant_when_a_paid_plan_starts(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.FREE)
    ws.generate(at(2027, 1, 2), 0, 1, web_task(book, "gen4_turbo", seconds=5))  # 125 - 25
    ws.change_plan(at(2027, 1, 10), plan_terms(book, Plan.STANDARD))
    forfeit = only(ws, WebWorkspace.CreditsForfeited)
    assert (forfeit.amount, forfeit.reason) == (100, ForfeitReason.PLAN_START)
    assert (ws.plan_credits, ws.purchased) == (625, 0)


def test_w01_free_credits_policy_keep_carries_the_grant_past_every_refresh(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = WebWorkspace.subscribe(
        id=ledger.workspace_id("w"),
        at=START,
        name="w",
        terms=plan_terms(book, Plan.FREE),
        billing=Billing.MONTHLY,
        editors=["owner"],
        free_credits=FreeCreditsPolicy.KEEP,
    )
    ws.generate(at(2027, 1, 2), 0, 1, web_task(book, "gen4_turbo", seconds=5))  # 125 - 25
    ws.change_plan(at(2027, 1, 10), plan_terms(book, Plan.STANDARD))
    assert only(ws, WebWorkspace.FreeCreditsKept).amount == 100
    assert recorded(ws, WebWorkspace.CreditsForfeited) == []
    assert (ws.plan_credits, ws.purchased) == (625, 100)
    ws.pass_billing_date(at(2027, 2, 10))  # W06 sets the plan bucket; the 100 stay
    assert (ws.plan_credits, ws.purchased) == (625, 100)


SCENARIO = """
version: 1
name: refresh timing
start: 2027-01-01
end: 2027-03-01
policies: {{plan_refresh: {policy}}}
workspaces:
  - id: w
    plan: standard
    subscribed: 2027-01-05T09:00
    usage:
      - {{at: 2027-01-05T10:00, model: gen4.5, seconds: 20}}
      - {{at: 2027-02-05T12:00, model: gen4.5, seconds: 4}}
"""


def refreshes(policy: str) -> tuple[list[datetime], list[int], WebWorkspace]:
    """(refresh instants, forfeited amounts, the workspace) after replaying SCENARIO."""
    loaded = load_scenario_text(SCENARIO.format(policy=policy))
    ledger = Ledger("memory", run="refresh")
    replay(loaded.scenario, loaded.price_book, ledger)
    ws = ledger.working(ledger.workspace_id("w"))
    assert isinstance(ws, WebWorkspace)
    events = list(ledger.iter_account_events("w"))
    at_ = [e.timestamp for e in events if isinstance(e, WebWorkspace.PlanCreditsRefreshed)]
    forfeits = [e.amount for e in events if isinstance(e, WebWorkspace.CreditsForfeited)]
    return at_, forfeits, ws


def test_w05_plan_refresh_policy_at_anchor_sets_the_bucket_at_the_billing_minute() -> None:
    at_, forfeits, ws = refreshes("at_anchor")
    assert at_ == [at(2027, 2, 5, 9)]
    # Jan: 625 - 500 = 125 forfeited at Feb 5 09:00; Feb 5 12:00 uses 100 of the new 625.
    assert forfeits == [125]
    assert ws.plan_credits == 525


def test_w05_plan_refresh_policy_after_24h_leaves_the_old_credits_for_a_day() -> None:
    at_, forfeits, ws = refreshes("after_24h")
    assert at_ == [at(2027, 2, 6, 9)]
    # The Feb 5 12:00 generation still spends January's 125 (100 of it); the remaining
    # 25 are forfeited at Feb 6 09:00 and the bucket is set to 625.
    assert forfeits == [25]
    assert ws.plan_credits == 625


REFILL = RefillSettings(trigger=100, amount_usd=10, monthly_max_usd=10)


def refill_instants(ledger: Ledger, book: PriceBook, window: RefillWindowPolicy) -> list[datetime]:
    # Anchored on Jan 15, one $10 refill allowed per window, 250 credits a generation:
    # 625 -> 125 by Jan 16; Jan 20 needs refill 1 (875 left); on Feb 2 three more
    # leave 125 and the fourth (03:00) needs a refill again.
    ws = WebWorkspace.subscribe(
        id=ledger.workspace_id("w"),
        at=at(2027, 1, 15),
        name="w",
        terms=plan_terms(book, Plan.STANDARD),
        billing=Billing.MONTHLY,
        editors=["owner"],
        refill=REFILL,
        refill_window=window,
    )
    task = web_task(book, "gen4.5", seconds=10)  # 250
    ws.generate(at(2027, 1, 16), HOUR_US, 2, task)  # 625 -> 125
    ws.generate(at(2027, 1, 20), 0, 1, task)  # would leave -125: refill 1
    ws.generate(at(2027, 2, 2), HOUR_US, 4, task)
    return [e.timestamp for e in recorded(ws, WebWorkspace.CreditsPurchased) if e.refill]


def test_w15_refill_window_policy_calendar_month_counts_by_calendar_month(
    ledger: Ledger, book: PriceBook
) -> None:
    # Feb 2 is a new calendar month: a second refill is allowed there.
    assert refill_instants(ledger, book, RefillWindowPolicy.CALENDAR_MONTH) == [
        at(2027, 1, 20),
        at(2027, 2, 2, 3),
    ]


def test_w15_refill_window_policy_billing_period_counts_by_the_current_period(
    ledger: Ledger, book: PriceBook
) -> None:
    # Feb 2 is still in the Jan 15 - Feb 15 period, whose $10 is spent: no refill.
    assert refill_instants(ledger, book, RefillWindowPolicy.BILLING_PERIOD) == [at(2027, 1, 20)]


def test_w05_the_default_policies_are_forfeit_at_anchor_and_calendar_month(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    assert (ws.free_credits, ws.plan_refresh, ws.refill_window) == (
        FreeCreditsPolicy.FORFEIT,
        PlanRefreshPolicy.AT_ANCHOR,
        RefillWindowPolicy.CALENDAR_MONTH,
    )
