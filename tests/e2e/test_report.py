"""`credit-ledger report`: the summary, and a self-contained HTML page of charts.

The page is checked as a reader would use it: every chart is there (by id),
each draws the rows of its table (one column per day of ``daily_balances``,
one bar per month of ``monthly_summary``), tooltips carry figures worked out
by hand from the scenario files, nothing is fetched from the network, and
the markup nests properly.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke

STUDIO = EXAMPLES / "studio-pro-unlimited.yaml"
PRODUCT = EXAMPLES / "product-api-growth.yaml"


# ------------------------------------------------------------ reading a page

VOID = {"meta", "br", "hr", "img", "link", "col", "input", "source", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    text: str = ""

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def iter(self) -> Iterator[Element]:
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [
            e
            for e in self.iter()
            if (tag is None or e.tag == tag) and (cls is None or cls in e.classes())
        ]

    def by_id(self, dom_id: str) -> Element:
        found = [e for e in self.iter() if e.attrs.get("id") == dom_id]
        assert len(found) == 1, f"{len(found)} elements with id {dom_id!r}"
        return found[0]

    def tooltip(self) -> str:
        titles = [c.text for c in self.children if c.tag == "title"]
        assert titles, f"<{self.tag}> has no <title> tooltip"
        return titles[0]


class Page(HTMLParser):
    """A strict tree builder: every non-void element must be closed, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if len(self.stack) == 1 or self.stack[-1].tag != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].text += data


def parse(page: str) -> Element:
    parser = Page()
    parser.feed(page)
    parser.close()
    assert parser.problems == []
    assert [e.tag for e in parser.stack] == ["#document"], "elements left open"
    return parser.root


# --------------------------------------------------------------- fixtures


@dataclass(frozen=True)
class Reported:
    folder: Path  # where the commands ran (runs/ is in it)
    html: str
    page: Element
    stdout: str


def report_in(folder: Path, *args: str) -> Reported:
    runner = CliRunner()
    with contextlib.chdir(folder):
        code, out, err = invoke(runner, "report", *args, "--html", "report.html")
        assert code == 0, err
        html = (folder / "report.html").read_text(encoding="utf-8")
    return Reported(folder, html, parse(html), out)


def sql(folder: Path, query: str) -> list[dict[str, object]]:
    with contextlib.chdir(folder):
        code, out, err = invoke(CliRunner(), "sql", query, "--format", "json")
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    return report_in(tmp_path_factory.mktemp("studio"), str(STUDIO))


@pytest.fixture(scope="module")
def product(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    return report_in(tmp_path_factory.mktemp("product"), str(PRODUCT))


# One editor on Standard (625 plan credits a month, W01) who makes a single 5-second
# Gen-4 Turbo draft (5 x 5 = 25 credits) and nothing else.
FORFEITS = """\
version: 1
name: Forfeits <check> & "friends"
start: 2027-01-01
end: 2027-03-15
workspaces:
  - id: idle
    plan: standard
    billing: monthly
    subscribed: 2027-01-01T10:00
    editors: [maya]
    usage:
      - {at: 2027-01-05T12:00, model: gen4_turbo, seconds: 5}
"""


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Reported:
    folder = tmp_path_factory.mktemp("idle")
    (folder / "idle.yaml").write_text(FORFEITS, encoding="utf-8")
    return report_in(folder, "idle.yaml")


# ------------------------------------------------------------------- tests


def test_a_scenario_is_replayed_then_summarised_and_drawn(studio: Reported) -> None:
    assert (studio.folder / "runs" / "studio-pro-unlimited" / "ledger.duckdb").is_file()
    assert "credits used" in studio.stdout and "dollars spent" in studio.stdout
    assert "HTML report written to report.html" in studio.stdout
    page = studio.page
    for dom_id in (
        "key-figures",
        "account-studio",
        "balance-studio",
        "spend-studio",
        "forfeits-studio",
        "monthly-studio",
    ):
        page.by_id(dom_id)
    assert [e.attrs["id"] for e in page.find_all("figure", "chart")] == [
        "balance-studio",
        "spend-studio",
        "forfeits-studio",
        "monthly-studio",
    ]
    # A web workspace has buckets, no tier chart.
    balance = page.by_id("balance-studio")
    assert balance.find_all("polygon", "plan") and balance.find_all("polygon", "purchased")
    assert not page.find_all("figure", "tiers")


def test_the_balance_chart_has_a_column_per_day_with_its_balance(studio: Reported) -> None:
    rows = sql(
        studio.folder,
        "SELECT CAST(day AS VARCHAR) AS day, balance FROM daily_balances "
        "WHERE account_id = 'studio' ORDER BY day",
    )
    days = studio.page.by_id("balance-studio").find_all("rect", "day")
    assert len(days) == len(rows) == 365  # 2027 is not a leap year
    assert [(d.attrs["data-day"], int(d.attrs["data-balance"])) for d in days] == [
        (r["day"], r["balance"]) for r in rows
    ]
    # Jan 4, 09:00: the Pro subscription (2,250 plan credits) and 5,000 bought; the day's
    # usage comes off before the end of the day, so the tooltip shows both buckets.
    jan4 = next(d for d in days if d.attrs["data-day"] == "2027-01-04")
    assert "plan 2,102 + purchased 5,000" in jan4.tooltip()
    assert "not opened yet" in days[0].tooltip()  # Jan 1, before the subscription


def test_reset_days_are_marked_on_the_balance_chart(studio: Reported) -> None:
    # W05: monthly billing anchored on Jan 4 09:00 refreshes on the 4th, Feb to Dec: 11 resets.
    resets = studio.page.by_id("balance-studio").find_all("line", "reset-target")
    assert [r.attrs["data-at"][:10] for r in resets] == [
        f"2027-{month:02d}-04" for month in range(2, 13)
    ]
    assert "plan bucket set to 2,250 credits" in resets[0].tooltip()


def test_the_spend_chart_has_a_bar_per_month_with_its_dollars(studio: Reported) -> None:
    rows = sql(
        studio.folder,
        "SELECT strftime(month, '%Y-%m') AS month, CAST(usd_spent AS VARCHAR) AS usd "
        "FROM monthly_summary WHERE account_id = 'studio' ORDER BY month",
    )
    cash = studio.page.by_id("spend-studio").find_all("div", "cash")[0]
    bars = cash.find_all("g", "bar")
    assert len(bars) == len(rows) == 12
    assert [(b.attrs["data-month"], b.attrs["data-usd"]) for b in bars] == [
        (r["month"], r["usd"]) for r in rows
    ]
    # January: 6 seats x $35 (W02) + 5,000 credits x $0.01 (W07) = $260.
    assert bars[0].tooltip().startswith("January 2027: $260.00 (cash)")
    assert "credits bought $50.00 (5,000 credits)" in bars[0].tooltip()
    # April: the $210 renewal and the W11 pro-rata upgrade, $360 x 477 h / 720 h = $238.50.
    assert bars[3].tooltip().startswith("April 2027: $448.50 (cash)")


def test_top_ups_and_plan_changes_are_on_the_timeline(studio: Reported) -> None:
    balance = studio.page.by_id("balance-studio")
    bought = sql(
        studio.folder,
        "SELECT count(*) AS n FROM usd_ledger "
        "WHERE account_id = 'studio' AND kind IN ('purchase', 'refill')",
    )[0]["n"]
    topups = balance.find_all(None, "topup")
    assert sum(int(t.attrs["data-count"]) for t in topups) == bought
    assert "Purchase: 5,000 credits for $50.00" in topups[0].tooltip()
    assert all("Auto Refill (W15): 2,000 credits for $20.00" in t.tooltip() for t in topups[1:])
    changes = balance.find_all("path", "change")
    assert [c.tooltip() for c in changes] == [
        "2027-01-04 09:00 UTC · subscribed: pro ($210.00)",
        "2027-04-14 12:00 UTC · upgraded: pro → unlimited ($238.50)",
    ]
    assert not balance.find_all("circle", "refusal")  # nothing refused all year


def test_no_forfeit_says_so_instead_of_an_empty_chart(studio: Reported) -> None:
    forfeits = studio.page.by_id("forfeits-studio")
    assert "empty" in forfeits.classes()
    assert not forfeits.find_all("svg")
    assert "at each of the 11 reset(s)" in "".join(e.text for e in forfeits.iter())


def test_forfeited_credits_are_drawn_per_reset(idle: Reported) -> None:
    bars = idle.page.by_id("forfeits-idle").find_all("g", "bar")
    # Feb 1 10:00: 625 - 25 = 600 unused; Mar 1 10:00: all 625 (W06).
    assert [(b.attrs["data-at"][:16], int(b.attrs["data-credits"])) for b in bars] == [
        ("2027-02-01T10:00", 600),
        ("2027-03-01T10:00", 625),
    ]
    assert "600 unused plan credits forfeited (W06)" in bars[0].tooltip()
    figures = idle.page.by_id("key-figures").find_all("td")
    assert "1,225" in [td.text for td in figures]


def test_text_from_the_scenario_is_escaped(idle: Reported) -> None:
    assert "Forfeits <check>" not in idle.html
    assert "Forfeits &lt;check&gt; &amp; &quot;friends&quot;" in idle.html
    assert idle.page.find_all("h1")[0].text == 'Forfeits <check> & "friends"'


def test_an_api_organization_has_credits_tiers_and_refusals(product: Reported) -> None:
    page = product.page
    for dom_id in ("account-product", "balance-product", "spend-product", "tiers-product"):
        page.by_id(dom_id)
    assert not page.find_all("figure", "forfeits")  # API credits never expire (A01)
    balance = page.by_id("balance-product")
    assert balance.find_all("polygon", "credits") and not balance.find_all("polygon", "plan")
    # A05: card_fails 2 declines the next recharge and its retry (Aug 3 and Aug 4), drawn
    # on their own lane and told apart from recharges blocked by the 30-day cap (A07).
    declined = balance.find_all(None, "declined")
    assert sum(int(f.attrs["data-count"]) for f in declined) == 2
    assert all("card declined" in f.tooltip() and "(A05)" in f.tooltip() for f in declined)
    assert "A07" not in " ".join(f.tooltip() for f in declined)
    assert not balance.find_all(None, "blocked")
    # A08: the Feb 14 campaign gets 2,000 - 150 = 1,850 tasks; its last 650 are refused.
    refusals = balance.find_all(None, "refusal")
    feb14 = next(
        r
        for r in refusals
        if r.attrs.get("data-from", r.attrs.get("data-day", "")) <= "2027-02-14"
        and r.attrs.get("data-to", r.attrs.get("data-day", "")) >= "2027-02-14"
    )
    assert "task: daily limit: 650" in feb14.tooltip()
    refused = sql(product.folder, "SELECT sum(count) AS n FROM refusals")[0]["n"]
    assert sum(int(r.attrs["data-count"]) for r in refusals) == refused


def test_the_tier_chart_marks_every_tier_change(product: Reported) -> None:
    tiers = product.page.by_id("tiers-product")
    marks = tiers.find_all("path", "change")
    history = sql(product.folder, "SELECT to_tier FROM tier_history ORDER BY seq")
    assert len(marks) == len(history)
    # A06/A07: the first autobill is cut to $100, which reaches Tier 3 at once; $1,130 of
    # purchases by the end of February reach Tier 4; Tier 5 by the end of the year.
    assert marks[0].tooltip() == "2027-01-01 00:00 UTC · opened on Tier 1"
    assert "raised from Tier 1 to Tier 3 after $100.00 of purchases" in marks[1].tooltip()
    assert "to Tier 4 after $1,130.00 of purchases" in marks[2].tooltip()
    assert "to Tier 5" in marks[-1].tooltip()
    assert tiers.find_all("polyline", "tier-line")


@pytest.mark.parametrize("name", ["studio", "product", "idle"])
def test_the_page_needs_no_network(name: str, request: pytest.FixtureRequest) -> None:
    html: str = request.getfixturevalue(name).html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    assert "@font-face" not in html


def test_the_same_run_gives_the_same_page_from_its_folder(studio: Reported, tmp_path: Path) -> None:
    again = report_in(studio.folder, "runs/studio-pro-unlimited")
    assert again.html == studio.html  # nothing from the wall clock, nothing random


def test_a_run_folder_is_reported_without_replaying(workdir: Path, cli: CliRunner) -> None:
    code, _, err = invoke(cli, "run", str(PRODUCT), "--dir", "here", "-q")
    assert code == 0, err
    stamp = (workdir / "here" / "ledger.duckdb").stat().st_mtime_ns
    code, out, err = invoke(cli, "report", "here")
    assert code == 0, err
    assert "product (API organization)" in out
    assert not list(workdir.glob("*.html"))  # no --html, no page
    assert (workdir / "here" / "ledger.duckdb").stat().st_mtime_ns == stamp
    assert not (workdir / "runs").exists()


def test_dir_says_where_a_scenario_is_replayed(workdir: Path, cli: CliRunner) -> None:
    code, _, err = invoke(cli, "report", str(STUDIO), "--dir", "elsewhere", "--html", "a/b.html")
    assert code == 0, err
    assert (workdir / "elsewhere" / "ledger.duckdb").is_file()
    assert (workdir / "a" / "b.html").is_file()


BAD_SCENARIO = """\
version: 1
name: broken
start: 2027-01-01
end: 2027-02-01
workspaces:
  - id: w
    plan: platinum
    billing: monthly
    subscribed: 2027-01-01
"""


def test_a_bad_scenario_exits_2_and_writes_nothing(workdir: Path, cli: CliRunner) -> None:
    (workdir / "broken.yaml").write_text(BAD_SCENARIO, encoding="utf-8")
    code, _, err = invoke(cli, "report", "broken.yaml", "--html", "r.html")
    assert code == 2
    assert "broken.yaml" in err and "plan" in err
    assert not (workdir / "r.html").exists()
    assert not (workdir / "runs").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.yaml"], "no such scenario file or run folder"),
        (["empty"], "no finished run in empty"),
        (["empty", "--dir", "x"], "--dir only says where to replay a scenario file"),
        (["empty", "--html", "empty"], "is a folder"),
        (["empty", "--samples", "5"], "--samples draws fan charts on the HTML page"),
    ],
    ids=[
        "missing path",
        "folder without a run",
        "dir with a run folder",
        "html is a folder",
        "samples without a page",
    ],
)
def test_bad_input_exits_2(workdir: Path, cli: CliRunner, args: list[str], message: str) -> None:
    (workdir / "empty").mkdir()
    code, out, err = invoke(cli, "report", *args)
    assert code == 2
    assert message in err
    assert out == ""


def test_seat_changes_are_on_their_own_lane(studio: Reported) -> None:
    # W04: gus is added on Jun 1 (7 editors) and removed on Sep 1 (6 editors), each with
    # its prorated charge or credit in the tooltip; the monthly table shows the change.
    balance = studio.page.by_id("balance-studio")
    seats = balance.find_all("path", "seat")
    assert [(s.attrs["data-at"][:10], s.attrs["data-seats"]) for s in seats] == [
        ("2027-06-01", "7"),
        ("2027-09-01", "6"),
    ]
    assert "editor gus added: 7 editors" in seats[0].tooltip() and "(W04)" in seats[0].tooltip()
    assert "credited for the unused seat time (W04)" in seats[1].tooltip()
    labels = [t.text for t in balance.find_all("text", "change-label")]
    assert "7 editors (+1)" in labels and "6 editors (−1)" in labels
    rows = {
        r.attrs["data-month"]: [c.text for c in r.children if c.tag in ("th", "td")]
        for r in studio.page.by_id("monthly-studio").find_all("tr")
        if "data-month" in r.attrs
    }
    assert rows["2027-06"][2] == "7 (+1)" and rows["2027-09"][2] == "6 (−1)"
    assert rows["2027-04"][1] == "pro → unlimited"


def test_accrual_spreads_plan_payments_and_keeps_every_dollar(studio: Reported) -> None:
    again = report_in(studio.folder, "runs/studio-pro-unlimited", "--basis", "accrual")
    spend = again.page.by_id("spend-studio")
    radios = {i.attrs["value"]: "checked" in i.attrs for i in spend.find_all("input")}
    assert radios == {"cash": False, "accrual": True}
    cash = spend.find_all("div", "cash")[0].find_all("g", "bar")
    accrual = spend.find_all("div", "accrual")[0].find_all("g", "bar")
    total_cash = sum(Decimal(b.attrs["data-usd"]) for b in cash)
    total_accrual = sum(Decimal(b.attrs["data-usd"]) for b in accrual)
    assert total_cash == Decimal("6053.50")
    # The December renewal (Dec 4) pays for Dec 4 - Jan 4: its January part is deferred.
    note = "".join(e.text for e in spend.find_all("p", "note"))
    paid = re.search(r"\$([\d,.]+) paid in the window", note)
    assert paid is not None, note
    deferred = Decimal(paid[1].replace(",", ""))
    assert total_accrual + deferred == total_cash
    assert Decimal(0) < deferred < Decimal("590")
    # January on accrual: the $210 subscription (Jan 4 09:00 to Feb 4 09:00) counts for its
    # January days only, the $50 bought on Jan 4 in full.
    assert Decimal(accrual[0].attrs["data-usd"]) < Decimal(cash[0].attrs["data-usd"])


def test_samples_draw_the_forecast_s_fan_charts_on_the_report_page(
    workdir: Path, cli: CliRunner
) -> None:
    """Issue 16: the fan charts are sections of the run report, with exactly the
    figures ``forecast`` gives for the same samples and seed."""
    scenario = str(EXAMPLES / "uncertain-agency.yaml")
    code, _, err = invoke(
        cli, "report", scenario, "--html", "page.html", "--samples", "8", "--workers", "1"
    )
    assert code == 0, err
    page = (workdir / "page.html").read_text(encoding="utf-8")
    code, out, err = invoke(
        cli, "forecast", scenario, "--samples", "8", "--workers", "1", "--format", "json"
    )
    assert code == 0, err
    forecast = json.loads(out)
    assert 'id="forecast"' in page and "8 samples" in page
    for account in forecast["accounts"]:
        assert f'id="forecast-{account["account"]}"' in page
        for month in account["months"]:  # every P50 of dollars is in the section's table
            p50 = Decimal(month["usd"]["p50"])
            assert f"{p50:,.2f}" in page or f"{p50:,}" in page
    # The run part of the page is the plain report's, figure for figure.
    code, _, err = invoke(cli, "report", "runs/uncertain-agency", "--html", "plain.html")
    assert code == 0, err
    plain = (workdir / "plain.html").read_text(encoding="utf-8")
    body = page.split("<main>")[1].split('<section id="forecast">')[0]
    assert body == plain.split("<main>")[1].split("<footer>")[0]
