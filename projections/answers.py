"""The questions users ask of a run, answered without SQL (the summary of ``run``).

- ``plan_run_out``: per billing period of a web workspace, the day its plan
  credits ran out (usage emptied the plan bucket, or a generation was refused
  for want of credits, W09), or None: they never did.
- ``refusals_by_rule``: per account, every refusal and every blocked or cut
  recharge, by reason, with the rule that caused it (A07 included).

Both take an open connection (``projections.queries.connect``) and return
plain values; the CLI prints them and ``--format json`` dumps them.
"""

from __future__ import annotations

from datetime import date
from typing import TypedDict

import duckdb

from ledger.domain.effects import Move, Refused
from ledger.domain.types import Bucket
from projections import schema

_PLAN = Bucket.PLAN.value

# A refusal reason's rule, per surface when the two differ (docs/rules.md).
RULES: dict[tuple[str, str], str] = {
    ("web", "insufficient_credits"): "W09",
    ("api", "insufficient_credits"): "A03",
    ("api", "daily_limit"): "A08",
    ("api", "monthly_cap"): "A07",
    ("web", "seat_cap"): "W03",
    ("web", "explore_not_available"): "W10",
    ("api", "autobill_disabled"): "A05",
    ("api", "card_declined"): "A05",
    ("web", "refill_monthly_max"): "W15",
    ("api", "not_a_member"): "A10",
    ("web", "not_a_member"): "W04",
    ("api", "unknown_key"): "A10",
    ("web", "plan_cannot_buy"): "W07",
}


class Period(TypedDict):
    """One billing period of a workspace: from one grant or refresh to the next."""

    start: str  # ISO instant of the grant or refresh
    end: str | None  # the next one, or None for the last period of the window
    granted: int
    # The ISO day the plan credits ran out: usage emptied the plan bucket, or a generation
    # was refused for want of credits (W09) with too few left; None: they never did.
    ran_out: str | None


class Refusal(TypedDict):
    """Refusals of one kind and reason (or blocked or cut recharges) on one account."""

    what: str  # generation | task | purchase | plan_change | editor | member | key | autobill
    reason: str
    rule: str | None
    count: int  # tasks, commands or recharge attempts
    first: str  # ISO instant of the first one
    last: str


PERIODS = f"""
WITH starts AS (
    SELECT ts, delta,
           lead(ts) OVER (ORDER BY ts, seq, entry_no) AS next_ts
    FROM ledger_entries
    WHERE account_id = $account AND bucket = '{_PLAN}'
      AND reason IN {schema.sql_list((Move.GRANT.value, Move.REFRESH.value))}
)
SELECT s.ts, s.next_ts, s.delta,
       least(
           (SELECT min(e.day) FROM ledger_entries e
            WHERE e.account_id = $account AND e.bucket = '{_PLAN}'
              AND e.reason = '{Move.USAGE.value}'
              AND e.balance_after = 0 AND e.ts >= s.ts
              AND (s.next_ts IS NULL OR e.ts < s.next_ts)),
           (SELECT min({schema.utc_day("r.first_at")}) FROM refusals r
            WHERE r.account_id = $account AND r.surface = 'web'
              AND r.kind = '{Refused.GENERATION.value}' AND r.reason = 'insufficient_credits'
              AND r.first_at >= s.ts AND (s.next_ts IS NULL OR r.first_at < s.next_ts))
       ) AS ran_out
FROM starts s
ORDER BY s.ts
"""


def plan_run_out(conn: duckdb.DuckDBPyConnection, account: str) -> list[Period]:
    """Each billing period of a workspace with the day its plan credits ran out."""
    rows = conn.execute(PERIODS, {"account": account}).fetchall()
    return [
        Period(
            start=start.isoformat(),
            end=end.isoformat() if end is not None else None,
            granted=int(granted),
            ran_out=ran_out.isoformat() if isinstance(ran_out, date) else None,
        )
        for start, end, granted, ran_out in rows
    ]


REFUSALS = """
SELECT kind, reason, sum(count), min(COALESCE(first_at, ts)), max(ts)
FROM refusals
WHERE account_id = ? AND surface = ?
GROUP BY kind, reason
UNION ALL
SELECT 'autobill', COALESCE(reason, 'failed'), count(*), min(ts), max(ts)
FROM autobill_topups
WHERE account_id = ? AND outcome = 'failed'
GROUP BY reason
UNION ALL
SELECT 'autobill', 'cut_by_cap', count(*), min(ts), max(ts)
FROM autobill_topups
WHERE account_id = ? AND outcome = 'topped_up' AND capped
HAVING count(*) > 0
ORDER BY 1, 2
"""


def refusals_by_rule(conn: duckdb.DuckDBPyConnection, account: str, surface: str) -> list[Refusal]:
    """Every refusal, failed recharge and capped recharge of an account, with its rule."""
    rows = conn.execute(REFUSALS, [account, surface, account, account]).fetchall()
    return [
        Refusal(
            what=str(what),
            reason=str(reason),
            rule="A07" if reason == "cut_by_cap" else RULES.get((surface, str(reason))),
            count=int(count),
            first=first.isoformat(),
            last=last.isoformat(),
        )
        for what, reason, count, first, last in rows
    ]
