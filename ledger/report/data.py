"""What a report shows, read from a run's DuckDB file (read-only).

``load_report`` turns the projection tables into plain immutable values
(credits ``int``, dollars ``Decimal``, instants ``datetime`` in UTC), so the
rendering in ``ledger.report.html`` is a pure function with no database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb

from ledger.domain.time import utc
from ledger.runs import RunInfo
from projections import queries, schema

# usd_ledger kinds that buy credits; the others pay for the plan and its seats.
CREDIT_KINDS = ("purchase", "refill", "autobill")


@dataclass(frozen=True, slots=True)
class DayBalance:
    """End of one UTC day (``daily_balances``); web buckets are None on the API."""

    day: date
    opened: bool
    balance: int
    plan: int | None
    purchased: int | None
    plan_name: str | None
    tier: int | None


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One calendar month of the window (``monthly_summary``), dollars split by use."""

    month: date  # its first day
    usd_spent: Decimal
    usd_plan: Decimal  # subscription, renewals, upgrades, seats (negative: a seat credit)
    usd_credits: Decimal  # purchases, Auto Refill, autobill
    granted: int
    purchased: int
    used: int
    refunded: int
    forfeited: int
    rejected: int
    closing_balance: int | None


@dataclass(frozen=True, slots=True)
class Reset:
    """W05/W06/W13/W16: a refresh of the plan bucket, or another forfeit of plan credits."""

    at: datetime
    granted: int  # the allowance the bucket was set to (0 when nothing was granted)
    forfeited: int
    reason: str  # 'reset' for a billing-day refresh; cancellation, plan_start ... otherwise


@dataclass(frozen=True, slots=True)
class TopUp:
    """Credits bought (purchase, Auto Refill, autobill), or an autobill charge that failed."""

    at: datetime
    kind: str  # purchase | refill | autobill | autobill_failed
    credits: int
    usd: Decimal
    capped: bool  # A07: an autobill recharge cut to what the 30-day cap left
    detail: str  # failures: the reason and the attempt


@dataclass(frozen=True, slots=True)
class RefusalDay:
    """Everything refused on one UTC day, by (kind, reason)."""

    day: date
    last_at: datetime
    tasks: int  # generations and tasks refused
    other: int  # purchases, editors, keys ... refused
    by_reason: tuple[tuple[str, int], ...]  # ('task: daily_limit', 650), ...


@dataclass(frozen=True, slots=True)
class Change:
    """A plan (web) or tier (API) that took effect at ``at``."""

    at: datetime
    change: str  # subscribed | upgraded | downgraded | ended | opened | raised
    before: str | None
    after: str
    usd: Decimal | None  # web: what the change cost; API: cumulative purchases


@dataclass(frozen=True, slots=True)
class AccountReport:
    account: str
    surface: str  # 'web' | 'api'
    summary: queries.AccountSummary
    days: tuple[DayBalance, ...]
    months: tuple[MonthFigures, ...]
    resets: tuple[Reset, ...]
    topups: tuple[TopUp, ...]
    refusals: tuple[RefusalDay, ...]
    changes: tuple[Change, ...]

    @property
    def web(self) -> bool:
        return self.surface == "web"


@dataclass(frozen=True, slots=True)
class RunReport:
    name: str
    scenario_file: str
    folder: str
    start: datetime
    end: datetime
    until: datetime | None
    events: int
    accounts: tuple[AccountReport, ...]


def load_report(info: RunInfo) -> RunReport:
    """Read everything the report shows from the run's DuckDB file, read-only."""
    conn = queries.connect(info.duckdb_path)
    try:
        return read_report(conn, info)
    finally:
        conn.close()


def read_report(conn: duckdb.DuckDBPyConnection, info: RunInfo) -> RunReport:
    return RunReport(
        name=info.name,
        scenario_file=info.scenario_file,
        folder=str(info.folder),
        start=utc(info.start),
        end=utc(info.end),
        until=None if info.until is None else utc(info.until),
        events=int(info.stats.get("events", 0) or 0),
        accounts=tuple(read_account(conn, account) for account, _ in queries.accounts(conn)),
    )


def read_account(conn: duckdb.DuckDBPyConnection, account: str) -> AccountReport:
    summary = queries.account_summary(conn, account)
    return AccountReport(
        account=account,
        surface=summary["surface"],
        summary=summary,
        days=_days(conn, account),
        months=_months(conn, account),
        resets=_resets(conn, account) if summary["surface"] == "web" else (),
        topups=_topups(conn, account),
        refusals=_refusals(conn, account),
        changes=_changes(conn, account, summary["surface"]),
    )


def _days(conn: duckdb.DuckDBPyConnection, account: str) -> tuple[DayBalance, ...]:
    return tuple(
        DayBalance(
            day=row["day"],
            opened=bool(row["opened"]),
            balance=int(row["balance"] or 0),
            plan=None if row["plan"] is None or row["surface"] != "web" else int(row["plan"]),
            purchased=None
            if row["purchased"] is None or row["surface"] != "web"
            else int(row["purchased"]),
            plan_name=row["plan_name"],
            tier=None if row["tier"] is None else int(row["tier"]),
        )
        for row in queries.daily_balances(conn, account)
    )


MONTHS = f"""
WITH money AS (
    SELECT CAST(date_trunc('month', {schema.utc_day("ts")}) AS DATE) AS month,
           SUM(usd) FILTER (WHERE kind NOT IN {schema.sql_list(CREDIT_KINDS)}) AS plan_usd,
           SUM(usd) FILTER (WHERE kind IN {schema.sql_list(CREDIT_KINDS)}) AS credits_usd
    FROM usd_ledger
    WHERE account_id = $account
    GROUP BY ALL
)
SELECT m.month, m.usd_spent, COALESCE(money.plan_usd, 0), COALESCE(money.credits_usd, 0),
       m.granted, m.purchased, m.used, m.refunded, m.forfeited, m.rejected, m.closing_balance
FROM monthly_summary m LEFT JOIN money USING (month)
WHERE m.account_id = $account
ORDER BY m.month
"""


def _months(conn: duckdb.DuckDBPyConnection, account: str) -> tuple[MonthFigures, ...]:
    out = []
    for row in conn.execute(MONTHS, {"account": account}).fetchall():
        month, spent, plan_usd, credits_usd, granted, bought, used, refunded = row[:8]
        forfeited, rejected, closing = row[8:]
        out.append(
            MonthFigures(
                month=month,
                usd_spent=Decimal(spent),
                usd_plan=Decimal(plan_usd),
                usd_credits=Decimal(credits_usd),
                granted=int(granted),
                purchased=int(bought),
                used=int(used),
                refunded=int(refunded),
                forfeited=int(forfeited),
                rejected=int(rejected),
                closing_balance=None if closing is None else int(closing),
            )
        )
    return tuple(out)


# A reset is two events at one instant: CreditsForfeited (the unused rest, if
# any), then PlanCreditsRefreshed; a cancellation forfeits without a refresh.
RESETS = """
WITH refreshes AS (
    SELECT ts, SUM(delta) AS granted
    FROM ledger_entries
    WHERE account_id = $account AND reason = 'refresh'
    GROUP BY ts
),
forfeits AS (
    SELECT ts, SUM(amount) AS amount, min(reason) AS reason
    FROM forfeited_credits
    WHERE account_id = $account
    GROUP BY ts
)
SELECT ts, COALESCE(r.granted, 0), COALESCE(f.amount, 0),
       CASE WHEN r.ts IS NOT NULL THEN 'reset' ELSE f.reason END
FROM refreshes r FULL OUTER JOIN forfeits f USING (ts)
ORDER BY ts
"""


def _resets(conn: duckdb.DuckDBPyConnection, account: str) -> tuple[Reset, ...]:
    return tuple(
        Reset(at=utc(ts), granted=int(granted), forfeited=int(amount), reason=str(reason))
        for ts, granted, amount, reason in conn.execute(RESETS, {"account": account}).fetchall()
    )


TOPUPS = f"""
SELECT u.seq, u.ts, u.kind, COALESCE(u.credits, 0), u.usd, COALESCE(a.capped, false), ''
FROM usd_ledger u
LEFT JOIN autobill_topups a ON a.seq = u.seq AND a.outcome = 'topped_up'
WHERE u.account_id = $account AND u.kind IN {schema.sql_list(CREDIT_KINDS)}
UNION ALL
SELECT seq, ts, 'autobill_failed', 0, CAST(0 AS DECIMAL(18, 2)), false,
       COALESCE(reason, 'failed') || ', attempt ' || COALESCE(CAST(attempt AS VARCHAR), '?')
       || CASE WHEN disabled THEN ', autobill now off' ELSE '' END
FROM autobill_topups
WHERE account_id = $account AND outcome = 'failed'
ORDER BY 1
"""


def _topups(conn: duckdb.DuckDBPyConnection, account: str) -> tuple[TopUp, ...]:
    return tuple(
        TopUp(
            at=utc(ts),
            kind=str(kind),
            credits=int(credits),
            usd=Decimal(usd),
            capped=bool(capped),
            detail=str(detail),
        )
        for _, ts, kind, credits, usd, capped, detail in conn.execute(
            TOPUPS, {"account": account}
        ).fetchall()
    )


REFUSALS = f"""
SELECT {schema.utc_day("ts")} AS day, max(ts), kind, reason, SUM(count)
FROM refusals
WHERE account_id = $account
GROUP BY ALL
ORDER BY day, kind, reason
"""


def _refusals(conn: duckdb.DuckDBPyConnection, account: str) -> tuple[RefusalDay, ...]:
    by_day: dict[date, list[tuple[datetime, str, str, int]]] = defaultdict(list)
    for day, last, kind, reason, count in conn.execute(REFUSALS, {"account": account}).fetchall():
        by_day[day].append((utc(last), str(kind), str(reason), int(count)))
    out = []
    for day, rows in sorted(by_day.items()):
        tasks = sum(n for _, kind, _, n in rows if kind in ("generation", "task"))
        out.append(
            RefusalDay(
                day=day,
                last_at=max(at for at, _, _, _ in rows),
                tasks=tasks,
                other=sum(n for _, _, _, n in rows) - tasks,
                by_reason=tuple((f"{kind}: {reason}", n) for _, kind, reason, n in rows),
            )
        )
    return tuple(out)


PLAN_CHANGES = """
SELECT ts, change, from_plan, to_plan, usd FROM plan_history
WHERE account_id = $account ORDER BY seq
"""
TIER_CHANGES = """
SELECT ts, change, CAST(from_tier AS VARCHAR), CAST(to_tier AS VARCHAR), cumulative_usd
FROM tier_history WHERE account_id = $account ORDER BY seq
"""


def _changes(conn: duckdb.DuckDBPyConnection, account: str, surface: str) -> tuple[Change, ...]:
    sql = PLAN_CHANGES if surface == "web" else TIER_CHANGES
    return tuple(
        Change(
            at=utc(ts),
            change=str(change),
            before=None if before is None else str(before),
            after="none" if after is None else str(after),
            usd=None if usd is None else Decimal(usd),
        )
        for ts, change, before, after, usd in conn.execute(sql, {"account": account}).fetchall()
    )
