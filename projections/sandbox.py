"""The one place a user's SQL meets a run: a locked-down, read-only DuckDB connection.

``sql``, the Python API (``LedgerRun.sql``) and the pytest plugin all open
their connection here, so one set of guarantees holds for every query a user
writes (docs/reliability.md, "read-only SQL"):

- the run's file is opened read-only: no statement can change a table;
- external access is off (``enable_external_access``, ``queries.READ_CONFIG``): no ``COPY ... TO``,
  ``EXPORT DATABASE``, ``ATTACH``, ``read_csv``/``read_text``/``glob`` or any
  other file outside the run's own database, and no network;
- extensions are never installed nor loaded, automatically or by hand;
- once our own set-up is done (UTC, the ``balance_at`` macro), the
  configuration is locked (``lock_configuration``): ``SET``, ``RESET`` and
  ``PRAGMA`` cannot loosen any of the above nor write a profile anywhere.

DuckDB itself enforces all of it, for every statement of a multi-statement
string too; this module only sets it up before handing the connection out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from projections import queries
from projections.queries import Connection

FETCH_ROWS = 1_000  # rows per fetch when streaming a result

Params = list[Any] | dict[str, Any] | None


class UserQueryError(ValueError):
    """A user's query that DuckDB refused (a write, a file, a setting, a syntax error)."""


def user_connection(path: str | Path) -> Connection:
    """A connection on a run's DuckDB file for a user's queries: read-only, no files, locked.

    The file must exist; it is never created or written.
    """
    target = Path(path)
    if not target.is_file():
        raise UserQueryError(f"no DuckDB file at {target}")
    try:
        conn = queries.connect(target)
    except duckdb.Error as exc:
        raise UserQueryError(f"cannot open {target}: {_first_line(exc)}") from None
    try:
        queries.install_macros(conn)
        row = conn.execute("SELECT current_setting('lock_configuration')").fetchone()
        if not (row and row[0]):  # a connection before us in this process may have locked it
            conn.execute("SET lock_configuration = true")
    except BaseException:
        conn.close()
        raise
    return conn


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def explain(exc: duckdb.Error) -> str:
    """One sentence for a refused user query (what DuckDB said, and why it matters)."""
    text = _first_line(exc)
    lowered = text.lower()
    if "read-only" in lowered or "read only" in lowered:
        return (
            "the run's DuckDB file is opened read-only: this query would change it, "
            "so it was refused and nothing changed"
        )
    if "disabled" in lowered or "locked" in lowered or "external access" in lowered:
        return (
            f"{text} (queries may read the run's own tables only: no files, extensions or settings)"
        )
    return text


def rows(conn: Connection, query: str, params: Params = None) -> list[tuple[Any, ...]]:
    """Every row of a user's query on a connection of ``user_connection``."""
    return conn.execute(query, params).fetchall()


def dict_rows(conn: Connection, query: str, params: Params = None) -> list[dict[str, Any]]:
    """Every row of a user's query as a dict by column name."""
    cursor = conn.execute(query, params)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def arrow_table(conn: Connection, query: str, params: Params = None) -> Any:
    """A user's query's result as a ``pyarrow.Table``, read on a cursor of its own
    so that nothing is left pending on ``conn``."""
    cursor = conn.cursor()
    try:
        relation = cursor.sql(query, params=params)
        if relation is None:
            raise ValueError(f"the query returns no rows to read: {query!r}")
        return relation.to_arrow_table()
    finally:
        cursor.close()


class UserQuery:
    """A user's query started on a sandboxed connection; its rows are read in batches.

    ``columns`` is empty for a statement that returns nothing. Iterating gives
    the rows a batch at a time, so a result of any size streams in bounded
    memory. Close it (or use ``with``) when done.
    """

    def __init__(self, path: str | Path, query: str, params: Params = None) -> None:
        self._conn = user_connection(path)
        self._cursor: Connection | None = None
        try:
            if query.strip():
                # None when the text holds no statement (only comments).
                self._cursor = self._conn.execute(query, params)
        except duckdb.Error as exc:
            self._conn.close()
            raise UserQueryError(explain(exc)) from None
        except BaseException:
            self._conn.close()
            raise
        self.ran = self._cursor is not None  # False: blank or comments only
        description = None if self._cursor is None else self._cursor.description
        self.columns: list[str] = [d[0] for d in description or ()]

    def batches(self, size: int = FETCH_ROWS) -> Iterator[list[tuple[Any, ...]]]:
        if self._cursor is None or not self.columns:
            return
        while True:
            try:
                rows = self._cursor.fetchmany(size)
            except duckdb.Error as exc:
                raise UserQueryError(explain(exc)) from None
            if not rows:
                return
            yield rows

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> UserQuery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
