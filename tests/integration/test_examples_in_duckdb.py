"""Every example, replayed and projected: DuckDB agrees with the event store.

- balance_at (the SQL table macro) equals the aggregate state read from the
  event store at 50 random instants per account (S05), inside grouped runs too;
- credits are conserved per account and bucket in SQL: granted + bought +
  refunded - charged - forfeited = final balance (S02), each figure summed as
  the effect declarations count it (``schema.figure_sql``).
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from ledger.domain.effects import Figure
from ledger.tools.runs import run_scenario
from projections import queries, schema

EXAMPLES = [
    p
    for p in sorted((Path(__file__).parents[2] / "scenarios" / "examples").glob("*.yaml"))
    if "kind: workload" not in p.read_text(encoding="utf-8")
]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_s05_balance_at_in_sql_equals_the_event_store_at_50_random_instants(
    path: Path, tmp_path: Path
) -> None:
    info = run_scenario(path, tmp_path / path.stem)
    ledger = info.ledger()
    conn = queries.connect(info.duckdb_path)
    rng = random.Random(path.stem)
    span = int((info.end - info.start).total_seconds())
    try:
        for account in info.accounts:
            name = account["account"]
            opened = next(iter(ledger.iter_account_events(name))).timestamp
            checked = 0
            while checked < 50:
                at = info.start + timedelta(
                    seconds=rng.randrange(span), microseconds=rng.randrange(10**6)
                )
                if at < opened:
                    continue
                expected = ledger.balances_at(name, at).as_dict()
                got = queries.balance_at(conn, name, at)
                assert {k: got[k] for k in expected} == expected, (name, at)
                checked += 1
    finally:
        conn.close()
        ledger.close()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_s02_credits_are_conserved_per_account_and_bucket_in_sql(
    path: Path, tmp_path: Path
) -> None:
    info = run_scenario(path, tmp_path / path.stem)
    conn = queries.connect(info.duckdb_path)
    try:
        rows = conn.execute(
            f"""
            SELECT account_id, bucket,
                   {schema.figure_sql(Figure.GRANTED)} AS granted,
                   {schema.figure_sql(Figure.BOUGHT)} AS bought,
                   {schema.figure_sql(Figure.REFUNDED)} AS refunded,
                   {schema.figure_sql(Figure.CHARGED)} AS charged,
                   {schema.figure_sql(Figure.FORFEITED)} AS forfeited,
                   arg_max(balance_after, (seq, entry_no)) AS final
            FROM ledger_entries GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
        assert rows
        for account, bucket, granted, bought, refunded, charged, forfeited, final in rows:
            total = (granted or 0) + (bought or 0) + (refunded or 0) - (charged or 0)
            total -= forfeited or 0
            assert total == final, (account, bucket)
            assert final >= 0, (account, bucket)
        # And the per-account final balances agree with the aggregates.
        ledger = info.ledger()
        try:
            for account in info.accounts:
                name = account["account"]
                end = ledger.balances_at(name, info.end - timedelta(microseconds=1))
                finals = {b: f for a, b, *_, f in rows if a == name}
                assert sum(finals.values()) == end.balance, name
        finally:
            ledger.close()
    finally:
        conn.close()
