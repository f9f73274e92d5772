"""The break-even chart: dollars a month against volume, one line per route.

A self-contained HTML page (inline SVG and CSS, no script, no fonts, no
network), so it opens anywhere and diffs cleanly. Both axes are logarithmic:
volumes and bills span orders of magnitude. Each probe is a dot; a route
that does not carry at a volume has no dot there. Dashed lines mark the
break-even volumes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from html import escape

from ledger.decide.breakeven import BreakEvenReport, Switch
from ledger.decide.compare import RouteResult

WIDTH, HEIGHT = 960, 540
LEFT, RIGHT, TOP, BOTTOM = 90, 250, 30, 60
PALETTE = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#6b4c9a", "#00798c", "#8d6a9f")
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
    text = f"{value:,.0f}" if value >= 1 else f"{value:g}"
    return f"${text}" if money else text


def _switch_text(s: Switch, unit: str) -> str:
    return (
        f"{s.below} → {s.above}: from {s.volume_above:,} {unit}/month "
        f"(count {s.count_above}; {s.volume_below:,} at count {s.count_below})"
    )


def render_html(report: BreakEvenReport, ranked: Sequence[RouteResult]) -> str:
    """The page: title, chart, break-even list and the ranking at the workload's volume."""
    unit = report.main.unit
    points = [(route_id, p) for route_id, pts in report.curves.items() for p in pts if p.carries]
    volumes = [p.volume for _, p in points if p.volume > 0]
    dollars = [p.usd_per_month for _, p in points if p.usd_per_month > 0]
    x_lo, x_hi = _span(volumes)
    y_lo, y_hi = _span(dollars)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(volume: Decimal) -> float:
        return LEFT + (_log(volume) - x_lo) / (x_hi - x_lo) * plot_w

    def y(usd: Decimal) -> float:
        value = max(usd, Decimal(10) ** Decimal(y_lo))
        return TOP + plot_h - (_log(value) - y_lo) / (y_hi - y_lo) * plot_h

    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="dollars a month by volume">',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for tick in _ticks(x_lo, x_hi):
        px = LEFT + (math.log10(tick) - x_lo) / (x_hi - x_lo) * plot_w
        svg.append(
            f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + plot_h}" class="grid"/>'
        )
        svg.append(
            f'<text x="{px:.1f}" y="{TOP + plot_h + 18}" class="tick" '
            f'text-anchor="middle">{escape(_label(tick))}</text>'
        )
    for tick in _ticks(y_lo, y_hi):
        py = TOP + plot_h - (math.log10(tick) - y_lo) / (y_hi - y_lo) * plot_h
        svg.append(
            f'<line x1="{LEFT}" y1="{py:.1f}" x2="{LEFT + plot_w}" y2="{py:.1f}" class="grid"/>'
        )
        svg.append(
            f'<text x="{LEFT - 8}" y="{py + 4:.1f}" class="tick" '
            f'text-anchor="end">{escape(_label(tick, money=True))}</text>'
        )
    svg.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 15}" text-anchor="middle" class="axis">'
        f"{escape(report.main.describe())} (log scale)</text>"
    )
    svg.append(
        f'<text x="20" y="{TOP + plot_h / 2:.1f}" text-anchor="middle" class="axis" '
        f'transform="rotate(-90 20 {TOP + plot_h / 2:.1f})">dollars a month (log scale)</text>'
    )
    for s in report.switches:
        px = x(s.volume_above)
        svg.append(
            f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + plot_h}" class="switch"/>'
        )
    current = x(report.main.volume(report.main.count))
    svg.append(
        f'<line x1="{current:.1f}" y1="{TOP}" x2="{current:.1f}" y2="{TOP + plot_h}" class="now"/>'
    )
    svg.append(f'<text x="{current + 4:.1f}" y="{TOP + 14}" class="tick">this workload</text>')
    for index, (route_id, pts) in enumerate(report.curves.items()):
        colour = PALETTE[index % len(PALETTE)]
        shown = [p for p in pts if p.carries and p.volume > 0]
        if len(shown) > 1:
            path = " ".join(f"{x(p.volume):.1f},{y(p.usd_per_month):.1f}" for p in shown)
            svg.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        for p in shown:
            svg.append(
                f'<circle cx="{x(p.volume):.1f}" cy="{y(p.usd_per_month):.1f}" r="2.5" '
                f'fill="{colour}"><title>{escape(route_id)}: {p.volume:,} {escape(unit)} '
                f"a month, ${p.usd_per_month:,} a month</title></circle>"
            )
        ly = TOP + 10 + index * 20
        lx = LEFT + plot_w + 16
        svg.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 24}" y2="{ly}" '
            f'stroke="{colour}" stroke-width="3"/>'
        )
        svg.append(f'<text x="{lx + 30}" y="{ly + 4}" class="legend">{escape(route_id)}</text>')
    svg.append("</svg>")
    switches = (
        "".join(
            f"<li><b>{escape(QUESTIONS.get(s.question, s.question))}</b>: "
            f"{escape(_switch_text(s, unit))}</li>"
            for s in report.switches
        )
        or "<li>no break-even in the range probed: the same routes stay cheapest</li>"
    )
    rows = "".join(
        f"<tr><td>{n}</td><td>{escape(r.id)}</td><td>{'yes' if r.carries else 'no'}</td>"
        f'<td class="num">${r.usd_total:,.2f}</td><td class="num">${r.usd_per_month:,.2f}</td>'
        f"<td>{escape(r.binding_limit or '-')}</td><td>{escape(r.reason)}</td></tr>"
        for n, r in enumerate(ranked, start=1)
    )
    title = f"Break-even: {report.workload}"
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            "<style>",
            "body{font-family:sans-serif;margin:2em;color:#222}",
            ".plot{fill:#fff;stroke:#999}.grid{stroke:#e5e5e5}",
            ".switch{stroke:#555;stroke-dasharray:5 4}.now{stroke:#bbb;stroke-dasharray:2 3}",
            ".tick,.legend{font-size:12px}.axis{font-size:13px}",
            "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd}",
            ".num{text-align:right}",
            "</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            f"<p>Volume is {escape(report.main.describe())}; the workload makes "
            f"{report.main.volume(report.main.count):,} {escape(unit)} a month "
            f"({report.main.count} per occurrence). {report.probes} route replays.</p>",
            *svg,
            "<h2>Break-even volumes</h2>",
            f"<ul>{switches}</ul>",
            "<h2>Routes at the workload's volume</h2>",
            "<table><tr><th>#</th><th>route</th><th>carries</th><th>dollars</th>"
            "<th>$/month</th><th>binding limit</th><th>reason</th></tr>",
            rows,
            "</table></body></html>",
            "",
        ]
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
