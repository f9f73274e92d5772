"""The report and the compare page rendered in headless Chromium, read as a person would.

Each page is loaded from its file with every request but its own refused, at
1280 px on screen and at A4's printable width with print styles (then printed
to PDF). On the rendered page: no two pieces of text overlap (their boxes, as
laid out), no text runs past the page or is cut by its chart, nothing scrolls
sideways, the console shows no error and the page asks the network for nothing.

The pages: two bundled examples (a web studio, an API organization), a busy
API year (docs/examples/busy-api-year.yaml: hundreds of autobill
recharges, recharges declined (A05) and blocked by the 30-day cap (A07),
refusals on many days running, four tier raises in the first fortnight) and
the compare page. The first test feeds the checks a page built to break each
of them, so that a check that cannot fail would show.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.tools.report.browser import A4_CONTENT_WIDTH, DESKTOP_WIDTH, Browser
from ledger.tools.report.lanes import compact
from tests.e2e.conftest import EXAMPLES, invoke
from tests.e2e.test_report import Element, parse

ROOT = Path(__file__).resolve().parents[2]
BUSY = ROOT / "docs" / "examples" / "busy-api-year.yaml"


@dataclass(frozen=True)
class Made:
    folder: Path
    html: Path


def _cli(folder: Path, *args: str) -> str:
    with contextlib.chdir(folder):
        code, out, err = invoke(CliRunner(), *args)
    assert code == 0, err
    return out


def _report(folder: Path, scenario: Path, *extra: str) -> Made:
    _cli(folder, "report", str(scenario), "--html", "report.html", *extra)
    return Made(folder, folder / "report.html")


@pytest.fixture(scope="session")
def studio_page(tmp_path_factory: pytest.TempPathFactory) -> Made:
    return _report(tmp_path_factory.mktemp("studio"), EXAMPLES / "studio-pro-unlimited.yaml")


@pytest.fixture(scope="session")
def product_page(tmp_path_factory: pytest.TempPathFactory) -> Made:
    return _report(tmp_path_factory.mktemp("product"), EXAMPLES / "product-api-growth.yaml")


@pytest.fixture(scope="session")
def busy_page(tmp_path_factory: pytest.TempPathFactory) -> Made:
    return _report(tmp_path_factory.mktemp("busy"), BUSY, "--basis", "accrual")


@pytest.fixture(scope="session")
def forecast_page(tmp_path_factory: pytest.TempPathFactory) -> Made:
    """The run report with a forecast's fan charts as sections of it (issue 16)."""
    folder = tmp_path_factory.mktemp("forecast")
    scenario = EXAMPLES / "uncertain-agency.yaml"
    return _report(folder, scenario, "--samples", "12", "--workers", "1")


QUARTER_OF_IMAGES = """version: 1
kind: workload
name: quarter of images
start: 2027-01-01
end: 2027-04-01
usage:
  - {every: day, time: "09:00", model: gen4_image, resolution: 720p, count: 10}
"""


@pytest.fixture(scope="session")
def compare_page(tmp_path_factory: pytest.TempPathFactory) -> Made:
    folder = tmp_path_factory.mktemp("compare")
    (folder / "w.yaml").write_text(QUARTER_OF_IMAGES, encoding="utf-8")
    _cli(folder, "compare", "w.yaml", "--html", "compare.html")
    return Made(folder, folder / "compare.html")


PAGES = ["studio_page", "product_page", "busy_page", "compare_page", "forecast_page"]


def sql(folder: Path, run: str, query: str) -> list[dict[str, object]]:
    out = _cli(folder, "sql", query, "--dir", f"runs/{run}", "--format", "json")
    rows: list[dict[str, object]] = json.loads(out)
    return rows


# ------------------------------------------------------------ the checks can fail

BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head>
<body style="margin:0;font:14px sans-serif">
<p style="position:absolute;left:10px;top:10px;margin:0">Tier 1 → 3</p>
<p style="position:absolute;left:30px;top:14px;margin:0">→ Tier 4</p>
<div style="width:300px;overflow:hidden;white-space:nowrap">a long cell a long cell a long cell
a long cell a long cell a long cell a long cell</div>
<svg width="200" height="40" viewBox="0 0 200 40"><text x="180" y="20">cut by the edge</text></svg>
<img src="http://127.0.0.1:9/fetched.png" alt="">
</body></html>
"""


def test_the_checks_catch_overlaps_clipping_requests_and_console_errors(
    chromium: Browser, tmp_path: Path
) -> None:
    page = tmp_path / "broken.html"
    page.write_text(BROKEN, encoding="utf-8")
    with chromium.open(page) as rendered:
        layout = rendered.layout(DESKTOP_WIDTH)
        requests = rendered.foreign_requests()
        errors = rendered.console_errors
    assert any("Tier 1 → 3" in o and "→ Tier 4" in o for o in layout.overlaps)
    assert any("cut by the edge" in c and "cut by its chart" in c for c in layout.clipped)
    assert any("scrolls or hides" in c for c in layout.clipped)
    assert requests == ["http://127.0.0.1:9/fetched.png"]  # asked for, and refused
    assert errors  # the refused image is a console error


# ------------------------------------------------------------ every page, rendered


@pytest.mark.parametrize("name", PAGES)
def test_on_screen_nothing_overlaps_is_cut_or_fetched(
    name: str, chromium: Browser, request: pytest.FixtureRequest
) -> None:
    made: Made = request.getfixturevalue(name)
    with chromium.open(made.html, DESKTOP_WIDTH) as rendered:
        layout = rendered.layout(DESKTOP_WIDTH)
        assert layout.texts > 50  # the page did render its text
        assert layout.overlaps == []
        assert layout.clipped == []
        assert rendered.console_errors == []
        assert rendered.foreign_requests() == []


@pytest.mark.parametrize("name", PAGES)
def test_printed_on_a4_nothing_overlaps_or_is_cut(
    name: str, chromium: Browser, request: pytest.FixtureRequest
) -> None:
    made: Made = request.getfixturevalue(name)
    with chromium.open(made.html, A4_CONTENT_WIDTH, print_media=True) as rendered:
        layout = rendered.layout(A4_CONTENT_WIDTH)
        assert layout.overlaps == []
        assert layout.clipped == []
        assert rendered.console_errors == []
    pdf = chromium.pdf(made.html, made.folder / f"{name}.pdf")
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    # A report's charts and tables take several A4 sheets; the compare page fits one.
    assert pages >= (1 if name == "compare_page" else 2)


# ------------------------------------------------------------ a busy API year


def _busy(made: Made) -> Element:
    return parse(made.html.read_text(encoding="utf-8"))


def test_dense_recharges_are_counted_per_period_with_the_count_printed(busy_page: Made) -> None:
    page = _busy(busy_page)
    balance = page.by_id("balance-pipeline")
    bins = [b for b in balance.find_all("g", "bin") if "topup" in b.classes()]
    bins = [b for b in bins if not {"declined", "blocked"} & b.classes()]
    recharges = sql(
        busy_page.folder,
        "busy-api-year",
        "SELECT count(*) AS n FROM usd_ledger WHERE kind IN ('autobill', 'purchase')",
    )[0]["n"]
    assert isinstance(recharges, int) and recharges > 500
    assert bins, "hundreds of recharges are drawn per period, not one mark each"
    assert sum(int(b.attrs["data-count"]) for b in bins) == recharges
    for b in bins:  # the count is printed on the badge, not only in its tooltip
        printed = [t.text for t in b.find_all("text")]
        assert printed == [compact(int(b.attrs["data-count"]))]
        assert f"{int(b.attrs['data-count']):,} top-up" in b.tooltip()


def test_declined_and_cap_blocked_recharges_are_told_apart(busy_page: Made) -> None:
    balance = _busy(busy_page).by_id("balance-pipeline")
    declined = balance.find_all(None, "declined")
    blocked = balance.find_all(None, "blocked")
    counts = {
        row["reason"]: row["n"]
        for row in sql(
            busy_page.folder,
            "busy-api-year",
            "SELECT reason, count(*) AS n FROM autobill_topups "
            "WHERE outcome = 'failed' GROUP BY reason",
        )
    }
    # A05: card_fails 3 in March declines three charges 24 h apart; A07: in the launch
    # fortnight the 30-day cap of Tiers 2 and 3 leaves less than $10 for hours on end.
    assert sum(int(d.attrs["data-count"]) for d in declined) == counts["card_declined"] == 3
    assert sum(int(b.attrs["data-count"]) for b in blocked) == counts["monthly_cap"]
    assert int(str(counts["monthly_cap"])) > 0
    assert all("(A05)" in d.tooltip() and "A07" not in d.tooltip() for d in declined)
    assert all("(A07)" in b.tooltip() and "A05" not in b.tooltip() for b in blocked)
    lanes = [t.text for t in balance.find_all("text", "lane-label")]
    assert lanes == ["Bought", "Declined", "Over cap", "Refused", "Tier"]


def test_refusals_on_many_days_running_are_counted_with_the_counts_printed(
    busy_page: Made,
) -> None:
    balance = _busy(busy_page).by_id("balance-pipeline")
    marks = balance.find_all(None, "refusal")
    refused = sql(busy_page.folder, "busy-api-year", "SELECT sum(count) AS n FROM refusals")
    assert sum(int(m.attrs["data-count"]) for m in marks) == refused[0]["n"]
    lane = next(g for g in balance.find_all("g", "lane-marks") if g.attrs["data-lane"] == "Refused")
    printed = [t.text for t in lane.find_all("text", "count")]
    assert printed == [compact(int(m.attrs["data-count"])) for m in marks]


def test_every_tier_raise_is_marked_and_labelled(busy_page: Made) -> None:
    balance = _busy(busy_page).by_id("balance-pipeline")
    raises = sql(busy_page.folder, "busy-api-year", "SELECT to_tier FROM tier_history ORDER BY seq")
    marks = list(balance.find_all("path", "change"))
    assert len(marks) == len(raises) == 5  # opened on Tier 1, then 2, 3, 4 and 5
    labels = " ".join(t.text for t in balance.find_all("text", "change-label"))
    # Three raises in the first days share one label (they would overlap); every tier shows.
    for tier in range(1, 6):
        assert str(tier) in labels
    assert "→" in labels


def test_the_monthly_table_has_every_month_and_adds_up(busy_page: Made) -> None:
    table = _busy(busy_page).by_id("monthly-pipeline")
    heads = [th.text for th in table.find_all("th") if th.attrs.get("scope") == "col"]
    assert heads == [
        "Month",
        "Tier",
        "Purchases (credits)",
        "Recharges (credits)",
        "Declined (A05)",
        "Cap (A07)",
        "Credits used",
        "Refused",
        "Dollars",
    ]
    rows = table.find_all("tr")[1:]
    assert [r.attrs["data-month"] for r in rows] == [f"2027-{m:02d}" for m in range(1, 13)] + [
        "total"
    ]
    spent = sql(
        busy_page.folder,
        "busy-api-year",
        "SELECT CAST(sum(usd_spent) AS VARCHAR) AS usd FROM monthly_summary",
    )[0]["usd"]
    total = [td.text for td in rows[-1].find_all("td")]
    assert total[-1] == f"${float(str(spent)):,.2f}"
