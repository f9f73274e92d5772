"""The scenario an import writes, from Runway's bodies (no server needed)."""

from __future__ import annotations

import itertools
from datetime import date

from ledger.pricing.loader import load_price_book
from ledger.tools.importer.build import ImportOptions, build_scenario, tier_for, web_model
from ledger.tools.importer.reported import net_daily, read_export
from ledger.tools.importer.runway import RunwayExport, windows
from scenarios.loader import load_scenario_text

BOOK = load_price_book()


def _export(
    days: dict[str, dict[str, int]], balance: int = 1000, spend: int = 10000
) -> RunwayExport:
    body = {
        "models": [],
        "results": [
            {"date": d, "usedCredits": [{"model": m, "amount": a} for m, a in used.items()]}
            for d, used in days.items()
        ],
    }
    org = {
        "creditBalance": balance,
        "tier": {"maxMonthlyCreditSpend": spend, "models": {}},
        "usage": {"models": {}},
    }
    return RunwayExport(org, [(date(2026, 3, 1), date(2026, 4, 1), body)])


def test_a_net_refund_day_is_taken_off_the_earlier_days() -> None:
    reported = read_export(
        _export(
            {
                "2026-03-02": {"gen4.5": 120},
                "2026-03-03": {"gen4.5": 60},
                "2026-03-04": {"gen4.5": -90},
            }
        )
    )
    daily, moved = net_daily(reported)
    assert daily["gen4.5"] == {date(2026, 3, 2): 90, date(2026, 3, 3): 0, date(2026, 3, 4): 0}
    assert len(moved) == 1 and "90" in moved[0]
    result = build_scenario(reported, BOOK, ImportOptions(date(2026, 3, 1), date(2026, 4, 1)))
    loaded = load_scenario_text(result.text, "imported.yaml")
    (org,) = loaded.scenario.organizations
    assert org.balance == 1000 + 90  # the window's net use: 120 + 60 - 90
    assert result.api_credits == 90


def test_a_monthly_spend_between_tiers_becomes_a_cap_override() -> None:
    assert tier_for(10000, BOOK)[0].value == 1  # $100: tier 1 exactly
    tier, cap = tier_for(30000, BOOK)  # $300: above tier 1's cap, below tier 2's
    assert tier.value == 1 and str(cap) == "300.00"
    result = build_scenario(
        read_export(_export({}, spend=30000)),
        BOOK,
        ImportOptions(date(2026, 3, 1), date(2026, 4, 1)),
    )
    assert result.overrides == ["api.tiers.1.monthly_cap_usd: 100 -> 300.00"]
    load_scenario_text(result.text, "imported.yaml")


def test_web_tools_and_usage_windows() -> None:
    assert web_model("Gen-4 Turbo") == "gen4_turbo"
    assert web_model("Gen-4.5") == "gen4.5"
    assert web_model("Gen-3 Alpha Turbo") == "gen3a_turbo"
    assert web_model("Dream Machine") == "dream_machine"
    assert windows(date(2026, 1, 1), date(2026, 1, 1)) == []
    calls = windows(date(2026, 1, 1), date(2026, 12, 31))  # 364 days: 4 x 90 + 4
    assert [(b - a).days for a, b in calls] == [90, 90, 90, 90, 4]
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(calls))


def test_a_daily_limit_the_history_would_pass_grows_the_tasks() -> None:
    # 120 a day of gen4.5 at 5 s (60 credits) = 7,200 credits: two days meet in one rolling
    # 24 h window and tier 1 allows 200 (A08); 6 s tasks (the next length gen4.5 makes) fit
    reported = read_export(_export({f"2026-03-{d:02d}": {"gen4.5": 7200} for d in (2, 3)}))
    result = build_scenario(reported, BOOK, ImportOptions(date(2026, 3, 1), date(2026, 4, 1)))
    assert any("imported as 6 s tasks" in n for n in result.notes)
    assert "seconds: 6" in result.text
