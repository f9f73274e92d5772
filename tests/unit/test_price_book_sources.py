"""Every price-book figure's confidence mark matches its source (A02, A06, A09, W10).

A figure marked R (Runway) or G (the buying guide) must name the text it was
copied from; a source that says there is none ("assumption", "no source",
"placeholder"...) cannot back it. Every figure marked A is listed in
docs/rules.md, so a user can see every assumption the book makes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.pricing.loader import load_price_book, raw_price_book
from ledger.pricing.models import NO_SOURCE, Confidence, PriceBook

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "docs" / "rules.md"


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return load_price_book()


def marked(book: PriceBook, *confs: Confidence) -> dict[str, str]:
    return {f.path: f.provenance.source for f in book.figures() if f.provenance.conf in confs}


def test_a02_every_figure_marked_r_or_g_names_its_source_text(book: PriceBook) -> None:
    backed = marked(book, Confidence.R, Confidence.G)
    assert len(backed) > 50
    unsourced = {p: s for p, s in backed.items() if not s.strip() or NO_SOURCE.search(s)}
    assert not unsourced, f"figures marked R/G without a source text: {unsourced}"


def test_a02_a_figure_marked_r_without_source_text_fails_the_check() -> None:
    # The check above can fail: mark the Free seat cap (an assumption) as Runway's.
    data = raw_price_book("runway-2026-05")
    data["web"]["plans"]["free"]["figures"]["seat_cap"]["conf"] = "R"
    book = PriceBook.model_validate(data)
    backed = marked(book, Confidence.R)
    assert NO_SOURCE.search(backed["web.plans.free.seat_cap"])


def test_a06_the_tier_limits_are_runways_and_the_limit_groups_an_assumption(
    book: PriceBook,
) -> None:
    marks = {f.path: f.provenance.conf for f in book.figures()}
    tiers = [p for p in marks if p.startswith("api.tiers.") and p.endswith(".limits")]
    assert len(tiers) == 5  # 5 tiers x 5 columns x (concurrency, daily) = 50 values
    assert {marks[p] for p in tiers} == {Confidence.R}
    groups = [p for p in marks if p.endswith(".limit_group")]
    assert groups and {marks[p] for p in groups} == {Confidence.A}


def test_a09_w10_processing_times_explore_flags_and_default_variants_are_assumptions(
    book: PriceBook,
) -> None:
    marks = {f.path: f.provenance.conf for f in book.figures()}
    for name in ("processing_seconds", "explore", "default_variant"):
        paths = [p for p in marks if ".models." in p and p.endswith(f".{name}")]
        assert paths, name
        assert {marks[p] for p in paths} == {Confidence.A}, name
    seconds = [p for p in marks if p.endswith(".processing_seconds")]
    assert len(seconds) == len(book.web.models) + len(book.api.models)


def test_a02_figures_the_buying_guide_states_cite_it(book: PriceBook) -> None:
    marks = {f.path: f.provenance for f in book.figures()}
    for path in (
        "api.models.veo3.1.rates",
        "api.models.veo3.1_fast.rates",
        "api.models.gemini_image3_pro.rates",
        "api.models.gpt_image_2.rates",
        "api.models.gen3a_turbo.rate",
    ):
        assert marks[path].conf is Confidence.G, path
        assert "buying guide" in marks[path].source, path


def test_a02_every_figure_marked_a_is_listed_in_docs_rules(book: PriceBook) -> None:
    text = RULES.read_text(encoding="utf-8")
    missing = [p for p in marked(book, Confidence.A) if f"`{p}`" not in text]
    assert not missing, f"docs/rules.md does not list these assumptions: {missing}"


def test_a02_the_missing_models_are_in_the_book_with_sources(book: PriceBook) -> None:
    for model in ("eleven_text_to_sound_v2", "seedream5_pro", "seedream5_lite"):
        assert model in book.api.models
        assert book.api.models[model].source.strip()
