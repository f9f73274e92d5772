"""S05 in SQL: ``balance_at`` agrees with the event store at any instant,
inside grouped runs included, with the web plan/purchased split exact (W08)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.domain.terms import TaskSpec
from ledger.domain.types import Plan
from projections import queries
from projections.projector import Projector
from tests.integration.projections.projection_kit import BOOK, END, Projected, run_instants

MINUTE_US = 60_000_000


def test_s05_balance_at_matches_the_ledger_at_random_instants_and_inside_runs(
    projected: Projected,
) -> None:
    rng = random.Random(2027)
    for name in projected.names:
        row = projected.conn.execute(
            "SELECT created_at FROM accounts WHERE account_id = ?", [name]
        ).fetchone()
        assert row is not None
        opened: datetime = row[0]
        span_us = int((END - opened).total_seconds() * 1_000_000)
        instants = [opened + timedelta(microseconds=rng.randrange(span_us)) for _ in range(50)]
        inside_runs = [t for t in run_instants(projected.conn, name) if t >= opened]
        instants += rng.sample(inside_runs, min(40, len(inside_runs)))
        for at in instants:
            expected = projected.app.balances_at(name, at).as_dict()
            assert queries.balance_at(projected.conn, name, at) == expected, (name, at)


@pytest.fixture
def one_run(tmp_path: Path, store: str | Path) -> tuple[Ledger, Projector]:
    """625 plan + 1,000 purchased credits, then 10 generations of 100 every 10
    minutes from 12:00, the third one (12:20) refunded."""
    app = Ledger(store, run="one-run")
    noon = datetime(2027, 3, 1, 12, tzinfo=UTC)
    ws = app.open_workspace("studio", datetime(2027, 3, 1, tzinfo=UTC), BOOK, Plan.STANDARD)
    ws.purchase_credits(datetime(2027, 3, 1, 1, tzinfo=UTC), 1000)
    ws.generate(noon, 10 * MINUTE_US, 10, TaskSpec("gen4.5", 100), refunded=[2])
    app.flush()
    projector = Projector(
        app,
        tmp_path / "ledger.duckdb",
        datetime(2027, 3, 1, tzinfo=UTC),
        datetime(2027, 4, 1, tzinfo=UTC),
    )
    projector.project()
    return app, projector


@pytest.mark.parametrize(
    ("at", "plan", "purchased"),
    [
        ((11, 59), 625, 1000),  # before the run
        ((12, 0), 525, 1000),  # the first generation, at its instant
        ((12, 20), 425, 1000),  # the third was refunded at once: nothing kept
        ((13, 0), 25, 1000),  # seven done, six kept: 600 from plan
        ((13, 10), 0, 925),  # the eighth takes the last 25 plan credits, then 75 bought
        ((13, 29), 0, 825),
        ((13, 30), 0, 725),  # the last one: the event's own timestamp
    ],
)
def test_w08_balance_at_inside_a_run_counts_tasks_done_plan_credits_first(
    one_run: tuple[Ledger, Projector], at: tuple[int, int], plan: int, purchased: int
) -> None:
    app, projector = one_run
    instant = datetime(2027, 3, 1, *at, tzinfo=UTC)
    got = queries.balance_at(projector.conn, "studio", instant)
    assert (got["plan"], got["purchased"], got["balance"]) == (plan, purchased, plan + purchased)
    assert got == app.balances_at("studio", instant).as_dict()


def test_the_sql_macro_answers_in_plain_sql(one_run: tuple[Ledger, Projector]) -> None:
    _, projector = one_run
    row = projector.conn.execute(
        "SELECT plan, purchased, balance, plan_name, tier "
        "FROM balance_at('studio', TIMESTAMPTZ '2027-03-01 13:10:00+00')"
    ).fetchone()
    assert row == (0, 925, 925, "standard", None)


def test_balance_at_before_an_account_opens_finds_nothing(projected: Projected) -> None:
    with pytest.raises(queries.AccountNotFound):
        queries.balance_at(projected.conn, "lab", datetime(2027, 1, 15, tzinfo=UTC))
    with pytest.raises(queries.AccountNotFound):
        queries.balance_at(projected.conn, "nobody", datetime(2027, 3, 1, tzinfo=UTC))
