"""The DuckDB schema of a projected run, in one place: tables, views, the macro.

Each table is declared once, as data (``TABLES``); the DDL and the Arrow
schema the projector bulk-inserts with are both generated from that
declaration, so a column cannot drift between the two. Credits are BIGINT,
dollars DECIMAL(18,2) (S02: never float), instants TIMESTAMPTZ in UTC and
days DATE (UTC calendar days).

Tables fall in three groups:

* written per batch by the projector (``BASE_TABLES``), one or more rows per
  event, keyed by ``seq`` (the event's notification id in the event store);
* recomputed in SQL at the end of every ``Projector.project()`` call
  (``DERIVED_TABLES``, see ``projections.derived``);
* ``projection_tracking``: how far the projection has read the log.

Grouped runs of tasks (``GenerationCharged`` / ``TaskCharged``) are cut at UTC
midnights into day slices: every ``ledger_entries`` row therefore settles
inside one day, which makes end-of-day and month figures exact, and
``balance_at`` only has to interpolate inside the one slice that straddles
the instant asked for.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from ledger.domain.effects import Figure, Move, Payment, Refused, moves_of

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Table:
    """A table: its columns as (name, DuckDB type), and how a batch fills it.

    The projector stages a batch as an Arrow table of the *staged* columns:
    the stored ones, less those ``computed`` in SQL from the others on insert
    (vectorised in DuckDB instead of per row in Python), plus ``staged_only``
    columns that feed a computed one and are not stored themselves.
    """

    name: str
    columns: tuple[tuple[str, str], ...]
    doc: str
    computed: tuple[tuple[str, str], ...] = ()  # (column, SQL expression over staged columns)
    staged_only: tuple[tuple[str, str], ...] = ()
    _row_type: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        names = tuple(name for name, _ in self.staged_columns)
        object.__setattr__(self, "_row_type", namedtuple(self.name, names))

    def row(self, **values: Any) -> tuple[Any, ...]:
        """A staged row built by column name: a missing or unknown column is a
        ``TypeError`` naming it, so no two columns can be swapped by position."""
        row_type = self._row_type
        names = row_type._fields
        if len(values) != len(names):
            row_type(**values)  # raises the TypeError that names the column
        try:
            return tuple(map(values.__getitem__, names))
        except KeyError:
            row_type(**values)  # a misspelled column: the same TypeError
            raise

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def staged_columns(self) -> tuple[tuple[str, str], ...]:
        computed = dict(self.computed)
        return (
            *((n, t) for n, t in self.columns if n not in computed),
            *self.staged_only,
        )

    @property
    def staged_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.staged_columns)

    def ddl(self) -> str:
        cols = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} (\n    {cols}\n)"

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(n, arrow_type(t)) for n, t in self.staged_columns])

    def insert_sql(self, staging: str) -> str:
        computed = dict(self.computed)
        values = ", ".join(computed.get(name, name) for name in self.column_names)
        return (
            f"INSERT INTO {self.name} ({', '.join(self.column_names)}) "
            f"SELECT {values} FROM {staging}"
        )


_ARROW_TYPES: dict[str, pa.DataType] = {
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),  # days since 1970-01-01
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),  # microseconds since the epoch
    "DECIMAL(18,2)": pa.decimal128(18, 2),
    "DECIMAL(18,6)": pa.decimal128(18, 6),
    "INTEGER[]": pa.list_(pa.int32()),
    "VARCHAR[]": pa.list_(pa.string()),
    "BLOB": pa.large_binary(),
}


def arrow_type(sql_type: str) -> pa.DataType:
    return _ARROW_TYPES[sql_type]


USD = "DECIMAL(18,2)"
TS = "TIMESTAMPTZ"


def utc_day(column: str) -> str:
    """The UTC calendar day of a TIMESTAMPTZ, whatever the session time zone."""
    return f"CAST(timezone('UTC', {column}) AS DATE)"


def sql_list(values: tuple[str, ...]) -> str:
    """A SQL list literal of fixed names (never user input): ('a', 'b')."""
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


# The stored event state reaches DuckDB as the bytes the event store holds;
# the transcoder's type wrappers ({"_type_": "datetime_iso", "_data_": "..."})
# are unwrapped to their plain JSON value in SQL, so the payload reads
# naturally (payload->>'usd' is '10.00') and Python never re-serialises an event.
# Scalars first; then the typed values (PlanTerms, ...), whose fields are
# scalars by then: {"_type_":"plan_terms","_data_":{"plan":"pro",...}}.
UNWRAP_PATTERN = r'\{"_type_":"[^"]*","_data_":("[^"]*")\}'
UNWRAP_OBJECT_PATTERN = r'\{"_type_":"[^"]*","_data_":(\{[^{}]*\})\}'
PAYLOAD_SQL = (
    "CAST(regexp_replace(regexp_replace(decode(state), "
    f"'{UNWRAP_PATTERN}', '\\1', 'g'), '{UNWRAP_OBJECT_PATTERN}', '\\1', 'g') AS JSON)"
)

ACCOUNTS = Table(
    "accounts",
    (
        ("account_id", "VARCHAR"),  # the scenario's name for the account
        ("surface", "VARCHAR"),  # 'web' | 'api' (S01)
        ("uuid", "VARCHAR"),  # the aggregate id in the event store (uuid5 of run+surface+name)
        ("created_at", TS),
        ("seq", "BIGINT"),
    ),
    "One row per workspace (PlanSubscribed) or organization (Opened).",
)

EVENTS = Table(
    "events",
    (
        ("seq", "BIGINT"),  # global order: the notification id
        ("ts", TS),
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("version", "BIGINT"),  # the aggregate version
        ("event_type", "VARCHAR"),  # the class name, e.g. 'GenerationCharged'
        ("payload", "JSON"),  # the stored event's fields
    ),
    "Every stored event, as stored, in the order of the log.",
    computed=(("payload", PAYLOAD_SQL),),
    staged_only=(("state", "BLOB"),),
)

LEDGER_ENTRIES = Table(
    "ledger_entries",
    (
        ("seq", "BIGINT"),
        ("entry_no", "INTEGER"),  # order of the entries of one event
        ("ts", TS),  # a run's entries: the last task of the day slice
        ("day", "DATE"),
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("bucket", "VARCHAR"),  # 'plan' | 'purchased' (web), 'credits' (api)
        ("delta", "BIGINT"),  # signed credits
        ("balance_after", "BIGINT"),  # of that bucket
        ("reason", "VARCHAR"),  # see REASONS
    ),
    "Every credit movement, per bucket; a run's usage is one entry per day slice.",
    computed=(("day", utc_day("ts")),),
)

TASK_RUNS = Table(
    "task_runs",
    (
        ("seq", "BIGINT"),
        ("slice_no", "INTEGER"),
        ("ts", TS),  # the slice's last task
        ("first_at", TS),  # the slice's first task
        ("day", "DATE"),
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("model", "VARCHAR"),
        ("label", "VARCHAR"),
        ("mode", "VARCHAR"),  # web: 'credits' | 'explore'; api: NULL
        ("api_key", "VARCHAR"),  # api: the key used, if any
        ("first_us", "BIGINT"),  # first_at in microseconds since the epoch
        ("interval_us", "BIGINT"),  # task i happens at first_us + i * interval_us
        ("count", "BIGINT"),
        ("credits_each", "BIGINT"),
        ("refunded", "INTEGER[]"),  # indices (from the slice's first task) refunded at once
        ("safety_failed", "BIGINT"),  # tasks charged and not refunded (A11)
        ("kept", "BIGINT"),  # credits kept once the slice is over
        ("plan_before", "BIGINT"),  # web: plan credits before the slice (W08 split)
        ("deferred_us", "BIGINT"),  # A08 defer: how long the task waited for the window
    ),
    "Charged task runs (GenerationCharged, TaskCharged), one row per day slice.",
    computed=(("day", utc_day("ts")), ("first_us", "epoch_us(first_at)")),
)

FORFEITED_CREDITS = Table(
    "forfeited_credits",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("amount", "BIGINT"),
        ("reason", "VARCHAR"),  # reset | cancellation | plan_start | contract_renewal ...
    ),
    "W06/W13/W16: plan credits that a refresh, cancel or plan start did not carry over.",
)

REFUSALS = Table(
    "refusals",
    (
        ("seq", "BIGINT"),
        ("slice_no", "INTEGER"),
        ("ts", TS),  # the last refused task of the day slice
        ("first_at", TS),
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("kind", "VARCHAR"),  # generation | task | purchase | plan_change | editor | member | key
        ("model", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("count", "BIGINT"),  # tasks refused (1 for the other kinds)
        ("credits_each", "BIGINT"),
        ("shortfall", "BIGINT"),  # credits missing for the first refused task
        ("usd", USD),  # purchase refusals
        ("detail", "VARCHAR"),  # the editor, member, key or plan concerned
    ),
    "Everything the simulation said no to, with its reason (W09, A03, A07, A08 ...).",
)

AUTOBILL_TOPUPS = Table(
    "autobill_topups",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("outcome", "VARCHAR"),  # 'topped_up' | 'failed'
        ("credits", "BIGINT"),
        ("usd", USD),
        ("capped", "BOOLEAN"),  # A07: cut to what the 30-day cap left
        ("window_spend_usd", USD),  # A07: the 30-day window's purchases after it
        ("reason", "VARCHAR"),  # failures: card_declined | monthly_cap
        ("attempt", "INTEGER"),
        ("retry_at", TS),
        ("disabled", "BOOLEAN"),
        ("remaining_usd", USD),
    ),
    "A04/A05/A07: autobill recharges and failed attempts.",
)

TIER_HISTORY = Table(
    "tier_history",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("change", "VARCHAR"),  # 'opened' | 'raised'
        ("from_tier", "INTEGER"),
        ("to_tier", "INTEGER"),
        ("cumulative_usd", USD),
    ),
    "A06: the tier an organization opened on and every raise.",
)

PLAN_HISTORY = Table(
    "plan_history",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("change", "VARCHAR"),  # subscribed | upgraded | downgraded | ended
        ("from_plan", "VARCHAR"),
        ("to_plan", "VARCHAR"),
        ("usd", USD),
    ),
    "W11-W13: the plan a workspace is on from each instant (changes that took effect).",
)

QUEUE_WAITS = Table(
    "queue_waits",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("day", "DATE"),  # the day of max_wait_at
        ("account_id", "VARCHAR"),
        ("model", "VARCHAR"),
        ("count", "BIGINT"),
        ("max_wait_us", "BIGINT"),
        ("max_wait_s", "DECIMAL(18,6)"),
        ("max_wait_at", TS),  # arrival of the task that waited longest
    ),
    "A09: the longest concurrency-queue wait of each charged API run.",
    computed=(
        ("day", utc_day("max_wait_at")),
        ("max_wait_s", "CAST(max_wait_us * 0.000001 AS DECIMAL(18,6))"),
    ),
)

DEFERRED_TASKS = Table(
    "deferred_tasks",
    (
        ("seq", "BIGINT"),
        ("ts", TS),  # when it was submitted (or refused) once the window had room
        ("day", "DATE"),
        ("account_id", "VARCHAR"),
        ("model", "VARCHAR"),
        ("label", "VARCHAR"),
        ("outcome", "VARCHAR"),  # deferred (waiting from then) | charged | refused (A03)
        ("count", "BIGINT"),  # tasks: a deferred stretch, or 1 submitted task
        ("requested_at", TS),  # when the scenario asked for it (a stretch: its first)
        ("deferred_us", "BIGINT"),  # ts - requested_at: the wait for room (A08)
        ("deferred_s", "DECIMAL(18,6)"),  # the same wait in seconds
        ("queue_wait_us", "BIGINT"),  # then the concurrency queue (A09)
        ("finished_at", TS),  # submitted + queue wait + processing; NULL when refused
        ("late_us", "BIGINT"),  # finished_at - (requested_at + processing): how late
    ),
    "A08 policy defer: tasks deferred, and each one's submission, wait and finish.",
    computed=(
        ("day", utc_day("ts")),
        ("deferred_s", "CAST(deferred_us * 0.000001 AS DECIMAL(18,6))"),
    ),
)

SEAT_CHANGES = Table(
    "seat_changes",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("editor", "VARCHAR"),
        ("action", "VARCHAR"),  # initial | added | removed | refused
        ("reason", "VARCHAR"),
        ("usd", USD),  # W04 proration: charged now (added), credited on the next invoice (removed)
    ),
    "W03/W04: web editors.",
)

MEMBER_CHANGES = Table(
    "member_changes",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("member", "VARCHAR"),
        ("action", "VARCHAR"),  # initial | added | removed | refused
        ("reason", "VARCHAR"),
        ("keys_left_active", "VARCHAR[]"),  # A10: keys of a removed member still active
    ),
    "A10: API organization members.",
)

KEY_CHANGES = Table(
    "key_changes",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("account_id", "VARCHAR"),
        ("key", "VARCHAR"),
        ("action", "VARCHAR"),  # created | disabled | refused
        ("by_member", "VARCHAR"),
        ("reason", "VARCHAR"),
    ),
    "A10: API keys created, disabled or refused.",
)

USD_LEDGER = Table(
    "usd_ledger",
    (
        ("seq", "BIGINT"),
        ("ts", TS),
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("kind", "VARCHAR"),  # see USD_KINDS
        ("usd", USD),  # negative: seat_removed, a W04 credit taken off a renewal invoice
        ("credits", "BIGINT"),  # credits bought by this payment, if any
    ),
    "Every money movement (S02: Decimal dollars).",
)

DAILY_BALANCES = Table(
    "daily_balances",
    (
        ("day", "DATE"),
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("plan", "BIGINT"),  # web
        ("purchased", "BIGINT"),  # web
        ("balance", "BIGINT"),
        ("plan_name", "VARCHAR"),  # web
        ("tier", "INTEGER"),  # api
        ("opened", "BOOLEAN"),  # false on the days before the account existed
    ),
    "End-of-day figures (every event stamped before the next 00:00 UTC), every window day.",
)

MONTHLY_SUMMARY = Table(
    "monthly_summary",
    (
        ("month", "DATE"),  # its first day
        ("surface", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("granted", "BIGINT"),  # grant + refresh + upgrade + opening (an imported balance)
        ("purchased", "BIGINT"),  # bought: purchase + refill + autobill
        ("charged", "BIGINT"),  # charged for tasks, refunded ones included
        ("refunded", "BIGINT"),  # given back for tasks that failed (W14, A11)
        ("used", "BIGINT"),  # charged - refunded: what the tasks kept
        ("forfeited", "BIGINT"),
        ("usd_spent", USD),
        ("rejected", "BIGINT"),  # generations and tasks refused
        ("closing_balance", "BIGINT"),
    ),
    "Per calendar month of the window (days of the window only).",
)

KEY_FINDINGS = Table(
    "key_findings",
    (
        ("account_id", "VARCHAR"),
        ("key", "VARCHAR"),
        ("created_by", "VARCHAR"),
        ("created_at", TS),
        ("flagged_since", TS),  # the creator's removal
        ("flagged_until", TS),  # key disabled or creator re-added; NULL while still flagged
        ("still_flagged", "BOOLEAN"),
    ),
    "A10: API keys left active after the member who created them was removed.",
)

PROJECTION_TRACKING = Table(
    "projection_tracking",
    (
        ("name", "VARCHAR"),
        ("last_notification_id", "BIGINT"),  # every event up to it is in the tables
        ("events_projected", "BIGINT"),
        ("schema_version", "INTEGER"),
        ("window_start", TS),
        ("window_end", TS),  # exclusive
    ),
    "How far the projection has read the notification log; written with each batch.",
)

BASE_TABLES: tuple[Table, ...] = (
    ACCOUNTS,
    EVENTS,
    LEDGER_ENTRIES,
    TASK_RUNS,
    FORFEITED_CREDITS,
    REFUSALS,
    AUTOBILL_TOPUPS,
    TIER_HISTORY,
    PLAN_HISTORY,
    QUEUE_WAITS,
    DEFERRED_TASKS,
    SEAT_CHANGES,
    MEMBER_CHANGES,
    KEY_CHANGES,
    USD_LEDGER,
)
DERIVED_TABLES: tuple[Table, ...] = (DAILY_BALANCES, MONTHLY_SUMMARY, KEY_FINDINGS)
TABLES: tuple[Table, ...] = (*BASE_TABLES, *DERIVED_TABLES, PROJECTION_TRACKING)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}

# ledger_entries.reason, usd_ledger.kind and refusals.kind are the effect
# declarations' vocabulary (ledger.domain.effects); each sum below is one Figure.
REASONS = tuple(m.value for m in Move)
USD_KINDS = tuple(p.value for p in Payment)
REFUSAL_KINDS = tuple(r.value for r in Refused)
TASK_REFUSAL_KINDS = tuple(r.value for r in Refused if r.tasks)


def reasons_of(figure: Figure) -> tuple[str, ...]:
    """The ``ledger_entries.reason`` values that count in ``figure``."""
    return tuple(m.value for m in moves_of(figure))


def figure_sql(figure: Figure, delta: str = "delta") -> str:
    """SUM of one figure over ``ledger_entries`` rows, as a positive amount."""
    sign = "-" if figure in (Figure.CHARGED, Figure.FORFEITED) else ""
    return f"{sign}SUM({delta}) FILTER (WHERE reason IN {sql_list(reasons_of(figure))})"


VIEWS: tuple[str, ...] = (
    """
    CREATE OR REPLACE VIEW deferrals AS
    SELECT account_id, model, day,
           COALESCE(sum(count) FILTER (WHERE outcome = 'deferred'), 0) AS deferred,
           COALESCE(sum(count) FILTER (WHERE outcome = 'charged'), 0) AS submitted,
           COALESCE(sum(count) FILTER (WHERE outcome = 'refused'), 0) AS refused,
           max(deferred_s) AS max_deferred_s,
           CAST(avg(deferred_s) AS DECIMAL(18,6)) AS avg_deferred_s,
           CAST(max(late_us) * 0.000001 AS DECIMAL(18,6)) AS max_late_s,
           max(finished_at) AS last_finished_at
    FROM deferred_tasks
    GROUP BY account_id, model, day
    """,
    """
    CREATE OR REPLACE VIEW worst_queue_wait_per_day AS
    SELECT day, account_id, model, max_wait_us, max_wait_s, max_wait_at, seq
    FROM queue_waits
    QUALIFY row_number() OVER (
        PARTITION BY day, account_id ORDER BY max_wait_us DESC, seq
    ) = 1
    """,
)

# S05 at any instant, exactly: the settled entries stamped at or before it,
# less the tasks already done of a day slice that straddles it (task i of a
# slice happens at first_us + i * interval_us; refunded ones net to zero),
# taken from plan credits first (W08) using the plan balance before the slice.
MACROS: tuple[str, ...] = (
    """
    CREATE OR REPLACE MACRO balance_at(account, at_ts) AS TABLE
    WITH
    acct AS (
        SELECT surface, account_id
        FROM accounts
        WHERE account_id = account AND created_at <= CAST(at_ts AS TIMESTAMPTZ)
    ),
    settled AS (
        SELECT surface,
               COALESCE(SUM(delta) FILTER (WHERE bucket = 'plan'), 0) AS plan,
               COALESCE(SUM(delta) FILTER (WHERE bucket = 'purchased'), 0) AS purchased,
               COALESCE(SUM(delta) FILTER (WHERE bucket = 'credits'), 0) AS credits
        FROM ledger_entries
        WHERE account_id = account AND ts <= CAST(at_ts AS TIMESTAMPTZ)
        GROUP BY surface
    ),
    straddling AS (
        SELECT surface, plan_before,
               (n - len(list_filter(refunded, lambda j: j < n))) * credits_each AS kept
        FROM (
            SELECT *,
                   LEAST(count,
                         (epoch_us(CAST(at_ts AS TIMESTAMPTZ)) - first_us) // interval_us + 1)
                       AS n
            FROM task_runs
            WHERE account_id = account
              AND first_at <= CAST(at_ts AS TIMESTAMPTZ)
              AND ts > CAST(at_ts AS TIMESTAMPTZ)
        )
    ),
    partial AS (
        SELECT surface,
               SUM(CASE WHEN surface = 'web' THEN LEAST(plan_before, kept) ELSE 0 END)
                   AS from_plan,
               SUM(kept) AS kept
        FROM straddling
        GROUP BY surface
    ),
    figures AS (
        SELECT a.surface, a.account_id,
               COALESCE(s.plan, 0) - COALESCE(p.from_plan, 0) AS plan,
               COALESCE(s.purchased, 0) - (COALESCE(p.kept, 0) - COALESCE(p.from_plan, 0))
                   AS purchased,
               COALESCE(s.credits, 0) - COALESCE(p.kept, 0) AS credits
        FROM acct a
        LEFT JOIN settled s USING (surface)
        LEFT JOIN partial p USING (surface)
    )
    SELECT f.surface,
           f.account_id,
           CAST(at_ts AS TIMESTAMPTZ) AS at,
           CAST(CASE WHEN f.surface = 'web' THEN f.plan END AS BIGINT) AS plan,
           CAST(CASE WHEN f.surface = 'web' THEN f.purchased END AS BIGINT) AS purchased,
           CAST(CASE WHEN f.surface = 'web' THEN f.plan + f.purchased ELSE f.credits END
                AS BIGINT) AS balance,
           CASE WHEN f.surface = 'web' THEN (
               SELECT arg_max(h.to_plan, h.seq) FROM plan_history h
               WHERE h.account_id = f.account_id AND h.ts <= CAST(at_ts AS TIMESTAMPTZ)
           ) END AS plan_name,
           CASE WHEN f.surface = 'api' THEN (
               SELECT CAST(max(t.to_tier) AS INTEGER) FROM tier_history t
               WHERE t.account_id = f.account_id AND t.ts <= CAST(at_ts AS TIMESTAMPTZ)
           ) END AS tier
    FROM figures f
    """,
)


def create_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every table, view and macro that does not exist yet."""
    for table in TABLES:
        conn.execute(table.ddl())
    for view in VIEWS:
        conn.execute(view)
    for macro in MACROS:
        conn.execute(macro)


def drop_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Drop everything ``create_schema`` makes (a rebuild starts from nothing)."""
    conn.execute("DROP MACRO TABLE IF EXISTS balance_at")
    conn.execute("DROP VIEW IF EXISTS worst_queue_wait_per_day")
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table.name}")
