"""One pure function per stored event type: (event, balances before it) -> rows.

A handler never reads the database and never changes anything: it gets the
decoded event and a ``Context`` (where the event sits in the log, whose
account it is, and that account's bucket balances just before it) and
returns the rows the event adds, as ``(table name, row tuple)`` pairs whose
tuples follow the staged column order declared in ``projections.schema``
(instants as integer microseconds since the epoch).

The balances before the event are an input because two rules need them: a
refresh *sets* the plan bucket (W06), so its delta is the allowance less what
was there; and an errored generation is refunded to the bucket it was taken
from at its own instant (W14), which depends on how many plan credits were
left then (W08). Ledger rows carry the bucket's balance after them; the
projector folds those into the next event's context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any, NamedTuple

from ledger.domain.api import ApiOrganization
from ledger.domain.runs import slice_indices, tasks_before
from ledger.domain.time import DAY_US, to_us
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

# Where the bucket and its balance sit in a ledger_entries row.
BUCKET_COLUMN = schema.LEDGER_ENTRIES.staged_names.index("bucket")
BALANCE_COLUMN = schema.LEDGER_ENTRIES.staged_names.index("balance_after")


class ProjectionError(Exception):
    """The log cannot be projected as it stands (an unknown event or account)."""


class Context(NamedTuple):
    """Where an event sits and what its account held just before it."""

    seq: int  # the event's notification id
    ts: int  # the event's timestamp, microseconds since the epoch
    surface: str
    account: str
    plan: int  # web plan credits before the event
    purchased: int  # web purchased credits before the event
    credits: int  # api credits before the event


Handler = Callable[[Any, Context], Rows]


def identify(event: Any) -> tuple[str, str] | None:
    """(surface, account name) when ``event`` creates an account, else None."""
    if isinstance(event, WebWorkspace.PlanSubscribed):
        return WEB, event.name
    if isinstance(event, ApiOrganization.Opened):
        return API, event.name
    return None


# ------------------------------------------------------------------ helpers


def _value(obj: Any) -> Any:
    return obj.value if isinstance(obj, Enum) else obj


def _us(at: datetime | None) -> int | None:
    return None if at is None else to_us(at)


def _entry(
    c: Context, no: int, ts: int, bucket: str, delta: int, *, after: int, reason: str
) -> Row:
    """A ledger row: ``delta`` credits in ``bucket``, which then holds ``after``."""
    return (LEDGER, (c.seq, no, ts, c.surface, c.account, bucket, delta, after, reason))


def _usd(c: Context, kind: str, usd: Decimal, credits: int | None = None) -> Rows:
    """A money movement; a zero amount (a month inside an annual period) is none."""
    if usd == 0:
        return []
    return [(USD, (c.seq, c.ts, c.surface, c.account, kind, usd, credits))]


def _refusal(
    c: Context,
    kind: str,
    reason: Any,
    *,
    detail: str | None = None,
    usd: Decimal | None = None,
) -> Row:
    return (
        REFUSALS,
        (
            c.seq,
            0,
            c.ts,
            c.ts,
            c.surface,
            c.account,
            kind,
            None,
            _value(reason),
            1,
            None,
            None,
            usd,
            detail,
        ),
    )


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


def _in_slice(indices: Sequence[int], start: int, n: int, whole: bool) -> list[int]:
    return list(indices) if whole else slice_indices(indices, start, start + n)


def _run_slices(
    e: WebWorkspace.GenerationCharged | ApiOrganization.TaskCharged,
) -> Iterator[tuple[int, int, int, int, list[int], int, int]]:
    """A charged run cut at UTC midnights: per day slice (slice number, first and
    last task instants, tasks, refunded indices, safety failures, credits kept)."""
    first, interval, each = to_us(e.first_at), e.interval_us, e.credits_each
    slices = day_slices(first, interval, e.count)
    whole = len(slices) == 1
    for k, (s, n) in enumerate(slices):
        refunded = _in_slice(e.refunded, s, n, whole)
        safety = len(e.safety_failed) if whole else len(slice_indices(e.safety_failed, s, s + n))
        first_s, last = first + s * interval, first + (s + n - 1) * interval
        yield k, first_s, last, n, refunded, safety, (n - len(refunded)) * each


def _task_run_row(
    c: Context,
    e: WebWorkspace.GenerationCharged | ApiOrganization.TaskCharged,
    surface: str,
    piece: tuple[int, int, int, int, list[int], int, int],
    mode: str | None,
    key: str | None,
    plan_before: int | None,
) -> Row:
    k, first_s, last, n, refunded, safety, kept = piece
    return (
        TASK_RUNS,
        (
            c.seq,
            k,
            last,
            first_s,
            surface,
            c.account,
            e.model,
            e.label,
            mode,
            key,
            e.interval_us,
            n,
            e.credits_each,
            refunded,
            safety,
            kept,
            plan_before,
            getattr(e, "deferred_us", 0),  # A08 defer: TaskResubmitted waited this long
        ),
    )


def _refusal_run(c: Context, kind: str, e: Any, first: int, detail: str | None) -> Rows:
    """W09/A03/A08: a run of refused tasks, one row per day slice."""
    interval = e.interval_us
    reason = _value(e.reason)
    return [
        (
            REFUSALS,
            (
                c.seq,
                k,
                first + (s + n - 1) * interval,
                first + s * interval,
                c.surface,
                c.account,
                kind,
                e.model,
                reason,
                n,
                e.credits_each,
                e.shortfall,
                None,
                detail,
            ),
        )
        for k, (s, n) in enumerate(day_slices(first, interval, e.count))
    ]


# ---------------------------------------------------------------- web events


def subscribed(e: WebWorkspace.PlanSubscribed, c: Context) -> Rows:
    plan = _value(e.terms["plan"])
    rows: Rows = [
        (ACCOUNTS, (c.account, WEB, str(e.originator_id), c.ts, c.seq)),
        (PLANS, (c.seq, c.ts, c.account, "subscribed", None, plan, e.usd)),
    ]
    if e.credits:
        rows.append(_entry(c, 0, c.ts, PLAN, e.credits, after=c.plan + e.credits, reason="grant"))
    rows += [(SEATS, (c.seq, c.ts, c.account, ed, "initial", None, None)) for ed in e.editors]
    return rows + _usd(c, "subscription", e.usd)


def billing_date_reached(e: WebWorkspace.BillingDateReached, c: Context) -> Rows:
    # W04: the invoice is the renewal less the seat credits owed since the last one.
    credit = Decimal(e.credit_usd)
    return _usd(c, "renewal", Decimal(e.usd) + credit) + _usd(c, "seat_removed", -credit)


def forfeited(e: WebWorkspace.CreditsForfeited, c: Context) -> Rows:
    reason = _value(e.reason)
    return [
        _entry(c, 0, c.ts, PLAN, -e.amount, after=c.plan - e.amount, reason="forfeit"),
        (FORFEITS, (c.seq, c.ts, c.account, e.amount, reason)),
    ]


def refreshed(e: WebWorkspace.PlanCreditsRefreshed, c: Context) -> Rows:
    delta = e.allowance - c.plan  # W06: sets the bucket, does not add
    return [_entry(c, 0, c.ts, PLAN, delta, after=e.allowance, reason="refresh")] if delta else []


def plan_ended(e: WebWorkspace.PlanEnded, c: Context) -> Rows:
    return [(PLANS, (c.seq, c.ts, c.account, "ended", _value(e.from_plan), "free", None))]


def plan_downgraded(e: WebWorkspace.PlanDowngraded, c: Context) -> Rows:
    to_plan = _value(e.terms["plan"])
    return [(PLANS, (c.seq, c.ts, c.account, "downgraded", _value(e.from_plan), to_plan, None))]


def plan_upgraded(e: WebWorkspace.PlanUpgraded, c: Context) -> Rows:
    to_plan = _value(e.terms["plan"])
    rows: Rows = [
        (PLANS, (c.seq, c.ts, c.account, "upgraded", _value(e.from_plan), to_plan, e.usd))
    ]
    if e.credits_added:
        after = c.plan + e.credits_added
        rows.append(_entry(c, 0, c.ts, PLAN, e.credits_added, after=after, reason="upgrade"))
    return rows + _usd(c, "upgrade", e.usd)


def free_credits_kept(e: WebWorkspace.FreeCreditsKept, c: Context) -> Rows:
    """Policy free_credits: keep: the Free grant moves to the never-expiring bucket."""
    return [
        _entry(c, 0, c.ts, PLAN, -e.amount, after=c.plan - e.amount, reason="carried"),
        _entry(c, 1, c.ts, PURCHASED, e.amount, after=c.purchased + e.amount, reason="carried"),
    ]


def nothing(e: Any, c: Context) -> Rows:
    """Events that move no credits and no money (they stay in ``events``)."""
    return []


def plan_change_refused(e: WebWorkspace.PlanChangeRefused, c: Context) -> Rows:
    return [_refusal(c, "plan_change", e.reason, detail=_value(e.to_plan))]


def editor_added(e: WebWorkspace.EditorAdded, c: Context) -> Rows:
    row: Row = (SEATS, (c.seq, c.ts, c.account, e.editor, "added", None, e.usd))
    return [row, *_usd(c, "seat_added", e.usd)]


def editor_removed(e: WebWorkspace.EditorRemoved, c: Context) -> Rows:
    # W04: the credit is owed to the next invoice; the money moves on the billing date.
    return [(SEATS, (c.seq, c.ts, c.account, e.editor, "removed", None, -Decimal(e.credit_usd)))]


def editor_refused(e: WebWorkspace.EditorRefused, c: Context) -> Rows:
    reason = _value(e.reason)
    return [
        (SEATS, (c.seq, c.ts, c.account, e.editor, "refused", reason, None)),
        _refusal(c, "editor", reason, detail=e.editor),
    ]


def web_purchased(e: WebWorkspace.CreditsPurchased, c: Context) -> Rows:
    reason = "refill" if e.refill else "purchase"  # W15: bought by Auto Refill
    after = c.purchased + e.credits
    return [
        _entry(c, 0, c.ts, PURCHASED, e.credits, after=after, reason=reason),
        *_usd(c, reason, e.usd, e.credits),
    ]


def purchase_refused(
    e: WebWorkspace.PurchaseRefused | ApiOrganization.PurchaseRefused, c: Context
) -> Rows:
    return [_refusal(c, "purchase", e.reason, detail=f"{e.credits} credits", usd=e.usd)]


def generation_charged(e: WebWorkspace.GenerationCharged, c: Context) -> Rows:
    """W08/W14: each day slice takes plan credits first; refunds go back where
    they came from. Refund rows precede the slice's usage rows (both at its
    last task), so no ``balance_after`` dips below what the bucket really held.
    """
    each = e.credits_each
    mode = _value(e.mode)
    plan, purchased = c.plan, c.purchased
    rows: Rows = []
    no = 0
    for piece in _run_slices(e):
        _, _, last, _, refunded, _, kept = piece
        rows.append(_task_run_row(c, e, WEB, piece, mode, None, plan))
        if each == 0:
            continue  # W10: Explore Mode moves no credits
        # W14: refunded generation j was charged at its own instant, plan first,
        # when the plan bucket held what the paying ones before it had left.
        refund_plan = sum(
            min(max(0, plan - (j - before) * each), each) for before, j in enumerate(refunded)
        )
        refund_purchased = len(refunded) * each - refund_plan
        from_plan = min(plan, kept)  # W08
        from_purchased = kept - from_plan
        moves = (
            (PLAN, refund_plan, plan + refund_plan, "refund"),
            (PURCHASED, refund_purchased, purchased + refund_purchased, "refund"),
            (PLAN, -(from_plan + refund_plan), plan - from_plan, "usage"),
            (PURCHASED, -(from_purchased + refund_purchased), purchased - from_purchased, "usage"),
        )
        for bucket, delta, after, reason in moves:
            if delta:
                rows.append(_entry(c, no, last, bucket, delta, after=after, reason=reason))
                no += 1
        plan -= from_plan
        purchased -= from_purchased
    if c.plan - plan != e.plan_part or c.purchased - purchased != e.purchased_part:
        raise ProjectionError(
            f"event {c.seq} ({c.account}): the projection's plan/purchased split "
            f"{c.plan - plan}/{c.purchased - purchased} differs from the event's "
            f"{e.plan_part}/{e.purchased_part}; a handler misses a credit movement"
        )
    return rows


def generation_refused(e: WebWorkspace.GenerationRefused, c: Context) -> Rows:
    return _refusal_run(c, "generation", e, to_us(e.first_at), e.label or None)


# ---------------------------------------------------------------- api events


def opened(e: ApiOrganization.Opened, c: Context) -> Rows:
    carried = int(e.balance)  # an imported opening balance: credits, not a purchase
    return [
        (ACCOUNTS, (c.account, API, str(e.originator_id), c.ts, c.seq)),
        *(
            [_entry(c, 0, c.ts, CREDITS, carried, after=carried, reason="opening")]
            if carried
            else []
        ),
        (TIERS, (c.seq, c.ts, c.account, "opened", None, e.tier, Decimal("0.00"))),
        *((MEMBERS, (c.seq, c.ts, c.account, m, "initial", None, None)) for m in e.members),
    ]


def api_purchased(e: ApiOrganization.CreditsPurchased, c: Context) -> Rows:
    after = c.credits + e.credits
    return [
        _entry(c, 0, c.ts, CREDITS, e.credits, after=after, reason="purchase"),
        *_usd(c, "purchase", e.usd, e.credits),
    ]


def autobill_topped_up(e: ApiOrganization.AutobillToppedUp, c: Context) -> Rows:
    after = c.credits + e.credits
    return [
        _entry(c, 0, c.ts, CREDITS, e.credits, after=after, reason="autobill"),
        (
            AUTOBILL,
            (
                c.seq,
                c.ts,
                c.account,
                "topped_up",
                e.credits,
                e.usd,
                e.capped,
                e.window_spend_usd,
                None,
                None,
                None,
                False,
                None,
            ),
        ),
        *_usd(c, "autobill", e.usd, e.credits),
    ]


def autobill_failed(e: ApiOrganization.AutobillFailed, c: Context) -> Rows:
    return [
        (
            AUTOBILL,
            (
                c.seq,
                c.ts,
                c.account,
                "failed",
                None,
                None,
                None,
                None,
                _value(e.reason),
                e.attempt,
                _us(e.retry_at),
                e.disabled,
                e.remaining_usd,
            ),
        )
    ]


def tier_raised(e: ApiOrganization.TierRaised, c: Context) -> Rows:
    return [(TIERS, (c.seq, c.ts, c.account, "raised", e.from_tier, e.to_tier, e.cumulative_usd))]


def member_added(e: ApiOrganization.MemberAdded, c: Context) -> Rows:
    return [(MEMBERS, (c.seq, c.ts, c.account, e.member, "added", None, None))]


def member_removed(e: ApiOrganization.MemberRemoved, c: Context) -> Rows:
    keys = list(e.keys_left_active)
    return [(MEMBERS, (c.seq, c.ts, c.account, e.member, "removed", None, keys))]


def member_refused(e: ApiOrganization.MemberRefused, c: Context) -> Rows:
    reason = _value(e.reason)
    return [
        (MEMBERS, (c.seq, c.ts, c.account, e.member, "refused", reason, None)),
        _refusal(c, "member", reason, detail=e.member),
    ]


def key_created(e: ApiOrganization.ApiKeyCreated, c: Context) -> Rows:
    return [(KEYS, (c.seq, c.ts, c.account, e.key, "created", e.by, None))]


def key_disabled(e: ApiOrganization.ApiKeyDisabled, c: Context) -> Rows:
    return [(KEYS, (c.seq, c.ts, c.account, e.key, "disabled", None, None))]


def key_refused(e: ApiOrganization.KeyRefused, c: Context) -> Rows:
    reason = _value(e.reason)
    return [
        (KEYS, (c.seq, c.ts, c.account, e.key, "refused", e.by or None, reason)),
        _refusal(c, "key", reason, detail=e.key),
    ]


def task_charged(e: ApiOrganization.TaskCharged, c: Context) -> Rows:
    """A09/A11: charged at submission, internal failures refunded at their instant."""
    each = e.credits_each
    balance = c.credits
    rows: Rows = [
        (QUEUE, (c.seq, c.ts, c.account, e.model, e.count, e.max_wait_us, to_us(e.max_wait_at)))
    ]
    no = 0
    for piece in _run_slices(e):
        _, _, last, n, refunded, _, kept = piece
        rows.append(_task_run_row(c, e, API, piece, None, e.key, None))
        refund = len(refunded) * each
        if refund:
            rows.append(
                _entry(c, no, last, CREDITS, refund, after=balance + refund, reason="refund")
            )
            no += 1
        if n * each:
            balance -= kept
            rows.append(_entry(c, no, last, CREDITS, -(n * each), after=balance, reason="usage"))
            no += 1
    return rows


def task_refused(e: ApiOrganization.TaskRefused, c: Context) -> Rows:
    return _refusal_run(c, "task", e, to_us(e.first_at), e.key)


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
    values = (c.seq, c.ts, c.account, e.model, e.label, outcome, count, requested)
    return (DEFERRED, (*values, deferred_us, wait_us, finished, late))


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
    WebWorkspace.BillingDateReached: billing_date_reached,
    WebWorkspace.CreditsForfeited: forfeited,
    WebWorkspace.PlanCreditsRefreshed: refreshed,
    WebWorkspace.PlanEnded: plan_ended,
    WebWorkspace.PlanDowngraded: plan_downgraded,
    WebWorkspace.PlanUpgraded: plan_upgraded,
    WebWorkspace.DowngradeScheduled: nothing,
    WebWorkspace.CancellationScheduled: nothing,
    WebWorkspace.ScheduledChangeDropped: nothing,
    WebWorkspace.FreeCreditsKept: free_credits_kept,
    WebWorkspace.PlanChangeRefused: plan_change_refused,
    WebWorkspace.EditorAdded: editor_added,
    WebWorkspace.EditorRemoved: editor_removed,
    WebWorkspace.EditorRefused: editor_refused,
    WebWorkspace.CreditsPurchased: web_purchased,
    WebWorkspace.PurchaseRefused: purchase_refused,
    WebWorkspace.GenerationCharged: generation_charged,
    WebWorkspace.GenerationRefused: generation_refused,
    ApiOrganization.Opened: opened,
    ApiOrganization.CreditsPurchased: api_purchased,
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
