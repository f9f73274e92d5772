"""One rich ledger (SQLite) and its projection (DuckDB), built once per session.

Tests only read them; a test that writes builds its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from projection_kit import END, START, RichLedger

from ledger.application import Ledger
from projections.projector import Projector


@dataclass(frozen=True)
class Projected:
    app: Ledger
    ledger_path: Path
    duckdb_path: Path
    conn: duckdb.DuckDBPyConnection
    names: list[str]


@pytest.fixture(scope="session")
def projected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Projected]:
    folder = tmp_path_factory.mktemp("rich")
    app = Ledger(folder / "events.sqlite", run="rich")
    rich = RichLedger(app)
    rich.run_until(END)
    projector = Projector(app, folder / "ledger.duckdb", START, END)
    projector.project()
    yield Projected(
        app, folder / "events.sqlite", folder / "ledger.duckdb", projector.conn, rich.names
    )
    projector.close()
