"""Every stored event type survives a round trip through the store with its types
intact, and a snapshotted aggregate reads back equal to the one in memory: on
SQLite and on PostgreSQL (the ``store`` fixture, tests/conftest.py)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from ledger.application import (
    SNAPSHOT_INTERVAL,
    STORED_VALUES,
    Ledger,
    SimulatedSnapshot,
    plan_terms,
)
from ledger.domain.api import ApiOrganization
from ledger.domain.terms import ApiKey, AutobillSettings, RefillSettings, TaskSpec, WaitingTask
from ledger.domain.types import Billing, DailyLimitPolicy, FreeCreditsPolicy, GenerationMode, Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.loader import load_price_book

BOOK = load_price_book()
START = datetime(2027, 1, 31, 14, 30, tzinfo=UTC)
HOUR_US = 3_600_000_000


# eventsourcing's metaclass gives every aggregate an ``Event`` base and a default
# ``Created`` event; ours are created by their own events (PlanSubscribed, Opened).
LIBRARY_MADE = {"Event", "Created"}


def event_types(aggregate: type[Aggregate]) -> set[type]:
    """The event classes nested in an aggregate: every subclass of its ``Event``."""
    return {
        v
        for k, v in vars(aggregate).items()
        if isinstance(v, type) and issubclass(v, aggregate.Event) and k not in LIBRARY_MADE
    }


def a_workspace_history(app: Ledger) -> WebWorkspace:
    day = timedelta(days=1)
    ws = app.open_workspace(
        "studio",
        START,
        BOOK,
        Plan.PRO,
        editors=[f"e{i}" for i in range(7)],
        refill=RefillSettings(trigger=100, amount_usd=10, monthly_max_usd=30),
    )
    ws.add_editor(START + day, "h")  # EditorAdded
    ws.remove_editor(START + 2 * day, "h")  # EditorRemoved
    ws.add_editor(START + 2 * day, "e0")  # EditorRefused (already there)
    ws.purchase_credits(START + 2 * day, 1500)  # CreditsPurchased
    ws.generate(START + 3 * day, HOUR_US, 20, TaskSpec("gen4.5", 250), refunded=[3])
    ws.generate(START + 4 * day, 0, 2, TaskSpec("gen4.5", 250), mode=GenerationMode.EXPLORE)
    ws.change_plan(START + 5 * day, plan_terms(BOOK, Plan.STANDARD))  # PlanChangeRefused
    ws.change_plan(START + 6 * day, plan_terms(BOOK, Plan.UNLIMITED))  # PlanUpgraded
    ws.change_plan(START + 7 * day, plan_terms(BOOK, Plan.PRO))  # DowngradeScheduled
    ws.change_plan(START + 7 * day, plan_terms(BOOK, Plan.UNLIMITED))  # ScheduledChangeDropped
    ws.change_plan(START + 7 * day, plan_terms(BOOK, Plan.PRO))  # DowngradeScheduled again
    ws.pass_billing_date(datetime(2027, 2, 28, 14, 30, tzinfo=UTC))  # PlanDowngraded, ...
    ws.cancel(datetime(2027, 3, 1, tzinfo=UTC))  # CancellationScheduled
    ws.pass_billing_date(datetime(2027, 3, 31, 14, 30, tzinfo=UTC))  # PlanEnded
    ws.purchase_credits(datetime(2027, 4, 1, tzinfo=UTC), 1000)  # PurchaseRefused
    return ws


def a_free_workspace_history(app: Ledger) -> WebWorkspace:
    """Policy free_credits: keep (FreeCreditsKept)."""
    ws = WebWorkspace.subscribe(
        id=app.workspace_id("solo"),
        at=START,
        name="solo",
        terms=plan_terms(BOOK, Plan.FREE),
        billing=Billing.MONTHLY,
        editors=["owner"],
        free_credits=FreeCreditsPolicy.KEEP,
    )
    app.track(ws)
    ws.change_plan(START + timedelta(days=1), plan_terms(BOOK, Plan.STANDARD))
    return ws


def a_deferring_organization_history(app: Ledger) -> ApiOrganization:
    """Policy on_daily_limit: defer (TaskDeferred, TaskResubmitted, DeferredTaskRefused)."""
    org = app.open_organization("queue", START, BOOK, on_daily_limit=DailyLimitPolicy.DEFER)
    org.purchase_credits(START, 1200)  # 3 tasks' worth
    task = TaskSpec("gen4.5", 400, processing_us=90_000_000)
    org.submit_tasks(START, 0, 4, task, 2, 2)  # 2 charged, 2 deferred a day
    org.resubmit_deferred(START + timedelta(days=1))  # 1 resubmitted, 1 short of credits
    return org


def an_organization_history(app: Ledger) -> ApiOrganization:
    day = timedelta(days=1)
    org = app.open_organization(
        "backend",
        START,
        BOOK,
        members=["owner", "dev"],
        autobill=AutobillSettings(threshold=500, amount=1000),
    )
    org.purchase_credits(START, 2000)  # CreditsPurchased
    org.purchase_credits(START, 9000)  # PurchaseRefused: over Tier 1's $100
    org.purchase_credits(START + day, 3000)  # $50 in all: TierRaised
    org.add_member(START + day, "ops")  # MemberAdded
    org.add_member(START + day, "ops")  # MemberRefused
    org.create_key(START + day, "dev-key", by="dev")  # ApiKeyCreated
    org.remove_member(START + 2 * day, "dev")  # MemberRemoved (key left active)
    org.disable_key(START + 2 * day, "dev-key")  # ApiKeyDisabled
    org.disable_key(START + 2 * day, "dev-key")  # KeyRefused
    task = TaskSpec("gen4.5", 120, processing_us=90_000_000)
    org.submit_tasks(START + 3 * day, 0, 50, task, 3, 1000, refunded=[1], safety_failed=[2])
    org.check_autobill(START + 3 * day + timedelta(hours=1))  # AutobillToppedUp
    org.schedule_card_failures(START + 4 * day, 1)  # CardFailuresScheduled
    org.submit_tasks(START + 4 * day, 0, 10, task, 3, 1000)
    org.check_autobill(START + 4 * day + timedelta(hours=1))  # AutobillFailed
    org.disable_autobill(START + 5 * day)  # AutobillDisabled
    org.enable_autobill(START + 6 * day, threshold=400)  # AutobillEnabled
    return org


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Equal, and of the very same types all the way down (enums, Decimal, datetime, int)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} became {type(b).__name__}"
    if is_dataclass(a):
        for f in fields(a):
            assert_same(getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}")
    elif isinstance(a, dict):
        assert sorted(a, key=repr) == sorted(b, key=repr), path
        for k in a:
            assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, Decimal):
        assert str(a) == str(b), path  # the exponent too: $10.00 stays $10.00
    elif isinstance(a, datetime):
        assert (a, a.utcoffset()) == (b, b.utcoffset()), path
    else:
        assert a == b, path


def test_every_event_type_round_trips_through_the_store(store: str | Path) -> None:
    app = Ledger(store, run="roundtrip")
    aggregates = [
        a_workspace_history(app),
        an_organization_history(app),
        a_free_workspace_history(app),
        a_deferring_organization_history(app),
    ]
    originals = {a.id: list(a.pending_events) for a in aggregates}
    app.flush()

    fresh = Ledger(store, run="roundtrip")
    for aggregate_id, events in originals.items():
        stored = list(fresh.events.get(aggregate_id))
        assert len(stored) == len(events)
        for original, read in zip(events, stored, strict=True):
            assert_same(original, read, type(original).__qualname__)

    produced = {type(e) for events in originals.values() for e in events}
    expected = event_types(WebWorkspace) | event_types(ApiOrganization)
    missing = sorted(t.__qualname__ for t in expected - produced)
    assert not missing, f"event types without a round trip: {missing}"
    assert produced == expected


def test_the_event_type_census_finds_the_known_types() -> None:
    web = {t.__name__ for t in event_types(WebWorkspace)}
    api = {t.__name__ for t in event_types(ApiOrganization)}
    assert {"PlanSubscribed", "GenerationCharged", "PlanEnded"} <= web
    assert {"Opened", "TaskCharged", "AutobillFailed"} <= api
    assert not ({"Event", "Created"} & (web | api))


def test_reading_back_rebuilds_aggregates_equal_to_memory(store: str | Path) -> None:
    app = Ledger(store, run="roundtrip")
    ws = a_workspace_history(app)
    org = an_organization_history(app)
    app.flush()
    fresh = Ledger(store, run="roundtrip")
    for aggregate in (ws, org):
        read: Any = fresh.repository.get(aggregate.id)
        assert type(read) is type(aggregate)
        assert_same(vars(aggregate), vars(read), type(aggregate).__name__)


@pytest.mark.parametrize("flush_every_month", [False, True])
def test_a_workspace_past_200_events_is_snapshotted_and_reads_back_equal(
    store: str | Path, flush_every_month: bool
) -> None:
    app = Ledger(store, run="snap")
    ws = app.open_workspace("busy", START, BOOK, Plan.STANDARD)
    ws.purchase_credits(START, 50_000)
    while ws.version <= SNAPSHOT_INTERVAL + 20:
        due = ws.next_billing_at
        assert due is not None
        ws.generate(due - timedelta(days=3), HOUR_US, 30, TaskSpec("gen4.5", 25), refunded=[7])
        ws.pass_billing_date(due)
        if flush_every_month:  # as a replay saves in batches
            app.flush()
    app.flush()
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(ws.id))
    assert len(snapshots) == 1
    snapshot = snapshots[0]
    assert SNAPSHOT_INTERVAL <= snapshot.originator_version <= ws.version
    if not flush_every_month:
        assert snapshot.originator_version == ws.version
    stored: list[Any] = list(app.events.get(ws.id))
    stamped = stored[snapshot.originator_version - 1].timestamp
    assert (
        getattr(snapshot, "timestamp", None) == stamped
    )  # the simulated instant, not the wall clock (S03)

    fresh = Ledger(store, run="snap")
    read: WebWorkspace = fresh.repository.get(ws.id)
    assert_same(vars(ws), vars(read), "busy")
    # The same state as folding every event from the first, without the snapshot.
    folded = None
    event: Any
    for event in fresh.events.get(ws.id):
        folded = event.mutate(folded)
    assert_same(vars(read), vars(folded), "busy, folded")


def test_uuid_ids_derive_from_run_and_name() -> None:
    a, b = Ledger("memory", run="x"), Ledger("memory", run="x")
    assert a.workspace_id("w") == b.workspace_id("w")
    assert isinstance(a.workspace_id("w"), UUID)
    assert a.workspace_id("w") != Ledger("memory", run="y").workspace_id("w")


def as_version_1(state: bytes) -> bytes:
    """A stored state as version 1 wrote it: typed values as plain objects, no version."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("_type_") in {name for _, name in STORED_VALUES}:
                return plain(value["_data_"])
            return {k: plain(v) for k, v in value.items() if k != "class_version"}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(json.loads(state)), separators=(",", ":")).encode()


def test_events_and_snapshots_stored_by_version_1_read_back_typed() -> None:
    app = Ledger("memory", run="v1")
    ws = a_workspace_history(app)
    org = an_organization_history(app)
    app.flush()
    upgraded = 0
    for aggregate in (ws, org):
        for stored in app.recorder.select_events(aggregate.id):
            old = dataclasses.replace(stored, state=as_version_1(stored.state))
            upgraded += old.state != stored.state
            assert_same(app.mapper.to_domain_event(stored), app.mapper.to_domain_event(old), "v1")
    assert upgraded >= 8  # every event type that holds a typed value was rewritten
    for aggregate in (ws, org):
        # The organization's keys were plain dicts up to its version 2 (A10).
        snapshot = SimulatedSnapshot.take(aggregate)
        state = app.mapper.to_stored_event(snapshot)
        old = dataclasses.replace(state, state=as_version_1(state.state))
        assert old.state != state.state
        snapshot_read: Any = app.mapper.to_domain_event(old)
        restored = snapshot_read.mutate(None)
        assert_same(vars(aggregate), vars(restored), "snapshot")
    assert org.keys and all(isinstance(key, ApiKey) for key in org.keys.values())


def test_a08_a_version_3_snapshot_with_a_backlog_reads_back_typed() -> None:
    """Up to its version 3 an organization held each deferred task as a positional
    list; its snapshots read back as ``WaitingTask`` values, field by field."""
    app = Ledger("memory", run="v3")
    org = app.open_organization(
        "o", START, BOOK, on_daily_limit=DailyLimitPolicy.DEFER, members=["owner", "dev"]
    )
    org.purchase_credits(START, 4000)
    org.create_key(START, "k", by="dev")
    task = TaskSpec("gen4_image_turbo", 2, 60 * 1_000_000, "drafts")
    org.submit_tasks(START + timedelta(days=1), 360_000_000, 400, task, 2, 200, key="k")
    app.flush()
    waiting = org.backlog["gen4_image_turbo"]
    assert len(waiting) == 40 and all(isinstance(t, WaitingTask) for t in waiting)
    state = app.mapper.to_stored_event(SimulatedSnapshot.take(org))

    def as_version_3(value: Any) -> Any:
        if isinstance(value, dict):
            if value.get("_type_") == "waiting_task":
                d = value["_data_"]
                return [d[f.name] for f in fields(WaitingTask)]  # the v3 positional record
            return {k: as_version_3(v) for k, v in value.items()}
        if isinstance(value, list):
            return [as_version_3(v) for v in value]
        return value

    old = as_version_3(json.loads(state.state))
    assert old["state"]["class_version"] == 4
    old["state"]["class_version"] = 3
    stored = dataclasses.replace(state, state=json.dumps(old, separators=(",", ":")).encode())
    assert stored.state != state.state
    snapshot_read: Any = app.mapper.to_domain_event(stored)
    assert_same(vars(org), vars(snapshot_read.mutate(None)), "snapshot")
