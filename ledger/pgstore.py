"""Runs in a shared PostgreSQL database: a schema per run, a registry, one writer per run.

Isolation: a schema per run. eventsourcing's PostgreSQL recorder names its
tables after the application (``creditledger_events``,
``creditledger_snapshots``) inside the schema that ``POSTGRES_SCHEMA``
names; each run gets its own, ``cl_run_<name>``. So:

- runs never see each other's events, and a run's notification ids (the
  projection's position) are its own, 1, 2, 3... exactly as in an SQLite
  file, so the projector reads a run here as it reads a run folder;
- writers of different runs never wait for each other: the recorder locks
  its events table on every insert, and the table, its composite type and
  its insert function are per run;
- a run is replaced atomically: it is built in ``cl_build_<name>``, then one
  transaction drops the old schema, renames the build and updates the
  registry. Readers see the old run or the new one, never a mix;
- deleting a run is ``DROP SCHEMA ... CASCADE`` and one registry row.

The alternative, one shared table filtered by originator ids, would make
every insert of every run take the same table lock, interleave all runs in
one notification log (``select_notifications`` cannot filter by originator,
so each projector would read everyone's events), and turn replacement and
deletion into large DELETEs.

One writer per run. A writer claims its build by recording version 1 of the
run's writer stream (table ``creditledger_writers`` in the build schema)
through the library's recorder. A second writer of the same run gets the
library's ``IntegrityError`` (the key (originator_id, originator_version) is
its optimistic concurrency control) and stops with ``RunBusyError`` before
writing an event; had it got further, its first save of any account would
meet the same check. While building, the writer holds a session advisory
lock; a claim whose writer died (its session ended and released the lock)
is stale, and the next writer clears it. Creating, swapping and removing a
run's schemas take a second advisory lock per run: concurrent DDL on the
same names (CREATE TYPE, CREATE SCHEMA) is not safe to race.

The registry, ``credit_ledger.runs``: one row per finished run with what
``run.json`` holds, a generation id (new at every replacement, so a local
DuckDB projection of an older generation is rebuilt, not resumed), the last
notification id, and who wrote it when.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import NAMESPACE_URL, uuid4, uuid5

import psycopg
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg import sql
from psycopg.types.json import Jsonb

from ledger.application import Ledger, store_env
from ledger.stores import RunBusyError, StoreError, mask, translate_errors

REGISTRY_SCHEMA = "credit_ledger"
REGISTRY = sql.Identifier(REGISTRY_SCHEMA, "runs")
RUN_PREFIX = "cl_run_"
BUILD_PREFIX = "cl_build_"
WRITERS = "writers"  # recorder purpose: table creditledger_writers
WRITERS_TABLE = f"{Ledger.name.lower()}_{WRITERS}"
WRITER_TOPIC = "ledger.pgstore:WriterClaimed"
WRITER_NAMESPACE = uuid5(NAMESPACE_URL, "https://credit-ledger.invalid/writers")
CONNECT_TIMEOUT_S = 10
MAX_RUN_NAME = 120
_SLUG_MAX = 40  # cl_build_ + 40 + _ + 8 hex stays under PostgreSQL's 63-byte names

Connection = psycopg.Connection[tuple[Any, ...]]


# -------------------------------------------------------------------- names


def check_run_name(name: str) -> str:
    """A run name users can type and read back: printable, trimmed, not too long."""
    if not name or name != name.strip() or len(name) > MAX_RUN_NAME or not name.isprintable():
        raise StoreError(
            f"{name!r} is not a usable run name: printable characters, no leading or "
            f"trailing space, at most {MAX_RUN_NAME}"
        )
    return name


def _slug(name: str) -> str:
    """The name as a plain identifier; a hash keeps names that slug alike apart."""
    slug = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:_SLUG_MAX]
    if slug != name:
        slug = f"{slug}_{hashlib.sha256(name.encode()).hexdigest()[:8]}".lstrip("_")
    return slug


def run_schema(name: str) -> str:
    return RUN_PREFIX + _slug(name)


def build_schema(name: str) -> str:
    return BUILD_PREFIX + _slug(name)


def _lock_key(purpose: str, name: str) -> int:
    digest = hashlib.sha256(f"credit-ledger:{purpose}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


REGISTRY_KEY = _lock_key("registry", "")


def _setup_key(name: str) -> int:
    return _lock_key("setup", name)


def _writer_key(name: str) -> int:
    return _lock_key("writer", name)


# ------------------------------------------------------------------ records


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A finished run as the registry holds it."""

    name: str
    schema: str
    generation: str
    meta: dict[str, Any]
    last_notification_id: int
    written_at: datetime
    written_by: str


@dataclass(frozen=True, slots=True)
class Removal:
    """What ``runs rm`` did."""

    removed: bool  # a finished run was dropped
    stale_build: bool  # the leftovers of a writer that died were dropped
    building: bool  # a live writer is building this run (left alone)


_COLUMNS = "name, schema_name, generation, meta, last_notification_id, written_at, written_by"


def _record(row: tuple[Any, ...]) -> RunRecord:
    name, schema, generation, meta, last, written_at, written_by = row
    return RunRecord(name, schema, str(generation), dict(meta), int(last), written_at, written_by)


# -------------------------------------------------------------------- store


class PostgresStore:
    """A team store: every run of a PostgreSQL database, each in its own schema."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.label = mask(url)

    def __repr__(self) -> str:
        return f"PostgresStore({self.label!r})"  # never the password

    # ------------------------------------------------------------ plumbing

    def connect(self) -> Connection:
        """A connection of our own (autocommit), for the registry, locks and DDL."""
        env = store_env(self.url)
        with translate_errors(self.url, "connecting to"):
            return psycopg.connect(
                host=env["POSTGRES_HOST"],
                port=int(env["POSTGRES_PORT"]),
                dbname=env["POSTGRES_DBNAME"],
                user=env["POSTGRES_USER"],
                password=env["POSTGRES_PASSWORD"] or None,
                connect_timeout=CONNECT_TIMEOUT_S,
                application_name="credit-ledger",
                autocommit=True,
            )

    @contextmanager
    def session(self, doing: str) -> Iterator[Connection]:
        conn = self.connect()
        try:
            with translate_errors(self.url, doing):
                yield conn
        finally:
            conn.close()

    def ledger_url(self, schema: str, *, create_table: bool) -> str:
        """The store URL pointing ``Ledger`` at one schema (see ``store_env``)."""
        parts = urlsplit(self.url)
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in {"schema", "create_table"}]
        query += [("schema", schema), ("create_table", "true" if create_table else "false")]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _ledger(self, schema: str, run: str, *, create_table: bool) -> Ledger:
        with translate_errors(self.url, f"opening run {run!r} in"):
            return Ledger(self.ledger_url(schema, create_table=create_table), run=run)

    # ------------------------------------------------------------ registry

    def _ensure_registry(self, conn: Connection) -> None:
        if _registry_exists(conn):
            return
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [REGISTRY_KEY])
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(REGISTRY_SCHEMA))
            )
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " name text PRIMARY KEY,"
                    " schema_name text NOT NULL UNIQUE,"
                    " generation uuid NOT NULL,"
                    " meta jsonb NOT NULL,"
                    " last_notification_id bigint NOT NULL,"
                    " written_at timestamptz NOT NULL DEFAULT now(),"
                    " written_by text NOT NULL DEFAULT session_user)"
                ).format(REGISTRY)
            )

    def runs(self) -> list[RunRecord]:
        """Every finished run, by name."""
        with self.session("listing the runs of") as conn:
            if not _registry_exists(conn):
                return []
            rows = conn.execute(
                sql.SQL(f"SELECT {_COLUMNS} FROM {{}} ORDER BY name").format(REGISTRY)
            ).fetchall()
        return [_record(row) for row in rows]

    def find(self, name: str) -> RunRecord | None:
        with self.session(f"looking up run {name!r} in") as conn:
            return _find(conn, name)

    def open_ledger(self, run: str) -> Ledger:
        """A ledger on a finished run's schema (it creates nothing)."""
        record = self.find(run)
        if record is None:
            raise StoreError(f"no run named {run!r} in {self.label}")
        return self._ledger(record.schema, run, create_table=False)

    # ------------------------------------------------------------- writing

    def begin_build(self, run: str) -> PostgresBuild:
        """Claim ``run`` for this writer and prepare its build schema, or raise ``RunBusyError``."""
        check_run_name(run)
        generation = str(uuid4())
        guard = self.connect()
        try:
            with (
                translate_errors(self.url, f"preparing run {run!r} in"),
                _advisory(guard, _setup_key(run)),
            ):
                self._ensure_registry(guard)
                self._claim(guard, run, generation)
        except BaseException:
            guard.close()
            raise
        return PostgresBuild(self, run, generation, guard)

    def _claim(self, guard: Connection, run: str, generation: str) -> None:
        """Create the build schema if need be and record the writer's claim in it."""
        build = build_schema(run)
        guard.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(build)))
        try:
            self._record_claim(build, run, generation)
        except IntegrityError:
            # Someone claimed this build. A live writer holds the writer lock.
            if not _try_lock(guard, _writer_key(run)):
                raise RunBusyError(run, self.label) from None
            # Its writer died midway (its session, and lock, are gone): clear and retry.
            guard.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(build)))
            guard.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(build)))
            self._record_claim(build, run, generation)  # we hold both locks: no one races us
        else:
            # Held until this writer's session ends. A writer that has just swapped
            # its run into place may still hold it for a moment: wait for it.
            guard.execute("SELECT pg_advisory_lock(%s)", [_writer_key(run)])

    def _record_claim(self, build: str, run: str, generation: str) -> None:
        ledger = self._ledger(build, run, create_table=True)  # creates the run's tables
        try:
            writers = ledger.factory.aggregate_recorder(WRITERS)
            claim = StoredEvent(
                originator_id=uuid5(WRITER_NAMESPACE, run),
                originator_version=1,
                topic=WRITER_TOPIC,
                state=json.dumps(
                    {"generation": generation, "host": socket.gethostname(), "pid": os.getpid()}
                ).encode(),
            )
            writers.insert_events([claim])
        finally:
            ledger.close()

    # ------------------------------------------------------------ removing

    def remove(self, run: str) -> Removal:
        """Drop a finished run, and the leftovers of a writer of it that died."""
        with self.session(f"removing run {run!r} from") as conn, _advisory(conn, _setup_key(run)):
            record = _find(conn, run)
            if record is not None:
                with conn.transaction():
                    conn.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                            sql.Identifier(record.schema)
                        )
                    )
                    conn.execute(sql.SQL("DELETE FROM {} WHERE name = %s").format(REGISTRY), [run])
            stale = building = False
            build = build_schema(run)
            if _schema_exists(conn, build):
                if _try_lock(conn, _writer_key(run)):
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(build)))
                    conn.execute("SELECT pg_advisory_unlock(%s)", [_writer_key(run)])
                    stale = True
                else:
                    building = True
        return Removal(record is not None, stale, building)


@dataclass
class PostgresBuild:
    """A claimed run being written into its build schema (see the module docstring)."""

    store: PostgresStore
    run: str
    generation: str
    guard: Connection | None = field(repr=False)

    @property
    def schema(self) -> str:
        return build_schema(self.run)

    def ledger(self) -> Ledger:
        return self.store._ledger(self.schema, self.run, create_table=False)

    def record(self, position: int | None) -> dict[str, Any]:
        return {"store": self.store.label, "generation": self.generation, "projected_to": position}

    def commit(self, meta: dict[str, Any]) -> None:
        """Swap the build in as the run, in one transaction, and register it."""
        guard = self._guard()
        build, target = sql.Identifier(self.schema), sql.Identifier(run_schema(self.run))
        with (
            translate_errors(self.store.url, f"saving run {self.run!r} in"),
            _advisory(guard, _setup_key(self.run)),
            guard.transaction(),
        ):
            row = guard.execute(
                sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}.{}").format(
                    build, sql.Identifier(f"{Ledger.name.lower()}_events")
                )
            ).fetchone()
            last = int(row[0]) if row else 0
            guard.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(target))
            guard.execute(sql.SQL("DROP TABLE {}.{}").format(build, sql.Identifier(WRITERS_TABLE)))
            guard.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(build, target))
            guard.execute(
                sql.SQL(
                    "INSERT INTO {} (name, schema_name, generation, meta, "
                    "last_notification_id) VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET schema_name = excluded.schema_name, "
                    "generation = excluded.generation, meta = excluded.meta, "
                    "last_notification_id = excluded.last_notification_id, "
                    "written_at = now(), written_by = session_user"
                ).format(REGISTRY),
                [
                    self.run,
                    run_schema(self.run),
                    self.generation,
                    Jsonb(meta),
                    last,
                ],
            )
        self._release()

    def abort(self) -> None:
        """Drop the build schema (ours: we hold the claim) and end the claim."""
        if self.guard is None:
            return
        try:
            if not self.guard.closed:
                with (
                    translate_errors(self.store.url, f"cleaning up run {self.run!r} in"),
                    _advisory(self.guard, _setup_key(self.run)),
                ):
                    self.guard.execute(
                        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                            sql.Identifier(self.schema)
                        )
                    )
        finally:
            self._release()

    def close(self) -> None:
        self._release()

    def _guard(self) -> Connection:
        if self.guard is None:
            raise StoreError(f"the build of run {self.run!r} has already ended")
        return self.guard

    def _release(self) -> None:
        if self.guard is not None:
            self.guard.close()  # ends the session: the writer lock goes with it
            self.guard = None


# ------------------------------------------------------------------ helpers


@contextmanager
def _advisory(conn: Connection, key: int) -> Iterator[None]:
    """Hold a session advisory lock around a block (waiting for it if need be)."""
    conn.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("SELECT pg_advisory_unlock(%s)", [key])


def _try_lock(conn: Connection, key: int) -> bool:
    row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
    return bool(row and row[0])


def _schema_exists(conn: Connection, schema: str) -> bool:
    row = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    return row is not None


def _registry_exists(conn: Connection) -> bool:
    row = conn.execute("SELECT to_regclass(%s)", [f"{REGISTRY_SCHEMA}.runs"]).fetchone()
    return bool(row and row[0])


def _find(conn: Connection, name: str) -> RunRecord | None:
    if not _registry_exists(conn):
        return None
    row = conn.execute(
        sql.SQL(f"SELECT {_COLUMNS} FROM {{}} WHERE name = %s").format(REGISTRY), [name]
    ).fetchone()
    return _record(row) if row else None
