"""forecast: samples equal deterministic replays, known answers, the DuckDB tables (W06, W09)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path

import duckdb

from ledger.application import Ledger
from ledger.domain.types import Surface
from ledger.tools.decide.measure import measure
from ledger.tools.forecast.executors import run_samples
from ledger.tools.forecast.results import forecast, quantile, spread
from ledger.tools.forecast.sample import ForecastJob, SampleSummary, run_sample, sample_seed
from ledger.tools.forecast.store import write_forecast
from scenarios.draws import Draws
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import LoadedScenario, load_scenario_text

FIXED = """\
version: 1
name: all fixed
start: 2027-01-01
end: 2027-03-01
workspaces:
  - id: studio
    plan: standard
    events:
      - {at: 2027-01-20, buy: 1000}
    usage:
      - {every: weekday, time: "10:00", model: gen4_turbo, seconds: {fixed: 5}, count: 2}
      - {every: week, time: "15:00", model: gen4_turbo, seconds: 10, count: {fixed: 3}}
organizations:
  - id: product
    events:
      - {at: 2027-01-01, buy: 5000}
    usage:
      - {every: day, between: ["09:00", "11:00"], model: gen4_turbo, seconds: 5,
         count: {fixed: 30}}
"""


def _loaded(text: str) -> LoadedScenario:
    return load_scenario_text(text, filename="scenario.yaml")


def _deterministic_months(loaded: LoadedScenario) -> list[tuple[str, str, Decimal, int, int, int]]:
    ledger = Ledger("memory")
    sc = loaded.scenario
    replay(sc, loaded.price_book, ledger)
    ledger.flush()
    rows = []
    for name, surface in [(w.id, Surface.WEB) for w in sc.workspaces] + [
        (o.id, Surface.API) for o in sc.organizations
    ]:
        figures = measure(ledger, name, surface, sc.start, sc.end)
        rows += [(name, m.month, m.usd, m.used, m.forfeited, m.refused) for m in figures.months]
    return rows


def test_a_forecast_with_every_distribution_fixed_equals_the_deterministic_run() -> None:
    loaded = _loaded(FIXED)
    expected = _deterministic_months(loaded)
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=3)

    result = forecast(job, "scenario.yaml", run_samples(job, range(4), workers=1))

    for summary in result.summaries:
        got = [(r.account, r.month, r.usd, r.used, r.forfeited, r.refused) for r in summary.months]
        assert got == expected
    studio = result.accounts[0]
    january = studio["months"][0]
    assert january["usd"] == {
        "p10": expected[0][2],
        "p50": expected[0][2],
        "p90": expected[0][2],
        "mean": expected[0][2],
    }
    assert sum(r[3] for r in expected) > 0  # the scenario does use credits


POISSON = """\
version: 1
name: one batch a month
start: 2027-01-01
end: 2027-02-01
seed: 4
workspaces:
  - id: studio
    plan: standard
    usage:
      - {at: 2027-01-15T10:00, model: gen4_turbo, seconds: 5, count: {poisson: 22}}
"""


def _poisson_tail(mean: float, above: int) -> float:
    """P(N > above) for N ~ Poisson(mean), by hand: 1 - sum of the first terms."""
    return 1 - sum(math.exp(-mean) * mean**k / math.factorial(k) for k in range(above + 1))


def test_the_chance_of_running_out_matches_the_poisson_tail() -> None:
    # Standard grants 625 credits (W01); a 5 s gen4_turbo clip costs 25 (W09), so
    # the workspace runs out exactly when the batch has more than 25 clips.
    loaded = _loaded(POISSON)
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=11)
    n = 1000

    result = forecast(job, "scenario.yaml", run_samples(job, range(n), workers=1))

    exact = _poisson_tail(22, 25)  # 0.2084...
    (run_out,) = result.accounts[0]["run_out"]
    assert run_out["before"] == "2027-02-01T00:00:00+00:00"
    assert abs(float(run_out["probability"]) - exact) < 4 * math.sqrt(exact * (1 - exact) / n)
    # And per sample, by hand: used = 25 x min(N, 25), refused = max(N - 25, 0).
    for summary in result.summaries:
        (row,) = summary.months
        drawn = row.used // 25 + row.refused
        assert row.used == 25 * min(drawn, 25)
        assert (row.refused > 0) == ("2027-02-01T00:00:00+00:00" in summary.accounts[0].ran_out)
    used = sorted(s.months[0].used for s in result.summaries)
    assert result.accounts[0]["months"][0]["used"]["p50"] == used[499]  # ceil(0.5 x 1000)


def test_quantiles_are_the_inverted_empirical_distribution_by_hand() -> None:
    values = list(range(1, 11))

    assert [quantile(values, Decimal(q)) for q in ("0.1", "0.5", "0.9")] == [1, 5, 9]
    assert quantile([3, 7, 8], Decimal("0.9")) == 8  # ceil(2.7) = 3rd
    assert spread([Decimal("1.00"), Decimal("2.00"), Decimal("4.00")]) == {
        "p10": Decimal("1.00"),
        "p50": Decimal("2.00"),
        "p90": Decimal("4.00"),
        "mean": Decimal("2.33"),
    }


def test_a_sample_replayed_alone_is_the_sample_of_the_sweep() -> None:
    loaded = _loaded(POISSON.replace("{poisson: 22}", "{poisson: 30}"))
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=11)
    sweep: list[SampleSummary] = run_samples(job, range(6), workers=1)

    seed = sample_seed(11, 4)
    ledger = Ledger("memory")
    scenario = loaded.scenario.model_copy(update={"seed": seed})
    replay(scenario, loaded.price_book, ledger, options=ReplayOptions(draws=Draws(seed)))
    ledger.flush()
    figures = measure(ledger, "studio", Surface.WEB, scenario.start, scenario.end)

    assert sweep[4] == run_sample(job, 4)
    assert sweep[4].months[0].used == figures.months[0].used
    assert sweep[4].months[0].refused == figures.months[0].refused
    assert len({s.months[0].used + s.months[0].refused for s in sweep}) > 1


def test_the_duckdb_view_gives_the_same_quantiles_as_the_report(tmp_path: Path) -> None:
    loaded = _loaded(POISSON)
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=2)
    result = forecast(job, "scenario.yaml", run_samples(job, range(40), workers=1))

    folder = write_forecast(result, tmp_path / "fc")

    con = duckdb.connect(str(folder / "ledger.duckdb"), read_only=True)
    rows = con.execute("SELECT count(*) FROM forecast_samples").fetchone()
    view = con.execute(
        "SELECT used_p10, used_p50, used_p90, refused_p90, usd_p50 FROM forecast_quantiles"
    ).fetchone()
    ran_out = con.execute(
        "SELECT count(DISTINCT sample) FROM forecast_outcomes WHERE kind = 'run_out'"
    ).fetchone()
    con.close()
    january = result.accounts[0]["months"][0]
    assert rows == (40,)
    assert view == (
        january["used"]["p10"],
        january["used"]["p50"],
        january["used"]["p90"],
        january["refused"]["p90"],
        january["usd"]["p50"],
    )
    assert ran_out is not None
    assert Decimal(ran_out[0]) / 40 == Decimal(result.accounts[0]["run_out"][0]["probability"])
    assert json.loads((folder / "run.json").read_text())["kind"] == "forecast"


def test_local_processes_give_byte_identical_results_to_one_process() -> None:
    loaded = _loaded(POISSON)
    job = ForecastJob(loaded.scenario, loaded.price_book, seed=8)

    alone = forecast(job, "s", run_samples(job, range(24), workers=1))
    pooled = forecast(job, "s", run_samples(job, range(24), workers=2))

    assert json.dumps(pooled.as_dict()) == json.dumps(alone.as_dict())
    assert pooled.summaries == alone.summaries
