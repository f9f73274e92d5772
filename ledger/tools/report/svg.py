"""SVG and HTML building blocks: escaped elements, scales, ticks and number formats.

Every piece of text goes through ``esc`` (``html.escape``); element builders
take already-built children, so nothing is escaped twice or not at all.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

Attrs = Mapping[str, object]


def esc(value: object) -> str:
    """Text or an attribute value, escaped (quotes too)."""
    return html.escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros (keeps the file small)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attr(value: object) -> str:
    if isinstance(value, float):
        return num(value)
    return esc(value)


def el(name: str, attrs: Attrs | None = None, *children: str) -> str:
    """``<name a="v">children</name>``; None and False attributes are left out."""
    parts = [name]
    for key, value in (attrs or {}).items():
        if value is None or value is False:
            continue
        parts.append(key if value is True else f'{key}="{_attr(value)}"')
    opening = " ".join(parts)
    if not children and name in _VOID:
        return f"<{opening}>"
    if not children and name in _SVG_LEAVES:
        return f"<{opening}/>"
    return f"<{opening}>{''.join(children)}</{name}>"


def text(value: object) -> str:
    return esc(value)


def title(value: str) -> str:
    """A native tooltip (SVG ``<title>``): the browser shows it on hover."""
    return f"<title>{esc(value)}</title>"


_VOID = frozenset({"meta", "br", "hr", "img", "link", "col"})
_SVG_LEAVES = frozenset({"rect", "line", "path", "circle", "polygon", "polyline"})


def points(xy: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{num(x)},{num(y)}" for x, y in xy)


# ---------------------------------------------------------------- formats


def credits(value: int) -> str:
    """Credits are whole numbers with thousands separators (S02)."""
    return f"{value:,}"


def usd(value: Decimal) -> str:
    """Dollars to the cent, the sign before the symbol: -$10.34."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def usd_tick(value: float) -> str:
    """An axis label in dollars: whole dollars unless the step needs cents."""
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if amount == int(amount):
        return f"{sign}${int(amount):,}"
    return f"{sign}${amount:,.2f}"


def credit_tick(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def day_label(day: date) -> str:
    return f"{day:%a} {day.isoformat()}"


def instant(at: datetime) -> str:
    """An instant as people read it, UTC: 2027-03-04 09:00."""
    if at.second or at.microsecond:
        return f"{at:%Y-%m-%d %H:%M:%S} UTC"
    return f"{at:%Y-%m-%d %H:%M} UTC"


# ----------------------------------------------------------------- scales


@dataclass(frozen=True, slots=True)
class Linear:
    """Maps the domain [d0, d1] onto the range [r0, r1]."""

    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, value: float) -> float:
        span = self.d1 - self.d0
        if span == 0:
            return self.r0
        return self.r0 + (value - self.d0) / span * (self.r1 - self.r0)


@dataclass(frozen=True, slots=True)
class Days:
    """A time axis over whole UTC days: ``first`` 00:00 to ``first + count`` 00:00."""

    first: date
    count: int
    x0: float
    x1: float

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    def at_day(self, day: date, fraction: float = 0.0) -> float:
        offset = (day - self.first).days + fraction
        return self.x0 + offset / max(self.count, 1) * (self.x1 - self.x0)

    def at(self, when: datetime) -> float:
        offset = (when - self.start).total_seconds() / 86_400
        offset = min(max(offset, 0.0), float(self.count))
        return self.x0 + offset / max(self.count, 1) * (self.x1 - self.x0)

    @property
    def day_width(self) -> float:
        return (self.x1 - self.x0) / max(self.count, 1)

    def ticks(self) -> list[tuple[date, str, str]]:
        """(day, label, second line) for the axis: months, or weeks in a short window."""
        last = self.first + timedelta(days=self.count)
        out: list[tuple[date, str, str]] = []
        if self.count <= 62:
            day = self.first
            while day <= last:
                out.append((day, f"{day:%b} {day.day}", str(day.year) if not out else ""))
                day += timedelta(days=7)
            return out
        step = 1 if self.count <= 800 else 3
        year, month = self.first.year, self.first.month
        if self.first.day != 1:
            month += 1
        while True:
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
            day = date(year, month, 1)
            if day > last:
                break
            first_of_year = month == 1 or not out
            out.append((day, f"{day:%b}", str(year) if first_of_year else ""))
            month += step
        return out


def nice_step(span: float, target: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``target`` ticks."""
    if span <= 0:
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def nice_range(lo: float, hi: float, target: int = 5, integer: bool = True) -> list[float]:
    """Ticks from a round value at or below ``lo`` to one at or above ``hi``."""
    if hi <= lo:
        hi = lo + 1
    step = nice_step(hi - lo, target)
    if integer:
        step = max(step, 1.0)
        if step != int(step):
            step = math.ceil(step)
    start = math.floor(lo / step) * step
    stop = math.ceil(hi / step) * step
    count = round((stop - start) / step)
    return [start + i * step for i in range(count + 1)]
