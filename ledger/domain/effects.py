"""What each stored event does to credits (by bucket) and dollars: declared once.

Every event type of both aggregates has one entry in ``DECLARATIONS``: a
function from the event and the account's holdings just before it to its
``Effects`` (credit movements per bucket, each with why it moved; dollar
payments; tasks or actions refused), and the fields an audit line leaves out.
Everything that counts derives from it: the projection's ``ledger_entries``
and ``usd_ledger`` rows, the run summary and ``monthly_summary`` (which sum
those rows by ``Move.figure``), ``compare`` and ``diff`` (``ledger.tools.decide.
measure`` folds the same effects), the whole-run invariants and the audit
line. A new event type without a declaration fails
``tests/unit/domain/test_effects.py``.

One meaning of *used*, everywhere: the credits charged for tasks less the
credits refunded for tasks that failed internally (W14, A11), i.e. what the
tasks kept. ``charged`` and ``refunded`` are shown beside it where both matter.

A grouped run of tasks moves credits at each task's own instant; its
movements are declared per UTC day slice (stamped with the slice's last
task), refunds before usage, so end-of-day figures are exact and no balance
after a movement dips below what the bucket really held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import Any

from eventsourcing.domain import Aggregate

from ledger.domain.api import ApiOrganization
from ledger.domain.runs import slice_indices, tasks_before
from ledger.domain.time import DAY_US, to_us
from ledger.domain.types import Bucket
from ledger.domain.web import WebWorkspace

Web = WebWorkspace
Api = ApiOrganization


class Figure(Enum):
    """The totals a user reads; every movement counts in exactly one."""

    GRANTED = "granted"  # credits given: grant, refresh, upgrade; an imported opening balance
    BOUGHT = "bought"  # credits bought: purchase, Auto Refill, autobill
    CHARGED = "charged"  # credits charged for tasks, refunded ones included
    REFUNDED = "refunded"  # credits given back for tasks that failed (W14, A11)
    FORFEITED = "forfeited"  # plan credits not carried over (W06, W13, W16)


class Move(Enum):
    """Why credits moved (``ledger_entries.reason``)."""

    GRANT = "grant"
    REFRESH = "refresh"
    UPGRADE = "upgrade"
    OPENING = "opening"  # credits carried in from before the window (an imported history)
    PURCHASE = "purchase"
    REFILL = "refill"
    AUTOBILL = "autobill"
    USAGE = "usage"
    REFUND = "refund"
    FORFEIT = "forfeit"
    CARRY = "carried"  # policy free_credits: keep: the Free grant moves to purchased

    @property
    def figure(self) -> Figure:
        return _FIGURE[self]


_FIGURE = {
    Move.GRANT: Figure.GRANTED,
    Move.REFRESH: Figure.GRANTED,
    Move.UPGRADE: Figure.GRANTED,
    Move.OPENING: Figure.GRANTED,  # an imported opening balance: given, not bought
    Move.CARRY: Figure.GRANTED,  # a move between buckets: it nets to zero per account
    Move.PURCHASE: Figure.BOUGHT,
    Move.REFILL: Figure.BOUGHT,
    Move.AUTOBILL: Figure.BOUGHT,
    Move.USAGE: Figure.CHARGED,
    Move.REFUND: Figure.REFUNDED,
    Move.FORFEIT: Figure.FORFEITED,
}


def moves_of(figure: Figure) -> tuple[Move, ...]:
    """The movements that count in ``figure``, in declaration order."""
    return tuple(m for m in Move if m.figure is figure)


class Payment(Enum):
    """What a dollar amount paid for (``usd_ledger.kind``)."""

    SUBSCRIPTION = "subscription"
    RENEWAL = "renewal"
    UPGRADE = "upgrade"
    SEAT_ADDED = "seat_added"
    SEAT_REMOVED = "seat_removed"  # negative: the seat credits netted on an invoice (W04)
    PURCHASE = "purchase"
    REFILL = "refill"
    AUTOBILL = "autobill"

    @property
    def buys_credits(self) -> bool:
        """A top-up (purchase, Auto Refill, autobill); the others pay for the plan
        and its seats."""
        return self in (Payment.PURCHASE, Payment.REFILL, Payment.AUTOBILL)


class Refused(Enum):
    """What the simulation said no to (``refusals.kind``)."""

    GENERATION = "generation"
    TASK = "task"
    PURCHASE = "purchase"
    PLAN_CHANGE = "plan_change"
    EDITOR = "editor"
    MEMBER = "member"
    KEY = "key"

    @property
    def tasks(self) -> bool:
        """Generations and tasks (counted by the task), not account actions."""
        return self in (Refused.GENERATION, Refused.TASK)


@dataclass(frozen=True, slots=True)
class Held:
    """An account's buckets just before an event."""

    plan: int = 0  # web
    purchased: int = 0  # web
    credits: int = 0  # api


@dataclass(frozen=True, slots=True)
class Movement:
    """``delta`` credits into (or out of) ``bucket``, at ``at_us`` (None: the event's
    own instant)."""

    bucket: Bucket
    move: Move
    delta: int
    at_us: int | None = None


@dataclass(frozen=True, slots=True)
class Paid:
    """Dollars paid (negative: credited back) and the credits they bought, if any."""

    kind: Payment
    usd: Decimal
    credits: int | None = None


@dataclass(frozen=True, slots=True)
class Effects:
    """What one event does to credits and dollars, and what it refused."""

    credits: tuple[Movement, ...] = ()
    paid: tuple[Paid, ...] = ()
    refused: Refused | None = None
    refused_count: int = 0  # tasks or generations refused; 1 for an action

    def total(self, figure: Figure) -> int:
        """The movements of ``figure`` as a positive amount (charged, forfeited: taken)."""
        sign = -1 if figure in (Figure.CHARGED, Figure.FORFEITED) else 1
        return sign * sum(m.delta for m in self.credits if m.move.figure is figure)

    @property
    def used(self) -> int:
        """Credits charged less credits refunded: what the tasks kept."""
        return self.total(Figure.CHARGED) - self.total(Figure.REFUNDED)

    @property
    def usd(self) -> Decimal:
        return sum((p.usd for p in self.paid), Decimal("0.00"))

    def bucket_delta(self, bucket: Bucket) -> int:
        return sum(m.delta for m in self.credits if m.bucket is bucket)


NOTHING = Effects()

EffectsOf = Callable[[Any, Held], Effects]


@dataclass(frozen=True, slots=True)
class Declaration:
    """One event type's effects, and its bookkeeping fields that an audit line omits."""

    effects: EffectsOf
    noise: frozenset[str] = field(default_factory=frozenset)


# ------------------------------------------------------------------ helpers


def _pay(kind: Payment, usd: Decimal, credits: int | None = None) -> tuple[Paid, ...]:
    """A payment; a zero amount (a month inside an annual period) is none."""
    return () if usd == 0 else (Paid(kind, usd, credits),)


def _move(bucket: Bucket, move: Move, delta: int) -> tuple[Movement, ...]:
    return (Movement(bucket, move, delta),) if delta else ()


def _none(event: Any, held: Held) -> Effects:
    return NOTHING


def day_slices(first: int, interval: int, count: int) -> list[tuple[int, int]]:
    """(index of the first task, number of tasks) for each UTC day a run touches."""
    if first // DAY_US == (first + (count - 1) * interval) // DAY_US:
        return [(0, count)]
    out: list[tuple[int, int]] = []
    start = 0
    while start < count:
        midnight = ((first + start * interval) // DAY_US + 1) * DAY_US
        end = tasks_before(first, interval, count, midnight)
        out.append((start, end - start))
        start = end
    return out


@dataclass(frozen=True, slots=True)
class RunSlice:
    """The tasks of a run that fall on one UTC day."""

    number: int  # 0, 1, ... in the run
    first_us: int  # its first task
    last_us: int  # its last task
    count: int
    refunded: list[int]  # indices relative to the run's first task
    safety: int  # tasks charged and not refunded (A11)
    kept: int  # credits kept once the slice is over


# (event, its slices): the effects and then the projection's rows of one event ask in
# turn. One tuple, replaced whole, so threads never see one event's slices for another.
_LAST_SLICED: list[tuple[Any, list[RunSlice]]] = [(None, [])]


def run_slices(event: Web.GenerationCharged | Api.TaskCharged) -> list[RunSlice]:
    """A charged run cut at UTC midnights (events are immutable: the last answer is kept)."""
    last = _LAST_SLICED[0]
    if last[0] is event:
        return last[1]
    slices = _run_slices(event)
    _LAST_SLICED[0] = (event, slices)
    return slices


def _run_slices(event: Web.GenerationCharged | Api.TaskCharged) -> list[RunSlice]:
    first, interval, each, count = (
        to_us(event.first_at),
        event.interval_us,
        event.credits_each,
        event.count,
    )
    last = first + (count - 1) * interval
    if first // DAY_US == last // DAY_US:  # the common case: one day, one slice
        kept = (count - len(event.refunded)) * each
        return [
            RunSlice(0, first, last, count, list(event.refunded), len(event.safety_failed), kept)
        ]
    return list(_cut(event, first, interval, each))


def _cut(
    event: Web.GenerationCharged | Api.TaskCharged, first: int, interval: int, each: int
) -> Iterator[RunSlice]:
    slices = day_slices(first, interval, event.count)
    whole = len(slices) == 1
    for k, (s, n) in enumerate(slices):
        refunded = list(event.refunded) if whole else slice_indices(event.refunded, s, s + n)
        safety = (
            len(event.safety_failed) if whole else len(slice_indices(event.safety_failed, s, s + n))
        )
        yield RunSlice(
            k,
            first + s * interval,
            first + (s + n - 1) * interval,
            n,
            refunded,
            safety,
            (n - len(refunded)) * each,
        )


def _refused_run(kind: Refused) -> EffectsOf:
    def effects(event: Any, held: Held) -> Effects:
        return Effects(refused=kind, refused_count=int(event.count))

    return effects


def _refused_action(kind: Refused) -> EffectsOf:
    def effects(event: Any, held: Held) -> Effects:
        return Effects(refused=kind, refused_count=1)

    return effects


# --------------------------------------------------------------- web events


def _subscribed(e: Web.PlanSubscribed, held: Held) -> Effects:
    return Effects(
        credits=_move(Bucket.PLAN, Move.GRANT, e.credits),
        paid=_pay(Payment.SUBSCRIPTION, e.usd),
    )


def _renewed(e: Web.BillingDateReached, held: Held) -> Effects:
    # W04: the invoice is the renewal less the seat credits owed since the last one.
    credit = Decimal(e.credit_usd)
    return Effects(
        paid=(*_pay(Payment.RENEWAL, Decimal(e.usd) + credit), *_pay(Payment.SEAT_REMOVED, -credit))
    )


def _free_credits_kept(e: Web.FreeCreditsKept, held: Held) -> Effects:
    return Effects(
        credits=(
            *_move(Bucket.PLAN, Move.CARRY, -e.amount),
            *_move(Bucket.PURCHASED, Move.CARRY, e.amount),
        )
    )


def _forfeited(e: Web.CreditsForfeited, held: Held) -> Effects:
    return Effects(credits=_move(Bucket.PLAN, Move.FORFEIT, -e.amount))


def _refreshed(e: Web.PlanCreditsRefreshed, held: Held) -> Effects:
    # W06: the refresh sets the bucket; its movement is what that adds.
    return Effects(credits=_move(Bucket.PLAN, Move.REFRESH, e.allowance - held.plan))


def _upgraded(e: Web.PlanUpgraded, held: Held) -> Effects:
    return Effects(
        credits=_move(Bucket.PLAN, Move.UPGRADE, e.credits_added),
        paid=_pay(Payment.UPGRADE, e.usd),
    )


def _editor_added(e: Web.EditorAdded, held: Held) -> Effects:
    return Effects(paid=_pay(Payment.SEAT_ADDED, e.usd))


def _web_purchased(e: Web.CreditsPurchased, held: Held) -> Effects:
    move, kind = (Move.REFILL, Payment.REFILL) if e.refill else (Move.PURCHASE, Payment.PURCHASE)
    return Effects(
        credits=_move(Bucket.PURCHASED, move, e.credits), paid=_pay(kind, e.usd, e.credits)
    )


class EffectsError(ValueError):
    """An event whose own fields contradict the movements it implies."""


def _generations(e: Web.GenerationCharged, held: Held) -> Effects:
    """W08/W14: each day slice takes plan credits first; a refunded generation
    was charged at its own instant, plan first, and goes back where it came from.
    """
    each = e.credits_each
    if each == 0:  # W10: Explore Mode moves no credits
        return NOTHING
    plan, purchased = held.plan, held.purchased
    moves: list[Movement] = []
    for piece in run_slices(e):
        refund_plan = sum(
            min(max(0, plan - (j - before) * each), each) for before, j in enumerate(piece.refunded)
        )
        refund_purchased = len(piece.refunded) * each - refund_plan
        from_plan = min(plan, piece.kept)  # W08
        from_purchased = piece.kept - from_plan
        last = piece.last_us
        for bucket, move, delta in (
            (Bucket.PLAN, Move.REFUND, refund_plan),
            (Bucket.PURCHASED, Move.REFUND, refund_purchased),
            (Bucket.PLAN, Move.USAGE, -(from_plan + refund_plan)),
            (Bucket.PURCHASED, Move.USAGE, -(from_purchased + refund_purchased)),
        ):
            if delta:
                moves.append(Movement(bucket, move, delta, last))
        plan -= from_plan
        purchased -= from_purchased
    if held.plan - plan != e.plan_part or held.purchased - purchased != e.purchased_part:
        raise EffectsError(
            f"GenerationCharged at {e.timestamp.isoformat()}: the plan/purchased split "
            f"{held.plan - plan}/{held.purchased - purchased} of its movements differs from "
            f"the event's {e.plan_part}/{e.purchased_part}"
        )
    return Effects(credits=tuple(moves))


# --------------------------------------------------------------- api events


def _opened(e: Api.Opened, held: Held) -> Effects:
    # Credits carried in from before the window (an imported history): given, not bought.
    return Effects(credits=_move(Bucket.CREDITS, Move.OPENING, e.balance))


def _api_purchased(e: Api.CreditsPurchased, held: Held) -> Effects:
    return Effects(
        credits=_move(Bucket.CREDITS, Move.PURCHASE, e.credits),
        paid=_pay(Payment.PURCHASE, e.usd, e.credits),
    )


def _autobill(e: Api.AutobillToppedUp, held: Held) -> Effects:
    return Effects(
        credits=_move(Bucket.CREDITS, Move.AUTOBILL, e.credits),
        paid=_pay(Payment.AUTOBILL, e.usd, e.credits),
    )


def _tasks(e: Api.TaskCharged, held: Held) -> Effects:
    """A09/A11: charged at submission; internal failures refunded at their instant."""
    each = e.credits_each
    moves: list[Movement] = []
    for piece in run_slices(e):
        refund = len(piece.refunded) * each
        if refund:
            moves.append(Movement(Bucket.CREDITS, Move.REFUND, refund, piece.last_us))
        if piece.count * each:
            moves.append(Movement(Bucket.CREDITS, Move.USAGE, -piece.count * each, piece.last_us))
    return Effects(credits=tuple(moves))


# ------------------------------------------------------------- the table

# Price-book figures copied into the opening events, queue slot times, the batch
# a run was decided in (replay bookkeeping: S05 uses it).
_OPENING_FIGURES = frozenset({"min_purchase_credits", "credit_price_usd"})
_BATCH = frozenset({"batch_at"})
_RUN = _BATCH | {"slots_after"}

DECLARATIONS: dict[type[Any], Declaration] = {
    Web.PlanSubscribed: Declaration(_subscribed, _OPENING_FIGURES | {"enterprise_cap_usd"}),
    Web.BillingDateReached: Declaration(_renewed),
    Web.CreditsForfeited: Declaration(_forfeited),
    Web.PlanCreditsRefreshed: Declaration(_refreshed),
    Web.PlanEnded: Declaration(_none),
    Web.PlanDowngraded: Declaration(_none),
    Web.PlanUpgraded: Declaration(_upgraded),
    Web.FreeCreditsKept: Declaration(_free_credits_kept),
    Web.ScheduledChangeDropped: Declaration(_none),
    Web.DowngradeScheduled: Declaration(_none),
    Web.CancellationScheduled: Declaration(_none),
    Web.PlanChangeRefused: Declaration(_refused_action(Refused.PLAN_CHANGE)),
    Web.EditorAdded: Declaration(_editor_added),
    Web.EditorRemoved: Declaration(_none),  # W04: its credit moves on the next invoice
    Web.EditorRefused: Declaration(_refused_action(Refused.EDITOR)),
    Web.CreditsPurchased: Declaration(_web_purchased),
    Web.PurchaseRefused: Declaration(_refused_action(Refused.PURCHASE)),
    Web.GenerationCharged: Declaration(_generations, _BATCH),
    Web.GenerationRefused: Declaration(_refused_run(Refused.GENERATION), _BATCH),
    Api.Opened: Declaration(_opened, _OPENING_FIGURES | {"tier_rules", "autobill_min_credits"}),
    Api.CreditsPurchased: Declaration(_api_purchased),
    Api.PurchaseRefused: Declaration(_refused_action(Refused.PURCHASE)),
    Api.AutobillToppedUp: Declaration(_autobill, _BATCH),  # issue 10: made inside a batch
    Api.AutobillFailed: Declaration(_none),
    Api.AutobillEnabled: Declaration(_none),
    Api.AutobillDisabled: Declaration(_none),
    Api.CardFailuresScheduled: Declaration(_none),
    Api.TierRaised: Declaration(_none),
    Api.MemberAdded: Declaration(_none),
    Api.MemberRemoved: Declaration(_none),
    Api.MemberRefused: Declaration(_refused_action(Refused.MEMBER)),
    Api.ApiKeyCreated: Declaration(_none),
    Api.ApiKeyDisabled: Declaration(_none),
    Api.KeyRefused: Declaration(_refused_action(Refused.KEY)),
    Api.TaskCharged: Declaration(_tasks, _RUN),
    Api.TaskRefused: Declaration(_refused_run(Refused.TASK), _BATCH),
    # A08 defer: a stretch waits for room (nothing charged yet); each task is then
    # charged as any task, or refused short of credits (A03).
    Api.TaskDeferred: Declaration(_none, _BATCH),
    Api.TaskResubmitted: Declaration(_tasks, _RUN),
    Api.DeferredTaskRefused: Declaration(_refused_run(Refused.TASK), _BATCH),
}

# Every field any event declares as bookkeeping (the audit line leaves it out).
NOISE: frozenset[str] = frozenset().union(*(d.noise for d in DECLARATIONS.values()))


def declaration(event_type: type[Any]) -> Declaration:
    found = DECLARATIONS.get(event_type)
    if found is None:
        raise EffectsError(
            f"{event_type.__qualname__} declares no effects: add it to "
            "ledger.domain.effects.DECLARATIONS (CONTRIBUTING.md, 'A new event type')"
        )
    return found


def effects_of(event: Any, held: Held) -> Effects:
    """What ``event`` does to credits and dollars, given the buckets before it."""
    return declaration(type(event)).effects(event, held)


def held_after(held: Held, effects: Effects) -> Held:
    """The buckets once ``effects`` have moved them."""
    if not effects.credits:
        return held
    plan, purchased, credits = held.plan, held.purchased, held.credits
    for m in effects.credits:
        if m.bucket is Bucket.PLAN:
            plan += m.delta
        elif m.bucket is Bucket.PURCHASED:
            purchased += m.delta
        else:
            credits += m.delta
    return Held(plan, purchased, credits)


def event_types(*aggregates: type[Any]) -> list[type[Any]]:
    """The stored event classes nested in the aggregates (not the library's defaults)."""
    found: list[type[Any]] = []
    for aggregate in aggregates:
        for name, value in vars(aggregate).items():
            event = isinstance(value, type) and issubclass(value, Aggregate.Event)
            if event and name not in {"Event", "Created"}:  # the library's own
                found.append(value)
    return found


__all__ = [
    "DECLARATIONS",
    "NOISE",
    "Declaration",
    "Effects",
    "EffectsError",
    "Figure",
    "Held",
    "Move",
    "Movement",
    "Paid",
    "Payment",
    "Refused",
    "RunSlice",
    "day_slices",
    "effects_of",
    "event_types",
    "held_after",
    "moves_of",
    "run_slices",
]
