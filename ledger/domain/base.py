"""What both aggregates share: simulated time only moves forward (S03, S05)."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from ledger.domain.errors import DomainError


class SimulatedAggregate(Aggregate):
    """An aggregate whose events are stamped with the simulated instant.

    Events must not go back in time: the time-travel index (a binary search
    over versions) and the projections' sums both rely on timestamps that never
    decrease along an aggregate's versions. A grouped run is stamped with its
    last task, so nothing may be recorded before that task either.
    """

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        timestamp = kwargs.get("timestamp")
        if timestamp is not None and timestamp < self.modified_on:
            raise DomainError(
                f"{event_class.__name__} at {timestamp.isoformat()} is earlier than the "
                f"last recorded event ({self.modified_on.isoformat()}): simulated time "
                "only moves forward",
                "S05",
            )
        super().trigger_event(event_class, **kwargs)
