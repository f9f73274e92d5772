"""measure: one account's dollars, forfeits, top-ups and month-end balances from its events."""

from __future__ import annotations

from decimal import Decimal

from ledger.application import Ledger
from ledger.domain.types import RefusalReason, Surface
from ledger.tools.decide.measure import measure, window_months
from scenarios.engine import replay
from scenarios.loader import load_scenario_text

SCENARIO = """
version: 1
name: measured
start: 2027-01-01
end: 2027-03-15
workspaces:
  - id: studio
    plan: standard
    editors: [ana]
    events:
      - {at: 2027-01-20, buy: 1000}
    usage:
      - {every: day, time: "10:00", model: gen4_turbo, seconds: 5, count: 1, until: 2027-02-01}
organizations:
  - id: app
    events:
      - {at: 2027-01-02, buy: 2000}
    usage:
      - {at: 2027-02-10T12:00, model: gen4_image, resolution: 720p, count: 500}
"""


def replayed() -> Ledger:
    loaded = load_scenario_text(SCENARIO)
    ledger = Ledger("memory", run="measure")
    replay(loaded.scenario, loaded.price_book, ledger)
    return ledger


def test_months_of_a_window_are_the_calendar_months_it_touches() -> None:
    loaded = load_scenario_text(SCENARIO)
    assert window_months(loaded.scenario.start, loaded.scenario.end) == [
        "2027-01",
        "2027-02",
        "2027-03",
    ]


def test_a_workspace_month_by_month_as_computed_by_hand() -> None:
    loaded = load_scenario_text(SCENARIO)
    ws = measure(replayed(), "studio", Surface.WEB, loaded.scenario.start, loaded.scenario.end)
    jan, feb, mar = ws.months

    # January: seat $15 + 1,000 credits $10; 31 clips x 25 = 775 credits:
    # 625 from the plan (W08), 150 from the purchase. Ends with 0 + 850.
    assert (jan.usd, jan.used, jan.top_ups, jan.forfeited) == (Decimal("25.00"), 775, 1, 0)
    assert (jan.plan, jan.purchased, jan.balance) == (0, 850, 850)
    # February 1st: renewal $15, refresh to 625 (nothing left to forfeit); no use.
    assert (feb.usd, feb.used, feb.forfeited, feb.balance) == (Decimal("15.00"), 0, 0, 1_475)
    # March 1st: 625 unused plan credits forfeited (W06), set to 625 again.
    assert (mar.usd, mar.forfeited, mar.plan, mar.purchased) == (Decimal("15.00"), 625, 625, 850)
    assert ws.usd_total == Decimal("55.00")
    assert ws.billing_dates[0].isoformat() == "2027-01-01T00:00:00+00:00"
    assert len(ws.billing_dates) == 3
    assert ws.plans == [(ws.billing_dates[0], "standard")]


def test_an_organization_counts_refusals_by_reason_and_model() -> None:
    loaded = load_scenario_text(SCENARIO)
    org = measure(replayed(), "app", Surface.API, loaded.scenario.start, loaded.scenario.end)

    # 2,000 credits at 5 each: 400 images; Tier 1 allows 200 a day (A08), so
    # images 201-500 are refused as rate-limited, none for credits.
    assert org.refused == 300
    assert org.refused_by == {(RefusalReason.DAILY_LIMIT, "gen4_image"): 300}
    assert org.used == 1_000
    assert org.usd_total == Decimal("20.00")
    assert [m.balance for m in org.months] == [2_000, 1_000, 1_000]
    assert [m.tier for m in org.months] == [1, 1, 1]
    assert org.first_refusal is not None
    assert org.first_refusal.reason is RefusalReason.DAILY_LIMIT
