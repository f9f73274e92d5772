"""compare --samples: the chance each route is the cheapest and its P50/P90 cost."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from ledger.tools.cli.app import app
from ledger.tools.decide.compare import compare
from ledger.tools.forecast.executors import run_samples
from ledger.tools.forecast.routes import CompareJob, compare_chunk, route_odds
from scenarios.loader import load_workload

WORKLOAD = """\
version: 1
kind: workload
name: drafts
start: 2027-01-01
end: 2027-03-01
editors: 1
usage:
  - {{every: weekday, time: "10:00", model: gen4_turbo, seconds: 5, count: {count}}}
"""


def test_with_every_input_fixed_each_sample_is_the_plain_compare(tmp_path: Path) -> None:
    path = tmp_path / "fixed.yaml"
    path.write_text(WORKLOAD.format(count="{fixed: 3}"))
    loaded = load_workload(path)
    plain = compare(loaded.workload, loaded.price_book, explore=False)
    job = CompareJob(loaded.workload, loaded.price_book, seed=1, explore=False)

    odds = route_odds(job, run_samples(job, range(3), workers=1, task=compare_chunk))

    winner = plain[0]
    assert winner.carries
    by_route = {r["route"]: r for r in odds["routes"]}
    assert by_route[winner.id]["cheapest"] == Decimal("1.0000")
    for result in plain:
        row = by_route[result.id]
        assert row["usd_p10"] == row["usd_p50"] == row["usd_p90"] == result.usd_total
    assert odds["routes"][0]["route"] == winner.id


def test_compare_samples_prints_the_odds_as_json(tmp_path: Path) -> None:
    path = tmp_path / "uncertain.yaml"
    path.write_text(WORKLOAD.format(count="{poisson: 6}"))

    result = CliRunner().invoke(
        app,
        [
            "compare",
            str(path),
            "--samples",
            "4",
            "--workers",
            "1",
            "--no-explore",
            "--format",
            "json",
        ],
    )

    assert result.exit_code == 0, result.stderr
    odds = json.loads(result.stdout)
    assert odds["samples"] == 4
    assert sum(Decimal(r["cheapest"]) for r in odds["routes"]) + Decimal(
        odds["no_route_carries"]
    ) == Decimal(1)
    for row in odds["routes"]:
        assert Decimal(row["usd_p10"]) <= Decimal(row["usd_p50"]) <= Decimal(row["usd_p90"])
