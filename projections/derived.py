"""Tables recomputed in SQL from the base tables at the end of every projection.

They depend on the window (every day and month of it is present, days
without events included) and are cheap to recompute, so they are a pure
function of the base tables and the window: a rebuild and any interrupted
then resumed sequence of projections give the same rows.
"""

from __future__ import annotations

from datetime import date

import duckdb

from ledger.domain.effects import Figure
from projections import schema

_day = schema.utc_day
_in = schema.sql_list

DAILY_BALANCES = f"""
INSERT INTO daily_balances
WITH days AS (
    SELECT CAST(range AS DATE) AS day
    FROM range(CAST($first_day AS TIMESTAMP), CAST($last_day AS TIMESTAMP) + INTERVAL 1 DAY,
               INTERVAL 1 DAY)
),
grid AS (
    SELECT a.surface, a.account_id, d.day, {_day("a.created_at")} AS created_day
    FROM accounts a CROSS JOIN days d
),
moves AS (  -- entries before the window open its first day
    SELECT surface, account_id, GREATEST(day, $first_day) AS day,
           SUM(delta) FILTER (WHERE bucket = 'plan') AS plan,
           SUM(delta) FILTER (WHERE bucket = 'purchased') AS purchased,
           SUM(delta) FILTER (WHERE bucket = 'credits') AS credits
    FROM ledger_entries
    WHERE day <= $last_day
    GROUP BY ALL
),
plans AS (
    SELECT account_id, GREATEST({_day("ts")}, $first_day) AS day,
           arg_max(to_plan, seq) AS plan_name
    FROM plan_history
    WHERE {_day("ts")} <= $last_day
    GROUP BY ALL
),
tiers AS (
    SELECT account_id, GREATEST({_day("ts")}, $first_day) AS day,
           max(to_tier) AS tier
    FROM tier_history
    WHERE {_day("ts")} <= $last_day
    GROUP BY ALL
)
SELECT g.day, g.surface, g.account_id,
       CASE WHEN g.surface = 'web' THEN SUM(COALESCE(m.plan, 0)) OVER w END,
       CASE WHEN g.surface = 'web' THEN SUM(COALESCE(m.purchased, 0)) OVER w END,
       SUM(COALESCE(m.plan, 0) + COALESCE(m.purchased, 0) + COALESCE(m.credits, 0)) OVER w,
       CASE WHEN g.surface = 'web' THEN last_value(p.plan_name IGNORE NULLS) OVER w END,
       CASE WHEN g.surface = 'api' THEN max(t.tier) OVER w END,
       g.created_day <= g.day
FROM grid g
LEFT JOIN moves m ON m.surface = g.surface AND m.account_id = g.account_id AND m.day = g.day
LEFT JOIN plans p ON g.surface = 'web' AND p.account_id = g.account_id AND p.day = g.day
LEFT JOIN tiers t ON g.surface = 'api' AND t.account_id = g.account_id AND t.day = g.day
WINDOW w AS (PARTITION BY g.surface, g.account_id ORDER BY g.day
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""

MONTHLY_SUMMARY = f"""
INSERT INTO monthly_summary
WITH months AS (
    SELECT CAST(range AS DATE) AS month
    FROM range(date_trunc('month', CAST($first_day AS TIMESTAMP)),
               CAST($last_day AS TIMESTAMP) + INTERVAL 1 DAY, INTERVAL 1 MONTH)
),
grid AS (
    SELECT a.surface, a.account_id, m.month FROM accounts a CROSS JOIN months m
),
credits AS (
    SELECT surface, account_id, CAST(date_trunc('month', day) AS DATE) AS month,
           {schema.figure_sql(Figure.GRANTED)} AS granted,
           {schema.figure_sql(Figure.BOUGHT)} AS purchased,
           {schema.figure_sql(Figure.CHARGED)} AS charged,
           {schema.figure_sql(Figure.REFUNDED)} AS refunded,
           {schema.figure_sql(Figure.FORFEITED)} AS forfeited
    FROM ledger_entries
    WHERE day BETWEEN $first_day AND $last_day
    GROUP BY ALL
),
money AS (
    SELECT surface, account_id,
           CAST(date_trunc('month', {_day("ts")}) AS DATE) AS month,
           SUM(usd) AS usd
    FROM usd_ledger
    WHERE {_day("ts")} BETWEEN $first_day AND $last_day
    GROUP BY ALL
),
refused AS (
    SELECT surface, account_id,
           CAST(date_trunc('month', {_day("ts")}) AS DATE) AS month,
           SUM(count) AS rejected
    FROM refusals
    WHERE kind IN {_in(schema.TASK_REFUSAL_KINDS)}
      AND {_day("ts")} BETWEEN $first_day AND $last_day
    GROUP BY ALL
),
closing AS (
    SELECT surface, account_id, CAST(date_trunc('month', day) AS DATE) AS month,
           arg_max(balance, day) AS balance
    FROM daily_balances
    GROUP BY ALL
)
SELECT g.month, g.surface, g.account_id,
       COALESCE(c.granted, 0), COALESCE(c.purchased, 0), COALESCE(c.charged, 0),
       COALESCE(c.refunded, 0), COALESCE(c.charged, 0) - COALESCE(c.refunded, 0),
       COALESCE(c.forfeited, 0), COALESCE(u.usd, 0), COALESCE(r.rejected, 0), cl.balance
FROM grid g
LEFT JOIN credits c USING (surface, account_id, month)
LEFT JOIN money u USING (surface, account_id, month)
LEFT JOIN refused r USING (surface, account_id, month)
LEFT JOIN closing cl USING (surface, account_id, month)
"""

# A10: a key is flagged from its creator's removal (the event lists the keys
# still active then) until it is disabled or its creator is added back.
KEY_FINDINGS = """
INSERT INTO key_findings
WITH removed AS (
    SELECT seq, ts, account_id, member, unnest(keys_left_active) AS key
    FROM member_changes
    WHERE action = 'removed'
),
ends AS (
    SELECT r.account_id, r.key, r.member, r.ts AS flagged_since,
           (SELECT min(k.ts) FROM key_changes k
             WHERE k.account_id = r.account_id AND k.key = r.key
               AND k.action = 'disabled' AND k.seq > r.seq) AS disabled_at,
           (SELECT min(m.ts) FROM member_changes m
             WHERE m.account_id = r.account_id AND m.member = r.member
               AND m.action = 'added' AND m.seq > r.seq) AS readded_at,
           (SELECT max(k.ts) FROM key_changes k
             WHERE k.account_id = r.account_id AND k.key = r.key
               AND k.action = 'created' AND k.seq < r.seq) AS created_at
    FROM removed r
)
SELECT account_id, key, member, created_at, flagged_since,
       LEAST(disabled_at, readded_at), disabled_at IS NULL AND readded_at IS NULL
FROM ends
"""


def recompute(conn: duckdb.DuckDBPyConnection, first_day: date, last_day: date) -> None:
    """Replace every derived table (call inside a transaction)."""
    params = {"first_day": first_day, "last_day": last_day}
    for table in schema.DERIVED_TABLES:
        conn.execute(f"DELETE FROM {table.name}")
    conn.execute(DAILY_BALANCES, params)
    conn.execute(MONTHLY_SUMMARY, params)
    conn.execute(KEY_FINDINGS)
