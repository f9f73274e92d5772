"""Each stored event type declares its effects on credits and dollars, once.

The reflection test finds every event class nested in the two aggregates and
asks ``ledger.domain.effects`` for its declaration; a new event type without
one fails here (and every consumer refuses it by name).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from eventsourcing.domain import Aggregate

from ledger.application import Ledger
from ledger.domain.api import ApiOrganization
from ledger.domain.effects import (
    DECLARATIONS,
    NOISE,
    Effects,
    EffectsError,
    Figure,
    Held,
    Move,
    Payment,
    declaration,
    effects_of,
    event_types,
)
from ledger.domain.terms import TaskSpec
from ledger.domain.types import Bucket, GenerationMode, Plan
from ledger.domain.web import WebWorkspace
from ledger.pricing.models import PriceBook
from tests.unit.domain.domain_kit import HOUR_US, at


def nested_events(aggregate: type[Aggregate]) -> set[type]:
    """Every subclass of the aggregate's ``Event`` defined in its body (independently
    of ``event_types``)."""
    return {
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, aggregate.Event)
        and name not in {"Event", "Created"}
    }


def test_every_stored_event_type_declares_its_effects() -> None:
    stored = nested_events(WebWorkspace) | nested_events(ApiOrganization)
    assert len(stored) >= 30
    missing = sorted(t.__qualname__ for t in stored if t not in DECLARATIONS)
    assert missing == []
    assert set(event_types(WebWorkspace, ApiOrganization)) == stored == set(DECLARATIONS)


def test_an_event_type_without_a_declaration_is_refused_by_name() -> None:
    class Probe(Aggregate):
        class Teleported(Aggregate.Event):
            def apply(self, aggregate: Aggregate) -> None:
                pass

    assert event_types(Probe) == [Probe.Teleported]
    assert Probe.Teleported not in DECLARATIONS
    with pytest.raises(EffectsError, match=r"Probe\.Teleported declares no effects"):
        declaration(Probe.Teleported)


def test_each_figure_has_its_movements_and_every_movement_one_figure() -> None:
    assert {m.figure for m in Move} == set(Figure)
    assert Move.USAGE.figure is Figure.CHARGED and Move.REFUND.figure is Figure.REFUNDED
    assert {Move.PURCHASE, Move.REFILL, Move.AUTOBILL} == {
        m for m in Move if m.figure is Figure.BOUGHT
    }


def test_noise_is_declared_bookkeeping_only() -> None:
    assert {
        "batch_at",
        "slots_after",
        "tier_rules",
        "min_purchase_credits",
        "autobill_min_credits",
        "credit_price_usd",
        "enterprise_cap_usd",
    } == NOISE


def test_w14_a_refunded_generation_is_charged_then_given_back_to_its_bucket(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 1), book, Plan.STANDARD)  # 625 plan credits
    ws.purchase_credits(at(2027, 1, 2), 1000)
    # 30 generations of 25: 600 from plan, then the 26th takes the last 25 plan credits and
    # the 27th-30th come from purchased; the 26th (index 25) errors and is refunded.
    ws.generate(at(2027, 1, 3), HOUR_US // 60, 30, TaskSpec("gen4.5", 25), refunded=[25])
    charged = ws.pending_events[-1]
    assert isinstance(charged, WebWorkspace.GenerationCharged)
    effects = effects_of(charged, Held(plan=625, purchased=1000))
    assert effects.total(Figure.CHARGED) == 30 * 25
    assert effects.total(Figure.REFUNDED) == 25
    assert effects.used == 29 * 25 == charged.plan_part + charged.purchased_part
    assert effects.bucket_delta(Bucket.PLAN) == -625
    assert effects.bucket_delta(Bucket.PURCHASED) == -(29 * 25 - 625)


def test_a_run_whose_split_contradicts_its_movements_is_refused(
    ledger: Ledger, book: PriceBook
) -> None:
    ws = ledger.open_workspace("w", at(2027, 1, 1), book, Plan.STANDARD)
    ws.trigger_event(
        WebWorkspace.GenerationCharged,
        timestamp=at(2027, 1, 2),
        model="gen4.5",
        label="",
        mode=GenerationMode.CREDITS,
        first_at=at(2027, 1, 2),
        interval_us=0,
        count=2,
        credits_each=25,
        plan_part=10,  # two generations of 25 keep 50, all from plan (W08)
        purchased_part=0,
        refunded=[],
        safety_failed=[],
        batch_at=at(2027, 1, 2),
    )
    with pytest.raises(EffectsError, match=r"50/0 .* differs from the event's 10/0"):
        effects_of(ws.pending_events[-1], Held(plan=625))


def test_payments_carry_the_credits_they_bought(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", at(2027, 1, 1), book)
    org.purchase_credits(at(2027, 1, 2), 2500)
    bought = org.pending_events[-1]
    effects = effects_of(bought, Held())
    (paid,) = effects.paid
    assert (paid.kind, paid.usd, paid.credits) == (Payment.PURCHASE, Decimal("25.00"), 2500)
    assert effects.total(Figure.BOUGHT) == 2500


def test_the_payments_that_buy_credits_are_the_bought_movements() -> None:
    # The report splits dollars into credits bought and plan/seats by this.
    assert {p.value for p in Payment if p.buys_credits} == {
        m.value for m in Move if m.figure is Figure.BOUGHT
    }


def test_an_imported_opening_balance_is_granted_not_bought(ledger: Ledger, book: PriceBook) -> None:
    org = ledger.open_organization("o", at(2027, 1, 1), book, balance=4_000)
    effects = effects_of(org.pending_events[-1], Held())
    assert [(m.bucket, m.move, m.delta) for m in effects.credits] == [
        (Bucket.CREDITS, Move.OPENING, 4_000)
    ]
    assert effects.total(Figure.GRANTED) == 4_000 and effects.paid == ()


def test_a_deferred_task_is_charged_and_refused_like_any_task() -> None:
    # A08 defer: waiting moves nothing; the resubmission is a charge, its refusal a task's.
    assert declaration(ApiOrganization.TaskDeferred).effects(None, Held()) == Effects()
    assert (
        declaration(ApiOrganization.TaskResubmitted).effects
        is declaration(ApiOrganization.TaskCharged).effects
    )
    assert "batch_at" in declaration(ApiOrganization.TaskResubmitted).noise
