"""Typed values the aggregates record in their events and hold in their state.

Figures a command needs from the price book (``PlanTerms``, ``TierRule``,
``TaskSpec``) are handed in as plain values and recorded in the events, so a
replay never needs the price book again; the settings a user chose
(``RefillSettings``, ``AutobillSettings``) likewise; an organization holds
its keys and deferred tasks as ``ApiKey`` and ``WaitingTask``. Each is a frozen
dataclass that round-trips through the event store with its type
(``ledger.application``: one transcoding each, as in eventsourcing's
cargo-shipping example), so mypy checks every field an event carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledger.domain.types import Billing, Plan


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """W01-W03, W07, W10, W15 for one plan."""

    plan: Plan
    allowance: int  # plan credits per refresh (the contract amount on Enterprise)
    monthly_usd: Decimal  # W02: one editor, one month
    annual_usd: Decimal  # W02: one editor, one year
    seat_cap: int
    can_buy: bool
    explore: bool
    auto_refill: bool
    refreshes: bool  # False on Free: its grant is one-time (W01)

    def seat_price(self, billing: Billing) -> Decimal:
        return self.annual_usd if billing is Billing.ANNUAL else self.monthly_usd

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanTerms:
        return cls(
            plan=Plan(data["plan"]),
            allowance=int(data["allowance"]),
            monthly_usd=Decimal(data["monthly_usd"]),
            annual_usd=Decimal(data["annual_usd"]),
            seat_cap=int(data["seat_cap"]),
            can_buy=bool(data["can_buy"]),
            explore=bool(data["explore"]),
            auto_refill=bool(data["auto_refill"]),
            refreshes=bool(data["refreshes"]),
        )


@dataclass(frozen=True, slots=True)
class TierRule:
    """A06/A07 for one tier: how it is reached and its 30-day purchase cap."""

    tier: int
    unlock_usd: Decimal
    min_days_since_first_purchase: int
    monthly_cap_usd: Decimal

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TierRule:
        return cls(
            tier=int(data["tier"]),
            unlock_usd=Decimal(data["unlock_usd"]),
            min_days_since_first_purchase=int(data["min_days_since_first_purchase"]),
            monthly_cap_usd=Decimal(data["monthly_cap_usd"]),
        )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A10: an API key of an organization, who made it and whether it still works."""

    by: str  # the member who created it
    active: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ApiKey:
        return cls(by=str(data["by"]), active=bool(data["active"]))


@dataclass(frozen=True, slots=True)
class WaitingTask:
    """A08 policy defer: one task waiting for room in its model's 24 h window."""

    requested_us: int  # when it was submitted and found the window full
    credits_each: int
    processing_us: int  # A09: how long it holds a concurrency slot once submitted
    label: str
    key: str  # "" for none
    refunded: bool  # A11: it fails internally (its credits come back)
    safety_failed: bool  # A11: it fails a safety check (charged)

    @classmethod
    def from_list(cls, data: list[Any]) -> WaitingTask:
        """A version-3 organization's positional record, in this field order."""
        requested, cost, processing, label, key, refunded, safety = data
        return cls(
            int(requested),
            int(cost),
            int(processing),
            str(label),
            str(key),
            bool(refunded),
            bool(safety),
        )


def typed(state: dict[str, Any], **types: Any) -> None:
    """Upcast a version-1 stored state in place: each named field held the plain dict
    of a typed value (``from_dict``); a list of them, or None, stays a list or None."""
    for name, value_type in types.items():
        value = state.get(name)
        if isinstance(value, dict):
            state[name] = value_type.from_dict(value)
        elif isinstance(value, list):
            state[name] = [value_type.from_dict(v) if isinstance(v, dict) else v for v in value]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """One usage line's identical tasks: what each costs and how long it runs."""

    model: str
    credits_each: int
    processing_us: int = 0  # A09: how long a task holds a concurrency slot
    label: str = ""


@dataclass(frozen=True, slots=True)
class RefillSettings:
    """W15: below ``trigger`` credits, buy ``amount_usd`` of credits, at most
    ``monthly_max_usd`` a calendar month (whole dollars)."""

    trigger: int
    amount_usd: int
    monthly_max_usd: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RefillSettings:
        return cls(
            trigger=int(data["trigger"]),
            amount_usd=int(data["amount_usd"]),
            monthly_max_usd=int(data["monthly_max_usd"]),
        )


@dataclass(frozen=True, slots=True)
class AutobillSettings:
    """A04: strictly below ``threshold`` credits, an hourly check buys ``amount``."""

    threshold: int
    amount: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutobillSettings:
        return cls(threshold=int(data["threshold"]), amount=int(data["amount"]))
