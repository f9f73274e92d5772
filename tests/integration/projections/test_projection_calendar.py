"""Days and months of the window: every day present, end-of-day figures exact,
month figures as computed by hand for a small ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from ledger.application import Ledger
from ledger.domain.terms import AutobillSettings, TaskSpec
from ledger.domain.types import Plan
from projections.projector import Projector
from tests.integration.projections.projection_kit import BOOK, END, START, Projected

MINUTE_US = 60_000_000


def test_daily_balances_has_every_day_of_the_window_for_every_account(
    projected: Projected,
) -> None:
    days = (END - START).days
    rows = projected.conn.execute(
        "SELECT account_id, count(*), count(DISTINCT day), min(day), max(day) "
        "FROM daily_balances GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert sorted(projected.names) == [name for name, *_ in rows]
    for _, n, distinct, first, last in rows:
        assert (n, distinct, first, last) == (days, days, START.date(), date(2027, 4, 30))


def test_end_of_day_balances_are_the_ledger_s_at_the_day_s_last_instant(
    projected: Projected,
) -> None:
    rows = projected.conn.execute(
        "SELECT day, account_id, plan, purchased, balance, plan_name, tier, opened "
        "FROM daily_balances ORDER BY ALL"
    ).fetchall()
    for day, name, plan, purchased, balance, plan_name, tier, opened in rows:
        last_instant = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
        last_instant -= timedelta(microseconds=1)
        if not opened:
            assert (balance, plan_name, tier) == (0, None, None), (name, day)
            continue
        expected = projected.app.balances_at(name, last_instant)
        assert (plan, purchased, balance, tier) == (
            expected.plan,
            expected.purchased,
            expected.balance,
            expected.tier,
        ), (name, day)
        assert plan_name == (expected.plan_name.value if expected.plan_name else None)


def test_monthly_summary_of_a_small_ledger_is_the_hand_computed_one(
    tmp_path: Path, store: str | Path
) -> None:
    app = Ledger(store, run="small")

    def t(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
        return datetime(2027, month, day, hour, minute, tzinfo=UTC)

    ws = app.open_workspace("w", t(1, 15, 10), BOOK, Plan.STANDARD)  # 625 credits, $15
    ws.purchase_credits(t(1, 20, 12), 1000)  # $10
    # 10 x 50 from 09:00 every 30 min, one refunded: 500 used, 50 refunded, 450 kept.
    ws.generate(t(1, 25, 9), 30 * MINUTE_US, 10, TaskSpec("gen4.5", 50), refunded=[4])
    # 23:00 and 23:30 in January, 00:00 on February 1st: 100 then 50, from plan.
    ws.generate(t(1, 31, 23), 30 * MINUTE_US, 3, TaskSpec("gen4.5", 50))
    ws.pass_billing_date(t(2, 15, 10))  # $15; 25 plan credits forfeited; 625 again
    # 1,625 credits: 16 of 20 go through (1,600), 4 refused.
    ws.generate(t(2, 20, 9), MINUTE_US, 20, TaskSpec("gen4.5", 100))

    org = app.open_organization(
        "o", t(1, 10, 8), BOOK, autobill=AutobillSettings(threshold=500, amount=1000)
    )
    org.purchase_credits(t(1, 10, 8), 2000)  # $20
    video = TaskSpec("gen4_turbo", 60, processing_us=5 * MINUTE_US)
    org.submit_tasks(t(1, 11, 10), MINUTE_US, 30, video, 2, 1000, refunded=[0])  # 1,800 used
    org.check_autobill(t(1, 11, 11))  # 260 < 500: +1,000 for $10
    org.submit_tasks(t(2, 2, 10), MINUTE_US, 30, video, 2, 1000)  # 21 fit, 9 refused
    org.check_autobill(t(2, 2, 11))  # 0 < 500: +1,000 for $10
    app.flush()

    with Projector(app, tmp_path / "ledger.duckdb", t(1, 1), t(3, 1)) as projector:
        projector.project()
        rows = projector.conn.execute(
            "SELECT month, account_id, granted, purchased, charged, refunded, used, forfeited, "
            "usd_spent, rejected, closing_balance FROM monthly_summary ORDER BY account_id, month"
        ).fetchall()
    jan, feb = date(2027, 1, 1), date(2027, 2, 1)
    # used = charged - refunded (W14, A11): what the tasks kept.
    assert rows == [
        (jan, "o", 0, 3000, 1800, 60, 1740, 0, Decimal("30.00"), 0, 1260),
        (feb, "o", 0, 1000, 1260, 0, 1260, 0, Decimal("10.00"), 9, 1000),
        (jan, "w", 625, 1000, 600, 50, 550, 0, Decimal("25.00"), 0, 1075),
        (feb, "w", 625, 0, 1650, 0, 1650, 25, Decimal("15.00"), 4, 25),
    ]
