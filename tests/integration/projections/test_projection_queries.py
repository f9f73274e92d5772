"""The named queries the CLI uses, on a read-only connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from projections import queries
from tests.integration.projections.projection_kit import Projected


@pytest.fixture(scope="module")
def read_only(projected: Projected) -> Iterator[duckdb.DuckDBPyConnection]:
    """A second process's view: DuckDB allows it once the writer is gone, so
    this reads a copy of the file (the session's projector stays open)."""
    copy = projected.duckdb_path.with_name("copy.duckdb")
    projected.conn.execute("CHECKPOINT")
    copy.write_bytes(projected.duckdb_path.read_bytes())
    conn = queries.connect(copy)
    queries.install_macros(conn)
    yield conn
    conn.close()


def test_a_read_only_connection_refuses_writes(read_only: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error):
        read_only.execute("DELETE FROM events")


def test_accounts_lists_workspaces_first(read_only: duckdb.DuckDBPyConnection) -> None:
    assert queries.accounts(read_only) == [
        ("solo", "web"),
        ("starter", "web"),
        ("studio", "web"),
        ("backend", "api"),
        ("lab", "api"),
    ]


def test_summary_of_a_workspace(read_only: duckdb.DuckDBPyConnection, projected: Projected) -> None:
    s = queries.account_summary(read_only, "studio")
    assert s["surface"] == "web"
    # One meaning of "used": charged less refunded (W14), what the tasks kept.
    assert s["refunded"] > 0 and s["used"] == s["charged"] - s["refunded"]
    assert s["granted"] + s["bought"] - s["used"] - s["forfeited"] == s["final_balance"]
    end = projected.app.balances_at("studio", datetime(2027, 4, 30, tzinfo=UTC))
    assert s["final_balance"] == end.balance
    assert s["refused"] == {"insufficient_credits": s["refused"]["insufficient_credits"]}
    assert s["other_refusals"] == {"editor": 2, "plan_change": 1, "purchase": 1}
    assert [plan for _, plan in s["plans"]] == ["pro", "standard", "unlimited", "free"]
    assert s["usd_total"] == sum((usd for _, usd in s["usd_by_month"]), Decimal("0"))
    assert [month for month, _ in s["usd_by_month"]] == [
        "2027-01",
        "2027-02",
    ]  # cancelled: no renewal
    assert s["tiers"] == [] and s["worst_wait_s"] is None


def test_summary_of_an_organization(read_only: duckdb.DuckDBPyConnection) -> None:
    s = queries.account_summary(read_only, "backend")
    assert s["surface"] == "api" and s["forfeited"] == 0 and s["granted"] == 0
    assert [tier for _, tier in s["tiers"]] == [1, 2, 3, 4]
    assert s["tiers"][0] == ("2027-01-02T08:00:00+00:00", 1)
    assert set(s["refused"]) >= {"daily_limit", "insufficient_credits"}
    assert s["worst_wait_s"] is not None and s["worst_wait_s"] > 0
    assert s["flagged_keys"] == ["k-dev2"]
    assert len(queries.summaries(read_only)) == 5


def test_a10_keys_left_active_are_flagged_until_disabled(
    read_only: duckdb.DuckDBPyConnection,
) -> None:
    findings = {
        (f["key"], f["flagged_since"], f["flagged_until"], f["still_flagged"])
        for f in queries.key_findings(read_only)
    }
    assert findings == {
        ("k-dev", "2027-02-01T00:00:00+00:00", "2027-02-15T00:00:00+00:00", False),
        ("k-dev2", "2027-02-01T00:00:00+00:00", None, True),
    }


def test_audit_trail_carries_the_balances_after_each_event(
    read_only: duckdb.DuckDBPyConnection, projected: Projected
) -> None:
    trail = queries.audit_trail(
        read_only,
        "studio",
        since=datetime(2027, 1, 8, tzinfo=UTC),
        until=datetime(2027, 1, 11, tzinfo=UTC),
    )
    assert [row["event"] for row in trail] == ["GenerationCharged", "GenerationCharged"]
    for row in trail:
        at = datetime.fromisoformat(row["at"])
        expected = projected.app.balances_at("studio", at)
        assert (row["plan"], row["purchased"], row["balance"]) == (
            expected.plan,
            expected.purchased,
            expected.balance,
        )


def test_daily_balances_of_one_account_between_two_days(
    read_only: duckdb.DuckDBPyConnection,
) -> None:
    rows = queries.daily_balances(read_only, "lab", start=date(2027, 1, 30), end=date(2027, 2, 2))
    assert [(str(r["day"]), r["opened"]) for r in rows] == [
        ("2027-01-30", False),
        ("2027-01-31", False),
        ("2027-02-01", True),
        ("2027-02-02", True),
    ]
    assert rows[2]["balance"] == 1000 and rows[2]["tier"] == 1
