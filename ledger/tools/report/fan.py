"""The forecast's report: fan charts (P10-P90 band, P50 line) per account, as one HTML page.

A section of its own, next to the run report's (``html``), sharing its
stylesheet and SVG helpers. Every figure drawn is also in a table under the
chart, and every point carries its numbers as a tooltip.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ledger.tools.forecast.results import Forecast
from ledger.tools.report.style import CSS
from ledger.tools.report.svg import el, esc, num, points, text, title

WIDTH, HEIGHT = 1060, 300
LEFT, RIGHT, TOP, BOTTOM = 84, 28, 30, 40
BAND, LINE, MEAN = "#93c5fd", "#1d4ed8", "#6b7280"
FAN_CSS = """
table.fan { border-collapse: collapse; font-size: 13px; margin-top: 8px;
  font-variant-numeric: tabular-nums; }
table.fan th, table.fan td { padding: 2px 10px; text-align: right;
  border-bottom: 1px solid var(--line); }
table.fan th:first-child, table.fan td:first-child { text-align: left; }
"""
TITLES = {
    "usd": ("Dollars spent per month", "dollars"),
    "used": ("Credits used per month", "credits"),
    "refused": ("Tasks refused per month", "tasks"),
}


def render_forecast(result: Forecast) -> str:
    """The whole page: a header, then a section per account with its fan charts."""
    facts = (
        f"{result.samples:,} samples · seed {result.seed} · "
        f"{result.start.date().isoformat()} to {result.end.date().isoformat()} (end excluded)"
        " · all times UTC"
    )
    header = el(
        "header",
        None,
        el("p", {"class": "kicker"}, "credit-ledger forecast"),
        el("h1", None, text(result.name)),
        el("p", {"class": "meta"}, text(facts)),
        el("p", {"class": "meta"}, text(f"Scenario {result.file}")),
    )
    sections = [fan_section(account) for account in result.accounts]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(result.name)}: credit-ledger forecast</title>\n"
        f"<style>{CSS}{FAN_CSS}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join([header, *sections])
        + "\n</main>\n</body>\n</html>\n"
    )


def forecast_sections(result: Forecast) -> list[str]:
    """The forecast as part of another page (the run report): a heading that says
    what was sampled, then each account's fan charts."""
    facts = (
        f"{result.samples:,} samples · seed {result.seed} · "
        "P10-P90 band, P50 line, mean as dots; the tables under each chart hold every figure"
    )
    heading = el(
        "section",
        {"id": "forecast"},
        el("h2", None, text("Forecast under uncertainty")),
        el("p", {"class": "meta"}, text(facts)),
    )
    return [heading, *(fan_section(account) for account in result.accounts)]


def fan_section(account: dict[str, Any]) -> str:
    """One account: fan charts of dollars, credits used and (when any) refusals."""
    kind = "web workspace" if account["surface"] == "web" else "API organization"
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", account["account"]).strip("-") or "account"
    figures = [
        fan_figure(account["months"], figure, f"{slug}-{figure}")
        for figure in TITLES
        if figure != "refused" or any(m["refused"]["p90"] for m in account["months"])
    ]
    return el(
        "section",
        {"id": f"forecast-{slug}"},
        el("h2", None, text(account["account"]), el("span", {"class": "surface"}, text(kind))),
        *figures,
        _chances(account),
    )


def fan_figure(months: Sequence[dict[str, Any]], figure: str, dom: str) -> str:
    heading, unit = TITLES[figure]
    caption = (
        f"The band holds the middle 80 % of samples (P10 to P90), the line is the median "
        f"(P50), the dots the mean; in {unit}."
    )
    legend = el(
        "div",
        {"class": "legend"},
        el("span", None, _swatch(BAND), text("P10 to P90")),
        el("span", None, _swatch(LINE), text("P50")),
        el("span", None, _swatch(MEAN), text("mean")),
    )
    return el(
        "figure",
        {"id": dom, "class": "fan"},
        el("figcaption", None, el("h3", None, text(heading)), el("p", None, text(caption))),
        legend,
        fan_svg(months, figure, unit),
        _table(months, figure),
    )


def _swatch(colour: str) -> str:
    return el(
        "svg",
        {"width": 14, "height": 10, "aria-hidden": "true"},
        el("rect", {"width": 14, "height": 10, "fill": colour}),
    )


def _value(v: Any) -> float:
    return float(Decimal(v))


def _show(v: Any, figure: str) -> str:
    if figure == "usd":
        return f"${Decimal(v):,.2f}"
    value = Decimal(v)
    return f"{value:,}" if value == value.to_integral_value() else f"{value:,.2f}"


def fan_svg(months: Sequence[dict[str, Any]], figure: str, unit: str) -> str:
    """The band between P10 and P90, the P50 line and the mean dots, month by month."""
    n = len(months)
    top = max(
        [_value(m[figure]["p90"]) for m in months]
        + [_value(m[figure]["mean"]) for m in months]
        + [0.0]
    )
    top = _nice(top)
    x0, x1 = LEFT, WIDTH - RIGHT
    y0, y1 = HEIGHT - BOTTOM, TOP

    def x(i: int) -> float:
        return x0 + (i + 0.5) * (x1 - x0) / max(n, 1)

    def y(v: float) -> float:
        return y0 - (v / top) * (y0 - y1) if top else y0

    grid = []
    for k in range(5):
        value = top * k / 4
        grid.append(
            el(
                "line",
                {
                    "x1": x0,
                    "x2": x1,
                    "y1": y(value),
                    "y2": y(value),
                    "class": "zero" if k == 0 else None,
                },
            )
        )
        label = f"${value:,.0f}" if figure == "usd" else f"{value:,.0f}"
        grid.append(el("text", {"x": x0 - 8, "y": y(value) + 4, "text-anchor": "end"}, text(label)))
    axis = [
        el("text", {"x": x(i), "y": y0 + 18, "text-anchor": "middle"}, text(m["month"]))
        for i, m in enumerate(months)
    ]
    band = [(x(i), y(_value(m[figure]["p90"]))) for i, m in enumerate(months)] + [
        (x(i), y(_value(m[figure]["p10"]))) for i, m in reversed(list(enumerate(months)))
    ]
    median = [(x(i), y(_value(m[figure]["p50"]))) for i, m in enumerate(months)]
    dots = [
        el(
            "circle",
            {"cx": x(i), "cy": y(_value(m[figure]["mean"])), "r": 3.5, "fill": MEAN},
            title(
                f"{m['month']}: P10 {_show(m[figure]['p10'], figure)}, "
                f"P50 {_show(m[figure]['p50'], figure)}, P90 {_show(m[figure]['p90'], figure)}, "
                f"mean {_show(m[figure]['mean'], figure)}"
            ),
        )
        for i, m in enumerate(months)
    ]
    return el(
        "svg",
        {
            "class": "plot",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-label": f"Fan chart of {unit} per month",
        },
        el("g", {"class": "grid"}, *grid),
        el("g", None, *axis),
        el("polygon", {"points": points(band), "fill": BAND, "fill-opacity": 0.6}),
        el(
            "polyline",
            {"points": points(median), "fill": "none", "stroke": LINE, "stroke-width": 2.5},
        ),
        *dots,
        el("text", {"x": num(LEFT), "y": num(TOP - 12), "class": "axis-title"}, text(unit)),
    )


def _nice(value: float) -> float:
    """A round top for the value axis, at least ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _table(months: Sequence[dict[str, Any]], figure: str) -> str:
    head = el(
        "tr", None, *(el("th", None, text(h)) for h in ("month", "P10", "P50", "P90", "mean"))
    )
    rows = [
        el(
            "tr",
            None,
            el("td", None, text(m["month"])),
            *(
                el("td", None, text(_show(m[figure][k], figure)))
                for k in ("p10", "p50", "p90", "mean")
            ),
        )
        for m in months
    ]
    return el("table", {"class": "fan"}, head, *rows)


def _chances(account: dict[str, Any]) -> str:
    if account["surface"] == "web":
        rows = [
            el(
                "tr",
                None,
                el("td", None, text(r["before"][:10])),
                el("td", None, text(f"{float(r['probability']):.1%}")),
            )
            for r in account["run_out"]
        ]
        head = el(
            "tr",
            None,
            el("th", None, text("before the billing date of")),
            el("th", None, text("chance of running out")),
        )
        return el(
            "figure",
            None,
            el("figcaption", None, el("h3", None, text("Chance of running out of credits"))),
            el("table", {"class": "fan"}, head, *rows),
        )
    rows = [
        el("tr", None, el("td", None, text(reason)), el("td", None, text(f"{float(p):.1%}")))
        for reason, p in account["refusals"].items()
    ]
    head = el(
        "tr", None, el("th", None, text("refusal")), el("th", None, text("chance of at least one"))
    )
    parts = [
        el("figcaption", None, el("h3", None, text("Chance of refusals"))),
        el("table", {"class": "fan"}, head, *rows),
    ]
    if account["tiers"]:
        tier_head = el(
            "tr", None, *(el("th", None, text(h)) for h in ("tier", "chance", "P10", "P50", "P90"))
        )
        tier_rows = [
            el(
                "tr",
                None,
                el("td", None, text(t["tier"])),
                el("td", None, text(f"{float(t['probability']):.1%}")),
                *(
                    el("td", None, text((t[k] or "after the window")[:10]))
                    for k in ("p10", "p50", "p90")
                ),
            )
            for t in account["tiers"]
        ]
        parts.append(el("table", {"class": "fan"}, tier_head, *tier_rows))
    return el("figure", None, *parts)
