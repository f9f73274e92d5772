"""The break-even chart: dollars a month against volume, one line per route.

A self-contained HTML page (inline SVG and CSS, no script, no fonts, no
network) in the report's style (``ledger.tools.report.style``: the same palette,
type and cards), so it opens anywhere and diffs cleanly. Both axes are
logarithmic: volumes and bills span orders of magnitude. Each probe is a dot;
a route that does not carry at a volume has no dot there. Each break-even
volume is a dashed line labelled with the switch it marks; labels that would
collide go on separate rows above the plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ledger.tools.decide.breakeven import BreakEvenReport, Switch
from ledger.tools.decide.compare import RouteResult
from ledger.tools.report.lanes import GAP, text_width
from ledger.tools.report.style import CSS, SERIES
from ledger.tools.report.svg import el, esc, num, text, title

WIDTH = 1060  # the report's chart width: text stays 12 px on a 1280 px screen
LEFT, RIGHT, BOTTOM = 84, 28, 52
PLOT_H = 400
ROW = 17.0  # one row of labels above the plot
LABEL_SIZE = 12.0
QUESTIONS = {"web": "cheapest web route", "track": "web against the API"}


def _log(value: Decimal) -> float:
    # Floats only place pixels; every figure shown is the Decimal itself.
    return math.log10(float(value))


def _ticks(low: float, high: float) -> list[float]:
    """1-2-5 ticks between two log10 values; decades only over a wide span."""
    ticks = []
    steps = (1, 2, 5) if high - low <= 3 else (1,)
    for exponent in range(math.floor(low) - 1, math.ceil(high) + 1):
        for step in steps:
            value = step * 10.0**exponent
            if low - 1e-9 <= math.log10(value) <= high + 1e-9:
                ticks.append(value)
    return ticks


def _label(value: float, money: bool = False) -> str:
    text_ = f"{value:,.0f}" if value >= 1 else f"{value:g}"
    return f"${text_}" if money else text_


def _switch_text(s: Switch, unit: str) -> str:
    return (
        f"{s.below} → {s.above}: from {s.volume_above:,} {unit}/month "
        f"(count {s.count_above}; {s.volume_below:,} at count {s.count_below})"
    )


@dataclass
class _Tag:
    """A label above the plot, for a vertical line at ``x``."""

    x: float
    label: str
    cls: str
    tip: str
    row: int = 0
    anchor: str = "start"

    def span(self) -> tuple[float, float]:
        w = text_width(self.label, LABEL_SIZE)
        return (
            (self.x + 5, self.x + 5 + w) if self.anchor == "start" else (self.x - 5 - w, self.x - 5)
        )


def _place(tags: list[_Tag], left: float, right: float) -> int:
    """Give each tag a row where it overlaps no other; return the number of rows."""
    rows: list[list[tuple[float, float]]] = []
    for tag in sorted(tags, key=lambda t: t.x):
        tag.anchor = "start"
        if tag.span()[1] > right:
            tag.anchor = "end"
        lo, hi = tag.span()
        lo, hi = max(lo, left), min(hi, right)
        for index, taken in enumerate(rows):
            if all(hi + GAP <= a or lo >= b + GAP for a, b in taken):
                taken.append((lo, hi))
                tag.row = index
                break
        else:
            rows.append([(lo, hi)])
            tag.row = len(rows) - 1
    return len(rows)


def _chart(report: BreakEvenReport) -> str:
    unit = report.main.unit
    points = [(route_id, p) for route_id, pts in report.curves.items() for p in pts if p.carries]
    volumes = [p.volume for _, p in points if p.volume > 0]
    dollars = [p.usd_per_month for _, p in points if p.usd_per_month > 0]
    x_lo, x_hi = _span(volumes)
    y_lo, y_hi = _span(dollars)
    plot_w = WIDTH - LEFT - RIGHT

    def x(volume: Decimal) -> float:
        return LEFT + (_log(volume) - x_lo) / (x_hi - x_lo) * plot_w

    tags = [
        _Tag(
            x(s.volume_above),
            f"{i}. {s.below} → {s.above} at {s.volume_above:,} {unit}/mo",
            "switch-label",
            f"Break-even ({QUESTIONS.get(s.question, s.question)}): {_switch_text(s, unit)}",
        )
        for i, s in enumerate(report.switches, start=1)
    ]
    workload_volume = report.main.volume(report.main.count)
    tags.append(
        _Tag(
            x(workload_volume),
            f"this workload: {workload_volume:,} {unit}/mo",
            "now-label",
            f"The workload as written: {workload_volume:,} {unit} a month",
        )
    )
    rows = _place(tags, 0.0, float(WIDTH))
    top = 10 + ROW * rows + 6
    height = top + PLOT_H + BOTTOM

    def y(usd: Decimal) -> float:
        value = max(usd, Decimal(10) ** Decimal(y_lo))
        return top + PLOT_H - (_log(value) - y_lo) / (y_hi - y_lo) * PLOT_H

    grid, labels = [], []
    for tick in _ticks(x_lo, x_hi):
        px = LEFT + (math.log10(tick) - x_lo) / (x_hi - x_lo) * plot_w
        grid.append(el("line", {"x1": px, "y1": top, "x2": px, "y2": top + PLOT_H}))
        labels.append(
            el(
                "text",
                {"x": px, "y": top + PLOT_H + 18, "text-anchor": "middle"},
                text(_label(tick)),
            )
        )
    for tick in _ticks(y_lo, y_hi):
        py = top + PLOT_H - (math.log10(tick) - y_lo) / (y_hi - y_lo) * PLOT_H
        grid.append(el("line", {"x1": LEFT, "y1": py, "x2": LEFT + plot_w, "y2": py}))
        labels.append(
            el("text", {"x": LEFT - 8, "y": py + 4, "text-anchor": "end"}, text(_label(tick, True)))
        )
    parts = [
        el(
            "rect",
            {
                "x": LEFT,
                "y": top,
                "width": plot_w,
                "height": PLOT_H,
                "fill": "none",
                "stroke": "#d1d5db",
            },
        ),
        el("g", {"class": "grid"}, *grid),
        el("g", {"class": "axis-labels"}, *labels),
        el(
            "text",
            {
                "x": LEFT + plot_w / 2,
                "y": height - 10,
                "text-anchor": "middle",
                "class": "axis-title",
            },
            text(f"{report.main.describe()} (log scale)"),
        ),
        el(
            "text",
            {
                "class": "axis-title",
                "text-anchor": "middle",
                "transform": f"translate(16 {num(top + PLOT_H / 2)}) rotate(-90)",
            },
            "dollars a month (log scale)",
        ),
    ]
    lines = []
    for tag in tags:
        label_y = 10 + ROW * tag.row + 12
        cls = "switch" if tag.cls == "switch-label" else "now"
        lines.append(
            el(
                "g",
                {"class": f"marker {cls}-marker"},
                title(tag.tip),
                el(
                    "line",
                    {"class": cls, "x1": tag.x, "y1": label_y + 4, "x2": tag.x, "y2": top + PLOT_H},
                ),
                el(
                    "text",
                    {
                        "x": tag.x + 5 if tag.anchor == "start" else tag.x - 5,
                        "y": label_y,
                        "text-anchor": "end" if tag.anchor == "end" else None,
                        "class": f"change-label {tag.cls}",
                    },
                    text(tag.label),
                ),
            )
        )
    curves = []
    for index, (route_id, pts) in enumerate(report.curves.items()):
        colour = SERIES[index % len(SERIES)]
        shown = [p for p in pts if p.carries and p.volume > 0]
        group = []
        if len(shown) > 1:
            group.append(
                el(
                    "polyline",
                    {
                        "points": " ".join(
                            f"{num(x(p.volume))},{num(y(p.usd_per_month))}" for p in shown
                        ),
                        "fill": "none",
                        "stroke": colour,
                        "stroke-width": 2,
                    },
                )
            )
        for p in shown:
            group.append(
                el(
                    "circle",
                    {"cx": x(p.volume), "cy": y(p.usd_per_month), "r": 3, "fill": colour},
                    title(f"{route_id}: {p.volume:,} {unit} a month, ${p.usd_per_month:,} a month"),
                )
            )
        curves.append(el("g", {"class": "route", "data-route": route_id}, *group))
    return el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "class": "plot",
            "viewBox": f"0 0 {WIDTH} {num(height)}",
            "role": "img",
            "aria-label": "dollars a month by volume",
        },
        *parts,
        *lines,
        *curves,
    )


def _legend(report: BreakEvenReport) -> str:
    items = []
    for index, route_id in enumerate(report.curves):
        colour = SERIES[index % len(SERIES)]
        swatch = el(
            "svg",
            {"width": 18, "height": 14, "viewBox": "0 0 18 14", "aria-hidden": "true"},
            el("line", {"x1": 0, "y1": 7, "x2": 18, "y2": 7, "stroke": colour, "stroke-width": 3}),
        )
        items.append(el("span", None, swatch, text(route_id)))
    return el("div", {"class": "legend"}, *items)


def _routes_table(ranked: Sequence[RouteResult]) -> str:
    """The ranking; a column that is empty on every row is left out."""
    columns: list[tuple[str, str, list[str]]] = [
        ("#", "num", [str(n) for n in range(1, len(ranked) + 1)]),
        ("Route", "text", [r.id for r in ranked]),
        ("Carries", "text", ["yes" if r.carries else "no" for r in ranked]),
        ("Dollars", "num", [f"${r.usd_total:,.2f}" for r in ranked]),
        ("$/month", "num", [f"${r.usd_per_month:,.2f}" for r in ranked]),
        ("Binding limit", "text", [r.binding_limit for r in ranked]),
        ("Why it does not carry", "text wrap", [r.reason for r in ranked]),
    ]
    kept = [c for c in columns if any(v for v in c[2])]
    head = el(
        "tr",
        None,
        *(el("th", {"scope": "col", "class": cls}, text(name)) for name, cls, _ in kept),
    )
    rows = [
        el(
            "tr",
            {"data-route": r.id},
            *(el("td", {"class": cls}, text(values[i] or "–")) for _, cls, values in kept),
        )
        for i, r in enumerate(ranked)
    ]
    return el(
        "div",
        {"class": "table-wrap"},
        el("table", {"class": "routes"}, el("thead", None, head), el("tbody", None, *rows)),
    )


PAGE_CSS = """
table.routes th, table.routes td { text-align: left; }
table.routes .num { text-align: right; width: 1%; }
table.routes td.text { white-space: nowrap; }
table.routes td.wrap, table.routes th.wrap { white-space: normal; min-width: 16ch; }
ol.switches { margin: 0; padding-left: 22px; }
ol.switches li { margin: 4px 0; }
svg.plot line.switch { stroke: #374151; stroke-width: 1.2; stroke-dasharray: 5 4; }
svg.plot line.now { stroke: #9ca3af; stroke-width: 1.2; stroke-dasharray: 2 3; }
svg.plot .marker:hover line { stroke-width: 2.5; }
svg.plot text.now-label { fill: #4b5563; }
"""


def render_html(report: BreakEvenReport, ranked: Sequence[RouteResult]) -> str:
    """The page: title, chart, break-even list and the ranking at the workload's volume."""
    unit = report.main.unit
    page_title = f"Break-even: {report.workload}"
    switches = [
        el(
            "li",
            None,
            el("b", None, text(QUESTIONS.get(s.question, s.question))),
            text(f": {_switch_text(s, unit)}"),
        )
        for s in report.switches
    ] or [el("li", None, "no break-even in the range probed: the same routes stay cheapest")]
    volume = report.main.volume(report.main.count)
    intro = (
        f"Volume is {report.main.describe()}; the workload makes {volume:,} {unit} a month "
        f"({report.main.count} per occurrence). {report.probes} route replays. Hover over a "
        "dot for its figures."
    )
    body = [
        el(
            "header",
            None,
            el("p", {"class": "kicker"}, "credit-ledger compare"),
            el("h1", None, text(page_title)),
            el("p", {"class": "meta"}, text(intro)),
        ),
        el(
            "section",
            {"id": "breakeven"},
            el(
                "figure",
                {"class": "chart breakeven"},
                el(
                    "figcaption",
                    None,
                    el("h3", None, "Dollars a month by volume"),
                    el(
                        "p",
                        None,
                        text(
                            "One line per route; a route has no dot where it does not carry "
                            "the workload. Dashed lines: the numbered break-even volumes below; "
                            "dotted: the workload as written."
                        ),
                    ),
                ),
                _legend(report),
                _chart(report),
            ),
            el("h2", None, "Break-even volumes"),
            el("ol", {"class": "switches"}, *switches),
        ),
        el(
            "section",
            {"id": "routes"},
            el("h2", None, "Routes at the workload's volume"),
            _routes_table(ranked),
        ),
    ]
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(page_title)}</title>\n"
        f"<style>{CSS}{PAGE_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _span(values: Sequence[Decimal]) -> tuple[float, float]:
    """log10 bounds with a little room; a single value gets a decade around it."""
    if not values:
        return 0.0, 1.0
    low, high = _log(min(values)), _log(max(values))
    if high - low < 1e-9:
        return low - 0.5, high + 0.5
    pad = (high - low) * 0.04
    return low - pad, high + pad
