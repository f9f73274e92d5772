"""Ledgers built through the domain API for the projection tests, and table checks.

Imported by its full name (``tests.integration.projections.projection_kit``),
so mypy checks it and its users like any other module.

``RichLedger`` schedules a few months of activity on two workspaces and two
organizations that produce every stored event type: runs that cross midnight,
runs that drain plan credits into purchased ones, refunds, Auto Refill, plan
changes, a cancel, autobill with card failures, tier raises, keys left
active. Actions run in time order (billing dates first at an instant, S04),
and no action of an account falls inside one of its own runs, as the replay
engine guarantees.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from ledger.application import Ledger, plan_terms
from ledger.domain.api import ApiOrganization
from ledger.domain.terms import AutobillSettings, RefillSettings, TaskSpec
from ledger.domain.types import Billing, DailyLimitPolicy, GenerationMode, Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.loader import load_price_book
from projections import schema


@dataclass(frozen=True)
class Projected:
    """A rich ledger and its projection, built once per session per store (conftest)."""

    app: Ledger
    ledger_path: str | Path  # an SQLite file, or a PostgreSQL URL (?schema=)
    duckdb_path: Path
    conn: duckdb.DuckDBPyConnection
    names: list[str]


BOOK = load_price_book()
MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2027, 5, 1, tzinfo=UTC)

VIDEO = TaskSpec("gen4_turbo", 60, processing_us=5 * MINUTE_US)
IMAGE = TaskSpec("gen4_image", 25, processing_us=3 * MINUTE_US)
DRAFT = TaskSpec("gen4_image_turbo", 2, processing_us=MINUTE_US)


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2027, month, day, hour, minute, tzinfo=UTC)


@dataclass
class RichLedger:
    """A scheduled history; ``run_until(t)`` applies what happens before ``t``."""

    app: Ledger
    actions: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    done: int = 0
    runs: dict[str, list[tuple[datetime, datetime]]] = field(default_factory=dict)
    workspaces: dict[str, WebWorkspace] = field(default_factory=dict)
    organizations: dict[str, ApiOrganization] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._studio()
        self._solo()
        self._starter()
        self._backend()
        self._lab()
        self.actions.sort(key=lambda a: (a[0], a[1]))

    # ----------------------------------------------------------- scheduling

    def on(self, when: datetime, action: Callable[[], None]) -> None:
        self.actions.append((when, len(self.actions), action))

    def run(
        self, account: str, first: datetime, interval_us: int, count: int, fn: Callable[[], None]
    ) -> None:
        """A run of tasks of ``account``; remembered so hourly checks avoid it."""
        last = first + timedelta(microseconds=interval_us * (count - 1))
        self.runs.setdefault(account, []).append((first, last))
        self.on(first, fn)

    def busy(self, account: str, when: datetime) -> bool:
        return any(a <= when <= b for a, b in self.runs.get(account, []))

    def run_until(self, until: datetime) -> None:
        while self.done < len(self.actions) and self.actions[self.done][0] < until:
            when, _, action = self.actions[self.done]
            self._billing_dates(when)
            action()
            self.done += 1
        self._billing_dates(until - timedelta(microseconds=1))
        self.app.flush()

    def _billing_dates(self, until: datetime) -> None:
        for ws in self.workspaces.values():
            while ws.next_billing_at is not None and ws.next_billing_at <= until:
                ws.pass_billing_date(ws.next_billing_at)

    @property
    def names(self) -> list[str]:
        return ["studio", "solo", "starter", "backend", "lab"]

    # ------------------------------------------------------------- accounts

    def _open_workspace(self, name: str, when: datetime, plan: Plan, **kw: Any) -> None:
        def open_it() -> None:
            self.workspaces[name] = self.app.open_workspace(name, when, BOOK, plan, **kw)

        self.on(when, open_it)

    def _studio(self) -> None:
        """Pro, six editors, Auto Refill; downgrade, upgrade, explore, cancel (W03-W15)."""
        editors = [f"e{i}" for i in range(6)]
        refill = RefillSettings(trigger=200, amount_usd=10, monthly_max_usd=30)
        self._open_workspace("studio", at(1, 5, 9, 30), Plan.PRO, editors=editors, refill=refill)

        def ws() -> WebWorkspace:  # opened when the first action runs
            return self.workspaces["studio"]

        self.on(at(1, 6, 10), lambda: ws().add_editor(at(1, 6, 10), "cy"))
        self.on(at(1, 6, 11), lambda: ws().add_editor(at(1, 6, 11), "e0"))  # refused
        self.on(at(1, 7), lambda: ws().purchase_credits(at(1, 7), 2000))
        # 40 x 60 = 2,400 > 2,250 plan credits: the run drains plan into purchased (W08).
        self.run(
            "studio",
            at(1, 8, 9),
            15 * MINUTE_US,
            40,
            lambda: ws().generate(
                at(1, 8, 9), 15 * MINUTE_US, 40, VIDEO, refunded=[3, 17, 39], safety_failed=[5]
            ),
        )
        # Crosses midnight: 12 generations on the 9th, 18 on the 10th.
        self.run(
            "studio",
            at(1, 9, 23),
            5 * MINUTE_US,
            30,
            lambda: ws().generate(at(1, 9, 23), 5 * MINUTE_US, 30, IMAGE, refunded=[11, 12]),
        )
        self.on(at(1, 12), lambda: ws().remove_editor(at(1, 12), "cy"))
        self.on(at(1, 12, 1), lambda: ws().remove_editor(at(1, 12, 1), "zed"))  # refused
        # Drains the rest: Auto Refill three times ($30 a month), then refusals.
        self.run(
            "studio",
            at(1, 15, 8),
            10 * MINUTE_US,
            100,
            lambda: ws().generate(at(1, 15, 8), 10 * MINUTE_US, 100, VIDEO, refunded=[50]),
        )
        standard, unlimited = plan_terms(BOOK, Plan.STANDARD), plan_terms(BOOK, Plan.UNLIMITED)
        self.on(at(1, 20), lambda: ws().change_plan(at(1, 20), standard))  # 7 editors > 5
        for i, editor in enumerate(["e1", "e2"]):
            self.on(
                at(1, 21, i), partial(lambda e, h: ws().remove_editor(at(1, 21, h), e), editor, i)
            )
        self.on(at(1, 22), lambda: ws().change_plan(at(1, 22), standard))  # at renewal
        self.on(at(2, 10), lambda: ws().change_plan(at(2, 10), unlimited))  # upgrade now
        self.run(
            "studio",
            at(2, 11, 12),
            MINUTE_US,
            5,
            lambda: ws().generate(at(2, 11, 12), MINUTE_US, 5, VIDEO, mode=GenerationMode.EXPLORE),
        )
        self.run(
            "studio",
            at(2, 12, 12),
            MINUTE_US,
            10,
            lambda: ws().generate(at(2, 12, 12), MINUTE_US, 10, VIDEO, refunded=[0]),
        )
        self.on(at(2, 20), lambda: ws().cancel(at(2, 20)))
        self.on(at(3, 10), lambda: ws().purchase_credits(at(3, 10), 1000))  # refused: Free
        self.run(
            "studio",
            at(3, 11, 10),
            HOUR_US,
            8,
            lambda: ws().generate(at(3, 11, 10), HOUR_US, 8, IMAGE),
        )

    def _solo(self) -> None:
        """Standard from Jan 31 (W05 clamps the anchor), steady generations."""
        self._open_workspace("solo", at(1, 31, 12), Plan.STANDARD, billing=Billing.MONTHLY)

        def ws() -> WebWorkspace:
            return self.workspaces["solo"]

        self.on(at(2, 1), lambda: ws().purchase_credits(at(2, 1), 1000))
        day = at(2, 2, 14)
        while day < END:
            first = day
            self.run(
                "solo",
                first,
                HOUR_US,
                5,
                partial(
                    lambda f: ws().generate(f, HOUR_US, 5, TaskSpec("gen4.5", 30), refunded=[2]),
                    first,
                ),
            )
            day += timedelta(days=3)

    def _starter(self) -> None:
        """Free (125 once, W01), then Standard: the grant gives way to the plan."""
        self._open_workspace("starter", at(1, 3, 8), Plan.FREE)

        def ws() -> WebWorkspace:
            return self.workspaces["starter"]

        self.run(
            "starter",
            at(1, 4, 9),
            MINUTE_US,
            3,
            lambda: ws().generate(at(1, 4, 9), MINUTE_US, 3, TaskSpec("gen4.5", 30)),
        )
        standard = plan_terms(BOOK, Plan.STANDARD)
        self.on(at(1, 18, 15), lambda: ws().change_plan(at(1, 18, 15), standard))  # new anchor
        self.run(
            "starter",
            at(2, 17, 22),
            30 * MINUTE_US,
            20,  # across midnight, over before the billing date (15:00 on the 18th)
            lambda: ws().generate(at(2, 17, 22), 30 * MINUTE_US, 20, TaskSpec("gen4.5", 20)),
        )

    def _open_organization(self, name: str, when: datetime, **kw: Any) -> None:
        def open_it() -> None:
            self.organizations[name] = self.app.open_organization(name, when, BOOK, **kw)

        self.on(when, open_it)

    def _backend(self) -> None:
        """Autobill, tiers, members and keys (A04-A10), daily runs with queues."""
        self._open_organization(
            "backend",
            at(1, 2, 8),
            members=["owner", "dev"],
            autobill=AutobillSettings(threshold=1000, amount=2000),
        )

        def org() -> ApiOrganization:
            return self.organizations["backend"]

        self.on(at(1, 2, 8), lambda: org().purchase_credits(at(1, 2, 8), 3000))
        self.on(at(1, 2, 9), lambda: org().create_key(at(1, 2, 9), "k-dev", by="dev"))
        self.on(at(1, 2, 9), lambda: org().create_key(at(1, 2, 9), "k-dev2", by="dev"))
        self.on(at(1, 2, 9), lambda: org().create_key(at(1, 2, 9), "k-own"))
        self.on(at(1, 2, 9), lambda: org().create_key(at(1, 2, 9), "k-ghost", by="ghost"))
        self.on(at(1, 3), lambda: org().add_member(at(1, 3), "ops"))
        self.on(at(1, 3), lambda: org().add_member(at(1, 3), "ops"))  # refused
        self.on(at(1, 3), lambda: org().remove_member(at(1, 3), "nobody"))  # refused
        self.on(at(1, 3), lambda: org().purchase_credits(at(1, 3), 9000))  # over the cap
        self.on(at(2, 1), lambda: org().remove_member(at(2, 1), "dev"))  # keys left active
        self.on(at(2, 15), lambda: org().disable_key(at(2, 15), "k-dev"))
        self.on(at(2, 16), lambda: org().disable_key(at(2, 16), "k-nope"))  # refused
        self.on(at(3, 1), lambda: org().schedule_card_failures(at(3, 1), 2))
        self.on(at(3, 20, 0, 30), lambda: org().disable_autobill(at(3, 20, 0, 30)))
        self.on(at(3, 25, 0, 30), lambda: org().enable_autobill(at(3, 25, 0, 30)))
        day = at(1, 3, 10, 5)
        n = 0
        while day < END:
            first, n = day, n + 1
            refunded = [1, 7] if n % 4 == 0 else []
            safety = [3] if n % 5 == 0 else []
            key = "k-own" if n % 2 else None
            self.run(
                "backend",
                first,
                2 * MINUTE_US,
                20,
                partial(
                    lambda f, r, s, k: org().submit_tasks(
                        f, 2 * MINUTE_US, 20, VIDEO, 2, 200, refunded=r, safety_failed=s, key=k
                    ),
                    first,
                    refunded,
                    safety,
                    key,
                ),
            )
            day += timedelta(days=1)
        # Crosses midnight, and hits a rolling 24 h limit of 150 (A08).
        self.run(
            "backend",
            at(1, 5, 23, 30),
            MINUTE_US,
            200,
            lambda: org().submit_tasks(at(1, 5, 23, 30), MINUTE_US, 200, DRAFT, 3, 150),
        )
        hour = at(1, 2, 9)
        while hour < END:
            if not self.busy("backend", hour):
                self.on(hour, partial(lambda h: org().check_autobill(h), hour))
            hour += timedelta(hours=1)

    def _lab(self) -> None:
        """Opened mid-window, no autobill: it runs dry (A03). Policy defer (A08) with a
        daily limit of 3: each day 2 tasks wait for the next day's room."""
        self._open_organization("lab", at(2, 1, 12), tier=1, on_daily_limit=DailyLimitPolicy.DEFER)

        def org() -> ApiOrganization:
            return self.organizations["lab"]

        self.on(at(2, 1, 12), lambda: org().purchase_credits(at(2, 1, 12), 1000))
        for d in range(2, 8):
            first = at(2, d, 16)
            self.run(
                "lab",
                first,
                30 * 1_000_000,
                5,
                partial(lambda f: org().submit_tasks(f, 30 * 1_000_000, 5, IMAGE, 1, 3), first),
            )


# ------------------------------------------------------------ table checks


def table_rows(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()


def all_tables(conn: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table of the schema, rows sorted: equal dicts mean equal projections."""
    return {t.name: table_rows(conn, t.name) for t in schema.TABLES}


def run_instants(conn: duckdb.DuckDBPyConnection, account: str) -> list[datetime]:
    """Instants inside and at the edges of every charged run of ``account``."""
    out: list[datetime] = []
    for first, last, interval in conn.execute(
        "SELECT first_at, ts, interval_us FROM task_runs WHERE account_id = ? ORDER BY seq",
        [account],
    ).fetchall():
        step = timedelta(microseconds=max(1, interval // 2))
        us = timedelta(microseconds=1)
        out += [first - us, first, first + step, last - step, last - us, last, last + us]
    return out
