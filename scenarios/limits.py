"""Input limits of scenario and workload files: what ``validate`` accepts, ``run`` completes.

Kept apart from the schema and the rules on purpose: these are bounds on
size, not on meaning, and docs/scenario-format.md ("Limits") lists them.

- ``check_values``: every number of the raw file, by the field it sits in
  (credits, seconds, counts, dollars, price-book overrides), within its
  maximum (the schema holds the minimum of each field, so a mistake is never
  reported twice), price-book overrides non-negative; ``true`` or
  ``false`` where a number is expected is refused (YAML would read it as 1
  or 0); a number anywhere else stays within ``MAX_ANY_NUMBER``.
- ``check_window``: the scenario's window within ``FIRST_INSTANT`` and
  ``LAST_INSTANT`` (month and year steps past 9999 would overflow).
- ``check_occurrences``: each recurring usage line, and the whole file, yield
  at most ``MAX_OCCURRENCES_PER_LINE`` / ``MAX_OCCURRENCES`` occurrences in
  the window and ``MAX_TASKS`` tasks; an rrule that cannot advance
  (``INTERVAL=0``), recurs every second, or whose DTSTART is after the window
  is an error on its line.

The YAML-level limits (file size, depth, aliases) are in
``ledger.pricing.yaml_limits``, shared with price-book files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any

from dateutil.rrule import (
    DAILY,
    HOURLY,
    MINUTELY,
    MONTHLY,
    SECONDLY,
    WEEKLY,
    YEARLY,
    rrule,
    rruleset,
)

from scenarios.errors import DataPath, Problem
from scenarios.schedule import occurrences, parse_rrule
from scenarios.schema import UsageLine
from scenarios.source import SourceMap

MAX_CREDITS = 1_000_000_000  # a billion credits: ten million dollars and more
MAX_DOLLARS = 10_000_000
MAX_ANY_NUMBER = 10**12
MAX_OVERRIDE = 10**9  # any figure of the price book (rates, prices, limits)
MAX_SECONDS = 3_600  # of one generation
MAX_CHARACTERS = 1_000_000
MAX_COUNT = 100_000  # tasks per occurrence
MAX_OUTPUTS = 100
MAX_CARD_FAILS = 1_000
MAX_EDITORS = 10_000
MAX_SEED = 2**63 - 1

MAX_OCCURRENCES_PER_LINE = 100_000  # an hourly line for eleven years
MAX_OCCURRENCES = 500_000  # every line of the file together
MAX_TASKS = 50_000_000  # occurrences times count, the whole file

# The shortest span of one step of each frequency (a month: 28 days, a year: 365).
_PERIOD = {
    YEARLY: timedelta(days=365),
    MONTHLY: timedelta(days=28),
    WEEKLY: timedelta(days=7),
    DAILY: timedelta(days=1),
    HOURLY: timedelta(hours=1),
    MINUTELY: timedelta(minutes=1),
    SECONDLY: timedelta(seconds=1),
}

FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LAST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)

# field name -> (least, greatest)
_CREDIT_FIELDS = (
    "buy",
    "threshold",
    "amount",
    "trigger",
    "contract_credits",
    "plan",
    "purchased",
    "balance",
    "forfeited_total",
    "refused",
)
BOUNDS: dict[str, tuple[int, int]] = dict.fromkeys(_CREDIT_FIELDS, (0, MAX_CREDITS))
BOUNDS |= {
    "balance_between": (-MAX_CREDITS, MAX_CREDITS),  # checked both ways: no schema bound
    "amount_usd": (0, MAX_DOLLARS),
    "monthly_max_usd": (0, MAX_DOLLARS),
    "usd_spent": (0, MAX_DOLLARS * 100),
    "seconds": (0, MAX_SECONDS),
    "characters": (0, MAX_CHARACTERS),
    "count": (0, MAX_COUNT),
    "outputs": (0, MAX_OUTPUTS),
    "card_fails": (0, MAX_CARD_FAILS),
    "editors": (0, MAX_EDITORS),
    "seed": (-MAX_SEED - 1, MAX_SEED),
}
_BOTH_WAYS = frozenset({"balance_between", "seed"})  # fields the schema leaves unbounded
_OVERRIDES = "overrides"


def check_values(data: Any, src: SourceMap) -> list[Problem]:
    """Every number of the raw file within its bounds (see the module docstring)."""
    return [src.problem(path, message) for path, message in _value_problems(data, ())]


def _value_problems(value: Any, path: DataPath) -> Iterator[tuple[DataPath, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _value_problems(item, (*path, str(key)))
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _value_problems(item, (*path, index))
        return
    field = _field(path)
    if isinstance(value, bool):
        if field in BOUNDS:
            yield path, f"{field} must be a number, not {str(value).lower()}"
        return
    if not isinstance(value, int | float | Decimal):
        return
    if isinstance(value, float) and not math.isfinite(value):
        yield path, f"{value} is not a number this tool can count with"
        return
    if path and path[0] == _OVERRIDES:
        if value < 0:
            yield path, f"a price-book figure cannot be negative (got {value})"
        elif value > MAX_OVERRIDE:
            yield path, f"a price-book figure is at most {MAX_OVERRIDE:,} (got {_big(value)})"
        return
    low, high = BOUNDS.get(field, (-MAX_ANY_NUMBER, MAX_ANY_NUMBER))
    if value > high:
        yield path, f"{field or 'a number'} is at most {high:,} (got {_big(value)})"
    elif value < low and (field not in BOUNDS or field in _BOTH_WAYS):
        # other fields' minimum is the schema's to report (never twice)
        yield path, f"{field or 'a number'} is at least {low:,} (got {_big(value)})"


def _field(path: DataPath) -> str:
    """The name of the field a value sits in (a list item: its list's name)."""
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return ""


def _big(value: int | float | Decimal) -> str:
    text = f"{value:,}" if isinstance(value, int) else str(value)
    return text if len(text) <= 30 else f"{text[:12]}...({len(text)} digits)"


def check_window(start: datetime, end: datetime, src: SourceMap) -> list[Problem]:
    problems = []
    for name, instant in (("start", start), ("end", end)):
        if not FIRST_INSTANT <= instant <= LAST_INSTANT:
            problems.append(
                src.problem(
                    (name,),
                    f"{name} ({instant.date().isoformat()}) is outside the supported dates, "
                    f"{FIRST_INSTANT.date().isoformat()} to {LAST_INSTANT.date().isoformat()}",
                )
            )
    return problems


def check_occurrences(
    lines: Sequence[tuple[DataPath, UsageLine, datetime | None]],
    start: datetime,
    end: datetime,
    src: SourceMap,
) -> list[Problem]:
    """Occurrences of every usage line (path, line, account opening) within the limits."""
    problems: list[Problem] = []
    total = tasks = 0
    for path, line, opening in lines:
        if line.rrule is not None:
            if not _readable(line, start):
                continue  # reported by the rule checks (scenarios.validate)
            rule_problem = _rule_problem(line, start, end)
            if rule_problem is not None:
                problems.append(src.problem((*path, "rrule"), rule_problem))
                continue
        try:
            found = sum(
                1
                for _ in islice(
                    occurrences(line, start, end, not_before=opening),
                    MAX_OCCURRENCES_PER_LINE + 1,
                )
            )
        except (ValueError, OverflowError) as exc:
            problems.append(src.problem(path, f"this schedule cannot be expanded ({exc})"))
            continue
        if found > MAX_OCCURRENCES_PER_LINE:
            problems.append(
                src.problem(
                    path,
                    f"this line recurs more than {MAX_OCCURRENCES_PER_LINE:,} times in the "
                    "window; use count or between for many tasks per occurrence",
                )
            )
            continue
        total += found
        tasks += found * line.count
    if not problems and total > MAX_OCCURRENCES:
        problems.append(
            src.problem(
                (),
                f"the usage lines recur {total:,} times in all, more than {MAX_OCCURRENCES:,}",
            )
        )
    if not problems and tasks > MAX_TASKS:
        problems.append(
            src.problem((), f"the usage lines ask for {tasks:,} tasks, more than {MAX_TASKS:,}")
        )
    return problems


def _readable(line: UsageLine, start: datetime) -> bool:
    assert line.rrule is not None
    try:
        parse_rrule(line.rrule, line.from_ or start)
    except ValueError:
        return False
    return True


def _rule_problem(line: UsageLine, start: datetime, end: datetime) -> str | None:
    """Why an rrule cannot be expanded within the limits, or None."""
    assert line.rrule is not None
    try:
        rule = parse_rrule(line.rrule, line.from_ or start)
    except ValueError:
        return None  # reported by the rule checks (scenarios.validate)
    # dateutil keeps the parsed fields private; vars() reads them without a type error.
    rules = vars(rule).get("_rrule", []) if isinstance(rule, rruleset) else [rule]
    for one in rules:
        if not isinstance(one, rrule):
            continue
        fields = vars(one)
        if fields["_interval"] < 1:
            return "INTERVAL must be at least 1: an rrule with INTERVAL=0 never advances"
        if fields["_freq"] == SECONDLY:
            return "FREQ=SECONDLY is finer than any schedule needs: use MINUTELY or coarser"
        first: datetime = fields["_dtstart"]
        first = first if first.tzinfo else first.replace(tzinfo=UTC)
        step = _PERIOD[fields["_freq"]] * fields["_interval"]
        if first < start and (start - first) / step > MAX_OCCURRENCES_PER_LINE:
            return (
                f"its DTSTART ({first.date().isoformat()}) is so long before the window that "
                f"reaching it takes more than {MAX_OCCURRENCES_PER_LINE:,} steps of the rule: "
                "start it nearer the window (or leave DTSTART out)"
            )
        if first >= end:
            return (
                f"its DTSTART ({first.isoformat()}) is after the scenario's window: "
                "the line would never occur"
            )
    return None
