"""S03: nothing depends on the wall clock. The same history, built while the wall
clock is frozen at far-apart dates, stores byte-identical rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from ledger.application import SNAPSHOT_INTERVAL, Ledger
from ledger.domain.terms import AutobillSettings, RefillSettings, TaskSpec
from ledger.domain.types import Billing, Plan
from ledger.pricing.loader import load_price_book

WALL_CLOCKS = ["1999-12-31 23:59:59", "2026-05-26 12:00:00", "2042-07-04 03:14:15"]
START = datetime(2027, 1, 31, 14, 30, tzinfo=UTC)


def build(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """A workspace and an organization with a long, varied history, saved to SQLite."""
    book = load_price_book()
    app = Ledger(path, run="frozen")
    ws = app.open_workspace(
        "studio",
        START,
        book,
        Plan.STANDARD,
        billing=Billing.MONTHLY,
        refill=RefillSettings(trigger=100, amount_usd=10, monthly_max_usd=30),
    )
    ws.purchase_credits(START + timedelta(hours=1), 2000)
    ws.add_editor(START + timedelta(days=3), "b")
    for month in range(SNAPSHOT_INTERVAL // 4 + 1):
        due = ws.next_billing_at
        assert due is not None
        ws.generate(due - timedelta(days=2), 3_600_000_000, 40, TaskSpec("gen4.5", 25))
        ws.pass_billing_date(due)
        if month == 2:
            app.flush()  # saves in several batches, as a replay does
    org = app.open_organization(
        "backend", START, book, autobill=AutobillSettings(threshold=500, amount=2000)
    )
    org.purchase_credits(START, 1000)
    org.submit_tasks(START + timedelta(minutes=5), 60_000_000, 30, TaskSpec("gen4.5", 120), 2, 200)
    org.check_autobill(START + timedelta(hours=1))
    app.flush()
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(
                f"SELECT * FROM {table} ORDER BY originator_id, originator_version"
            ).fetchall()
            for table in ("stored_events", "stored_snapshots")
        }


def test_s03_the_stored_rows_are_byte_identical_whatever_the_wall_clock(tmp_path: Path) -> None:
    reference = build(tmp_path / "unfrozen.db")
    assert len(reference["stored_events"]) > SNAPSHOT_INTERVAL
    assert reference["stored_snapshots"], "the workspace should have been snapshotted"
    for i, wall in enumerate(WALL_CLOCKS):
        with freeze_time(wall):
            rows = build(tmp_path / f"frozen-{i}.db")
        assert rows == reference, f"stored rows differ with the wall clock at {wall}"


@pytest.mark.parametrize("wall", WALL_CLOCKS)
def test_s03_events_carry_the_simulated_instant_not_the_wall_clock(
    tmp_path: Path, wall: str
) -> None:
    with freeze_time(wall):
        build(tmp_path / "x.db")
    app = Ledger(tmp_path / "x.db", run="frozen")
    events = list(app.iter_account_events("studio"))
    assert events[0].timestamp == START
    assert all(e.timestamp >= START for e in events)
    assert app.snapshots is not None
    snapshots: list[Any] = list(app.snapshots.get(app.workspace_id("studio")))
    # The snapshot is stamped with the aggregate's last simulated instant.
    assert [s.timestamp for s in snapshots] == [
        events[s.originator_version - 1].timestamp for s in snapshots
    ]
