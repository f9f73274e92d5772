"""A projection stopped at any point resumes without losing or duplicating a
row: each batch commits with its tracking position, or not at all."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.application import Ledger
from projections.projector import Projector
from tests.integration.projections.projection_kit import (
    END,
    START,
    Projected,
    RichLedger,
    all_tables,
)


class Crash(Exception):
    """What a hook raises to stand for a killed process."""


def crash_on_batch(n: int) -> tuple[list[int], Callable[[int], None]]:
    seen: list[int] = []

    def hook(last_id: int) -> None:
        seen.append(last_id)
        if len(seen) == n:
            raise Crash(f"killed before committing the batch ending at {last_id}")

    return seen, hook


def rebuilt(app: Ledger, path: Path) -> dict[str, list[tuple[object, ...]]]:
    with Projector(app, path, START, END) as projector:
        projector.rebuild()
        return all_tables(projector.conn)


def test_a_projection_killed_before_a_commit_resumes_to_a_rebuild_s_tables(
    projected: Projected, tmp_path: Path
) -> None:
    seen, hook = crash_on_batch(3)
    path = tmp_path / "ledger.duckdb"
    with Projector(projected.app, path, START, END, batch_size=25, before_commit=hook) as first:
        with pytest.raises(Crash):
            first.project()
        assert first.position == seen[1]  # batches one and two, nothing of the third
        events = first.conn.execute("SELECT count(*), max(seq) FROM events").fetchone()
        assert events == (seen[1], seen[1])

    with Projector(projected.app, path, START, END, batch_size=25) as resumed:
        last = projected.app.recorder.max_notification_id()
        assert last is not None
        assert resumed.project() == last - seen[1]
        assert all_tables(resumed.conn) == rebuilt(projected.app, tmp_path / "clean.duckdb")


KILLED_MIDWAY = """
import os, signal
from datetime import datetime
from ledger.application import Ledger
from projections.projector import Projector

def die(last_id):  # batch 4 is written, not committed: the process vanishes
    if last_id > 3 * 20:
        os.kill(os.getpid(), signal.SIGKILL)

app = Ledger({ledger!r}, run="rich")
Projector(app, {duckdb!r}, datetime.fromisoformat({start!r}), datetime.fromisoformat({end!r}),
          batch_size=20, before_commit=die).project()
"""


def test_a_killed_process_leaves_whole_batches_and_resumes_to_a_rebuild_s_tables(
    projected: Projected, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.duckdb"
    script = KILLED_MIDWAY.format(
        ledger=str(projected.ledger_path),
        duckdb=str(path),
        start=START.isoformat(),
        end=END.isoformat(),
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=root, check=False)
    assert done.returncode == -9  # SIGKILL, with batch 4 in flight

    with Projector(projected.app, path, START, END, batch_size=20) as resumed:
        assert resumed.position == 60
        resumed.project()
        assert all_tables(resumed.conn) == rebuilt(projected.app, tmp_path / "clean.duckdb")


def test_a_crash_in_every_batch_loses_and_duplicates_nothing(
    projected: Projected, tmp_path: Path
) -> None:
    attempts: set[int] = set()

    def first_attempt_fails(last_id: int) -> None:
        if last_id not in attempts:
            attempts.add(last_id)
            raise Crash(last_id)

    path = tmp_path / "ledger.duckdb"
    crashes = 0
    while True:
        with Projector(
            projected.app, path, START, END, batch_size=40, before_commit=first_attempt_fails
        ) as projector:
            try:
                projector.project()
                tables = all_tables(projector.conn)
                break
            except Crash:
                crashes += 1
    assert crashes == len(attempts) > 5
    assert tables == rebuilt(projected.app, tmp_path / "clean.duckdb")


def test_projecting_a_growing_ledger_in_steps_equals_one_rebuild(
    tmp_path: Path, store: str | Path
) -> None:
    app = Ledger(store, run="growing")
    rich = RichLedger(app)
    path = tmp_path / "ledger.duckdb"
    with Projector(app, path, START, END, batch_size=30) as projector:
        for until in (
            datetime(2027, 1, 9, 23, 30, tzinfo=UTC),
            datetime(2027, 2, 15, tzinfo=UTC),
            END,
        ):
            rich.run_until(until)  # a step may end inside a run crossing midnight
            projector.project()
        assert projector.project() == 0  # nothing new: nothing written twice
        stepwise = all_tables(projector.conn)
        projector.rebuild()
        assert all_tables(projector.conn) == stepwise
    assert stepwise == rebuilt(app, tmp_path / "clean.duckdb")
