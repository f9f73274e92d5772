"""Scenarios and comparisons for the team store suites.

Imported by its full name (``tests.integration.team.team_kit``), so mypy checks it and its users
like any other module.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from typer.testing import CliRunner

from ledger.application import Ledger
from ledger.tools.cli.app import app
from ledger.tools.runs import RunInfo

# A year of two teams' activity: a Pro workspace with Auto Refill and an API
# organization with two interleaved lines and a small autobill that tops up
# every few hours: well over a thousand events, so a replay saves in more than
# one batch (FLUSH_EVENTS = 1,000).
SCENARIO = """\
version: 1
name: {name}
start: 2027-01-01
end: 2028-01-01
seed: {seed}
workspaces:
  - id: studio
    plan: pro
    billing: monthly
    subscribed: 2027-01-01
    editors: [ana, ben]
    auto_refill: {{trigger: 500, amount_usd: 10, monthly_max_usd: 50}}
    events:
      - {{at: 2027-03-01, buy: {buy}}}
    usage:
      - {{every: weekday, between: ["09:00", "17:00"], model: gen4_turbo, seconds: 5,
         count: 12, failure_rate: 0.2}}
organizations:
  - id: product
    tier: 2
    opened: 2027-01-01
    autobill: {{threshold: 2000, amount: 1000}}
    events:
      - {{at: 2027-01-01, buy: 20000}}
    usage:
      - {{every: day, between: ["09:00", "17:00"], model: gen4_image, resolution: 720p,
         count: 60, failure_rate: 0.15}}
      - {{every: day, between: ["08:30", "18:30"], model: gen4_turbo, seconds: 5,
         count: 60}}
"""

MIDYEAR = datetime.fromisoformat("2027-07-01T00:00:00+00:00")


def write_scenario(folder: Path, stem: str, *, seed: int = 7, buy: int = 1000) -> Path:
    """A scenario file; different seeds or purchases give different event logs."""
    path = folder / f"{stem}.yaml"
    path.write_text(SCENARIO.format(name=f"Team {stem}", seed=seed, buy=buy), encoding="utf-8")
    return path


def notifications(ledger: Ledger) -> list[tuple[Any, ...]]:
    """The whole notification log: id, originator, version, topic and stored state."""
    out: list[tuple[Any, ...]] = []
    position = 0
    while True:
        batch = ledger.recorder.select_notifications(start=position + 1, limit=5_000)
        if not batch:
            return out
        out += [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in batch]
        position = batch[-1].id


def run_log(info: RunInfo) -> list[tuple[Any, ...]]:
    ledger = info.ledger()
    try:
        return notifications(ledger)
    finally:
        ledger.close()


def duckdb_tables(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of a projection, rows sorted: equal dicts, equal projections."""
    conn = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in names}
    finally:
        conn.close()


def pause_at(instant: datetime, on_pause: Callable[[], object]) -> Callable[[datetime], None]:
    """A replay ``progress`` hook that calls ``on_pause`` once, on the first day at or after
    ``instant`` (half the events saved, half to come)."""
    done = False

    def tick(at: datetime) -> None:
        nonlocal done
        if not done and at >= instant:
            done = True
            on_pause()

    return tick


@contextmanager
def working_in(folder: Path) -> Iterator[Path]:
    """Run the CLI in ``folder`` (where its ``runs/`` lands): one machine's point of view."""
    folder.mkdir(parents=True, exist_ok=True)
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(old)


def cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``credit-ledger ARGS``: exit code, stdout, stderr (an unexpected exception is raised)."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr
