"""Whole-run invariants checked in SQL: credits are conserved per account and
bucket, every balance_after follows from the one before, nothing goes negative."""

from __future__ import annotations

from ledger.domain.effects import Figure
from projections import schema
from tests.integration.projections.projection_kit import END, Projected

CONSERVATION = f"""
SELECT surface, account_id, bucket,
       {schema.figure_sql(Figure.GRANTED)} AS granted,
       {schema.figure_sql(Figure.BOUGHT)} AS bought,
       {schema.figure_sql(Figure.REFUNDED)} AS refunded,
       {schema.figure_sql(Figure.CHARGED)} AS charged,
       {schema.figure_sql(Figure.FORFEITED)} AS forfeited,
       arg_max(balance_after, seq * 100 + entry_no) AS final
FROM ledger_entries
GROUP BY ALL
ORDER BY ALL
"""


def test_credits_are_conserved_per_account_and_bucket(projected: Projected) -> None:
    rows = projected.conn.execute(CONSERVATION).fetchall()
    buckets = {(surface, name, bucket) for surface, name, bucket, *_ in rows}
    assert ("web", "studio", "plan") in buckets
    assert ("web", "studio", "purchased") in buckets
    assert ("api", "backend", "credits") in buckets
    for surface, name, bucket, granted, bought, refunded, charged, forfeited, final in rows:
        inflow = (granted or 0) + (bought or 0) + (refunded or 0)
        outflow = (charged or 0) + (forfeited or 0)
        assert inflow - outflow == final, (surface, name, bucket)


def test_final_balances_are_the_event_store_s(projected: Projected) -> None:
    last = END.replace(microsecond=0)
    for name in projected.names:
        expected = projected.app.balances_at(name, last)
        row = projected.conn.execute(
            "SELECT plan, purchased, balance FROM daily_balances "
            "WHERE account_id = ? ORDER BY day DESC LIMIT 1",
            [name],
        ).fetchone()
        assert row == (expected.plan, expected.purchased, expected.balance), name


def test_each_balance_after_follows_from_the_one_before_and_none_is_negative(
    projected: Projected,
) -> None:
    broken = projected.conn.execute(
        """
        SELECT surface, account_id, bucket, seq, entry_no FROM (
            SELECT *, COALESCE(lag(balance_after) OVER w, 0) AS before
            FROM ledger_entries
            WINDOW w AS (PARTITION BY surface, account_id, bucket ORDER BY seq, entry_no)
        )
        WHERE before + delta <> balance_after OR balance_after < 0
        """
    ).fetchall()
    assert broken == []


def test_the_window_s_months_add_up_to_the_ledger(projected: Projected) -> None:
    by_month = projected.conn.execute(
        "SELECT account_id, SUM(granted + purchased - used - forfeited) "
        "FROM monthly_summary GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    ledger = projected.conn.execute(
        "SELECT account_id, SUM(delta) FROM ledger_entries GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert by_month == ledger  # every entry of the log falls inside the window here
