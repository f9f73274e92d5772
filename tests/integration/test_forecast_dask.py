"""forecast on a real Dask cluster: the same bytes as locally, even when a worker dies."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.tools.forecast.executors import run_samples
from ledger.tools.forecast.results import forecast
from ledger.tools.forecast.sample import ForecastJob, SampleSummary
from scenarios.loader import load_scenario_text

distributed = pytest.importorskip("distributed", reason="the cluster extra is installed by make")

SCENARIO = """\
version: 1
name: cluster
start: 2027-01-01
end: 2027-02-01
seed: 9
workspaces:
  - id: studio
    plan: standard
    usage:
      - {every: weekday, time: "10:00", model: gen4_turbo, seconds: 5, count: {poisson: 1.4}}
organizations:
  - id: product
    events:
      - {at: 2027-01-01, buy: 4000}
    usage:
      - {every: day, between: ["09:00", "12:00"], model: gen4_turbo, seconds: 5,
         count: {normal: {mean: 20, sd: 6}}, failure_rate: 0.05}
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as local:
        yield local


def _job() -> ForecastJob:
    loaded = load_scenario_text(SCENARIO, filename="cluster.yaml")
    return ForecastJob(loaded.scenario, loaded.price_book, seed=21)


@pytest.mark.slow
def test_a_local_cluster_of_two_workers_gives_byte_identical_results(cluster: Any) -> None:
    job = _job()

    local = forecast(job, "cluster.yaml", run_samples(job, range(40), workers=2))
    on_dask = forecast(
        job, "cluster.yaml", run_samples(job, range(40), cluster=cluster.scheduler_address)
    )

    assert json.dumps(on_dask.as_dict()) == json.dumps(local.as_dict())
    assert on_dask.summaries == local.summaries


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_is_replaced_and_the_results_are_complete(cluster: Any) -> None:
    job = _job()
    expected = forecast(job, "cluster.yaml", run_samples(job, range(40), workers=1))
    with distributed.Client(cluster.scheduler_address) as client:
        pids = sorted(client.run(os.getpid).values())
    killed = threading.Event()

    def kill_one_worker(done: int, total: int) -> None:
        # After the first chunk arrives, the other chunks are queued or running.
        if not killed.is_set():
            killed.set()
            os.kill(pids[0], signal.SIGKILL)

    found: list[SampleSummary] = run_samples(
        job, range(40), cluster=cluster.scheduler_address, progress=kill_one_worker
    )

    assert killed.is_set()
    assert [s.sample for s in found] == list(range(40))
    assert json.dumps(forecast(job, "cluster.yaml", found).as_dict()) == json.dumps(
        expected.as_dict()
    )
