"""The forecast's fan chart: the band spans P10 to P90, the line is P50, every figure shown."""

from __future__ import annotations

import re

from ledger.tools.forecast.executors import run_samples
from ledger.tools.forecast.results import forecast
from ledger.tools.forecast.sample import ForecastJob
from ledger.tools.report.fan import HEIGHT, TOP, fan_svg, render_forecast
from scenarios.loader import load_scenario_text

SCENARIO = """\
version: 1
name: <fan & chart>
start: 2027-01-01
end: 2027-04-01
workspaces:
  - id: studio
    plan: standard
    usage:
      - {every: week, time: "10:00", model: gen4_turbo, seconds: 5, count: {uniform: [0, 12]}}
"""

MONTHS = [
    {"month": "2027-01", "used": {"p10": 100, "p50": 200, "p90": 400, "mean": "220.00"}},
    {"month": "2027-02", "used": {"p10": 0, "p50": 300, "p90": 800, "mean": "350.50"}},
]


def _ys(svg: str, element: str) -> list[float]:
    found = re.search(rf'<{element} points="([^"]+)"', svg)
    assert found is not None
    return [float(p.split(",")[1]) for p in found[1].split()]


def test_the_band_runs_from_p90_to_p10_and_the_line_follows_p50() -> None:
    svg = fan_svg(MONTHS, "used", "credits")

    # The axis tops at 1,000 (the next round number above 800): y = bottom - v/1000 x height.
    bottom, top = HEIGHT - 40, TOP

    def y(v: float) -> float:
        return round(bottom - v / 1000 * (bottom - top), 2)

    assert _ys(svg, "polygon") == [y(400), y(800), y(0), y(100)]
    assert _ys(svg, "polyline") == [y(200), y(300)]
    assert "2027-02: P10 0, P50 300, P90 800, mean 350.50" in svg


def test_the_forecast_page_escapes_names_and_holds_a_fan_chart_per_figure() -> None:
    loaded = load_scenario_text(SCENARIO, filename="fan.yaml")
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=1)
    result = forecast(job, "fan.yaml", run_samples(job, range(10), workers=1))

    page = render_forecast(result)

    assert "&lt;fan &amp; chart&gt;" in page and "<fan & chart>" not in page
    refused = any(m["refused"]["p90"] for m in result.accounts[0]["months"])
    assert refused  # up to 12 clips of 25 credits a week outruns Standard's 625 (W01, W09)
    assert page.count("<polygon") == 3  # dollars, credits used, refusals
    assert "Chance of running out of credits" in page
    for month in result.accounts[0]["months"]:
        assert f"<td>{month['month']}</td>" in page
