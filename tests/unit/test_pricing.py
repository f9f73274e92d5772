"""The price book as data: it loads, every figure has a source, overrides work by
dotted path (model ids have dots), and the web and API catalogues differ (S01)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel

from ledger.domain.types import Plan, Tier
from ledger.pricing.loader import apply_override, bundled_ids, load_price_book, raw_price_book
from ledger.pricing.models import Confidence, Meter, PriceBook, PricingError, Provenance, Usage
from ledger.pricing.models import _Sourced as Sourced

PROVENANCE_FIELDS = {"source", "conf", "figures"}


def sourced_entries(node: Any, path: str = "") -> list[tuple[str, Sourced]]:
    """Every entry of the book that carries a source and confidence, with its path."""
    found: list[tuple[str, Sourced]] = []
    if isinstance(node, Sourced):
        found.append((path, node))
    if isinstance(node, BaseModel):
        for name in type(node).model_fields:
            if name not in PROVENANCE_FIELDS:
                found += sourced_entries(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, dict):
        for key, value in node.items():
            label = key.value if hasattr(key, "value") else key
            found += sourced_entries(value, f"{path}.{label}")
    return found


def test_the_bundled_price_book_loads() -> None:
    book = load_price_book()
    assert (book.id, book.effective, book.currency) == ("runway-2026-05", date(2026, 5, 26), "USD")
    assert "runway-2026-05" in bundled_ids()
    assert set(book.web.plans) == set(Plan)
    assert set(book.api.tiers) == set(Tier)


def test_an_unknown_price_book_lists_the_bundled_ones() -> None:
    with pytest.raises(PricingError, match="runway-2026-05"):
        load_price_book("runway-1999-01")


def test_every_figure_has_a_source_and_a_confidence_mark() -> None:
    book = load_price_book()
    entries = sourced_entries(book)
    assert len(entries) > 40  # surfaces, plans, tiers and models
    for path, entry in entries:
        figures = [n for n in type(entry).model_fields if n not in PROVENANCE_FIELDS]
        # A per-figure exception must name a real figure, or it would be silently unused.
        assert set(entry.figures) <= set(figures), f"{path}: unknown figures {entry.figures}"
        for figure in figures:
            provenance = entry.provenance(figure)
            assert isinstance(provenance, Provenance)
            assert provenance.source.strip(), f"{path}.{figure} has no source"
            assert isinstance(provenance.conf, Confidence)


def test_figures_carry_their_own_confidence_where_it_differs() -> None:
    book = load_price_book()
    standard = book.plan(Plan.STANDARD)
    assert standard.provenance("credits").conf is Confidence.R
    assert standard.provenance("monthly_usd").conf is Confidence.THIRD_PARTY
    assert standard.provenance("annual_usd").conf is Confidence.G
    assert book.plan(Plan.FREE).provenance("seat_cap").conf is Confidence.A
    assert book.web_model("gen4.5").provenance("rate").conf is Confidence.THIRD_PARTY


def test_a_dotted_override_reaches_a_model_id_with_dots() -> None:
    book = load_price_book(overrides={"web.models.gen4.5.rate": 30})
    assert book.web_model("gen4.5").rate == 30
    assert book.api_model("gen4.5").rate == 12  # the other catalogue is untouched
    assert load_price_book().web_model("gen4.5").rate == 25  # the bundled book is untouched


@pytest.mark.parametrize(
    ("dotted", "value", "read"),
    [
        ("api.models.veo3.1.rates.silent", 25, lambda b: b.api_model("veo3.1").rates["silent"]),
        ("api.tiers.1.monthly_cap_usd", "150", lambda b: b.tier(Tier.T1).monthly_cap_usd),
        ("web.plans.standard.credits", 700, lambda b: b.plan(Plan.STANDARD).credits),
        (
            "api.models.gemini_image3.1_flash.rates.4k",
            18,
            lambda b: b.api_model("gemini_image3.1_flash").rates["4k"],
        ),
        ("web.min_purchase_credits", 2000, lambda b: b.web.min_purchase_credits),
    ],
)
def test_dotted_overrides_set_one_figure(dotted: str, value: Any, read: Any) -> None:
    book = load_price_book(overrides={dotted: value})
    got = read(book)
    assert got == (Decimal(value) if isinstance(got, Decimal) else value)


def test_an_override_of_an_unknown_path_lists_what_is_known() -> None:
    with pytest.raises(PricingError) as err:
        load_price_book(overrides={"web.models.gen9.rate": 1})
    assert "gen9" in str(err.value)
    assert "gen4.5" in str(err.value)


def test_an_override_below_a_figure_is_an_error() -> None:
    data = raw_price_book("runway-2026-05")
    with pytest.raises(PricingError, match="is a figure, not a group"):
        apply_override(data, "web.models.gen4.5.rate.deeper", 1)


def test_an_override_that_replaces_a_group_with_a_figure_is_an_error() -> None:
    with pytest.raises(PricingError, match=r"invalid at web\.models\.gen4\.5"):
        load_price_book(overrides={"web.models.gen4.5": 30})


def test_an_override_that_breaks_the_book_is_reported_with_its_place() -> None:
    with pytest.raises(PricingError, match="invalid at"):
        load_price_book(overrides={"web.plans.pro.credits": "lots"})


@pytest.mark.parametrize("surface", ["web", "api"])
def test_an_unknown_model_is_an_error_that_lists_the_known_ones(surface: str) -> None:
    book = load_price_book()
    lookup = book.web_model if surface == "web" else book.api_model
    with pytest.raises(PricingError) as err:
        lookup("gen9")
    message = str(err.value)
    assert "gen9" in message
    known = book.web.models if surface == "web" else book.api.models
    assert all(model in message for model in known)


def test_s01_the_web_and_api_catalogues_differ() -> None:
    book = load_price_book()
    assert book.web_model("gen4.5").rate == 25
    assert book.api_model("gen4.5").rate == 12
    assert set(book.web.models) != set(book.api.models)
    assert "veo3" in book.api.models and "veo3" not in book.web.models
    assert book.web_model("gen4_image").rates == {"720p": 8, "1080p": 8}
    assert book.api_model("gen4_image").rates == {"720p": 5, "1080p": 8}


def test_per_unit_meters_round_up_to_whole_units() -> None:
    speech = load_price_book().api_model("eleven_multilingual_v2")  # 1 per 50 characters
    assert speech.meter is Meter.CHARACTERS
    assert [speech.cost(Usage(characters=n)) for n in (1, 50, 51, 100, 101)] == [1, 1, 2, 2, 3]


def test_a_model_priced_per_second_needs_seconds() -> None:
    with pytest.raises(PricingError, match="seconds"):
        load_price_book().api_model("gen4.5").cost(Usage())


def test_a_missing_variant_lists_the_known_ones() -> None:
    with pytest.raises(PricingError, match="1080p"):
        load_price_book().api_model("gen4_image").cost(Usage(resolution="8k"))


def test_the_price_book_is_frozen() -> None:
    book: PriceBook = load_price_book()
    with pytest.raises(Exception, match="frozen"):
        book.web.models["gen4.5"].rate = 1  # type: ignore[misc]
