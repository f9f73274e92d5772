"""compare: every route replayed, top-ups searched, ranked; figures checked by hand.

The workloads here are short (a quarter of 2027) so each test replays in
well under a second. January and March 2027 have 31 days, February 28:
90 days in all.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.types import Surface
from ledger.pricing.loader import load_price_book
from ledger.tools.decide.compare import RouteResult, compare, ramp_purchases, routes
from ledger.tools.decide.measure import measure
from scenarios.engine import replay
from scenarios.loader import LoadedWorkload, load_scenario_text, load_workload_text

HEAD = """version: 1
kind: workload
name: quarter
start: 2027-01-01
end: 2027-04-01
"""
# Two 5-second Gen-4 Turbo clips a day: 2 x 5 x 5 = 50 credits a day on both
# surfaces (5 credits a second on web and API alike).
CLIPS = """usage:
  - {every: day, time: "10:00", model: gen4_turbo, seconds: 5, count: 2}
"""


def load(text: str) -> LoadedWorkload:
    return load_workload_text(text)


def by_id(results: list[RouteResult]) -> dict[str, RouteResult]:
    return {r.id: r for r in results}


def run(text: str, *, explore: bool = True) -> list[RouteResult]:
    loaded = load(text)
    return compare(loaded.workload, loaded.price_book, explore=explore)


# ----------------------------------------------------------------- routes


def test_every_plan_and_billing_is_a_route_plus_free_explore_and_the_api() -> None:
    loaded = load(HEAD + CLIPS)

    ids = [r.id for r in routes(loaded.workload, loaded.price_book)]

    assert ids == [
        "web:free",
        "web:standard:monthly",
        "web:standard:annual",
        "web:pro:monthly",
        "web:pro:annual",
        "web:unlimited:monthly",
        "web:unlimited:monthly:explore",  # W10: gen4_turbo is explore-eligible
        "web:unlimited:annual",
        "web:unlimited:annual:explore",
        "api",
    ]


def test_w10_no_explore_routes_without_an_eligible_line_or_when_left_out() -> None:
    gen2 = HEAD + "usage:\n  - {every: day, model: gen2, seconds: 4}\n"  # gen2: explore false
    loaded = load(gen2)
    clips = load(HEAD + CLIPS)

    without_eligible = [r.id for r in routes(loaded.workload, loaded.price_book)]
    left_out = [r.id for r in routes(clips.workload, clips.price_book, explore=False)]

    assert not [i for i in without_eligible if i.endswith(":explore")]
    assert not [i for i in left_out if i.endswith(":explore")]


# ----------------------------------------------------------------- figures by hand


def test_a_quarter_of_clips_ranks_as_computed_by_hand() -> None:
    results = run(HEAD + CLIPS)
    got = [(r.id, r.carries, r.usd_total) for r in results]

    # 90 days x 50 credits = 4,500 credits on either surface.
    # API: autobill below 1,000 buys 1,000 (one peak hour is 50 credits); after
    #   every hourly check the balance is in [1,000, 2,000), so the year ends
    #   with 1,000 x N - 4,500 in that range: N = 6, $60.
    # Standard monthly: seats 3 x $15 = $45; plan 625 a month, so purchases
    #   cover Jan 31x50-625 = 925, Feb 28x50-625 = 775, Mar 925: 2,625 needed,
    #   bought in whole thousands on each billing date: 1,000 + 1,000 + 1,000 = $30.
    # Pro monthly: 3 x $35 = $105; 2,250 a month covers every month.
    # Standard annual: $144 + the same $30 = $174.
    # Unlimited monthly: 3 x $95 = $285, with or without Explore Mode (the plan
    #   credits suffice): a tie, kept in route order.
    # Pro annual $336; Unlimited annual $912 (twice). Free: 125 credits last
    #   two and a half days and Free cannot buy: it cannot carry.
    assert got == [
        ("api", True, Decimal("60.00")),
        ("web:standard:monthly", True, Decimal("75.00")),
        ("web:pro:monthly", True, Decimal("105.00")),
        ("web:standard:annual", True, Decimal("174.00")),
        ("web:unlimited:monthly", True, Decimal("285.00")),
        ("web:unlimited:monthly:explore", True, Decimal("285.00")),
        ("web:pro:annual", True, Decimal("336.00")),
        ("web:unlimited:annual", True, Decimal("912.00")),
        ("web:unlimited:annual:explore", True, Decimal("912.00")),
        ("web:free", False, Decimal("0.00")),
    ]


def test_w06_forfeits_top_ups_and_per_month_dollars_as_computed_by_hand() -> None:
    results = by_id(run(HEAD + CLIPS))

    standard, pro = results["web:standard:monthly"], results["web:pro:monthly"]
    # Standard uses every plan credit each month: nothing forfeited, 3 top-ups.
    assert (standard.forfeited, standard.top_ups, standard.credits_bought) == (0, 3, 3_000)
    # Pro forfeits what January and February left at the next refresh (W06):
    # (2,250 - 31x50) + (2,250 - 28x50) = 700 + 850 = 1,550; April is outside.
    assert (pro.forfeited, pro.top_ups) == (1_550, 0)
    assert standard.usd_per_month == Decimal("25.00")  # $75 over 3 months
    assert standard.binding_limit == "plan credits (625 a month)"
    assert pro.binding_limit == ""


# Five 5-second clips once: 5 x 25 = 125 credits, exactly Free's grant.
ONCE = HEAD + "usage:\n  - {at: 2027-02-01T09:00, model: gen4_turbo, seconds: 5, count: 5}\n"


def test_w01_w07_free_carries_only_what_its_125_one_time_credits_pay_for() -> None:
    results = by_id(run(HEAD + CLIPS))
    ranked = run(ONCE)
    tiny = by_id(ranked)

    free = results["web:free"]
    # 125 / 25 = 5 clips, then refused: 180 clips in the quarter, 175 refused,
    # the first on day 3 (day 1 and 2 take 100, day 3's first clip the last 25).
    assert (free.carries, free.refused) == (False, 175)
    assert "2027-01-03" in free.reason and "W07" in free.reason
    # Exactly 125 credits: Free carries it, for nothing, and ranks first.
    assert tiny["web:free"].carries
    assert tiny["web:free"].usd_total == Decimal("0.00")
    assert ranked[0].id == "web:free"


def test_w03_more_editors_than_a_plan_allows_cannot_carry_and_says_why() -> None:
    results = by_id(run(HEAD + "editors: 6\n" + CLIPS))

    for route in ("web:free", "web:standard:monthly", "web:standard:annual"):
        assert not results[route].carries
        assert results[route].binding_limit == "seat cap"
        assert "W03" in results[route].reason and "6" in results[route].reason
        assert results[route].figures is None  # never opened
    assert "Standard allows 5 editors" in results["web:standard:annual"].reason
    # Pro allows 10: six seats at $35 a month for three months.
    assert results["web:pro:monthly"].carries
    assert results["web:pro:monthly"].usd_total == Decimal("630.00")  # 6 x 35 x 3


def test_w09_the_top_up_schedule_is_the_smallest_in_whole_thousands() -> None:
    """Every purchase of the schedule compare found is needed: drop one, something is refused."""
    standard = by_id(run(HEAD + CLIPS))["web:standard:monthly"]
    buys = standard.settings["purchases"]
    assert buys == [
        {"at": "2027-01-01T00:00:00+00:00", "credits": 1000},
        {"at": "2027-02-01T00:00:00+00:00", "credits": 1000},
        {"at": "2027-03-01T00:00:00+00:00", "credits": 1000},
    ]
    assert refused_with(buys) == 0
    for dropped in range(len(buys)):
        assert refused_with(buys[:dropped] + buys[dropped + 1 :]) > 0


def refused_with(buys: list[dict[str, Any]]) -> int:
    events = "".join(f"      - {{at: {b['at'][:10]}, buy: {b['credits']}}}\n" for b in buys)
    text = (
        "version: 1\nname: by hand\nstart: 2027-01-01\nend: 2027-04-01\n"
        "workspaces:\n  - id: team\n    plan: standard\n    editors: [editor1]\n"
        + ("    events:\n" + events if buys else "")
        + "    usage:\n"
        + '      - {every: day, time: "10:00", model: gen4_turbo, seconds: 5, count: 2}\n'
    )
    loaded = load_scenario_text(text)
    ledger = Ledger("memory", run="by-hand")
    replay(loaded.scenario, loaded.price_book, ledger)
    return measure(ledger, "team", Surface.WEB, loaded.scenario.start, loaded.scenario.end).refused


# ----------------------------------------------------------------- the API route


def test_a06_a08_the_api_buys_its_way_to_the_tier_its_daily_volume_needs() -> None:
    text = (
        "version: 1\nkind: workload\nname: burst\nstart: 2027-01-01\nend: 2027-01-04\n"
        "usage:\n  - {every: day, between: ['08:00', '20:00'], model: gen4_image,"
        " resolution: 720p, count: 500}\n"
    )
    api = by_id(run(text))["api"]

    # 500 images in 24 h: over Tier 1's 200, within Tier 2's 1,000 (A08), so
    # $50 is bought at opening (A06). 3 days x 500 x 5 credits = 7,500 credits;
    # the balance ends in [1,000, 2,000): 9,000 bought, $90, still Tier 2 ($100
    # reaches Tier 3).
    assert api.carries
    assert api.settings["opening_purchases"] == [5_000]
    assert api.usd_total == Decimal("90.00")
    assert [tier for _, tier in api.figures.tiers] == [1, 2]  # type: ignore[union-attr]
    assert api.binding_limit == "daily limit gen4_image"
    assert any("tier 1 allows 200" in note for note in api.notes)


def test_a08_a_daily_volume_over_tier_5_cannot_be_carried() -> None:
    text = (
        "version: 1\nkind: workload\nname: flood\nstart: 2027-01-01\nend: 2027-01-03\n"
        "usage:\n  - {every: day, between: ['00:00', '23:00'], model: gen4_image_turbo,"
        " count: 31000}\n"
    )
    api = by_id(run(text))["api"]

    assert not api.carries
    assert api.refused > 0
    assert "31,000" in api.reason and "tier 5 allows 30,000" in api.reason


def test_a06_a07_ramp_purchases_respect_each_tiers_30_day_cap() -> None:
    book = load_price_book()

    # Tier 1 may buy $100 in 30 days: $50 reaches Tier 2, $100 Tier 3.
    # Tier 3 may buy $2,000 in 30 days ($100 of it spent): $900 more makes
    # $1,000, Tier 4. For Tier 5 ($5,000) Tier 3 buys all it may, $1,900 ($2,000
    # in all, Tier 4), then Tier 4 (cap $20,000) the last $3,000.
    assert ramp_purchases(book, 1) == []
    assert ramp_purchases(book, 2) == [5_000]
    assert ramp_purchases(book, 3) == [10_000]
    assert ramp_purchases(book, 4) == [10_000, 90_000]
    assert ramp_purchases(book, 5) == [10_000, 190_000, 300_000]


# ----------------------------------------------------------------- catalogues (S01)


def test_s01_a_web_only_model_keeps_the_api_from_carrying() -> None:
    results = by_id(run(HEAD + "usage:\n  - {every: day, model: gen4, seconds: 5}\n"))

    api = results["api"]
    assert not api.carries
    assert "gen4 (usage line 1) is only in the web catalogue" in api.reason
    assert "S01" in api.reason
    assert results["web:standard:monthly"].carries


def test_s01_an_api_only_model_keeps_every_web_route_from_carrying() -> None:
    text = HEAD + CLIPS + "  - {every: day, model: gen4_image_turbo}\n"
    results = run(text)

    assert [r.id for r in results if r.carries] == ["api"]
    for result in results:
        if result.surface is Surface.WEB and result.route.plan is not None and result.figures:
            assert "gen4_image_turbo (usage line 2) is only in the API catalogue" in result.reason


@pytest.mark.parametrize(
    ("override", "changed"),
    [("web.models.gen4_turbo.rate", Surface.WEB), ("api.models.gen4_turbo.rate", Surface.API)],
)
def test_s01_a_rate_override_on_one_catalogue_changes_only_that_surfaces_routes(
    override: str, changed: Surface
) -> None:
    base = by_id(run(HEAD + CLIPS))
    other = by_id(run(HEAD + f"overrides:\n  {override}: 7\n" + CLIPS))

    for route_id, result in base.items():
        moved = result.as_dict() != other[route_id].as_dict()
        if result.surface is not changed:
            assert not moved, route_id  # the other catalogue's routes are byte-identical
        elif result.carries and result.credits_bought:
            assert moved, route_id  # routes that buy credits pay for the new rate
    # 7 credits a second: 70 a day, 6,300 in the quarter.
    if changed is Surface.API:
        # API: 1,000 x N - 6,300 in [1,000, 2,000): N = 8, $80.
        assert other["api"].usd_total == Decimal("80.00")
    else:
        # Standard monthly: Jan 2,170 - 625 = 1,545, Feb 1,960 - 625 = 1,335,
        # Mar 1,545: 4,425 in whole thousands per billing date: 2,000 + 1,000
        # + 2,000 = 5,000 credits, $50, plus $45 of seats.
        assert other["web:standard:monthly"].usd_total == Decimal("95.00")


# ----------------------------------------------------------------- JSON


def test_the_json_form_of_a_route_keeps_the_contract_fields() -> None:
    api = by_id(run(HEAD + CLIPS))["api"].as_dict()

    assert {"route", "surface", "carries", "usd_total", "reason"} <= set(api)
    assert api["route"] == "api"
    assert api["surface"] == "api"
    assert api["carries"] is True
    assert api["usd_total"] == "60.00"  # a string: money is never a float
    assert api["reason"] == ""
    assert api["tiers"][0] == {"at": "2027-01-01T00:00:00+00:00", "tier": 1}
