"""Run events expanded back into their tasks, to compare two replays task by task.

Grouped replays hand the aggregates batches of tasks and record runs; per-task
replays record one event per task. Expanding both into (instant, outcome,
model, ...) rows in time order makes them comparable row by row: the grouping
tests (``tests/integration/test_grouping.py``) and the property test
(``tests/property/test_grouping_property.py``) share this.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.web import WebWorkspace

RUN_TYPES = (
    WebWorkspace.GenerationCharged,
    WebWorkspace.GenerationRefused,
    ApiOrganization.TaskCharged,
    ApiOrganization.TaskRefused,
    ApiOrganization.TaskDeferred,
)
CHARGED = (WebWorkspace.GenerationCharged, ApiOrganization.TaskCharged)


def expand(ledger: Ledger, aggregate_id: Any) -> tuple[list[tuple[Any, ...]], dict[Any, int]]:
    """The account's tasks in time order, and its worst queue wait per day (A09).

    Every other event is kept whole (minus its version and ``batch_at``). Runs of different usage
    lines decided in one batch overlap in time, so rows are sorted by instant,
    same-instant ones by their description.
    """
    tasks: list[tuple[Any, ...]] = []
    worst: dict[Any, int] = defaultdict(int)
    event: Any
    for event in ledger.events.get(aggregate_id):
        if isinstance(event, RUN_TYPES):
            step = timedelta(microseconds=event.interval_us)
            refunded = set(getattr(event, "refunded", []))
            safety = set(getattr(event, "safety_failed", []))
            if isinstance(event, ApiOrganization.TaskDeferred):
                outcome = "deferred"
            else:
                outcome = "charged" if isinstance(event, CHARGED) else "refused"
            for i in range(event.count):
                tasks.append(
                    (
                        event.first_at + i * step,
                        outcome,
                        getattr(event, "requested_at", None),
                        event.model,
                        event.credits_each,
                        getattr(event, "reason", None),
                        getattr(event, "shortfall", None),
                        i in refunded,
                        i in safety,
                    )
                )
            if isinstance(event, ApiOrganization.TaskCharged):
                day = event.first_at.date()
                worst[day] = max(worst[day], event.max_wait_us)
        else:
            state = {
                k: v
                for k, v in vars(event).items()
                # batch_at says which batch made a top-up: replay bookkeeping
                if k not in {"originator_version", "originator_id", "batch_at"}
            }
            tasks.append((event.timestamp, type(event).__name__, repr(sorted(state.items()))))
    tasks.sort(key=lambda task: (task[0], repr(task[1:])))
    return tasks, dict(worst)
