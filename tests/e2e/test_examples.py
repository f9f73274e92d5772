"""Every example scenario through the CLI, key figures against hand arithmetic.

The figures below are worked out from the scenario files and the price book
(runway-2026-05), not read back from a run: each comment shows the sum.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke


def sql(cli: CliRunner, query: str) -> list[dict[str, object]]:
    code, out, err = invoke(cli, "sql", query, "--format", "json")
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


def totals(cli: CliRunner, account: str) -> dict[str, Any]:
    return sql(
        cli,
        "SELECT sum(granted) AS granted, sum(purchased) AS bought, sum(charged) AS charged, "
        "sum(refunded) AS refunded, sum(used) AS used, sum(forfeited) AS forfeited, "
        "sum(usd_spent) AS usd "
        f"FROM monthly_summary WHERE account_id = '{account}'",
    )[0]


def run(cli: CliRunner, name: str) -> str:
    code, out, err = invoke(cli, "run", str(EXAMPLES / f"{name}.yaml"))
    assert code == 0, err
    return out


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_example_file_runs_and_prints_a_summary(
    workdir: Path, cli: CliRunner, path: Path
) -> None:
    if "kind: workload" in path.read_text(encoding="utf-8"):
        code, out, err = invoke(cli, "validate", str(path))
        assert code in (0, 2)  # workloads are for `compare`, not `run`
        return
    code, out, err = invoke(cli, "run", str(path))
    assert code == 0, err
    assert "credits used" in out and "dollars spent" in out
    assert (workdir / "runs" / path.stem / "ledger.duckdb").is_file()


def test_solo_creator_year_in_numbers(workdir: Path, cli: CliRunner) -> None:
    run(cli, "solo-creator")
    t = totals(cli, "creator")
    # W01/W05: 625 at the start (Jan 15 10:00) + 11 refreshes (Feb 15 ... Dec 15);
    # the Jan 15 2028 refresh is the window's exclusive end.  12 x 625 = 7,500.
    assert t["granted"] == 7_500
    # W07: 1,000 + 2,000 + 1,000 bought.
    assert t["bought"] == 4_000
    # W02: 12 months x $15 (one editor) + $40 of credits = $220.
    assert Decimal(str(t["usd"])) == Decimal("220.00")
    # Conservation: granted + bought - used - forfeited = final balance, where used is
    # charged - refunded (W14: errored generations are given back).
    _, out, _ = invoke(cli, "balance", "creator", "--at", "2028-01-15T09:59", "--format", "json")
    final = json.loads(out)["balance"]
    assert t["refunded"] > 0 and t["used"] == t["charged"] - t["refunded"]
    assert t["granted"] + t["bought"] - t["used"] - t["forfeited"] == final


def test_both_surfaces_never_mix_and_price_each_from_its_own_catalogue(
    workdir: Path, cli: CliRunner
) -> None:
    run(cli, "both-surfaces")
    # S01/W09/A02: the same 5 s of Gen-4.5 costs 5 x 25 = 125 web credits and 5 x 12 = 60
    # API credits.
    costs = sql(cli, "SELECT DISTINCT surface, credits_each FROM task_runs ORDER BY surface")
    assert costs == [
        {"surface": "api", "credits_each": 60},
        {"surface": "web", "credits_each": 125},
    ]
    # Weekdays Jan-Jun 2027 (Jan 1 is a Friday): 21 + 20 + 23 + 22 + 21 + 22 = 129,
    # two tasks each: the API uses 129 x 2 x 60 = 15,480 credits, none refused: autobill
    # keeps the balance >= 1,000 at each hourly check and a day takes only 120.
    app = totals(cli, "app")
    assert app["used"] == 15_480
    # A04: 5,000 - 120 k < 1,000 first after day 34 (920 left); each 3,000 top-up lasts
    # 25 more days (3,920 - 25 x 120 = 920): top-ups after days 34, 59, 84, 109 = 4.
    # $50 + 4 x $30 = $170; final 5,000 + 12,000 - 15,480 = 1,520.
    assert app["bought"] == 5_000 + 4 * 3_000
    assert Decimal(str(app["usd"])) == Decimal("170.00")
    _, out, _ = invoke(cli, "balance", "app", "--at", "2027-06-30T23:00", "--format", "json")
    assert json.loads(out) == {
        "account": "app",
        "surface": "api",
        "at": "2027-06-30T23:00:00+00:00",
        "balance": 1_520,
        "tier": 3,  # A06: $50 + $30 + $30 = $110 >= $100 at the second top-up
    }
    web = totals(cli, "creative")
    # Pro on annual billing: 2 editors x $336 = $672, plus $20 of credits.
    assert Decimal(str(web["usd"])) == Decimal("692.00")
    # Jan 1 09:00 plus refreshes on Feb 1 ... Jun 1 at 09:00 (W05, also on annual): 6 x 2,250.
    assert web["granted"] == 13_500


def test_enterprise_pool_is_set_once_a_year(workdir: Path, cli: CliRunner) -> None:
    run(cli, "enterprise-annual-pool")
    t = totals(cli, "agency")
    # W16 (policy annual): one 120,000 pool on Feb 1 2027 12:00; the anniversary on
    # Feb 1 2028 12:00 is the window's exclusive end, so no second grant.
    assert t["granted"] == 120_000
    # W07: 50,000 bought for $500 (under the $9,999 in-app cap); 12 seats x $600 per year.
    assert t["bought"] == 50_000
    assert Decimal(str(t["usd"])) == Decimal("7700.00")


def test_studio_upgrade_is_prorated_and_adds_no_credits(workdir: Path, cli: CliRunner) -> None:
    run(cli, "studio-pro-unlimited")
    rows = sql(
        cli,
        "SELECT kind, sum(usd) AS usd FROM usd_ledger WHERE account_id = 'studio' "
        "AND kind <> 'refill' GROUP BY kind ORDER BY kind",
    )
    by_kind = {r["kind"]: Decimal(str(r["usd"])) for r in rows}
    # W11: ($95 - $35) x 6 editors x the rest of [Apr 4 09:00, May 4 09:00) from Apr 14 12:00:
    # 360 x 1,717,200 s / 2,592,000 s = $238.50.
    assert by_kind["upgrade"] == Decimal("238.50")
    # W04: gus joins Jun 1 00:00 for the rest of [May 4 09:00, Jun 4 09:00): 95 x 291,600 /
    # 2,678,400 = $10.34; he leaves Sep 1 00:00, the same share of [Aug 4, Sep 4) comes back.
    assert by_kind["seat_added"] == Decimal("10.34")
    assert by_kind["seat_removed"] == Decimal("-10.34")
    # Renewals: Feb/Mar/Apr 4 on Pro 6 x $35 = 210 each; May 4 on Unlimited 6 x $95 = 570;
    # Jun/Jul/Aug 4 with gus, 7 x $95 = 665; Sep ... Dec 4, 570 each.
    assert by_kind["renewal"] == Decimal(3 * 210 + 570 + 3 * 665 + 4 * 570)
    assert by_kind["subscription"] == Decimal("210.00")
    assert by_kind["purchase"] == Decimal("50.00")
    t = totals(cli, "studio")
    # W11: Pro -> Unlimited adds 2,250 - 2,250 = 0; 12 grants of 2,250 (Jan 4 + 11 refreshes).
    assert t["granted"] == 12 * 2_250


def test_product_api_growth_caps_the_first_recharge_and_hits_the_daily_limit(
    workdir: Path, cli: CliRunner
) -> None:
    run(cli, "product-api-growth")
    first = sql(cli, "SELECT credits, usd, capped FROM autobill_topups ORDER BY seq LIMIT 1")[0]
    # A04/A07: at 00:00 on Jan 1 the balance is 0 < 2,000; the 20,000-credit ($200)
    # recharge is cut to Tier 1's $100 cap: 10,000 credits.
    assert first == {"credits": 10_000, "usd": "100.00", "capped": True}
    tiers = sql(cli, "SELECT to_tier, ts FROM tier_history WHERE change = 'raised' ORDER BY seq")
    # A06: $100 purchased reaches Tier 3 at once (Tier 2 needs $50, Tier 3 $100).
    assert tiers[0] == {"to_tier": 3, "ts": "2027-01-01T00:00:00+00:00"}
    assert [t["to_tier"] for t in tiers] == [3, 4, 5]
    # A08: the Feb 14 campaign (2,500 images, 09:00-21:00) plus 150 thumbnails is over
    # Tier 3's 2,000 a day for gen4_image (Tier 4 comes Feb 25). Once the
    # rolling window is full, each Feb 13 thumbnail leaving it frees one slot for the next
    # campaign image (one every 17 s); the last Feb 13 thumbnail (20:00) leaves before the
    # campaign ends (21:00), so exactly 2,000 are accepted on Feb 14: 2,650 - 2,000 = 650.
    limited = sql(
        cli,
        "SELECT sum(count) AS n, min(first_at) AS first FROM refusals WHERE reason = 'daily_limit'",
    )[0]
    assert limited["n"] == 650
    assert str(limited["first"]).startswith("2027-02-14")
