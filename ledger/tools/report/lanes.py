"""The lanes under the balance chart: what happened when, on the balance's time axis.

Two kinds of lane:

* *event lanes* (credits bought, failed charges, refusals): one mark per day
  while the days are far enough apart for each mark and its count; when they
  are dense (a busy API account recharges several times a day), the events
  are counted per week, or per month when a week's count does not fit, and
  each period gets a badge with its count printed on it, so that the figures
  are on paper too, not only in tooltips;
* *change lanes* (plan or tier changes, editors): a mark per change, its label
  beside it; changes too close for their labels share one (``Tier 1 → 2 → 3``).

Text widths are estimated (``TEXT_EM`` per character, generous for the
common sans-serif faces); the browser tests check on a rendered page that
no two labels overlap.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from ledger.tools.report.svg import Days, el, num, text, title

TEXT_EM = 0.68  # width of one character in em, a little over DejaVu Sans' digits (0.64)
LABEL_SIZE = 12.0  # change labels (CSS: text.change-label)
COUNT_SIZE = 10.5  # counts printed on badges and beside marks (CSS: text.count)
GAP = 5.0  # the least room between two labels


def text_width(label: str, size: float) -> float:
    return len(label) * size * TEXT_EM


def compact(n: int) -> str:
    """A count short enough for a badge: 950, 9.5k, 12k, 1.2M (exact in the tooltip)."""
    if n < 1_000:
        return str(n)
    if n < 9_950:
        return f"{n / 1_000:.1f}k".replace(".0k", "k")
    if n < 999_500:
        return f"{round(n / 1_000)}k"
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


# ------------------------------------------------------------- event lanes


@dataclass(frozen=True, slots=True)
class Event:
    """One thing on an event lane: a top-up, a failed charge, a day's refusals."""

    at: datetime
    tip: str
    count: int = 1  # what it stands for (refused tasks of a day ...)
    flag: bool = False  # drawn outlined in the glyph's flag colour (a recharge cut by a cap)
    ref: object = None  # what it stands for, for the lane's tooltips


@dataclass(frozen=True, slots=True)
class Glyph:
    """How a lane draws a mark and a badge."""

    shape: str  # triangle | circle | square
    fill: str
    stroke: str
    badge_fill: str
    badge_stroke: str
    badge_text: str  # colour of the count on the badge
    dash: str | None = None
    flag_stroke: str | None = None  # outline of a flagged mark


@dataclass(frozen=True, slots=True)
class EventLane:
    name: str  # the lane's label, left of the plot
    cls: str  # CSS classes of its marks: "topup", "failed declined", "refusal" ...
    glyph: Glyph
    events: tuple[Event, ...]
    # The tooltip of a day or a period: (first day, last day, its events) -> text.
    describe: Callable[[date, date, Sequence[Event]], str]
    always_count: bool = False  # print the count beside every mark, even 1


def _mark(glyph: Glyph, x: float, cy: float) -> tuple[str, dict[str, object]]:
    """(element name, attributes) of a single mark centred on (x, cy)."""
    attrs: dict[str, object] = {"fill": glyph.fill, "stroke": glyph.stroke}
    if glyph.shape == "circle":
        return "circle", {**attrs, "cx": x, "cy": cy, "r": 5.0}
    if glyph.shape == "square":
        d = f"M{num(x - 5)},{num(cy - 5)} h10 v10 h-10 Z M{num(x - 3)},{num(cy - 3)} "
        d += "l6,6 m0,-6 l-6,6"
        return "path", {**attrs, "d": d, "stroke-width": 1.5}
    size = 6.0
    d = (
        f"M{num(x)},{num(cy - size)} L{num(x + size)},{num(cy + size * 0.8)} "
        f"L{num(x - size)},{num(cy + size * 0.8)} Z"
    )
    return "path", {**attrs, "d": d, "stroke-width": 1.5}


def _by_day(events: Sequence[Event]) -> dict[date, list[Event]]:
    days: dict[date, list[Event]] = defaultdict(list)
    for e in events:
        days[e.at.date()].append(e)
    return dict(sorted(days.items()))


def _sparse_fits(lane: EventLane, days: dict[date, list[Event]], xs: Days) -> bool:
    """One mark per day works when each mark and its count clear the next day's mark."""
    placed = [(xs.at_day(d, 0.5), sum(e.count for e in evs)) for d, evs in days.items()]
    for (x, n), (next_x, _) in itertools.pairwise(placed):
        room = 12.0 + GAP
        if n > 1 or lane.always_count:
            room += text_width(compact(n), COUNT_SIZE) + 3
        if next_x - x < room:
            return False
    if placed:  # the last count must not run past the plot
        x, n = placed[-1]
        if (n > 1 or lane.always_count) and x + 9 + text_width(compact(n), COUNT_SIZE) > xs.x1 + 24:
            return False
    return True


def _periods(xs: Days, unit: str) -> list[tuple[date, date]]:
    """(first, last) day of each week (from the window's first day) or calendar month."""
    first = xs.first
    end = first + timedelta(days=xs.count)
    out = []
    start = first
    while start < end:
        if unit == "week":
            stop = start + timedelta(days=7)
        else:
            stop = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        stop = min(stop, end)
        out.append((start, stop - timedelta(days=1)))
        start = stop
    if unit == "week" and len(out) > 1 and (out[-1][1] - out[-1][0]).days < 3:
        out[-2:] = [(out[-2][0], out[-1][1])]  # a stub of a week joins the one before
    return out


def event_lane(lane: EventLane, xs: Days, cy: float) -> str:
    """The marks of one event lane centred on ``cy``."""
    days = _by_day(lane.events)
    if not days:
        return ""
    if _sparse_fits(lane, days, xs):
        return _sparse(lane, days, xs, cy)
    for unit in ("week", "month"):
        periods = _periods(xs, unit)
        counts = [
            sum(e.count for d, evs in days.items() if lo <= d <= hi for e in evs)
            for lo, hi in periods
        ]
        fits = all(
            text_width(compact(n), COUNT_SIZE) + 2 <= xs.at_day(hi, 1.0) - xs.at_day(lo) - 1
            for (lo, hi), n in zip(periods, counts, strict=True)
            if n
        )
        if fits or unit == "month":
            return _binned(lane, days, periods, unit, xs, cy)
    return ""  # pragma: no cover - the month loop always returns


def _sparse(lane: EventLane, days: dict[date, list[Event]], xs: Days, cy: float) -> str:
    marks, counts = [], []
    for day, evs in days.items():
        n = sum(e.count for e in evs)
        x = xs.at_day(day, 0.5)
        name, attrs = _mark(lane.glyph, x, cy)
        flagged = any(e.flag for e in evs) and lane.glyph.flag_stroke is not None
        if flagged:
            attrs["stroke"] = lane.glyph.flag_stroke
        attrs = {
            "class": f"{lane.cls} mark" + (" flagged" if flagged else ""),
            **attrs,
            "data-day": day.isoformat(),
            "data-at": evs[0].at.isoformat(),
            "data-count": n,
        }
        marks.append(el(name, attrs, title(lane.describe(day, day, evs))))
        if n > 1 or lane.always_count:
            counts.append(
                el(
                    "text",
                    {"x": x + 8, "y": cy + 4, "class": "count"},
                    text(compact(n)),
                )
            )
    return el("g", {"class": "lane-marks", "data-lane": lane.name}, *marks, *counts)


def _binned(
    lane: EventLane,
    days: dict[date, list[Event]],
    periods: Sequence[tuple[date, date]],
    unit: str,
    xs: Days,
    cy: float,
) -> str:
    g = lane.glyph
    badges = []
    for lo, hi in periods:
        evs = [e for d, day_events in days.items() if lo <= d <= hi for e in day_events]
        if not evs:
            continue
        n = sum(e.count for e in evs)
        x0, x1 = xs.at_day(lo) + 0.5, xs.at_day(hi, 1.0) - 0.5
        badge = el(
            "rect",
            {
                "x": x0,
                "y": cy - 8,
                "width": max(x1 - x0, 1.0),
                "height": 16,
                "rx": 3,
                "fill": g.badge_fill,
                "stroke": g.badge_stroke,
                "stroke-dasharray": g.dash,
            },
        )
        label = el(
            "text",
            {
                "x": (x0 + x1) / 2,
                "y": cy + 3.8,
                "text-anchor": "middle",
                "class": "count",
                "style": f"fill:{g.badge_text}",
            },
            text(compact(n)),
        )
        badges.append(
            el(
                "g",
                {
                    "class": f"{lane.cls} bin",
                    "data-from": lo.isoformat(),
                    "data-to": hi.isoformat(),
                    "data-count": n,
                },
                title(lane.describe(lo, hi, evs)),
                badge,
                label,
            )
        )
    return el("g", {"class": f"lane-marks binned per-{unit}", "data-lane": lane.name}, *badges)


def period_name(first: date, last: date) -> str:
    if first == last:
        return f"{first:%a} {first.isoformat()}"
    if first.day == 1 and (last + timedelta(days=1)).day == 1:
        return f"{first:%B %Y}"
    return f"{first.isoformat()} to {last.isoformat()}"


# ------------------------------------------------------------ change lanes


@dataclass(frozen=True, slots=True)
class Mark:
    """A change on a change lane: its mark, tooltip and data attributes."""

    at: datetime
    cls: str  # "change" (plan, tier) or "seat added" ...
    shape: str  # diamond | plus | minus | cross
    tip: str
    data: dict[str, object] = field(default_factory=dict)
    ref: object = None  # what it stands for, for the lane's labels


@dataclass
class _Cluster:
    marks: list[int]
    label: str = ""
    x: float = 0.0  # where the label starts (anchor start) or ends (anchor end)
    anchor: str = "start"

    def span(self, size: float) -> tuple[float, float]:
        w = text_width(self.label, size)
        return (self.x, self.x + w) if self.anchor == "start" else (self.x - w, self.x)


def _shape(shape: str, x: float, cy: float) -> str:
    s = 5.5
    if shape == "diamond":
        return (
            f"M{num(x)},{num(cy - s)} L{num(x + s)},{num(cy)} L{num(x)},{num(cy + s)} "
            f"L{num(x - s)},{num(cy)} Z"
        )
    if shape == "plus":
        return (
            f"M{num(x - 1.6)},{num(cy - 5.5)} h3.2 v3.9 h3.9 v3.2 h-3.9 v3.9 h-3.2 v-3.9 "
            f"h-3.9 v-3.2 h3.9 Z"
        )
    if shape == "minus":
        return f"M{num(x - 5.5)},{num(cy - 1.6)} h11 v3.2 h-11 Z"
    # cross: a refused change
    return (
        f"M{num(x - 4.5)},{num(cy - 3)} l1.5,-1.5 l3,3 l3,-3 l1.5,1.5 l-3,3 l3,3 "
        f"l-1.5,1.5 l-3,-3 l-3,3 l-1.5,-1.5 l3,-3 Z"
    )


def place_labels(
    xs_of: Sequence[float],
    label_of: Callable[[Sequence[int]], str],
    left: float,
    right: float,
    size: float = LABEL_SIZE,
) -> list[_Cluster]:
    """Group marks (sorted by x) so that each group's label fits without overlap.

    A label starts just right of its group's last mark; a mark that would fall
    under the label before it joins that group. The last label, if it runs past
    ``right``, ends just left of its group's first mark instead, joining the
    group before it when there is no room.
    """
    clusters: list[_Cluster] = []
    for i, x in enumerate(xs_of):
        if clusters:
            last = clusters[-1]
            if x < last.span(size)[1] + GAP + 6:
                last.marks.append(i)
                last.label = label_of(last.marks)
                last.x = x + 9
                continue
        clusters.append(_Cluster([i], label_of([i]), x + 9))
    while clusters:
        last = clusters[-1]
        if last.span(size)[1] <= right:
            break
        last.anchor, last.x = "end", xs_of[last.marks[0]] - 9
        before = clusters[-2].span(size)[1] if len(clusters) > 1 else left
        if last.span(size)[0] >= before + GAP:
            break
        if len(clusters) == 1:
            last.anchor, last.x = "end", right  # one label wider than the lane: keep it inside
            break
        merged = clusters[-2]
        merged.marks += last.marks
        merged.label = label_of(merged.marks)
        merged.x = xs_of[merged.marks[-1]] + 9
        clusters.pop()
    return clusters


def change_lane(
    marks: Sequence[Mark],
    label_of: Callable[[Sequence[Mark]], str],
    xs: Days,
    cy: float,
    colour: str,
    right: float,
) -> str:
    """Marks of one change lane and their labels (grouped where they would collide)."""
    if not marks:
        return ""
    order = sorted(range(len(marks)), key=lambda i: marks[i].at)
    ordered = [marks[i] for i in order]
    positions = [xs.at(m.at) for m in ordered]
    clusters = place_labels(
        positions, lambda idx: label_of([ordered[i] for i in idx]), xs.x0, right
    )
    shapes = [
        el(
            "path",
            {"class": m.cls, "d": _shape(m.shape, x, cy), **m.data, "data-at": m.at.isoformat()},
            title(m.tip),
        )
        for m, x in zip(ordered, positions, strict=True)
    ]
    labels = [
        el(
            "text",
            {
                "x": c.x,
                "y": cy + 4,
                "text-anchor": "end" if c.anchor == "end" else None,
                "class": "change-label",
            },
            text(c.label),
        )
        for c in clusters
    ]
    return el("g", {"class": "changes", "fill": colour}, *shapes, *labels)
