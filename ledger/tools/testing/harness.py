"""Replayed scenarios as test objects: a run folder and the questions tests ask it.

``replay`` loads a scenario (a file, or YAML text written inline in a test),
replays it into a folder exactly as ``credit-ledger run`` does and returns a
``LedgerRun``: balances at any instant (S05), the stored events, SQL on the
DuckDB projection, the account summaries, the file's own ``expect`` block and
the whole-run invariants. The pytest plugin (``ledger.tools.testing.plugin``) hands
out a factory of these as the ``credit_ledger`` fixture.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import import_module
from pathlib import Path
from types import TracebackType
from typing import Any, TypeAlias

from ledger.application import Balances, Ledger
from ledger.audit import describe_event
from ledger.domain.time import utc
from ledger.invariants import InvariantError, check_ledger
from ledger.tools.checks import CheckReport, evaluate, recent_events
from ledger.tools.runs import RunInfo, run_scenario
from projections import queries, sandbox
from projections.queries import Connection
from projections.sandbox import Params, user_connection
from scenarios.loader import LoadedScenario, load_scenario, load_scenario_text

Instant: TypeAlias = str | date | datetime

INLINE_NAME = "inline"


def instant(value: Instant) -> datetime:
    """A bare date is 00:00 UTC and a time without a zone is UTC (as in scenario files)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return utc(value)


def is_inline(source: str | Path) -> bool:
    """YAML text has several lines (or is one flow mapping); anything else is a path."""
    return isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{"))


def load(source: str | Path, base_dir: Path | None = None) -> LoadedScenario:
    """A scenario from a file path, or from YAML text (dedented; price book paths
    relative to ``base_dir``). Raises ``ScenarioError`` with every problem."""
    if is_inline(source):
        text = textwrap.dedent(str(source)).strip("\n") + "\n"
        return load_scenario_text(text, filename=f"<{INLINE_NAME}>", base_dir=base_dir)
    return load_scenario(Path(source))


def replay(
    source: str | Path,
    folder: Path,
    *,
    until: Instant | None = None,
    base_dir: Path | None = None,
    name: str | None = None,
) -> LedgerRun:
    """Replay a scenario into ``folder`` (replaced if it holds a run) and open it.

    ``until`` stops the simulated clock at that instant (inclusive); ``name``
    names the run (it seeds the account ids; default: the file's stem, or
    ``inline``).
    """
    loaded = load(source, base_dir)
    inline = is_inline(source)
    path = Path(f"{INLINE_NAME}.yaml") if inline else Path(source)
    info = run_scenario(
        path,
        folder,
        until=instant(until) if until is not None else None,
        loaded=loaded,
        run_name=name or path.stem,
    )
    return LedgerRun(info, loaded)


class LedgerRun:
    """A finished run and its scenario; close it (or use ``with``) when done."""

    def __init__(self, info: RunInfo, loaded: LoadedScenario) -> None:
        self.info = info
        self.loaded = loaded
        self._ledger: Ledger | None = None
        self._duckdb: Connection | None = None

    def __repr__(self) -> str:
        return f"<LedgerRun {self.loaded.scenario.name!r} in {self.info.folder}>"

    # ------------------------------------------------------------ handles

    @property
    def folder(self) -> Path:
        return self.info.folder

    @property
    def accounts(self) -> list[str]:
        return [a["account"] for a in self.info.accounts]

    @property
    def ledger(self) -> Ledger:
        """The run's event store (the ``Ledger`` application), opened on first use."""
        if self._ledger is None:
            self._ledger = self.info.ledger()
        return self._ledger

    @property
    def duckdb(self) -> Connection:
        """The run's projection for your queries, opened on first use.

        The same sandboxed connection as ``credit-ledger sql``
        (``projections.sandbox``): read-only, no files, extensions or settings.
        """
        if self._duckdb is None:
            self._duckdb = user_connection(self.info.duckdb_path)
        return self._duckdb

    def close(self) -> None:
        if self._duckdb is not None:
            self._duckdb.close()
            self._duckdb = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def __enter__(self) -> LedgerRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ questions

    def balance(self, account: str, at: Instant) -> Balances:
        """S05: the account's balances after every event stamped at or before ``at``."""
        return self.ledger.balances_at(account, instant(at))

    def events(
        self, account: str, since: Instant | None = None, until: Instant | None = None
    ) -> list[Any]:
        """The account's stored events (domain event objects), in version order."""
        low = instant(since) if since is not None else None
        high = instant(until) if until is not None else None
        return [
            e
            for e in self.ledger.iter_account_events(account)
            if (low is None or e.timestamp >= low) and (high is None or e.timestamp <= high)
        ]

    def event_names(self, account: str) -> list[str]:
        return [type(e).__name__ for e in self.events(account)]

    def audit(self, account: str, until: Instant | None = None, last: int = 5) -> list[str]:
        """The last ``last`` events up to ``until`` (default: the end), with the balances after."""
        at = instant(until) if until is not None else self.info.end
        return recent_events(self.ledger, account, at, last)

    def describe(self, account: str) -> list[str]:
        """Every event of the account as one readable line."""
        return [describe_event(e) for e in self.events(account)]

    def sql(self, query: str, params: Params = None) -> list[tuple[Any, ...]]:
        """Rows of a read-only query on the run's DuckDB projection."""
        return sandbox.rows(self.duckdb, query, params)

    def sql_dicts(self, query: str, params: Params = None) -> list[dict[str, Any]]:
        return sandbox.dict_rows(self.duckdb, query, params)

    def scalar(self, query: str, params: Params = None) -> Any:
        """The first column of the first row (None when there is no row)."""
        rows = sandbox.rows(self.duckdb, query, params)
        row = rows[0] if rows else None
        return None if row is None else row[0]

    def summary(self, account: str) -> queries.AccountSummary:
        """What ``credit-ledger run`` prints for one account, as a dict."""
        cursor = self.duckdb.cursor()  # its own results: nothing left pending for the user's
        try:
            return queries.account_summary(cursor, account)
        finally:
            cursor.close()

    def usd_spent(self, account: str) -> Decimal:
        return self.summary(account)["usd_total"]

    def check(self) -> CheckReport:
        """The scenario's own ``expect`` block against this run."""
        return evaluate(self.info, self.loaded)

    def invariants(self) -> list[InvariantError]:
        """Every whole-run invariant of ``ledger.invariants`` on every account."""
        return check_ledger(self.ledger, self.accounts)


# ---------------------------------------------------------------- wall clock


@contextmanager
def frozen_wall_clock(
    at: Instant, *, tick: bool = False, ignore: Sequence[str] = ()
) -> Iterator[Any]:
    """Freeze the wall clock (freezegun) for code under test that reads "now".

    Yields freezegun's factory (``.tick()``, ``.move_to()``). The ledger itself
    never reads the wall clock (S03), so replays are the same either way.
    ``ignore``: modules that keep the real clock (freezegun's ``ignore``).
    """
    freezegun = _freezegun()
    freezer = freezegun.freeze_time(instant(at), tick=tick, ignore=list(ignore))
    factory = freezer.start()
    try:
        yield factory
    finally:
        freezer.stop()


def _freezegun() -> Any:
    try:
        return import_module("freezegun")
    except ModuleNotFoundError:
        raise RuntimeError(
            "freezing the wall clock needs freezegun: pip install 'runway-credit-ledger[testing]'"
        ) from None
