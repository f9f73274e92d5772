"""Frozen models of a price book and the cost of one task (W09, A02).

A generation costs ``rate(model, surface catalogue) x units x outputs``; the
web and API catalogues are separate objects (S01), so a web estimate can never
be priced from the API table by accident.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ledger.domain.types import Plan, Surface, Tier


class PricingError(ValueError):
    """A question the price book cannot answer (an unknown model, a missing variant)."""


class DurationError(PricingError):
    """A duration the model does not accept (the API rejects the task)."""


class Confidence(Enum):
    R = "R"  # stated by Runway
    G = "G"  # stated in the buying guide
    THIRD_PARTY = "3P"  # only third-party pages
    A = "A"  # an assumption of the simulator


class Meter(Enum):
    SECOND = "second"  # seconds of video, audio or avatar session
    IMAGE = "image"  # per image, by resolution/quality variant
    CHARACTERS = "characters"  # speech, per `unit` characters
    GENERATION = "generation"  # a flat price per task


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Provenance(_Frozen):
    source: str
    conf: Confidence


class _Sourced(_Frozen):
    """An entry with a source and confidence, and per-figure exceptions."""

    source: str
    conf: Confidence
    figures: dict[str, Provenance] = Field(default_factory=dict)

    def provenance(
        self, figure: str, defaults: Mapping[str, Provenance] | None = None
    ) -> Provenance:
        """The figure's own mark, else the surface's mark for that figure, else the entry's."""
        if figure in self.figures:
            return self.figures[figure]
        if defaults and figure in defaults:
            return defaults[figure]
        return Provenance(source=self.source, conf=self.conf)


# A source that says it is none cannot back a figure marked R or G.
NO_SOURCE = re.compile(
    r"no source|assum|placeholder|presum|not published|no runway|lost|guess", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of a price book, by dotted path (as overrides name it), with its mark."""

    path: str
    value: object
    provenance: Provenance


class Usage(_Frozen):
    """What one task asks for, in the units of the model's meter."""

    seconds: int | None = None
    characters: int | None = None
    resolution: str | None = None
    quality: str | None = None
    audio: bool | None = None
    outputs: int = 1


class _ModelBase(_Sourced):
    meter: Meter
    rate: int | None = None
    rates: dict[str, int] | None = None
    default_variant: str | None = None
    unit: int = 1
    min_charge: int = 0
    processing_seconds: int = 60
    durations: list[int] | None = None  # seconds the API accepts for one output, if limited

    @model_validator(mode="after")
    def _one_rate(self) -> _ModelBase:
        if (self.rate is None) == (self.rates is None):
            raise ValueError("a model has exactly one of `rate` or `rates`")
        if (
            self.rates is not None
            and self.default_variant is not None
            and self.default_variant not in self.rates
        ):
            raise ValueError(f"default_variant {self.default_variant!r} is not in rates")
        if self.unit < 1:
            raise ValueError("unit must be at least 1")
        if self.durations is not None and self.meter is not Meter.SECOND:
            raise ValueError("durations apply to models priced per second")
        return self

    def check_usage(self, usage: Usage) -> None:
        """What the API would reject before pricing: a duration the model does not make.

        Scenario checks call it (the validator, and the replay before a line's first
        task); ``cost`` does not, so a what-if estimate can still price any length.
        """
        if usage.seconds is not None and self.meter is Meter.SECOND:
            self.check_duration(usage.seconds)

    def check_duration(self, seconds: int) -> None:
        """A task of a duration the model does not accept is refused by the API."""
        allowed = self.durations
        if allowed is None or seconds in allowed:
            return
        span = sorted(allowed)
        if span == list(range(span[0], span[-1] + 1)) and len(span) > 2:
            shown = f"{span[0]} to {span[-1]} seconds"
        else:
            shown = ", ".join(str(d) for d in span[:-1]) + f" or {span[-1]} seconds"
            shown = shown if len(span) > 1 else f"{span[0]} seconds"
        raise DurationError(f"this model makes videos of {shown}, not {seconds}")

    def variant(self, usage: Usage) -> str | None:
        """The key into `rates` this usage selects (None for a flat rate)."""
        if self.rates is None:
            return None
        if "audio" in self.rates or "silent" in self.rates:
            if usage.audio is None:
                return self.default_variant
            return "audio" if usage.audio else "silent"
        quality, resolution = usage.quality, usage.resolution
        keys = self.rates.keys()
        if any("/" in k for k in keys):
            default_q, _, default_r = (self.default_variant or "/").partition("/")
            key = f"{quality or default_q}/{(resolution or default_r).lower()}"
        else:
            key = (resolution or quality or self.default_variant or "").lower()
        if key not in self.rates:
            raise PricingError(f"no rate for {key!r}; known: {', '.join(sorted(keys))}")
        return key

    def rate_for(self, usage: Usage) -> int:
        if self.rates is None:
            assert self.rate is not None
            return self.rate
        key = self.variant(usage)
        assert key is not None
        return self.rates[key]

    def units(self, usage: Usage) -> int:
        """Billable units of one output: whole `unit` steps, rounded up (assumption)."""
        if self.meter is Meter.SECOND:
            if usage.seconds is None:
                raise PricingError("this model is priced per second: give `seconds`")
            return math.ceil(usage.seconds / self.unit)
        if self.meter is Meter.CHARACTERS:
            if usage.characters is None:
                raise PricingError("this model is priced per characters: give `characters`")
            return math.ceil(usage.characters / self.unit)
        return 1

    def cost(self, usage: Usage) -> int:
        """Credits for one task (W09 on web, A02 on API)."""
        per_output = max(self.min_charge, self.rate_for(usage) * self.units(usage))
        return per_output * usage.outputs

    def processing_time(self, usage: Usage) -> int:
        """Seconds one task keeps a concurrency slot busy (A09, an assumption)."""
        return self.processing_seconds


class WebModel(_ModelBase):
    explore: bool = False  # W10: eligible for Explore Mode on Unlimited


class ApiModel(_ModelBase):
    limit_group: Literal["video_partner", "video", "image", "audio", "other"]


class WebPlanSpec(_Sourced):
    credits: int
    refresh: Literal["never", "monthly", "contract"]
    monthly_usd: Decimal
    annual_usd: Decimal
    seat_cap: int
    can_buy: bool
    explore: bool
    auto_refill: bool

    def seat_price(self, annual: bool) -> Decimal:
        """W02: the price of one editor for one paid period (a month or a year)."""
        return self.annual_usd if annual else self.monthly_usd


class ModelLimit(_Frozen):
    concurrency: int
    daily: int


class TierSpec(_Sourced):
    unlock_usd: Decimal
    min_days_since_first_purchase: int
    monthly_cap_usd: Decimal
    limits: dict[str, ModelLimit]


class WebSurface(_Sourced):
    credit_price_usd: Decimal
    min_purchase_credits: int
    enterprise_in_app_cap_usd: Decimal
    plans: dict[Plan, WebPlanSpec]
    models: dict[str, WebModel]
    # The mark of a model figure no model entry gives itself (explore, processing_seconds...).
    model_figures: dict[str, Provenance] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_plan(self) -> WebSurface:
        missing = [p.value for p in Plan if p not in self.plans]
        if missing:
            raise ValueError(f"plans missing from the price book: {', '.join(missing)}")
        return self


class ApiSurface(_Sourced):
    credit_price_usd: Decimal
    min_purchase_credits: int
    autobill_min_credits: int
    tiers: dict[Tier, TierSpec]
    models: dict[str, ApiModel]
    model_figures: dict[str, Provenance] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _tiers_complete(self) -> ApiSurface:
        missing = [str(t.value) for t in Tier if t not in self.tiers]
        if missing:
            raise ValueError(f"tiers missing from the price book: {', '.join(missing)}")
        for model_id, model in self.models.items():
            for tier, spec in self.tiers.items():
                if model.limit_group not in spec.limits:
                    raise ValueError(
                        f"tier {tier.value} has no limits for group {model.limit_group!r} "
                        f"(model {model_id})"
                    )
        return self


class PriceBook(_Frozen):
    id: str
    effective: date
    currency: Literal["USD"] = "USD"
    web: WebSurface
    api: ApiSurface

    def web_model(self, model_id: str) -> WebModel:
        try:
            return self.web.models[model_id]
        except KeyError:
            raise PricingError(_unknown_model(model_id, Surface.WEB, self.web.models)) from None

    def api_model(self, model_id: str) -> ApiModel:
        try:
            return self.api.models[model_id]
        except KeyError:
            raise PricingError(_unknown_model(model_id, Surface.API, self.api.models)) from None

    def model(self, surface: Surface, model_id: str) -> WebModel | ApiModel:
        return self.web_model(model_id) if surface is Surface.WEB else self.api_model(model_id)

    def plan(self, plan: Plan) -> WebPlanSpec:
        return self.web.plans[plan]

    def tier(self, tier: Tier) -> TierSpec:
        return self.api.tiers[tier]

    def limit(self, tier: Tier, model_id: str) -> ModelLimit:
        """A06: per-model concurrency and 24 h generations at a tier."""
        return self.api.tiers[tier].limits[self.api_model(model_id).limit_group]

    def figures(self) -> Iterator[Figure]:
        """Every figure the simulator uses, with the source and confidence that back it."""
        web, api = self.web, self.api
        for name in ("credit_price_usd", "min_purchase_credits", "enterprise_in_app_cap_usd"):
            yield Figure(f"web.{name}", getattr(web, name), web.provenance(name))
        for name in ("credit_price_usd", "min_purchase_credits", "autobill_min_credits"):
            yield Figure(f"api.{name}", getattr(api, name), api.provenance(name))
        for plan, spec in web.plans.items():
            for name in _PLAN_FIGURES:
                path = f"web.plans.{plan.value}.{name}"
                yield Figure(path, getattr(spec, name), spec.provenance(name))
        for tier, tier_spec in api.tiers.items():
            for name in _TIER_FIGURES:
                path = f"api.tiers.{tier.value}.{name}"
                yield Figure(path, getattr(tier_spec, name), tier_spec.provenance(name))
        for side, models, defaults in (
            ("web", web.models, web.model_figures),
            ("api", api.models, api.model_figures),
        ):
            for model_id, model in models.items():
                for name in _model_figures(model):
                    path = f"{side}.models.{model_id}.{name}"
                    yield Figure(path, getattr(model, name), model.provenance(name, defaults))


_PLAN_FIGURES = (
    "credits",
    "refresh",
    "monthly_usd",
    "annual_usd",
    "seat_cap",
    "can_buy",
    "explore",
    "auto_refill",
)
_TIER_FIGURES = ("unlock_usd", "min_days_since_first_purchase", "monthly_cap_usd", "limits")


def _model_figures(model: WebModel | ApiModel) -> list[str]:
    names = ["rate" if model.rate is not None else "rates"]
    if model.meter in (Meter.SECOND, Meter.CHARACTERS) and model.unit != 1:
        names.append("unit")
    if model.min_charge:
        names.append("min_charge")
    if model.default_variant is not None:
        names.append("default_variant")
    if model.durations is not None:
        names.append("durations")
    names.append("processing_seconds")
    names.append("explore" if isinstance(model, WebModel) else "limit_group")
    return names


def _unknown_model(model_id: str, surface: Surface, known: Mapping[str, object]) -> str:
    return f"unknown {surface.value} model {model_id!r}; the price book knows: " + ", ".join(
        sorted(known)
    )
