"""One rich ledger and its projection (DuckDB), built once per session per store:
an SQLite file and a PostgreSQL schema (``BACKENDS``, tests/conftest.py), so
every test that reads them runs on both.

Tests only read them; a test that writes builds its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.application import Ledger
from projections.projector import Projector
from tests.conftest import BACKENDS, PgServer
from tests.integration.projections.projection_kit import END, START, Projected, RichLedger


@pytest.fixture(scope="session", params=BACKENDS)
def projected(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Projected]:
    folder = tmp_path_factory.mktemp("rich")
    store: str | Path = folder / "events.sqlite"
    if request.param == "postgresql":
        server: PgServer = request.getfixturevalue("pg_server")
        store = server.schema()
    app = Ledger(store, run="rich")
    rich = RichLedger(app)
    rich.run_until(END)
    projector = Projector(app, folder / "ledger.duckdb", START, END)
    projector.project()
    yield Projected(app, store, folder / "ledger.duckdb", projector.conn, rich.names)
    projector.close()
