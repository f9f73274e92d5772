"""Usage lines expand lazily into occurrences, in time order, inside their window."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from scenarios import schedule
from scenarios.schedule import Occurrence, account_actions, occurrences, usage_occurrences
from scenarios.schema import UsageLine, Workspace

START = datetime(2027, 1, 1, tzinfo=UTC)
END = datetime(2028, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def line(**fields: Any) -> UsageLine:
    return UsageLine.model_validate({"model": "gen4_turbo", "seconds": 5, **fields})


def firsts(usage: UsageLine, start: datetime = START, end: datetime = END) -> list[datetime]:
    return [o.first_at for o in occurrences(usage, start, end)]


def test_a_line_at_one_instant_is_one_occurrence_of_count_tasks_at_that_instant() -> None:
    found = list(occurrences(line(at="2027-02-15T10:00", count=10), START, END))

    assert found == [Occurrence(utc(2027, 2, 15, 10), timedelta(0), 10)]
    assert list(found[0].instants()) == [utc(2027, 2, 15, 10)] * 10


def test_a_line_at_an_instant_outside_the_window_never_occurs() -> None:
    assert firsts(line(at="2028-01-01")) == []


def test_every_day_recurs_at_its_time_of_day() -> None:
    found = firsts(line(every="day", time="10:00"), end=utc(2027, 1, 4))

    assert found == [utc(2027, 1, 1, 10), utc(2027, 1, 2, 10), utc(2027, 1, 3, 10)]


def test_every_weekday_skips_weekends() -> None:
    # 2027-01-01 is a Friday.
    found = firsts(line(every="weekday", time="09:00"), end=utc(2027, 1, 12))

    assert [d.day for d in found] == [1, 4, 5, 6, 7, 8, 11]
    assert all(d.weekday() < 5 for d in found)


def test_every_week_keeps_the_weekday_of_from() -> None:
    found = firsts(line(every="week", **{"from": "2027-01-06"}), end=utc(2027, 2, 1))

    assert found == [utc(2027, 1, 6), utc(2027, 1, 13), utc(2027, 1, 20), utc(2027, 1, 27)]


def test_every_month_on_the_31st_clamps_to_month_end_and_returns_to_the_31st() -> None:
    found = firsts(line(every="month", time="08:00", **{"from": "2027-01-31"}))

    assert found[:5] == [
        utc(2027, 1, 31, 8),
        utc(2027, 2, 28, 8),
        utc(2027, 3, 31, 8),
        utc(2027, 4, 30, 8),
        utc(2027, 5, 31, 8),
    ]
    assert len(found) == 12


def test_every_month_on_the_29th_falls_on_february_29_in_a_leap_year() -> None:
    found = firsts(
        line(every="month", **{"from": "2028-01-29"}), start=utc(2028, 1, 1), end=utc(2028, 4, 1)
    )

    assert found == [utc(2028, 1, 29), utc(2028, 2, 29), utc(2028, 3, 29)]


def test_an_rrule_starts_at_from_or_the_scenario_start() -> None:
    found = firsts(line(rrule="FREQ=MONTHLY;BYMONTHDAY=1"), end=utc(2027, 4, 1))

    assert found == [utc(2027, 1, 1), utc(2027, 2, 1), utc(2027, 3, 1)]


def test_an_rrule_takes_the_time_of_day_from_time() -> None:
    found = firsts(line(rrule="FREQ=WEEKLY;BYDAY=MO,TH", time="14:30"), end=utc(2027, 1, 12))

    assert found == [utc(2027, 1, 4, 14, 30), utc(2027, 1, 7, 14, 30), utc(2027, 1, 11, 14, 30)]


def test_an_rrule_with_its_own_dtstart_still_works() -> None:
    rule = "DTSTART:20270301T120000\nRRULE:FREQ=DAILY;COUNT=3"

    assert firsts(line(rrule=rule)) == [
        utc(2027, 3, 1, 12),
        utc(2027, 3, 2, 12),
        utc(2027, 3, 3, 12),
    ]


def test_an_rrule_may_end_with_an_until_in_utc() -> None:
    found = firsts(line(rrule="FREQ=DAILY;UNTIL=20270103T000000Z"))

    assert found == [utc(2027, 1, 1), utc(2027, 1, 2), utc(2027, 1, 3)]


def test_between_spreads_the_count_evenly_and_stays_inside_that_part_of_the_day() -> None:
    usage = line(every="day", between=["09:00", "17:00"], count=400)

    first = next(occurrences(usage, START, END))

    assert first == Occurrence(utc(2027, 1, 1, 9), timedelta(seconds=72), 400)
    tasks = list(first.instants())
    assert len(tasks) == 400
    assert tasks[-1] == utc(2027, 1, 1, 16, 58) + timedelta(seconds=48)


def test_between_rounds_the_spacing_down_to_whole_microseconds() -> None:
    usage = line(every="day", between=["00:00", "01:00"], count=7)

    first = next(occurrences(usage, START, END))

    assert first.interval == timedelta(microseconds=514_285_714)  # 3,600,000,000 // 7
    assert max(first.instants()) < utc(2027, 1, 1, 1)


def test_between_on_an_rrule_picks_days_and_counts_a_day_once() -> None:
    usage = line(rrule="FREQ=HOURLY;BYHOUR=8,9", between=["10:00", "12:00"], count=2)

    found = list(itertools.islice(occurrences(usage, START, END), 2))

    assert [o.first_at for o in found] == [utc(2027, 1, 1, 10), utc(2027, 1, 2, 10)]
    assert found[0].interval == timedelta(hours=1)


def test_from_is_inclusive_and_until_is_exclusive() -> None:
    usage = line(every="day", **{"from": "2027-03-01", "until": "2027-03-04"})

    assert firsts(usage) == [utc(2027, 3, 1), utc(2027, 3, 2), utc(2027, 3, 3)]


def test_occurrences_before_the_from_instant_on_its_first_day_are_dropped() -> None:
    usage = line(every="day", time="09:00", **{"from": "2027-03-01T12:00", "until": "2027-03-03"})

    assert firsts(usage) == [utc(2027, 3, 2, 9)]


def test_not_before_drops_occurrences_without_moving_the_weekly_phase() -> None:
    usage = line(every="week")  # Fridays: 2027-01-01 is one

    found = occurrences(usage, START, utc(2027, 2, 1), not_before=utc(2027, 1, 12))

    assert [o.first_at for o in found] == [utc(2027, 1, 15), utc(2027, 1, 22), utc(2027, 1, 29)]


def test_expansion_is_lazy_even_for_a_rule_with_millions_of_hits() -> None:
    found = occurrences(line(rrule="FREQ=SECONDLY"), START, END)

    assert isinstance(found, Iterator)
    assert [o.first_at for o in itertools.islice(found, 3)] == [
        START,
        START + timedelta(seconds=1),
        START + timedelta(seconds=2),
    ]


def test_lines_merge_in_time_order_and_ties_keep_file_order() -> None:
    lines = [line(every="day", time="10:00"), line(every="day"), line(every="day", time="10:00")]

    merged = list(itertools.islice(usage_occurrences(lines, START, END), 4))

    assert [(o.first_at, index) for o, index, _ in merged] == [
        (utc(2027, 1, 1), 1),
        (utc(2027, 1, 1, 10), 0),
        (utc(2027, 1, 1, 10), 2),
        (utc(2027, 1, 2), 1),
    ]


def test_account_actions_are_in_time_order_and_ties_keep_file_order() -> None:
    workspace = Workspace.model_validate(
        {
            "id": "w",
            "plan": "standard",
            "subscribed": "2027-01-01",
            "events": [
                {"at": "2027-03-01", "buy": 2000},
                {"at": "2027-02-01", "change_plan": "pro"},
                {"at": "2027-03-01", "add_editor": "ben"},
            ],
        }
    )

    actions = account_actions(workspace)

    assert [(at.month, index) for at, index, _ in actions] == [(2, 1), (3, 0), (3, 2)]


@given(
    count=st.integers(min_value=1, max_value=5000),
    start_minute=st.integers(min_value=0, max_value=22 * 60),
    length=st.integers(min_value=1, max_value=60 * 60),
)
def test_between_tasks_are_evenly_spaced_inside_their_window(
    count: int, start_minute: int, length: int
) -> None:
    end_minute = min(start_minute + length, 23 * 60 + 59)
    window = [f"{m // 60:02d}:{m % 60:02d}" for m in (start_minute, end_minute)]
    usage = line(every="day", between=window, count=count)

    first = next(occurrences(usage, START, END))
    tasks = list(first.instants())

    day = first.first_at.date()
    assert tasks[0] == datetime.combine(day, time(start_minute // 60, start_minute % 60), UTC)
    assert tasks[-1] < datetime.combine(day, time(end_minute // 60, end_minute % 60), UTC)
    assert len({b - a for a, b in itertools.pairwise(tasks)}) <= 1


def test_a_lines_hits_are_kept_once_walked_whole_and_a_walk_stopped_early_keeps_nothing() -> None:
    """Forecast samples replay the same lines: the hits of a line walked to the end
    of its window are kept, and a walk stopped early (validate's counting) is not."""
    schedule._HITS.clear()
    usage = line(every="day", between=["09:00", "17:00"], count=8)
    head = list(itertools.islice(occurrences(usage, START, END), 3))
    assert schedule._HITS == {}  # stopped after 3 hits: nothing kept
    whole = list(occurrences(usage, START, END))
    assert whole[:3] == head and len(whole) == 365
    assert len(schedule._HITS) == 1  # walked to the end: kept
    again = list(occurrences(usage, START, END))
    assert again == whole  # the kept hits give the same occurrences
    other = line(every="day", between=["09:00", "17:00"], count=8)  # equal, another object
    assert list(occurrences(other, START, END)) == whole
    assert len(schedule._HITS) == 2


def test_a_line_with_more_hits_than_the_memo_holds_stays_lazy() -> None:
    schedule._HITS.clear()
    minutely = line(rrule="FREQ=MINUTELY", count=1)
    found = sum(1 for _ in occurrences(minutely, START, START + timedelta(days=80)))
    assert found == 80 * 24 * 60 > schedule._HITS_KEPT
    assert schedule._HITS == {}
