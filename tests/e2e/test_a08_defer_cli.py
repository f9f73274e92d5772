"""A08 policy defer through the CLI: the summary and SQL say how late deferred work ended."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.conftest import invoke
from tests.integration.test_a08_defer import SCENARIO


def test_a08_defer_shows_in_the_summary_task_runs_and_the_deferrals_view(
    workdir: Path, cli: CliRunner
) -> None:
    path = workdir / "defer.yaml"
    path.write_text(SCENARIO.format(policy="defer"), encoding="utf-8")
    code, out, err = invoke(cli, "run", str(path))
    assert code == 0, err
    assert "tasks deferred (daily limit)" in out
    assert "24.0 h" in out  # the longest wait: the 10:00 burst's 50, a whole day
    # 60 at 10:00 on 2 slots of 8 s each (A09): the last finishes 240 s later.
    assert "2027-01-05T10:04" in out

    code, out, err = invoke(
        cli,
        "sql",
        "SELECT model, deferred, submitted, refused, max_deferred_s, last_finished_at "
        "FROM deferrals ORDER BY day",
        "--format",
        "json",
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["model"], r["deferred"], r["submitted"], r["refused"]) for r in rows] == [
        ("gen4_image_turbo", 60, 0, 0),  # Jan 4: 50 + 10 start waiting
        ("gen4_image_turbo", 0, 60, 0),  # Jan 5 10:00: all 60 go
    ]
    assert float(rows[1]["max_deferred_s"]) == 86_400.0

    code, out, err = invoke(
        cli,
        "sql",
        "SELECT sum(count) AS tasks, max(deferred_us) AS wait FROM task_runs WHERE deferred_us > 0",
        "--format",
        "json",
    )
    assert code == 0, err
    assert json.loads(out) == [{"tasks": 60, "wait": 86_400_000_000}]


def test_a08_defer_is_noted_in_the_html_report(workdir: Path, cli: CliRunner) -> None:
    path = workdir / "defer.yaml"
    path.write_text(SCENARIO.format(policy="defer"), encoding="utf-8")
    code, _, err = invoke(cli, "report", str(path), "--html", "report.html")
    assert code == 0, err
    html = (workdir / "report.html").read_text(encoding="utf-8")
    assert "60 tasks waited for the daily limit (A08, defer), the longest 24.0 h" in html
    assert "the last finished 2027-01-05 10:04 UTC" in html
