"""``credit-ledger forecast``: JSON, the forecast folder, --sample K, bad input (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.e2e.conftest import invoke

SCENARIO = """\
version: 1
name: uncertain month
start: 2027-01-01
end: 2027-02-01
seed: 5
workspaces:
  - id: studio
    plan: standard
    usage:
      - {every: weekday, time: "10:00", model: gen4_turbo, seconds: {choice: {5: 3, 10: 1}},
         count: {poisson: 1.5}}
organizations:
  - id: product
    tier: 2
    events:
      - {at: 2027-01-01, buy: 3000}
      - {at: 2027-01-10, buy: 2000, probability: 0.5}
    usage:
      - {every: day, time: "10:00", model: gen4_turbo, seconds: 5,
         count: {uniform: [10, 30]}, growth: 0.1}
"""


def test_forecast_json_the_folder_and_one_sample_as_a_run(workdir: Path, cli: CliRunner) -> None:
    (workdir / "month.yaml").write_text(SCENARIO)

    code, out, _ = invoke(
        cli, "forecast", "month.yaml", "--samples", "12", "--workers", "1", "--format", "json"
    )

    assert code == 0
    data = json.loads(out)
    assert data["samples"] == 12 and data["seed"] == 5
    studio, product = data["accounts"]
    assert studio["run_out"][0]["before"] == "2027-02-01T00:00:00+00:00"
    assert set(product["refusals"]) == {
        "insufficient_credits",
        "daily_limit",
        "monthly_cap",
        "concurrency_wait",
    }
    assert product["months"][0]["used"]["p90"] >= product["months"][0]["used"]["p10"]

    code, out, _ = invoke(
        cli,
        "sql",
        "SELECT sample, used, refused FROM forecast_samples "
        "WHERE account = 'product' ORDER BY sample",
        "--dir",
        "runs/month-forecast",
        "--format",
        "json",
    )
    assert code == 0
    rows = json.loads(out)
    assert [r["sample"] for r in rows] == list(range(12))
    code, _, err = invoke(
        cli, "balance", "product", "--at", "2027-01-15", "--dir", "runs/month-forecast"
    )
    assert code == 2 and "is a forecast folder" in err
    assert not (workdir / "runs" / "month-forecast" / "events.sqlite").exists()

    code, out, _ = invoke(cli, "forecast", "month.yaml", "--sample", "7")
    assert code == 0
    assert "sample 7 of seed 5" in out
    code, out, _ = invoke(
        cli,
        "sql",
        "SELECT sum(used) AS used, sum(rejected) AS refused "
        "FROM monthly_summary WHERE account_id = 'product'",
        "--dir",
        "runs/month-sample-7",
        "--format",
        "json",
    )
    assert code == 0
    assert json.loads(out) == [{"used": rows[7]["used"], "refused": rows[7]["refused"]}]

    # `runs` lists the sample's run folder, not the forecast folder (it holds no events).
    code, out, _ = invoke(cli, "runs", "--format", "json")
    assert code == 0
    assert "month-sample-7" in out and "month-forecast" not in out


def test_the_same_seed_gives_the_same_forecast_and_another_seed_another(
    workdir: Path, cli: CliRunner
) -> None:
    (workdir / "month.yaml").write_text(SCENARIO)

    runs = [
        invoke(
            cli,
            "forecast",
            "month.yaml",
            "-n",
            "6",
            "--seed",
            seed,
            "--workers",
            "1",
            "--format",
            "json",
            "--dir",
            f"f{i}",
        )[1]
        for i, seed in enumerate(("1", "1", "2"))
    ]

    assert runs[0] == runs[1]
    assert json.loads(runs[0])["accounts"] != json.loads(runs[2])["accounts"]


def test_bad_distribution_input_exits_2_names_file_line_field_and_writes_nothing(
    workdir: Path, cli: CliRunner
) -> None:
    bad = SCENARIO.replace("{poisson: 1.5}", "{poisson: -2}")
    (workdir / "month.yaml").write_text(bad)

    code, out, err = invoke(cli, "forecast", "month.yaml", "-n", "5")

    assert code == 2
    assert (
        "month.yaml, line 11, workspaces[0].usage[0].count: count.poisson (the mean) "
        "must be at least 0 (got -2)" in err
    )
    assert out == ""
    assert not (workdir / "runs").exists()
