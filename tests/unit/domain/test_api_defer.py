"""A08 policy defer in the aggregate: one call of many tasks and one call per task
give the same deferred submissions, at the same instants, in the same order."""

from __future__ import annotations

from datetime import datetime, timedelta

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.types import DailyLimitPolicy
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import MINUTE_US, api_task, at

T0 = at(2027, 1, 2)
DAY = timedelta(days=1)


def task_at(i: int) -> datetime:
    return T0 + timedelta(minutes=6 * i)


def deferred_run(book: PriceBook, per_task: bool) -> ApiOrganization:
    ledger = Ledger("memory", run="defer")
    org = ledger.open_organization("o", at(2027, 1, 1), book, on_daily_limit=DailyLimitPolicy.DEFER)
    org.purchase_credits(at(2027, 1, 1), 4000)
    task = api_task(book, "gen4_image_turbo")  # 2 credits
    if per_task:
        for i in range(400):
            org.submit_tasks(task_at(i), 0, 1, task, 2, 200)
    else:
        org.submit_tasks(T0, 6 * MINUTE_US, 400, task, 2, 200)
    org.resubmit_deferred(at(2027, 1, 5))  # what the replay does at each room instant
    return org


def resubmissions(org: ApiOrganization) -> list[tuple[datetime, datetime]]:
    return [
        (e.timestamp, e.requested_at)
        for e in org.pending_events
        if isinstance(e, ApiOrganization.TaskResubmitted)
    ]


def test_a08_defer_one_call_and_one_call_per_task_resubmit_alike(book: PriceBook) -> None:
    # 400 tasks 6 minutes apart against 200 a rolling day: from task 200 (20 h in)
    # the window is full; each deferred task goes when the one of a day before
    # leaves, so the backlog holds 40 and each waits 4 h, in order.
    grouped, single = deferred_run(book, False), deferred_run(book, True)
    assert resubmissions(grouped) == resubmissions(single)
    went = resubmissions(grouped)
    assert len(went) == 200
    assert went[0] == (task_at(0) + DAY, task_at(200))  # task 200 goes when task 0 leaves
    assert went[-1] == (task_at(199) + DAY, task_at(399))
    assert all(done - asked == timedelta(hours=4) for done, asked in went)
    assert grouped.balance == single.balance == 4000 - 400 * 2
    assert grouped.backlog == single.backlog == {}


def test_a08_reject_is_the_default_and_refuses_instead(book: PriceBook) -> None:
    ledger = Ledger("memory", run="reject")
    org = ledger.open_organization("o", at(2027, 1, 1), book)
    assert org.on_daily_limit is DailyLimitPolicy.REJECT
    org.purchase_credits(at(2027, 1, 1), 4000)
    org.submit_tasks(T0, 6 * MINUTE_US, 400, api_task(book, "gen4_image_turbo"), 2, 200)
    refused = [e for e in org.pending_events if isinstance(e, ApiOrganization.TaskRefused)]
    # Tasks 200-239 (20 h to 24 h in) find the window full; from 24 h on, one of a
    # day before leaves as each arrives, and a refused task takes no room.
    assert sum(e.count for e in refused) == 40
    assert resubmissions(org) == []
