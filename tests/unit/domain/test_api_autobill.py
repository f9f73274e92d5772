"""A04 hourly autobilling, A05 card failures and retries, A07 the cap on recharges."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.errors import DomainError
from ledger.domain.runs import Lane
from ledger.domain.terms import AutobillSettings, TaskSpec
from ledger.domain.time import next_hour_us, to_us
from ledger.domain.types import AutobillCapPolicy, RefusalReason
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import HOUR_US, at, kinds, only, recorded

START = at(2027, 1, 1)
AUTOBILL = AutobillSettings(threshold=500, amount=1000)


def spend(org: ApiOrganization, when: datetime, credits: int) -> None:
    org.submit_tasks(when, 0, 1, TaskSpec("gen4.5", credits), 2, 200)


def test_a04_autobill_buys_when_the_balance_is_strictly_below_the_threshold(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.purchase_credits(START, 1000)
    spend(org, at(2027, 1, 1, 0, 10), 500)  # 500 left: at the threshold, not below
    org.check_autobill(at(2027, 1, 1, 1))
    assert recorded(org, ApiOrganization.AutobillToppedUp) == []
    spend(org, at(2027, 1, 1, 1, 10), 1)  # 499: below
    org.check_autobill(at(2027, 1, 1, 2))
    topped = only(org, ApiOrganization.AutobillToppedUp)
    assert (topped.credits, topped.usd, topped.capped) == (1000, Decimal("10.00"), False)
    assert org.balance == 1499


def test_a04_between_hourly_checks_tasks_can_still_be_refused(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.purchase_credits(START, 1000)
    org.check_autobill(at(2027, 1, 1, 10))  # 1,000: nothing to do
    org.submit_tasks(at(2027, 1, 1, 10, 10), 10 * 60_000_000, 3, TaskSpec("gen4.5", 400), 2, 200)
    # 10:10 -> 600, 10:20 -> 200, 10:30 refused 200 short: the next check is at 11:00.
    assert only(org, ApiOrganization.TaskRefused).shortfall == 200
    org.check_autobill(at(2027, 1, 1, 11))
    assert org.balance == 1200


def test_a04_checks_fall_on_the_hour() -> None:
    assert next_hour_us(to_us(at(2027, 1, 1, 10, 15))) == to_us(at(2027, 1, 1, 11))
    assert next_hour_us(to_us(at(2027, 1, 1, 11))) == to_us(at(2027, 1, 1, 12))  # strictly after
    assert next_hour_us(to_us(at(2027, 1, 1, 23, 59))) == to_us(at(2027, 1, 2))
    assert HOUR_US == 3_600_000_000


@pytest.mark.parametrize("amount", [1, 500, 999])
def test_a04_a_recharge_under_1000_credits_is_an_error(
    ledger: Ledger, book: PriceBook, amount: int
) -> None:
    with pytest.raises(DomainError, match="A04"):
        ledger.open_organization(
            "o", START, book, autobill=AutobillSettings(threshold=500, amount=amount)
        )
    org = ledger.open_organization("p", START, book)
    with pytest.raises(DomainError, match="A04"):
        org.enable_autobill(at(2027, 1, 2), threshold=500, amount=amount)


def test_a05_three_card_failures_24h_apart_then_autobill_is_off(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.schedule_card_failures(START, 3)
    t = at(2027, 1, 1, 1)
    org.check_autobill(t)
    org.check_autobill(t + timedelta(hours=1))  # waits for the retry: no attempt
    org.check_autobill(t + timedelta(hours=23))  # still waiting
    org.check_autobill(t + timedelta(hours=24))  # retry 1
    org.check_autobill(t + timedelta(hours=48))  # retry 2: the third failure
    org.check_autobill(t + timedelta(hours=72))  # off: nothing happens
    failed = recorded(org, ApiOrganization.AutobillFailed)
    assert [(e.attempt, e.timestamp, e.retry_at, e.disabled) for e in failed] == [
        (1, t, t + timedelta(hours=24), False),
        (2, t + timedelta(hours=24), t + timedelta(hours=48), False),
        (3, t + timedelta(hours=48), None, True),
    ]
    assert all(e.reason is RefusalReason.CARD_DECLINED for e in failed)
    assert (org.autobill_enabled, org.balance) == (False, 0)


def test_a05_autobill_is_re_enabled_by_hand(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.schedule_card_failures(START, 3)
    for day in range(3):
        org.check_autobill(at(2027, 1, 1 + day, 1))
    org.check_autobill(at(2027, 1, 5, 1))
    assert org.balance == 0  # still off
    org.enable_autobill(at(2027, 1, 5, 1, 30))
    org.check_autobill(at(2027, 1, 5, 2))
    assert only(org, ApiOrganization.AutobillToppedUp).credits == 1000
    assert only(org, ApiOrganization.AutobillEnabled).settings == AUTOBILL


def test_a05_a_success_after_a_failure_resets_the_count(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.schedule_card_failures(START, 1)
    org.check_autobill(at(2027, 1, 1, 1))  # declined
    org.check_autobill(at(2027, 1, 2, 1))  # the retry succeeds
    assert kinds(org)[-2:] == ["AutobillFailed", "AutobillToppedUp"]
    assert (org.autobill_failures, org.retry_at) == (0, None)


def test_a05_a_disabled_autobill_does_nothing(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.disable_autobill(at(2027, 1, 1, 0, 30))
    org.check_autobill(at(2027, 1, 1, 1))
    assert org.balance == 0


def capped(ledger: Ledger, book: PriceBook, policy: AutobillCapPolicy) -> ApiOrganization:
    """Tier 5 (cap $100,000), $95,000 bought; an autobill of $15,000 would pass the cap."""
    org = ledger.open_organization(
        "o",
        START,
        book,
        tier=5,
        autobill=AutobillSettings(threshold=10_000_000, amount=1_500_000),
        autobill_cap=policy,
    )
    org.purchase_credits(START, 9_500_000)  # $95,000; the balance is below the threshold
    return org


def test_a07_an_autobill_recharge_is_cut_to_what_the_cap_leaves(
    ledger: Ledger, book: PriceBook
) -> None:
    org = capped(ledger, book, AutobillCapPolicy.PARTIAL)
    org.check_autobill(at(2027, 1, 1, 1))
    topped = only(org, ApiOrganization.AutobillToppedUp)
    # $100,000 - $95,000 = $5,000 left of the cap: 500,000 credits, not 1,500,000.
    assert (topped.credits, topped.usd, topped.capped) == (500_000, Decimal("5000.00"), True)
    assert topped.window_spend_usd == Decimal("100000.00")


def test_a07_the_skip_policy_makes_no_recharge_that_does_not_fit(
    ledger: Ledger, book: PriceBook
) -> None:
    org = capped(ledger, book, AutobillCapPolicy.SKIP)
    org.check_autobill(at(2027, 1, 1, 1))
    failed = only(org, ApiOrganization.AutobillFailed)
    assert (failed.reason, failed.remaining_usd) == (RefusalReason.MONTHLY_CAP, Decimal("5000"))
    assert org.balance == 9_500_000


def test_a07_below_10_dollars_left_the_recharge_fails(ledger: Ledger, book: PriceBook) -> None:
    org = capped(ledger, book, AutobillCapPolicy.PARTIAL)
    org.purchase_credits(START, 499_100)  # $4,991: $9 of the cap left
    org.check_autobill(at(2027, 1, 1, 1))
    org.check_autobill(at(2027, 1, 1, 2))  # recorded once, not every hour
    failed = only(org, ApiOrganization.AutobillFailed)
    assert (failed.reason, failed.remaining_usd) == (RefusalReason.MONTHLY_CAP, Decimal("9.00"))
    assert recorded(org, ApiOrganization.AutobillToppedUp) == []


def test_a07_exactly_10_dollars_left_is_a_1000_credit_recharge(
    ledger: Ledger, book: PriceBook
) -> None:
    org = capped(ledger, book, AutobillCapPolicy.PARTIAL)
    org.purchase_credits(START, 499_000)  # $4,990: $10 left
    org.check_autobill(at(2027, 1, 1, 1))
    assert only(org, ApiOrganization.AutobillToppedUp).credits == 1000


def test_a07_a_blocked_autobill_resumes_when_the_window_rolls(
    ledger: Ledger, book: PriceBook
) -> None:
    org = capped(ledger, book, AutobillCapPolicy.SKIP)
    org.check_autobill(at(2027, 1, 1, 1))
    org.check_autobill(at(2027, 1, 31))  # the $95,000 of Jan 1 00:00 left the window
    topped = only(org, ApiOrganization.AutobillToppedUp)
    assert (topped.credits, topped.window_spend_usd) == (1_500_000, Decimal("15000.00"))


def test_a07_autobill_recharges_count_against_manual_purchases(
    ledger: Ledger, book: PriceBook
) -> None:
    org = capped(ledger, book, AutobillCapPolicy.PARTIAL)
    org.check_autobill(at(2027, 1, 1, 1))  # fills the cap
    org.purchase_credits(at(2027, 1, 1, 2), 1000)
    assert only(org, ApiOrganization.PurchaseRefused).reason is RefusalReason.MONTHLY_CAP


def _tasks_from_ten(count: int, credits: int) -> Lane:
    """``count`` tasks of ``credits`` every 10 minutes from 10:00 (Tier 1 limits)."""
    return Lane(
        task=TaskSpec("gen4.5", credits),
        first=to_us(at(2027, 1, 1, 10)),
        interval=10 * 60_000_000,
        count=count,
        concurrency=2,
        daily_limit=200,
    )


def test_a04_a_check_inside_a_batch_tops_up_before_the_tasks_of_its_instant(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization("o", START, book, autobill=AUTOBILL)
    org.purchase_credits(START, 1000)
    checks = (to_us(at(2027, 1, 1, 10)), to_us(at(2027, 1, 1, 12)) - 1)
    decided, next_check = org.submit_batch([_tasks_from_ten(12, 100)], checks)
    # 10:00-10:50 spend 600 (400 left); the 11:00 check finds 400 < 500 and buys
    # 1,000 before the 11:00 task; 11:00-11:50 spend 600 more.
    assert (decided, next_check) == ([12], to_us(at(2027, 1, 1, 12)))
    topped = only(org, ApiOrganization.AutobillToppedUp)
    assert (topped.timestamp, topped.credits, topped.batch_at) == (
        at(2027, 1, 1, 11),
        1000,
        at(2027, 1, 1, 10),
    )
    charged = only(org, ApiOrganization.TaskCharged)  # one run across the top-up
    assert charged.count == 12
    assert org.balance == 1000 - 1200 + 1000
    ledger.flush()
    assert ledger.balances_at("o", at(2027, 1, 1, 10, 55)).balance == 400
    assert ledger.balances_at("o", at(2027, 1, 1, 11)).balance == 1300


def test_a06_a_top_up_reaching_a_new_tier_stops_the_batch_before_its_check(
    ledger: Ledger, book: PriceBook
) -> None:
    org = ledger.open_organization(
        "o", START, book, autobill=AutobillSettings(threshold=9000, amount=1000)
    )
    org.purchase_credits(START, 9500)  # $95: Tier 2 ($50); Tier 3 unlocks at $100
    assert org.tier == 2
    checks = (to_us(at(2027, 1, 1, 10)), to_us(at(2027, 1, 1, 12)) - 1)
    decided, next_check = org.submit_batch([_tasks_from_ten(12, 100)], checks)
    # At 11:00 the balance is 8,900 < 9,000 and the $10 recharge would bring the
    # purchases to $105: a new tier, whose limits the batch's lanes do not have.
    # The batch stops before that check and leaves it (and the tasks from 11:00
    # on) to be made alone.
    assert (decided, next_check) == ([6], to_us(at(2027, 1, 1, 11)))
    assert recorded(org, ApiOrganization.AutobillToppedUp) == []
    assert only(org, ApiOrganization.TaskCharged).count == 6
    org.check_autobill(at(2027, 1, 1, 11))  # as the replay makes it: top-up, then tier
    assert kinds(org)[-2:] == ["AutobillToppedUp", "TierRaised"]
    assert org.tier == 3
