"""Named runs side by side in one team store, seen from two machines: listing,
deleting, replacing, and each machine's DuckDB projection pulled from
PostgreSQL exactly as from SQLite, resumable and exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from ledger.pgstore import run_schema
from ledger.tools import runs as runs_module
from ledger.tools.runs import open_run, run_scenario
from projections.projector import Projector
from tests.integration.team.team_kit import cli, duckdb_tables, run_log, working_in, write_scenario


def schemas(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cl\\_%' ORDER BY 1"
            ).fetchall()
        ]


def test_runs_named_side_by_side_are_listed_read_and_removed_on_both_stores(
    run_store: str | None, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, "team", seed=7)
    store = ["--store", run_store] if run_store else []
    with working_in(tmp_path / "machine"):
        for name in ("q1-budget", "q2-budget"):
            code, _, err = cli("run", str(scenario), "--run", name, "-q", *store)
            assert code == 0, err
        code, out, err = cli("runs", "--format", "json", *store)
        assert code == 0, err
        listed = json.loads(out)
        assert [r["run"] for r in listed] == ["q1-budget", "q2-budget"]
        assert {r["name"] for r in listed} == {"Team team"}

        # Without --run, reading takes the most recently written run and says which.
        code, _, err = cli("balance", "studio", "--at", "2027-06-01", *store)
        assert code == 0 and "q2-budget" in err, err
        assert "the most recently written of 2 runs" in err and "--run NAME" in err, err
        code, q1, err = cli("balance", "studio", "--at", "2027-06-01", "--run", "q1-budget", *store)
        assert code == 0, err

        code, out, err = cli("runs", "rm", "q2-budget", *store)
        assert code == 0 and "q2-budget" in out, err
        code, out, _ = cli("runs", "--format", "json", *store)
        assert [r["run"] for r in json.loads(out)] == ["q1-budget"]
        assert not Path("runs/q2-budget").exists()
        code, _, err = cli("runs", "rm", "q2-budget", *store)
        assert code == 2 and "q2-budget" in err, err
        # The one left is untouched, and now the default.
        code, again, err = cli("balance", "studio", "--at", "2027-06-01", *store)
        assert (code, again) == (0, q1), err
    if run_store:
        assert schemas(run_store) == [run_schema("q1-budget")]


def test_a_second_machine_projects_a_run_from_the_store_and_follows_its_replacements(
    team_store: str, tmp_path: Path
) -> None:
    first = write_scenario(tmp_path, "first", seed=7)
    replaced = write_scenario(tmp_path, "replaced", seed=8, buy=4000)
    query = ["sql", "SELECT count(*) AS n, sum(delta) AS credits FROM ledger_entries",
             "--format", "json"]  # fmt: skip
    env = {"CREDIT_LEDGER_STORE": team_store}

    with working_in(tmp_path / "laptop-a"):
        code, _, err = cli("run", str(first), "--run", "budget", "-q", env=env)
        assert code == 0, err
        _, a_figures, _ = cli(*query, env=env)
    with working_in(tmp_path / "laptop-b"):
        assert not Path("runs").exists()
        code, b_figures, err = cli(*query, env=env)  # projects the run here first
        assert code == 0, err
        assert b_figures == a_figures
        local = json.loads(Path("runs/budget/run.json").read_text())
        assert local["store"].endswith("***@" + team_store.split("@")[1])
        first_generation = local["generation"]

    # Laptop A replaces the run; laptop B's next query sees the new one, whole.
    with working_in(tmp_path / "laptop-a"):
        code, _, err = cli("run", str(replaced), "--run", "budget", "-q", env=env)
        assert code == 0, err
        _, a_replaced, _ = cli(*query, env=env)
    assert a_replaced != a_figures
    with working_in(tmp_path / "laptop-b"):
        code, b_replaced, err = cli(*query, env=env)
        assert (code, b_replaced) == (0, a_replaced), err
        assert json.loads(Path("runs/budget/run.json").read_text())["generation"] not in {
            first_generation,
            None,
        }
    assert duckdb_tables(tmp_path / "laptop-b/runs/budget/ledger.duckdb") == duckdb_tables(
        tmp_path / "laptop-a/runs/budget/ledger.duckdb"
    )


class Crash(Exception):
    """Stands for a machine that stopped in the middle of a projection."""


def test_a_projection_from_the_store_stopped_midway_resumes_exactly_once(
    team_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scenario = write_scenario(tmp_path, "s", seed=7)
    written = run_scenario(scenario, tmp_path / "writer" / "budget", run_name="budget",
                           store=team_store)  # fmt: skip
    total = len(run_log(written))
    alone = run_scenario(scenario, tmp_path / "alone" / "budget", run_name="budget")
    committed: list[int] = []
    resumed_from: list[int] = []

    class StopsAtBatchThree(Projector):
        def __init__(self, *args: object, **kwargs: object) -> None:
            def hook(last: int) -> None:
                if len(committed) == 2:
                    raise Crash(last)
                committed.append(last)

            super().__init__(*args, batch_size=400, before_commit=hook, **kwargs)  # type: ignore[arg-type]

    class Resumes(Projector):
        def project(self) -> int:
            resumed_from.append(self.position)
            return super().project()

    reader = tmp_path / "reader" / "budget"
    monkeypatch.setattr(runs_module, "Projector", StopsAtBatchThree)
    with pytest.raises(Crash):
        open_run(reader, store=team_store, run="budget")
    assert json.loads((reader / "run.json").read_text())["projected_to"] is None

    monkeypatch.setattr(runs_module, "Projector", Resumes)
    info = open_run(reader, store=team_store, run="budget")
    assert resumed_from == [committed[-1]] and 0 < committed[-1] < total  # not from the start
    assert json.loads((reader / "run.json").read_text())["projected_to"] == total
    assert duckdb_tables(info.duckdb_path) == duckdb_tables(alone.duckdb_path)  # no row twice

    open_run(reader, store=team_store, run="budget")  # up to date: nothing projected again
    assert resumed_from == [committed[-1]]
