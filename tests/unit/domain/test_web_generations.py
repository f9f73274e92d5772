"""W09 generation cost and refusal, W10 Explore Mode, W14 refunds of failed generations."""

from __future__ import annotations

import pytest

from ledger.application import Ledger
from ledger.domain.terms import TaskSpec
from ledger.domain.types import GenerationMode, Plan, RefusalReason
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook, Usage
from tests.unit.domain.domain_kit import HOUR_US, at, only, recorded, web_task

START = at(2027, 1, 1)


@pytest.mark.parametrize(
    ("model", "usage", "credits"),
    [
        ("gen4.5", Usage(seconds=10), 250),  # 25/s x 10 s
        ("gen4", Usage(seconds=5), 60),  # 12/s x 5 s
        ("gen4_turbo", Usage(seconds=10), 50),  # 5/s x 10 s
        ("gen4_image", Usage(outputs=4), 32),  # 8 an image x 4
        ("eleven_multilingual_v2", Usage(characters=120), 3),  # 1 per 50 characters, rounded up
        ("gwm1_avatars", Usage(seconds=13), 6),  # 2 per 6 s: 3 started steps
    ],
)
def test_w09_a_generation_costs_the_web_rate_times_units(
    book: PriceBook, model: str, usage: Usage, credits: int
) -> None:
    assert book.web_model(model).cost(usage) == credits


def test_w09_web_and_api_catalogues_price_the_same_model_differently(book: PriceBook) -> None:
    ten_seconds = Usage(seconds=10)
    assert book.web_model("gen4.5").cost(ten_seconds) == 250  # 25/s on web
    assert book.api_model("gen4.5").cost(ten_seconds) == 120  # 12/s on the API


def test_w09_a_generation_charges_its_cost(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 2), HOUR_US, 2, web_task(book, "gen4.5", seconds=10))
    charged = only(ws, WebWorkspace.GenerationCharged)
    assert (charged.count, charged.credits_each, charged.plan_part) == (2, 250, 500)
    assert ws.balance == 125


def test_w09_a_generation_short_of_credits_is_refused_whole_with_its_shortfall(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 2), 0, 1, web_task(book, "gen4.5", seconds=30))  # 750 > 625
    refused = only(ws, WebWorkspace.GenerationRefused)
    assert (refused.reason, refused.shortfall, refused.count) == (
        RefusalReason.INSUFFICIENT_CREDITS,
        125,  # 750 - 625
        1,
    )
    assert ws.balance == 625  # nothing charged, not even the 625 there were
    assert recorded(ws, WebWorkspace.GenerationCharged) == []


def test_w09_plan_and_purchased_credits_together_pay_for_a_generation(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    ws.generate(at(2027, 1, 3), 0, 1, web_task(book, "gen4.5", seconds=30))  # 750 <= 1,625
    assert (ws.plan_credits, ws.purchased) == (0, 875)


def test_w09_a_run_is_charged_until_the_credits_run_out_then_refused(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 2), HOUR_US, 5, web_task(book, "gen4.5", seconds=10))
    # 625 pays two of 250 (125 left); the 3rd to 5th are each 125 short.
    assert only(ws, WebWorkspace.GenerationCharged).count == 2
    refused = only(ws, WebWorkspace.GenerationRefused)
    assert (refused.count, refused.shortfall, refused.first_at) == (3, 125, at(2027, 1, 2, 2))


def test_w10_explore_mode_on_unlimited_costs_nothing(ledger: Ledger, book: PriceBook) -> None:
    assert book.web_model("gen4.5").explore  # an eligible model in the price book list
    ws = ledger.open_workspace("w", START, book, Plan.UNLIMITED)
    task = web_task(book, "gen4.5", seconds=10)
    ws.generate(at(2027, 1, 2), HOUR_US, 100, task, mode=GenerationMode.EXPLORE)
    charged = only(ws, WebWorkspace.GenerationCharged)
    assert (charged.mode, charged.count, charged.credits_each) == (GenerationMode.EXPLORE, 100, 0)
    assert ws.balance == 2250


@pytest.mark.parametrize("plan", [Plan.STANDARD, Plan.PRO])
def test_w10_explore_mode_is_refused_below_unlimited(
    ledger: Ledger, book: PriceBook, plan: Plan
) -> None:
    ws = ledger.open_workspace("w", START, book, plan)
    task = web_task(book, "gen4.5", seconds=10)
    ws.generate(at(2027, 1, 2), HOUR_US, 3, task, mode=GenerationMode.EXPLORE)
    refused = only(ws, WebWorkspace.GenerationRefused)
    assert (refused.reason, refused.count) == (RefusalReason.EXPLORE_NOT_AVAILABLE, 3)
    assert ws.balance == book.plan(plan).credits


def test_w10_eligible_models_are_a_price_book_list(book: PriceBook) -> None:
    eligible = {m for m, spec in book.web.models.items() if spec.explore}
    assert {"gen4.5", "gen4", "gen4_turbo"} <= eligible
    assert "gen2" not in eligible
    assert "eleven_multilingual_v2" not in eligible


def test_w10_credits_mode_on_unlimited_still_costs_credits(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.UNLIMITED)
    ws.generate(at(2027, 1, 2), 0, 1, web_task(book, "gen4.5", seconds=10))
    assert ws.balance == 2000


def test_w14_a_generation_that_errors_is_refunded(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 2), HOUR_US, 2, web_task(book, "gen4.5", seconds=10), refunded=[1])
    charged = only(ws, WebWorkspace.GenerationCharged)
    assert (charged.count, charged.refunded, charged.plan_part) == (2, [1], 250)
    assert ws.balance == 375  # 625 - 250: the second came back


def test_w14_a_refund_goes_back_to_the_buckets_it_came_from(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.purchase_credits(at(2027, 1, 2), 1000)
    # 250 + 250 from the plan (125 left); the third takes 125 plan + 125 purchased
    # and errors: both halves return, so plan 125 and purchased 1,000 remain.
    ws.generate(at(2027, 1, 3), HOUR_US, 3, web_task(book, "gen4.5", seconds=10), refunded=[2])
    assert (ws.plan_credits, ws.purchased) == (125, 1000)


def test_w14_a_refunded_generation_still_needs_the_credits_to_start(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    ws.generate(at(2027, 1, 2), 0, 1, web_task(book, "gen4.5", seconds=30), refunded=[0])
    assert only(ws, WebWorkspace.GenerationRefused).shortfall == 125


def test_w14_a_disliked_result_is_not_refunded(ledger: Ledger, book: PriceBook) -> None:
    ws = ledger.open_workspace("w", START, book, Plan.STANDARD)
    # A result the user dislikes is a success to the ledger: no refund index, so charged.
    ws.generate(at(2027, 1, 2), 0, 1, TaskSpec("gen4.5", 250, label="disliked"))
    assert ws.balance == 375
