"""What a report shows, read from a run's DuckDB file (read-only).

``load_report`` turns the projection tables into plain immutable values
(credits ``int``, dollars ``Decimal``, instants ``datetime`` in UTC), so the
rendering in ``ledger.tools.report.html`` is a pure function with no database.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from ledger.domain.time import utc
from ledger.tools.runs import RunInfo
from projections import queries
from projections import report as report_queries
from projections.queries import Connection

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class DayBalance:
    """End of one UTC day (``daily_balances``); web buckets are None on the API."""

    day: date
    opened: bool
    balance: int
    plan: int | None
    purchased: int | None
    plan_name: str | None
    tier: int | None


@dataclass(frozen=True, slots=True)
class MonthFigures:
    """One calendar month of the window (``monthly_summary``), dollars split by use."""

    month: date  # its first day
    usd_spent: Decimal
    usd_plan: Decimal  # subscription, renewals, upgrades, seats (negative: a seat credit)
    usd_credits: Decimal  # purchases, Auto Refill, autobill
    granted: int
    purchased: int
    used: int
    refunded: int
    forfeited: int
    rejected: int
    closing_balance: int | None
    # Accrual basis: plan and seat payments spread over the days of the billing
    # period they pay for (an annual plan over its twelve months); credits bought
    # count when bought, as on the cash basis (they never expire, W07/A01).
    usd_accrual: Decimal = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Reset:
    """W05/W06/W13/W16: a refresh of the plan bucket, or another forfeit of plan credits."""

    at: datetime
    granted: int  # the allowance the bucket was set to (0 when nothing was granted)
    forfeited: int
    reason: str  # 'reset' for a billing-day refresh; cancellation, plan_start ... otherwise


@dataclass(frozen=True, slots=True)
class TopUp:
    """Credits bought (purchase, Auto Refill, autobill), or an autobill charge that failed:
    declined by the card (A05) or blocked by the 30-day purchase cap (A07)."""

    at: datetime
    kind: str  # purchase | refill | autobill | autobill_declined | autobill_blocked
    credits: int
    usd: Decimal
    capped: bool  # A07: an autobill recharge cut to what the 30-day cap left
    detail: str  # failures: the reason and the attempt

    @property
    def failed(self) -> bool:
        return self.kind in FAILED_KINDS


FAILED_KINDS = ("autobill_declined", "autobill_blocked")


@dataclass(frozen=True, slots=True)
class SeatChange:
    """W03/W04: an editor added, removed or refused on a web workspace."""

    at: datetime
    action: str  # added | removed | refused
    editor: str
    usd: Decimal | None  # W04 proration: positive added, negative (a credit) removed
    reason: str | None  # refused: why
    seats: int  # editors after the change


@dataclass(frozen=True, slots=True)
class RefusalDay:
    """Everything refused on one UTC day, by (kind, reason)."""

    day: date
    last_at: datetime
    tasks: int  # generations and tasks refused
    other: int  # purchases, editors, keys ... refused
    by_reason: tuple[tuple[str, int], ...]  # ('task: daily_limit', 650), ...


@dataclass(frozen=True, slots=True)
class Change:
    """A plan (web) or tier (API) that took effect at ``at``."""

    at: datetime
    change: str  # subscribed | upgraded | downgraded | ended | opened | raised
    before: str | None
    after: str
    usd: Decimal | None  # web: what the change cost; API: cumulative purchases


@dataclass(frozen=True, slots=True)
class AccountReport:
    account: str
    surface: str  # 'web' | 'api'
    summary: queries.AccountSummary
    days: tuple[DayBalance, ...]
    months: tuple[MonthFigures, ...]
    resets: tuple[Reset, ...]
    topups: tuple[TopUp, ...]
    refusals: tuple[RefusalDay, ...]
    changes: tuple[Change, ...]
    seats_initial: int = 0  # editors when the workspace subscribed (web)
    seat_changes: tuple[SeatChange, ...] = ()
    deferred_usd: Decimal = Decimal("0.00")  # accrual: paid in the window for time after it

    @property
    def web(self) -> bool:
        return self.surface == "web"


@dataclass(frozen=True, slots=True)
class RunReport:
    name: str
    scenario_file: str
    folder: str
    start: datetime
    end: datetime
    until: datetime | None
    events: int
    accounts: tuple[AccountReport, ...]


def load_report(info: RunInfo) -> RunReport:
    """Read everything the report shows from the run's DuckDB file, read-only."""
    conn = queries.connect(info.duckdb_path)
    try:
        return read_report(conn, info)
    finally:
        conn.close()


def read_report(conn: Connection, info: RunInfo) -> RunReport:
    return RunReport(
        name=info.name,
        scenario_file=info.scenario_file,
        folder=str(info.folder),
        start=utc(info.start),
        end=utc(info.end),
        until=None if info.until is None else utc(info.until),
        events=int(info.stats.get("events", 0) or 0),
        accounts=tuple(
            read_account(conn, account, utc(info.end)) for account, _ in queries.accounts(conn)
        ),
    )


def read_account(
    conn: Connection, account: str, window_end: datetime | None = None
) -> AccountReport:
    summary = queries.account_summary(conn, account)
    web = summary["surface"] == "web"
    months = _months(conn, account)
    initial, seats = _seats(conn, account) if web else (0, ())
    deferred = Decimal("0.00")
    if web and months:
        months, deferred = _with_accrual(conn, account, months, window_end)
    else:  # API credits are bought, never paid ahead for a period: accrual is cash
        months = tuple(_replace_accrual(m, m.usd_spent) for m in months)
    return AccountReport(
        account=account,
        surface=summary["surface"],
        summary=summary,
        days=_days(conn, account),
        months=months,
        resets=_resets(conn, account) if web else (),
        topups=_topups(conn, account),
        refusals=_refusals(conn, account),
        changes=_changes(conn, account, summary["surface"]),
        seats_initial=initial,
        seat_changes=seats,
        deferred_usd=deferred,
    )


def _days(conn: Connection, account: str) -> tuple[DayBalance, ...]:
    return tuple(
        DayBalance(
            day=row["day"],
            opened=bool(row["opened"]),
            balance=int(row["balance"] or 0),
            plan=None if row["plan"] is None or row["surface"] != "web" else int(row["plan"]),
            purchased=None
            if row["purchased"] is None or row["surface"] != "web"
            else int(row["purchased"]),
            plan_name=row["plan_name"],
            tier=None if row["tier"] is None else int(row["tier"]),
        )
        for row in queries.daily_balances(conn, account)
    )


def _months(conn: Connection, account: str) -> tuple[MonthFigures, ...]:
    out = []
    for row in report_queries.months(conn, account):
        month, spent, plan_usd, credits_usd, granted, bought, used, refunded = row[:8]
        forfeited, rejected, closing = row[8:]
        out.append(
            MonthFigures(
                month=month,
                usd_spent=Decimal(spent),
                usd_plan=Decimal(plan_usd),
                usd_credits=Decimal(credits_usd),
                granted=int(granted),
                purchased=int(bought),
                used=int(used),
                refunded=int(refunded),
                forfeited=int(forfeited),
                rejected=int(rejected),
                closing_balance=None if closing is None else int(closing),
            )
        )
    return tuple(out)


def _replace_accrual(m: MonthFigures, usd: Decimal) -> MonthFigures:
    return replace(m, usd_accrual=usd)


@dataclass(frozen=True, slots=True)
class PlanPayment:
    """A payment for the plan or its seats and the span of time it pays for."""

    at: datetime
    usd: Decimal
    until: datetime


def plan_payments(
    rows: Sequence[tuple[datetime, str, Decimal, str | None]], billing: str
) -> list[PlanPayment]:
    """Each plan or seat payment with the end of the billing period it pays for.

    A subscription, a renewal and an upgrade from Free (a new anchor, W05) start
    a period of one month or twelve (W02); an upgrade (W11) or an editor added or
    removed (W04) is prorated to the end of the period it falls in. A period ends
    at the next period's start, or a month (twelve on annual billing) after its own.
    """
    months = 12 if billing == "annual" else 1
    starts = sorted(
        at
        for at, kind, _, from_plan in rows
        if kind in ("subscription", "renewal") or (kind == "upgrade" and from_plan == "free")
    )
    out = []
    for at, kind, usd, from_plan in rows:
        opens = kind in ("subscription", "renewal") or (kind == "upgrade" and from_plan == "free")
        earlier = [s for s in starts if s <= at]
        base = at if opens or not earlier else earlier[-1]
        end = base + relativedelta(months=months)
        later = [s for s in starts if s > at]
        if later:
            end = min(end, later[0])
        out.append(PlanPayment(at=at, usd=usd, until=max(end, at)))
    return out


def _month_start(at: datetime) -> datetime:
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def spread(payment: PlanPayment, window_end: datetime | None) -> list[tuple[date | None, Decimal]]:
    """The payment cut at month boundaries (and at the window's end, where ``None``
    stands for the time after it), in proportion to time, to the cent; the last
    piece takes the rounding so that the pieces add up to the payment exactly."""
    total = (payment.until - payment.at).total_seconds()
    if total <= 0:
        return [(payment.at.date().replace(day=1), payment.usd)]
    cuts: list[datetime] = []
    edge = _month_start(payment.at) + relativedelta(months=1)
    while edge < payment.until:
        cuts.append(edge)
        edge += relativedelta(months=1)
    if window_end is not None and payment.at < window_end < payment.until:
        cuts.append(window_end)
    bounds = [payment.at, *sorted(set(cuts)), payment.until]
    pieces: list[tuple[date | None, Decimal]] = []
    given = Decimal("0.00")
    for i, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        key = None if window_end is not None and lo >= window_end else lo.date().replace(day=1)
        if i == len(bounds) - 2:
            share = payment.usd - given
        else:
            share = (payment.usd * Decimal((hi - lo).total_seconds()) / Decimal(total)).quantize(
                CENT
            )
        given += share
        pieces.append((key, share))
    return pieces


def _with_accrual(
    conn: Connection,
    account: str,
    months: tuple[MonthFigures, ...],
    window_end: datetime | None,
) -> tuple[tuple[MonthFigures, ...], Decimal]:
    billing = report_queries.billing(conn, account) or "monthly"
    rows = [
        (utc(ts), str(kind), Decimal(usd), None if from_plan is None else str(from_plan))
        for ts, kind, usd, from_plan in report_queries.plan_payments(conn, account)
    ]
    accrued: dict[date | None, Decimal] = defaultdict(Decimal)
    for payment in plan_payments(rows, billing):
        for key, share in spread(payment, window_end):
            accrued[key] += share
    known = {m.month for m in months}
    deferred = accrued.pop(None, Decimal("0.00"))
    # Time inside the window but outside its months cannot happen; keep it visible if it does.
    deferred += sum((v for k, v in accrued.items() if k not in known), Decimal("0.00"))
    out = tuple(
        _replace_accrual(m, (accrued.get(m.month, Decimal("0.00")) + m.usd_credits).quantize(CENT))
        for m in months
    )
    return out, deferred.quantize(CENT)


def _seats(conn: Connection, account: str) -> tuple[int, tuple[SeatChange, ...]]:
    initial = 0
    changes: list[SeatChange] = []
    for ts, action, editor, usd, reason in report_queries.seats(conn, account):
        if action == "initial":
            initial += 1
            continue
        now = changes[-1].seats if changes else initial
        now += 1 if action == "added" else -1 if action == "removed" else 0
        changes.append(
            SeatChange(
                at=utc(ts),
                action=str(action),
                editor=str(editor),
                usd=None if usd is None else Decimal(usd),
                reason=None if reason is None else str(reason),
                seats=now,
            )
        )
    return initial, tuple(changes)


def _resets(conn: Connection, account: str) -> tuple[Reset, ...]:
    return tuple(
        Reset(at=utc(ts), granted=int(granted), forfeited=int(amount), reason=str(reason))
        for ts, granted, amount, reason in report_queries.resets(conn, account)
    )


def _topups(conn: Connection, account: str) -> tuple[TopUp, ...]:
    return tuple(
        TopUp(
            at=utc(ts),
            kind=str(kind),
            credits=int(credits),
            usd=Decimal(usd),
            capped=bool(capped),
            detail=str(detail),
        )
        for _, ts, kind, credits, usd, capped, detail in report_queries.topups(conn, account)
    )


def _refusals(conn: Connection, account: str) -> tuple[RefusalDay, ...]:
    by_day: dict[date, list[tuple[datetime, str, str, int]]] = defaultdict(list)
    for day, last, kind, reason, count in report_queries.refusals(conn, account):
        by_day[day].append((utc(last), str(kind), str(reason), int(count)))
    out = []
    for day, rows in sorted(by_day.items()):
        tasks = sum(n for _, kind, _, n in rows if kind in ("generation", "task"))
        out.append(
            RefusalDay(
                day=day,
                last_at=max(at for at, _, _, _ in rows),
                tasks=tasks,
                other=sum(n for _, _, _, n in rows) - tasks,
                by_reason=tuple((f"{kind}: {reason}", n) for _, kind, reason, n in rows),
            )
        )
    return tuple(out)


def _changes(conn: Connection, account: str, surface: str) -> tuple[Change, ...]:
    return tuple(
        Change(
            at=utc(ts),
            change=str(change),
            before=None if before is None else str(before),
            after="none" if after is None else str(after),
            usd=None if usd is None else Decimal(usd),
        )
        for ts, change, before, after, usd in report_queries.changes(conn, account, surface)
    )
