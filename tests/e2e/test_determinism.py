"""S03: the same scenario and seed give the same stored rows, byte for byte,
however often it runs and whatever the wall clock says."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from tests.e2e.conftest import EXAMPLES, invoke

WALL_CLOCKS = ["1999-12-31 23:59:59", "2026-11-24 17:00:00", "2042-06-15 04:20:00"]


def stored_rows(run_dir: Path) -> list[tuple[object, ...]]:
    con = sqlite3.connect(run_dir / "events.sqlite")
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        rows: list[tuple[object, ...]] = []
        for table in tables:
            rows += [(table, *r) for r in con.execute(f'SELECT * FROM "{table}" ORDER BY 1, 2')]
        return rows
    finally:
        con.close()


def projected_rows(run_dir: Path) -> dict[str, list[tuple[object, ...]]]:
    con = duckdb.connect(str(run_dir / "ledger.duckdb"), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        con.close()


@pytest.mark.parametrize("example", ["product-api-growth", "studio-pro-unlimited"])
def test_s03_same_scenario_gives_identical_rows_under_any_wall_clock(
    workdir: Path, cli: CliRunner, example: str
) -> None:
    scenario = EXAMPLES / f"{example}.yaml"
    stored, projected = [], []
    for i, wall in enumerate(WALL_CLOCKS):
        with freeze_time(wall):
            code, _, stderr = invoke(cli, "run", str(scenario), "--dir", f"runs/{i}", "-q")
        assert code == 0, stderr
        # Every run uses one run name, so account ids (uuid5 of it) agree.
        stored.append(stored_rows(workdir / "runs" / str(i)))
        projected.append(projected_rows(workdir / "runs" / str(i)))
    assert stored[0], "the run stored nothing"
    assert stored[0] == stored[1] == stored[2]
    assert projected[0] == projected[1] == projected[2]
