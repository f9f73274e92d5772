"""A02 task cost, A03 refusal for lack of credits, A08 the rolling 24 h limit,
A09 queueing, A11 refunds of internal failures."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.terms import TaskSpec
from ledger.domain.types import RefusalReason, Tier
from ledger.pricing.loader import load_price_book
from ledger.pricing.models import PriceBook, Usage
from tests.unit.domain.domain_kit import MINUTE_US, SECOND_US, api_task, at, only, recorded

BOOK = load_price_book()
START = at(2027, 1, 1)
T0 = at(2027, 1, 2)


def funded(ledger: Ledger, book: PriceBook, credits: int, tier: int = 1) -> ApiOrganization:
    org = ledger.open_organization("o", START, book, tier=tier)
    org.purchase_credits(START, credits)
    return org


def submit(
    org: ApiOrganization,
    first: datetime,
    interval_us: int,
    count: int,
    task: TaskSpec,
    **kw: Any,
) -> None:
    """Submit at the limits of the organization's tier (A06) in the real price book."""
    limit = BOOK.limit(Tier(org.tier), task.model)
    org.submit_tasks(first, interval_us, count, task, limit.concurrency, limit.daily, **kw)


@pytest.mark.parametrize(
    ("model", "usage", "credits"),
    [
        ("gen4.5", Usage(seconds=10), 120),  # 12/s
        ("gen4_turbo", Usage(seconds=10), 50),  # 5/s
        ("gen4_aleph", Usage(seconds=5), 75),  # 15/s
        ("gen3a_turbo", Usage(seconds=10), 50),  # 5/s
        ("act_two", Usage(seconds=8), 40),  # 5/s
        ("veo3", Usage(seconds=8), 320),  # 40/s
        ("veo3.1", Usage(seconds=8, audio=True), 320),  # 40/s with audio
        ("veo3.1", Usage(seconds=8, audio=False), 160),  # 20/s silent
        ("veo3.1_fast", Usage(seconds=8, audio=True), 120),  # 15/s
        ("veo3.1_fast", Usage(seconds=8, audio=False), 80),  # 10/s
        ("gen4_image", Usage(resolution="720p"), 5),
        ("gen4_image", Usage(resolution="1080p"), 8),
        ("gen4_image", Usage(resolution="1080p", outputs=4), 32),  # x outputs
        ("gen4_image_turbo", Usage(), 2),
        ("gemini_image3_pro", Usage(resolution="1K"), 20),
        ("gemini_image3_pro", Usage(resolution="4K"), 40),
        ("gpt_image_2", Usage(quality="low", resolution="1K"), 1),
        ("gpt_image_2", Usage(quality="high", resolution="4K"), 41),
        ("eleven_multilingual_v2", Usage(characters=120), 3),  # per 50 characters, rounded up
        ("eleven_voice_isolation", Usage(seconds=13), 3),  # 1 per 6 s: 3 started steps
        ("gwm1_avatars", Usage(seconds=60), 20),  # 2 per 6 s of session
        ("aleph2", Usage(seconds=1), 56),  # 28/s with a 56-credit minimum
    ],
)
def test_a02_a_task_costs_the_api_rate_by_its_meter(
    book: PriceBook, model: str, usage: Usage, credits: int
) -> None:
    assert book.api_model(model).cost(usage) == credits


def test_a02_a_task_is_charged_its_cost_times_outputs(ledger: Ledger, book: PriceBook) -> None:
    org = funded(ledger, book, 1000)
    submit(org, T0, 0, 3, api_task(book, "gen4_image", resolution="1080p", outputs=4))
    charged = only(org, ApiOrganization.TaskCharged)
    assert (charged.count, charged.credits_each) == (3, 32)
    assert org.balance == 1000 - 96


def test_a03_a_task_costing_more_than_the_balance_is_refused(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 1000)
    submit(org, T0, MINUTE_US, 10, api_task(book, "gen4.5", seconds=10))  # 120 each
    # 8 x 120 = 960 leaves 40; the 9th and 10th are each 80 short.
    assert only(org, ApiOrganization.TaskCharged).count == 8
    refused = only(org, ApiOrganization.TaskRefused)
    assert (refused.reason, refused.count, refused.shortfall) == (
        RefusalReason.INSUFFICIENT_CREDITS,
        2,
        80,
    )
    assert refused.first_at == T0 + timedelta(minutes=8)
    assert org.balance == 40


def test_a03_a_task_costing_exactly_the_balance_goes_through(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 1200)
    submit(org, T0, MINUTE_US, 11, api_task(book, "gen4.5", seconds=10))  # 10 x 120 = 1,200
    assert only(org, ApiOrganization.TaskCharged).count == 10
    assert (only(org, ApiOrganization.TaskRefused).shortfall, org.balance) == (120, 0)


def test_a03_a_refused_task_charges_nothing(ledger: Ledger, book: PriceBook) -> None:
    org = funded(ledger, book, 1000)
    submit(org, T0, 0, 1, api_task(book, "veo3", seconds=30))  # 1,200 > 1,000
    assert only(org, ApiOrganization.TaskRefused).shortfall == 200
    assert org.balance == 1000


def test_a08_tasks_over_the_daily_limit_are_refused_as_rate_limited(
    ledger: Ledger, book: PriceBook
) -> None:
    assert book.limit(Tier.T1, "gen4.5").daily == 200
    org = funded(ledger, book, 4000)  # $40: still Tier 1
    submit(org, T0, MINUTE_US, 250, api_task(book, "gen4.5", seconds=1))  # 12 each
    assert only(org, ApiOrganization.TaskCharged).count == 200
    refused = only(org, ApiOrganization.TaskRefused)
    assert (refused.reason, refused.count) == (RefusalReason.DAILY_LIMIT, 50)
    assert org.balance == 4000 - 200 * 12  # rate-limited tasks cost nothing


def test_a08_task_over_rolling_24h_limit_is_refused_as_rate_limited(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 4000)  # $40: still Tier 1
    task = api_task(book, "gen4.5", seconds=1)
    submit(org, T0, MINUTE_US, 200, task)  # T0 to T0 + 199 min: the limit is full
    submit(org, T0 + timedelta(hours=24, microseconds=-1), 0, 1, task)
    assert only(org, ApiOrganization.TaskRefused).reason is RefusalReason.DAILY_LIMIT


def test_a08_a_task_exactly_24h_after_an_earlier_one_finds_it_gone_from_the_window(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 4000)  # $40: still Tier 1
    task = api_task(book, "gen4.5", seconds=1)
    submit(org, T0, MINUTE_US, 200, task)
    submit(org, T0 + timedelta(hours=24), 0, 2, task)
    # The task at T0 left the window at exactly T0 + 24 h: room for one, not two.
    assert recorded(org, ApiOrganization.TaskCharged)[-1].count == 1
    assert only(org, ApiOrganization.TaskRefused).count == 1


def test_a08_the_window_rolls_through_a_long_run(ledger: Ledger, book: PriceBook) -> None:
    org = funded(ledger, book, 4000)  # $40: still Tier 1
    # 300 tasks every 6 minutes (30 h): tasks 0-199 fill the window (0 to 19.9 h);
    # 200-239 (20 h to 23.9 h) are refused; from 240 (24 h) one leaves for each that comes.
    submit(org, T0, 6 * MINUTE_US, 300, api_task(book, "gen4.5", seconds=1))
    assert sum(e.count for e in recorded(org, ApiOrganization.TaskCharged)) == 260
    refused = only(org, ApiOrganization.TaskRefused)
    assert (refused.count, refused.first_at) == (40, T0 + timedelta(hours=20))


def test_a08_the_daily_limit_counts_per_model(ledger: Ledger, book: PriceBook) -> None:
    org = funded(ledger, book, 4000)  # $40: still Tier 1
    submit(org, T0, MINUTE_US, 200, api_task(book, "gen4.5", seconds=1))
    submit(org, T0 + timedelta(hours=4), 0, 1, api_task(book, "gen4_turbo", seconds=1))
    assert recorded(org, ApiOrganization.TaskRefused) == []


def test_a09_tasks_over_the_concurrency_limit_queue_and_are_charged_at_submission(
    ledger: Ledger, book: PriceBook
) -> None:
    assert book.limit(Tier.T1, "gen4.5").concurrency == 2
    org = funded(ledger, book, 1000)
    task = api_task(book, "gen4.5", seconds=10)  # 120 credits, 90 s of processing
    submit(org, T0, 0, 5, task)
    # Two slots: starts at 0, 0, 90, 90, 180 s. The fifth waits 180 s. All five are charged.
    charged = only(org, ApiOrganization.TaskCharged)
    assert (charged.count, charged.max_wait_us, charged.max_wait_at) == (5, 180 * SECOND_US, T0)
    assert recorded(org, ApiOrganization.TaskRefused) == []
    assert org.balance == 1000 - 5 * 120


def test_a09_the_queue_carries_over_to_the_next_submission(ledger: Ledger, book: PriceBook) -> None:
    org = funded(ledger, book, 1000)
    task = api_task(book, "gen4.5", seconds=1)  # 90 s of processing
    submit(org, T0, 0, 5, task)  # slots free again at 180 s and 270 s
    submit(org, T0 + timedelta(seconds=100), 0, 1, task)
    assert recorded(org, ApiOrganization.TaskCharged)[-1].max_wait_us == 80 * SECOND_US


def test_a09_tasks_within_the_concurrency_limit_do_not_wait(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 1000)
    # One every 45 s, 90 s each, on 2 slots: each slot is free again just in time.
    submit(org, T0, 45 * SECOND_US, 10, api_task(book, "gen4.5", seconds=1))
    assert only(org, ApiOrganization.TaskCharged).max_wait_us == 0


def test_a11_internal_failures_are_refunded_safety_failures_are_charged(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 1000)
    task = api_task(book, "gen4.5", seconds=10)  # 120 each
    submit(org, T0, MINUTE_US, 3, task, refunded=[0], safety_failed=[1])
    charged = only(org, ApiOrganization.TaskCharged)
    assert (charged.refunded, charged.safety_failed) == ([0], [1])
    assert org.balance == 1000 - 2 * 120  # the safety failure and the success are kept


def test_a11_a_refunded_task_still_needs_the_credits_when_submitted(
    ledger: Ledger, book: PriceBook
) -> None:
    org = funded(ledger, book, 1000)
    task = TaskSpec("gen4.5", 600)
    submit(org, T0, MINUTE_US, 3, task, refunded=[0])
    # 1st: 1,000 >= 600, charged then refunded; 2nd: charged (400 left); 3rd: 200 short.
    assert only(org, ApiOrganization.TaskCharged).count == 2
    assert only(org, ApiOrganization.TaskRefused).shortfall == 200
    assert org.balance == 400
