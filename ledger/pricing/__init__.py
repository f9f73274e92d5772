"""The price book as data: dated Runway figures with their sources.

``models`` holds the frozen pydantic models and the cost functions (no I/O);
``loader`` reads a bundled or user YAML file and applies dotted-path overrides.
"""

from ledger.pricing.models import (
    ApiModel,
    Confidence,
    Meter,
    PriceBook,
    PricingError,
    TierSpec,
    Usage,
    WebModel,
    WebPlanSpec,
)

__all__ = [
    "ApiModel",
    "Confidence",
    "Meter",
    "PriceBook",
    "PricingError",
    "TierSpec",
    "Usage",
    "WebModel",
    "WebPlanSpec",
]
