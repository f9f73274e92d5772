"""docs/tables.md, generated from the table declarations of ``projections.schema``.

Every table of ``schema.TABLES``, the views and the ``balance_at`` macro, with
each column's name, DuckDB type and meaning. Types come from DuckDB itself
(the schema created in memory), so they are what a query sees. A column's
meaning is the comment written next to it in ``projections/schema.py``; the
columns many tables share (``seq``, ``ts``, ``account_id`` ...) and a few
without a comment there take theirs from ``MEANINGS`` below.
``tests/unit/test_table_docs.py`` fails when a column has no meaning or when
docs/tables.md differs from what this module generates::

    python -m projections.tabledocs > docs/tables.md     # or: make tables-doc
"""

from __future__ import annotations

import ast
import inspect
import io
import tokenize
from collections.abc import Iterator

import duckdb

from projections import schema

# Meanings of columns shared by several tables, and of the ones schema.py leaves bare.
COMMON: dict[str, str] = {
    "seq": "the event's notification id in the event store (global order of the log)",
    "ts": "the simulated instant (UTC) the row happened at",
    "account_id": "the scenario's id of the workspace or organization",
    "surface": "'web' (a workspace's credits) or 'api' (an organization's credits), S01",
    "day": "the UTC calendar day",
    "slice_no": "the day slice of a grouped run (a run is cut at UTC midnights), from 0",
    "first_at": "the first task of the day slice",
    "model": "the price book's model id",
    "label": "the usage line's label in the scenario",
    "count": "how many tasks",
    "credits_each": "credits one task costs",
    "reason": "why (a reason code, e.g. insufficient_credits, monthly_cap)",
    "usd": "dollars (DECIMAL, never float)",
    "credits": "credits",
    "key": "the API key's name",
    "action": "what happened",
}

MEANINGS: dict[str, str] = {
    "accounts.created_at": "when the workspace was subscribed or the organization opened",
    "autobill_topups.attempt": "failures: the attempt number after a declined card (A05)",
    "autobill_topups.retry_at": "failures: when the next attempt is due",
    "autobill_topups.disabled": "failures: autobill switched off after the last attempt",
    "autobill_topups.remaining_usd": "A07: what the 30-day cap still allowed at the attempt",
    "forfeited_credits.amount": "plan credits forfeited",
    "key_changes.by_member": "the member who created or disabled the key",
    "key_changes.reason": "refusals: why the key change was refused",
    "key_findings.key": "the API key left active",
    "key_findings.created_by": "the member who created it",
    "key_findings.created_at": "when the key was created",
    "key_findings.still_flagged": "true when the key is still active at the end of the window",
    "member_changes.member": "the member concerned",
    "member_changes.reason": "refusals: why the change was refused",
    "monthly_summary.forfeited": "plan credits forfeited in the month",
    "monthly_summary.refunded": "credits refunded in the month (failed tasks, W14/A11)",
    "monthly_summary.usd_spent": "dollars paid in the month",
    "monthly_summary.closing_balance": "the balance at the end of the month's last window day",
    "plan_history.from_plan": "the plan before (NULL at the subscription)",
    "plan_history.to_plan": "the plan from this instant",
    "plan_history.usd": "dollars charged by the change",
    "projection_tracking.name": "the projection's name",
    "projection_tracking.events_projected": "how many events the tables hold",
    "projection_tracking.schema_version": "the version of this schema the file was written with",
    "projection_tracking.window_start": "the first simulated instant of the window",
    "queue_waits.count": "tasks in the run",
    "queue_waits.max_wait_us": "the longest wait in the concurrency queue, in microseconds",
    "queue_waits.max_wait_s": "the same in seconds",
    "queue_waits.ts": "the charged run's last task",
    "refusals.model": "generations and tasks: the model asked for",
    "refusals.count": "tasks refused (1 for the other kinds)",
    "refusals.credits_each": "generations and tasks: credits one would have cost",
    "seat_changes.editor": "the editor concerned",
    "seat_changes.reason": "refusals: why (seat_cap, ...)",
    "task_runs.ts": "the slice's last task",
    "task_runs.model": "the model charged",
    "task_runs.label": "the usage line's label",
    "task_runs.count": "tasks in the slice",
    "task_runs.credits_each": "credits each task was charged",
    "tier_history.from_tier": "the tier before (NULL when the organization opened)",
    "tier_history.to_tier": "the tier from this instant",
    "tier_history.cumulative_usd": "A06: dollars paid so far, which decide the tier",
    "usd_ledger.ts": "when the money moved",
    "autobill_topups.credits": "credits bought (0 for a failure)",
    "autobill_topups.usd": "dollars charged",
    "autobill_topups.reason": "failures: card_declined | monthly_cap (A05, A07)",
    "daily_balances.balance": "plan + purchased on a workspace, the credits of an organization",
    "monthly_summary.month": "its first day",
    "worst_queue_wait_per_day.day": "the UTC day of the wait",
    "worst_queue_wait_per_day.model": "the model of the run that waited longest that day",
    "worst_queue_wait_per_day.max_wait_us": "the day's longest queue wait, in microseconds",
    "worst_queue_wait_per_day.max_wait_s": "the same in seconds",
    "worst_queue_wait_per_day.max_wait_at": "the arrival of the task that waited longest",
    "balance_at.at": "the instant asked for",
    "balance_at.plan": "web: plan credits at that instant",
    "balance_at.purchased": "web: purchased credits at that instant",
    "balance_at.balance": "plan + purchased (web) or the organization's credits (api)",
    "balance_at.plan_name": "web: the plan in effect",
    "balance_at.tier": "api: the usage tier in effect",
}

VIEW_DOCS = {
    "worst_queue_wait_per_day": "A09: per account and day, the charged API run that waited "
    "longest in the concurrency queue (from `queue_waits`).",
}
MACRO_DOCS = {
    "balance_at": "`balance_at(account, ts)`: a table macro, one row with an account's balances "
    "at any instant (S05), inside a grouped run of tasks included.",
}


def declared_comments() -> dict[str, str]:
    """``table.column`` -> the comment written after the column in projections/schema.py."""
    source = inspect.getsource(schema)
    comments = {
        token.start[0]: token.string.lstrip("# ").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    found: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Table"
            and len(node.args) >= 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[1], ast.Tuple)
        ):
            continue
        table = node.args[0].value
        for column in node.args[1].elts:
            if not (isinstance(column, ast.Tuple) and isinstance(column.elts[0], ast.Constant)):
                continue
            comment = comments.get(column.end_lineno or column.lineno)
            if comment:
                found[f"{table!s}.{column.elts[0].value!s}"] = comment
    return found


def meaning(table: str, column: str, declared: dict[str, str]) -> str | None:
    key = f"{table}.{column}"
    text = declared.get(key) or MEANINGS.get(key) or COMMON.get(column)
    if text and text.startswith("see "):  # "see REASONS": the values, spelled out
        values = getattr(schema, text[4:].strip(), None)
        if isinstance(values, tuple):
            text = "one of " + ", ".join(f"'{v}'" for v in values)
    return text


def described() -> Iterator[tuple[str, str, str, list[tuple[str, str]]]]:
    """(kind, name, doc, [(column, DuckDB type)]) of every table, view and macro."""
    conn = duckdb.connect()
    try:
        schema.create_schema(conn)
        for table in schema.TABLES:
            yield "table", table.name, table.doc, _columns(conn, f"SELECT * FROM {table.name}")
        for name, doc in VIEW_DOCS.items():
            yield "view", name, doc, _columns(conn, f"SELECT * FROM {name}")
        for name, doc in MACRO_DOCS.items():
            query = f"SELECT * FROM {name}('x', TIMESTAMPTZ '2027-01-01 00:00:00+00')"
            yield "macro", name, doc, _columns(conn, query)
    finally:
        conn.close()


def _columns(conn: duckdb.DuckDBPyConnection, query: str) -> list[tuple[str, str]]:
    rows = conn.execute(f"DESCRIBE {query}").fetchall()
    return [(str(row[0]), str(row[1])) for row in rows]


def missing_meanings() -> list[str]:
    """Every ``table.column`` without a meaning (the test wants none)."""
    declared = declared_comments()
    return [
        f"{name}.{column}"
        for _, name, _, columns in described()
        for column, _ in columns
        if meaning(name, column, declared) is None
    ]


def render() -> str:
    declared = declared_comments()
    lines = [
        "# The DuckDB tables of a run",
        "",
        "<!-- Generated by `python -m projections.tabledocs` (`make tables-doc`) from the",
        "     table declarations in projections/schema.py; tests/unit/test_table_docs.py",
        "     fails when this file is out of date. Do not edit by hand. -->",
        "",
        "Every run folder holds `ledger.duckdb`: the run's events projected into the",
        "tables below (`credit-ledger sql`, `credit-ledger export`, `run.arrow(...)` in",
        "[the Python API](python.md)). Credits are `BIGINT`, dollars `DECIMAL(18,2)`,",
        "instants `TIMESTAMP WITH TIME ZONE` in UTC, days `DATE` (UTC days). How the",
        "tables are built: [projections/docs.md](../projections/docs.md).",
        "",
    ]
    lines += [f"- [`{name}`](#{name}) ({kind})" for kind, name, _, _ in described()]
    for kind, name, doc, columns in described():
        lines += ["", f"## {name}", "", f"{kind.capitalize()}. {doc}", ""]
        lines.append("| column | type | meaning |")
        lines.append("|---|---|---|")
        for column, sql_type in columns:
            text = meaning(name, column, declared) or ""
            lines.append(f"| `{column}` | `{sql_type}` | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    import sys  # noqa: PLC0415

    sys.stdout.write(render())


if __name__ == "__main__":
    main()
