"""The report's named read-only queries on a projected run (``credit-ledger report``).

Each function takes an open connection (``queries.connect``) and one
account's name, and returns the rows of one question as DuckDB gives them;
``ledger.tools.report.data`` turns them into the report's immutable values.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.effects import Move, Payment
from projections import schema
from projections.queries import Connection

# usd_ledger kinds (the declared payments, ledger.domain.effects) that buy credits;
# the others pay for (part of) a billing period of the plan and its seats.
CREDIT_KINDS = tuple(p.value for p in Payment if p.buys_credits)
PLAN_KINDS = tuple(p.value for p in Payment if not p.buys_credits)

Rows = list[tuple[Any, ...]]

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


def months(conn: Connection, account: str) -> Rows:
    """Per month of the window (``monthly_summary``): month, usd_spent, plan dollars,
    credit dollars, granted, purchased, used, refunded, forfeited, rejected, closing."""
    return conn.execute(MONTHS, {"account": account}).fetchall()


# The billing of a workspace (monthly or annual) is set when it subscribes.
BILLING = """
SELECT json_extract_string(payload, '$.billing') FROM events
WHERE account_id = $account AND event_type = 'PlanSubscribed'
ORDER BY seq LIMIT 1
"""
PLAN_PAYMENTS = f"""
SELECT u.ts, u.kind, u.usd, p.from_plan
FROM usd_ledger u
LEFT JOIN plan_history p ON p.seq = u.seq AND p.change = 'upgraded'
WHERE u.account_id = $account AND u.kind IN {schema.sql_list(PLAN_KINDS)}
ORDER BY u.seq
"""


def billing(conn: Connection, account: str) -> str | None:
    """A workspace's billing (``monthly`` or ``annual``) from its subscription, if any."""
    found = conn.execute(BILLING, {"account": account}).fetchone()
    return str(found[0]) if found and found[0] else None


def plan_payments(conn: Connection, account: str) -> Rows:
    """The plan and seat payments in log order: ts, kind, usd, the plan upgraded from."""
    return conn.execute(PLAN_PAYMENTS, {"account": account}).fetchall()


SEATS = """
SELECT ts, action, editor, usd, reason FROM seat_changes
WHERE account_id = $account ORDER BY seq, editor
"""


def seats(conn: Connection, account: str) -> Rows:
    """W03/W04: every seat change in log order: ts, action, editor, usd, reason."""
    return conn.execute(SEATS, {"account": account}).fetchall()


# A reset is two events at one instant: CreditsForfeited (the unused rest, if
# any), then PlanCreditsRefreshed; a cancellation forfeits without a refresh.
RESETS = f"""
WITH refreshes AS (
    SELECT ts, SUM(delta) AS granted
    FROM ledger_entries
    WHERE account_id = $account AND reason = '{Move.REFRESH.value}'
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


def resets(conn: Connection, account: str) -> Rows:
    """W05/W06/W13/W16: refreshes and forfeits of plan credits: ts, granted, amount, reason."""
    return conn.execute(RESETS, {"account": account}).fetchall()


# A failed autobill charge is declined by the card (A05) or blocked because the
# 30-day purchase cap left less than a recharge can be (A07, `monthly_cap`).
TOPUPS = f"""
SELECT u.seq, u.ts, u.kind, COALESCE(u.credits, 0), u.usd, COALESCE(a.capped, false), ''
FROM usd_ledger u
LEFT JOIN autobill_topups a ON a.seq = u.seq AND a.outcome = 'topped_up'
WHERE u.account_id = $account AND u.kind IN {schema.sql_list(CREDIT_KINDS)}
UNION ALL
SELECT seq, ts,
       CASE WHEN reason = 'monthly_cap' THEN 'autobill_blocked' ELSE 'autobill_declined' END,
       0, CAST(0 AS DECIMAL(18, 2)), false,
       COALESCE(reason, 'failed') || ', attempt ' || COALESCE(CAST(attempt AS VARCHAR), '?')
       || CASE WHEN remaining_usd IS NOT NULL AND reason = 'monthly_cap'
               THEN ', $' || CAST(remaining_usd AS VARCHAR) || ' left under the cap'
               ELSE '' END
       || CASE WHEN disabled THEN ', autobill now off' ELSE '' END
FROM autobill_topups
WHERE account_id = $account AND outcome = 'failed'
ORDER BY 1
"""


def topups(conn: Connection, account: str) -> Rows:
    """Credits bought and failed autobill charges in log order:
    seq, ts, kind, credits, usd, capped, detail."""
    return conn.execute(TOPUPS, {"account": account}).fetchall()


REFUSALS = f"""
SELECT {schema.utc_day("ts")} AS day, max(ts), kind, reason, SUM(count)
FROM refusals
WHERE account_id = $account
GROUP BY ALL
ORDER BY day, kind, reason
"""


def refusals(conn: Connection, account: str) -> Rows:
    """Everything refused, per UTC day, kind and reason: day, last ts, kind, reason, count."""
    return conn.execute(REFUSALS, {"account": account}).fetchall()


PLAN_CHANGES = """
SELECT ts, change, from_plan, to_plan, usd FROM plan_history
WHERE account_id = $account ORDER BY seq
"""
TIER_CHANGES = """
SELECT ts, change, CAST(from_tier AS VARCHAR), CAST(to_tier AS VARCHAR), cumulative_usd
FROM tier_history WHERE account_id = $account ORDER BY seq
"""


def changes(conn: Connection, account: str, surface: str) -> Rows:
    """The plans (web) or tiers (API) in log order: ts, change, before, after, usd."""
    sql = PLAN_CHANGES if surface == "web" else TIER_CHANGES
    return conn.execute(sql, {"account": account}).fetchall()
