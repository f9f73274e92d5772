"""One function per rule that a scenario file can break on its face.

The aggregates raise ``DomainError`` from these and ``scenarios/validate.py``
reports them as problems of the file: one check, one message, whichever side
finds it first. Each function returns ``None`` when the rule holds, or the
``Breach`` (rule id and sentence) when it does not. Plain values in, so the
validator can ask before any aggregate exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ledger.domain.errors import DomainError
from ledger.domain.types import Plan

REFILL_MIN_USD = 10  # W15: an Auto Refill buys at least $10 (1,000 credits)


@dataclass(frozen=True, slots=True)
class Breach:
    rule: str
    message: str

    def error(self) -> DomainError:
        return DomainError(self.message, self.rule)


def enforce(breach: Breach | None) -> None:
    """Raise the breach as a ``DomainError`` (the aggregates' side)."""
    if breach is not None:
        raise breach.error()


def plan_name(plan: Plan) -> str:
    return plan.value.capitalize()


def plan_names(plans: Iterable[Plan]) -> str:
    names = [plan_name(p) for p in plans]
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


# ---------------------------------------------------------------- W03 seats


def w03_seat_cap(plan: Plan, cap: int, editors: int) -> Breach | None:
    """W03: a workspace holds at most its plan's seats (and at least one editor)."""
    if editors < 1:
        return Breach("W03", "a workspace needs at least one editor")
    if editors > cap:
        return Breach(
            "W03", f"{editors} editors is more than the {plan_name(plan)} plan's {cap} seats"
        )
    return None


# ---------------------------------------------------------------- W07 web purchases


def w07_purchase_minimum(credits: int, minimum: int) -> Breach | None:
    """W07: web credits are bought in at least ``minimum`` (1,000)."""
    if credits >= minimum:
        return None
    return Breach(
        "W07", f"web credits are bought in at least {minimum:,} at a time; this buys {credits:,}"
    )


def w07_plan_can_buy(plan: Plan, can_buy: bool, buyers: Iterable[Plan]) -> Breach | None:
    """W07: Free cannot buy credits; the paid plans can."""
    if can_buy:
        return None
    return Breach(
        "W07", f"a {plan_name(plan)} workspace cannot buy credits; {plan_names(buyers)} can"
    )


def w07_enterprise_cap(plan: Plan, usd: Decimal, cap_usd: Decimal) -> Breach | None:
    """W07: an Enterprise in-app purchase is capped (at $9,999)."""
    if plan is not Plan.ENTERPRISE or usd <= cap_usd:
        return None
    return Breach(
        "W07",
        f"an Enterprise in-app purchase is capped at ${cap_usd:,} and this one costs "
        f"${usd:,.2f}; more is a sales contract",
    )


# ---------------------------------------------------------------- W13 cancel


def w13_cancel(plan: Plan) -> Breach | None:
    """W13: only a paid subscription can be cancelled."""
    if plan is not Plan.FREE:
        return None
    return Breach("W13", "a Free workspace has no subscription to cancel")


# ---------------------------------------------------------------- W15 Auto Refill


def w15_refill_settings(amount_usd: int, monthly_max_usd: int) -> Breach | None:
    """W15: a refill buys at least $10; the monthly maximum holds at least one refill."""
    if amount_usd < REFILL_MIN_USD:
        return Breach(
            "W15",
            f"an Auto Refill buys at least ${REFILL_MIN_USD} (1,000 credits); "
            f"this one buys ${amount_usd}",
        )
    if monthly_max_usd < amount_usd:
        return Breach(
            "W15",
            f"the monthly maximum (${monthly_max_usd}) is less than one refill "
            f"(${amount_usd}), so no refill could ever happen",
        )
    return None


# ---------------------------------------------------------------- W16 Enterprise


def w16_plan_change(current: Plan, target: Plan) -> Breach | None:
    """W16: moving to or from Enterprise is a sales contract, not a plan change."""
    if Plan.ENTERPRISE not in (current, target) or current is target:
        return None
    return Breach(
        "W16",
        f"moving from {plan_name(current)} to {plan_name(target)} is a sales contract, "
        "not a plan change (Enterprise)",
    )


# ---------------------------------------------------------------- A01 / A04 API


def a01_purchase_minimum(credits: int, minimum: int) -> Breach | None:
    """A01: API credits are bought in at least ``minimum`` (1,000)."""
    if credits >= minimum:
        return None
    return Breach(
        "A01", f"API credits are bought in at least {minimum:,} at a time; this buys {credits:,}"
    )


def a04_autobill_settings(threshold: int, amount: int, minimum: int) -> Breach | None:
    """A04: an autobill recharge is at least ``minimum`` credits; the threshold is >= 0."""
    if amount < minimum:
        return Breach(
            "A04", f"an autobill recharge is at least {minimum:,} credits; this one is {amount:,}"
        )
    if threshold < 0:
        return Breach("A04", f"the autobill threshold cannot be negative ({threshold:,})")
    return None
