"""The report's rendering is a pure function of in-memory values: formats,
scales, ticks, and charts drawn from hand-made figures, no database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from ledger.report.data import AccountReport, DayBalance, MonthFigures, RunReport
from ledger.report.html import render
from ledger.report.svg import Days, credits, el, nice_range, usd
from projections.queries import AccountSummary


def test_credits_are_whole_numbers_with_thousands_separators() -> None:
    assert credits(1_988_980) == "1,988,980"
    assert credits(0) == "0"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("6053.5", "$6,053.50"), ("-10.34", "-$10.34"), ("0", "$0.00"), ("0.01", "$0.01")],
)
def test_dollars_are_shown_to_the_cent_with_the_sign_first(value: str, shown: str) -> None:
    assert usd(Decimal(value)) == shown


def test_value_axes_end_on_round_numbers_above_the_highest_value() -> None:
    assert nice_range(0, 7_102) == [0, 2_000, 4_000, 6_000, 8_000]
    assert nice_range(0, 24_000) == [0, 5_000, 10_000, 15_000, 20_000, 25_000]
    assert nice_range(-10.34, 695.34, integer=False) == [-200, 0, 200, 400, 600, 800]
    assert nice_range(0, 0) == [0, 1]  # an account that never held a credit


def test_a_year_axis_has_a_tick_per_month_and_the_year_on_january() -> None:
    axis = Days(date(2027, 1, 1), 365, 0, 365)
    ticks = axis.ticks()
    assert [label for _, label, _ in ticks][:3] == ["Jan", "Feb", "Mar"]
    assert len(ticks) == 13  # Jan 1 2027 ... Jan 1 2028, the window's end
    assert [(d, year) for d, _, year in ticks if year] == [
        (date(2027, 1, 1), "2027"),
        (date(2028, 1, 1), "2028"),
    ]
    assert axis.at(datetime(2027, 1, 2, 12, tzinfo=UTC)) == pytest.approx(1.5)


def test_a_short_window_has_weekly_ticks() -> None:
    ticks = Days(date(2027, 3, 1), 20, 0, 100).ticks()
    assert [label for _, label, _ in ticks] == ["Mar 1", "Mar 8", "Mar 15"]


def test_elements_escape_attributes_and_leave_out_empty_ones() -> None:
    assert el("rect", {"x": 1.234, "data-x": 'a"<b', "hidden": None}) == (
        '<rect x="1.23" data-x="a&quot;&lt;b"/>'
    )


def summary(**figures: object) -> AccountSummary:
    base: dict[str, object] = {
        "account": "w",
        "surface": "web",
        "granted": 0,
        "bought": 0,
        "used": 0,
        "refunded": 0,
        "forfeited": 0,
        "final_balance": 0,
        "tasks_charged": 0,
        "refused": {},
        "other_refusals": {},
        "usd_total": Decimal("0.00"),
        "usd_by_month": [],
        "plans": [],
        "tiers": [],
        "worst_wait_s": None,
        "worst_wait_at": None,
        "worst_wait_model": None,
        "flagged_keys": [],
    }
    base.update(figures)
    return cast(AccountSummary, base)


def month(first: date, plan_usd: str, credits_usd: str = "0") -> MonthFigures:
    return MonthFigures(
        month=first,
        usd_spent=Decimal(plan_usd) + Decimal(credits_usd),
        usd_plan=Decimal(plan_usd),
        usd_credits=Decimal(credits_usd),
        granted=0,
        purchased=0,
        used=0,
        refunded=0,
        forfeited=0,
        rejected=0,
        closing_balance=0,
    )


def one_account(days: int, months: tuple[MonthFigures, ...]) -> RunReport:
    first = date(2027, 1, 1)
    account = AccountReport(
        account="w",
        surface="web",
        summary=summary(usd_total=sum((m.usd_spent for m in months), Decimal(0))),
        days=tuple(
            DayBalance(first + timedelta(days=i), i > 0, 100 * i, 100 * i, 0, "pro", None)
            for i in range(days)
        ),
        months=months,
        resets=(),
        topups=(),
        refusals=(),
        changes=(),
    )
    start = datetime(2027, 1, 1, tzinfo=UTC)
    return RunReport(
        name="hand-made",
        scenario_file="w.yaml",
        folder="runs/w",
        start=start,
        end=start + timedelta(days=days),
        until=None,
        events=0,
        accounts=(account,),
    )


def bar_segments(page: str) -> list[tuple[str, float, float]]:
    """(class, y, height) of every bar segment of the spend chart."""
    spend = page[page.index('id="spend-w"') :]
    return [
        (cls, float(y), float(h))
        for cls, y, h in re.findall(
            r'<rect class="segment (\w+)" x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"',
            spend,
        )
    ]


def test_a_seat_credit_month_is_drawn_below_the_zero_line() -> None:
    # W04: an editor removed in a month without a renewal leaves only a credit (annual billing).
    report = one_account(59, (month(date(2027, 1, 1), "672"), month(date(2027, 2, 1), "-10.34")))
    page = render(report)
    (jan_cls, jan_y, jan_h), (feb_cls, feb_y, feb_h) = bar_segments(page)
    assert jan_cls == feb_cls == "plan"
    zero = jan_y + jan_h  # January's bar stands on the zero line
    assert feb_y == pytest.approx(zero, abs=0.01)  # February's hangs from it
    assert 0 < feb_h < jan_h / 10
    assert "February 2027: -$10.34" in page


def test_a_day_before_the_account_opened_draws_no_area_but_keeps_its_column() -> None:
    page = render(one_account(3, (month(date(2027, 1, 1), "15"),)))
    assert page.count('class="day"') == 3
    assert "not opened yet" in page
    # Days 2 and 3 (the first is not open): one polygon per bucket.
    assert page.count('class="area plan"') == 1
    assert page.count('class="area purchased"') == 1


def test_rendering_twice_gives_the_same_page() -> None:
    report = one_account(40, (month(date(2027, 1, 1), "15"), month(date(2027, 2, 1), "15")))
    assert render(report) == render(report)
