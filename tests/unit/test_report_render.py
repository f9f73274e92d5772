"""The report's rendering is a pure function of in-memory values: formats,
scales, ticks, and charts drawn from hand-made figures, no database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from ledger.tools.report.data import AccountReport, DayBalance, MonthFigures, RunReport
from ledger.tools.report.html import render
from ledger.tools.report.svg import Days, credits, el, nice_range, usd
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


# ------------------------------------------------------------ lanes and accrual


def test_counts_on_badges_are_short_and_round_to_the_nearest() -> None:
    from ledger.tools.report.lanes import compact

    assert [compact(n) for n in (7, 950, 1_000, 1_240, 9_949, 9_950, 12_400, 1_250_000)] == [
        "7",
        "950",
        "1k",
        "1.2k",
        "9.9k",
        "10k",
        "12k",
        "1.2M",
    ]


def test_labels_too_close_share_one_and_the_last_one_stays_inside() -> None:
    from ledger.tools.report.lanes import place_labels, text_width

    def label(idx: object) -> str:
        return "Tier " + " → ".join(str(i + 1) for i in idx)  # type: ignore[attr-defined]

    # Three marks 3 px apart, one far away: the first three share a label.
    clusters = place_labels([100.0, 103.0, 106.0, 600.0], label, 84.0, 1000.0)
    assert [c.marks for c in clusters] == [[0, 1, 2], [3]]
    assert clusters[0].label == "Tier 1 → 2 → 3"
    spans = [c.span(12.0) for c in clusters]
    assert spans[0][1] < spans[1][0]  # no overlap
    # A mark near the right edge gets its label on its left, inside the lane.
    (last,) = place_labels([990.0], label, 84.0, 1000.0)
    assert last.anchor == "end" and last.span(12.0)[1] <= 1000.0
    assert last.span(12.0)[0] == pytest.approx(990.0 - 9 - text_width("Tier 1", 12.0))


def test_dense_events_are_counted_per_week_and_sparse_ones_drawn_one_by_one() -> None:
    from ledger.tools.report.lanes import Event, EventLane, Glyph, event_lane

    glyph = Glyph("triangle", "#000", "#fff", "#000", "#000", "#fff")
    xs = Days(date(2027, 1, 1), 365, 84, 1032)
    start = datetime(2027, 1, 1, tzinfo=UTC)

    def lane(events: list[Event]) -> str:
        return event_lane(
            EventLane("Bought", "topup", glyph, tuple(events), lambda a, b, e: f"{len(e)}"), xs, 10
        )

    sparse = lane([Event(start + timedelta(days=30 * i), "x") for i in range(12)])
    assert sparse.count('class="topup mark"') == 12 and "binned" not in sparse
    # Four recharges a day all year: 1,460 events in 52 weekly badges (the last one 8 days
    # long: 365 = 52 x 7 + 1), each with its count printed.
    dense = lane([Event(start + timedelta(hours=6 * i), "x") for i in range(1_460)])
    assert "per-week" in dense
    counts = [int(n) for n in re.findall(r'data-count="(\d+)"', dense)]
    assert len(counts) == 52 and sum(counts) == 1_460
    assert re.findall(r'class="count"[^>]*>(\d+)</text>', dense)[:2] == ["28", "28"]


def test_accrual_spreads_an_annual_plan_over_its_months_to_the_cent() -> None:
    from ledger.tools.report.data import plan_payments, spread

    t0 = datetime(2027, 1, 1, 9, tzinfo=UTC)
    (payment,) = plan_payments([(t0, "subscription", Decimal("672.00"), None)], "annual")
    assert payment.until == datetime(2028, 1, 1, 9, tzinfo=UTC)
    pieces = spread(payment, window_end=datetime(2027, 7, 1, tzinfo=UTC))
    months = dict(pieces)
    assert sum((v for _, v in pieces), Decimal(0)) == Decimal("672.00")  # nothing lost
    # January holds 31 days less 9 hours of the 365-day year; the time after the
    # window's end (None) is deferred.
    assert months[date(2027, 1, 1)] == (Decimal(672) * Decimal(30 * 24 + 15) / (365 * 24)).quantize(
        Decimal("0.01")
    )
    assert set(months) == {date(2027, m, 1) for m in range(1, 7)} | {None}
    deferred = sum((v for k, v in pieces if k is None), Decimal(0))
    assert deferred == Decimal("672.00") - sum((v for k, v in pieces if k is not None), Decimal(0))
    assert deferred > Decimal(672) / 2  # the window holds under half of the paid year


def test_a_seat_added_mid_period_accrues_to_the_end_of_that_period() -> None:
    from ledger.tools.report.data import plan_payments

    t0 = datetime(2027, 1, 4, 9, tzinfo=UTC)
    rows = [
        (t0, "subscription", Decimal("210.00"), None),
        (datetime(2027, 1, 20, tzinfo=UTC), "seat_added", Decimal("18.06"), None),
        (datetime(2027, 2, 4, 9, tzinfo=UTC), "renewal", Decimal("245.00"), None),
    ]
    sub, seat, renewal = plan_payments(rows, "monthly")
    assert sub.until == seat.until == renewal.at  # the seat is paid to the next renewal (W04)
    assert renewal.until == datetime(2027, 3, 4, 9, tzinfo=UTC)
