"""Stores for the storage-facing suites: each test runs once on SQLite, once on PostgreSQL.

``store`` yields what ``Ledger(store, run=...)`` takes: an SQLite file in the
test's folder, or a PostgreSQL URL whose ``?schema=`` is a fresh, empty
schema. The same assertions run against both.

``team_store`` (PostgreSQL only) and ``run_store`` (both; None means the run
folder's SQLite file) yield what ``--store`` takes, a fresh database each,
for tests of whole runs (registry, claims, the CLI).

The PostgreSQL server is a throwaway cluster on a loopback port that the
session starts on first use and stops at its end, failed tests or not
(scripts/pgcluster.py); a cluster a developer started with ``make pg-up``
is used instead when one is running. Without PostgreSQL's binaries the
PostgreSQL tests fail, loudly; a developer without root may set
``CREDIT_LEDGER_PG_REQUIRED=0`` to skip them instead, except in CI (``CI``
set), where nothing is skipped.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_REQUIRED_ENV = "CREDIT_LEDGER_PG_REQUIRED"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _pgcluster() -> ModuleType:
    """scripts/pgcluster.py, imported by path (a script, not part of the package)."""
    if "pgcluster" in sys.modules:
        return sys.modules["pgcluster"]
    spec = importlib.util.spec_from_file_location("pgcluster", ROOT / "scripts" / "pgcluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["pgcluster"] = module
    spec.loader.exec_module(module)
    return module


def pg_required() -> bool:
    """In CI always; elsewhere unless CREDIT_LEDGER_PG_REQUIRED=0."""
    if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
        return True
    return os.environ.get(PG_REQUIRED_ENV, "1").strip() != "0"


@dataclass
class PgServer:
    """The session's PostgreSQL server: fresh databases and schemas on demand."""

    cluster: Any  # pgcluster.Cluster (a script's class, imported by path)
    counter: itertools.count[int] = field(default_factory=itertools.count)
    databases: list[str] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def unique(self, prefix: str) -> str:
        """A name no other test of any session on this server uses."""
        return f"{prefix}_{os.getpid()}_{next(self.counter)}"

    def database(self) -> str:
        """A fresh, empty database owned by the test role; its URL (password included)."""
        name = self.unique("t")
        url = str(self.cluster.create_database(name))
        self.databases.append(name)
        return url

    def schema(self) -> str:
        """A fresh, empty schema in the session database; a URL that points ``Ledger`` at it."""
        import psycopg

        name = self.unique("s")
        base = str(self.cluster.url())
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.schemas.append(name)
        return f"{base}?{urlencode({'schema': name})}"

    def clean_up(self) -> None:
        """Drop what this session made (on a developer's cluster, which outlives it)."""
        for name in self.databases:
            self.cluster.drop_database(name)
        for name in self.roles:
            self.cluster.admin_sql(f"DROP ROLE IF EXISTS {name}")
        if self.schemas:
            drops = "".join(f'DROP SCHEMA IF EXISTS "{n}" CASCADE;\n' for n in self.schemas)
            self.cluster.admin_sql(drops, database="ledger")

    @property
    def password(self) -> str:
        return str(self.cluster.password)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that need the server are marked ``postgres`` (``-m "not postgres"`` leaves them)."""
    for item in items:
        if "pg_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    pgcluster = _pgcluster()
    running = pgcluster.load_state()  # a developer's `make pg-up`
    if running is not None:
        server = PgServer(running)
        try:
            yield server
        finally:
            server.clean_up()
        return
    if pgcluster.find_bindir() is None:
        message = (
            "PostgreSQL server binaries not found (initdb/pg_ctl under "
            "/usr/lib/postgresql/*/bin): `apt-get install postgresql` "
            "(.ci/run does it); without root, CREDIT_LEDGER_PG_REQUIRED=0 skips these tests"
        )
        if pg_required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    cluster = pgcluster.start_cluster()
    try:
        yield PgServer(cluster)
    finally:
        cluster.stop()  # and its folder, with everything the tests made


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """An empty store for ``Ledger(store, run=...)``: an SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        return tmp_path / "events.sqlite"
    server: PgServer = request.getfixturevalue("pg_server")
    return server.schema()


@pytest.fixture
def team_store(pg_server: PgServer) -> str:
    """An empty team store (a fresh PostgreSQL database) for ``--store``."""
    return pg_server.database()


@pytest.fixture(params=BACKENDS)
def run_store(request: pytest.FixtureRequest) -> str | None:
    """``--store`` on each backend: None (the run folder's SQLite file) or a fresh database."""
    if request.param == "sqlite":
        return None
    server: PgServer = request.getfixturevalue("pg_server")
    return server.database()
