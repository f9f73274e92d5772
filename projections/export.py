"""``credit-ledger export``: every table of a run's DuckDB file as Parquet or CSV files.

The tables are read on the run's own read-only connection (``queries.connect``,
no access to files) and written by DuckDB's writers on an in-memory connection
of their own, which holds no data but the stream.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from projections import queries


def _write(rows: Any, target: Path, fmt: str) -> None:
    """Write an Arrow stream with DuckDB's own writers, from a connection of its own.

    The run's connection has no access to files (``queries.READ_CONFIG``); this
    in-memory one holds no data but the stream, and takes the path as an
    argument, never inside SQL text.
    """
    writer = duckdb.connect(":memory:")
    try:
        writer.execute("SET TimeZone = 'UTC'")
        relation = writer.from_arrow(rows)
        if fmt == "parquet":
            relation.write_parquet(str(target))
        else:
            relation.write_csv(str(target), header=True)
    finally:
        writer.close()


class ExportError(OSError):
    """The destination cannot take the export (not a folder, not writable, full)."""


def _identifier(name: str) -> str:
    """A quoted SQL identifier: a table name can never end the quotes early."""
    return '"' + name.replace('"', '""') + '"'


def export_tables(path: Path, dest: Path, fmt: str) -> list[Path]:
    """Every table of the run as one file each in ``dest``, written in full or not at all.

    No path is ever put into SQL: DuckDB's relation API takes it as an
    argument, and the table name is a quoted identifier. Each file is written
    under a temporary name and renamed into place, so a failure (a full disk,
    a folder that is not writable) leaves no half-written file; it raises
    ``ExportError`` with one sentence.
    """
    if dest.exists() and not dest.is_dir():
        raise ExportError(f"{dest} exists and is not a folder: choose a folder to export into")
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create the folder {dest}: {exc.strerror or exc}") from None
    con = queries.connect(path)  # no access outside the run: the files are written below
    written = []
    try:
        for name in queries.table_names(con):
            target = dest / f"{name}.{fmt}"
            temporary = dest / f".{name}.{fmt}.partial-{os.getpid()}"
            rows = con.sql(f"SELECT * FROM {_identifier(name)}").to_arrow_reader(10_000)
            try:
                _write(rows, temporary, fmt)
                os.replace(temporary, target)
            except (OSError, duckdb.Error) as exc:
                temporary.unlink(missing_ok=True)
                text = str(exc).strip()
                detail = text.splitlines()[0] if text else type(exc).__name__
                raise ExportError(f"cannot write {target}: {detail}") from None
            written.append(target)
    finally:
        con.close()
    return written
