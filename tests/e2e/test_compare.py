"""`credit-ledger compare` on the two example workloads, pinned to figures worked out by hand.

Each expected figure is derived in the comments from the price book
(runway-2026-05) and the calendar, independently of the simulator: 2027 has
261 weekdays (52 weeks and a Friday) and 365 days; its months have 31, 28,
31, 30, 31, 30, 31, 31, 30, 31, 30, 31 days.

Two facts do the work:
* a web route buys, on each billing date, the purchased credits that the
  period needs in whole thousands, so over the year it buys the total need
  rounded up to a thousand (whatever is left rolls over: purchased credits
  never expire, W07);
* an API organization whose hourly usage stays under its 1,000-credit
  threshold ends the year, after its last hourly check, with a balance in
  [1,000, 2,000) (below 1,000 buys 1,000): it buys 1,000 x (ceil(C / 1,000) + 1)
  credits for C credits of use.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke

AGENCY = EXAMPLES / "workload-agency-social.yaml"
IMAGES = EXAMPLES / "workload-images-2000.yaml"
DOC = Path(__file__).parents[2] / "docs" / "deciding.md"


def compare_json(*args: str) -> dict[str, Any]:
    code, out, err = invoke(CliRunner(), "compare", *args, "--format", "json")
    assert code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.fixture(scope="module")
def agency() -> dict[str, Any]:
    return compare_json(str(AGENCY), "--breakeven")


@pytest.fixture(scope="module")
def images() -> dict[str, Any]:
    return compare_json(str(IMAGES), "--breakeven")


def ranking(data: dict[str, Any]) -> list[tuple[str, bool, Decimal]]:
    return [(r["route"], r["carries"], Decimal(r["usd_total"])) for r in data["routes"]]


def switches(data: dict[str, Any]) -> list[tuple[str, str, str, int, int]]:
    return [
        (s["question"], s["cheaper_below"], s["cheaper_above"], s["count_below"], s["count_above"])
        for s in data["breakeven"]["switches"]
    ]


# ------------------------------------------------------------------ the agency


def test_agency_routes_rank_as_computed_by_hand(agency: dict[str, Any]) -> None:
    # Web credits a weekday: drafts 6 x 10 s x 5 = 300, finals 2 x 5 s x 25 = 250:
    # 550 x 261 = 143,550 a year. API: 300 + 2 x 5 s x 12 = 420 x 261 = 109,620.
    # Every month uses more than any allowance (February: 20 x 550 = 11,000).
    # Standard: 143,550 - 12 x 625 = 136,050 bought as 137,000 = $1,370;
    #   annual seats 3 x $144 = $432 -> $1,802; monthly 3 x $15 x 12 = $540 -> $1,910.
    # Pro: 143,550 - 12 x 2,250 = 116,550 -> 117,000 = $1,170;
    #   annual 3 x $336 = $1,008 -> $2,178; monthly 3 x $35 x 12 = $1,260 -> $2,430.
    # Unlimited (credits): the same $1,170; annual 3 x $912 = $2,736 -> $3,906;
    #   monthly 3 x $95 x 12 = $3,420 -> $4,590.
    # Unlimited in Explore Mode: both models are eligible, no credits: $2,736 / $3,420.
    # API: 1,000 x (ceil(109,620 / 1,000) + 1) = 111,000 credits = $1,110.
    # Free: 3 editors, Free allows 1 (W03): cannot carry.
    assert ranking(agency) == [
        ("api", True, Decimal("1110.00")),
        ("web:standard:annual", True, Decimal("1802.00")),
        ("web:standard:monthly", True, Decimal("1910.00")),
        ("web:pro:annual", True, Decimal("2178.00")),
        ("web:pro:monthly", True, Decimal("2430.00")),
        ("web:unlimited:annual:explore", True, Decimal("2736.00")),
        ("web:unlimited:monthly:explore", True, Decimal("3420.00")),
        ("web:unlimited:annual", True, Decimal("3906.00")),
        ("web:unlimited:monthly", True, Decimal("4590.00")),
        ("web:free", False, Decimal("0.00")),
    ]
    routes = {r["route"]: r for r in agency["routes"]}
    assert routes["web:free"]["binding_limit"] == "seat cap"
    assert "W03" in routes["web:free"]["reason"]
    # Explore Mode leaves the 2,250 plan credits unused: 11 resets forfeit them (W06).
    assert routes["web:unlimited:annual:explore"]["forfeited"] == 11 * 2_250
    assert routes["api"]["top_ups"] == 111


def test_agency_break_even_volumes_as_computed_by_hand(agency: dict[str, Any]) -> None:
    # At k drafts a weekday the finals are round(k / 3) (half up), f below.
    # Cheapest web route: Standard annual = $432 + the purchases, against
    # Unlimited annual in Explore Mode, a flat $2,736 (Pro never wins: its
    # extra 19,500 credits a year are worth $195, its seats cost $576 more).
    #   k = 10, f = 3: 261 x (500 + 375) = 228,375 - 7,500 = 220,875 -> 221,000:
    #     $2,210 + $432 = $2,642 < $2,736: Standard.
    #   k = 11, f = 4: 261 x (550 + 500) = 274,050 - 7,500 = 266,550 -> 267,000:
    #     $2,670 + $432 = $3,102 > $2,736: Explore.
    # Web against the API: API credits 261 x (50k + 60f).
    #   k = 14, f = 5: 261,000 -> 1,000 x (261 + 1) = $2,620 < $2,736: API.
    #   k = 15, f = 5: 274,050 -> 1,000 x (275 + 1) = $2,760 > $2,736: Explore.
    assert switches(agency) == [
        ("web", "web:standard:annual", "web:unlimited:annual:explore", 10, 11),
        ("track", "api", "web:unlimited:annual:explore", 14, 15),
    ]
    web, track = agency["breakeven"]["switches"]
    # Volume of the drafts: 261 x k x 10 s / 12 months.
    assert (web["volume_below"], web["volume_above"]) == ("2175.0", "2392.5")
    assert (track["volume_below"], track["volume_above"]) == ("3045.0", "3262.5")
    # Dollars a month on each side of the API switch: 2,620 / 12 and 2,760 / 12.
    assert track["usd_per_month_below"] == ["218.33", "228.00"]
    assert track["usd_per_month_above"] == ["230.00", "228.00"]
    assert agency["breakeven"]["main_line"]["unit"] == "seconds"


# ------------------------------------------------------------------ the images


@pytest.mark.slow
def test_images_routes_rank_as_computed_by_hand(images: dict[str, Any]) -> None:
    # 2,000 images a day, 365 days: 730,000 images.
    # Web: 8 credits each (720p and 1080p alike) = 5,840,000 credits.
    #   Standard: 5,840,000 - 7,500 = 5,832,500 -> 5,833,000 = $58,330;
    #     + $144 = $58,474 annual, + $180 = $58,510 monthly.
    #   Pro: 5,840,000 - 27,000 -> 5,813,000 = $58,130; + $336 = $58,466,
    #     + $420 = $58,550.  Unlimited: $58,130 + $912 = $59,042, + $1,140 = $59,270.
    #   Explore Mode (gen4_image is eligible): $912 / $1,140.
    #   Free: 125 / 8 = 15 images, then 729,985 refused.
    # API: 5 credits at 720p = 3,650,000 credits -> 1,000 x (3,650 + 1) = $36,510.
    assert ranking(images) == [
        ("web:unlimited:annual:explore", True, Decimal("912.00")),
        ("web:unlimited:monthly:explore", True, Decimal("1140.00")),
        ("api", True, Decimal("36510.00")),
        ("web:pro:annual", True, Decimal("58466.00")),
        ("web:standard:annual", True, Decimal("58474.00")),
        ("web:standard:monthly", True, Decimal("58510.00")),
        ("web:pro:monthly", True, Decimal("58550.00")),
        ("web:unlimited:annual", True, Decimal("59042.00")),
        ("web:unlimited:monthly", True, Decimal("59270.00")),
        ("web:free", False, Decimal("0.00")),
    ]
    routes = {r["route"]: r for r in images["routes"]}
    assert routes["web:free"]["refused"] == 729_985
    api = routes["api"]
    # 2,000 in 24 h: Tier 1 allows 200, Tier 2 1,000, Tier 3 2,000 (A08), so the
    # organization buys $100 at opening and is Tier 3 before the first image.
    assert api["binding_limit"] == "daily limit gen4_image"
    assert api["settings"]["opening_purchases"] == [10_000]
    assert api["tiers"][:2] == [
        {"at": "2027-01-01T00:00:00+00:00", "tier": 1},
        {"at": "2027-01-01T00:00:00+00:00", "tier": 3},
    ]
    # $1,000 bought ($100 + 90 x $10) reaches Tier 4 (A06): 10,000 credits a day,
    # so the 90th autobill comes in the tenth day.
    assert api["tiers"][2]["tier"] == 4
    assert api["tiers"][2]["at"].startswith("2027-01-10")
    assert api["top_ups"] == 3_642  # the opening purchase and 3,641 recharges


@pytest.mark.slow
def test_images_break_even_volumes_as_computed_by_hand(images: dict[str, Any]) -> None:
    # At k images a day. Web envelope: Standard annual ($144 + purchases),
    # Pro annual ($336 + purchases), Unlimited Explore (flat $912). Purchases
    # are per month: max(0, 8k x days - allowance), summed, rounded up to 1,000.
    #   k = 28 (224 a day): Pro: 7 x (6,944 - 2,250) + (6,272 - 2,250)
    #     + 4 x (6,720 - 2,250) = 32,858 + 4,022 + 17,880 = 54,760 -> 55,000:
    #     $550 + $336 = $886 < $912 (Standard: 81,760 - 7,500 -> 75,000: $894).
    #   k = 29 (232 a day): Pro: 7 x 4,942 + 4,246 + 4 x 4,710 = 57,680 -> 58,000:
    #     $916 > $912; Standard: 84,680 - 7,500 -> 78,000: $924. Explore wins.
    # Below that Standard and Pro trade places by a few dollars as the
    # purchases cross whole thousands (Pro's extra 19,500 credits are worth
    # $195 against $192 more in seats):
    #   k = 12 (96 a day): Standard 35,040 - 7,500 = 27,540 -> 28,000: $424;
    #     Pro 7 x 726 + 438 + 4 x 630 = 8,040 -> 9,000: $426. Standard.
    #   k = 13 (104 a day): Standard 37,960 - 7,500 -> 31,000: $454;
    #     Pro 7 x 974 + 662 + 4 x 870 = 10,960 -> 11,000: $446. Pro.
    #   k = 18 (144 a day): Standard 52,560 - 7,500 -> 46,000: $604;
    #     Pro 7 x 2,214 + 1,782 + 4 x 2,070 = 25,560 -> 26,000: $596. Pro.
    #   k = 19 (152 a day): Standard 55,480 - 7,500 -> 48,000: $624;
    #     Pro 7 x 2,462 + 2,006 + 4 x 2,310 = 28,480 -> 29,000: $626. Standard.
    #   k = 24 (192 a day): Standard 70,080 - 7,500 -> 63,000: $774;
    #     Pro 7 x 3,702 + 3,126 + 4 x 3,510 = 43,080 -> 44,000: $776. Standard.
    #   k = 25 (200 a day): Standard 73,000 - 7,500 -> 66,000: $804;
    #     Pro 7 x 3,950 + 3,350 + 4 x 3,750 = 46,000: $796. Pro.
    # (Between 19 and 24, and between 25 and 28, nothing changes; the search
    # only reports changes it bisects to, see docs/deciding.md.)
    # Web against the API: API = 1,000 x (ceil(1,825k / 1,000) + 1).
    #   k = 49: 89,425 -> 91,000: $910 < $912.  k = 50: 91,250 -> 93,000: $930.
    assert switches(images) == [
        ("web", "web:standard:annual", "web:pro:annual", 12, 13),
        ("web", "web:pro:annual", "web:standard:annual", 18, 19),
        ("web", "web:standard:annual", "web:pro:annual", 24, 25),
        ("web", "web:pro:annual", "web:unlimited:annual:explore", 28, 29),
        ("track", "api", "web:unlimited:annual:explore", 49, 50),
    ]
    by_count = {s["count_above"]: s for s in images["breakeven"]["switches"]}
    assert by_count[13]["usd_per_month_below"] == ["35.33", "35.50"]  # $424 / 12, $426 / 12
    assert by_count[13]["usd_per_month_above"] == ["37.83", "37.17"]  # $454 / 12, $446 / 12
    assert by_count[29]["usd_per_month_below"] == ["73.83", "76.00"]  # $886 / 12, $912 / 12
    assert by_count[50]["usd_per_month_below"] == ["75.83", "76.00"]  # $910 / 12
    # Volume: 365 x k / 12 images a month.
    assert (by_count[50]["volume_below"], by_count[50]["volume_above"]) == ("1490.4", "1520.8")


def test_without_explore_the_images_go_to_the_api_at_every_volume() -> None:
    data = compare_json(str(IMAGES), "--no-explore")

    assert [r["route"] for r in data["routes"]][:2] == ["api", "web:pro:annual"]
    assert not [r for r in data["routes"] if r["explore"]]


# ------------------------------------------------------------------ the command


def test_the_json_form_is_one_object_with_a_routes_list(agency: dict[str, Any]) -> None:
    assert agency["workload"] == "Agency social videos"
    for route in agency["routes"]:
        assert {"route", "surface", "carries", "usd_total", "reason"} <= set(route)
        assert route["surface"] in {"web", "api"}
        assert isinstance(route["usd_total"], str)
        Decimal(route["usd_total"])  # parses as money
        assert isinstance(route["reason"], str)
        assert (route["reason"] == "") == route["carries"]


QUARTER_OF_IMAGES = """version: 1
kind: workload
name: quarter of images
start: 2027-01-01
end: 2027-04-01
usage:
  - {every: day, time: "09:00", model: gen4_image, resolution: 720p, count: 10}
"""


def test_the_html_chart_is_self_contained(workdir: Path, cli: CliRunner) -> None:
    (workdir / "w.yaml").write_text(QUARTER_OF_IMAGES, encoding="utf-8")

    code, out, err = invoke(cli, "compare", "w.yaml", "--html", "chart.html")

    assert code == 0, err
    page = (workdir / "chart.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "<svg" in page and "<polyline" in page
    # One break-even, marked: Unlimited monthly in Explore Mode costs 3 x $95 =
    # $285. Standard monthly at 35 images a day (280 credits): Jan 8,680 - 625,
    # Feb 7,840 - 625, Mar 8,055: 23,325 -> 24,000 = $240 + 3 x $15 = $285, a
    # tie (kept by Standard, ranked first at 10 a day); at 36 (288 credits):
    # 8,303 + 7,439 + 8,303 = 24,045 -> 25,000 = $295: Explore from 36.
    assert "Break-even volumes (usage line 1 (gen4_image)" in out
    assert page.count('class="switch"') == out.count("cheapest web route:") == 1
    assert "web:standard:monthly → web:unlimited:monthly:explore" in page
    # No scripts, no fetched resources: the only URL is the SVG namespace.
    urls = re.findall(r"https?://[^\s\"']+", page)
    assert urls == ["http://www.w3.org/2000/svg"]
    assert "<script" not in page
    assert "chart written to chart.html" in out


def test_a_scenario_given_to_compare_is_bad_input(workdir: Path, cli: CliRunner) -> None:
    code, out, err = invoke(cli, "compare", str(EXAMPLES / "solo-creator.yaml"))

    assert code == 2
    assert "is a scenario" in err and "kind" in err
    assert out == ""


def test_a_workload_with_a_broken_line_is_bad_input_naming_the_line(
    workdir: Path, cli: CliRunner
) -> None:
    (workdir / "w.yaml").write_text(
        "version: 1\nkind: workload\nname: w\nstart: 2027-01-01\nend: 2028-01-01\n"
        "usage:\n  - {every: day, model: gen9, seconds: 5}\n",
        encoding="utf-8",
    )

    code, _, err = invoke(cli, "compare", "w.yaml")

    assert code == 2
    assert "w.yaml" in err and "line 7" in err and "gen9" in err


def test_compare_output_never_changes_between_runs(cli: CliRunner) -> None:
    first = invoke(cli, "compare", str(AGENCY))
    second = invoke(cli, "compare", str(AGENCY))

    assert first == second


# ------------------------------------------------------------------ the docs


def doc_block(title: str) -> str:
    """The console block that follows ``<!-- output: title -->`` in docs/deciding.md."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- output: {re.escape(title)} -->\n```console\n(.*?)```", text, re.S)
    assert match is not None, f"no output block {title!r} in {DOC}"
    return match.group(1)


def test_the_walkthrough_in_docs_prints_what_the_command_prints(cli: CliRunner) -> None:
    block = doc_block("agency")
    command, _, shown = block.partition("\n")
    assert (
        command
        == "$ credit-ledger compare scenarios/examples/workload-agency-social.yaml --breakeven"
    )

    code, out, err = invoke(cli, "compare", str(AGENCY), "--breakeven")

    assert code == 0, err
    assert out.replace(str(AGENCY), "scenarios/examples/workload-agency-social.yaml") == shown


def test_the_images_ranking_in_docs_is_the_commands(cli: CliRunner) -> None:
    block = doc_block("images")
    command, _, shown = block.partition("\n")
    assert command == "$ credit-ledger compare scenarios/examples/workload-images-2000.yaml"

    code, out, err = invoke(cli, "compare", str(IMAGES))

    assert code == 0, err
    ranking_lines = [line for line in shown.splitlines() if re.match(r"^\s+\d+\s", line)]
    assert len(ranking_lines) == 10
    for line in ranking_lines:
        assert line in out.splitlines()
