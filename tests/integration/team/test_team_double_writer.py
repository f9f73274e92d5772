"""One writer per run, on SQLite and on PostgreSQL alike: a second writer of a
run being written is refused with a clear message (exit 2, naming the run),
writes nothing, and the first writer's run comes out whole. A writer that
died midway does not block the run forever.

On PostgreSQL the refusal is the library's optimistic concurrency control:
the second writer's claim (version 1 of the run's writer stream) conflicts
with the first's, and so would its first save of any account."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from ledger.application import Ledger
from ledger.domain.types import Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.loader import load_price_book
from ledger.stores import RunBusyError
from ledger.tools.runs import RunInfo, list_runs, open_run, run_scenario
from tests.integration.team.team_kit import (
    MIDYEAR,
    cli,
    duckdb_tables,
    pause_at,
    run_log,
    working_in,
    write_scenario,
)

ROOT = Path(__file__).resolve().parents[3]
START = datetime(2027, 1, 1, tzinfo=UTC)


def store_args(run_store: str | None) -> list[str]:
    return ["--store", run_store] if run_store else []


def leftovers(run_store: str | None, runs_dir: Path) -> list[str]:
    """Anything a build leaves behind: staging folders, lock files, build schemas."""
    found = [p.name for p in runs_dir.iterdir() if p.name.startswith(".")]
    if run_store:
        with psycopg.connect(run_store) as conn:
            found += [
                r[0]
                for r in conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'cl_build_%'"
                ).fetchall()
            ]
    return found


def test_a_second_writer_of_a_run_is_refused_and_the_first_writer_s_run_is_whole(
    run_store: str | None, tmp_path: Path
) -> None:
    first_scenario = write_scenario(tmp_path, "first", seed=7)
    second_scenario = write_scenario(tmp_path, "second", seed=9, buy=5000)
    with working_in(tmp_path / "machine") as here:
        # Yesterday's run of the same name: readers keep seeing it until the new one is done.
        code, _, err = cli(
            "run", str(second_scenario), "--run", "shared", "-q", *store_args(run_store)
        )
        assert code == 0, err
        _, yesterday, _ = cli("balance", "product", "--at", "2027-12-31", "--run", "shared",
                              "--format", "json", *store_args(run_store))  # fmt: skip

        paused, resume = threading.Event(), threading.Event()
        outcome: list[RunInfo | BaseException] = []

        def pause_and_wait() -> None:
            paused.set()
            resume.wait(120)

        def first_writer() -> None:
            try:
                outcome.append(
                    run_scenario(
                        first_scenario,
                        here / "runs" / "shared",
                        run_name="shared",
                        store=run_store,
                        progress=pause_at(MIDYEAR, pause_and_wait),
                    )
                )
            except BaseException as exc:
                outcome.append(exc)
                paused.set()

        writer = threading.Thread(target=first_writer)
        writer.start()
        try:
            assert paused.wait(120), "the first writer never got halfway"
            # A second writer, through the CLI: refused, clearly, before writing anything.
            code, out, err = cli(
                "run", str(second_scenario), "--run", "shared", *store_args(run_store)
            )
            assert code == 2, (out, err)
            assert "'shared'" in err and "another writer" in err, err
            # ... and through the Python API.
            with pytest.raises(RunBusyError, match="'shared'"):
                run_scenario(second_scenario, here / "runs" / "shared", run_name="shared",
                             store=run_store)  # fmt: skip
            # Meanwhile readers see yesterday's run, whole.
            _, now, _ = cli("balance", "product", "--at", "2027-12-31", "--run", "shared",
                            "--format", "json", *store_args(run_store))  # fmt: skip
            assert now == yesterday
        finally:
            resume.set()
            writer.join(timeout=300)
        assert len(outcome) == 1 and isinstance(outcome[0], RunInfo), outcome

        first = open_run(here / "runs" / "shared", store=run_store, run="shared")
        assert [r.run for r in list_runs(run_store, here / "runs")] == ["shared"]
        assert leftovers(run_store, here / "runs") == []

    alone = run_scenario(first_scenario, tmp_path / "alone" / "shared", run_name="shared")
    assert run_log(first) == run_log(alone)  # the first writer's events, all of them, only them
    assert duckdb_tables(first.duckdb_path) == duckdb_tables(alone.duckdb_path)


KILLED_MIDWAY = """
import os, signal, sys
from datetime import datetime
from pathlib import Path
from ledger.tools.runs import run_scenario

def die(at):
    if at >= datetime.fromisoformat("2027-07-01T00:00:00+00:00"):
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no unlock: the process vanishes

store = sys.argv[3] or None
run_scenario(Path(sys.argv[1]), Path(sys.argv[2]), run_name="shared", store=store, progress=die)
"""


def test_a_writer_that_died_midway_does_not_block_the_run(
    run_store: str | None, tmp_path: Path
) -> None:
    scenario = write_scenario(tmp_path, "s", seed=7)
    target = tmp_path / "runs" / "shared"
    died = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED_MIDWAY), str(scenario), str(target),
         run_store or ""],
        cwd=ROOT,
        check=False,
    )  # fmt: skip
    assert died.returncode == -signal.SIGKILL
    assert list_runs(run_store, tmp_path / "runs") == []  # nothing half-written is visible

    info = run_scenario(scenario, target, run_name="shared", store=run_store)
    alone = run_scenario(scenario, tmp_path / "alone" / "shared", run_name="shared")
    assert run_log(info) == run_log(alone)
    assert [r.run for r in list_runs(run_store, tmp_path / "runs")] == ["shared"]


def test_the_library_refuses_a_second_save_of_the_same_account_version(
    store: str | Path,
) -> None:
    """What the claim relies on: two writers of one account cannot both record version 1."""
    book = load_price_book()
    first, second = Ledger(store, run="r"), Ledger(store, run="r")
    first.open_workspace("studio", START, book, Plan.PRO)
    first.flush()
    second.open_workspace("studio", START, book, Plan.STANDARD)
    with pytest.raises(IntegrityError):
        second.flush()
    reader = Ledger(store, run="r")
    assert len(list(reader.events.get(reader.workspace_id("studio")))) == 1
    workspace: WebWorkspace = reader.repository.get(reader.workspace_id("studio"))
    assert workspace.plan is Plan.PRO  # the first writer's event, untouched
    for ledger in (first, second, reader):
        ledger.close()
