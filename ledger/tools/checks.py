"""Checking a finished run against its scenario's ``expect`` block.

Every expectation field becomes one ``ExpectationResult`` value (beancount's
habit: checks return values, so one run reports every failure): what was
expected, what the run says, where the expectation sits in the file and, when
it fails, the last events of the account before the instant asked about.

Where each figure comes from:

* ``plan``, ``purchased``, ``balance``, ``tier``, ``balance_between``: the
  fold of the account's events stamped at or before ``at`` (S05,
  ``Ledger.balances_at``), inside a grouped run of tasks included;
* ``forfeited_total``, ``refused`` (optionally of one ``reason``),
  ``usd_spent``: sums over ``[from, at]`` in the run's DuckDB projection.
  ``refused`` counts every row of the ``refusals`` table (generations and
  tasks one by one, purchases, plan changes, editors, members, keys); a
  refused run of tasks that straddles ``from`` or ``at`` counts only its
  tasks inside the interval.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ledger.application import Balances, Ledger
from ledger.audit import describe_event, holdings
from ledger.domain.errors import DomainError
from ledger.domain.runs import tasks_at_or_before, tasks_before
from ledger.domain.time import to_us, utc
from ledger.tools.runs import RunInfo, run_scenario
from projections import queries
from scenarios.loader import LoadedScenario, load_scenario
from scenarios.schema import Expectation

RECENT_EVENTS = 5  # audit lines shown under a failing expectation

SUM_FIELDS = ("forfeited_total", "refused", "usd_spent")
CHECKED_FIELDS = ("plan", "purchased", "balance", "tier", *SUM_FIELDS, "balance_between")

Figure = int | Decimal | tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    """One field of one expectation, checked against a finished run."""

    index: int  # the expectation's position in `expect`
    field: str  # plan | purchased | balance | tier | forfeited_total | refused | ...
    expected: Figure
    actual: Figure  # None when the account did not exist yet at `at`
    passed: bool
    at: datetime
    account: str
    file: str
    line: int | None
    from_: datetime | None = None  # sums only: the start of the interval
    reason: str | None = None  # `refused` narrowed to one refusal reason
    note: str = ""  # why there is no actual figure, when there is none
    recent: tuple[str, ...] = ()  # audit lines of the account before `at`, on failure

    @property
    def label(self) -> str:
        """``refused[daily_limit]`` for a narrowed count, else the field name."""
        return f"{self.field}[{self.reason}]" if self.reason else self.field

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    @property
    def name(self) -> str:
        """A test-case name: account, instant and field."""
        return f"{self.account} {self.label} at {_show(self.at)}"

    @property
    def difference(self) -> int | Decimal | None:
        """actual - expected, for a number; None for a range or a missing figure."""
        exp, act = self.expected, self.actual
        if isinstance(exp, tuple) or isinstance(act, tuple) or exp is None or act is None:
            return None
        return act - exp

    def headline(self) -> str:
        span = f"from {_show(self.from_)} to" if self.from_ is not None else "at"
        what = f"expect[{self.index}] {self.account} {self.label}"
        return f"{self.where}: {what} {span} {_show(self.at)}"

    def describe(self) -> str:
        """A few lines a person can act on: expected vs actual, where, what happened."""
        verdict = "ok  " if self.passed else "FAIL"
        lines = [f"{verdict} {self.headline()}"]
        lines.append(f"     expected: {_figure(self.expected)}")
        actual = _figure(self.actual) if self.actual is not None else f"none ({self.note})"
        diff = self.difference
        if diff is not None and diff != 0:
            actual += f"  (difference {_signed(diff)})"
        lines.append(f"     actual:   {actual}")
        if self.recent:
            lines.append(f"     last {len(self.recent)} event(s) of {self.account} up to then:")
            lines.extend(f"       {line}" for line in self.recent)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "field": self.field,
            "reason": self.reason,
            "account": self.account,
            "at": utc(self.at).isoformat(),
            "from": utc(self.from_).isoformat() if self.from_ is not None else None,
            "expected": _json(self.expected),
            "actual": _json(self.actual),
            "passed": self.passed,
            "file": self.file,
            "line": self.line,
            "note": self.note or None,
            "recent_events": list(self.recent),
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every expectation of one scenario against one run."""

    file: str
    name: str
    results: tuple[ExpectationResult, ...]
    skipped: tuple[int, ...] = ()  # expectations after the instant the run stopped at
    stopped_at: datetime | None = None

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> tuple[ExpectationResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def summary(self) -> str:
        failed = len(self.failures)
        total = len(self.results)
        verdict = "all hold" if failed == 0 else f"{failed} failed"
        text = f"{self.file}: {total} expectation field(s), {verdict}"
        if self.skipped:
            stop = _show(self.stopped_at) if self.stopped_at else "the stop"
            text += f"; {len(self.skipped)} expectation(s) after {stop} not evaluated"
        return text

    def text(self) -> str:
        """The summary line, then every failure described."""
        return "\n".join([self.summary(), *(r.describe() for r in self.failures)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "passed": self.passed,
            "expectations": len(self.results),
            "failures": len(self.failures),
            "skipped": list(self.skipped),
            "results": [r.as_dict() for r in self.results],
        }


# ------------------------------------------------------------------ evaluating


def check_scenario(scenario_path: str | Path, run_dir: str | Path | None = None) -> CheckReport:
    """Replay a scenario file into ``run_dir`` and check its expectations.

    Paths as ``str`` or ``Path``. Raises ``ScenarioError`` (nothing written)
    for bad input, like ``run``.
    """
    path = Path(scenario_path)
    loaded = load_scenario(path)
    info = run_scenario(path, Path(run_dir) if run_dir is not None else None, loaded=loaded)
    return evaluate(info, loaded)


def evaluate(info: RunInfo, loaded: LoadedScenario, recent: int = RECENT_EVENTS) -> CheckReport:
    """Check every expectation of ``loaded`` against the finished run ``info``."""
    ledger = info.ledger()
    con = queries.connect(info.duckdb_path)
    try:
        checker = _Checker(ledger, con, loaded, recent)
        stop = utc(info.until) if info.until is not None else None
        results: list[ExpectationResult] = []
        skipped: list[int] = []
        for index, expectation in enumerate(loaded.scenario.expect):
            if stop is not None and expectation.at > stop:
                skipped.append(index)
                continue
            results.extend(checker.check(index, expectation))
    finally:
        con.close()
        ledger.close()
    return CheckReport(
        file=loaded.path,
        name=loaded.scenario.name,
        results=tuple(results),
        skipped=tuple(skipped),
        stopped_at=stop,
    )


@dataclass
class _Checker:
    ledger: Ledger
    con: queries.Connection
    loaded: LoadedScenario
    recent: int
    _balances: dict[tuple[str, datetime], Balances | str] = field(default_factory=dict)

    def check(self, index: int, exp: Expectation) -> Iterator[ExpectationResult]:
        for name in CHECKED_FIELDS:
            expected = getattr(exp, name)
            if expected is None:
                continue
            if name == "tier":
                expected = int(expected)
            actual, note = self._actual(name, exp)
            passed = self._holds(name, expected, actual)
            yield ExpectationResult(
                index=index,
                field=name,
                expected=expected,
                actual=actual,
                passed=passed,
                at=exp.at,
                account=exp.account,
                file=self.loaded.path,
                line=self.loaded.line_of(("expect", index, name)),
                from_=exp.from_ if name in SUM_FIELDS else None,
                reason=exp.reason.value if name == "refused" and exp.reason else None,
                note=note,
                recent=() if passed else self._recent(exp.account, exp.at),
            )

    def _recent(self, account: str, at: datetime) -> tuple[str, ...]:
        return tuple(recent_events(self.ledger, account, at, self.recent))

    @staticmethod
    def _holds(name: str, expected: Figure, actual: Figure) -> bool:
        if actual is None:
            return False
        if name == "balance_between":
            assert isinstance(expected, tuple) and isinstance(actual, int)
            low, high = expected
            return low <= actual <= high
        return actual == expected

    def _actual(self, name: str, exp: Expectation) -> tuple[Figure, str]:
        if name in SUM_FIELDS:
            return self._sum(name, exp), ""
        found = self._balances_at(exp.account, exp.at)
        if isinstance(found, str):
            return None, found
        key = "balance" if name == "balance_between" else name
        value = getattr(found, key)
        return (int(value) if value is not None else None), ""

    def _balances_at(self, account: str, at: datetime) -> Balances | str:
        cached = self._balances.get((account, at))
        if cached is None:
            try:
                cached = self.ledger.balances_at(account, at)
            except DomainError as exc:
                cached = str(exc).split(" (rule ")[0]
            self._balances[(account, at)] = cached
        return cached

    def _sum(self, name: str, exp: Expectation) -> int | Decimal:
        since, until = utc(exp.from_), utc(exp.at)
        if name == "forfeited_total":
            return queries.forfeited_between(self.con, exp.account, since, until)
        if name == "usd_spent":
            return queries.usd_between(self.con, exp.account, since, until)
        reason = exp.reason.value if exp.reason else None
        rows = queries.refusal_runs_between(self.con, exp.account, since, until, reason)
        return count_between(rows, to_us(since), to_us(until))


def count_between(rows: Iterable[tuple[int, int, int]], since_us: int, until_us: int) -> int:
    """Refused items of runs (count, first us, last us) that happened in [since, until]."""
    total = 0
    for count, first, last in rows:
        interval = (last - first) // (count - 1) if count > 1 else 0
        done = tasks_at_or_before(first, interval, count, until_us)
        before = tasks_before(first, interval, count, since_us)
        total += max(0, done - before)
    return total


# ------------------------------------------------------------------ audit lines


def recent_events(
    ledger: Ledger, account: str, at: datetime, limit: int = RECENT_EVENTS
) -> list[str]:
    """The last ``limit`` events of ``account`` stamped at or before ``at``, with the
    balances after each; a run of tasks still going on at ``at`` is shown last."""
    at = utc(at)
    kept: deque[str] = deque(maxlen=limit)
    aggregate: Any = None
    try:
        events = list(ledger.iter_account_events(account))
    except DomainError:
        return []
    for index, event in enumerate(events):
        if event.timestamp > at:
            # Runs of one batch overlap in time: every one begun by then is in progress.
            for later in events[index:]:
                batch_at = getattr(later, "batch_at", None)
                if batch_at is None or utc(batch_at) > at:
                    break
                if getattr(later, "first_at", None) is None:
                    continue  # a top-up made inside the batch (A04): not a run
                first_at = utc(later.first_at)
                if first_at <= at:
                    count = later.count
                    done = tasks_at_or_before(to_us(first_at), later.interval_us, count, to_us(at))
                    kept.append(
                        f"{describe_event(later)}  | in progress: {done} of {count} by then"
                    )
            break
        aggregate = event.mutate(aggregate)
        kept.append(f"{describe_event(event)}  | {holdings(aggregate)}")
    return list(kept)


# ------------------------------------------------------------------ JUnit XML


def junit_xml(reports: Sequence[CheckReport]) -> ET.ElementTree[ET.Element | None]:
    """One testsuite per scenario, one testcase per expectation field."""
    root = ET.Element("testsuites", name="credit-ledger check")
    total = failed = 0
    for report in reports:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=report.name,
            file=report.file,
            tests=str(len(report.results)),
            failures=str(len(report.failures)),
            errors="0",
            skipped=str(len(report.skipped)),
        )
        total += len(report.results)
        failed += len(report.failures)
        classname = Path(report.file).stem
        for result in report.results:
            case = ET.SubElement(suite, "testcase", classname=classname, name=result.name)
            case.set("file", report.file)
            if result.line is not None:
                case.set("line", str(result.line))
            if not result.passed:
                failure = ET.SubElement(
                    case,
                    "failure",
                    type="ExpectationFailed",
                    message=(
                        f"{result.where}: {result.account} {result.label}: "
                        f"expected {_figure(result.expected)}, got "
                        f"{_figure(result.actual) if result.actual is not None else 'none'}"
                    ),
                )
                failure.text = result.describe()
        for index in report.skipped:
            case = ET.SubElement(suite, "testcase", classname=classname, name=f"expect[{index}]")
            ET.SubElement(case, "skipped", message="after the instant the run stopped at")
    root.set("tests", str(total))
    root.set("failures", str(failed))
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


def write_junit(reports: Sequence[CheckReport], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_xml(reports).write(path, encoding="utf-8", xml_declaration=True)


# ------------------------------------------------------------------ formatting


def _show(at: datetime | None) -> str:
    if at is None:
        return ""
    text = utc(at).isoformat()
    return text.removesuffix(":00+00:00").removesuffix("T00:00")


def _figure(value: Figure) -> str:
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return f"between {value[0]:,} and {value[1]:,}"
    if isinstance(value, Decimal):
        return f"${value:,.2f}"
    return f"{value:,}"


def _signed(value: int | Decimal) -> str:
    if isinstance(value, Decimal):
        sign = "+" if value >= 0 else "-"
        return f"{sign}${abs(value):,.2f}"
    return f"{value:+,}"


def _json(value: Figure) -> Any:
    if isinstance(value, Decimal):
        cents = value.quantize(Decimal("0.01"))
        return str(cents if cents == value else value)
    if isinstance(value, tuple):
        return list(value)
    return value
