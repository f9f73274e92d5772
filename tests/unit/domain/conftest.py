"""Fixtures of the domain tests: the real price book and an in-memory ledger."""

from __future__ import annotations

import pytest

from ledger.application import Ledger
from ledger.pricing.loader import load_price_book
from ledger.pricing.models import PriceBook


@pytest.fixture(scope="session")
def book() -> PriceBook:
    return load_price_book()


@pytest.fixture
def ledger() -> Ledger:
    return Ledger("memory", run="t")
