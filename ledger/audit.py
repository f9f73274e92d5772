"""How one stored event reads in an audit line (``events``, ``check``, golden files).

Pure functions of domain event objects and aggregates: no storage, no CLI.
"""

from __future__ import annotations

import json
from dataclasses import Field, fields, is_dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from ledger.domain.effects import NOISE
from ledger.domain.time import utc

# NOISE: the bookkeeping fields each event type declares beside its effects
# (ledger.domain.effects): the tier table, queue slot times, price-book figures
# copied into the opening event, the batch a run was decided in. They would
# drown an audit line.
IDENTITY = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def event_fields(event: Any) -> dict[str, Any]:
    """An event's own fields as plain JSON values (no ids, no timestamp)."""
    return {key: plain(value) for key, value in sorted(vars(event).items()) if key not in IDENTITY}


def plain(value: Any) -> Any:
    """Enums, instants, dollars and nested containers as plain JSON values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return utc(value).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in sorted(fields(value), key=_name)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _name(f: Field[Any]) -> str:
    return f.name


def describe_event(event: Any) -> str:
    """``2027-03-01T00:00:00+00:00 CreditsPurchased credits=1000 refill=false usd=10.00``."""
    parts = []
    for key, value in event_fields(event).items():
        if key in NOISE or value in (None, [], "", {}):
            continue
        shown = value.get("plan", value) if key == "terms" and isinstance(value, dict) else value
        text = shown if isinstance(shown, str) else json.dumps(shown, separators=(",", ":"))
        parts.append(f"{key}={text}")
    return f"{utc(event.timestamp).isoformat()} {type(event).__name__} {' '.join(parts)}".rstrip()


def holdings(aggregate: Any) -> str:
    """The balances an aggregate holds, as ``plan=.. purchased=.. balance=..`` or
    ``balance=.. tier=..``."""
    if hasattr(aggregate, "plan_credits"):
        plan, purchased = aggregate.plan_credits, aggregate.purchased
        return f"plan={plan} purchased={purchased} balance={plan + purchased}"
    return f"balance={aggregate.balance} tier={aggregate.tier}"
