"""Pull the ledger's notification log into DuckDB, batch by batch, exactly once.

SQLite cannot push, so the projector polls: it reads the notifications after
its tracking position (``recorder.select_notifications``), decodes them with
the application's mapper, runs each through its handler, and writes the
batch's rows *and* the new tracking position in one DuckDB transaction. A
projection stopped at any point (an exception, a killed process) has either
written a whole batch with its position or nothing of it, so the next
``project()`` resumes where the last commit left off, without losing or
duplicating a row.

Running balances (for ``balance_after``) and the account map live in memory
during a call and are read back from DuckDB at the start of the next one:
the last ledger row of each account and bucket, and the ``accounts`` table.
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import UUID

import duckdb
import pyarrow as pa

from ledger.application import Ledger, account_uuid
from ledger.domain.effects import Held, held_after
from ledger.domain.time import to_us, utc
from ledger.domain.types import Bucket, Surface
from projections import derived, schema
from projections.handlers import (
    HANDLERS,
    Context,
    Handler,
    ProjectionError,
    declared_effects,
    effect_rows,
    identify,
)

TRACKING_NAME = "ledger"
DEFAULT_BATCH_SIZE = 10_000
_STAGING = "projection_batch"


@dataclass(slots=True)
class _Account:
    """What the projector remembers of an account between its events."""

    surface: str
    name: str
    plan: int = 0
    purchased: int = 0
    credits: int = 0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Projecting allocates ~10^5 short-lived objects per batch and no cycles
    (reference counting frees them); the cyclic collector would walk them over
    and over for nothing (it halves decoding speed), so it waits."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _binary_array(values: Sequence[bytes]) -> pa.Array:
    """Stored event states as one Arrow column, from one joined buffer.

    Eight times faster than ``pa.array`` over the bytes objects, which
    matters: the states are most of the bytes a batch moves.
    """
    offsets = array("q", accumulate(map(len, values), initial=0))
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(),
        len(values),
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(values))],
    )


def window_days(window_start: datetime, window_end: datetime) -> tuple[date, date]:
    """The first and last UTC day of a window whose end is exclusive."""
    start, end = utc(window_start), utc(window_end)
    if end <= start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    return start.date(), (end - timedelta(microseconds=1)).date()


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose session time zone is UTC (dates are UTC days)."""
    conn = duckdb.connect(str(path), read_only=read_only)
    conn.execute("SET TimeZone = 'UTC'")
    return conn


class Projector:
    """Project one run's event store into a DuckDB file, incrementally.

    ``before_commit`` (optional) is called with the batch's last notification
    id after its rows are written and before they are committed; an exception
    there rolls the batch back, as a crash at that point would.
    """

    def __init__(
        self,
        ledger: Ledger,
        duckdb_path: str | Path,
        window_start: datetime,
        window_end: datetime,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        before_commit: Callable[[int], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.ledger = ledger
        self.window_start = utc(window_start)
        self.window_end = utc(window_end)
        self.first_day, self.last_day = window_days(self.window_start, self.window_end)
        self.batch_size = batch_size
        self.before_commit = before_commit
        self.handlers: dict[type[Any], Handler] = dict(HANDLERS)
        self.conn = connect(duckdb_path)
        # Each batch commits to the write-ahead log. Checkpointing every 16 MiB
        # (the default) rewrites the growing tables' last row groups over and
        # over; project() checkpoints once, at the end, instead.
        self.conn.execute("SET checkpoint_threshold = '1GiB'")
        # The inserts are many and small; one DuckDB thread does them with less
        # CPU than two, and leaves the other core to the Python side.
        self.conn.execute("SET threads = 1")
        self._ensure_schema()

    # ------------------------------------------------------------- lifecycle

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Projector:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _ensure_schema(self) -> None:
        """Create the schema; a file made by another schema version is rebuilt."""
        exists = self.conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
            [schema.PROJECTION_TRACKING.name],
        ).fetchone()
        if exists and exists[0]:
            row = self.conn.execute(
                "SELECT schema_version FROM projection_tracking WHERE name = ?", [TRACKING_NAME]
            ).fetchone()
            if row is None or row[0] != schema.SCHEMA_VERSION:
                schema.drop_schema(self.conn)
        schema.create_schema(self.conn)
        self.conn.execute(
            "INSERT INTO projection_tracking SELECT ?, 0, 0, ?, ?, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM projection_tracking WHERE name = ?)",
            [
                TRACKING_NAME,
                schema.SCHEMA_VERSION,
                self.window_start,
                self.window_end,
                TRACKING_NAME,
            ],
        )

    # -------------------------------------------------------------- position

    @property
    def position(self) -> int:
        """The last notification id whose rows are committed (0: none yet)."""
        row = self.conn.execute(
            "SELECT last_notification_id FROM projection_tracking WHERE name = ?",
            [TRACKING_NAME],
        ).fetchone()
        return int(row[0]) if row else 0

    def _load_accounts(self) -> dict[int, _Account]:
        """The account map (by the aggregate id as an integer: UUID hashes in
        Python, an int in C) and each bucket's last balance, as committed."""
        accounts = {
            UUID(uuid).int: _Account(surface, name)
            for uuid, surface, name in self.conn.execute(
                "SELECT uuid, surface, account_id FROM accounts"
            ).fetchall()
        }
        by_name = {(a.surface, a.name): a for a in accounts.values()}
        last_rows = self.conn.execute(
            """
            SELECT surface, account_id, bucket, balance_after
            FROM ledger_entries
            QUALIFY row_number() OVER (
                PARTITION BY surface, account_id, bucket ORDER BY seq DESC, entry_no DESC
            ) = 1
            """
        ).fetchall()
        for surface, name, bucket, balance in last_rows:
            account = by_name[(surface, name)]
            if bucket == Bucket.PLAN.value:
                account.plan = balance
            elif bucket == Bucket.CREDITS.value:
                account.credits = balance
            else:
                account.purchased = balance
        return accounts

    # ------------------------------------------------------------ projecting

    def project(self) -> int:
        """Project every notification after the tracking position; returns how many.

        Batch k+1 is read and turned into rows while batch k is written: DuckDB
        releases the GIL, so the write runs on another core. At most one batch
        is in flight, and batches commit in order, so the tracking position
        always names the last batch whose rows are all committed. Then the
        derived tables are recomputed for the window.
        """
        accounts = self._load_accounts()
        position = self.position
        recorder = self.ledger.recorder
        done = 0
        with _gc_paused(), ThreadPoolExecutor(1, thread_name_prefix="projection") as writer:
            pending: Future[None] | None = None
            while True:
                notifications = recorder.select_notifications(
                    start=position + 1, limit=self.batch_size
                )
                if not notifications:
                    break
                tables = self._rows(notifications, accounts)
                if pending is not None:
                    pending.result()  # a failed write stops here, before the next one
                last = notifications[-1].id
                pending = writer.submit(self._commit, tables, last, len(notifications))
                position = last
                done += len(notifications)
            if pending is not None:
                pending.result()
        self._recompute()
        return done

    def rebuild(self) -> int:
        """Drop every table and project the whole log again."""
        schema.drop_schema(self.conn)
        self._ensure_schema()
        return self.project()

    def _rows(
        self, notifications: Sequence[Any], accounts: dict[int, _Account]
    ) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of a batch, per table (``accounts`` advances as it goes)."""
        to_event = self.ledger.mapper.to_domain_event
        handlers = self.handlers
        run = self.ledger.run
        sinks: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in schema.BASE_TABLES}
        events = sinks[schema.EVENTS.name]
        for n in notifications:
            event: Any = to_event(n)
            cls = type(event)
            handler = handlers.get(cls)
            if handler is None:
                raise ProjectionError(
                    f"no projection handler for {cls.__qualname__} (notification {n.id})"
                )
            key = n.originator_id.int
            account = accounts.get(key)
            if account is None:
                account = self._new_account(event, n.id, n.originator_id, run)
                accounts[key] = account
            ts = to_us(event.timestamp)
            before = Held(account.plan, account.purchased, account.credits)
            effects = declared_effects(event, before, n.id, account.name)
            context = Context(
                n.id,
                ts,
                account.surface,
                account.name,
                before.plan,
                before.purchased,
                before.credits,
                effects,
            )
            for table, row in (*effect_rows(context), *handler(event, context)):
                sinks[table].append(row)
            if effects.credits:
                held = held_after(before, effects)
                account.plan, account.purchased, account.credits = (
                    held.plan,
                    held.purchased,
                    held.credits,
                )
            events.append(
                (n.id, ts, account.surface, account.name, n.originator_version, cls.__name__,
                 n.state)
            )  # fmt: skip
        return sinks

    @staticmethod
    def _new_account(event: Any, seq: int, originator_id: UUID, run: str) -> _Account:
        identity = identify(event)
        if identity is None:
            raise ProjectionError(
                f"notification {seq}: {type(event).__qualname__} of aggregate "
                f"{originator_id}, whose creation the log does not hold"
            )
        surface, name = identity
        if account_uuid(run, Surface(surface), name) != originator_id:
            raise ProjectionError(
                f"notification {seq}: account {name!r} was not recorded by run {run!r} "
                "(one event store holds one run)"
            )
        return _Account(surface, name)

    def _commit(self, tables: dict[str, list[tuple[Any, ...]]], last: int, count: int) -> None:
        """One transaction: the batch's rows and the tracking position after it."""
        conn = self.conn
        conn.begin()
        try:
            for table in schema.BASE_TABLES:
                rows = tables[table.name]
                if rows:
                    self._insert(table, rows)
            conn.execute(
                "UPDATE projection_tracking SET last_notification_id = ?, "
                "events_projected = events_projected + ? WHERE name = ?",
                [last, count, TRACKING_NAME],
            )
            if self.before_commit is not None:
                self.before_commit(last)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def _insert(self, table: schema.Table, rows: list[tuple[Any, ...]]) -> None:
        """Bulk insert through an Arrow table: one statement per table and batch."""
        arrow_schema = table.arrow_schema()
        columns = list(zip(*rows, strict=True))
        arrays = [
            _binary_array(column)
            if field.type == pa.large_binary()
            else pa.array(column, field.type)
            for column, field in zip(columns, arrow_schema, strict=True)
        ]
        self.conn.register(_STAGING, pa.Table.from_arrays(arrays, schema=arrow_schema))
        try:
            self.conn.execute(table.insert_sql(_STAGING))
        finally:
            self.conn.unregister(_STAGING)

    def _recompute(self) -> None:
        conn = self.conn
        conn.begin()
        try:
            derived.recompute(conn, self.first_day, self.last_day)
            conn.execute(
                "UPDATE projection_tracking SET window_start = ?, window_end = ? WHERE name = ?",
                [self.window_start, self.window_end, TRACKING_NAME],
            )
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        conn.execute("CHECKPOINT")
