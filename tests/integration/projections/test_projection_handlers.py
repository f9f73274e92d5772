"""One handler per stored event type, rows that fit their tables, runs cut at
UTC midnight, and a log the projection cannot read stops it cleanly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.effects import Held
from ledger.domain.time import DAY_US, to_us
from ledger.domain.types import Plan
from ledger.domain.web import WebWorkspace
from projections import schema
from projections.handlers import (
    HANDLERS,
    Context,
    ProjectionError,
    day_slices,
    declared_effects,
    effect_rows,
    identify,
)
from projections.projector import Projector
from tests.integration.projections.projection_kit import BOOK, END, START, Projected

LIBRARY_MADE = {"Event", "Created"}  # eventsourcing's defaults; ours create with their own


def event_types(aggregate: type[Aggregate]) -> set[type]:
    return {
        v
        for k, v in vars(aggregate).items()
        if isinstance(v, type) and issubclass(v, aggregate.Event) and k not in LIBRARY_MADE
    }


def test_every_stored_event_type_has_a_handler() -> None:
    stored = event_types(WebWorkspace) | event_types(ApiOrganization)
    assert sorted(t.__qualname__ for t in stored - set(HANDLERS)) == []
    assert set(HANDLERS) == stored


def test_every_row_a_handler_makes_fits_its_table(projected: Projected) -> None:
    app = projected.app
    balances: dict[object, tuple[int, int, int]] = {}
    names: dict[object, tuple[str, str]] = {}
    seen = set()
    for n in app.recorder.select_notifications(start=1, limit=10_000):
        event: Any = app.mapper.to_domain_event(n)
        names.setdefault(n.originator_id, identify(event) or ("?", "?"))
        surface, account = names[n.originator_id]
        plan, purchased, credits = balances.get(n.originator_id, (0, 0, 0))
        before = Held(plan, purchased, credits)
        effects = declared_effects(event, before, n.id, account)
        context = Context(
            n.id, to_us(event.timestamp), surface, account, plan, purchased, credits, effects
        )
        for table, row in (*effect_rows(context), *HANDLERS[type(event)](event, context)):
            seen.add(table)
            columns = schema.TABLES_BY_NAME[table].staged_names
            assert len(row) == len(columns), table
            if table == "ledger_entries":
                by_name = dict(zip(columns, row, strict=True))
                bucket, after = by_name["bucket"], by_name["balance_after"]
                plan = after if bucket == "plan" else plan
                purchased = after if bucket == "purchased" else purchased
                credits = after if bucket == "credits" else credits
        balances[n.originator_id] = (plan, purchased, credits)
    assert seen == {t.name for t in schema.BASE_TABLES} - {"events"}


def test_a_row_is_built_by_column_name_only() -> None:
    table = schema.FORFEITED_CREDITS
    row = table.row(seq=1, ts=2, account_id="w", amount=625, reason="reset")
    assert row == (1, 2, "w", 625, "reset")
    with pytest.raises(TypeError, match="amount"):
        table.row(seq=1, ts=2, account_id="w", reason="reset")  # a column left out
    with pytest.raises(TypeError, match="credits"):
        table.row(seq=1, ts=2, account_id="w", credits=625, reason="reset")  # a wrong name
    with pytest.raises(TypeError):
        table.row(1, 2, "w", 625, "reset")  # type: ignore[call-arg]  # never by position


def test_runs_are_cut_at_utc_midnight() -> None:
    midnight = to_us(datetime(2027, 1, 10, tzinfo=UTC))
    ten_minutes = 600_000_000
    assert day_slices(midnight - 3 * ten_minutes, ten_minutes, 2) == [(0, 2)]
    assert day_slices(midnight - 3 * ten_minutes, ten_minutes, 5) == [(0, 3), (3, 2)]
    assert day_slices(midnight - 1, 1, 2) == [(0, 1), (1, 1)]  # a task at 00:00 is the new day's
    assert day_slices(midnight, 0, 7) == [(0, 7)]
    assert day_slices(midnight - 1, DAY_US, 3) == [(0, 1), (1, 1), (2, 1)]


def test_the_payload_is_the_stored_event_with_plain_json_values(projected: Projected) -> None:
    usd, first_at, reason = projected.conn.execute(
        "SELECT payload->>'usd', payload->>'timestamp', payload->>'refill' FROM events "
        "WHERE event_type = 'CreditsPurchased' AND account_id = 'studio' ORDER BY seq LIMIT 1"
    ).fetchone() or (None, None, None)
    assert (usd, first_at, reason) == ("20.00", "2027-01-07T00:00:00+00:00", "false")
    payloads = projected.conn.execute("SELECT payload FROM events").fetchall()
    assert all("_type_" not in json.dumps(json.loads(p)) for (p,) in payloads)


def test_an_event_without_a_handler_stops_the_projection_before_its_batch(
    projected: Projected, tmp_path: Path
) -> None:
    with Projector(projected.app, tmp_path / "ledger.duckdb", START, END, batch_size=50) as p:
        del p.handlers[ApiOrganization.TierRaised]
        with pytest.raises(
            ProjectionError, match=r"no projection handler for ApiOrganization\.TierRaised"
        ):
            p.project()
        first_raise = projected.conn.execute(
            "SELECT min(seq) FROM events WHERE event_type = 'TierRaised'"
        ).fetchone()
        assert first_raise is not None
        assert p.position < first_raise[0]
        assert p.position % 50 == 0  # whole batches only


def test_a_store_written_by_another_run_is_refused(tmp_path: Path, store: str | Path) -> None:
    writer = Ledger(store, run="acme-2027")
    writer.open_workspace("studio", START, BOOK, Plan.STANDARD)
    writer.flush()
    reader = Ledger(store, run="acme-2028")
    with (
        Projector(reader, tmp_path / "ledger.duckdb", START, END) as projector,
        pytest.raises(ProjectionError, match="not recorded by run 'acme-2028'"),
    ):
        projector.project()
