"""The replay engine: a year of planned activity on a simulated clock.

One merged, time-ordered queue holds, per account, (a) the scenario's
one-off actions, (b) planned usage, pulled lazily from the schedules, and
(c) the system's own clocks: billing dates (W05), hourly autobill checks
(A04, whose retries A05 fall on the hour), tier waiting periods (A06).
Things due at one instant run in the order of rule S04. Nothing reads the
wall clock; failure draws come from the scenario seed only.

Grouping: when an account's next task belongs to the same occurrence as the
previous one and nothing else of that account is due in between, the tasks
form a run handed to the aggregate in one call; the aggregate decides each
task exactly as alone and records consecutive identical outcomes as one
event. ``per_task=True`` hands tasks over one by one instead: the two modes
give the same balances at every instant (tests/integration/test_grouping.py).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, assert_never

from ledger.application import Ledger, plan_terms
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.runs import Lane, slice_indices, tasks_before
from ledger.domain.terms import AutobillSettings, RefillSettings, TaskSpec
from ledger.domain.time import DAY_US, HOUR_US, SECOND_US, from_us, next_hour_us, to_us
from ledger.domain.types import DailyLimitPolicy, Plan, Surface, Tier
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import ApiModel, DurationError, PriceBook, PricingError, WebModel
from scenarios.draws import Draws
from scenarios.errors import DataPath, Problem, ScenarioError, format_path
from scenarios.schedule import Occurrence, account_actions, usage_occurrences
from scenarios.schema import (
    Action,
    AddEditor,
    AddMember,
    Buy,
    Cancel,
    CardFails,
    ChangePlan,
    CreateKey,
    DisableAutobill,
    DisableKey,
    EnableAutobill,
    Organization,
    RemoveEditor,
    RemoveMember,
    Scenario,
    UsageLine,
    Workspace,
)

FLUSH_EVERY_ITEMS = 64  # queue items between checks of the pending-event count
FLUSH_EVENTS = 1_000  # events per save transaction (and the snapshot grain)
# A `credits` line may name a model the price book does not know (an imported
# history): its tasks take this long and no tier limit is known for them, so
# none is applied (an assumption, docs/importing.md).
UNKNOWN_MODEL_PROCESSING_S = 60
UNKNOWN_MODEL_CONCURRENCY = 1
UNKNOWN_MODEL_DAILY = 2**62


class Rank(IntEnum):
    """S04: the order of things due at the same instant."""

    OPEN = 0
    BILLING = 1  # billing-date refresh and renewal
    PLAN_CHANGE = 2  # plan changes and other account changes
    PURCHASE = 3
    AUTOBILL = 4  # autobill / auto-refill checks
    TIER = 5  # tier evaluation
    USAGE = 6  # planned usage, in scenario order


class Kind(IntEnum):
    OPEN = 0
    BILLING = 1
    ACTION = 2
    AUTOBILL = 3
    TIER = 4
    USAGE = 5
    REFRESH = 6  # W05 policy after_24h: the plan refresh 24 h after the billing date
    DEFERRED = 7  # A08 policy defer: deferred tasks submitted when the window has room


Key = tuple[int, int, int, int]  # (instant us, rank, line or file position, tie-break)


@dataclass(slots=True)
class _Cursor:
    """A usage occurrence being consumed task by task."""

    occurrence: Occurrence
    line_index: int
    line: UsageLine
    next_index: int = 0
    refunded: list[int] = field(default_factory=list)
    safety: list[int] = field(default_factory=list)
    first_us: int = field(init=False)  # the occurrence's first task, in microseconds
    interval_us: int = field(init=False)  # and its spacing

    def __post_init__(self) -> None:
        self.first_us = to_us(self.occurrence.first_at)
        self.interval_us = self.occurrence.interval // _MICRO

    def time_of(self, i: int) -> int:
        return self.first_us + i * self.interval_us

    def left_before(self, bound: int) -> int:
        """How many of the tasks not yet handed over come strictly before ``bound``."""
        i = self.next_index
        return tasks_before(self.time_of(i), self.interval_us, self.occurrence.count - i, bound)


_MICRO = from_us(1) - from_us(0)


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    until: datetime | None = None  # stop the simulated clock here (inclusive)
    per_task: bool = False  # hand tasks to the aggregates one by one
    progress: Callable[[datetime], None] | None = None
    draws: Draws | None = None  # a forecast sample's draws (None: typical values)


@dataclass(slots=True)
class ReplayStats:
    items: int = 0
    runs: int = 0  # batches handed to aggregates
    lanes: int = 0  # usage lines' shares of those batches
    tasks: int = 0
    events: int = 0
    stopped_at: datetime | None = None


def draw_failures(
    seed: int,
    account: str,
    line_index: int,
    first_us: int,
    count: int,
    failure_rate: float,
    safety_rate: float,
) -> tuple[list[int], list[int]]:
    """Which tasks of one occurrence fail: internal (refunded) and safety (charged).

    Each task fails independently; the draw depends only on the scenario seed
    and the occurrence, never on the processing mode or the wall clock.
    Geometric skips make it cost one draw per failure, not per task.
    """
    total = failure_rate + safety_rate
    if total <= 0 or count <= 0:
        return [], []
    digest = hashlib.sha256(f"{seed}|{account}|{line_index}|{first_us}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    refunded: list[int] = []
    safety: list[int] = []
    draw = rng.random
    if total >= 1:
        for i in range(count):
            (refunded if draw() * total < failure_rate else safety).append(i)
        return refunded, safety
    # The failing indices of `count` Bernoulli(total) trials, one draw per failure
    # (a geometric skip), each followed by the draw of its kind.
    log_q = math.log1p(-total)
    log1p = math.log1p
    i = -1
    while True:
        i += 1 + int(log1p(-draw()) / log_q)
        if i >= count:
            return refunded, safety
        (refunded if draw() * total < failure_rate else safety).append(i)


class _Account:
    """One account's queue: its actions, its clocks and its usage cursors.

    Three sources, merged by ``peek``: ``heap`` (one-off actions, billing
    dates, tier checks), ``usage`` (the usage cursors, one occurrence ahead)
    and ``tick`` (the next hourly autobill check of an organization).
    """

    def __init__(self, order: int, spec: Workspace | Organization, surface: Surface) -> None:
        self.order = order
        self.spec = spec
        self.surface = surface
        self.heap: list[tuple[Key, int, Any]] = []
        self.usage: list[tuple[Key, _Cursor]] = []
        self.tick: int | None = None
        self.seq = 0
        self.aggregate: WebWorkspace | ApiOrganization | None = None
        self.occurrences: Iterator[tuple[Occurrence, int, UsageLine]] | None = None
        self.ahead_us: int | None = None  # first task of the last occurrence pulled
        self.billing_scheduled: int | None = None
        self.refresh_scheduled: int | None = None
        self.deferred_scheduled: int | None = None
        self.tier_scheduled: int | None = None

    def push(self, at_us: int, rank: Rank, position: int, kind: Kind, payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.heap, ((at_us, int(rank), position, self.seq), int(kind), payload))

    def push_usage(self, at_us: int, cursor: _Cursor) -> None:
        self.seq += 1
        heapq.heappush(self.usage, ((at_us, int(Rank.USAGE), cursor.line_index, self.seq), cursor))

    def peek(self) -> Key | None:
        best = self.heap[0][0] if self.heap else None
        if self.tick is not None:
            tick = (self.tick, int(Rank.AUTOBILL), 0, 0)
            if best is None or tick < best:
                best = tick
        if self.usage and (best is None or self.usage[0][0] < best):
            best = self.usage[0][0]
        return best


class Replay:
    """Replays a validated scenario into a ``Ledger``."""

    def __init__(
        self,
        scenario: Scenario,
        book: PriceBook,
        ledger: Ledger,
        file: str = "<scenario>",
        line_of: Callable[[DataPath], int | None] | None = None,
        options: ReplayOptions | None = None,
    ) -> None:
        self.scenario = scenario
        self.book = book
        self.ledger = ledger
        self.file = file
        self.line_of = line_of or (lambda _path: None)
        self.options = options or ReplayOptions()
        self.start_us = to_us(scenario.start)
        end_us = to_us(scenario.end)
        until = self.options.until
        # Everything strictly before `end`; with --until, up to and including it.
        self.stop_us = min(end_us - 1, to_us(until)) if until is not None else end_us - 1
        self.end_us = end_us
        self.stats = ReplayStats()
        self._costs: dict[tuple[int, int, int | None], TaskSpec] = {}
        self._limits: dict[tuple[int, str], tuple[int, int]] = {}  # (tier, model): A06
        self.accounts: list[_Account] = []
        self.draws = self.options.draws or Draws()

    # ------------------------------------------------------------- setup

    def _setup(self) -> None:
        sc = self.scenario
        specs: list[tuple[str, int, Workspace | Organization, Surface, datetime]] = [
            ("workspaces", i, ws, Surface.WEB, ws.subscribed) for i, ws in enumerate(sc.workspaces)
        ] + [
            ("organizations", i, org, Surface.API, org.opened)
            for i, org in enumerate(sc.organizations)
        ]
        for order, (section, index, spec, surface, opened) in enumerate(specs):
            account = _Account(order, spec, surface)
            account.occurrences = usage_occurrences(
                spec.usage,
                sc.start,
                sc.end,
                not_before=opened,
                quantities=self.draws.quantities(spec.id, sc.start),
            )
            account.push(to_us(opened), Rank.OPEN, 0, Kind.OPEN, (section, index))
            self._push_actions(account, (section, index))
            self._pull_occurrence(account)
            self.accounts.append(account)

    def _push_actions(self, account: _Account, path: DataPath) -> None:
        for at, position, action in account_actions(account.spec):
            if not self.draws.happens(account.spec.id, position, action.probability):
                continue
            rank = Rank.PURCHASE if isinstance(action, Buy) else Rank.PLAN_CHANGE
            account.push(
                to_us(at), rank, position, Kind.ACTION, ((*path, "events", position), action)
            )

    def _pull_occurrence(self, account: _Account) -> None:
        assert account.occurrences is not None
        nxt = next(account.occurrences, None)
        if nxt is None:
            account.ahead_us = None
            return
        occurrence, line_index, line = nxt
        cursor = _Cursor(occurrence, line_index, line)
        if line.failure_rate > 0 or line.safety_failure_rate > 0:
            cursor.refunded, cursor.safety = draw_failures(
                self.scenario.seed,
                account.spec.id,
                line_index,
                cursor.first_us,
                occurrence.count,
                line.failure_rate,
                line.safety_failure_rate,
            )
        account.ahead_us = cursor.first_us
        account.push_usage(cursor.first_us, cursor)

    # -------------------------------------------------------------- loop

    def run(self) -> ReplayStats:
        """Process every queue item up to the stop instant, saving in batches."""
        self._setup()
        queue: list[tuple[Key, int]] = []
        for account in self.accounts:
            top = account.peek()
            if top is not None:
                heapq.heappush(queue, (top, account.order))
        progress = self.options.progress
        next_progress = self.start_us
        while queue:
            key, order = heapq.heappop(queue)
            account = self.accounts[order]
            if account.peek() != key:
                continue  # stale entry: this account's next item changed
            if key[0] > self.stop_us:
                break
            if account.usage and account.usage[0][0] == key:
                _, cursor = heapq.heappop(account.usage)
                self._process(account, key, Kind.USAGE, cursor)
            elif account.tick is not None and key == (account.tick, int(Rank.AUTOBILL), 0, 0):
                self._process(account, key, Kind.AUTOBILL, None)
            else:
                _, kind, payload = heapq.heappop(account.heap)
                self._process(account, key, Kind(kind), payload)
            self.stats.items += 1
            top = account.peek()
            if top is not None:
                heapq.heappush(queue, (top, account.order))
            if self.stats.items % FLUSH_EVERY_ITEMS == 0:
                if self.ledger.pending_count() >= FLUSH_EVENTS:
                    self.stats.events += self.ledger.flush()
                if progress is not None and key[0] >= next_progress:
                    progress(from_us(key[0]))
                    next_progress = key[0] + 24 * HOUR_US
        self.stats.events += self.ledger.flush()
        self.stats.stopped_at = from_us(self.stop_us)
        return self.stats

    def _process(self, account: _Account, key: Key, kind: Kind, payload: Any) -> None:
        at_us = key[0]
        at = from_us(at_us)
        if kind is Kind.OPEN:
            self._open(account, at, payload)
        elif kind is Kind.BILLING:
            ws = account.aggregate
            assert isinstance(ws, WebWorkspace)
            account.billing_scheduled = None
            if ws.next_billing_at is not None and to_us(ws.next_billing_at) == at_us:
                ws.pass_billing_date(at)
        elif kind is Kind.REFRESH:
            ws = account.aggregate
            assert isinstance(ws, WebWorkspace)
            if ws.next_refresh_at is not None and to_us(ws.next_refresh_at) == at_us:
                ws.refresh_plan_credits(at)
        elif kind is Kind.ACTION:
            path, action = payload
            try:
                self._action(account, at, action)
            except DomainError as exc:
                raise ScenarioError([self._problem(path, exc)]) from exc
        elif kind is Kind.AUTOBILL:
            org = account.aggregate
            assert isinstance(org, ApiOrganization)
            version = org.version
            org.check_autobill(at, evaluate_tier=False)
            if org.version != version:  # bought (or failed): S04, tiers come after autobill
                account.push(at_us, Rank.TIER, 0, Kind.TIER, None)
            nxt = at_us + HOUR_US
            if not self.options.per_task and _autobill_idle(org):
                # Nothing but usage or an action can wake the check: the hours
                # until the next of those are no-ops (A04).
                upcoming = [account.heap[0][0][0]] if account.heap else []
                if account.usage:
                    upcoming.append(account.usage[0][0][0])
                wake = min(upcoming) if upcoming else self.end_us
                nxt = max(nxt, next_hour_us(wake - 1))
            account.tick = nxt if nxt < self.end_us else None
        elif kind is Kind.DEFERRED:
            org = account.aggregate
            assert isinstance(org, ApiOrganization)
            account.deferred_scheduled = None
            org.resubmit_deferred(at)
        elif kind is Kind.TIER:
            org = account.aggregate
            assert isinstance(org, ApiOrganization)
            account.tier_scheduled = None
            org.evaluate_tier(at)
        else:
            self._usage(account, key, payload)
        self._schedule_clocks(account)

    def _problem(self, path: DataPath, exc: DomainError) -> Problem:
        message = str(exc)
        if exc.rule and message.endswith(f"(rule {exc.rule})"):
            message = message[: -len(f" (rule {exc.rule})")]
        return Problem(self.file, self.line_of(path), _format(path), message, exc.rule)

    def _schedule_clocks(self, account: _Account) -> None:
        agg = account.aggregate
        if isinstance(agg, WebWorkspace):
            due = agg.next_billing_at
            if due is not None:
                due_us = to_us(due)
                if due_us != account.billing_scheduled and due_us < self.end_us:
                    account.billing_scheduled = due_us
                    account.push(due_us, Rank.BILLING, 0, Kind.BILLING, None)
            refresh = agg.next_refresh_at
            if refresh is not None:
                refresh_us = to_us(refresh)
                if refresh_us != account.refresh_scheduled and refresh_us < self.end_us:
                    account.refresh_scheduled = refresh_us
                    account.push(refresh_us, Rank.BILLING, 0, Kind.REFRESH, None)
        elif isinstance(agg, ApiOrganization):
            deferred = agg.next_deferred_us
            if (
                deferred is not None
                and deferred != account.deferred_scheduled
                and deferred < self.end_us
            ):
                # A08 defer: before the usage lines of that instant (they came later).
                account.deferred_scheduled = deferred
                account.push(deferred, Rank.USAGE, -1, Kind.DEFERRED, None)
            ready = agg.next_tier_check_at
            if ready is not None:
                ready_us = to_us(ready)
                if ready_us != account.tier_scheduled and ready_us < self.end_us:
                    account.tier_scheduled = ready_us
                    account.push(max(ready_us, self._now(account)), Rank.TIER, 0, Kind.TIER, None)

    def _now(self, account: _Account) -> int:
        agg = account.aggregate
        return to_us(agg.modified_on) if agg is not None else self.start_us

    # ----------------------------------------------------------- opening

    def _open(self, account: _Account, at: datetime, path: DataPath) -> None:
        policies = self.scenario.policies
        try:
            if isinstance(account.spec, Workspace):
                ws = account.spec
                refill = (
                    RefillSettings(
                        trigger=ws.auto_refill.trigger,
                        amount_usd=ws.auto_refill.amount_usd,
                        monthly_max_usd=ws.auto_refill.monthly_max_usd,
                    )
                    if ws.auto_refill
                    else None
                )
                account.aggregate = self.ledger.open_workspace(
                    ws.id,
                    at,
                    self.book,
                    ws.plan,
                    billing=ws.billing,
                    editors=list(ws.editors),
                    contract_credits=ws.contract_credits,
                    refill=refill,
                    enterprise_pool=policies.enterprise_pool,
                    free_credits=policies.free_credits,
                    plan_refresh=policies.plan_refresh,
                    refill_window=policies.refill_window,
                )
            else:
                org = account.spec
                autobill = (
                    AutobillSettings(threshold=org.autobill.threshold, amount=org.autobill.amount)
                    if org.autobill
                    else None
                )
                account.aggregate = self.ledger.open_organization(
                    org.id,
                    at,
                    self.book,
                    tier=int(org.tier),
                    members=list(org.members),
                    autobill=autobill,
                    tier_upgrade=policies.tier_upgrade,
                    autobill_cap=policies.autobill_cap,
                    on_daily_limit=policies.on_daily_limit,
                    balance=org.balance,
                )
                first_tick = next_hour_us(to_us(at) - 1)  # A04: on the hour, from opening
                if first_tick < self.end_us:
                    account.tick = first_tick
        except DomainError as exc:
            raise ScenarioError([self._problem(path, exc)]) from exc

    # ----------------------------------------------------------- actions

    def _action(self, account: _Account, at: datetime, action: Action) -> None:
        """One of the scenario's actions, dispatched by its type (mypy checks that
        every type is handled: ``assert_never``)."""
        agg = account.aggregate
        match action:
            case Buy():
                if isinstance(agg, WebWorkspace):
                    agg.purchase_credits(at, action.buy)
                else:
                    _organization(agg).purchase_credits(at, action.buy, evaluate_tier=False)
                    # S04: tier evaluation comes after this instant's purchases and autobill.
                    account.push(to_us(at), Rank.TIER, 0, Kind.TIER, None)
            case ChangePlan():
                _workspace(agg).change_plan(at, plan_terms(self.book, action.change_plan))
            case AddEditor():
                _workspace(agg).add_editor(at, action.add_editor)
            case RemoveEditor():
                _workspace(agg).remove_editor(at, action.remove_editor)
            case Cancel():
                _workspace(agg).cancel(at, plan_terms(self.book, Plan.FREE))
            case AddMember():
                _organization(agg).add_member(at, action.add_member)
            case RemoveMember():
                _organization(agg).remove_member(at, action.remove_member)
            case CreateKey():
                _organization(agg).create_key(at, action.create_key, action.by)
            case DisableKey():
                _organization(agg).disable_key(at, action.disable_key)
            case CardFails():
                _organization(agg).schedule_card_failures(at, action.card_fails)
            case EnableAutobill():
                settings = action.enable_autobill
                if settings is True:
                    _organization(agg).enable_autobill(at)
                else:
                    _organization(agg).enable_autobill(at, settings.threshold, settings.amount)
            case DisableAutobill():
                _organization(agg).disable_autobill(at)
            case _:
                assert_never(action)

    # ------------------------------------------------------------- usage

    def _task_spec(self, account: _Account, cursor: _Cursor) -> TaskSpec:
        cache_key = (account.order, cursor.line_index, cursor.occurrence.seconds)
        spec = self._costs.get(cache_key)
        if spec is None:
            line = cursor.line
            usage = line.task_usage(cursor.occurrence.seconds)
            model: WebModel | ApiModel | None
            kind = "workspaces" if account.surface is Surface.WEB else "organizations"
            index = self._spec_index(account)
            path: DataPath = (kind, index, "usage", cursor.line_index, "model")
            try:
                if line.credits is not None:  # a fixed price, the model may be unknown
                    model = self._known_model(account.surface, line.model)
                    cost = line.credits
                else:
                    model = self.book.model(account.surface, line.model)
                    model.check_usage(usage)
                    cost = model.cost(usage)
            except DurationError as exc:  # A02: as scenarios/validate.py reports it
                path = (*path[:-1], "seconds")
                message = f"{line.model}: {exc}"
                raise ScenarioError(
                    [Problem(self.file, self.line_of(path), _format(path), message, "A02")]
                ) from exc
            except PricingError as exc:
                raise ScenarioError(
                    [Problem(self.file, self.line_of(path), _format(path), str(exc), "A02")]
                ) from exc
            seconds = model.processing_time(usage) if model else UNKNOWN_MODEL_PROCESSING_S
            spec = TaskSpec(
                model=line.model,
                credits_each=cost,
                processing_us=seconds * SECOND_US,
                label=line.label or "",
            )
            self._costs[cache_key] = spec
        return spec

    def _known_model(self, surface: Surface, model_id: str) -> WebModel | ApiModel | None:
        models = self.book.web.models if surface is Surface.WEB else self.book.api.models
        return models.get(model_id)

    def _limit(self, tier: int, model_id: str) -> tuple[int, int]:
        """A06 concurrency and 24 h generations; a model the book does not know has none."""
        found = self._limits.get((tier, model_id))
        if found is not None:
            return found
        if model_id not in self.book.api.models:
            found = UNKNOWN_MODEL_CONCURRENCY, UNKNOWN_MODEL_DAILY
        else:
            limit = self.book.limit(Tier(tier), model_id)
            found = limit.concurrency, limit.daily
        self._limits[(tier, model_id)] = found
        return found

    def _spec_index(self, account: _Account) -> int:
        if account.surface is Surface.WEB:
            return account.order
        return account.order - len(self.scenario.workspaces)

    def _lane(self, account: _Account, cursor: _Cursor, n: int, order: int) -> Lane:
        """The next ``n`` tasks of ``cursor`` as a lane of a batch."""
        i = cursor.next_index
        spec = self._task_spec(account, cursor)
        lane = Lane(
            task=spec,
            first=cursor.time_of(i),
            interval=cursor.interval_us,
            count=n,
            refunded=slice_indices(cursor.refunded, i, i + n),
            safety=slice_indices(cursor.safety, i, i + n),
            order=order,
            mode=cursor.line.mode,
            key=cursor.line.key,
        )
        agg = account.aggregate
        if isinstance(agg, ApiOrganization):
            lane.concurrency, lane.daily_limit = self._limit(agg.tier, spec.model)
        return lane

    def _usage(self, account: _Account, key: Key, cursor: _Cursor) -> None:
        if self.options.per_task:
            if cursor.next_index == 0:
                self._pull_occurrence(account)  # keep one occurrence ahead in the queue
            batch, checks = [(cursor, 1)], None
        else:
            batch, checks = self._batch(account, key, cursor)
        lanes = [self._lane(account, c, n, order) for order, (c, n) in enumerate(batch)]
        agg = account.aggregate
        decided = [lane.count for lane in lanes]
        if isinstance(agg, WebWorkspace):
            agg.generate_batch(lanes)
        else:
            assert isinstance(agg, ApiOrganization)
            decided, next_check = agg.submit_batch(lanes, checks)
            if checks is not None:
                # The checks before `next_check` were made inside the batch (A04);
                # a batch stopped before a check leaves it, and the tasks from it
                # on, to the replay.
                account.tick = (
                    next_check if next_check is not None and next_check < self.end_us else None
                )
        self.stats.runs += 1
        self.stats.lanes += len(lanes)
        for (c, _), n in zip(batch, decided, strict=True):
            self.stats.tasks += n
            c.next_index += n
            if c.next_index < c.occurrence.count:
                account.push_usage(c.time_of(c.next_index), c)

    def _batch(
        self, account: _Account, key: Key, cursor: _Cursor
    ) -> tuple[list[tuple[_Cursor, int]], tuple[int, int] | None]:
        """The tasks of every usage line of the account from ``key`` on, up to the
        first instant at which anything else of the account is due (an action, a
        billing date, a tier check, an hourly autobill check that may buy), the
        next UTC midnight or the stop instant: (cursor, tasks) in S04 order.

        An organization that rejects what is over its daily limit makes its
        hourly autobill checks inside the batch (A04): the second item gives
        the first and last of them, else None.
        """
        first = key[0]
        bound = min(self.stop_us + 1, (first // DAY_US + 1) * DAY_US)
        if account.heap and account.heap[0][0][0] < bound:
            bound = account.heap[0][0][0]  # it comes before usage at its instant (S04)
        while account.ahead_us is not None and account.ahead_us < bound:
            self._pull_occurrence(account)
        cursors: list[_Cursor] = [cursor]
        while account.usage and account.usage[0][0][0] < bound:
            cursors.append(heapq.heappop(account.usage)[1])
        checks: tuple[int, int] | None = None
        if account.tick is not None and account.tick < bound:
            org = account.aggregate
            assert isinstance(org, ApiOrganization)
            if _autobill_idle(org, ignore_balance=True):
                pass  # no check before `bound` can buy
            elif org.on_daily_limit is DailyLimitPolicy.REJECT:
                checks = (account.tick, bound - 1)
            else:
                # A08 defer: the checks are not made inside a batch; it ends at the
                # first that might buy, for the replay to make that check alone.
                lanes = [
                    self._lane(account, c, c.left_before(bound), order)
                    for order, c in enumerate(cursors)
                ]
                might_buy = org.first_check_that_might_buy(lanes, account.tick, bound - 1)
                bound = might_buy if might_buy is not None else bound
        cursors.sort(key=lambda c: (c.line_index, c.first_us))
        batch: list[tuple[_Cursor, int]] = []
        for c in cursors:
            n = c.left_before(bound)
            if n > 0:
                batch.append((c, n))
            else:
                account.push_usage(c.time_of(c.next_index), c)
        if checks is None and account.tick is not None and account.tick < bound:
            # Every hourly check before `bound` was shown to find the balance at or
            # above the threshold (or autobill off): they would do nothing (A04).
            nxt = next_hour_us(bound - 1)
            account.tick = nxt if nxt < self.end_us else None
        return batch, checks


def _autobill_idle(org: ApiOrganization, *, ignore_balance: bool = False) -> bool:
    """A04: an hourly check would do nothing until usage or an action changes things."""
    if org.autobill is None or not org.autobill_enabled:
        return True
    if ignore_balance:
        return False
    return org.balance >= org.autobill.threshold


def _workspace(aggregate: WebWorkspace | ApiOrganization | None) -> WebWorkspace:
    if not isinstance(aggregate, WebWorkspace):
        raise DomainError("only a workspace takes this action (the validator checks it)")
    return aggregate


def _organization(aggregate: WebWorkspace | ApiOrganization | None) -> ApiOrganization:
    if not isinstance(aggregate, ApiOrganization):
        raise DomainError("only an organization takes this action (the validator checks it)")
    return aggregate


def _format(path: DataPath) -> str:
    return format_path(path)


def replay(
    scenario: Scenario,
    book: PriceBook,
    ledger: Ledger,
    *,
    file: str = "<scenario>",
    line_of: Callable[[DataPath], int | None] | None = None,
    options: ReplayOptions | None = None,
) -> ReplayStats:
    """Replay ``scenario`` into ``ledger`` (see ``Replay``)."""
    return Replay(scenario, book, ledger, file, line_of, options).run()
