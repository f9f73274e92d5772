"""Small makings shared by the domain tests: instants, priced tasks, event filters.

Imported by its full name (``tests.unit.domain.domain_kit``), so mypy checks it and its users
like any other module.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate

from ledger.domain.terms import TaskSpec
from ledger.pricing.models import PriceBook, Usage

E = TypeVar("E")

SECOND_US = 1_000_000
MINUTE_US = 60 * SECOND_US
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A simulated UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def web_task(book: PriceBook, model: str, **usage: Any) -> TaskSpec:
    """One generation priced from the web catalogue (W09)."""
    spec = book.web_model(model)
    return TaskSpec(
        model=model,
        credits_each=spec.cost(Usage(**usage)),
        processing_us=spec.processing_seconds * SECOND_US,
    )


def api_task(book: PriceBook, model: str, **usage: Any) -> TaskSpec:
    """One task priced from the API catalogue (A02)."""
    spec = book.api_model(model)
    return TaskSpec(
        model=model,
        credits_each=spec.cost(Usage(**usage)),
        processing_us=spec.processing_seconds * SECOND_US,
    )


def recorded(aggregate: Aggregate, kind: type[E]) -> list[E]:
    """The events of one type the aggregate recorded since it was last saved."""
    return [e for e in aggregate.pending_events if isinstance(e, kind)]


def only(aggregate: Aggregate, kind: type[E]) -> E:
    """The one event of this type; fails if there are none or several."""
    found = recorded(aggregate, kind)
    assert len(found) == 1, f"expected one {kind.__name__}, got {len(found)}"
    return found[0]


def kinds(aggregate: Aggregate) -> list[str]:
    """The names of the recorded event types, in order."""
    return [type(e).__name__ for e in aggregate.pending_events]
