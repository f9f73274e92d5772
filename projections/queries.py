"""Named read-only queries on a projected run (what the CLI asks DuckDB).

Every function takes an open connection, so the same code serves a
read-only connection on a run's file (``connect``) and the projector's own
connection in tests. Credits come back as ``int``, dollars as ``Decimal``,
instants as ISO 8601 strings in UTC.

This package is the one read API of a run's projection: nothing above it
(``ledger``, ``ledger.tools``, ``scenarios``) imports ``duckdb`` or writes SQL
(an import-linter contract, ``make contracts``). Code above names a
connection ``Connection`` and catches ``DatabaseError``; a user's own SQL
goes through ``projections.sandbox``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias, TypedDict

import duckdb

from ledger.domain.effects import Figure
from ledger.domain.time import utc
from projections import schema

# What code above this package calls a connection and a DuckDB failure (a damaged
# file, a refused statement), so that it never imports duckdb itself.
Connection: TypeAlias = duckdb.DuckDBPyConnection
DatabaseError = duckdb.Error


class AccountNotFound(LookupError):
    """No account of that name, or not opened yet at the instant asked for."""


# Every read-only connection on a run's file opens with these settings. DuckDB
# shares one database instance between the connections of a process to the
# same file and refuses a second connection with other settings, so our own
# reads and a user's sandboxed queries (``projections.sandbox``) use the same.
READ_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
}


def connect(path: str | Path) -> Connection:
    """A read-only connection on a run's DuckDB file, in UTC, with no access outside it."""
    conn = duckdb.connect(str(path), read_only=True, config=dict(READ_CONFIG))
    try:
        row = conn.execute("SELECT current_setting('TimeZone')").fetchone()
        if row is None or row[0] != "UTC":
            # GLOBAL: every later connection to this file in the process starts in UTC,
            # so it needs no SET once a sandboxed connection has locked the settings.
            conn.execute("SET GLOBAL TimeZone = 'UTC'")
    except BaseException:
        conn.close()
        raise
    return conn


def install_macros(conn: Connection) -> None:
    """Make sure ``balance_at`` is callable on ``conn``.

    The projector stores the macro in the file, so this does nothing on a
    current file; on a file without it (another schema version), it defines
    a temporary one, which a read-only connection allows. A file without the
    run tables (a forecast folder's) has nothing for it to read: none then.
    """
    row = conn.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'balance_at'"
    ).fetchall()  # fetched to the end: nothing left pending on the caller's connection
    tables = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'accounts'"
    ).fetchall()
    if (not row or row[0][0] == 0) and tables and tables[0][0] > 0:
        for macro in schema.MACROS:
            conn.execute(macro.replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO"))


# ------------------------------------------------------------------ balances

BALANCE_AT = "SELECT surface, plan, purchased, balance, plan_name, tier FROM balance_at(?, ?)"


def balance_at(conn: Connection, account: str, at: datetime) -> dict[str, Any]:
    """S05: an account's balances at instant ``at`` (every event stamped <= at).

    The same shape as ``ledger.application.Balances.as_dict()``: ``plan``,
    ``purchased``, ``balance`` and ``plan_name`` for a workspace; ``balance``
    and ``tier`` for an organization.
    """
    at = utc(at)
    row = conn.execute(BALANCE_AT, [account, at]).fetchone()
    if row is None:
        raise AccountNotFound(f"no account {account!r} at {at.isoformat()}")
    surface, plan, purchased, balance, plan_name, tier = row
    out: dict[str, Any] = {"account": account, "surface": surface, "at": at.isoformat()}
    if surface == "web":
        out.update(plan=plan, purchased=purchased, balance=balance, plan_name=plan_name)
    else:
        out.update(balance=balance, tier=tier)
    return out


DAILY_BALANCES = f"""
SELECT day, surface, plan, purchased, balance, plan_name, tier, opened
FROM {schema.DAILY_BALANCES.name}
WHERE account_id = ?
  AND day BETWEEN COALESCE(?, DATE '0001-01-01') AND COALESCE(?, DATE '9999-12-31')
ORDER BY day
"""


def daily_balances(
    conn: Connection,
    account: str,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """End-of-day figures of one account, every day of the window (or of [start, end])."""
    cursor = conn.execute(DAILY_BALANCES, [account, start, end])
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# ------------------------------------------------------------------ accounts

ACCOUNTS = "SELECT account_id, surface, created_at FROM accounts ORDER BY surface DESC, account_id"


def accounts(conn: Connection) -> list[tuple[str, str]]:
    """(name, surface) of every account, workspaces first."""
    return [(name, surface) for name, surface, _ in conn.execute(ACCOUNTS).fetchall()]


def _surface(conn: Connection, account: str) -> str:
    row = conn.execute("SELECT surface FROM accounts WHERE account_id = ?", [account]).fetchone()
    if row is None:
        raise AccountNotFound(f"no account {account!r} in this run")
    return str(row[0])


# ------------------------------------------------------------------- summary


class AccountSummary(TypedDict):
    """What happened to one account over the whole log (the summary of ``run``)."""

    account: str
    surface: str
    granted: int  # plan credits given: grant, refresh, upgrade
    bought: int  # credits bought: purchases, Auto Refill, autobill
    charged: int  # credits charged for tasks, refunded ones included
    refunded: int  # credits given back for tasks that failed (W14, A11)
    used: int  # charged - refunded: what the tasks kept
    forfeited: int
    final_balance: int
    tasks_charged: int
    refused: dict[str, int]  # reason -> generations or tasks refused
    other_refusals: dict[str, int]  # kind (purchase, editor, key ...) -> refusals
    usd_total: Decimal
    usd_by_month: list[tuple[str, Decimal]]  # ('YYYY-MM', dollars paid)
    plans: list[tuple[str, str]]  # web: (since, plan)
    tiers: list[tuple[str, int]]  # api: (since, tier)
    worst_wait_s: Decimal | None  # api, A09
    worst_wait_at: str | None
    worst_wait_model: str | None
    flagged_keys: list[str]  # api, A10: keys still flagged at the end
    deferred: int  # api, A08 defer: tasks that waited for room in the 24 h window
    deferred_waiting: int  # of those, still waiting when the log ends
    longest_deferral_s: Decimal | None  # the longest wait for room
    deferred_finished_by: str | None  # when the last deferred task finished


CREDIT_TOTALS = f"""
SELECT
    COALESCE({schema.figure_sql(Figure.GRANTED)}, 0),
    COALESCE({schema.figure_sql(Figure.BOUGHT)}, 0),
    COALESCE({schema.figure_sql(Figure.CHARGED)}, 0),
    COALESCE({schema.figure_sql(Figure.REFUNDED)}, 0),
    COALESCE({schema.figure_sql(Figure.FORFEITED)}, 0),
    COALESCE(SUM(delta), 0)
FROM ledger_entries
WHERE account_id = ? AND surface = ?
"""
TASKS_CHARGED = "SELECT COALESCE(SUM(count), 0) FROM task_runs WHERE account_id = ? AND surface = ?"
TASKS_REFUSED = f"""
SELECT reason, SUM(count) FROM refusals
WHERE account_id = ? AND surface = ? AND kind IN {schema.sql_list(schema.TASK_REFUSAL_KINDS)}
GROUP BY reason ORDER BY reason
"""
OTHER_REFUSALS = f"""
SELECT kind, count(*) FROM refusals
WHERE account_id = ? AND surface = ? AND kind NOT IN {schema.sql_list(schema.TASK_REFUSAL_KINDS)}
GROUP BY kind ORDER BY kind
"""
USD_BY_MONTH = f"""
SELECT strftime({schema.utc_day("ts")}, '%Y-%m') AS month, SUM(usd)
FROM usd_ledger WHERE account_id = ? AND surface = ?
GROUP BY month ORDER BY month
"""
TIER_DATES = "SELECT to_tier, ts FROM tier_history WHERE account_id = ? ORDER BY seq"
PLAN_DATES = "SELECT to_plan, ts FROM plan_history WHERE account_id = ? ORDER BY seq"
WORST_QUEUE_WAIT = """
SELECT max_wait_s, max_wait_at, model FROM queue_waits
WHERE account_id = ? ORDER BY max_wait_us DESC, seq LIMIT 1
"""
FLAGGED_KEYS = "SELECT key FROM key_findings WHERE account_id = ? AND still_flagged ORDER BY key"
DEFERRALS = """
SELECT COALESCE(sum(count) FILTER (WHERE outcome = 'deferred'), 0),
       COALESCE(sum(count) FILTER (WHERE outcome <> 'deferred'), 0),
       max(deferred_s), max(finished_at)
FROM deferred_tasks WHERE account_id = ?
"""


def _iso(at: datetime) -> str:
    return utc(at).isoformat()


def account_summary(conn: Connection, account: str) -> AccountSummary:
    surface = _surface(conn, account)
    args = [account, surface]
    totals = conn.execute(CREDIT_TOTALS, args).fetchone()
    assert totals is not None  # an aggregate without GROUP BY returns one row
    granted, bought, charged, refunded, forfeited, balance = (int(v) for v in totals)
    tasks = conn.execute(TASKS_CHARGED, args).fetchone()
    by_month = [(str(m), Decimal(u)) for m, u in conn.execute(USD_BY_MONTH, args).fetchall()]
    web = surface == "web"
    worst = None if web else conn.execute(WORST_QUEUE_WAIT, [account]).fetchone()
    deferrals = conn.execute(DEFERRALS, [account]).fetchone()
    assert deferrals is not None
    deferred, went, longest, finished_by = deferrals
    return AccountSummary(
        account=account,
        surface=surface,
        granted=granted,
        bought=bought,
        charged=charged,
        refunded=refunded,
        used=charged - refunded,
        forfeited=forfeited,
        final_balance=balance,
        tasks_charged=int(tasks[0]) if tasks else 0,
        refused={str(r): int(n) for r, n in conn.execute(TASKS_REFUSED, args).fetchall()},
        other_refusals={str(k): int(n) for k, n in conn.execute(OTHER_REFUSALS, args).fetchall()},
        usd_total=sum((usd for _, usd in by_month), Decimal("0.00")),
        usd_by_month=by_month,
        plans=_dated(conn, PLAN_DATES, account) if web else [],
        tiers=[] if web else [(at, int(t)) for at, t in _dated(conn, TIER_DATES, account)],
        worst_wait_s=None if worst is None else Decimal(worst[0]),
        worst_wait_at=None if worst is None else _iso(worst[1]),
        worst_wait_model=None if worst is None else str(worst[2]),
        flagged_keys=[]
        if web
        else [str(k) for (k,) in conn.execute(FLAGGED_KEYS, [account]).fetchall()],
        deferred=int(deferred),
        deferred_waiting=int(deferred) - int(went),
        longest_deferral_s=None if longest is None else Decimal(longest),
        deferred_finished_by=None if finished_by is None else _iso(finished_by),
    )


def _dated(conn: Connection, sql: str, account: str) -> list[tuple[str, Any]]:
    return [(_iso(ts), value) for value, ts in conn.execute(sql, [account]).fetchall()]


def summaries(conn: Connection) -> list[AccountSummary]:
    """``account_summary`` of every account, workspaces first."""
    return [account_summary(conn, name) for name, _ in accounts(conn)]


# --------------------------------------------------------------- audit trail

AUDIT_TRAIL = """
WITH moves AS (
    SELECT seq,
           SUM(delta) FILTER (WHERE bucket = 'plan') AS plan,
           SUM(delta) FILTER (WHERE bucket = 'purchased') AS purchased,
           SUM(delta) AS total
    FROM ledger_entries WHERE account_id = $account AND surface = $surface
    GROUP BY seq
),
trail AS (
    SELECT e.seq, e.ts, e.event_type, e.payload,
           SUM(COALESCE(m.plan, 0)) OVER w AS plan,
           SUM(COALESCE(m.purchased, 0)) OVER w AS purchased,
           SUM(COALESCE(m.total, 0)) OVER w AS balance
    FROM events e LEFT JOIN moves m USING (seq)
    WHERE e.account_id = $account AND e.surface = $surface
    WINDOW w AS (ORDER BY e.seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT seq, ts, event_type, payload, plan, purchased, balance FROM trail
WHERE ts >= COALESCE($since, ts) AND ts <= COALESCE($until, ts)
ORDER BY seq
"""


def audit_trail(
    conn: Connection,
    account: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every event of an account in log order, with its balances once it is over.

    A grouped run shows the balances after its last task (the event's
    timestamp); ``balance_at`` answers for instants inside it.
    """
    surface = _surface(conn, account)
    params = {
        "account": account,
        "surface": surface,
        "since": None if since is None else utc(since),
        "until": None if until is None else utc(until),
    }
    out = []
    for seq, ts, event_type, payload, plan, purchased, balance in conn.execute(
        AUDIT_TRAIL, params
    ).fetchall():
        row: dict[str, Any] = {
            "seq": seq,
            "at": _iso(ts),
            "event": event_type,
            "payload": payload,
            "balance": int(balance),
        }
        if surface == "web":
            row.update(plan=int(plan), purchased=int(purchased))
        out.append(row)
    return out


# -------------------------------------------------------------- key findings

KEY_FINDINGS = """
SELECT account_id, key, created_by, created_at, flagged_since, flagged_until, still_flagged
FROM key_findings ORDER BY account_id, key, flagged_since
"""


def key_findings(conn: Connection) -> list[dict[str, Any]]:
    """A10: keys left active after their creator was removed, and for how long."""
    out = []
    for account, key, by, created, since, until, still in conn.execute(KEY_FINDINGS).fetchall():
        out.append(
            {
                "account": account,
                "key": key,
                "created_by": by,
                "created_at": None if created is None else _iso(created),
                "flagged_since": _iso(since),
                "flagged_until": None if until is None else _iso(until),
                "still_flagged": bool(still),
            }
        )
    return out


# ------------------------------------------------------------------ credits per model per day

# Used (charged - refunded) per UTC day and model: each day slice's kept credits,
# the slice of ledger.domain.effects.run_slices whose movements ledger_entries holds.
CREDITS_BY_MODEL_DAY = """
SELECT day, model, SUM(kept) AS net
FROM task_runs WHERE account_id = ? GROUP BY day, model ORDER BY day, model
"""

REFUSALS_BY_MODEL_DAY = """
SELECT CAST(ts AS DATE) AS day, model, reason, SUM(count) AS tasks
FROM refusals WHERE account_id = ? AND model IS NOT NULL
GROUP BY ALL ORDER BY ALL
"""


def credits_by_model_day(conn: Connection, account: str) -> dict[tuple[date, str], int]:
    """Net credits (charged minus refunded) of an account's tasks, per UTC day and model."""
    rows = conn.execute(CREDITS_BY_MODEL_DAY, [account]).fetchall()
    return {(day, model): int(net) for day, model, net in rows}


def refusals_by_model_day(conn: Connection, account: str) -> dict[tuple[date, str], dict[str, int]]:
    """Tasks refused, per UTC day and model, by reason."""
    found: dict[tuple[date, str], dict[str, int]] = {}
    for day, model, reason, tasks in conn.execute(REFUSALS_BY_MODEL_DAY, [account]).fetchall():
        found.setdefault((day, model), {})[str(reason)] = int(tasks)
    return found


# ------------------------------------------------------------------ tables

TABLE_NAMES = (
    "SELECT table_name FROM information_schema.tables "
    "WHERE table_schema = 'main' ORDER BY table_name"
)


def table_names(conn: Connection) -> list[str]:
    """The tables (and views) of the file, by name (docs/tables.md describes a run's)."""
    return [str(name) for (name,) in conn.execute(TABLE_NAMES).fetchall()]


# ------------------------------------------------------------------ monthly summary

MONTHLY_COLUMNS = tuple(name for name, _ in schema.MONTHLY_SUMMARY.columns)
MONTHLY_SUMMARY = (
    f"SELECT {', '.join(MONTHLY_COLUMNS)} FROM {schema.MONTHLY_SUMMARY.name} "
    "ORDER BY surface DESC, account_id, month"
)


def monthly_summary(conn: Connection) -> list[tuple[Any, ...]]:
    """Every row of ``monthly_summary`` (columns ``MONTHLY_COLUMNS``), workspaces first,
    then by account and month."""
    return conn.execute(MONTHLY_SUMMARY).fetchall()


# ------------------------------------------------------------------ sums over an interval

FORFEITED_BETWEEN = """
SELECT COALESCE(SUM(amount), 0) FROM forfeited_credits
WHERE account_id = ? AND ts >= ? AND ts <= ?
"""
USD_BETWEEN = """
SELECT COALESCE(SUM(usd), 0) FROM usd_ledger
WHERE account_id = ? AND ts >= ? AND ts <= ?
"""
# A row is a day slice of refused tasks from first_at to ts, evenly spaced.
REFUSALS_BETWEEN = """
SELECT count, epoch_us(first_at), epoch_us(ts) FROM refusals
WHERE account_id = $1 AND ts >= $2 AND first_at <= $3 AND ($4 IS NULL OR reason = $4)
"""


def _scalar(conn: Connection, sql: str, params: list[Any]) -> Any:
    row = conn.execute(sql, params).fetchone()
    assert row is not None  # an aggregate without GROUP BY returns one row
    return row[0]


def forfeited_between(conn: Connection, account: str, since: datetime, until: datetime) -> int:
    """Credits forfeited in [since, until]."""
    return int(_scalar(conn, FORFEITED_BETWEEN, [account, since, until]))


def usd_between(conn: Connection, account: str, since: datetime, until: datetime) -> Decimal:
    """Dollars paid in [since, until]."""
    return Decimal(_scalar(conn, USD_BETWEEN, [account, since, until]))


def refusal_runs_between(
    conn: Connection, account: str, since: datetime, until: datetime, reason: str | None
) -> list[tuple[int, int, int]]:
    """Rows of ``refusals`` (of ``reason``, or every reason) that overlap [since, until]:
    (count, first instant, last instant), instants in microseconds since the epoch."""
    rows = conn.execute(REFUSALS_BETWEEN, [account, since, until, reason]).fetchall()
    return [(int(count), int(first), int(last)) for count, first, last in rows]


# ------------------------------------------------------------------ one account's months


class MonthlyFigures(TypedDict):
    """One calendar month of one account, as ``compare`` and ``diff`` count it
    (``ledger.tools.decide.measure.MonthFigures``), read from the projection."""

    month: str  # 'YYYY-MM'
    usd: Decimal  # dollars paid
    bought: int  # credits bought: purchases, Auto Refill, autobill
    charged: int  # credits charged for tasks, refunded ones included
    refunded: int  # credits given back for tasks that failed (W14, A11)
    used: int  # charged - refunded
    forfeited: int
    refused: int  # generations and tasks refused
    balance: int  # at the month's end (0 before the account opened)
    plan: int | None  # web, at the month's end
    purchased: int | None  # web, at the month's end
    tier: int | None  # api, at the month's end


MONTHLY_FIGURES = f"""
WITH month_end AS (
    SELECT CAST(date_trunc('month', day) AS DATE) AS month, plan, purchased, tier, opened
    FROM {schema.DAILY_BALANCES.name}
    WHERE account_id = $account
    QUALIFY row_number() OVER (PARTITION BY date_trunc('month', day) ORDER BY day DESC) = 1
)
SELECT strftime(m.month, '%Y-%m'), m.usd_spent, m.purchased, m.charged, m.refunded, m.used,
       m.forfeited, m.rejected, COALESCE(m.closing_balance, 0),
       e.plan, e.purchased, e.tier, COALESCE(e.opened, false)
FROM {schema.MONTHLY_SUMMARY.name} m LEFT JOIN month_end e USING (month)
WHERE m.account_id = $account
ORDER BY m.month
"""


def monthly_figures(conn: Connection, account: str) -> list[MonthlyFigures]:
    """Every month of the window for one account: what it paid, bought, used, lost and
    was refused, and its balances at the month's end (``monthly_summary``,
    ``daily_balances``)."""
    out = []
    for row in conn.execute(MONTHLY_FIGURES, {"account": account}).fetchall():
        month, usd, bought, charged, refunded, used, forfeited, refused, balance = row[:9]
        plan, purchased, tier, opened = row[9:]
        out.append(
            MonthlyFigures(
                month=str(month),
                usd=Decimal(usd),
                bought=int(bought),
                charged=int(charged),
                refunded=int(refunded),
                used=int(used),
                forfeited=int(forfeited),
                refused=int(refused),
                balance=int(balance),
                plan=_held(plan, opened),
                purchased=_held(purchased, opened),
                tier=_held(tier, opened),
            )
        )
    return out


def _held(value: Any, opened: bool) -> int | None:
    """A month-end bucket or tier: None before the account opened (nothing held yet)."""
    return None if value is None or not opened else int(value)
