"""Expand usage lines into occurrences, lazily, and order account events.

A year of an hourly line with a few hundred tasks each is millions of tasks,
so nothing here builds a list of tasks: ``occurrences`` yields one
``Occurrence`` (a start, a spacing and a count) per schedule hit, in time
order, and the replay engine pulls them as the simulated clock advances.
Every recurrence and month step comes from python-dateutil; there is no
hand-written calendar arithmetic here.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from dateutil.rrule import DAILY, FR, MO, TH, TU, WE, WEEKLY, rrule, rruleset, rrulestr

from scenarios.schema import Account, Action, Every, UsageLine
from scenarios.uncertain import grown

_MICROSECOND = timedelta(microseconds=1)
_NO_SPACING = timedelta(0)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """``count`` tasks at ``first_at + i * interval`` for i in 0..count-1."""

    first_at: datetime
    interval: timedelta
    count: int
    seconds: int | None = None  # a drawn `seconds` (forecast), else the line's own

    def instants(self) -> Iterator[datetime]:
        for i in range(self.count):
            yield self.first_at + i * self.interval


# The tasks and seconds of one schedule hit: (line index, line, hit instant) -> (count, seconds).
Quantities = Callable[[int, UsageLine, datetime], tuple[int, int | None]]


def typical_quantities(anchor: datetime) -> Quantities:
    """No draws: the line's count (a distribution's typical value), grown from ``anchor``."""

    def quantities(_index: int, line: UsageLine, instant: datetime) -> tuple[int, int | None]:
        return grown(
            int(line.count), line.growth, months_since(line.from_ or anchor, instant)
        ), None

    return quantities


def months_since(anchor: datetime, instant: datetime) -> int:
    """Whole calendar months from ``anchor``'s month to ``instant``'s (growth steps)."""
    return (instant.year - anchor.year) * 12 + instant.month - anchor.month


def occurrences(
    line: UsageLine,
    start: datetime,
    end: datetime,
    *,
    not_before: datetime | None = None,
    quantities: Callable[[UsageLine, datetime], tuple[int, int | None]] | None = None,
) -> Iterator[Occurrence]:
    """The occurrences of ``line`` whose first task falls in [max(start, from), min(end, until)).

    ``start`` and ``end`` are the scenario window; recurrences take their
    phase from ``from`` (or ``start``): the weekday of ``every: week``, the
    day of month of ``every: month``, the DTSTART of an rrule. ``not_before``
    (an account's opening) drops earlier occurrences without moving that phase.
    ``quantities`` gives each hit's count and seconds (default: the line's
    typical count, grown); a hit with no tasks is no occurrence.
    """
    low = max(start, line.from_ or start, not_before or start)
    high = min(end, line.until or end)
    if line.dates is not None:  # dated occurrences, each with its own count
        for instant, count in sorted(line.dates.items()):
            first_at, interval = _spread(line, instant, count)
            if first_at >= high:
                return
            if first_at >= low:
                yield Occurrence(first_at, interval, count)
        return
    typical = typical_quantities(start)
    for instant, first_at, window in _hits(line, line.from_ or start, low, high):
        count, seconds = quantities(line, instant) if quantities else typical(0, line, instant)
        if count > 0:
            yield Occurrence(first_at, _spacing(window, count), count, seconds)


# A schedule's hits depend on the line and the window only, never on a draw: a
# forecast replays the same lines hundreds of times per process, so the hits of a
# line walked to the end of its window are kept (with the line object, so its id
# is not reused). A walk stopped early (validation counting up to its limit) keeps
# nothing, and at most _HITS_KEPT hits are kept in all (about 15 MB): a line
# with more stays lazy, and the memo starts afresh when it would overflow.
_Hit = tuple[datetime, datetime, int]  # (hit instant, first task, spread window in us)
_HITS: dict[tuple[int, datetime, datetime, datetime], tuple[UsageLine, list[_Hit]]] = {}
_HITS_KEPT = 100_000  # an hourly line over eleven years


def _hits(line: UsageLine, anchor: datetime, low: datetime, high: datetime) -> Iterator[_Hit]:
    """The line's schedule hits whose first task falls in [low, high), in order."""
    key = (id(line), anchor, low, high)
    kept = _HITS.get(key)
    if kept is not None and kept[0] is line:
        yield from kept[1]
        return
    found: list[_Hit] | None = []
    for instant in _schedule(line, anchor):
        first_at, window = _window(line, instant)
        if first_at >= high:
            break
        if first_at >= low:
            hit = (instant, first_at, window)
            if found is not None:
                found.append(hit)
                if len(found) > _HITS_KEPT:
                    found = None
            yield hit
    if found is not None:
        if sum(len(hits) for _, hits in _HITS.values()) + len(found) > _HITS_KEPT:
            _HITS.clear()
        _HITS[key] = (line, found)


def usage_occurrences(
    lines: Sequence[UsageLine],
    start: datetime,
    end: datetime,
    *,
    not_before: datetime | None = None,
    quantities: Quantities | None = None,
) -> Iterator[tuple[Occurrence, int, UsageLine]]:
    """All lines' occurrences merged in time order, ties in file order (S04)."""
    per_line = quantities or typical_quantities(start)
    streams = [
        _tagged(
            index,
            line,
            occurrences(
                line, start, end, not_before=not_before, quantities=_bound(per_line, index)
            ),
        )
        for index, line in enumerate(lines)
    ]
    return heapq.merge(*streams, key=lambda item: (item[0].first_at, item[1]))


def _bound(
    quantities: Quantities, index: int
) -> Callable[[UsageLine, datetime], tuple[int, int | None]]:
    return lambda line, instant: quantities(index, line, instant)


def _tagged(
    index: int, line: UsageLine, found: Iterator[Occurrence]
) -> Iterator[tuple[Occurrence, int, UsageLine]]:
    # A function, not a generator expression: those would see the loop's last line.
    for occurrence in found:
        yield occurrence, index, line


def account_actions(account: Account) -> list[tuple[datetime, int, Action]]:
    """An account's one-off actions (the YAML's ``events:`` list) as (at, position in
    the file, action), in time order.

    Several actions at one instant keep the order of the file.
    """
    indexed = [(action.at, index, action) for index, action in enumerate(account.events)]
    return sorted(indexed, key=lambda item: (item[0], item[1]))


def parse_rrule(text: str, dtstart: datetime) -> rrule | rruleset:
    """Read an RFC 5545 rule; a DTSTART inside ``text`` wins over ``dtstart``.

    dateutil insists that UNTIL and DTSTART agree on having a zone, and users
    write UNTIL both ways, so the naive form is tried first and the UTC form
    second. Any failure is a ValueError with dateutil's reason.
    """
    try:
        return rrulestr(text, dtstart=dtstart.replace(tzinfo=None))
    except ValueError as naive_error:
        try:
            return rrulestr(text, dtstart=dtstart)
        except ValueError:
            raise naive_error from None
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError(f"unknown value {exc}") from None


def _schedule(line: UsageLine, anchor: datetime) -> Iterator[datetime]:
    """The instants the line recurs at, from the day of ``anchor``, in order."""
    if line.at is not None:
        return iter((line.at,))
    first = datetime.combine(anchor.date(), line.time or time(), UTC)
    if line.rrule is not None:
        instants = (_as_utc(dt) for dt in parse_rrule(line.rrule, first))
        # With `between` an rrule only picks days: several hits on one day are one.
        return _one_per_day(instants) if line.between else instants
    if line.every is Every.MONTH:
        # W05-style month steps: first + n months, clamped at month end, never chained.
        return (first + relativedelta(months=n) for n in itertools.count())
    if line.every is Every.WEEKDAY:
        return iter(rrule(DAILY, dtstart=first, byweekday=(MO, TU, WE, TH, FR)))
    if line.every is Every.WEEK:
        return iter(rrule(WEEKLY, dtstart=first))
    return iter(rrule(DAILY, dtstart=first))


def _spread(line: UsageLine, instant: datetime, count: int) -> tuple[datetime, timedelta]:
    """First task and spacing: all at ``instant``, or evenly over ``between`` of its day."""
    first_at, window = _window(line, instant)
    return first_at, _spacing(window, count)


def _spacing(window_us: int, count: int) -> timedelta:
    """``count`` tasks spread over a window of ``window_us`` (0: all at one instant),
    in whole microseconds, floor: the last task stays strictly before the window's end."""
    return (window_us // count) * _MICROSECOND if window_us else _NO_SPACING


def _window(line: UsageLine, instant: datetime) -> tuple[datetime, int]:
    """The first task and the length of ``between`` on the hit's day, in microseconds
    (0: every task at ``instant``)."""
    if line.between is None:
        return instant, 0
    day = instant.date()
    first_at = datetime.combine(day, line.between[0], UTC)
    return first_at, (datetime.combine(day, line.between[1], UTC) - first_at) // _MICROSECOND


def _as_utc(instant: datetime) -> datetime:
    """dateutil gives back naive datetimes for a naive DTSTART; those are UTC here."""
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


def _one_per_day(instants: Iterator[datetime]) -> Iterator[datetime]:
    last_day = None
    for instant in instants:
        if instant.date() != last_day:
            last_day = instant.date()
            yield instant
