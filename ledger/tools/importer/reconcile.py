"""``credit-ledger reconcile``: a replay of a scenario against what Runway reported.

Four comparisons, each a list of ``Finding`` values dated by the UTC day they
concern:

1. API credits per model per day: the replay's net credits against Runway's
   (with the same netting of negative days as the import). A difference says
   why when the replay knows: tasks it refused (short of credits: a missing
   purchase? over the daily limit: the tier?) or priced otherwise.
2. Rates: Runway's charges for a model the price book knows must be whole
   multiples of the book's price step (12 credits/s: every charge is a
   multiple of 12). A day that is not says the book's rate may be stale, and
   which step Runway's figures do fit.
3. The API balance at the end of the history: the replay's against Runway's.
4. Web workspaces: the replay's credits per day against Runway's charges (a
   refund counted on the day of its charge), generations the rules refused,
   and charges no duration at the book's rate can make (priced differently).

A disagreement larger than ``tolerance`` credits is a finding; the first day
with one is where the two part.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ledger.pricing.models import PriceBook
from ledger.tools.importer.build import (
    ORG_ID,
    match_refunds,
    unit_price,
    web_model,
    workspace_id,
)
from ledger.tools.importer.reported import Reported, WebRow, net_daily
from ledger.tools.runs import RunInfo
from projections import queries
from scenarios.schema import Scenario


@dataclass(frozen=True)
class Finding:
    day: date
    account: str
    model: str | None
    kind: str  # credits | rate | balance | web_credits | web_refused | web_price | missing
    simulated: int | None
    reported: int | None
    why: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["day"] = self.day.isoformat()
        return data


@dataclass
class Reconciliation:
    start: date
    end: date  # exclusive: the last day compared is end - 1
    tolerance: int
    findings: list[Finding] = field(default_factory=list)
    compared_days: int = 0
    compared_models: int = 0
    simulated_balance: int | None = None
    reported_balance: int | None = None
    web_generations: int = 0

    @property
    def agree(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return min(self.findings, key=_order, default=None)

    def as_dict(self) -> dict[str, Any]:
        first = self.first
        return {
            "agree": self.agree,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "tolerance": self.tolerance,
            "first_day": first.day.isoformat() if first else None,
            "first": first.as_dict() if first else None,
            "simulated_balance": self.simulated_balance,
            "reported_balance": self.reported_balance,
            "compared_days": self.compared_days,
            "compared_models": self.compared_models,
            "web_generations": self.web_generations,
            "findings": [f.as_dict() for f in sorted(self.findings, key=_order)],
        }


_KIND_ORDER = ("rate", "credits", "web_price", "web_refused", "web_credits", "missing", "balance")


def _order(f: Finding) -> tuple[date, int, str, str]:
    return (f.day, _KIND_ORDER.index(f.kind), f.account, f.model or "")


def reconcile(
    info: RunInfo,
    scenario: Scenario,
    book: PriceBook,
    reported: Reported,
    start: date,
    end: date,
    tolerance: int = 0,
) -> Reconciliation:
    result = Reconciliation(start, end, tolerance)
    conn = queries.connect(info.duckdb_path)
    try:
        orgs = [o.id for o in scenario.organizations]
        org = ORG_ID if ORG_ID in orgs else (orgs[0] if len(orgs) == 1 else None)
        if org is None:
            result.findings.append(
                Finding(
                    start,
                    ORG_ID,
                    None,
                    "missing",
                    None,
                    None,
                    "the scenario has no organization to compare with Runway's API usage",
                )
            )
        else:
            _api(conn, org, book, reported, result)
            _balance(conn, org, reported, result)
        _web(conn, scenario, book, reported, result)
    finally:
        conn.close()
    return result


def _api(conn: Any, org: str, book: PriceBook, reported: Reported, result: Reconciliation) -> None:
    start, end, tol = result.start, result.end, result.tolerance
    daily, _ = net_daily(reported)
    simulated = {
        k: v for k, v in queries.credits_by_model_day(conn, org).items() if start <= k[0] < end
    }
    refused = queries.refusals_by_model_day(conn, org)
    expected = {
        (day, model): amount
        for model, days in daily.items()
        for day, amount in days.items()
        if start <= day < end
    }
    keys = sorted(set(expected) | set(simulated))
    result.compared_days = len({day for day, _ in keys})
    result.compared_models = len({model for _, model in keys})
    for day, model in keys:
        sim, rep = simulated.get((day, model), 0), expected.get((day, model), 0)
        if abs(sim - rep) > tol:
            result.findings.append(
                Finding(
                    day, org, model, "credits", sim, rep, _why(sim, rep, refused.get((day, model)))
                )
            )
    for model, days in daily.items():
        api_model = book.api.models.get(model)
        step = unit_price(api_model) if api_model is not None else None
        if not step or step == 1:
            continue
        misfits = [a for d, a in days.items() if start <= d < end and a % step > tol]
        fits = _nearest_step(misfits, step)
        for day, amount in sorted(days.items()):
            if start <= day < end and amount % step > tol:
                result.findings.append(
                    Finding(
                        day,
                        org,
                        model,
                        "rate",
                        None,
                        amount,
                        f"Runway charged {amount:,} credits, not a whole number of the price "
                        f"book's {step}-credit step for {model}: its rate may be stale "
                        f"(Runway's figures that do not fit it fit a step of {fits})",
                    )
                )


def _nearest_step(amounts: list[int], step: int) -> int:
    """The divisor of every amount closest to the book's step: the rate Runway charged."""
    common = math.gcd(*amounts) if amounts else 1
    divisors = [d for d in range(1, math.isqrt(common) + 1) if common % d == 0]
    divisors += [common // d for d in divisors]
    return min(divisors, key=lambda d: (abs(d - step), d))


def _why(sim: int, rep: int, refused: dict[str, int] | None) -> str:
    if refused:
        reasons = ", ".join(f"{n:,} {reason}" for reason, n in sorted(refused.items()))
        hint = ""
        if "insufficient_credits" in refused:
            hint = ": a missing purchase?"
        elif "daily_limit" in refused:
            hint = ": the tier's daily limit is lower than Runway's?"
        return f"the replay refused tasks ({reasons}){hint}"
    if sim > rep:
        return (
            f"the replay charges {sim - rep:,} credits more than Runway: usage edited, or a "
            "price-book rate higher than Runway's?"
        )
    return (
        f"the replay charges {rep - sim:,} credits less than Runway: usage missing, or a "
        "price-book rate lower than Runway's?"
    )


def _balance(conn: Any, org: str, reported: Reported, result: Reconciliation) -> None:
    last = result.end.fromordinal(result.end.toordinal() - 1)
    rows = queries.daily_balances(conn, org, last, last)
    if not rows:
        return
    sim = int(rows[0]["balance"])
    rep = reported.balance_now + reported.api_used_between(result.end, reported.fetched_before)
    result.simulated_balance, result.reported_balance = sim, rep
    if abs(sim - rep) > result.tolerance:
        why = (
            f"Runway holds {rep - sim:,} credits more than the replay: a purchase the scenario "
            "lacks, or a higher opening balance?"
            if rep > sim
            else f"Runway holds {sim - rep:,} credits fewer than the replay: usage the scenario "
            "lacks, or a lower opening balance?"
        )
        result.findings.append(Finding(last, org, None, "balance", sim, rep, why))


def _web(
    conn: Any, scenario: Scenario, book: PriceBook, reported: Reported, result: Reconciliation
) -> None:
    start, end, tol = result.start, result.end, result.tolerance
    rows = [r for r in reported.web_rows if start <= r.at.date() < end]
    known = {w.id for w in scenario.workspaces}
    by_ws: dict[str, list[WebRow]] = defaultdict(list)
    for row in rows:
        by_ws[_scenario_workspace(row, known)].append(row)
    for ws, ws_rows in sorted(by_ws.items()):
        charges, refunded = match_refunds(ws_rows, [])
        result.web_generations += len(charges)
        if ws not in known:
            result.findings.append(
                Finding(
                    ws_rows[0].at.date(),
                    ws,
                    None,
                    "missing",
                    None,
                    len(charges),
                    f"Runway reports {len(charges)} generation(s) of a workspace the scenario "
                    "does not have",
                )
            )
            continue
        expected: dict[date, int] = defaultdict(int)
        for i, row in enumerate(charges):
            if i not in refunded:
                expected[row.at.date()] += row.credits
            priced = book.web.models.get(web_model(row.tool))
            step = unit_price(priced) if priced is not None else None
            if step and row.credits % step > tol:
                result.findings.append(
                    Finding(
                        row.at.date(),
                        ws,
                        web_model(row.tool),
                        "web_price",
                        None,
                        row.credits,
                        f"Runway charged {row.credits:,} credits for {row.tool} at "
                        f"{row.at.isoformat()}: no whole number of the price book's "
                        f"{step}-credit step makes it (priced differently)",
                    )
                )
        simulated: dict[date, int] = defaultdict(int)
        for (day, _model), net in queries.credits_by_model_day(conn, ws).items():
            if start <= day < end:
                simulated[day] += net
        for (day, refused_model), reasons in sorted(
            queries.refusals_by_model_day(conn, ws).items()
        ):
            if start <= day < end:
                n = sum(reasons.values())
                result.findings.append(
                    Finding(
                        day,
                        ws,
                        refused_model,
                        "web_refused",
                        None,
                        None,
                        f"the rules refused {n} generation(s) ("
                        + ", ".join(sorted(reasons))
                        + ") that Runway charged",
                    )
                )
        for day in sorted(set(expected) | set(simulated)):
            sim, rep = simulated.get(day, 0), expected.get(day, 0)
            if abs(sim - rep) > tol:
                result.findings.append(
                    Finding(
                        day,
                        ws,
                        None,
                        "web_credits",
                        sim,
                        rep,
                        f"the replay charges {sim:,} credits, Runway {rep:,}",
                    )
                )


def _scenario_workspace(row: WebRow, known: set[str]) -> str:
    """The scenario's workspace for a Runway one: the id the import gives it, else one
    named like it (its name, or its Runway id), so a hand-written scenario matches too."""
    imported = workspace_id(row.workspace_name, row.workspace_id)
    for candidate in (imported, row.workspace_name, row.workspace_id):
        if candidate in known:
            return candidate
    return imported


def summary_lines(r: Reconciliation) -> list[str]:
    head = (
        f"compared {r.start} to {r.end}: {r.compared_models} API model(s) on "
        f"{r.compared_days} day(s), {r.web_generations} web generation(s); "
        f"balance at the end: replay {_n(r.simulated_balance)}, Runway {_n(r.reported_balance)}"
    )
    if r.agree:
        return [head, f"agree (tolerance {r.tolerance} credits)"]
    first = r.first
    assert first is not None
    lines = [
        head,
        f"disagree: {len(r.findings)} finding(s); they part on {first.day} "
        f"({first.account}{', ' + first.model if first.model else ''}): {first.why}",
    ]
    for f in sorted(r.findings, key=_order):
        figures = (
            f" replay {_n(f.simulated)} / Runway {_n(f.reported)}"
            if f.simulated is not None or f.reported is not None
            else ""
        )
        lines.append(f"  {f.day} {f.account} {f.model or '-'} {f.kind}:{figures}: {f.why}")
    return lines


def _n(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


__all__ = ["Finding", "Path", "Reconciliation", "reconcile", "summary_lines"]
