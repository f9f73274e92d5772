"""The bundled saved responses (scenarios/examples/runway-export/) and docs/importing.md."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from ledger.tools.cli.app import app
from ledger.tools.runs import run_scenario

ROOT = Path(__file__).resolve().parents[3]
EXPORT = ROOT / "scenarios" / "examples" / "runway-export"
DOC = ROOT / "docs" / "importing.md"


def test_the_documented_import_prints_what_the_doc_says(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "history.yaml"
    result = runner.invoke(app, ["import", "runway", "--from-json", str(EXPORT), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    block = re.search(r"--out history.yaml\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    assert result.stdout.replace(str(out), "history.yaml") == block[1]
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    agreed = runner.invoke(app, ["reconcile", str(out), "--from-json", str(EXPORT)])
    assert agreed.exit_code == 0, agreed.stdout
    assert "agree" in agreed.stdout


def test_forecast_extends_the_history_with_schedule_lines(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ahead.yaml"
    result = runner.invoke(
        app,
        ["import", "runway", "--from-json", str(EXPORT), "--forecast", "6m", "--out", str(out)],
    )
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    assert "end: 2026-12-01" in text and "every: weekday" in text and "BYDAY=SA,SU" in text
    run_scenario(out, tmp_path / "run")
    con = duckdb.connect(str(tmp_path / "run" / "ledger.duckdb"), read_only=True)
    try:
        months = dict(
            con.execute(
                "SELECT month, used + rejected FROM monthly_summary WHERE account_id = 'api'"
            ).fetchall()
        )
    finally:
        con.close()
    assert len(months) == 9 and all(v > 0 for v in months.values())
    # the history is untouched by the forecast: reconcile still agrees on it
    agreed = runner.invoke(
        app, ["reconcile", str(out), "--from-json", str(EXPORT), "--format", "json"]
    )
    assert agreed.exit_code == 0, agreed.stdout
    bad = runner.invoke(app, ["import", "runway", "--from-json", str(EXPORT), "--forecast", "6"])
    assert bad.exit_code == 2
