"""Break-even search: the volume scale, the probe grid and the bisection."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ledger.tools.decide.breakeven import breakeven, find_switches, grid_counts, main_line, scaled
from scenarios.loader import load_workload, load_workload_text

AGENCY = Path(__file__).parents[3] / "scenarios" / "examples" / "workload-agency-social.yaml"


def test_the_grid_halves_down_to_one_task_and_doubles_twice() -> None:
    assert grid_counts(6) == (1, 2, 3, 6, 12, 24)
    # Halving 2,000 rounds 62.5 up to 63 and 31.5 up to 32.
    assert grid_counts(2000) == (1, 2, 4, 8, 16, 32, 63, 125, 250, 500, 1000, 2000, 4000, 8000)
    assert grid_counts(1) == (1, 2, 4)


def test_bisection_finds_every_change_down_to_neighbouring_counts() -> None:
    calls: list[int] = []

    def label(k: int) -> str:
        calls.append(k)
        return "a" if k < 37 else ("b" if k < 41 else "c")

    # One grid interval [16, 64] holds two changes: both are found.
    assert find_switches(label, (1, 16, 64, 128)) == [(36, 37), (40, 41)]
    assert find_switches(lambda k: "same", (1, 2, 4)) == []
    assert len(set(calls)) < 64  # bisected, not scanned


def test_the_main_line_is_the_one_with_most_tasks_in_its_own_unit() -> None:
    loaded = load_workload(AGENCY)

    main = main_line(loaded.workload, loaded.price_book)

    # Drafts: 6 a weekday, 261 weekdays in 2027 = 1,566 tasks; finals 522.
    assert (main.index, main.model, main.unit, main.count) == (0, "gen4_turbo", "seconds", 6)
    # 261 x 6 clips x 10 s / 12 months = 1,305 seconds a month.
    assert main.volume(6) == Decimal("1305.0")
    assert main.volume(11) == Decimal("2392.5")


def test_scaling_moves_every_line_in_step_and_never_below_one_task() -> None:
    loaded = load_workload(AGENCY)
    main = main_line(loaded.workload, loaded.price_book)

    def counts(k: int) -> list[int]:
        return [line.count for line in scaled(loaded.workload, main, k).usage]

    # Finals are 2 for 6 drafts: a third of the drafts, rounded half up.
    assert counts(6) == [6, 2]
    assert counts(11) == [11, 4]  # 11 / 3 = 3.67
    assert counts(10) == [10, 3]  # 3.33
    assert counts(1) == [1, 1]  # 0.33 would be no finals: one task stays
    assert loaded.workload.usage[1].count == 2  # the workload itself is untouched


def test_a_workload_where_the_api_always_wins_has_no_track_switch() -> None:
    # One 5-second clip a day, 25 credits on both surfaces, one editor, a quarter.
    text = (
        "version: 1\nkind: workload\nname: tiny\nstart: 2027-01-01\nend: 2027-04-01\n"
        "usage:\n  - {every: day, time: '10:00', model: gen4_turbo, seconds: 5, count: 2}\n"
    )
    loaded = load_workload_text(text)

    report = breakeven(loaded.workload, loaded.price_book, explore=False)

    # The API pays credits only; every web route adds seats for the same
    # credits, so the API is the cheapest at every count (1, 2, 4, 8).
    assert report.grid == (1, 2, 4, 8)
    assert [s for s in report.switches if s.question == "track"] == []
    assert report.winners["track"] == ("api", "api")
    assert set(report.curves) == {r.id for r in report.families}
