"""Uncertain inputs: distributions for a usage line's ``count`` and ``seconds``.

A usage line may give ``count`` or ``seconds`` as a distribution instead of a
number (docs/forecasting.md)::

    count: 12                                  # fixed (as in every v1 file)
    count: {fixed: 12}
    count: {uniform: [8, 16]}                  # whole numbers 8..16, equally likely
    count: {poisson: 12}                       # Poisson with mean 12
    count: {normal: {mean: 12, sd: 3}}         # rounded, clipped at 0 (seconds: at 1)
    count: {choice: {10: 3, 20: 1}}            # value: weight

The field's value is then an ``Uncertain``: an ``int`` (the typical value,
what commands that do not sample use: the mean rounded half up, for a choice
the weighted mean) that carries its ``Distribution``. ``forecast`` draws a
value per occurrence from ``Stream``, a counter-based SplitMix64 generator
keyed by the sample's seed and the occurrence (never global state), so the
same seed gives the same draws on any machine, in any process, in any order.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any, Protocol

MAX_VALUE = 10_000_000  # the largest count or seconds a distribution may produce
KINDS = ("fixed", "uniform", "poisson", "normal", "choice")
_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_TWO_TO_MINUS_53 = 2.0**-53


# ------------------------------------------------------------------ the generator


def derive_key(*parts: object) -> int:
    """A 64-bit key from text parts (sha256): the same on every machine and Python."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class Stream:
    """SplitMix64 (Steele, Lea, Flood 2014): 64-bit integer arithmetic only, so portable."""

    __slots__ = ("_state",)

    def __init__(self, key: int) -> None:
        self._state = key & _MASK

    def next64(self) -> int:
        self._state = (self._state + _GOLDEN) & _MASK
        z = self._state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        return z ^ (z >> 31)

    def uniform(self) -> float:
        """A float in [0, 1) with 53 random bits."""
        return (self.next64() >> 11) * _TWO_TO_MINUS_53

    def below(self, n: int) -> int:
        """An integer in [0, n), without modulo bias (rejection)."""
        if n <= 1:
            return 0
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            x = self.next64()
            if x < limit:
                return x % n


# ------------------------------------------------------------------ distributions


def _half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))


class Distribution(Protocol):
    def typical(self) -> Decimal: ...

    def draw(self, stream: Stream) -> int: ...

    def spec(self) -> Any: ...

    def bounds(self) -> tuple[int, int | None]: ...


@dataclass(frozen=True, slots=True)
class Fixed:
    value: int

    def typical(self) -> Decimal:
        return Decimal(self.value)

    def draw(self, stream: Stream) -> int:
        return self.value

    def spec(self) -> Any:
        return {"fixed": self.value}

    def bounds(self) -> tuple[int, int | None]:
        return self.value, self.value


@dataclass(frozen=True, slots=True)
class Uniform:
    low: int
    high: int

    def typical(self) -> Decimal:
        return (Decimal(self.low) + Decimal(self.high)) / 2

    def draw(self, stream: Stream) -> int:
        return self.low + stream.below(self.high - self.low + 1)

    def spec(self) -> Any:
        return {"uniform": [self.low, self.high]}

    def bounds(self) -> tuple[int, int | None]:
        return self.low, self.high


@dataclass(frozen=True, slots=True)
class Poisson:
    mean: Decimal

    def typical(self) -> Decimal:
        return self.mean

    def draw(self, stream: Stream) -> int:
        return poisson(float(self.mean), stream)

    def spec(self) -> Any:
        return {"poisson": _number(self.mean)}

    def bounds(self) -> tuple[int, int | None]:
        return 0, None


@dataclass(frozen=True, slots=True)
class Normal:
    mean: Decimal
    sd: Decimal
    floor: int  # clipped here: 0 for a count, 1 for seconds

    def typical(self) -> Decimal:
        return max(self.mean, Decimal(self.floor))

    def draw(self, stream: Stream) -> int:
        # Box-Muller; 1 - u is in (0, 1], so the logarithm is finite.
        u1, u2 = stream.uniform(), stream.uniform()
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        value = float(self.mean) + float(self.sd) * z
        return max(self.floor, min(MAX_VALUE, round(value)))

    def spec(self) -> Any:
        return {"normal": {"mean": _number(self.mean), "sd": _number(self.sd)}}

    def bounds(self) -> tuple[int, int | None]:
        return self.floor, None


@dataclass(frozen=True, slots=True)
class Choice:
    values: tuple[int, ...]
    weights: tuple[Decimal, ...]

    def typical(self) -> Decimal:
        total = sum(self.weights, Decimal(0))
        return (
            sum(
                (Decimal(v) * w for v, w in zip(self.values, self.weights, strict=True)), Decimal(0)
            )
            / total
        )

    def draw(self, stream: Stream) -> int:
        cumulative = []
        running = Decimal(0)
        for weight in self.weights:
            running += weight
            cumulative.append(float(running))
        return self.values[
            min(bisect_right(cumulative, stream.uniform() * cumulative[-1]), len(self.values) - 1)
        ]

    def spec(self) -> Any:
        return {"choice": {v: _number(w) for v, w in zip(self.values, self.weights, strict=True)}}

    def bounds(self) -> tuple[int, int | None]:
        return min(self.values), max(self.values)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def poisson(mean: float, stream: Stream) -> int:
    """A Poisson draw: inversion below a mean of 10, PTRS (Hörmann 1993) above."""
    if mean <= 0:
        return 0
    if mean < 10:
        k = 0
        p = math.exp(-mean)
        cumulative = p
        u = stream.uniform()
        while u > cumulative and k < MAX_VALUE:
            k += 1
            p *= mean / k
            cumulative += p
            if p == 0.0:  # the tail underflowed: u sits in the last ulp
                break
        return k
    slam = math.sqrt(mean)
    loglam = math.log(mean)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    while True:
        u = stream.uniform() - 0.5
        v = stream.uniform()
        us = 0.5 - abs(u)
        k = math.floor((2 * a / us + b) * u + mean + 0.43) if us > 0 else -1
        if us >= 0.07 and v <= vr:
            return min(k, MAX_VALUE)
        if k < 0 or (us < 0.013 and v > us):
            continue
        if v > 0 and (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)) <= (
            -mean + k * loglam - math.lgamma(k + 1)
        ):
            return min(k, MAX_VALUE)


# ------------------------------------------------------------------ the field value


class Uncertain(int):
    """An int field given as a distribution: the int is its typical value."""

    distribution: Distribution

    def __new__(cls, distribution: Distribution, typical: int) -> Uncertain:
        made = super().__new__(cls, typical)
        made.distribution = distribution
        return made

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (self.distribution, int(self))

    def __repr__(self) -> str:
        return f"Uncertain({self.distribution!r}, typical={int(self)})"


def is_uncertain(value: object) -> bool:
    return isinstance(value, Uncertain) and not isinstance(value.distribution, Fixed)


def parse(raw: object, name: str, floor: int) -> int:
    """A field's number or distribution; ValueError says what is wrong and how to write it.

    ``floor``: the smallest value allowed (1 for a plain count or seconds; a
    count's distribution may draw 0, an occurrence with no tasks).
    """
    if isinstance(raw, bool):
        raise ValueError(f"{name} must be a whole number or a distribution (got {raw!r})")
    if isinstance(raw, int):
        return _whole(raw, name, 1)
    if isinstance(raw, float) and raw.is_integer():
        return _whole(int(raw), name, 1)
    if not isinstance(raw, dict):
        raise ValueError(
            f"{name} must be a whole number or a distribution like {{poisson: 12}} "
            f"(one of {', '.join(KINDS)}; got {raw!r})"
        )
    if len(raw) != 1 or next(iter(raw)) not in KINDS:
        keys = ", ".join(str(k) for k in raw) or "nothing"
        raise ValueError(
            f"{name} as a distribution takes exactly one of {', '.join(KINDS)} (got {keys})"
        )
    kind, arg = next(iter(raw.items()))
    where = f"{name}.{kind}"
    dist: Distribution
    if kind == "fixed":
        dist = Fixed(_whole(arg, where, floor))
    elif kind == "uniform":
        if not isinstance(arg, list | tuple) or len(arg) != 2:
            raise ValueError(f"{where} must be a pair [low, high] of whole numbers (got {arg!r})")
        low, high = _whole(arg[0], where, floor), _whole(arg[1], where, floor)
        if high < low:
            raise ValueError(f"{where}: high ({high}) must be at least low ({low})")
        dist = Uniform(low, high)
    elif kind == "poisson":
        mean = _amount(arg, f"{where} (the mean)", Decimal(0))
        dist = Poisson(mean)
    elif kind == "normal":
        if not isinstance(arg, dict) or set(arg) != {"mean", "sd"}:
            raise ValueError(f"{where} must be {{mean: M, sd: S}} (got {arg!r})")
        dist = Normal(
            _amount(arg["mean"], f"{where}.mean", Decimal(-MAX_VALUE)),
            _amount(arg["sd"], f"{where}.sd", Decimal(0)),
            floor=max(floor, 0),
        )
    else:
        if not isinstance(arg, dict) or not arg:
            raise ValueError(f"{where} must map values to weights, like {{10: 3, 20: 1}}")
        values = tuple(_whole(v, f"{where} (a value)", floor) for v in arg)
        weights = tuple(_amount(w, f"{where}.{v} (a weight)", Decimal(0)) for v, w in arg.items())
        if not any(weights):
            raise ValueError(f"{where}: at least one weight must be above 0")
        dist = Choice(values, weights)
    typical = max(floor, _half_up(dist.typical()))
    return Uncertain(dist, typical)


def _whole(value: object, name: str, floor: int) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number (got {value!r})")
    if value < floor:
        raise ValueError(f"{name} must be at least {floor} (got {value})")
    if value > MAX_VALUE:
        raise ValueError(f"{name} must be at most {MAX_VALUE:,} (got {value})")
    return value


def _amount(value: object, name: str, floor: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} must be a number (got {value!r})")
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if not amount.is_finite():
        raise ValueError(f"{name} must be a finite number (got {value!r})")
    if amount < floor:
        raise ValueError(f"{name} must be at least {floor} (got {value})")
    if amount > MAX_VALUE:
        raise ValueError(f"{name} must be at most {MAX_VALUE:,} (got {value})")
    return amount


def grown(value: int, growth: Decimal | None, months: int) -> int:
    """``value`` after ``months`` of compound monthly ``growth``, rounded half to even."""
    if not growth or months <= 0 or value == 0:
        return value
    factor = (Decimal(1) + growth) ** months
    result = (Decimal(value) * factor).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(0, min(MAX_VALUE, int(result)))
