"""One pure function per stored event type: (event, its context) -> rows.

A handler never reads the database and never changes anything: it gets the
decoded event and a ``Context`` (where the event sits in the log, whose
account it is, that account's bucket balances just before it, and the
event's declared ``Effects``) and returns the rows the event adds, as
``(table name, row)`` pairs; each row is built by column name from its
table's declaration (``Table.row``), instants as integer microseconds.

Credit movements (``ledger_entries``) and payments (``usd_ledger``) are not
written by the handlers: ``effect_rows`` writes them for every event from
its declaration in ``ledger.domain.effects``, the one place that says what an
event does to credits and dollars. Ledger rows carry the bucket's balance
after them; the projector folds those into the next event's context.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from ledger.domain.api import ApiOrganization
from ledger.domain.effects import (
    NOTHING,
    Effects,
    EffectsError,
    Held,
    RunSlice,
    day_slices,
    effects_of,
    run_slices,
)
from ledger.domain.time import to_us
from ledger.domain.types import Bucket, Surface
from ledger.domain.web import WebWorkspace
from projections import schema

Row = tuple[str, tuple[Any, ...]]
Rows = list[Row]

WEB = Surface.WEB.value
API = Surface.API.value
PLAN = Bucket.PLAN.value
PURCHASED = Bucket.PURCHASED.value
CREDITS = Bucket.CREDITS.value

LEDGER = schema.LEDGER_ENTRIES.name
ACCOUNTS = schema.ACCOUNTS.name
TASK_RUNS = schema.TASK_RUNS.name
FORFEITS = schema.FORFEITED_CREDITS.name
REFUSALS = schema.REFUSALS.name
AUTOBILL = schema.AUTOBILL_TOPUPS.name
TIERS = schema.TIER_HISTORY.name
PLANS = schema.PLAN_HISTORY.name
QUEUE = schema.QUEUE_WAITS.name
DEFERRED = schema.DEFERRED_TASKS.name
SEATS = schema.SEAT_CHANGES.name
MEMBERS = schema.MEMBER_CHANGES.name
KEYS = schema.KEY_CHANGES.name
USD = schema.USD_LEDGER.name

__all__ = [
    "HANDLERS",
    "Context",
    "ProjectionError",
    "day_slices",
    "declared_effects",
    "effect_rows",
    "identify",
]


class ProjectionError(Exception):
    """The log cannot be projected as it stands (an unknown event or account)."""


class Context(NamedTuple):
    """Where an event sits, what its account held just before it, what it does."""

    seq: int  # the event's notification id
    ts: int  # the event's timestamp, microseconds since the epoch
    surface: str
    account: str
    plan: int  # web plan credits before the event
    purchased: int  # web purchased credits before the event
    credits: int  # api credits before the event
    effects: Effects = NOTHING  # the event's declared effects (ledger.domain.effects)

    @property
    def held(self) -> Held:
        return Held(self.plan, self.purchased, self.credits)


Handler = Callable[[Any, Context], Rows]


def identify(event: Any) -> tuple[str, str] | None:
    """(surface, account name) when ``event`` creates an account, else None."""
    if isinstance(event, WebWorkspace.PlanSubscribed):
        return WEB, event.name
    if isinstance(event, ApiOrganization.Opened):
        return API, event.name
    return None


def declared_effects(event: Any, held: Held, seq: int, account: str) -> Effects:
    """The event's declared effects on what ``account`` held before it (notification
    ``seq``); a contradiction stops the projection."""
    try:
        return effects_of(event, held)
    except EffectsError as exc:
        raise ProjectionError(f"event {seq} ({account}): {exc}") from None


def effect_rows(c: Context) -> Rows:
    """The ``ledger_entries`` and ``usd_ledger`` rows of an event, from its effects."""
    rows: Rows = []
    after = {PLAN: c.plan, PURCHASED: c.purchased, CREDITS: c.credits}
    for no, m in enumerate(c.effects.credits):
        bucket = m.bucket.value
        after[bucket] += m.delta
        row = schema.LEDGER_ENTRIES.row(
            seq=c.seq,
            entry_no=no,
            ts=c.ts if m.at_us is None else m.at_us,
            surface=c.surface,
            account_id=c.account,
            bucket=bucket,
            delta=m.delta,
            balance_after=after[bucket],
            reason=m.move.value,
        )
        rows.append((LEDGER, row))
    for paid in c.effects.paid:
        row = schema.USD_LEDGER.row(
            seq=c.seq,
            ts=c.ts,
            surface=c.surface,
            account_id=c.account,
            kind=paid.kind.value,
            usd=paid.usd,
            credits=paid.credits,
        )
        rows.append((USD, row))
    return rows


# ------------------------------------------------------------------ helpers


def _value(obj: Any) -> Any:
    return obj.value if isinstance(obj, Enum) else obj


def _us(at: datetime | None) -> int | None:
    return None if at is None else to_us(at)


def _refusal(c: Context, reason: Any, *, detail: str | None = None, usd: Any = None) -> Row:
    """An account action refused (its kind is the event's declared ``Refused``)."""
    kind = c.effects.refused
    assert kind is not None, "a refusal handler for an event that declares none"
    return (
        REFUSALS,
        schema.REFUSALS.row(
            seq=c.seq,
            slice_no=0,
            ts=c.ts,
            first_at=c.ts,
            surface=c.surface,
            account_id=c.account,
            kind=kind.value,
            model=None,
            reason=_value(reason),
            count=1,
            credits_each=None,
            shortfall=None,
            usd=usd,
            detail=detail,
        ),
    )


def _task_run_row(
    c: Context,
    e: WebWorkspace.GenerationCharged | ApiOrganization.TaskCharged,
    piece: RunSlice,
    mode: str | None,
    key: str | None,
    plan_before: int | None,
) -> Row:
    return (
        TASK_RUNS,
        schema.TASK_RUNS.row(
            seq=c.seq,
            slice_no=piece.number,
            ts=piece.last_us,
            first_at=piece.first_us,
            surface=c.surface,
            account_id=c.account,
            model=e.model,
            label=e.label,
            mode=mode,
            api_key=key,
            interval_us=e.interval_us,
            count=piece.count,
            credits_each=e.credits_each,
            refunded=piece.refunded,
            safety_failed=piece.safety,
            kept=piece.kept,
            plan_before=plan_before,
            # A08 defer: how long a TaskResubmitted waited for room (0 otherwise)
            deferred_us=getattr(e, "deferred_us", 0),
        ),
    )


def _refusal_run(c: Context, e: Any, detail: str | None) -> Rows:
    """W09/A03/A08: a run of refused tasks, one row per day slice."""
    kind = c.effects.refused
    assert kind is not None and kind.tasks
    first, interval = to_us(e.first_at), e.interval_us
    return [
        (
            REFUSALS,
            schema.REFUSALS.row(
                seq=c.seq,
                slice_no=k,
                ts=first + (s + n - 1) * interval,
                first_at=first + s * interval,
                surface=c.surface,
                account_id=c.account,
                kind=kind.value,
                model=e.model,
                reason=_value(e.reason),
                count=n,
                credits_each=e.credits_each,
                shortfall=e.shortfall,
                usd=None,
                detail=detail,
            ),
        )
        for k, (s, n) in enumerate(day_slices(first, interval, e.count))
    ]


def _plan(c: Context, change: str, from_plan: Any, to_plan: Any, usd: Any) -> Row:
    return (
        PLANS,
        schema.PLAN_HISTORY.row(
            seq=c.seq,
            ts=c.ts,
            account_id=c.account,
            change=change,
            from_plan=_value(from_plan),
            to_plan=_value(to_plan),
            usd=usd,
        ),
    )


def _seat(c: Context, editor: str, action: str, reason: Any = None, usd: Any = None) -> Row:
    return (
        SEATS,
        schema.SEAT_CHANGES.row(
            seq=c.seq,
            ts=c.ts,
            account_id=c.account,
            editor=editor,
            action=action,
            reason=_value(reason),
            usd=usd,
        ),
    )


def _member(
    c: Context, member: str, action: str, reason: Any = None, keys: list[str] | None = None
) -> Row:
    return (
        MEMBERS,
        schema.MEMBER_CHANGES.row(
            seq=c.seq,
            ts=c.ts,
            account_id=c.account,
            member=member,
            action=action,
            reason=_value(reason),
            keys_left_active=keys,
        ),
    )


def _key(c: Context, key: str, action: str, by: str | None = None, reason: Any = None) -> Row:
    return (
        KEYS,
        schema.KEY_CHANGES.row(
            seq=c.seq,
            ts=c.ts,
            account_id=c.account,
            key=key,
            action=action,
            by_member=by,
            reason=_value(reason),
        ),
    )


def _account(c: Context, surface: str, uuid: Any) -> Row:
    return (
        ACCOUNTS,
        schema.ACCOUNTS.row(
            account_id=c.account, surface=surface, uuid=str(uuid), created_at=c.ts, seq=c.seq
        ),
    )


# ---------------------------------------------------------------- web events


def subscribed(e: WebWorkspace.PlanSubscribed, c: Context) -> Rows:
    return [
        _account(c, WEB, e.originator_id),
        _plan(c, "subscribed", None, e.terms.plan, e.usd),
        *(_seat(c, editor, "initial") for editor in e.editors),
    ]


def forfeited(e: WebWorkspace.CreditsForfeited, c: Context) -> Rows:
    row = schema.FORFEITED_CREDITS.row(
        seq=c.seq, ts=c.ts, account_id=c.account, amount=e.amount, reason=_value(e.reason)
    )
    return [(FORFEITS, row)]


def plan_ended(e: WebWorkspace.PlanEnded, c: Context) -> Rows:
    return [_plan(c, "ended", e.from_plan, "free", None)]


def plan_downgraded(e: WebWorkspace.PlanDowngraded, c: Context) -> Rows:
    return [_plan(c, "downgraded", e.from_plan, e.terms.plan, None)]


def plan_upgraded(e: WebWorkspace.PlanUpgraded, c: Context) -> Rows:
    return [_plan(c, "upgraded", e.from_plan, e.terms.plan, e.usd)]


def nothing(e: Any, c: Context) -> Rows:
    """Events whose only rows are their effects' (or none: they stay in ``events``)."""
    return []


def plan_change_refused(e: WebWorkspace.PlanChangeRefused, c: Context) -> Rows:
    return [_refusal(c, e.reason, detail=_value(e.to_plan))]


def editor_added(e: WebWorkspace.EditorAdded, c: Context) -> Rows:
    return [_seat(c, e.editor, "added", usd=e.usd)]


def editor_removed(e: WebWorkspace.EditorRemoved, c: Context) -> Rows:
    # W04: the credit is owed to the next invoice; the money moves on the billing date.
    return [_seat(c, e.editor, "removed", usd=-Decimal(e.credit_usd))]


def editor_refused(e: WebWorkspace.EditorRefused, c: Context) -> Rows:
    return [
        _seat(c, e.editor, "refused", reason=e.reason),
        _refusal(c, e.reason, detail=e.editor),
    ]


def purchase_refused(
    e: WebWorkspace.PurchaseRefused | ApiOrganization.PurchaseRefused, c: Context
) -> Rows:
    return [_refusal(c, e.reason, detail=f"{e.credits} credits", usd=e.usd)]


def generation_charged(e: WebWorkspace.GenerationCharged, c: Context) -> Rows:
    """One task_runs row per day slice, with the plan credits before it (W08):
    what the plan bucket held less the plan movements of the slices before."""
    plan_moved: dict[int | None, int] = {}  # per slice (its last task): net plan movement
    for m in c.effects.credits:
        if m.bucket is Bucket.PLAN:
            plan_moved[m.at_us] = plan_moved.get(m.at_us, 0) + m.delta
    rows: Rows = []
    plan = c.plan
    for piece in run_slices(e):
        rows.append(_task_run_row(c, e, piece, _value(e.mode), None, plan))
        plan += plan_moved.get(piece.last_us, 0)
    return rows


def generation_refused(e: WebWorkspace.GenerationRefused, c: Context) -> Rows:
    return _refusal_run(c, e, e.label or None)


# ---------------------------------------------------------------- api events


def opened(e: ApiOrganization.Opened, c: Context) -> Rows:
    tier = schema.TIER_HISTORY.row(
        seq=c.seq,
        ts=c.ts,
        account_id=c.account,
        change="opened",
        from_tier=None,
        to_tier=e.tier,
        cumulative_usd=Decimal("0.00"),
    )
    return [
        _account(c, API, e.originator_id),
        (TIERS, tier),
        *(_member(c, m, "initial") for m in e.members),
    ]


def autobill_topped_up(e: ApiOrganization.AutobillToppedUp, c: Context) -> Rows:
    row = schema.AUTOBILL_TOPUPS.row(
        seq=c.seq,
        ts=c.ts,
        account_id=c.account,
        outcome="topped_up",
        credits=e.credits,
        usd=e.usd,
        capped=e.capped,
        window_spend_usd=e.window_spend_usd,
        reason=None,
        attempt=None,
        retry_at=None,
        disabled=False,
        remaining_usd=None,
    )
    return [(AUTOBILL, row)]


def autobill_failed(e: ApiOrganization.AutobillFailed, c: Context) -> Rows:
    row = schema.AUTOBILL_TOPUPS.row(
        seq=c.seq,
        ts=c.ts,
        account_id=c.account,
        outcome="failed",
        credits=None,
        usd=None,
        capped=None,
        window_spend_usd=None,
        reason=_value(e.reason),
        attempt=e.attempt,
        retry_at=_us(e.retry_at),
        disabled=e.disabled,
        remaining_usd=e.remaining_usd,
    )
    return [(AUTOBILL, row)]


def tier_raised(e: ApiOrganization.TierRaised, c: Context) -> Rows:
    row = schema.TIER_HISTORY.row(
        seq=c.seq,
        ts=c.ts,
        account_id=c.account,
        change="raised",
        from_tier=e.from_tier,
        to_tier=e.to_tier,
        cumulative_usd=e.cumulative_usd,
    )
    return [(TIERS, row)]


def member_added(e: ApiOrganization.MemberAdded, c: Context) -> Rows:
    return [_member(c, e.member, "added")]


def member_removed(e: ApiOrganization.MemberRemoved, c: Context) -> Rows:
    return [_member(c, e.member, "removed", keys=list(e.keys_left_active))]


def member_refused(e: ApiOrganization.MemberRefused, c: Context) -> Rows:
    return [
        _member(c, e.member, "refused", reason=e.reason),
        _refusal(c, e.reason, detail=e.member),
    ]


def key_created(e: ApiOrganization.ApiKeyCreated, c: Context) -> Rows:
    return [_key(c, e.key, "created", by=e.by)]


def key_disabled(e: ApiOrganization.ApiKeyDisabled, c: Context) -> Rows:
    return [_key(c, e.key, "disabled")]


def key_refused(e: ApiOrganization.KeyRefused, c: Context) -> Rows:
    return [
        _key(c, e.key, "refused", by=e.by or None, reason=e.reason),
        _refusal(c, e.reason, detail=e.key),
    ]


def task_charged(e: ApiOrganization.TaskCharged, c: Context) -> Rows:
    """A09: the run's longest queue wait, and one task_runs row per day slice."""
    wait = schema.QUEUE_WAITS.row(
        seq=c.seq,
        ts=c.ts,
        account_id=c.account,
        model=e.model,
        count=e.count,
        max_wait_us=e.max_wait_us,
        max_wait_at=to_us(e.max_wait_at),
    )
    rows: Rows = [(QUEUE, wait)]
    rows += [_task_run_row(c, e, piece, None, e.key, None) for piece in run_slices(e)]
    return rows


def task_refused(e: ApiOrganization.TaskRefused, c: Context) -> Rows:
    return _refusal_run(c, e, e.key)


def _deferred_row(
    c: Context,
    e: Any,
    outcome: str,
    count: int,
    requested: int,
    deferred_us: int | None = None,
    wait_us: int | None = None,
    finished: int | None = None,
) -> Row:
    late = None if finished is None else finished - requested - int(e.processing_us)
    row = schema.DEFERRED_TASKS.row(
        seq=c.seq,
        ts=c.ts,
        account_id=c.account,
        model=e.model,
        label=e.label,
        outcome=outcome,
        count=count,
        requested_at=requested,
        deferred_us=deferred_us,
        queue_wait_us=wait_us,
        finished_at=finished,
        late_us=late,
    )
    return (DEFERRED, row)


def task_deferred(e: ApiOrganization.TaskDeferred, c: Context) -> Rows:
    """A08 defer: a stretch of tasks starts waiting for room; nothing is charged yet."""
    return [_deferred_row(c, e, "deferred", e.count, to_us(e.first_at))]


def task_resubmitted(e: ApiOrganization.TaskResubmitted, c: Context) -> Rows:
    """A08 defer: charged as any task, plus when it was asked for and when it finished."""
    finished = c.ts + e.max_wait_us + e.processing_us
    row = _deferred_row(
        c, e, "charged", 1, to_us(e.requested_at), e.deferred_us, e.max_wait_us, finished
    )
    return [*task_charged(e, c), row]


def deferred_task_refused(e: ApiOrganization.DeferredTaskRefused, c: Context) -> Rows:
    """A08 defer: when its room came the task was short of credits (A03)."""
    row = _deferred_row(c, e, "refused", 1, to_us(e.requested_at), e.deferred_us)
    return [*task_refused(e, c), row]


HANDLERS: dict[type[Any], Handler] = {
    WebWorkspace.PlanSubscribed: subscribed,
    WebWorkspace.BillingDateReached: nothing,
    WebWorkspace.CreditsForfeited: forfeited,
    WebWorkspace.PlanCreditsRefreshed: nothing,
    WebWorkspace.PlanEnded: plan_ended,
    WebWorkspace.PlanDowngraded: plan_downgraded,
    WebWorkspace.PlanUpgraded: plan_upgraded,
    WebWorkspace.DowngradeScheduled: nothing,
    WebWorkspace.CancellationScheduled: nothing,
    WebWorkspace.ScheduledChangeDropped: nothing,
    WebWorkspace.FreeCreditsKept: nothing,
    WebWorkspace.PlanChangeRefused: plan_change_refused,
    WebWorkspace.EditorAdded: editor_added,
    WebWorkspace.EditorRemoved: editor_removed,
    WebWorkspace.EditorRefused: editor_refused,
    WebWorkspace.CreditsPurchased: nothing,
    WebWorkspace.PurchaseRefused: purchase_refused,
    WebWorkspace.GenerationCharged: generation_charged,
    WebWorkspace.GenerationRefused: generation_refused,
    ApiOrganization.Opened: opened,
    ApiOrganization.CreditsPurchased: nothing,
    ApiOrganization.PurchaseRefused: purchase_refused,
    ApiOrganization.AutobillToppedUp: autobill_topped_up,
    ApiOrganization.AutobillFailed: autobill_failed,
    ApiOrganization.AutobillEnabled: nothing,
    ApiOrganization.AutobillDisabled: nothing,
    ApiOrganization.CardFailuresScheduled: nothing,
    ApiOrganization.TierRaised: tier_raised,
    ApiOrganization.MemberAdded: member_added,
    ApiOrganization.MemberRemoved: member_removed,
    ApiOrganization.MemberRefused: member_refused,
    ApiOrganization.ApiKeyCreated: key_created,
    ApiOrganization.ApiKeyDisabled: key_disabled,
    ApiOrganization.KeyRefused: key_refused,
    ApiOrganization.TaskCharged: task_charged,
    ApiOrganization.TaskRefused: task_refused,
    ApiOrganization.TaskDeferred: task_deferred,
    ApiOrganization.TaskResubmitted: task_resubmitted,
    ApiOrganization.DeferredTaskRefused: deferred_task_refused,
}
