"""The report of a run: its projection read into values (``data``), drawn as one
self-contained HTML page of inline SVG charts (``html``, over ``svg``)."""

from __future__ import annotations

from pathlib import Path

from ledger.tools.forecast.results import Forecast
from ledger.tools.report.data import RunReport, load_report
from ledger.tools.report.html import render
from ledger.tools.runs import RunInfo

__all__ = ["RunReport", "load_report", "render", "report_html", "write_report"]


def report_html(info: RunInfo, basis: str = "cash", forecast: Forecast | None = None) -> str:
    """The HTML page of a finished run, read from its DuckDB file (read-only);
    ``basis`` (cash or accrual) is the dollars view its monthly spend opens on;
    ``forecast`` (of the same scenario) adds its fan charts."""
    return render(load_report(info), basis, forecast)


def write_report(
    info: RunInfo, path: Path, basis: str = "cash", forecast: Forecast | None = None
) -> Path:
    """Write the page to ``path`` (its folder is created); return the path written."""
    page = report_html(info, basis, forecast)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
