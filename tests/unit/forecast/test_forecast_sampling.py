"""Uncertain inputs: reproducible draws, typical values, growth, chances (docs/forecasting.md)."""

from __future__ import annotations

import math
import pickle
import statistics
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scenarios.draws import Draws
from scenarios.loader import load_scenario_text
from scenarios.schema import UsageLine
from scenarios.uncertain import (
    Choice,
    Normal,
    Poisson,
    Stream,
    Uncertain,
    Uniform,
    derive_key,
    grown,
    parse,
    poisson,
)

JAN = datetime(2027, 1, 1, tzinfo=UTC)


def test_the_generator_is_splitmix64_so_every_machine_draws_the_same_numbers() -> None:
    # The published SplitMix64 outputs for seed 0 (Vigna's reference splitmix64.c).
    stream = Stream(0)

    assert [stream.next64() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


def test_keys_come_from_sha256_of_the_parts_not_from_python_hash() -> None:
    assert derive_key("forecast", 7, 0) == derive_key("forecast", 7, 0)
    assert derive_key("forecast", 7, 0) == int.from_bytes(
        bytes.fromhex(__import__("hashlib").sha256(b"forecast\x1f7\x1f0").hexdigest())[:8], "big"
    )
    assert derive_key("forecast", 7, 0) != derive_key("forecast", 7, 1)


def test_the_same_seed_gives_the_same_draws_and_another_seed_other_draws() -> None:
    dist = Poisson(Decimal(40))

    first = [dist.draw(Stream(derive_key(1, k))) for k in range(50)]
    again = [dist.draw(Stream(derive_key(1, k))) for k in range(50)]
    other = [dist.draw(Stream(derive_key(2, k))) for k in range(50)]

    assert first == again
    assert first != other


@pytest.mark.parametrize("mean", [0.5, 4.0, 12.0, 250.0])
def test_poisson_draws_have_the_mean_and_variance_of_a_poisson(mean: float) -> None:
    draws = [poisson(mean, Stream(derive_key("p", mean, k))) for k in range(20_000)]

    # 20,000 draws: the sample mean is within 5 standard errors of the mean.
    assert abs(statistics.fmean(draws) - mean) < 5 * math.sqrt(mean / 20_000)
    assert abs(statistics.pvariance(draws) / mean - 1) < 0.06


def test_uniform_normal_and_choice_stay_in_range_with_the_right_centre() -> None:
    uniform = [Uniform(3, 6).draw(Stream(derive_key("u", k))) for k in range(8000)]
    normal = [
        Normal(Decimal(2), Decimal(5), floor=0).draw(Stream(derive_key("n", k)))
        for k in range(8000)
    ]
    choice = [
        Choice((10, 20), (Decimal(3), Decimal(1))).draw(Stream(derive_key("c", k)))
        for k in range(8000)
    ]

    assert set(uniform) == {3, 4, 5, 6}
    assert abs(statistics.fmean(uniform) - 4.5) < 0.05
    assert min(normal) == 0  # clipped at 0, never negative
    assert abs(choice.count(10) / 8000 - 0.75) < 0.02
    assert set(choice) == {10, 20}


def test_a_number_stays_a_plain_number_and_a_distribution_has_a_typical_value() -> None:
    assert type(parse(12, "count", 0)) is int
    poisson_count = parse({"poisson": 2.5}, "count", 0)
    choice = parse({"choice": {10: 3, 20: 1}}, "count", 0)
    normal_seconds = parse({"normal": {"mean": -3, "sd": 2}}, "seconds", 1)

    assert isinstance(poisson_count, Uncertain)
    assert poisson_count == 3  # 2.5 rounded half up
    assert choice == 13  # weighted mean 12.5
    assert normal_seconds == 1  # seconds never go below 1
    assert pickle.loads(pickle.dumps(poisson_count)).distribution == Poisson(Decimal("2.5"))


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"gamma": 3}, "takes exactly one of fixed, uniform, poisson, normal, choice (got gamma)"),
        ({"uniform": [5, 2]}, "count.uniform: high (2) must be at least low (5)"),
        ({"poisson": -1}, "count.poisson (the mean) must be at least 0 (got -1)"),
        ({"normal": {"mean": 3}}, "count.normal must be {mean: M, sd: S}"),
        ({"choice": {}}, "count.choice must map values to weights"),
        ({"choice": {5: 0}}, "at least one weight must be above 0"),
        ("many", "count must be a whole number or a distribution like {poisson: 12}"),
    ],
)
def test_a_bad_distribution_says_what_is_wrong(raw: object, says: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(raw, "count", 0)

    assert says in str(caught.value)


def test_growth_compounds_monthly_and_rounds_half_to_even() -> None:
    assert grown(10, Decimal("0.1"), 0) == 10
    assert grown(10, Decimal("0.1"), 2) == 12  # 12.1
    assert grown(100, Decimal("-0.5"), 1) == 50
    assert grown(5, Decimal("0.1"), 1) == 6  # 5.5 -> 6 (even)
    assert grown(3, Decimal("0.5"), 1) == 4  # 4.5 -> 4 (even)


def _line(**fields: object) -> UsageLine:
    return UsageLine.model_validate({"every": "day", "model": "gen4_turbo", **fields})


def test_typical_draws_use_the_typical_value_grown_and_samples_draw_per_hit() -> None:
    line = _line(count={"poisson": 20}, seconds=5, growth=0.5)
    typical = Draws().quantities("a", JAN)
    sampled = Draws(99).quantities("a", JAN)
    march = datetime(2027, 3, 1, 10, tzinfo=UTC)

    assert typical(0, line, JAN) == (20, None)
    assert typical(0, line, march) == (45, None)  # 20 x 1.5^2
    assert sampled(0, line, march) == sampled(0, line, march)
    assert sampled(0, line, march) != sampled(0, line, JAN) or sampled(1, line, JAN) != sampled(
        0, line, JAN
    )
    assert [sampled(0, line, datetime(2027, 1, d, tzinfo=UTC))[0] for d in range(1, 20)] != [
        20
    ] * 19


def test_an_event_with_a_probability_happens_in_plain_runs_when_at_least_even() -> None:
    plain, sample = Draws(), Draws(5)

    assert plain.happens("a", 0, 0.5) and not plain.happens("a", 0, 0.49)
    assert plain.happens("a", 0, 1.0) and not sample.happens("a", 0, 0.0)
    chances = [Draws(seed).happens("a", 0, 0.3) for seed in range(4000)]
    assert abs(sum(chances) / 4000 - 0.3) < 0.03


BAD = """\
version: 1
name: bad
start: 2027-01-01
end: 2027-02-01
organizations:
  - id: product
    usage:
      - {every: day, model: gen4_turbo, seconds: 5, count: {uniform: [9, 3]}}
      - {every: day, model: gen4_turbo, seconds: {normal: {mean: 5}}}
      - {every: day, model: gen4_turbo, seconds: 5, growth: -2}
    events:
      - {at: 2027-01-02, buy: 1000, probability: 1.5}
"""


def test_bad_distribution_input_names_the_line_and_field_of_each_mistake() -> None:
    from scenarios.errors import ScenarioError

    with pytest.raises(ScenarioError) as caught:
        load_scenario_text(BAD, filename="bad.yaml")

    found = {(p.line, p.field) for p in caught.value.problems}
    assert (8, "organizations[0].usage[0].count") in found
    assert (9, "organizations[0].usage[1].seconds") in found
    assert (10, "organizations[0].usage[2].growth") in found
    assert (12, "organizations[0].events[0].probability") in found
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert "bad.yaml, line 8, organizations[0].usage[0].count: count.uniform: high (3)" in messages
