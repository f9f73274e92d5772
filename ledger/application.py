"""The service layer: use cases on the aggregates, storage through ``eventsourcing``.

``Ledger`` is an ``eventsourcing.Application``. Its store is chosen by
configuration: ``memory`` (unit tests), a SQLite file (the default), or a
PostgreSQL URL. A replay keeps its aggregates in memory, saves them in
batches (one transaction per batch, never one per event) and snapshots them
from memory, stamped with the simulated instant.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qsl, unquote, urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import JSONTranscoder, Transcoder, Transcoding

from ledger.domain import types as domain_types
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.terms import (
    ApiKey,
    AutobillSettings,
    PlanTerms,
    RefillSettings,
    TierRule,
    WaitingTask,
)
from ledger.domain.time import utc
from ledger.domain.types import EnterprisePoolPolicy, Plan, Surface
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook

ACCOUNT_NAMESPACE = uuid5(NAMESPACE_URL, "https://credit-ledger.invalid/accounts")
SNAPSHOT_INTERVAL = 200  # events between snapshots of a long-lived aggregate


def account_uuid(run: str, surface: Surface, account: str) -> UUID:
    """S03/style: ids derive from names (uuid5), so a replay is byte-identical."""
    return uuid5(ACCOUNT_NAMESPACE, f"{run}\x1f{surface.value}\x1f{account}")


# ----------------------------------------------------------------- transcoding


class _EnumAsValue(Transcoding):
    def __init__(self, enum_type: type[Enum]) -> None:
        self.type = enum_type
        self.name = f"enum:{enum_type.__name__}"
        self._enum = enum_type

    def encode(self, obj: Enum) -> Any:
        return obj.value

    def decode(self, data: Any) -> Enum:
        return self._enum(data)


class _DatetimeAsISO(Transcoding):
    type = datetime
    name = "datetime_iso"

    def encode(self, obj: datetime) -> str:
        return utc(obj).isoformat()

    def decode(self, data: str) -> datetime:
        return datetime.fromisoformat(data)


class _ValueAsObject(Transcoding):
    """A typed value of the domain (a frozen dataclass) as a JSON object of its fields.

    Nested enums, dollars and instants go through their own transcodings, so the
    value decodes to the same type with the same field types (cargo-shipping's
    ``Location``/``Itinerary`` transcodings, in eventsourcing's examples).
    """

    def __init__(self, value_type: type[Any], name: str) -> None:
        self.type = value_type
        self.name = name
        self._fields = tuple(f.name for f in dataclasses.fields(value_type))

    def encode(self, obj: Any) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self._fields}

    def decode(self, data: dict[str, Any]) -> Any:
        return self.type(**data)


# Stored names: a public contract of the event store, like the event topics.
STORED_VALUES: tuple[tuple[type[Any], str], ...] = (
    (PlanTerms, "plan_terms"),
    (TierRule, "tier_rule"),
    (RefillSettings, "refill_settings"),
    (AutobillSettings, "autobill_settings"),
    (ApiKey, "api_key"),
    (WaitingTask, "waiting_task"),
)


class LedgerTranscoder(JSONTranscoder):
    """JSON with our enums, and tolerant of ``datetime`` subclasses.

    freezegun swaps ``datetime`` for a subclass while a test freezes the wall
    clock; events must serialise the same either way (style.md pitfall).
    """

    def _encode_obj(self, o: Any) -> dict[str, Any]:
        if isinstance(o, datetime) and type(o) is not datetime:
            o = utc(o)
        return super()._encode_obj(o)


STORED_ENUMS: tuple[type[Enum], ...] = tuple(
    obj
    for obj in vars(domain_types).values()
    if isinstance(obj, type) and issubclass(obj, Enum) and obj.__module__ == domain_types.__name__
)


class SimulatedSnapshot(Snapshot):
    """A snapshot stamped with the aggregate's simulated instant, not the wall clock."""

    @classmethod
    def take(cls, aggregate: Any) -> SimulatedSnapshot:
        snap = super().take(aggregate)
        return dataclasses.replace(snap, timestamp=aggregate.modified_on)


# ------------------------------------------------------------------- balances


@dataclass(frozen=True, slots=True)
class Balances:
    """What an account holds at one instant (S05)."""

    account: str
    surface: Surface
    at: datetime
    balance: int
    plan: int | None = None  # web
    purchased: int | None = None  # web
    plan_name: Plan | None = None  # web
    tier: int | None = None  # api

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "account": self.account,
            "surface": self.surface.value,
            "at": self.at.isoformat(),
        }
        if self.surface is Surface.WEB:
            out.update(plan=self.plan, purchased=self.purchased, balance=self.balance)
            out["plan_name"] = self.plan_name.value if self.plan_name else None
        else:
            out.update(balance=self.balance, tier=self.tier)
        return out


# ----------------------------------------------------------- terms from book


def plan_terms(book: PriceBook, plan: Plan, contract_credits: int | None = None) -> PlanTerms:
    """W01-W03: a plan's figures from the price book (Enterprise: the contract)."""
    spec = book.plan(plan)
    allowance = contract_credits if plan is Plan.ENTERPRISE else spec.credits
    return PlanTerms(
        plan=plan,
        allowance=int(allowance or 0),
        monthly_usd=spec.monthly_usd,
        annual_usd=spec.annual_usd,
        seat_cap=spec.seat_cap,
        can_buy=spec.can_buy,
        explore=spec.explore,
        auto_refill=spec.auto_refill,
        refreshes=spec.refresh != "never",
    )


def tier_rules(book: PriceBook) -> list[TierRule]:
    return [
        TierRule(
            tier=int(tier),
            unlock_usd=spec.unlock_usd,
            min_days_since_first_purchase=spec.min_days_since_first_purchase,
            monthly_cap_usd=spec.monthly_cap_usd,
        )
        for tier, spec in sorted(book.api.tiers.items())
    ]


# ----------------------------------------------------------------- the ledger


def store_env(store: str | Path) -> dict[str, str]:
    """Configuration for a store: 'memory', a SQLite file path, or a PostgreSQL URL.

    A PostgreSQL URL may end in ``?schema=NAME`` (the tables live in that
    schema, which must exist) and ``create_table=false`` (a reader that must
    not create tables); ``ledger.pgstore`` gives each run its own schema.
    Without a password in the URL, ``PGPASSWORD`` or ``~/.pgpass`` supply it.
    """
    text = str(store)
    if text == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if text.startswith(("postgresql://", "postgres://")):
        url = urlsplit(text)
        query = dict(parse_qsl(url.query))
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(url.password or "") or os.environ.get("PGPASSWORD", ""),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # One command reads or writes one run from one thread: a small pool.
            "POSTGRES_POOL_SIZE": "1",
            "POSTGRES_MAX_OVERFLOW": "4",
            "CREATE_TABLE": query.get("create_table", "true"),
        }
        if query.get("schema"):
            env["POSTGRES_SCHEMA"] = query["schema"]
        return env
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(store),
        "SQLITE_LOCK_TIMEOUT": "10",
    }


class Ledger(Application[UUID]):
    """Use cases on web workspaces and API organizations."""

    name = "CreditLedger"
    snapshot_class = SimulatedSnapshot
    is_snapshotting_enabled = True

    def __init__(self, store: str | Path = "memory", run: str = "default") -> None:
        self.run = run
        self._working: dict[UUID, Aggregate] = {}
        self._snapshotted: dict[UUID, int] = {}
        super().__init__(env=store_env(store))

    def construct_transcoder(self) -> Transcoder:
        transcoder = LedgerTranscoder()
        self.register_transcodings(transcoder)
        transcoder.register(_DatetimeAsISO())
        for enum_type in STORED_ENUMS:
            transcoder.register(_EnumAsValue(enum_type))
        for value_type, name in STORED_VALUES:
            transcoder.register(_ValueAsObject(value_type, name))
        return transcoder

    # --------------------------------------------------------- identities

    def workspace_id(self, name: str) -> UUID:
        return account_uuid(self.run, Surface.WEB, name)

    def organization_id(self, name: str) -> UUID:
        return account_uuid(self.run, Surface.API, name)

    # ------------------------------------------------ working set and saves

    def track(self, aggregate: Aggregate) -> None:
        """Keep an aggregate in memory for a replay; it is saved by ``flush``."""
        self._working[aggregate.id] = aggregate

    def working(self, aggregate_id: UUID) -> Aggregate:
        return self._working[aggregate_id]

    def pending_count(self) -> int:
        return sum(len(a.pending_events) for a in self._working.values())

    def flush(self) -> int:
        """Save every tracked aggregate's new events in one transaction.

        Then snapshot, from memory, each aggregate that has gone
        ``SNAPSHOT_INTERVAL`` events since its last snapshot.
        """
        dirty = [a for a in self._working.values() if a.pending_events]
        if not dirty:
            return 0
        count = sum(len(a.pending_events) for a in dirty)
        self.save(*dirty)
        for aggregate in dirty:
            last = self._snapshotted.get(aggregate.id, 0)
            if aggregate.version - last >= SNAPSHOT_INTERVAL:
                self.snapshot_from_memory(aggregate)
        return count

    def snapshot_from_memory(self, aggregate: Aggregate) -> None:
        if self.snapshots is None:
            return
        snapshot = SimulatedSnapshot.take(aggregate)
        self.snapshots.put([snapshot])
        self._snapshotted[aggregate.id] = aggregate.version

    # ------------------------------------------------------------ use cases

    def open_workspace(
        self,
        name: str,
        at: datetime,
        book: PriceBook,
        plan: Plan,
        billing: domain_types.Billing = domain_types.Billing.MONTHLY,
        editors: list[str] | None = None,
        contract_credits: int | None = None,
        refill: RefillSettings | None = None,
        enterprise_pool: EnterprisePoolPolicy = EnterprisePoolPolicy.ANNUAL,
        free_credits: domain_types.FreeCreditsPolicy = domain_types.FreeCreditsPolicy.FORFEIT,
        plan_refresh: domain_types.PlanRefreshPolicy = domain_types.PlanRefreshPolicy.AT_ANCHOR,
        refill_window: domain_types.RefillWindowPolicy = (
            domain_types.RefillWindowPolicy.CALENDAR_MONTH
        ),
    ) -> WebWorkspace:
        workspace = WebWorkspace.subscribe(
            id=self.workspace_id(name),
            at=at,
            name=name,
            terms=plan_terms(book, plan, contract_credits),
            billing=billing,
            editors=editors or ["owner"],
            min_purchase_credits=book.web.min_purchase_credits,
            credit_price_usd=book.web.credit_price_usd,
            enterprise_cap_usd=book.web.enterprise_in_app_cap_usd,
            enterprise_pool=enterprise_pool,
            refill=refill,
            free_credits=free_credits,
            plan_refresh=plan_refresh,
            refill_window=refill_window,
        )
        self.track(workspace)
        return workspace

    def open_organization(
        self,
        name: str,
        at: datetime,
        book: PriceBook,
        tier: int = 1,
        members: list[str] | None = None,
        autobill: AutobillSettings | None = None,
        tier_upgrade: domain_types.TierUpgradePolicy = domain_types.TierUpgradePolicy.SPEND_ONLY,
        autobill_cap: domain_types.AutobillCapPolicy = domain_types.AutobillCapPolicy.PARTIAL,
        on_daily_limit: domain_types.DailyLimitPolicy = domain_types.DailyLimitPolicy.REJECT,
        balance: int = 0,
    ) -> ApiOrganization:
        organization = ApiOrganization.open(
            id=self.organization_id(name),
            at=at,
            name=name,
            tier=tier,
            tier_rules=tier_rules(book),
            members=members,
            autobill=autobill,
            tier_upgrade=tier_upgrade,
            autobill_cap=autobill_cap,
            min_purchase_credits=book.api.min_purchase_credits,
            autobill_min_credits=book.api.autobill_min_credits,
            credit_price_usd=book.api.credit_price_usd,
            on_daily_limit=on_daily_limit,
            balance=balance,
        )
        self.track(organization)
        return organization

    # --------------------------------------------------------- time travel

    def find_account(self, name: str) -> tuple[UUID, Surface]:
        """The id and surface of an account named in the scenario."""
        for surface in (Surface.WEB, Surface.API):
            aggregate_id = account_uuid(self.run, surface, name)
            if self.recorder.select_events(aggregate_id, limit=1):
                return aggregate_id, surface
        raise DomainError(f"no account named {name!r} in run {self.run!r}")

    def _timestamp_of(self, aggregate_id: UUID, version: int) -> datetime:
        stored = self.recorder.select_events(aggregate_id, gt=version - 1, lte=version, limit=1)
        event: Any = self.mapper.to_domain_event(stored[0])
        return cast(datetime, event.timestamp)

    def last_version(self, aggregate_id: UUID) -> int:
        stored = self.recorder.select_events(aggregate_id, desc=True, limit=1)
        return stored[0].originator_version if stored else 0

    def version_at(self, aggregate_id: UUID, at: datetime) -> int:
        """S05: the last version whose event happened at or before ``at`` (0 if none).

        Event timestamps never decrease along an aggregate's versions, so a
        binary search over the stored events is the timestamp-to-version index.
        """
        lo, hi = 0, self.last_version(aggregate_id)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self._timestamp_of(aggregate_id, mid) <= at:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def aggregate_at(self, aggregate_id: UUID, at: datetime) -> Aggregate | None:
        version = self.version_at(aggregate_id, utc(at))
        if version == 0:
            return None
        return cast(Aggregate, self.repository.get(aggregate_id, version=version))

    def balances_at(self, name: str, at: datetime) -> Balances:
        """S05: the state of an account at instant ``at``, inside runs included.

        The fold of every event stamped at or before ``at``, plus the part of
        a grouped run of tasks that had happened by ``at`` when its last task
        lies after it (its timestamp is the last task's).
        """
        at = utc(at)
        aggregate_id, surface = self.find_account(name)
        version = self.version_at(aggregate_id, at)
        if version == 0:
            raise DomainError(f"{name!r} did not exist yet at {at.isoformat()}")
        aggregate: Any = self.repository.get(aggregate_id, version=version)
        straddling = self._straddling(aggregate_id, version, at)
        if isinstance(aggregate, WebWorkspace):
            plan, purchased = aggregate.plan_credits, aggregate.purchased
            for event in straddling:
                if isinstance(event, WebWorkspace.GenerationCharged):
                    _, kept = event.done_by(at)
                    from_plan = min(plan, kept)  # W08
                    plan, purchased = plan - from_plan, purchased - (kept - from_plan)
            return Balances(
                account=name,
                surface=surface,
                at=at,
                balance=plan + purchased,
                plan=plan,
                purchased=purchased,
                plan_name=aggregate.plan,
            )
        assert isinstance(aggregate, ApiOrganization)
        balance = aggregate.balance
        for event in straddling:
            if isinstance(event, ApiOrganization.TaskCharged):
                balance -= event.done_by(at)[1]
        return Balances(account=name, surface=surface, at=at, balance=balance, tier=aggregate.tier)

    def _straddling(self, aggregate_id: UUID, version: int, at: datetime) -> list[Any]:
        """The run events after ``version`` whose first task is at or before ``at``.

        Events of one batch (``batch_at``) overlap in time, those of different
        batches never do; the batch that holds ``at`` began at or before it, the
        next one after it, so the scan stops at the first event of a later batch.
        """
        found: list[Any] = []
        page = 16
        gt = version
        while True:
            events: list[Any] = list(self.events.get(aggregate_id, gt=gt, limit=page))
            for event in events:
                batch_at = getattr(event, "batch_at", None)
                if batch_at is None or batch_at > at:
                    return found
                first_at = getattr(event, "first_at", None)  # a top-up inside a batch has none
                if first_at is not None and first_at <= at:
                    found.append(event)
            if len(events) < page:
                return found
            gt = events[-1].originator_version
            page = min(page * 4, 1024)

    def iter_account_events(self, name: str) -> Iterator[Any]:
        aggregate_id, _ = self.find_account(name)
        yield from self.events.get(aggregate_id)


__all__ = [
    "Balances",
    "Ledger",
    "account_uuid",
    "plan_terms",
    "store_env",
    "tier_rules",
]
