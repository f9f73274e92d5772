"""``import runway --forecast 6m``: a model's observed pace, extended forward.

Over the imported window, every day counts (a day without usage is a zero):
the weekday level is the mean credits of Monday-Friday, the weekend level the
mean of Saturday-Sunday, and the trend a least-squares line through what
those levels leave of each day. Each month after the window becomes two ordinary schedule lines (an
``every: weekday`` and a Saturday/Sunday ``rrule``) whose task counts follow
the levels scaled by the trend at that month's middle. Exact arithmetic
(``Fraction``) keeps the file the same on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class ForecastLine:
    start: date
    before: date
    weekend: bool
    count: int  # tasks a day
    comment: str


@dataclass(frozen=True)
class Pace:
    weekday: Fraction  # mean credits a weekday
    weekend: Fraction
    slope: Fraction  # credits a day, per day
    mean: Fraction
    middle: Fraction  # the window's middle, in days from its start


def pace(days: dict[date, int], start: date, end: date) -> Pace:
    n = (end - start).days
    ys = [Fraction(max(0, days.get(start + timedelta(days=i), 0))) for i in range(n)]
    weekday = [y for i, y in enumerate(ys) if (start + timedelta(days=i)).weekday() < 5]
    weekend = [y for i, y in enumerate(ys) if (start + timedelta(days=i)).weekday() >= 5]
    mean = sum(ys, Fraction(0)) / n if n else Fraction(0)
    middle = Fraction(n - 1, 2)
    spread = sum(((i - middle) ** 2 for i in range(n)), Fraction(0))
    # The trend is fitted on what the weekly pattern leaves (each day minus its
    # weekday or weekend level), so a window ending on a weekend is not a decline.
    levels = (_mean(weekday), _mean(weekend))
    rest = [y - levels[(start + timedelta(days=i)).weekday() >= 5] for i, y in enumerate(ys)]
    rest_mean = _mean(rest)
    slope = (
        sum(((i - middle) * (r - rest_mean) for i, r in enumerate(rest)), Fraction(0)) / spread
        if spread
        else Fraction(0)
    )
    return Pace(levels[0], levels[1], slope, mean, middle)


def _mean(values: list[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values) if values else Fraction(0)


def forecast_lines(
    model_id: str, days: dict[date, int], start: date, end: date, until: date, cost: int
) -> list[ForecastLine]:
    """Two lines a month over [end, until) for one model (none for a level of 0 tasks)."""
    p = pace(days, start, end)
    lines = []
    month_start = end
    while month_start < until:
        month_end = min(until, month_start + relativedelta(months=1))
        t_mid = Fraction((month_start - start).days) + Fraction((month_end - month_start).days, 2)
        factor = (
            max(Fraction(0), (p.mean + p.slope * (t_mid - p.middle)) / p.mean)
            if p.mean
            else Fraction(0)
        )
        for weekend, level in ((False, p.weekday), (True, p.weekend)):
            count = round(level * factor / cost)
            if count > 0:
                lines.append(
                    ForecastLine(
                        month_start,
                        month_end,
                        weekend,
                        count,
                        f"forecast: {'weekend' if weekend else 'weekday'} level "
                        f"{float(level):,.0f} credits/day x trend {float(factor):.2f}",
                    )
                )
        month_start = month_end
    return lines
