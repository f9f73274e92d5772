"""Diff: replay two scenarios and say what changes, account by account, month by month.

Both scenarios are replayed into memory (nothing is written) and each
account's figures come from ``measure``. Accounts are matched by surface and
id (S01: a workspace and an organization of the same name are two
accounts); an account on one side only is *added* or *removed*. Months are
the calendar months of either window; a month outside a scenario's window
has no figures on that side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledger.application import Ledger
from ledger.domain.types import Surface
from ledger.tools.decide.measure import AccountFigures, MonthFigures, measure, window_months
from scenarios.engine import replay
from scenarios.loader import LoadedScenario

# Month fields compared, in display order: (field, label, money?)
MONTH_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("balance", "balance", False),
    ("plan", "plan", False),
    ("purchased", "purchased", False),
    ("tier", "tier", False),
    ("usd", "dollars", True),
    ("forfeited", "forfeited", False),
    ("top_ups", "top-ups", False),
    ("bought", "bought", False),
    ("charged", "charged", False),
    ("refunded", "refunded", False),
    ("used", "used", False),
    ("refused", "refused", False),
)
TOTAL_FIELDS: tuple[tuple[str, str, bool], ...] = (
    ("usd_total", "dollars", True),
    ("forfeited", "forfeited", False),
    ("top_ups", "top-ups", False),
    ("bought", "bought", False),
    ("charged", "charged", False),
    ("refunded", "refunded", False),
    ("used", "used", False),
    ("refused", "refused", False),
    ("final_balance", "final balance", False),
)

Value = int | Decimal | None


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    label: str
    money: bool
    a: Value
    b: Value

    @property
    def delta(self) -> Value:
        if self.a is None or self.b is None:
            return None
        return self.b - self.a

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "a": _json(self.a),
            "b": _json(self.b),
            "delta": _json(self.delta),
        }


@dataclass(frozen=True, slots=True)
class MonthDiff:
    month: str
    changes: tuple[Change, ...]  # only the fields that differ


@dataclass(frozen=True, slots=True)
class AccountDiff:
    account: str
    surface: Surface
    status: str  # changed, unchanged, added, removed
    months: tuple[MonthDiff, ...]
    totals: tuple[Change, ...]  # every total field, changed or not
    tiers: tuple[tuple[str, ...], tuple[str, ...]]  # api: 'tier 3 on 2027-01-05', a and b
    plans: tuple[tuple[str, ...], tuple[str, ...]]  # web: 'pro from 2027-04-01', a and b

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


@dataclass(frozen=True, slots=True)
class DiffReport:
    a: str
    b: str
    accounts: tuple[AccountDiff, ...]
    totals: tuple[Change, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "accounts": [
                {
                    "account": d.account,
                    "surface": d.surface.value,
                    "status": d.status,
                    "months": [
                        {"month": m.month, "changes": [c.as_dict() for c in m.changes]}
                        for m in d.months
                    ],
                    "totals": {c.field: c.as_dict() for c in d.totals},
                    "tiers": {"a": list(d.tiers[0]), "b": list(d.tiers[1])},
                    "plans": {"a": list(d.plans[0]), "b": list(d.plans[1])},
                }
                for d in self.accounts
            ],
            "totals": {c.field: c.as_dict() for c in self.totals},
        }


def _json(value: Value) -> Any:
    return f"{value:.2f}" if isinstance(value, Decimal) else value


def replay_figures(loaded: LoadedScenario, run: str) -> dict[tuple[Surface, str], AccountFigures]:
    """Replay a loaded scenario in memory; every account's figures by (surface, id)."""
    scenario = loaded.scenario
    ledger = Ledger("memory", run=run)
    try:
        replay(scenario, loaded.price_book, ledger, file=loaded.path, line_of=loaded.line_of)
        found: dict[tuple[Surface, str], AccountFigures] = {}
        accounts = [(Surface.WEB, w.id) for w in scenario.workspaces] + [
            (Surface.API, o.id) for o in scenario.organizations
        ]
        for surface, name in accounts:
            found[(surface, name)] = measure(ledger, name, surface, scenario.start, scenario.end)
        return found
    finally:
        ledger.close()


def diff(a: LoadedScenario, b: LoadedScenario) -> DiffReport:
    """What changes from scenario ``a`` to scenario ``b``."""
    left, right = replay_figures(a, "a"), replay_figures(b, "b")
    months = sorted(
        set(window_months(a.scenario.start, a.scenario.end))
        | set(window_months(b.scenario.start, b.scenario.end))
    )
    keys = list(left) + [k for k in right if k not in left]
    accounts = tuple(_account(key, left.get(key), right.get(key), months) for key in keys)
    totals = tuple(
        Change(name, label, money, _sum(accounts, name, 0), _sum(accounts, name, 1))
        for name, label, money in TOTAL_FIELDS
    )
    return DiffReport(a=a.path, b=b.path, accounts=accounts, totals=totals)


def _sum(accounts: Iterable[AccountDiff], name: str, side: int) -> Value:
    total: Value = Decimal("0.00") if name == "usd_total" else 0
    for account in accounts:
        for change in account.totals:
            value = change.a if side == 0 else change.b
            if change.field == name and value is not None and total is not None:
                total = total + value
    return total


def _account(
    key: tuple[Surface, str],
    a: AccountFigures | None,
    b: AccountFigures | None,
    months: list[str],
) -> AccountDiff:
    surface, name = key
    month_diffs = []
    for month in months:
        ma = a.month(month) if a else None
        mb = b.month(month) if b else None
        every = (
            Change(f, label, money, _get(ma, f), _get(mb, f)) for f, label, money in MONTH_FIELDS
        )
        changes = tuple(change for change in every if change.a != change.b)
        if changes:
            month_diffs.append(MonthDiff(month, changes))
    totals = tuple(
        Change(f, label, money, _total(a, f), _total(b, f)) for f, label, money in TOTAL_FIELDS
    )
    tiers = (_tiers(a), _tiers(b))
    plans = (_plans(a), _plans(b))
    if a is None:
        status = "added"
    elif b is None:
        status = "removed"
    elif month_diffs or tiers[0] != tiers[1] or plans[0] != plans[1]:
        status = "changed"
    else:
        status = "unchanged"
    return AccountDiff(name, surface, status, tuple(month_diffs), totals, tiers, plans)


def _get(month: MonthFigures | None, name: str) -> Value:
    if month is None:
        return None
    value: Value = getattr(month, name)
    return value


def _total(figures: AccountFigures | None, name: str) -> Value:
    if figures is None:
        return None
    value: Value = getattr(figures, name)
    return value


def _day(at: datetime) -> str:
    return at.date().isoformat() if at.time() == datetime.min.time() else at.isoformat()[:16]


def _tiers(figures: AccountFigures | None) -> tuple[str, ...]:
    if figures is None or figures.surface is not Surface.API:
        return ()
    return tuple(f"tier {tier} on {_day(at)}" for at, tier in figures.tiers)


def _plans(figures: AccountFigures | None) -> tuple[str, ...]:
    if figures is None or figures.surface is not Surface.WEB:
        return ()
    return tuple(f"{plan} from {_day(at)}" for at, plan in figures.plans)
