"""S04: things due at the same instant happen in a fixed order.

billing-date refresh/renewal, plan changes, purchases, autobill checks, tier
evaluation, then planned usage in scenario order, whatever order the file
lists them in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ledger.application import Ledger
from scenarios.engine import replay
from scenarios.loader import load_scenario_text

SCENARIO = """
version: 1
name: same instant
start: 2027-01-01
end: 2027-03-01
workspaces:
  - id: ws
    plan: standard
    subscribed: 2027-01-01T10:00
    usage:
      # Listed first, but usage comes last at 10:00 on Feb 1 (the billing date).
      - {at: 2027-02-01T10:00, model: gen4_turbo, seconds: 5, label: second-line-of-usage}
      - {at: 2027-02-01T10:00, model: gen4_turbo, seconds: 10, label: first}
    events:
      - {at: 2027-02-01T10:00, buy: 1000}
      - {at: 2027-02-01T10:00, change_plan: pro}
organizations:
  - id: org
    usage:
      - {at: 2027-01-05T10:00, model: gen4_image, count: 2}
    events:
      - {at: 2027-01-05T10:00, buy: 5000}
      - {at: 2027-01-05T10:00, enable_autobill: {threshold: 6000, amount: 20000}}
"""


def names_at(ledger: Ledger, account: str, at: datetime) -> list[str]:
    return [
        type(e).__name__ + (f"({e.label})" if hasattr(e, "label") else "")
        for e in ledger.iter_account_events(account)
        if e.timestamp == at
    ]


def test_s04_billing_then_plan_change_then_purchase_then_usage_in_file_order() -> None:
    loaded = load_scenario_text(SCENARIO, "s04.yaml")
    ledger = Ledger("memory", run="s04")
    replay(loaded.scenario, loaded.price_book, ledger)
    at = datetime(2027, 2, 1, 10, tzinfo=UTC)
    assert names_at(ledger, "ws", at) == [
        "BillingDateReached",
        "CreditsForfeited",
        "PlanCreditsRefreshed",
        "PlanUpgraded",
        "CreditsPurchased",
        "GenerationCharged(second-line-of-usage)",
        "GenerationCharged(first)",
    ]


def test_s04_account_change_then_purchase_then_autobill_then_tier_then_usage() -> None:
    loaded = load_scenario_text(SCENARIO, "s04.yaml")
    ledger = Ledger("memory", run="s04")
    replay(loaded.scenario, loaded.price_book, ledger)
    at = datetime(2027, 1, 5, 10, tzinfo=UTC)
    assert names_at(ledger, "org", at) == [
        "AutobillEnabled",  # an account change (listed second in the file)
        "CreditsPurchased",  # 5,000 credits, $50: enough for Tier 2, not yet evaluated
        "AutobillToppedUp",
        "TierRaised",
        "TaskCharged()",
    ]
    # The order is not cosmetic: the autobill check still sees Tier 1's $100 cap with
    # $50 spent, so the $200 recharge is cut to $50 (A07); only then do the $100 bought
    # reach Tier 3 (A06). Evaluating the tier right after the purchase would have
    # raised the cap to $500 first and bought all 20,000 credits.
    events = {type(e).__name__: e for e in ledger.iter_account_events("org")}
    topup = events["AutobillToppedUp"]
    assert (topup.credits, topup.capped) == (5_000, True)
    assert (events["TierRaised"].from_tier, events["TierRaised"].to_tier) == (1, 3)
