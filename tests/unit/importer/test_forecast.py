"""--forecast: each model's weekday and weekend levels and a fitted trend, carried forward."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from ledger.tools.importer.forecast import forecast_lines, pace

START, END = date(2026, 3, 2), date(2026, 5, 25)  # twelve whole weeks, Monday to Monday


def _history(weekday: int, weekend: int, growth: int = 0) -> dict[date, int]:
    days = {}
    for i in range((END - START).days):
        day = START + timedelta(days=i)
        days[day] = (weekday if day.weekday() < 5 else weekend) + growth * i
    return days


def test_flat_pace_is_carried_as_is() -> None:
    lines = forecast_lines("gen4.5", _history(600, 120), START, END, date(2026, 8, 25), 60)
    assert [(f.start, f.before, f.weekend, f.count) for f in lines] == [
        (date(2026, 5, 25), date(2026, 6, 25), False, 10),
        (date(2026, 5, 25), date(2026, 6, 25), True, 2),
        (date(2026, 6, 25), date(2026, 7, 25), False, 10),
        (date(2026, 6, 25), date(2026, 7, 25), True, 2),
        (date(2026, 7, 25), date(2026, 8, 25), False, 10),
        (date(2026, 7, 25), date(2026, 8, 25), True, 2),
    ]


def test_a_growing_model_grows_and_a_fading_one_stops() -> None:
    growing = forecast_lines("m", _history(600, 600, growth=6), START, END, date(2026, 9, 25), 60)
    weekday = [f.count for f in growing if not f.weekend]
    assert weekday == sorted(weekday) and weekday[-1] > weekday[0] > 10
    p = pace(_history(600, 600, growth=6), START, END)
    assert abs(p.slope - 6) < Fraction(1, 10)  # the growth put in, found again
    fading = forecast_lines("m", _history(600, 0, growth=-7), START, END, date(2026, 12, 25), 60)
    assert fading == [] or fading[-1].before < date(2026, 12, 25)


def test_unused_model_gives_no_line() -> None:
    assert forecast_lines("m", {}, START, END, date(2026, 8, 25), 60) == []
