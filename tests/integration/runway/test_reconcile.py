"""`credit-ledger reconcile`: a replay against what Runway reported, on histories whose truth
is known by construction (our own replay rendered as Runway's responses)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger.tools.cli import importing
from ledger.tools.cli.app import app
from ledger.tools.runs import run_scenario
from tests.integration.runway.fake import API_KEY, FakeRunway, History, serve, truth_from_run
from tests.integration.runway.test_import_runway import END, TRUTH

CHANGED = date(2026, 4, 15)  # a Wednesday: gen4.5 runs every weekday


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(importing, "_today", lambda: date(2026, 6, 30))
    monkeypatch.setenv("RUNWAYML_API_SECRET", API_KEY)
    return CliRunner()


@pytest.fixture(scope="module")
def truth_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, History]:
    folder = tmp_path_factory.mktemp("truth")
    (folder / "truth.yaml").write_text(TRUTH)
    run_scenario(folder / "truth.yaml", folder / "run")
    history = truth_from_run(folder / "run", "api", END)
    history.tier_models = {"gen4.5": (2, 200)}
    return folder / "truth.yaml", history


def _save(runner: CliRunner, history: History, folder: Path, mp: pytest.MonkeyPatch) -> Path:
    """The fake Runway's responses, saved by `import runway --save-json`."""
    with serve(FakeRunway(history, page_size=25)) as url:
        mp.setenv("RUNWAYML_BASE_URL", url)
        result = runner.invoke(
            app,
            [
                "import",
                "runway",
                "--since",
                "2026-01-01",
                "--out",
                str(folder / "imported.yaml"),
                "--save-json",
                str(folder / "saved"),
            ],
        )
    assert result.exit_code == 0, result.stderr
    return folder / "saved"


def _reconcile(runner: CliRunner, scenario: Path, saved: Path) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(
        app, ["reconcile", str(scenario), "--from-json", str(saved), "--format", "json"]
    )
    assert result.exit_code in {0, 1}, result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_import_then_reconcile_agrees(
    runner: CliRunner,
    truth_files: tuple[Path, History],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    truth, history = truth_files
    saved = _save(runner, history, tmp_path, monkeypatch)
    code, report = _reconcile(runner, tmp_path / "imported.yaml", saved)
    assert code == 0, report["findings"][:3]
    assert report["agree"] and report["first_day"] is None
    assert report["simulated_balance"] == report["reported_balance"] == history.balance
    assert report["compared_models"] == 3 and report["web_generations"] > 0
    # the scenario the history was made from agrees with it too
    code, report = _reconcile(runner, truth, saved)
    assert code == 0, report["findings"][:3]
    table = runner.invoke(app, ["reconcile", str(truth), "--from-json", str(saved)])
    assert table.exit_code == 0 and "agree (tolerance 0 credits)" in table.stdout


def test_a_changed_rate_parts_on_its_day_and_model(
    runner: CliRunner,
    truth_files: tuple[Path, History],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    truth, history = truth_files
    daily = {d: dict(models) for d, models in history.daily.items()}
    extra = 0
    for day, models in daily.items():
        if day >= CHANGED and "gen4.5" in models:
            new = models["gen4.5"] * 13 // 12  # Runway now charges 13 credits/s, the book 12
            extra += new - models["gen4.5"]
            models["gen4.5"] = new
    changed = History(
        balance=history.balance - extra,
        tier_models=history.tier_models,
        daily=daily,
        web=history.web,
    )
    saved = _save(runner, changed, tmp_path, monkeypatch)
    code, report = _reconcile(runner, tmp_path / "imported.yaml", saved)
    assert code == 1
    first = report["first"]
    assert report["first_day"] == CHANGED.isoformat()
    assert (first["model"], first["kind"]) == ("gen4.5", "rate")
    assert "fit a step of 13" in first["why"]
    assert {f["model"] for f in report["findings"]} == {"gen4.5"}
    # the hand-written truth, priced by the book, charges less than Runway from that day
    code, report = _reconcile(runner, truth, saved)
    assert code == 1 and report["first_day"] == CHANGED.isoformat()
    kinds = {f["kind"] for f in report["findings"] if f["day"] == CHANGED.isoformat()}
    assert kinds == {"rate", "credits"}
    # a tolerance above the step hides nothing on other models
    assert all(f["model"] in {"gen4.5", None} for f in report["findings"])


def test_a_missing_purchase_shows_in_the_balance(
    runner: CliRunner,
    truth_files: tuple[Path, History],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    truth, history = truth_files
    bought = History(
        balance=history.balance + 5000,  # someone bought 5,000 credits the scenario lacks
        tier_models=history.tier_models,
        daily=history.daily,
        web=history.web,
    )
    saved = _save(runner, bought, tmp_path, monkeypatch)
    code, report = _reconcile(runner, truth, saved)
    assert code == 1
    (finding,) = report["findings"]
    assert finding["kind"] == "balance" and "purchase" in finding["why"]
    assert finding["reported"] - finding["simulated"] == 5000
    # within a tolerance it agrees
    result = runner.invoke(
        app, ["reconcile", str(truth), "--from-json", str(saved), "--tolerance", "5000"]
    )
    assert result.exit_code == 0


def test_reconcile_bad_input_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["reconcile", str(tmp_path / "nope.yaml"), "--from-json", "x"])
    assert result.exit_code == 2
