"""A run as one self-contained HTML page: inline CSS and inline SVG, no script.

``render(report)`` is a pure function of the values ``ledger.tools.report.data``
read: the same run gives the same bytes, and nothing in the page points
outside it (no script, font or stylesheet to fetch), so it opens offline
and can be attached to an email or a ticket.

Per account: key figures, the end-of-day balance by bucket with the reset
(billing) days, top-ups, refusals and plan or tier changes on the same time
axis, dollars per month, and forfeited plan credits per reset (web) or the
usage tier over time (API). Tooltips are SVG ``<title>`` elements.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from ledger.tools.forecast.results import Forecast
from ledger.tools.report.data import (
    AccountReport,
    Change,
    DayBalance,
    MonthFigures,
    RefusalDay,
    Reset,
    RunReport,
    SeatChange,
    TopUp,
)
from ledger.tools.report.fan import FAN_CSS, forecast_sections
from ledger.tools.report.lanes import (
    Event,
    EventLane,
    Glyph,
    Mark,
    change_lane,
    event_lane,
    period_name,
)
from ledger.tools.report.style import (
    API_CREDITS,
    CSS,
    INK,
    PLAN,
    PURCHASED,
    REFUSED,
    RESET,
    SKY_INK,
    TOPUP,
)
from ledger.tools.report.svg import (
    Days,
    Linear,
    credit_tick,
    credits,
    day_label,
    el,
    esc,
    instant,
    nice_range,
    num,
    points,
    text,
    title,
    usd,
    usd_tick,
)

WIDTH = 1060  # every chart's viewBox width: about its width on screen, so text stays 12px
LEFT, RIGHT = 84, 28  # plot margins shared by the time charts, so their days line up

TOPUP_NAMES = {
    "purchase": "Purchase",
    "refill": "Auto Refill (W15)",
    "autobill": "Autobill (A04)",
    "autobill_declined": "Autobill charge declined (A05)",
    "autobill_blocked": "Autobill recharge blocked by the 30-day cap (A07)",
}


BASES = ("cash", "accrual")


def render(report: RunReport, basis: str = "cash", forecast: Forecast | None = None) -> str:
    """The whole page; ``basis`` is the dollars view the monthly spend opens on;
    ``forecast`` adds its fan charts (P10-P90 band, P50 line) after the accounts."""
    if basis not in BASES:
        raise ValueError(f"basis must be one of {', '.join(BASES)}, not {basis!r}")
    body = [
        _header(report),
        _key_figures(report),
        *(
            _account_section(acct, dom, basis)
            for acct, dom in zip(report.accounts, _dom_ids(report), strict=True)
        ),
        *(forecast_sections(forecast) if forecast is not None else []),
        _footer(report),
    ]
    css = CSS + (FAN_CSS if forecast is not None else "")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(report.name)}: credit-ledger report</title>\n"
        f"<style>{css}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _dom_ids(report: RunReport) -> list[str]:
    """A readable, unique id fragment per account (scenario ids may hold any character)."""
    out: list[str] = []
    for acct in report.accounts:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", acct.account).strip("-") or "account"
        while slug in out:
            slug = f"{slug}-{len(out)}"
        out.append(slug)
    return out


# ------------------------------------------------------------------ page parts


def _header(report: RunReport) -> str:
    window = f"{report.start.date().isoformat()} to {report.end.date().isoformat()} (end excluded)"
    if report.start.time() != time(0) or report.end.time() != time(0):
        window = f"{instant(report.start)} to {instant(report.end)} (end excluded)"
    facts = [f"Simulated window {window}", "all times UTC", f"{report.events:,} events"]
    if report.until is not None:
        facts.insert(1, f"stopped early at {instant(report.until)}")
    files = f"Scenario {report.scenario_file} · run folder {report.folder}"
    return el(
        "header",
        None,
        el("p", {"class": "kicker"}, "credit-ledger report"),
        el("h1", None, text(report.name)),
        el("p", {"class": "meta"}, text(" · ".join(facts))),
        el("p", {"class": "meta"}, text(files)),
    )


def _footer(report: RunReport) -> str:
    return el(
        "footer",
        None,
        el(
            "p",
            None,
            text(
                f"Figures from {report.folder}/ledger.duckdb, the DuckDB projection of the "
                "run's event store. Hover over a chart for the figures of a day, bar or marker. "
                "This page is self-contained: it needs no network."
            ),
        ),
    )


def _final_plan(acct: AccountReport) -> str:
    if acct.web:
        plans = acct.summary["plans"]
        return plans[-1][1] if plans else "none"
    tiers = acct.summary["tiers"]
    return f"Tier {tiers[-1][1]}" if tiers else "none"


def _refused_tasks(acct: AccountReport) -> int:
    return sum(acct.summary["refused"].values())


KEY_COLUMNS = (
    "Account",
    "Surface",
    "Plan or tier at the end",
    "Dollars spent",
    "Credits granted",
    "Credits bought",
    "Credits used",
    "Refunded",
    "Forfeited",
    "Refused tasks",
    "Final balance",
)


def _key_figures(report: RunReport) -> str:
    rows = []
    for acct, dom in zip(report.accounts, _dom_ids(report), strict=True):
        s = acct.summary
        cells = [
            el("td", None, el("a", {"href": f"#account-{dom}"}, text(acct.account))),
            el("td", None, text("web workspace" if acct.web else "API organization")),
            el("td", None, text(_final_plan(acct))),
            el("td", None, text(usd(s["usd_total"]))),
            el("td", None, text(credits(s["granted"]))),
            el("td", None, text(credits(s["bought"]))),
            el("td", None, text(credits(s["used"]))),
            el("td", None, text(credits(s["refunded"]))),
            el("td", None, text(credits(s["forfeited"]) if acct.web else "n/a")),
            el("td", None, text(credits(_refused_tasks(acct)))),
            el("td", None, text(credits(s["final_balance"]))),
        ]
        rows.append(el("tr", {"data-account": acct.account}, *cells))
    head = el("tr", None, *(el("th", {"scope": "col"}, text(c)) for c in KEY_COLUMNS))
    return el(
        "section",
        {"id": "key-figures"},
        el("h2", None, "Key figures"),
        el(
            "p",
            {"class": "note"},
            text(
                "Over the whole run. Credits are whole credits; used is what tasks were "
                "charged less what was refunded for failed ones, so granted + bought − used − "
                "forfeited = final balance."
            ),
        ),
        el(
            "div",
            {"class": "table-wrap"},
            el(
                "table", {"class": "key-figures"}, el("thead", None, head), el("tbody", None, *rows)
            ),
        ),
    )


def _account_section(acct: AccountReport, dom: str, basis: str = "cash") -> str:
    kind = "web workspace" if acct.web else "API organization"
    parts = [
        el(
            "h2",
            None,
            text(acct.account),
            el("span", {"class": "surface"}, text(f"{kind} · {_final_plan(acct)} at the end")),
        ),
        _cards(acct),
        _balance_figure(acct, dom),
        _spend_figure(acct, dom, basis),
        _forfeits_figure(acct, dom) if acct.web else _tiers_figure(acct, dom),
        _monthly_table(acct, dom),
        _notes(acct),
    ]
    return el(
        "section",
        {"class": f"account {acct.surface}", "id": f"account-{dom}", "data-account": acct.account},
        *parts,
    )


def _cards(acct: AccountReport) -> str:
    s = acct.summary
    items = [
        ("Dollars spent", usd(s["usd_total"])),
        ("Credits used", credits(s["used"])),
        ("Final balance (credits)", credits(s["final_balance"])),
    ]
    if acct.web:
        items.append(("Forfeited at resets", credits(s["forfeited"])))
    else:
        items.append(("Tier at the end", _final_plan(acct)))
    items.append(
        ("Refused generations" if acct.web else "Refused tasks", credits(_refused_tasks(acct)))
    )
    return el(
        "div",
        {"class": "cards"},
        *(
            el(
                "div",
                {"class": "card"},
                el("div", {"class": "value"}, text(value)),
                el("div", {"class": "label"}, text(label)),
            )
            for label, value in items
        ),
    )


def _notes(acct: AccountReport) -> str:
    s = acct.summary
    notes: list[str] = []
    for reason, count in sorted(s["refused"].items()):
        what = "generations" if acct.web else "tasks"
        notes.append(f"{credits(count)} {what} refused: {reason.replace('_', ' ')}.")
    for kind, count in sorted(s["other_refusals"].items()):
        notes.append(f"{credits(count)} {kind.replace('_', ' ')} action(s) refused.")
    if s["worst_wait_s"] and s["worst_wait_at"]:
        notes.append(
            f"Worst concurrency-queue wait (A09): {s['worst_wait_s']:,.1f} s "
            f"({s['worst_wait_model']}, {s['worst_wait_at'][:16].replace('T', ' ')} UTC)."
        )
    if s.get("deferred"):
        # A08 policy defer: how much work waited for the 24 h window, and how late it ended.
        hours = (s["longest_deferral_s"] or 0) / 3600
        note = (
            f"{credits(s['deferred'])} tasks waited for the daily limit (A08, defer), "
            f"the longest {hours:,.1f} h"
        )
        if s["deferred_finished_by"]:
            note += f"; the last finished {s['deferred_finished_by'][:16].replace('T', ' ')} UTC"
        if s["deferred_waiting"]:
            note += f"; {credits(s['deferred_waiting'])} still waiting at the end"
        notes.append(note + ".")
    if s["flagged_keys"]:
        notes.append(
            "API keys of removed members still active at the end (A10): "
            + ", ".join(s["flagged_keys"])
            + "."
        )
    if not notes:
        return ""
    return el("ul", {"class": "notes"}, *(el("li", None, text(n)) for n in notes))


# ------------------------------------------------------------ small pieces


@dataclass(frozen=True, slots=True)
class LegendItem:
    label: str
    swatch: str  # an SVG fragment drawn in a 14 x 14 box


def _legend(items: Sequence[LegendItem]) -> str:
    return el(
        "div",
        {"class": "legend"},
        *(
            el(
                "span",
                None,
                el(
                    "svg",
                    {"width": 14, "height": 14, "viewBox": "0 0 14 14", "aria-hidden": "true"},
                    i.swatch,
                ),
                text(i.label),
            )
            for i in items
        ),
    )


def _square(colour: str) -> str:
    return el("rect", {"x": 1, "y": 1, "width": 12, "height": 12, "rx": 2, "fill": colour})


def _hline(colour: str, dash: str | None = None) -> str:
    return el(
        "line",
        {
            "x1": 0,
            "y1": 7,
            "x2": 14,
            "y2": 7,
            "stroke": colour,
            "stroke-width": 2,
            "stroke-dasharray": dash,
        },
    )


def _vline(colour: str, dash: str | None = None) -> str:
    return el(
        "line",
        {
            "x1": 7,
            "y1": 0,
            "x2": 7,
            "y2": 14,
            "stroke": colour,
            "stroke-width": 1.5,
            "stroke-dasharray": dash,
        },
    )


def _path(*corners: tuple[float, float]) -> str:
    return "M" + " L".join(f"{num(x)},{num(y)}" for x, y in corners) + " Z"


def _triangle(x: float, y: float, size: float = 6.0) -> str:
    return _path((x, y - size), (x + size, y + size * 0.8), (x - size, y + size * 0.8))


def _diamond(x: float, y: float, size: float = 5.5) -> str:
    return _path((x, y - size), (x + size, y), (x, y + size), (x - size, y))


def _figure(dom_id: str, kind: str, heading: str, caption: str, *body: str) -> str:
    return el(
        "figure",
        {"class": f"chart {kind}", "id": dom_id},
        el("figcaption", None, el("h3", None, text(heading)), el("p", None, text(caption))),
        *body,
    )


def _svg(height: float, label: str, *children: str) -> str:
    return el(
        "svg",
        {
            "class": "plot",
            "viewBox": f"0 0 {WIDTH} {num(height)}",
            "role": "img",
            "aria-label": label,
            "preserveAspectRatio": "xMidYMid meet",
        },
        *children,
    )


def _time_axis(xs: Days, top: float, bottom: float, label_y: float) -> str:
    """Vertical gridlines at each tick from ``top`` to ``bottom``, labels under them."""
    lines, labels = [], []
    for day, label, second in xs.ticks():
        x = xs.at_day(day)
        lines.append(el("line", {"x1": x, "y1": top, "x2": x, "y2": bottom}))
        labels.append(el("text", {"x": x, "y": label_y, "text-anchor": "middle"}, text(label)))
        if second:
            labels.append(
                el(
                    "text",
                    {"x": x, "y": label_y + 15, "text-anchor": "middle", "class": "year"},
                    text(second),
                )
            )
    return el("g", {"class": "grid x"}, *lines) + el("g", {"class": "axis-labels x"}, *labels)


def _value_axis(
    y: Linear, ticks: Sequence[float], fmt: str, x0: float, x1: float, caption: str
) -> str:
    lines, labels = [], []
    for tick in ticks:
        ty = y(tick)
        cls = "zero" if tick == 0 else None
        lines.append(el("line", {"x1": x0, "y1": ty, "x2": x1, "y2": ty, "class": cls}))
        label = usd_tick(tick) if fmt == "usd" else credit_tick(tick)
        labels.append(el("text", {"x": x0 - 8, "y": ty + 4, "text-anchor": "end"}, text(label)))
    mid = (y(ticks[0]) + y(ticks[-1])) / 2
    axis_title = el(
        "text",
        {
            "class": "axis-title",
            "transform": f"translate(16 {num(mid)}) rotate(-90)",
            "text-anchor": "middle",
        },
        text(caption),
    )
    return (
        el("g", {"class": "grid y"}, *lines)
        + el("g", {"class": "axis-labels y"}, *labels)
        + axis_title
    )


# ---------------------------------------------------------------- balance


def _lane_specs(acct: AccountReport) -> list[tuple[str, str]]:
    """(lane name, what it holds) of an account's balance chart, top to bottom."""
    lanes = [("Bought", "bought")]
    if any(t.kind == "autobill_declined" for t in acct.topups):
        lanes.append(("Declined", "declined"))
    if any(t.kind == "autobill_blocked" for t in acct.topups):
        lanes.append(("Over cap", "blocked"))
    lanes.append(("Refused", "refused"))
    if acct.web:
        lanes.append(("Editors", "seats"))
    lanes.append(("Plan" if acct.web else "Tier", "changes"))
    return lanes


def _triangle_swatch(fill: str, stroke: str) -> str:
    return el("path", {"d": _triangle(7, 7.5), "fill": fill, "stroke": stroke, "stroke-width": 1.5})


def _balance_figure(acct: AccountReport, dom: str) -> str:
    if acct.web:
        caption = (
            "Credits left at the end of each day. Plan credits are spent first (W08) and set "
            "back to the allowance on each reset day (W05, W06); purchased credits never "
            "expire (W07). Under the chart, on the same days: credits bought, refusals, "
            "editors added or removed (W03, W04) and plan changes (W11-W13)."
        )
        items = [
            LegendItem("Plan credits", _square(PLAN)),
            LegendItem("Purchased credits", _square(PURCHASED)),
            LegendItem("Total balance", _hline(INK)),
            LegendItem("Reset (billing day)", _vline(RESET, "4 3")),
        ]
    else:
        caption = (
            "API credits left at the end of each day; they never expire (A01). Autobill "
            "tops up on the hour when the balance falls below its threshold (A04). Under the "
            "chart, on the same days: credits bought, failed autobill charges, refusals and "
            "tier raises (A06)."
        )
        items = [LegendItem("API credits", _square(API_CREDITS))]
        if _comb(acct):
            items.append(LegendItem("7-day average", _hline(INK)))
    rules = "W07, W15" if acct.web else "A01, A04"
    items.append(LegendItem(f"Credits bought ({rules})", _triangle_swatch(TOPUP, "#fff")))
    if any(t.capped for t in acct.topups):
        items.append(
            LegendItem("Recharge cut by the 30-day cap (A07)", _triangle_swatch(TOPUP, REFUSED))
        )
    if any(t.kind == "autobill_declined" for t in acct.topups):
        items.append(
            LegendItem("Autobill charge declined (A05)", _triangle_swatch("#fff", REFUSED))
        )
    if any(t.kind == "autobill_blocked" for t in acct.topups):
        items.append(
            LegendItem(
                "Recharge blocked by the 30-day cap (A07)",
                el(
                    "path",
                    {
                        "d": "M2,2 h10 v10 h-10 Z M4,4 l6,6 m0,-6 l-6,6",
                        "fill": "#fbe3d6",
                        "stroke": REFUSED,
                        "stroke-width": 1.5,
                    },
                ),
            )
        )
    items.append(
        LegendItem(
            "Refused (W09, A03, A07, A08)",
            f'<circle cx="7" cy="7" r="5" fill="{REFUSED}" fill-opacity="0.75"/>',
        )
    )
    if acct.web:
        items.append(
            LegendItem(
                "Editor added, removed",
                el(
                    "path",
                    {
                        "d": "M5.4,1.5 h3.2 v3.9 h3.9 v3.2 h-3.9 v3.9 h-3.2 v-3.9 h-3.9 "
                        "v-3.2 h3.9 Z",
                        "fill": SKY_INK,
                    },
                ),
            )
        )
    items.append(
        LegendItem(
            "Plan change" if acct.web else "Tier raise",
            f'<path d="{_diamond(7, 7)}" fill="{INK}"/>',
        )
    )
    svg = _balance_svg(acct)
    dense = (
        ""
        if "binned" not in svg
        else el(
            "p",
            {"class": "note lanes-note"},
            text(
                "Where events are too dense for one mark each, a badge counts them per week "
                "(or per month); k stands for thousands. Hover over a badge for exact figures."
            ),
        )
    )
    return _figure(
        f"balance-{dom}",
        "balance",
        "Balance over time",
        caption,
        _legend(items),
        svg,
        dense,
    )


def _comb(acct: AccountReport) -> bool:
    """An end-of-day balance that turns up and down most days: draw a weekly average too."""
    values = [d.balance for d in acct.days if d.opened]
    turns = sum(
        1 for a, b, c in zip(values, values[1:], values[2:], strict=False) if (b - a) * (c - b) < 0
    )
    return len(values) > 60 and turns > len(values) / 3


def _balance_svg(acct: AccountReport) -> str:
    days = acct.days
    if not days:
        return el("p", {"class": "note"}, "No days in the window.")
    top, plot_h = 14.0, 230.0
    bottom = top + plot_h
    lane_h = 26.0
    lanes_top = bottom + 14
    lanes = _lane_specs(acct)
    lanes_bottom = lanes_top + lane_h * len(lanes)
    label_y = lanes_bottom + 18
    height = label_y + 22
    xs = Days(days[0].day, len(days), LEFT, WIDTH - RIGHT)
    high = max((d.balance for d in days), default=0)
    ticks = nice_range(0, max(high, 1))
    y = Linear(ticks[0], ticks[-1], bottom, top)

    parts = [
        _time_axis(xs, top, lanes_bottom, label_y),
        _value_axis(y, ticks, "credits", LEFT, WIDTH - RIGHT, "credits at end of day"),
    ]
    parts.append(_balance_areas(acct, xs, y))
    parts.append(_reset_lines(acct, xs, top, bottom))
    parts.append(_day_targets(acct, xs, top, bottom))
    parts.append(_reset_targets(acct, xs, top, bottom))
    parts.append(_lanes(acct, xs, lanes_top, lane_h, lanes))
    parts.append(
        el(
            "line",
            {"class": "baseline", "x1": LEFT, "y1": bottom, "x2": WIDTH - RIGHT, "y2": bottom},
        )
    )
    kind = "plan and purchased credits" if acct.web else "API credits"
    return _svg(height, f"End-of-day balance of {acct.account}: {kind}", *parts)


def _segments(days: Sequence[DayBalance]) -> list[list[DayBalance]]:
    """Runs of consecutive days on which the account was open."""
    out: list[list[DayBalance]] = []
    for d in days:
        if not d.opened:
            continue
        if out and (d.day - out[-1][-1].day).days == 1:
            out[-1].append(d)
        else:
            out.append([d])
    return out


def _area(
    xs: Days, y: Linear, run: Sequence[DayBalance], low: Sequence[int], high: Sequence[int]
) -> str:
    centre = [xs.at_day(d.day, 0.5) for d in run]
    upper = [(x, y(v)) for x, v in zip(centre, high, strict=True)]
    lower = [(x, y(v)) for x, v in zip(centre, low, strict=True)][::-1]
    if len(run) == 1:  # a single day: give it the day's width
        half = xs.day_width / 2
        upper = [(centre[0] - half, y(high[0])), (centre[0] + half, y(high[0]))]
        lower = [(centre[0] + half, y(low[0])), (centre[0] - half, y(low[0]))]
    return points(upper + lower)


def _balance_areas(acct: AccountReport, xs: Days, y: Linear) -> str:
    shapes: list[str] = []
    comb = not acct.web and _comb(acct)
    for run in _segments(acct.days):
        zero = [0] * len(run)
        totals = [d.balance for d in run]
        if acct.web:
            plan = [d.plan or 0 for d in run]
            shapes.append(
                el(
                    "polygon",
                    {"class": "area plan", "points": _area(xs, y, run, zero, plan), "fill": PLAN},
                )
            )
            shapes.append(
                el(
                    "polygon",
                    {
                        "class": "area purchased",
                        "points": _area(xs, y, run, plan, totals),
                        "fill": PURCHASED,
                    },
                )
            )
            line = points((xs.at_day(d.day, 0.5), y(d.balance)) for d in run)
            shapes.append(
                el("polyline", {"class": "total", "points": line, "fill": "none", "stroke": INK})
            )
        else:
            shapes.append(
                el(
                    "polygon",
                    {
                        "class": "area credits" + (" comb" if comb else ""),
                        "points": _area(xs, y, run, zero, totals),
                        "fill": API_CREDITS,
                    },
                )
            )
            if comb:
                # A balance recharged several times a day turns up and down daily: its
                # 7-day average (of end-of-day balances) shows the level it keeps.
                avg = []
                for i, d in enumerate(run):
                    window = totals[max(0, i - 3) : i + 4]
                    avg.append((xs.at_day(d.day, 0.5), y(sum(window) / len(window))))
                shapes.append(
                    el(
                        "polyline",
                        {
                            "class": "total average",
                            "points": points(avg),
                            "fill": "none",
                            "stroke": INK,
                        },
                    )
                )
            else:
                line = points((xs.at_day(d.day, 0.5), y(d.balance)) for d in run)
                shapes.append(
                    el(
                        "polyline",
                        {
                            "class": "total thin",
                            "points": line,
                            "fill": "none",
                            "stroke": "#00684b",
                        },
                    )
                )
    return el("g", {"class": "areas"}, *shapes)


def _reset_lines(acct: AccountReport, xs: Days, top: float, bottom: float) -> str:
    lines = [
        el("line", {"x1": xs.at(r.at), "y1": top, "x2": xs.at(r.at), "y2": bottom})
        for r in acct.resets
        if r.reason == "reset"
    ]
    return el("g", {"class": "resets", "stroke": RESET}, *lines)


def _reset_text(r: Reset) -> str:
    if r.reason == "reset":
        return (
            f"Reset {instant(r.at)}: plan bucket set to {credits(r.granted)} credits, "
            f"{credits(r.forfeited)} unused plan credits forfeited (W06)"
        )
    why = r.reason.replace("_", " ")
    return f"{instant(r.at)}: {credits(r.forfeited)} plan credits forfeited ({why})"


def _reset_targets(acct: AccountReport, xs: Days, top: float, bottom: float) -> str:
    targets = [
        el(
            "line",
            {
                "class": "reset-target",
                "x1": xs.at(r.at),
                "y1": top,
                "x2": xs.at(r.at),
                "y2": bottom,
                "data-at": r.at.isoformat(),
            },
            title(_reset_text(r)),
        )
        for r in acct.resets
        if r.reason == "reset"
    ]
    return el("g", {"class": "reset-targets"}, *targets)


def _topup_text(t: TopUp) -> str:
    name = TOPUP_NAMES.get(t.kind, t.kind)
    if t.failed:
        return f"{instant(t.at)} · {name}: {t.detail.replace('_', ' ')}"
    capped = ", cut to what the 30-day purchase cap left (A07)" if t.capped else ""
    return f"{instant(t.at)} · {name}: {credits(t.credits)} credits for {usd(t.usd)}{capped}"


def _refusal_text(r: RefusalDay) -> str:
    lines = [f"{day_label(r.day)}: {credits(r.tasks + r.other)} refused"]
    lines += [f"{reason.replace('_', ' ')}: {credits(n)}" for reason, n in r.by_reason]
    return "\n".join(lines)


def _change_text(acct: AccountReport, c: Change) -> str:
    if acct.web:
        cost = f" ({usd(c.usd)})" if c.usd is not None and c.usd != 0 else ""
        if c.before:
            return f"{instant(c.at)} · {c.change}: {c.before} → {c.after}{cost}"
        return f"{instant(c.at)} · {c.change}: {c.after}{cost}"
    paid = f" after {usd(c.usd)} of purchases" if c.usd is not None else ""
    if c.change == "opened":
        return f"{instant(c.at)} · opened on Tier {c.after}"
    return f"{instant(c.at)} · raised from Tier {c.before} to Tier {c.after}{paid} (A06)"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{credits(n)} {one if n == 1 else (many or one + 's')}"


def _bought_text(first: date, last: date, events: Sequence[Event]) -> str:
    tops = _topups_of(events)
    head = f"{period_name(first, last)}: {_plural(len(tops), 'top-up')}"
    if len(tops) == 1:
        return f"{head}\n{_topup_text(tops[0])}"
    by_kind: dict[str, int] = defaultdict(int)
    for t in tops:
        by_kind[TOPUP_NAMES.get(t.kind, t.kind)] += 1
    lines = [head, ", ".join(f"{name}: {n:,}" for name, n in by_kind.items())]
    lines.append(
        f"{credits(sum(t.credits for t in tops))} credits for "
        f"{usd(sum((t.usd for t in tops), Decimal(0)))}"
    )
    cut = sum(1 for t in tops if t.capped)
    if cut:
        lines.append(f"{_plural(cut, 'recharge')} cut to what the 30-day cap left (A07)")
    if len(tops) <= 8:
        lines += [_topup_text(t) for t in tops]
    return "\n".join(lines)


def _failed_text(rule: str, what: str) -> Callable[[date, date, Sequence[Event]], str]:
    def describe(first: date, last: date, events: Sequence[Event]) -> str:
        tops = _topups_of(events)
        lines = [f"{period_name(first, last)}: {_plural(len(tops), what)} ({rule})"]
        lines += [_topup_text(t) for t in tops[:8]]
        if len(tops) > 8:
            lines.append(f"… and {len(tops) - 8:,} more")
        return "\n".join(lines)

    return describe


def _refused_text(first: date, last: date, events: Sequence[Event]) -> str:
    days = [e.ref for e in events if isinstance(e.ref, RefusalDay)]
    if len(days) == 1 and first == last:
        return _refusal_text(days[0])
    total = sum(e.count for e in events)
    by_reason: dict[str, int] = defaultdict(int)
    for d in days:
        for reason, n in d.by_reason:
            by_reason[reason] += n
    lines = [f"{period_name(first, last)}: {credits(total)} refused on {_plural(len(days), 'day')}"]
    lines += [
        f"{reason.replace('_', ' ')}: {credits(n)}" for reason, n in sorted(by_reason.items())
    ]
    return "\n".join(lines)


def _topups_of(events: Sequence[Event]) -> list[TopUp]:
    return [e.ref for e in events if isinstance(e.ref, TopUp)]


def _event_lanes(acct: AccountReport) -> dict[str, EventLane]:
    def topup_events(tops: Sequence[TopUp]) -> tuple[Event, ...]:
        return tuple(Event(t.at, _topup_text(t), flag=t.capped, ref=t) for t in tops)

    bought = [t for t in acct.topups if not t.failed]
    refusal_events = [
        Event(r.last_at, _refusal_text(r), r.tasks + r.other, ref=r) for r in acct.refusals
    ]
    return {
        "bought": EventLane(
            "Bought",
            "topup",
            Glyph("triangle", TOPUP, "#fff", TOPUP, TOPUP, "#fff", flag_stroke=REFUSED),
            topup_events(bought),
            _bought_text,
        ),
        "declined": EventLane(
            "Declined",
            "topup failed declined",
            Glyph("triangle", "#fff", REFUSED, "#fff", REFUSED, INK),
            topup_events([t for t in acct.topups if t.kind == "autobill_declined"]),
            _failed_text("A05", "autobill charge declined"),
        ),
        "blocked": EventLane(
            "Over cap",
            "topup failed blocked",
            Glyph("square", "#fbe3d6", REFUSED, "#fbe3d6", REFUSED, INK, dash="3 2"),
            topup_events([t for t in acct.topups if t.kind == "autobill_blocked"]),
            _failed_text("A07", "recharge blocked by the 30-day cap"),
        ),
        "refused": EventLane(
            "Refused",
            "refusal",
            Glyph("circle", REFUSED, "#fff", REFUSED, REFUSED, "#fff"),
            tuple(refusal_events),
            _refused_text,
            always_count=True,
        ),
    }


def _lanes(
    acct: AccountReport, xs: Days, top: float, lane_h: float, lanes: Sequence[tuple[str, str]]
) -> str:
    parts: list[str] = []
    centres = [top + lane_h * (i + 0.5) for i in range(len(lanes))]
    events = _event_lanes(acct)
    for (name, key), cy in zip(lanes, centres, strict=True):
        parts.append(
            el("line", {"class": "lane", "x1": LEFT, "y1": cy, "x2": WIDTH - RIGHT, "y2": cy})
        )
        parts.append(
            el(
                "text",
                {"x": LEFT - 12, "y": cy + 4, "text-anchor": "end", "class": "lane-label"},
                text(name),
            )
        )
        if key in events:
            drawn = event_lane(events[key], xs, cy)
        elif key == "seats":
            drawn = _seat_marks(acct, xs, cy)
        else:
            drawn = _change_marks(acct, xs, cy)
        if not drawn:
            drawn = el("text", {"x": LEFT + 6, "y": cy + 4, "class": "none"}, "none")
        parts.append(drawn)
    return el("g", {"class": "lanes"}, *parts)


def _change_label(acct: AccountReport, cluster: Sequence[Mark]) -> str:
    changes = [m.ref for m in cluster if isinstance(m.ref, Change)]
    parts: list[str] = []
    for i, c in enumerate(changes):
        if acct.web:
            if c.change in ("subscribed", "opened") or (i == 0 and c.before is None):
                parts.append(c.after)
            elif i == 0:
                parts.append(f"→ {c.after}")
            else:
                parts.append(f"→ {c.after}")
        elif c.change == "opened":
            parts.append(f"Tier {c.after}")
        elif i == 0:
            parts.append(f"→ Tier {c.after}")
        else:
            parts.append(f"→ {c.after}")
    return " ".join(parts)


def _change_marks(acct: AccountReport, xs: Days, cy: float) -> str:
    marks = [Mark(c.at, "change", "diamond", _change_text(acct, c), ref=c) for c in acct.changes]
    return change_lane(marks, lambda ms: _change_label(acct, ms), xs, cy, INK, float(WIDTH) - 4)


def _seat_text(s: SeatChange) -> str:
    if s.action == "refused":
        why = (s.reason or "refused").replace("_", " ")
        return f"{instant(s.at)} · editor {s.editor} refused: {why} (W03)"
    money = ""
    if s.usd is not None and s.usd != 0:
        money = (
            f", {usd(s.usd)} prorated (W04)"
            if s.usd > 0
            else f", {usd(-s.usd)} credited for the unused seat time (W04)"
        )
    verb = "added" if s.action == "added" else "removed"
    return f"{instant(s.at)} · editor {s.editor} {verb}: {s.seats} editors{money}"


def _seat_label(cluster: Sequence[Mark]) -> str:
    seats = [m.ref for m in cluster if isinstance(m.ref, SeatChange)]
    moved = [s for s in seats if s.action != "refused"]
    refused = len(seats) - len(moved)
    parts = []
    if moved:
        net = sum(1 if s.action == "added" else -1 for s in moved)
        sign = "+" if net > 0 else "−" if net < 0 else "±"
        parts.append(f"{moved[-1].seats} editors ({sign}{abs(net)})")
    if refused:
        parts.append(f"{refused} refused")
    return ", ".join(parts)


def _seat_marks(acct: AccountReport, xs: Days, cy: float) -> str:
    marks = [
        Mark(
            s.at,
            f"seat {s.action}",
            {"added": "plus", "removed": "minus"}.get(s.action, "cross"),
            _seat_text(s),
            {"data-seats": s.seats},
            ref=s,
        )
        for s in acct.seat_changes
    ]
    return change_lane(marks, _seat_label, xs, cy, SKY_INK, float(WIDTH) - 4)


def _day_targets(acct: AccountReport, xs: Days, top: float, bottom: float) -> str:
    """One transparent column per day with that day's figures as its tooltip."""
    extra: dict[date, list[str]] = defaultdict(list)
    for r in acct.resets:
        extra[r.at.date()].append(_reset_text(r))
    for t in acct.topups:
        extra[t.at.date()].append(_topup_text(t))
    for rd in acct.refusals:
        extra[rd.day].append(f"{credits(rd.tasks + rd.other)} refused")
    for c in acct.changes:
        extra[c.at.date()].append(_change_text(acct, c))
    for s in acct.seat_changes:
        extra[s.at.date()].append(_seat_text(s))
    width = xs.day_width
    rects = []
    for d in acct.days:
        if not d.opened:
            figures = "not opened yet"
        elif acct.web:
            figures = (
                f"total {credits(d.balance)} credits = plan {credits(d.plan or 0)} + "
                f"purchased {credits(d.purchased or 0)}"
                + (f"\nplan: {d.plan_name}" if d.plan_name else "")
            )
        else:
            figures = f"balance {credits(d.balance)} credits" + (
                f" · Tier {d.tier}" if d.tier else ""
            )
        lines = [f"{day_label(d.day)}, end of day", figures, *extra.get(d.day, [])]
        rects.append(
            el(
                "rect",
                {
                    "class": "day",
                    "x": xs.at_day(d.day),
                    "y": top,
                    "width": width,
                    "height": bottom - top,
                    "data-day": d.day.isoformat(),
                    "data-balance": d.balance,
                },
                title("\n".join(lines)),
            )
        )
    return el("g", {"class": "days"}, *rects)


# ----------------------------------------------------------------- spend


def _spend_figure(acct: AccountReport, dom: str, basis: str = "cash") -> str:
    credit_colour = PURCHASED if acct.web else API_CREDITS
    if acct.web:
        caption = (
            "Dollars per calendar month: the plan and its seats (renewals, upgrades, "
            "prorated editors; W02, W04, W11) and credits bought (W07, W15). Cash counts "
            "a payment in the month it is paid; accrual spreads each plan or seat payment "
            "over the days of the billing period it pays for (an annual plan over its "
            "twelve months). Credits bought count when bought on both."
        )
        items = [
            LegendItem("Plan and seats", _square(PLAN)),
            LegendItem("Credits bought", _square(credit_colour)),
        ]
    else:
        caption = (
            "Dollars paid per calendar month for API credits: purchases and autobill "
            "recharges, within the tier's 30-day cap (A07). API credits pay for no period, "
            "so cash and accrual are the same."
        )
        items = [LegendItem("Credits bought", _square(credit_colour))]
    if not acct.web or not acct.months:
        return _figure(
            f"spend-{dom}",
            "spend",
            "Monthly spend",
            caption,
            _legend(items),
            el("div", {"class": "basis cash"}, _spend_svg(acct, credit_colour, "cash")),
        )
    name = f"basis-{dom}"
    switch = el(
        "div",
        {"class": "basis-switch", "role": "group", "aria-label": "Dollars shown"},
        el("label", {"for": f"{name}-cash", "class": "cash"}, "Cash: when paid"),
        el(
            "label",
            {"for": f"{name}-accrual", "class": "accrual"},
            "Accrual: over the period paid for",
        ),
    )
    radios = [
        el(
            "input",
            {
                "type": "radio",
                "class": f"basis-input basis-{kind}",
                "name": name,
                "id": f"{name}-{kind}",
                "value": kind,
                "checked": basis == kind,
            },
        )
        for kind in ("cash", "accrual")
    ]
    deferred = ""
    if acct.deferred_usd:
        deferred = el(
            "p",
            {"class": "note"},
            text(
                f"{usd(acct.deferred_usd)} paid in the window pays for time after its end "
                "(deferred: not in any month above)."
            ),
        )
    return _figure(
        f"spend-{dom}",
        "spend",
        "Monthly spend",
        caption,
        *radios,
        _legend(items),
        switch,
        el("div", {"class": "basis cash"}, _spend_svg(acct, credit_colour, "cash")),
        el("div", {"class": "basis accrual"}, _spend_svg(acct, credit_colour, "accrual"), deferred),
    )


def _spend_pieces(m: MonthFigures, basis: str) -> tuple[Decimal, Decimal]:
    """(plan and seats, credits bought) of a month on the cash or the accrual basis."""
    if basis == "accrual":
        return m.usd_accrual - m.usd_credits, m.usd_credits
    return m.usd_plan, m.usd_credits


def _spend_svg(acct: AccountReport, credit_colour: str, basis: str) -> str:
    months = acct.months
    if not months:
        return el("p", {"class": "note"}, "No months in the window.")
    top, plot_h = 24.0, 200.0
    bottom = top + plot_h
    height = bottom + 44
    lows, highs = [], []
    for m in months:
        for kind in ("cash", "accrual") if acct.web else ("cash",):
            pieces = _spend_pieces(m, kind)  # one scale for both: the switch compares
            highs.append(sum((p for p in pieces if p > 0), Decimal(0)))
            lows.append(sum((p for p in pieces if p < 0), Decimal(0)))
    ticks = nice_range(float(min(lows)), float(max(*highs, Decimal(1))), integer=False)
    y = Linear(ticks[0], ticks[-1], bottom, top)
    band = (WIDTH - LEFT - RIGHT) / len(months)
    bar_w = min(band * 0.68, 64.0)
    show_values = len(months) <= 18
    bars: list[str] = []
    labels: list[str] = []
    for i, m in enumerate(months):
        cx = LEFT + band * (i + 0.5)
        rects: list[str] = []
        up, down = Decimal(0), Decimal(0)
        plan_usd, credits_usd = _spend_pieces(m, basis)
        total = plan_usd + credits_usd
        for value, colour, cls in (
            (plan_usd, PLAN, "plan"),
            (credits_usd, credit_colour, "credits"),
        ):
            if value == 0:
                continue
            if value > 0:
                y0, y1 = y(float(up + value)), y(float(up))
                up += value
            else:
                y0, y1 = y(float(down)), y(float(down + value))
                down += value
            rects.append(
                el(
                    "rect",
                    {
                        "class": f"segment {cls}",
                        "x": cx - bar_w / 2,
                        "y": y0,
                        "width": bar_w,
                        "height": max(y1 - y0, 0.5),
                        "fill": colour,
                    },
                )
            )
        tip = [f"{m.month:%B %Y}: {usd(total)}" + (f" ({basis})" if acct.web else "")]
        if acct.web:
            tip.append(f"plan and seats {usd(plan_usd)}")
            other = m.usd_accrual if basis == "cash" else m.usd_spent
            tip.append(f"{'accrual' if basis == 'cash' else 'cash'}: {usd(other)}")
        tip.append(f"credits bought {usd(m.usd_credits)} ({credits(m.purchased)} credits)")
        tip.append(f"credits used {credits(m.used)}")
        # A transparent band behind the bar keeps a tooltip on months with no spend.
        hit = el(
            "rect",
            {"class": "hit", "x": cx - band / 2, "y": top, "width": band, "height": bottom - top},
        )
        bars.append(
            el(
                "g",
                {
                    "class": "bar",
                    "data-month": m.month.isoformat()[:7],
                    "data-usd": str(total),
                },
                title("\n".join(tip)),
                hit,
                *rects,
            )
        )
        if show_values and total != 0:
            vy = y(float(up)) - 6
            labels.append(
                el(
                    "text",
                    {"x": cx, "y": vy, "text-anchor": "middle", "class": "value"},
                    text(usd(total)),
                )
            )
        first_of_year = m.month.month == 1 or i == 0
        step = 1 if len(months) <= 24 else 3
        if i % step == 0:
            labels.append(
                el(
                    "text",
                    {"x": cx, "y": bottom + 18, "text-anchor": "middle"},
                    text(f"{m.month:%b}"),
                )
            )
        if first_of_year:
            labels.append(
                el(
                    "text",
                    {"x": cx, "y": bottom + 33, "text-anchor": "middle", "class": "year"},
                    text(str(m.month.year)),
                )
            )
    parts = [
        _value_axis(y, ticks, "usd", LEFT, WIDTH - RIGHT, "US dollars"),
        el("g", {"class": "bars"}, *bars),
        el("g", {"class": "axis-labels x"}, *labels),
    ]
    what = "paid" if basis == "cash" else "accrued"
    return _svg(height, f"Dollars {what} per month by {acct.account}", *parts)


# ---------------------------------------------------------------- monthly table


def _month_of(at: date) -> date:
    return at.replace(day=1)


def _count_cell(n: int, credits_n: int) -> str:
    return "–" if n == 0 else f"{n:,} ({credits(credits_n)})"


def _monthly_rows(acct: AccountReport) -> list[tuple[str, list[str]]]:
    """(month key, cells) of each month, then the totals."""
    tops: dict[date, list[TopUp]] = defaultdict(list)
    for t in acct.topups:
        tops[_month_of(t.at.date())].append(t)
    refused: dict[date, int] = defaultdict(int)
    for r in acct.refusals:
        refused[_month_of(r.day)] += r.tasks + r.other
    ends: dict[date, DayBalance] = {}
    for d in acct.days:
        if d.opened:
            ends[_month_of(d.day)] = d
    changes: dict[date, list[Change]] = defaultdict(list)
    for c in acct.changes:
        changes[_month_of(c.at.date())].append(c)
    seats_by: dict[date, list[SeatChange]] = defaultdict(list)
    for sc in acct.seat_changes:
        seats_by[_month_of(sc.at.date())].append(sc)

    rows: list[tuple[str, list[str]]] = []
    seats = acct.seats_initial
    totals: dict[str, int] = defaultdict(int)
    for m in acct.months:
        month_tops = tops.get(m.month, [])
        bought = [t for t in month_tops if t.kind in ("purchase",)]
        auto = [t for t in month_tops if t.kind in ("refill", "autobill")]
        declined = sum(1 for t in month_tops if t.kind == "autobill_declined")
        blocked = sum(1 for t in month_tops if t.kind == "autobill_blocked")
        cut = sum(1 for t in auto if t.capped)
        end = ends.get(m.month)
        moved = changes.get(m.month, [])
        if acct.web:
            plan = end.plan_name if end and end.plan_name else "–"
            if moved:
                plan = " → ".join([moved[0].before or moved[0].after] + [c.after for c in moved])
                if moved[0].before is None:
                    plan = " → ".join(c.after for c in moved)
        else:
            tier = end.tier if end and end.tier else None
            plan = f"Tier {tier}" if tier else "–"
            raised = [c for c in moved if c.change == "raised"]
            if raised:
                plan = f"Tier {raised[0].before} → " + " → ".join(c.after for c in raised)
        cells = [m.month.strftime("%b %Y"), plan]
        if acct.web:
            month_seats = seats_by.get(m.month, [])
            before = seats
            for sc in month_seats:
                seats = sc.seats
            net = seats - before
            refused_eds = sum(1 for sc in month_seats if sc.action == "refused")
            cell = f"{seats}" + (f" ({'+' if net > 0 else '−'}{abs(net)})" if net else "")
            if refused_eds:
                cell += f", {refused_eds} refused"
            cells.append(cell if seats or month_seats else "–")
        cells.append(_count_cell(len(bought), sum(t.credits for t in bought)))
        cells.append(_count_cell(len(auto), sum(t.credits for t in auto)))
        if not acct.web:
            cells.append(f"{declined:,}" if declined else "–")
            over = []
            if cut:
                over.append(f"{cut:,} cut")
            if blocked:
                over.append(f"{blocked:,} blocked")
            cells.append(", ".join(over) or "–")
        cells.append(credits(m.used))
        if acct.web:
            cells.append(credits(m.forfeited))
        month_refused = refused.get(m.month, 0)
        cells.append(credits(month_refused))
        cells.append(usd(m.usd_spent))
        if acct.web:
            cells.append(usd(m.usd_accrual))
        rows.append((m.month.isoformat()[:7], cells))
        for key, value in (
            ("bought", len(bought)),
            ("bought_credits", sum(t.credits for t in bought)),
            ("auto", len(auto)),
            ("auto_credits", sum(t.credits for t in auto)),
            ("declined", declined),
            ("blocked", blocked),
            ("cut", cut),
            ("used", m.used),
            ("forfeited", m.forfeited),
            ("refused", month_refused),
        ):
            totals[key] += value
    total_cells = ["Total", ""]
    if acct.web:
        total_cells.append("")
    total_cells.append(_count_cell(totals["bought"], totals["bought_credits"]))
    total_cells.append(_count_cell(totals["auto"], totals["auto_credits"]))
    if not acct.web:
        total_cells.append(f"{totals['declined']:,}" if totals["declined"] else "–")
        over = []
        if totals["cut"]:
            over.append(f"{totals['cut']:,} cut")
        if totals["blocked"]:
            over.append(f"{totals['blocked']:,} blocked")
        total_cells.append(", ".join(over) or "–")
    total_cells.append(credits(totals["used"]))
    if acct.web:
        total_cells.append(credits(totals["forfeited"]))
    total_cells.append(credits(totals["refused"]))
    total_cells.append(usd(sum((m.usd_spent for m in acct.months), Decimal(0))))
    if acct.web:
        total_cells.append(usd(sum((m.usd_accrual for m in acct.months), Decimal(0))))
    rows.append(("total", total_cells))
    return rows


def _monthly_table(acct: AccountReport, dom: str) -> str:
    if acct.web:
        columns = [
            "Month",
            "Plan",
            "Editors",
            "Purchases (credits)",
            "Auto Refill (credits)",
            "Credits used",
            "Forfeited",
            "Refused",
            "Dollars, cash",
            "Dollars, accrual",
        ]
        caption = (
            "Per calendar month: the plan at the month's end (and its changes), editors at "
            "the month's end (and the change), credits bought by hand and by Auto Refill "
            "(W15), credits used (charged less refunded), plan credits forfeited (W06), "
            "generations and other actions refused, and dollars on both bases."
        )
    else:
        columns = [
            "Month",
            "Tier",
            "Purchases (credits)",
            "Recharges (credits)",
            "Declined (A05)",
            "Cap (A07)",
            "Credits used",
            "Refused",
            "Dollars",
        ]
        caption = (
            "Per calendar month: the tier at the month's end (and its raises, A06), credits "
            "bought by hand and by autobill (A04), autobill charges declined (A05), "
            "recharges cut or blocked by the 30-day cap (A07), credits used (charged less "
            "refunded), tasks and other actions refused, and dollars paid."
        )
    head = el("tr", None, *(el("th", {"scope": "col"}, text(c)) for c in columns))
    body = []
    for key, cells in _monthly_rows(acct):
        tds = [
            el("th" if i == 0 else "td", {"scope": "row"} if i == 0 else None, text(v))
            for i, v in enumerate(cells)
        ]
        body.append(
            el("tr", {"data-month": key, "class": "total" if key == "total" else None}, *tds)
        )
    return _figure(
        f"monthly-{dom}",
        "monthly",
        "Month by month",
        caption,
        el(
            "div",
            {"class": "table-wrap"},
            el(
                "table",
                {"class": f"monthly {acct.surface}"},
                el("thead", None, head),
                el("tbody", None, *body),
            ),
        ),
    )


# ---------------------------------------------------------------- forfeits


def _forfeits_figure(acct: AccountReport, dom: str) -> str:
    caption = (
        "Plan credits still unused when the plan bucket is reset (a reset sets, it does not "
        "add: W06), or at a cancellation (W13). Purchased credits are never forfeited."
    )
    resets = acct.resets
    lost = sum(r.forfeited for r in resets)
    count = sum(1 for r in resets if r.reason == "reset")
    if lost == 0:
        body = el(
            "p",
            {"class": "note empty"},
            text(
                f"Nothing forfeited: the plan bucket was empty at each of the {count} reset(s), "
                "so every plan credit granted was used."
                if count
                else "Nothing forfeited: no reset happened in the window."
            ),
        )
        return _figure(
            f"forfeits-{dom}", "forfeits empty", "Forfeited credits per reset", caption, body
        )
    granted = acct.summary["granted"]
    share = (
        f" ({lost / granted:.0%} of the {credits(granted)} plan credits granted)" if granted else ""
    )
    summary = el(
        "p", {"class": "note"}, text(f"{credits(lost)} plan credits forfeited in all{share}.")
    )
    items = [LegendItem("Forfeited plan credits", _square(REFUSED))]
    return _figure(
        f"forfeits-{dom}",
        "forfeits",
        "Forfeited credits per reset",
        caption,
        _legend(items),
        summary,
        _forfeits_svg(acct),
    )


def _forfeits_svg(acct: AccountReport) -> str:
    resets = acct.resets
    top, plot_h = 22.0, 150.0
    bottom = top + plot_h
    height = bottom + 40
    ticks = nice_range(0, max(*(r.forfeited for r in resets), 1))
    y = Linear(ticks[0], ticks[-1], bottom, top)
    band = (WIDTH - LEFT - RIGHT) / len(resets)
    bar_w = min(band * 0.6, 48.0)
    step = max(1, math.ceil(len(resets) / 24))
    bars, labels = [], []
    for i, r in enumerate(resets):
        cx = LEFT + band * (i + 0.5)
        y0 = y(r.forfeited)
        hit = el(
            "rect",
            {"class": "hit", "x": cx - band / 2, "y": top, "width": band, "height": bottom - top},
        )
        bar = el(
            "rect",
            {
                "x": cx - bar_w / 2,
                "y": y0,
                "width": bar_w,
                "height": max(bottom - y0, 0),
                "fill": REFUSED,
            },
        )
        bars.append(
            el(
                "g",
                {"class": "bar", "data-at": r.at.isoformat(), "data-credits": r.forfeited},
                title(_reset_text(r)),
                hit,
                bar,
            )
        )
        if len(resets) <= 24:
            labels.append(
                el(
                    "text",
                    {"x": cx, "y": y0 - 6, "text-anchor": "middle", "class": "value"},
                    text(credits(r.forfeited)),
                )
            )
        if i % step == 0:
            labels.append(
                el(
                    "text",
                    {"x": cx, "y": bottom + 18, "text-anchor": "middle"},
                    text(f"{r.at:%b} {r.at.day}"),
                )
            )
            second = str(r.at.year) if i == 0 or r.at.year != resets[i - step].at.year else ""
            if r.reason != "reset":  # a cancellation or a plan start, not a billing day
                second = r.reason.replace("_", " ")
            if second:
                labels.append(
                    el(
                        "text",
                        {"x": cx, "y": bottom + 33, "text-anchor": "middle", "class": "year"},
                        text(second),
                    )
                )
    parts = [
        _value_axis(y, ticks, "credits", LEFT, WIDTH - RIGHT, "credits"),
        el("g", {"class": "bars"}, *bars),
        el("g", {"class": "axis-labels x"}, *labels),
    ]
    return _svg(height, f"Plan credits forfeited at each reset by {acct.account}", *parts)


# ------------------------------------------------------------------- tiers


def _tiers_figure(acct: AccountReport, dom: str) -> str:
    caption = (
        "The tier at the end of each day: it rises once cumulative purchases reach $50, "
        "$100, $1,000 and $5,000, lifting the concurrency, daily and 30-day purchase limits; "
        "it never goes down (A06)."
    )
    items = [
        LegendItem("Tier", _hline(API_CREDITS)),
        LegendItem("Raise", f'<path d="{_diamond(7, 7)}" fill="{INK}"/>'),
    ]
    return _figure(f"tiers-{dom}", "tiers", "Usage tier", caption, _legend(items), _tiers_svg(acct))


def _tiers_svg(acct: AccountReport) -> str:
    days = acct.days
    if not days:
        return el("p", {"class": "note"}, "No days in the window.")
    top, plot_h = 14.0, 150.0
    bottom = top + plot_h
    height = bottom + 40
    xs = Days(days[0].day, len(days), LEFT, WIDTH - RIGHT)
    y = Linear(0.5, 5.5, bottom, top)
    grid, labels = [], []
    for tier in range(1, 6):
        grid.append(el("line", {"x1": LEFT, "y1": y(tier), "x2": WIDTH - RIGHT, "y2": y(tier)}))
        labels.append(
            el(
                "text",
                {"x": LEFT - 8, "y": y(tier) + 4, "text-anchor": "end"},
                text(f"Tier {tier}"),
            )
        )
    step: list[tuple[float, float]] = []
    for d in days:
        if not d.opened or d.tier is None:
            continue
        x0, x1, level = xs.at_day(d.day), xs.at_day(d.day, 1.0), y(d.tier)
        if not step:
            step.append((x0, level))
        elif step[-1][1] != level:
            step += [(x0, step[-1][1]), (x0, level)]
        step.append((x1, level))
    line = el(
        "polyline",
        {"class": "tier-line", "points": points(step), "fill": "none", "stroke": API_CREDITS},
    )
    marks = []
    for c in acct.changes:
        tier = int(c.after)
        x = xs.at(c.at)
        marks.append(
            el(
                "path",
                {"class": "change", "d": _diamond(x, y(tier), 6), "data-at": c.at.isoformat()},
                title(_change_text(acct, c)),
            )
        )
    raise_labels = []
    raised = [c for c in acct.changes if c.change == "raised"]
    for c in raised:
        x = xs.at(c.at)
        anchor = "start" if x < WIDTH - RIGHT - 150 else "end"
        dx = 10 if anchor == "start" else -10
        paid = f" · {usd(c.usd)} bought" if c.usd is not None else ""
        raise_labels.append(
            el(
                "text",
                {
                    "x": x + dx,
                    "y": y(int(c.after)) - 9,
                    "text-anchor": anchor,
                    "class": "change-label",
                },
                text(f"{c.at:%b} {c.at.day}{paid}"),
            )
        )
    parts = [
        _time_axis(xs, top, bottom, bottom + 18),
        el("g", {"class": "grid y"}, *grid),
        el("g", {"class": "axis-labels y"}, *labels),
        line,
        el("g", {"class": "changes", "fill": INK}, *marks),
        el("g", {"class": "change-labels"}, *raise_labels),
    ]
    return _svg(height, f"Usage tier of {acct.account} over time", *parts)
