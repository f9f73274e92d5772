"""Two replays of different runs into one PostgreSQL database at the same time:
both complete, and each run's events and projection are exactly those of the
same run replayed alone into SQLite."""

from __future__ import annotations

import threading
from pathlib import Path

from ledger.tools.runs import RunInfo, list_runs, open_run, run_scenario
from scenarios.engine import FLUSH_EVENTS
from tests.integration.team.team_kit import (
    MIDYEAR,
    duckdb_tables,
    pause_at,
    run_log,
    write_scenario,
)


def test_two_runs_replayed_at_once_into_one_database_equal_each_replayed_alone_in_sqlite(
    team_store: str, tmp_path: Path
) -> None:
    scenarios = {
        "alpha": write_scenario(tmp_path, "alpha", seed=7, buy=1000),
        "beta": write_scenario(tmp_path, "beta", seed=8, buy=3000),
    }
    # Both replays wait for each other halfway through the year: whatever the
    # machine's speed, each has saved batches and has batches still to save.
    halfway = threading.Barrier(len(scenarios), timeout=120)
    results: dict[str, RunInfo] = {}
    errors: list[BaseException] = []

    def replay(run: str) -> None:
        try:
            results[run] = run_scenario(
                scenarios[run],
                tmp_path / "team" / run,
                run_name=run,
                store=team_store,
                progress=pause_at(MIDYEAR, halfway.wait),
            )
        except BaseException as exc:
            halfway.abort()
            errors.append(exc)

    threads = [threading.Thread(target=replay, args=(run,)) for run in scenarios]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert sorted(results) == ["alpha", "beta"]
    assert [r.run for r in list_runs(team_store)] == ["alpha", "beta"]

    for run, scenario in scenarios.items():
        alone = run_scenario(scenario, tmp_path / "alone" / run, run_name=run)
        shared = open_run(tmp_path / "team" / run, store=team_store, run=run)
        alone_log, shared_log = run_log(alone), run_log(shared)
        assert len(shared_log) > FLUSH_EVENTS  # saved in more than one batch each
        assert shared_log == alone_log, run  # ids, versions, topics, bytes: nothing of the other
        assert duckdb_tables(shared.duckdb_path) == duckdb_tables(alone.duckdb_path), run
        assert shared.stats == alone.stats
    assert run_log(results["alpha"]) != run_log(results["beta"])
